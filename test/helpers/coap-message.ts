/**
 * CoAP messages as plain data, for tests that build requests and inspect answers: `parseCoap` and
 * `emitCoap` over the one reader and writer of protocol/coap.ts, so what a test sends and reads goes
 * through the codec the parts use.
 */
import { coapReader, coapWriter, readCoap, writeBegin, writeEnd, writeOption, writePayload } from '../../protocol/coap.js';

export interface CoapOption {
  num: number;
  value: Uint8Array;
}

export interface CoapMessage {
  type: number;
  code: number;
  mid: number;
  token: Uint8Array;
  options: CoapOption[];
  payload: Uint8Array;
}

/** `data` as a message, or null when the reader refuses it (its reason: `coapError`). */
export function parseCoap(data: Uint8Array): CoapMessage | null {
  const r = coapReader();
  if (!readCoap(r, data, 0, data.length)) return null;
  const options: CoapOption[] = [];
  for (let i = 0; i < r.optCount; i++) options.push({ num: r.optNum[i], value: data.slice(r.optOff[i], r.optOff[i] + r.optLen[i]) });
  return {
    type: r.type,
    code: r.code,
    mid: r.mid,
    token: data.slice(r.tokenOff, r.tokenOff + r.tokenLen),
    options,
    payload: data.slice(r.payloadOff, r.payloadOff + r.payloadLen),
  };
}

/** Why the reader refuses `data`, or '' when it accepts it. */
export function coapError(data: Uint8Array): string {
  const r = coapReader();
  readCoap(r, data, 0, data.length);
  return r.error;
}

/** `msg` on the wire (options sorted by number, stable). A message the writer refuses is a mistake
 * in the test, so it throws with the writer's reason. */
export function emitCoap(msg: CoapMessage): Uint8Array {
  const options = msg.options.slice().sort((a, b) => a.num - b.num);
  let size = 4 + msg.token.length + (msg.payload.length ? 1 + msg.payload.length : 0);
  for (const option of options) size += 5 + option.value.length;
  const buf = new Uint8Array(size);
  const w = coapWriter();
  writeBegin(w, buf, 0, msg.type, msg.code, msg.mid, msg.token, 0, msg.token.length);
  for (const option of options) writeOption(w, option.num, option.value);
  writePayload(w, msg.payload);
  const n = writeEnd(w);
  if (n < 0) throw new RangeError(`CoAP message (mid ${msg.mid}) cannot be written: ${w.error}`);
  return buf.slice(0, n);
}
