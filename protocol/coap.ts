/**
 * The CoAP codec (RFC 7252 §3), shared by the firmware, the simulator and the gateway: one reader,
 * one writer, one error convention.
 *
 * Both work in place, smoltcp-style, over a plain record the caller keeps and reuses: `readCoap`
 * checks and indexes a message once, so that no accessor can fail afterwards, and allocates nothing
 * but the strings asked for (path, payload); `writeBegin`/`writeOption`/`writePayload`/`writeEnd`
 * build a message into the caller's buffer. Records and free functions rather than classes: on the
 * board every method name stays in the bundle at each call, a function's name is minified.
 *
 * Errors: nothing here throws, on hostile bytes or on a message that does not fit. `readCoap`
 * returns false and `writeEnd` -1, and the record's `error` names the input and what was expected
 * (in the board's bundle one letter per check: see `readCoap`, `writeEnd`).
 *
 * Firmware rule: ES5-lowerable. Option values and payloads are read as 8-bit strings (one char per
 * byte); strings are written as UTF-8 (text.ts).
 */
import { BRIEF } from './diagnostics.js';
import { bytesToString, writeUtf8 } from './text.js';

// ---------------------------------------------------------------------------------------------
// Constants

export const COAP_VERSION = 1;
export const CON = 0;
export const NON = 1;
export const ACK = 2;
export const RST = 3;

/** Codes are class << 5 | detail (2.05 = 69). */
export const EMPTY = 0;
export const GET = 1;
export const POST = 2;
export const PUT = 3;
export const DELETE = 4;
export const CREATED = 65;
export const DELETED = 66;
export const VALID = 67;
export const CHANGED = 68;
export const CONTENT = 69;
export const BAD_REQUEST = 128;
export const UNAUTHORIZED = 129;
export const BAD_OPTION = 130;
export const FORBIDDEN = 131;
export const NOT_FOUND = 132;
export const METHOD_NOT_ALLOWED = 133;
export const NOT_ACCEPTABLE = 134;
export const PRECONDITION_FAILED = 140;
export const REQUEST_ENTITY_TOO_LARGE = 141;
export const UNSUPPORTED_CONTENT_FORMAT = 143;
export const INTERNAL_SERVER_ERROR = 160;
export const SERVICE_UNAVAILABLE = 163;

export const IF_MATCH = 1;
export const URI_HOST = 3;
export const ETAG = 4;
export const IF_NONE_MATCH = 5;
export const OBSERVE = 6;
export const URI_PORT = 7;
export const LOCATION_PATH = 8;
export const URI_PATH = 11;
export const CONTENT_FORMAT = 12;
export const MAX_AGE = 14;
export const URI_QUERY = 15;
export const ACCEPT = 17;
export const LOCATION_QUERY = 20;
export const PROXY_URI = 35;
export const PROXY_SCHEME = 39;
export const SIZE1 = 60;

export const FORMAT_TEXT = 0;
export const FORMAT_LINK = 40;
export const FORMAT_JSON = 50;

/** RFC 7252 §4.8 transmission parameters (milliseconds). */
export const ACK_TIMEOUT = 2000;
export const ACK_RANDOM_FACTOR = 1.5;
export const MAX_RETRANSMIT = 4;
export const MAX_TRANSMIT_SPAN = 45000;
export const MAX_TRANSMIT_WAIT = 93000;
export const EXCHANGE_LIFETIME = 247000;
export const NON_LIFETIME = 145000;

/** How long a receiver answers a confirmable request again from memory, without executing it again,
 * when it comes back from the same address and port with the same message id (RFC 7252 §4.5): a
 * sender retransmits for at most MAX_TRANSMIT_SPAN, and the margin covers delivery delay inside a
 * lamp network. The RFC's EXCHANGE_LIFETIME assumes 100 s of Internet latency, which would keep
 * state for four minutes on every lamp a gateway talks to. The lamp and the gateway both keep it. */
export const DEDUP_MS = MAX_TRANSMIT_SPAN + 15000;

