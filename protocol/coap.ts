/**
 * The CoAP codec (RFC 7252 §3), shared by the firmware, the simulator and the gateway.
 *
 * Two levels, smoltcp-style. The view level (`readCoap` and its accessors over `CoapFields`, wrapped
 * as `CoapView`/`CoapReader`; `CoapWriter`) works in place over a caller's bytes, for the lamp's
 * packet path: it allocates nothing but the strings asked for (path, payload); the representation level
 * (`parseCoap`, `emitCoap`) builds plain objects for the gateway and tests. Nothing here throws on
 * hostile bytes: the reader returns false and names the problem in `error`.
 *
 * Firmware rule: ES5-lowerable, 8-bit strings (a string value is written one byte per char code).
 */
import { BRIEF } from '../firmware/diagnostics.js';

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

/** Most options a reader records; a message with more is refused rather than half-read. */
export const MAX_OPTIONS = 24;

/** "2.05" for 69: how CoAP tools and RFCs print codes. */
export function codeString(code: number): string {
  const detail = code & 31;
  return (code >> 5) + (detail < 10 ? '.0' : '.') + detail;
}

/** bytes[off..off+len) as an 8-bit string (one char per byte). */
export function bytesToString(bytes: Uint8Array, off: number, len: number): string {
  let s = '';
  for (let k = 0; k < len; k++) s += String.fromCharCode(bytes[off + k]);
  return s;
}

/** The 4-bit delta/length field for `v`: 13 and 14 announce one or two extension bytes. */
function nibble(v: number): number {
  return v < 13 ? v : v < 269 ? 13 : 14;
}

/** The fields of a checked view over one CoAP message: after `readCoap` returns true every field is
 * in bounds. */
