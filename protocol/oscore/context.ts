/**
 * The OSCORE security context (RFC 8613 §3): keys and Common IV derived from a Master Secret, the
 * sender's sequence numbers with their persisted bound (Appendix B.1.1), and the recipient's replay
 * window (§7.4). One context per pair of endpoints; for a lamp, the one it shares with its gateway.
 *
 * Firmware rule: ES5-lowerable, records and free functions (names minify on the board).
 */
import { NONCE_LEN, hkdf } from './crypto.js';

/** COSE algorithm AES-CCM-16-64-128 (RFC 8152 §10.2), the mandatory one: key 16 B, nonce 13 B. */
export const AES_CCM_16_64_128 = 10;

/** Sequence numbers stay below 2^40 (§7.2.1: a 5-byte Partial IV). */
export const MAX_SEQUENCE = 1099511627776;

/** How far ahead of the sequence numbers in use the persisted bound is moved (K of Appendix B.1.1):
 * one write to storage per this many messages sent. */
export const SEQUENCE_STEP = 64;

/** The replay window: the highest sequence number received and the 31 below it (§7.4). */
export const REPLAY_WINDOW = 32;

export interface SecurityContext {
  senderId: Uint8Array;
  recipientId: Uint8Array;
  /** ID Context, or null when the context has none. */
  idContext: Uint8Array | null;
  /** Whether requests carry the ID Context as kid context, for a recipient that must find this
   * context among many (a gateway among its lamps'); a lamp's one context needs no such hint. */
  kidContext: boolean;
  senderKey: Uint8Array;
  recipientKey: Uint8Array;
  commonIv: Uint8Array;
  /** The next Sender Sequence Number. */
  seq: number;
  /** Every sequence number below it may have been used: it is persisted before any at or above it
   * is used, and a restart resumes from it. */
  seqBound: number;
  /** Highest sequence number received and authenticated, -1 before any. */
  high: number;
  /** Bit i: sequence number high - i was received. */
  seen: number;
  /** Nothing below it is accepted: after a restart, the recipient's persisted floor. */
  replayFloor: number;
}

/** Encodes a CBOR byte string header (major type 2) for `len` bytes at out[pos]; returns the new
 * position. Lengths up to 255: IDs are at most 7 bytes, ID contexts and AADs stay short. */
function bstrHeader(out: Uint8Array, pos: number, len: number): number {
  if (len < 24) out[pos++] = 0x40 | len;
  else {
    out[pos++] = 0x58;
    out[pos++] = len;
  }
  return pos;
}

/** CBOR bstr of `b` at out[pos], or `null` (0xf6) for a null `b`; returns the new position. */
export function cborBytes(out: Uint8Array, pos: number, b: Uint8Array | null): number {
  if (!b) {
    out[pos++] = 0xf6;
    return pos;
  }
  pos = bstrHeader(out, pos, b.length);
  out.set(b, pos);
  return pos + b.length;
}

/** The HKDF info of §3.2.1: [id, id_context, alg_aead, type, L] in CBOR. */
function info(id: Uint8Array, idContext: Uint8Array | null, iv: boolean, len: number): Uint8Array {
  const out = new Uint8Array(16 + id.length + (idContext ? idContext.length : 0));
  out[0] = 0x85;
  let p = cborBytes(out, 1, id);
  p = cborBytes(out, p, idContext);
  out[p++] = AES_CCM_16_64_128;
  // "Key" or "IV" as CBOR text strings.
  out[p++] = iv ? 0x62 : 0x63;
  out[p++] = iv ? 73 : 75;
  out[p++] = iv ? 86 : 101;
  if (!iv) out[p++] = 121;
  out[p++] = len;
  return out.subarray(0, p);
}

/** Derives a security context (§3.2): Sender and Recipient Keys and the Common IV from the Master
 * Secret and Salt (empty salt: none). Sequence numbers start at `seq` (0, or the persisted
 * `seqBound` after a restart); the replay window starts empty, refusing anything below `floor`. */
export function deriveContext(secret: Uint8Array, salt: Uint8Array, senderId: Uint8Array, recipientId: Uint8Array, idContext: Uint8Array | null, seq: number, floor: number): SecurityContext {
  return {
    senderId,
    recipientId,
    idContext,
    kidContext: !!idContext,
    senderKey: hkdf(salt, secret, info(senderId, idContext, false, 16), 16),
    recipientKey: hkdf(salt, secret, info(recipientId, idContext, false, 16), 16),
    commonIv: hkdf(salt, secret, info(new Uint8Array(0), idContext, true, NONCE_LEN), NONCE_LEN),
    seq,
    seqBound: seq,
    high: -1,
    seen: 0,
    replayFloor: floor,
  };
}

/** The AEAD nonce (§5.2) for a Partial IV `piv` of the sender `id`: the ID's length, the ID
 * left-padded to 7 bytes, the PIV left-padded to 5, XORed with the Common IV. */
export function nonce(ctx: SecurityContext, id: Uint8Array, piv: number): Uint8Array {
  const n = new Uint8Array(NONCE_LEN);
  n[0] = id.length;
  n.set(id, NONCE_LEN - 5 - id.length);
  for (let k = 12; k > 7; k--, piv = Math.floor(piv / 256)) n[k] = piv % 256;
  for (let k = 0; k < NONCE_LEN; k++) n[k] ^= ctx.commonIv[k];
  return n;
}

/** Takes the next Sender Sequence Number, or -1 when they are used up (§7.2.1: the context must
 * then be replaced). When it reaches the persisted bound, the bound moves SEQUENCE_STEP ahead: the
 * caller persists `seqBound` before sending what it protects (see `seqBound`). */
export function takeSequence(ctx: SecurityContext): number {
  const s = ctx.seq;
  if (s >= MAX_SEQUENCE - 1) return -1;
  if (s >= ctx.seqBound) ctx.seqBound = Math.min(s + SEQUENCE_STEP, MAX_SEQUENCE - 1);
  ctx.seq = s + 1;
  return s;
}

/** Whether sequence number `seq` of the recipient is new to the replay window (nothing changes). */
export function fresh(ctx: SecurityContext, seq: number): boolean {
  if (seq < ctx.replayFloor) return false;
  if (seq > ctx.high) return true;
  const age = ctx.high - seq;
  return age < REPLAY_WINDOW && !((ctx.seen >>> age) & 1);
}

/** Records `seq` as received; only after its message authenticated. */
export function markSeen(ctx: SecurityContext, seq: number): void {
  if (seq > ctx.high) {
    const shift = ctx.high < 0 ? REPLAY_WINDOW : seq - ctx.high;
    ctx.seen = shift >= REPLAY_WINDOW ? 1 : ((ctx.seen << shift) | 1) >>> 0;
    ctx.high = seq;
  } else ctx.seen = (ctx.seen | (1 << (ctx.high - seq))) >>> 0;
}