/** The first timeout of a confirmable message (RFC 7252 §4.2), whole milliseconds, for `random` in
 * [0, 1): between ackTimeout and ackTimeout × ackRandomFactor. It doubles with each retransmission,
 * up to MAX_RETRANSMIT of them. */
export function firstAckTimeout(random: number, ackTimeout: number, ackRandomFactor: number): number {
  return Math.floor(ackTimeout * (1 + random * (ackRandomFactor - 1)));
}

/** Most options a reader records; a message with more is refused rather than half-read. */
export const MAX_OPTIONS = 24;

/** "2.05" for 69: how CoAP tools and RFCs print codes. */
export function codeString(code: number): string {
  const detail = code & 31;
  return (code >> 5) + (detail < 10 ? '.0' : '.') + detail;
}

// ---------------------------------------------------------------------------------------------
// The reader

/** A checked view over one CoAP message: after `readCoap` returns true every field is in bounds. */
export interface CoapReader {
  buf: Uint8Array;
  type: number;
  code: number;
  mid: number;
  tokenOff: number;
  tokenLen: number;
  optCount: number;
  optNum: Int32Array;
  optOff: Int32Array;
  optLen: Int32Array;
  payloadOff: number;
  payloadLen: number;
  /** Why the last read returned false ('' after a successful read). */
  error: string;
}

/** A reader with its option tables allocated; the rest is set by every `readCoap`. */
export function coapReader(): CoapReader {
  return { optNum: new Int32Array(MAX_OPTIONS), optOff: new Int32Array(MAX_OPTIONS), optLen: new Int32Array(MAX_OPTIONS) } as CoapReader;
}

/** Checks and indexes `buf[off..off+len)` into `r`. Returns false (and sets `error`) on any format
 * error. In the board's bundle `error` is one letter per check (h header, v version, t token,
 * e empty message, m payload marker, n nibble 15, o option overrun, c option count: protocol/diagnostics.ts). */
export function readCoap(r: CoapReader, buf: Uint8Array, off: number, len: number): boolean {
  const end = off + len;
  const b0 = buf[off];
  let p = off + 4;
  let num = 0;
  let n = 0;
  let e = '';
  /** A delta or length nibble with its extension bytes (RFC 7252 §3.1). They may be read past the
   * end: that yields NaN, which the bounds test rejects. */
  function extended(nib: number): number {
    return nib === 13 ? 13 + buf[p++] : nib === 14 ? 269 + ((buf[p++] << 8) | buf[p++]) : nib;
  }
  r.buf = buf;
  r.payloadOff = end;
  r.payloadLen = 0;
  // Header fields are meaningful once the length check below has passed.
  r.type = (b0 >> 4) & 3;
  r.code = buf[off + 1];
  r.mid = (buf[off + 2] << 8) | buf[off + 3];
  r.tokenOff = p;
  p += r.tokenLen = b0 & 15;
  if (!(off >= 0 && len >= 4 && end <= buf.length)) e = BRIEF ? 'h' : 'message of ' + len + ' bytes at ' + off + ' is shorter than the 4-byte header or overruns the ' + buf.length + '-byte buffer';
  else if (b0 >> 6 !== COAP_VERSION) e = BRIEF ? 'v' : 'version ' + (b0 >> 6) + ', expected 1';
  else if (r.tokenLen > 8 || p > end) e = BRIEF ? 't' : 'token length ' + r.tokenLen + ' exceeds 8 or the ' + len + '-byte message';
  else if (!r.code && len > 4) e = BRIEF ? 'e' : 'empty message (0.00) carries ' + (len - 4) + ' bytes after the header';
  while (!e && p < end) {
    const at = p - off;
    const b = buf[p++];
    if (b === 0xff) {
      if (p === end) e = BRIEF ? 'm' : 'payload marker at byte ' + (p - 1 - off) + ' with empty payload';
      r.payloadOff = p;
      r.payloadLen = end - p;
      break;
    }
    num += extended(b >> 4);
    const olen = extended(b & 15);
    if (b >> 4 === 15 || (b & 15) === 15) e = BRIEF ? 'n' : 'option header 0x' + b.toString(16) + ' uses reserved nibble 15';
    else if (!(p + olen <= end)) e = BRIEF ? 'o' : 'option at byte ' + at + ' overruns the ' + len + '-byte message';
    else if (n === MAX_OPTIONS) e = BRIEF ? 'c' : 'message has more than ' + MAX_OPTIONS + ' options';
    else {
      r.optNum[n] = num;
      r.optOff[n] = p;
      r.optLen[n++] = olen;
      p += olen;
    }
  }
  if (e) n = r.payloadLen = 0;
  r.optCount = n;
  r.error = BRIEF ? e : e && 'CoAP ' + e;
  return !e;
}