export interface CoapFields {
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

/** Fields for `readCoap` with their option tables allocated; the rest is set by every read. The
 * lamp's one reader is such a plain record, read through the functions below: on the board they
 * cost fewer bytes than methods. CoapView wraps the same functions as methods. */
export function coapFields(): CoapFields {
  return { optNum: new Int32Array(MAX_OPTIONS), optOff: new Int32Array(MAX_OPTIONS), optLen: new Int32Array(MAX_OPTIONS) } as CoapFields;
}

/** Checks and indexes `buf[off..off+len)` into `v`. Returns false (and sets `error`) on any format
 * error. In the board's bundle `error` is one letter per check (h header, v version, t token,
 * e empty message, m payload marker, n nibble 15, o option overrun, c option count: diagnostics.ts). */
export function readCoap(v: CoapFields, buf: Uint8Array, off: number, len: number): boolean {
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
  v.buf = buf;
  v.payloadOff = end;
  v.payloadLen = 0;
  // Header fields are meaningful once the length check below has passed.
  v.type = (b0 >> 4) & 3;
  v.code = buf[off + 1];
  v.mid = (buf[off + 2] << 8) | buf[off + 3];
  v.tokenOff = p;
  p += v.tokenLen = b0 & 15;
  if (!(off >= 0 && len >= 4 && end <= buf.length)) e = BRIEF ? 'h' : 'message of ' + len + ' bytes at ' + off + ' is shorter than the 4-byte header or overruns the ' + buf.length + '-byte buffer';
  else if (b0 >> 6 !== COAP_VERSION) e = BRIEF ? 'v' : 'version ' + (b0 >> 6) + ', expected 1';
  else if (v.tokenLen > 8 || p > end) e = BRIEF ? 't' : 'token length ' + v.tokenLen + ' exceeds 8 or the ' + len + '-byte message';
  else if (!v.code && len > 4) e = BRIEF ? 'e' : 'empty message (0.00) carries ' + (len - 4) + ' bytes after the header';
  while (!e && p < end) {
    const at = p - off;
    const b = buf[p++];
    if (b === 0xff) {
      if (p === end) e = BRIEF ? 'm' : 'payload marker at byte ' + (p - 1 - off) + ' with empty payload';
      v.payloadOff = p;
      v.payloadLen = end - p;
      break;
    }
    num += extended(b >> 4);
    const olen = extended(b & 15);
    if (b >> 4 === 15 || (b & 15) === 15) e = BRIEF ? 'n' : 'option header 0x' + b.toString(16) + ' uses reserved nibble 15';
    else if (!(p + olen <= end)) e = BRIEF ? 'o' : 'option at byte ' + at + ' overruns the ' + len + '-byte message';
    else if (n === MAX_OPTIONS) e = BRIEF ? 'c' : 'message has more than ' + MAX_OPTIONS + ' options';
    else {
      v.optNum[n] = num;
      v.optOff[n] = p;
      v.optLen[n++] = olen;
      p += olen;
    }
  }
  if (e) n = v.payloadLen = 0;
  v.optCount = n;
  v.error = BRIEF ? e : e && 'CoAP ' + e;
  return !e;
}

/** The first option `num` as an unsigned integer (RFC 7252 §3.2 uint), or -1 when absent. */
export function optionUint(v: CoapFields, num: number): number {
  for (let i = 0; i < v.optCount; i++) {
    if (v.optNum[i] !== num) continue;
    let n = 0;
    for (let k = 0; k < v.optLen[i]; k++) n = n * 256 + v.buf[v.optOff[i] + k];
    return n;
  }
  return -1;
}

/** Option `i` as an 8-bit string. */
export function optionString(v: CoapFields, i: number): string {
  return bytesToString(v.buf, v.optOff[i], v.optLen[i]);
}

/** The Uri-Path segments joined with '/' ("3311/0/5850"). */
export function uriPath(v: CoapFields): string {
  let s = '';
  for (let i = 0; i < v.optCount; i++) if (v.optNum[i] === URI_PATH) s += (s ? '/' : '') + optionString(v, i);
  return s;
}

/** The payload as an 8-bit string. */
export function payloadOf(v: CoapFields): string {
  return bytesToString(v.buf, v.payloadOff, v.payloadLen);
}

/** Whether the token equals `token`. */
export function tokenEquals(v: CoapFields, token: Uint8Array): boolean {
  let same = token.length === v.tokenLen;
  for (let k = 0; k < token.length; k++) same = same && token[k] === v.buf[v.tokenOff + k];
  return same;
}

/** A checked view over one CoAP message as an object with methods (gateway, tests). */
export class CoapView implements CoapFields {
  // Set by every `read`.
  declare buf: Uint8Array;
  declare type: number;
  declare code: number;
  declare mid: number;
  declare tokenOff: number;
  declare tokenLen: number;
  declare optCount: number;
  declare payloadOff: number;
  declare payloadLen: number;
  declare error: string;
  optNum: Int32Array = new Int32Array(MAX_OPTIONS);
  optOff: Int32Array = new Int32Array(MAX_OPTIONS);
  optLen: Int32Array = new Int32Array(MAX_OPTIONS);

  read(buf: Uint8Array, off: number, len: number): boolean {
    return readCoap(this, buf, off, len);
  }

  optUint(num: number): number {
    return optionUint(this, num);
  }

  optString(i: number): string {
    return optionString(this, i);
  }

  path(): string {
    return uriPath(this);
  }

  payloadString(): string {
    return payloadOf(this);
  }

  tokenEquals(token: Uint8Array): boolean {
    return tokenEquals(this, token);
  }
}

/** A CoapView with the helpers only the gateway and the tests use. */
export class CoapReader extends CoapView {
  /** Whether the Uri-Path options spell exactly `path` ("3311/0/5850"; "" for the root), without
   * allocating. */
  uriPathEquals(path: string): boolean {
    let pos = -1;
    for (let i = 0; i < this.optCount; i++) {
      if (this.optNum[i] !== URI_PATH) continue;
      // Segments after the first are preceded by '/' in `path`.
      if (pos >= 0 && path.charCodeAt(pos++) !== 47) return false;
      if (pos < 0) pos = 0;
      for (let k = 0; k < this.optLen[i]; k++) if (path.charCodeAt(pos++) !== this.buf[this.optOff[i] + k]) return false;
    }
    return pos < 0 ? path === '' : pos === path.length;
  }


