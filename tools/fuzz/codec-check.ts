/**
 * The CoAP codec checked against itself on every message the fuzzer makes: `CoapReader` and
 * `parseCoap` accept the same messages for the same reasons, and `emitCoap(parseCoap(m))` gives
 * back m byte for byte (RFC 7252's encoding is canonical).
 */
import { CoapReader, emitCoap, parseCoap, parseCoapError } from '../../firmware/coap.js';

const codecReader = new CoapReader();

export class CodecStats {
  checked = 0;
  wellFormed = 0;
  /** Rejections by the reader's reason, numbers replaced by N (e.g. "CoAP token length N is reserved (at most N)"). */
  readonly rejected = new Map<string, number>();
}

/** Runs `data[off..off+len)` through CoapReader, parseCoap and emitCoap; returns what disagrees, or
 * null. Throws only if the codec does. */
export function checkCoapCodec(data: Uint8Array, off: number, len: number, stats: CodecStats): string | null {
  stats.checked++;
  const ok = codecReader.read(data, off, len);
  const bytes = data.subarray(off, off + len);
  const message = parseCoap(bytes);
  if (ok !== (message !== null)) return `CoapReader.read says ${ok} but parseCoap ${message === null ? 'rejects' : 'accepts'} the message`;
  if (!ok) {
    const why = parseCoapError(bytes);
    if (why === '' || why !== codecReader.error) return `rejection reasons differ: reader "${codecReader.error}", parseCoapError "${why}"`;
    const kind = why.replace(/0x[0-9a-f]+|\d+/g, 'N');
    stats.rejected.set(kind, (stats.rejected.get(kind) ?? 0) + 1);
    return null;
  }
  stats.wellFormed++;
  // The accessors the lamp uses must work on anything the reader accepted.
  codecReader.path();
  codecReader.query('ep');
  codecReader.optUint(12);
  codecReader.payloadString();
  const again = emitCoap(message!);
  if (again.length !== len) return `emitCoap(parseCoap(m)) is ${again.length} bytes, m is ${len}`;
  for (let i = 0; i < len; i++) {
    if (again[i] !== bytes[i]) return `emitCoap(parseCoap(m)) differs from m at byte ${i}`;
  }
  return null;
}