/** The first option `num` as an unsigned integer (RFC 7252 §3.2 uint), or -1 when absent. */
export function optionUint(r: CoapReader, num: number): number {
  for (let i = 0; i < r.optCount; i++) {
    if (r.optNum[i] !== num) continue;
    let n = 0;
    for (let k = 0; k < r.optLen[i]; k++) n = n * 256 + r.buf[r.optOff[i] + k];
    return n;
  }
  return -1;
}

/** Option `i` as an 8-bit string. */
export function optionString(r: CoapReader, i: number): string {
  return bytesToString(r.buf, r.optOff[i], r.optLen[i]);
}

/** The Uri-Path segments joined with '/' ("3311/0/5850"). */
export function uriPath(r: CoapReader): string {
  let s = '';
  for (let i = 0; i < r.optCount; i++) if (r.optNum[i] === URI_PATH) s += (s ? '/' : '') + optionString(r, i);
  return s;
}

/** Whether the Uri-Path options spell exactly `path` ("3311/0/5850"; "" for the root), without
 * allocating. */
export function uriPathEquals(r: CoapReader, path: string): boolean {
  let pos = -1;
  for (let i = 0; i < r.optCount; i++) {
    if (r.optNum[i] !== URI_PATH) continue;
    // Segments after the first are preceded by '/' in `path`.
    if (pos >= 0 && path.charCodeAt(pos++) !== 47) return false;
    if (pos < 0) pos = 0;
    for (let k = 0; k < r.optLen[i]; k++) if (path.charCodeAt(pos++) !== r.buf[r.optOff[i] + k]) return false;
  }
  return pos < 0 ? path === '' : pos === path.length;
}

/** The value of Uri-Query `name=value` (first match, as an 8-bit string), '' for a bare `name`,
 * null when absent. */
export function uriQuery(r: CoapReader, name: string): string | null {
  for (let i = 0; i < r.optCount; i++) {
    const q = r.optNum[i] === URI_QUERY ? optionString(r, i) : '';
    if (q === name) return '';
    if (q.substring(0, name.length + 1) === name + '=') return q.substring(name.length + 1);
  }
  return null;
}

/** Every Uri-Query item, in order, as 8-bit strings. */
export function uriQueries(r: CoapReader): string[] {
  const q: string[] = [];
  for (let i = 0; i < r.optCount; i++) if (r.optNum[i] === URI_QUERY) q.push(optionString(r, i));
  return q;
}

/** The payload as an 8-bit string. */
export function payloadOf(r: CoapReader): string {
  return bytesToString(r.buf, r.payloadOff, r.payloadLen);
}

/** Whether the token equals `token`. */
export function tokenEquals(r: CoapReader, token: Uint8Array): boolean {
  let same = token.length === r.tokenLen;
  for (let k = 0; k < token.length; k++) same = same && token[k] === r.buf[r.tokenOff + k];
  return same;
}

// ---------------------------------------------------------------------------------------------
// The writer

/** One CoAP message being built into a caller's buffer (see `writeBegin`). */
export interface CoapWriter {
  buf: Uint8Array;
  start: number;
  pos: number;
  lastOpt: number;
  /** The first reason `writeEnd` will return -1 ('' while the message is well-formed and fits). */
  error: string;
  /** A numeric option's value, big-endian, before it is copied out. */
  num: Uint8Array;
}