  /** Value of Uri-Query `name=value` (first match), '' for a bare `name`, null when absent. */
  query(name: string): string | null {
    for (let i = 0; i < this.optCount; i++) {
      const q = this.optNum[i] === URI_QUERY ? this.optString(i) : '';
      if (q === name) return '';
      if (q.substring(0, name.length + 1) === name + '=') return q.substring(name.length + 1);
    }
    return null;
  }
}

/** The state of one CoAP message being built into a caller's buffer (see `writeBegin`). */
export interface CoapOutput {
  buf: Uint8Array;
  start: number;
  pos: number;
  lastOpt: number;
  /** False after a misuse or an overflow. */
  ok: boolean;
  /** A numeric option's value, big-endian, before it is copied out. */
  num: Uint8Array;
}

/** An output for `writeBegin` (the lamp's one writer is such a plain record, like its reader). */
export function coapOutput(): CoapOutput {
  return { num: new Uint8Array(4) } as CoapOutput;
}

function writeByte(w: CoapOutput, v: number): void {
  if (w.pos < w.buf.length) w.buf[w.pos++] = v;
  else w.ok = false;
}

function writeBytes(w: CoapOutput, src: Uint8Array, off: number, len: number): void {
  for (let k = off; k < off + len; k++) writeByte(w, src[k]);
}

/** Writes `s` into `w` as UTF-8, or with `w` null only counts; returns the byte count. Text goes on
 * the wire as UTF-8 whatever the platform's strings are: Node's are UTF-16 (a surrogate pair is one
 * code point), Espruino's charCodeAt gives the code point itself, so both emit the same bytes. A
 * lone surrogate becomes U+FFFD. */
export function writeUtf8(w: CoapOutput | null, s: string): number {
  let n = 0;
  for (let k = 0; k < s.length; k++) {
    let c = s.charCodeAt(k);
    if (c >= 0xd800 && c < 0xe000) {
      const d = c < 0xdc00 ? s.charCodeAt(k + 1) : 0;
      c = d >= 0xdc00 && d < 0xe000 ? 0x10000 + ((c - 0xd800) << 10) + d - 0xdc00 : 0xfffd;
      if (c > 0xffff) k++;
    }
    // Continuation bytes after the lead byte: 0 for ASCII, up to 3 beyond the BMP.
    const more = c < 0x80 ? 0 : c < 0x800 ? 1 : c < 0x10000 ? 2 : 3;
    n += more + 1;
    if (w) {
      writeByte(w, more ? ((0xff << (7 - more)) & 0xff) | (c >> (6 * more)) : c);
      for (let i = more - 1; i >= 0; i--) writeByte(w, 0x80 | ((c >> (6 * i)) & 63));
    }
  }
  return n;
}

/** `s` as UTF-8 bytes. */
export function utf8Bytes(s: string): Uint8Array {
  const w = coapOutput();
  w.buf = new Uint8Array(writeUtf8(null, s));
  w.pos = 0;
  writeUtf8(w, s);
  return w.buf;
}

/** Appends a string (as UTF-8) or bytes. */
function writeValue(w: CoapOutput, value: string | Uint8Array, off: number, len: number): void {
  if (typeof value === 'string') writeUtf8(w, value);
  else writeBytes(w, value, off, len);
}

/** Starts a message at buf[off]: header and token. Options must follow in ascending number order;
 * any misuse or overflow makes `writeEnd` return -1 instead of throwing. */
export function writeBegin(w: CoapOutput, buf: Uint8Array, off: number, type: number, code: number, mid: number, tokenSrc: Uint8Array | null, tokenOff: number, tokenLen: number): void {
  w.buf = buf;
  w.start = w.pos = off;
  w.lastOpt = 0;
  w.ok = tokenLen <= 8;
  writeByte(w, 0x40 | (type << 4) | tokenLen);
  writeByte(w, code);
  writeByte(w, mid >> 8);
  writeByte(w, mid);
  writeBytes(w, tokenSrc || w.num, tokenOff, tokenLen);
}

/** The extended delta/length bytes of RFC 7252 §3.1 for nibble 13 (one byte) or 14 (two). */
function writeExtension(w: CoapOutput, v: number): void {
  if (v >= 269) {
    writeByte(w, (v - 269) >> 8);
    writeByte(w, v - 269);
  } else if (v >= 13) writeByte(w, v - 13);
}

/** Appends option `num`; a number value is encoded as a minimal uint (0 → zero length). */
export function writeOption(w: CoapOutput, num: number, value: string | Uint8Array | number): void {
  let len = 4;
  if (typeof value === 'number') {
    for (let k = 3; k >= 0; k--, value = Math.floor(value / 256)) w.num[k] = value % 256;
    while (len && !w.num[4 - len]) len--;
    value = w.num;
  } else len = typeof value === 'string' ? writeUtf8(null, value) : value.length;
  const delta = num - w.lastOpt;
  w.lastOpt = num;
  if (delta < 0 || delta > 65804 || len > 65804) w.ok = false;
  writeByte(w, (nibble(delta) << 4) | nibble(len));
  writeExtension(w, delta);
  writeExtension(w, len);
  writeValue(w, value, value.length - len, len);
}

/** Appends the payload marker and payload (nothing at all for an empty payload); a string goes as
 * UTF-8. */
export function writePayload(w: CoapOutput, value: string | Uint8Array): void {
  if (value.length) writeByte(w, 0xff);
  writeValue(w, value, 0, value.length);
}

/** Bytes written since `writeBegin`, or -1 if the buffer overflowed or options were out of order. */
export function writeEnd(w: CoapOutput): number {
  return w.ok ? w.pos - w.start : -1;
}

/** The writer functions as a chainable object (gateway, tests). */
export class CoapWriter implements CoapOutput {
  // Set by every `begin`.
  declare buf: Uint8Array;
  declare start: number;
  declare pos: number;
  declare lastOpt: number;
  declare ok: boolean;
  num: Uint8Array = new Uint8Array(4);

