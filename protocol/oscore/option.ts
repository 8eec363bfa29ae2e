/**
 * The OSCORE option (RFC 8613 §6.1, CoAP option 9): flags, Partial IV, kid context and kid.
 *
 *   0 1 2 3 4 5 6 7
 *  |0 0 0|h|k|  n  |  Partial IV (n bytes) | s | kid context (s bytes) | kid (the rest)
 *
 * `readOscoreOption` checks a value once, smoltcp-style, into a record the caller reuses; nothing
 * throws on hostile bytes. Refused: reserved flag bits, n of 6 or 7 (a Partial IV is at most 5
 * bytes), a Partial IV with a leading zero byte (the sequence number's encoding is minimal, so the
 * AAD a peer computes is the one we compute), a kid context or Partial IV overrunning the value, a
 * kid longer than the nonce leaves room for (7 bytes), a value of one all-zero flags byte (it must
 * be empty), bytes after the Partial IV with no kid flag.
 *
 * Firmware rule: ES5-lowerable.
 */
import { BRIEF } from '../diagnostics.js';

export const OSCORE = 9;

/** Longest sender or recipient ID: nonce length 13 minus 6 (§5.2). */
export const MAX_ID_LEN = 7;

/** A checked view of one OSCORE option value: after `readOscoreOption` returns true every offset is
 * within the buffer. */
export interface OscoreOption {
  /** The Partial IV as a number, -1 when absent. */
  piv: number;
  /** kid offset and length in the buffer; kidLen -1 when absent. */
  kidOff: number;
  kidLen: number;
  /** kid context offset and length; ctxLen -1 when absent. */
  ctxOff: number;
  ctxLen: number;
  error: string;
}

export function oscoreOption(): OscoreOption {
  return { piv: -1, kidOff: 0, kidLen: -1, ctxOff: 0, ctxLen: -1, error: '' };
}

/** Checks and indexes the option value buf[off..off+len). */
export function readOscoreOption(o: OscoreOption, buf: Uint8Array, off: number, len: number): boolean {
  const end = off + len;
  const flags = len ? buf[off] : 0;
  const n = flags & 7;
  // An empty value is a valid option (a response without Partial IV): nothing to read.
  let p = off + (len ? 1 : 0) + n;
  let e = '';
  o.piv = -1;
  o.kidLen = o.ctxLen = -1;
  if (flags & 0xe0) e = BRIEF ? 'f' : 'reserved flag bits 0x' + (flags & 0xe0).toString(16) + ' set';
  else if (n > 5) e = BRIEF ? 'f' : 'Partial IV of ' + n + ' bytes (at most 5)';
  else if (len === 1 && !flags) e = BRIEF ? 'f' : 'a value of one zero flags byte (it must be empty)';
  else if (p > end) e = BRIEF ? 'f' : 'Partial IV of ' + n + ' bytes overruns the ' + len + '-byte option';
  else if (n > 1 && !buf[off + 1]) e = BRIEF ? 'f' : 'Partial IV with a leading zero byte';
  if (!e && n) {
    o.piv = 0;
    for (let k = off + 1; k < off + 1 + n; k++) o.piv = o.piv * 256 + buf[k];
  }
  if (!e && flags & 16) {
    o.ctxLen = buf[p];
    o.ctxOff = p + 1;
    p += 1 + o.ctxLen;
    if (!(p <= end)) e = BRIEF ? 'f' : 'kid context overruns the ' + len + '-byte option';
  }
  if (!e && flags & 8) {
    o.kidOff = p;
    o.kidLen = end - p;
    if (o.kidLen > MAX_ID_LEN) e = BRIEF ? 'k' : 'kid of ' + o.kidLen + ' bytes (at most ' + MAX_ID_LEN + ')';
  } else if (!e && p < end) e = BRIEF ? 'f' : (end - p) + ' bytes after the Partial IV without the kid flag';
  o.error = BRIEF ? e : e && 'OSCORE option: ' + e;
  return !e;
}

/** Bytes of the minimal big-endian encoding of `piv` (0 is one zero byte, §6.1). */
export function pivLength(piv: number): number {
  let n = 1;
  while (piv >= 256 && n < 5) {
    piv = Math.floor(piv / 256);
    n++;
  }
  return n;
}

/** Writes `piv` (minimal encoding) at out[pos]; returns the new position. */
export function writePiv(out: Uint8Array, pos: number, piv: number): number {
  const n = pivLength(piv);
  for (let k = n - 1; k >= 0; k--, piv = Math.floor(piv / 256)) out[pos + k] = piv % 256;
  return pos + n;
}

/** The option value for a Partial IV (-1: none), a kid (null: none) and a kid context (null: none),
 * in a new array; empty when all are absent. */
export function oscoreOptionValue(piv: number, kid: Uint8Array | null, kidContext: Uint8Array | null): Uint8Array {
  const out = new Uint8Array(2 + 5 + (kidContext ? kidContext.length : 0) + (kid ? kid.length : 0));
  let p = 1;
  if (piv >= 0) p = writePiv(out, 1, piv);
  out[0] = (p - 1) | (kid ? 8 : 0) | (kidContext ? 16 : 0);
  if (kidContext) {
    out[p++] = kidContext.length;
    out.set(kidContext, p);
    p += kidContext.length;
  }
  if (kid) {
    out.set(kid, p);
    p += kid.length;
  }
  return out.subarray(0, out[0] ? p : 0);
}
