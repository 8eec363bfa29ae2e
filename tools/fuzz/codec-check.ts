/**
 * The CoAP codec checked against itself on every message the fuzzer makes: every rejection names its
 * reason, the accessors the lamp uses work on anything the reader accepted, and writing back what
 * was read gives the message byte for byte (RFC 7252's encoding is canonical).
 */
import { coapReader, coapWriter, optionUint, payloadOf, readCoap, uriPath, uriQuery, writeBegin, writeEnd, writeOption, writePayload } from '../../protocol/coap.js';

const codecReader = coapReader();
const codecWriter = coapWriter();
/** Where accepted messages are written back; grown to the longest seen. */
let codecOut = new Uint8Array(2048);

export class CodecStats {
  checked = 0;
  wellFormed = 0;
  /** Rejections by the reader's reason, numbers replaced by N (e.g. "CoAP token length N is reserved (at most N)"). */
  readonly rejected = new Map<string, number>();
}

/** Runs `data[off..off+len)` through the reader and, when it is accepted, writes what was read back
 * with the writer; returns what disagrees, or null. Throws only if the codec does. */
export function checkCoapCodec(data: Uint8Array, off: number, len: number, stats: CodecStats): string | null {
  stats.checked++;
  const r = codecReader;
  if (!readCoap(r, data, off, len)) {
    if (r.error === '') return 'the reader rejects the message without a reason';
    const kind = r.error.replace(/0x[0-9a-f]+|\d+/g, 'N');
    stats.rejected.set(kind, (stats.rejected.get(kind) ?? 0) + 1);
    return null;
  }
  stats.wellFormed++;
  // The accessors the lamp uses must work on anything the reader accepted.
  uriPath(r);
  uriQuery(r, 'ep');
  optionUint(r, 12);
  payloadOf(r);
  // RFC 7252's encoding is canonical: writing back what was read gives the same bytes.
  const w = codecWriter;
  if (codecOut.length < len) codecOut = new Uint8Array(len);
  writeBegin(w, codecOut, 0, r.type, r.code, r.mid, data, r.tokenOff, r.tokenLen);
  for (let i = 0; i < r.optCount; i++) writeOption(w, r.optNum[i], data.subarray(r.optOff[i], r.optOff[i] + r.optLen[i]));
  writePayload(w, data.subarray(r.payloadOff, r.payloadOff + r.payloadLen));
  const again = writeEnd(w);
  if (again !== len) return `the message written back from what was read is ${again} bytes (${w.error || 'written'}), the message ${len}`;
  for (let i = 0; i < len; i++) {
    if (codecOut[i] !== data[off + i]) return `the message written back from what was read differs at byte ${i}`;
  }
  return null;
}