  begin(buf: Uint8Array, off: number, type: number, code: number, mid: number, tokenSrc: Uint8Array | null, tokenOff: number, tokenLen: number): this {
    writeBegin(this, buf, off, type, code, mid, tokenSrc, tokenOff, tokenLen);
    return this;
  }

  option(num: number, value: string | Uint8Array | number): this {
    writeOption(this, num, value);
    return this;
  }

  payload(value: string | Uint8Array): this {
    writePayload(this, value);
    return this;
  }

  end(): number {
    return writeEnd(this);
  }
}

/** The representation level: one message as plain data. */
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

/** Parses `data` into a message, or null when it is not well-formed CoAP (see `parseCoapError`). */
export function parseCoap(data: Uint8Array): CoapMessage | null {
  const r = new CoapReader();
  if (!r.read(data, 0, data.length)) return null;
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

/** Why `data` is not well-formed CoAP, or '' when it is. */
export function parseCoapError(data: Uint8Array): string {
  const r = new CoapReader();
  r.read(data, 0, data.length);
  return r.error;
}

/** Encodes `msg` (options sorted by number, stable) into `out` or a new exactly-sized array.
 * Throws RangeError when `out` is too small or a field is out of range: emission is for messages
 * the program built itself, so that is a bug, not hostile input. */
export function emitCoap(msg: CoapMessage, out?: Uint8Array): Uint8Array {
  const options = msg.options.slice().sort((a, b) => a.num - b.num);
  let size = 4 + msg.token.length + (msg.payload.length ? 1 + msg.payload.length : 0);
  for (let i = 0; i < options.length; i++) size += 5 + options[i].value.length;
  const buf = out || new Uint8Array(size);
  const w = new CoapWriter().begin(buf, 0, msg.type, msg.code, msg.mid, msg.token, 0, msg.token.length);
  for (let i = 0; i < options.length; i++) w.option(options[i].num, options[i].value);
  w.payload(msg.payload);
  const n = w.end();
  if (n < 0) throw new RangeError('CoAP message (mid ' + msg.mid + ', ' + size + ' bytes at most) does not fit the ' + buf.length + '-byte buffer or has a field out of range');
  return out ? buf.subarray(0, n) : buf.slice(0, n);
}