/** A writer; everything else is set by every `writeBegin`. */
export function coapWriter(): CoapWriter {
  return { num: new Uint8Array(4) } as CoapWriter;
}

function writeByte(w: CoapWriter, v: number): void {
  if (w.pos < w.buf.length) w.buf[w.pos] = v;
  w.pos++;
}

function writeBytes(w: CoapWriter, src: Uint8Array, off: number, len: number): void {
  for (let k = off; k < off + len; k++) writeByte(w, src[k]);
}

/** Starts a message at buf[off]: header and token. Options must follow in ascending number order. */
export function writeBegin(w: CoapWriter, buf: Uint8Array, off: number, type: number, code: number, mid: number, tokenSrc: Uint8Array | null, tokenOff: number, tokenLen: number): void {
  w.buf = buf;
  w.start = w.pos = off;
  w.lastOpt = 0;
  w.error = tokenLen > 8 ? (BRIEF ? 'w' : 'CoAP token length ' + tokenLen + ' exceeds 8') : '';
  writeByte(w, 0x40 | (type << 4) | tokenLen);
  writeByte(w, code);
  writeByte(w, mid >> 8);
  writeByte(w, mid);
  writeBytes(w, tokenSrc || w.num, tokenOff, tokenLen);
}

/** The 4-bit delta/length field for `v`: 13 and 14 announce one or two extension bytes. */
function nibble(v: number): number {
  return v < 13 ? v : v < 269 ? 13 : 14;
}

/** The extended delta/length bytes of RFC 7252 §3.1 for nibble 13 (one byte) or 14 (two). */
function writeExtension(w: CoapWriter, v: number): void {
  if (v >= 269) {
    writeByte(w, (v - 269) >> 8);
    writeByte(w, v - 269);
  } else if (v >= 13) writeByte(w, v - 13);
}

/** Appends a string (as UTF-8) or bytes. */
function writeValue(w: CoapWriter, value: string | Uint8Array, off: number, len: number): void {
  if (typeof value === 'string') w.pos += writeUtf8(w.buf, w.pos, value);
  else writeBytes(w, value, off, len);
}

/** Appends option `num`; a number value is encoded as a minimal uint (0 → zero length). */
export function writeOption(w: CoapWriter, num: number, value: string | Uint8Array | number): void {
  let len = 4;
  if (typeof value === 'number') {
    for (let k = 3; k >= 0; k--, value = Math.floor(value / 256)) w.num[k] = value % 256;
    while (len && !w.num[4 - len]) len--;
    value = w.num;
  } else len = typeof value === 'string' ? writeUtf8(null, 0, value) : value.length;
  const delta = num - w.lastOpt;
  if (delta < 0 || delta > 65804 || len > 65804) w.error = w.error || (BRIEF ? 'w' : 'CoAP option ' + num + ' of ' + len + ' bytes written after option ' + w.lastOpt + ' (options go in ascending order, at most 65804 apart and 65804 bytes long)');
  w.lastOpt = num;
  writeByte(w, (nibble(delta) << 4) | nibble(len));
  writeExtension(w, delta);
  writeExtension(w, len);
  writeValue(w, value, value.length - len, len);
}

/** Appends the payload marker and payload (nothing at all for an empty payload); a string goes as
 * UTF-8. */
export function writePayload(w: CoapWriter, value: string | Uint8Array): void {
  if (value.length) writeByte(w, 0xff);
  writeValue(w, value, 0, value.length);
}

/** Bytes written since `writeBegin`, or -1 when the message does not fit its buffer or was misused
 * (the reason in `error`; in the board's bundle 'w', which nobody reads there: protocol/diagnostics.ts). */
export function writeEnd(w: CoapWriter): number {
  if (w.pos > w.buf.length) w.error = w.error || (BRIEF ? 'w' : 'CoAP message of ' + (w.pos - w.start) + ' bytes does not fit the ' + (w.buf.length - w.start) + ' bytes left in its buffer');
  return w.error ? -1 : w.pos - w.start;
}
