/**
 * The CoAP codec (RFC 7252 §3), shared by the firmware, the simulator and the gateway.
 *
 * Two levels, smoltcp-style. The view level (`CoapReader`, `CoapWriter`) works in place over a
 * caller's bytes and allocates nothing, for the lamp's packet path; the representation level
 * (`parseCoap`, `emitCoap`) builds plain objects for the gateway and tests. Nothing here throws on
 * hostile bytes: the reader returns false and names the problem in `error`.
 *
 * Firmware rule: ES5-lowerable, 8-bit strings (a string value is written one byte per char code).
 */

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

/** A checked view over one CoAP message: after `read` returns true every field is in bounds. */
export class CoapReader {
  buf: Uint8Array = new Uint8Array(0);
  type = 0;
  code = 0;
  mid = 0;
  tokenOff = 0;
  tokenLen = 0;
  optCount = 0;
  optNum: Int32Array = new Int32Array(MAX_OPTIONS);
  optOff: Int32Array = new Int32Array(MAX_OPTIONS);
  optLen: Int32Array = new Int32Array(MAX_OPTIONS);
  payloadOff = 0;
  payloadLen = 0;
  /** Why the last `read` returned false ('' after a successful read). */
  error = '';

  /** Checks and indexes `buf[off..off+len)`. Returns false (and sets `error`) on any format error. */
  read(buf: Uint8Array, off: number, len: number): boolean {
    this.buf = buf;
    this.optCount = 0;
    this.payloadLen = 0;
    this.tokenLen = 0;
    const end = off + len;
    if (off < 0 || len < 0 || end > buf.length) return this.fail('CoAP message at ' + off + '+' + len + ' exceeds the ' + buf.length + '-byte buffer');
    if (len < 4) return this.fail('CoAP message of ' + len + ' bytes is shorter than the 4-byte header');
    const b0 = buf[off];
    this.type = (b0 >> 4) & 3;
    this.code = buf[off + 1];
    this.mid = (buf[off + 2] << 8) | buf[off + 3];
    if (b0 >> 6 !== COAP_VERSION) return this.fail('CoAP version ' + (b0 >> 6) + ', expected 1');
    const tkl = b0 & 15;
    if (tkl > 8) return this.fail('CoAP token length ' + tkl + ' is reserved (at most 8)');
    if (4 + tkl > len) return this.fail('CoAP token of ' + tkl + ' bytes exceeds message (' + len + ' bytes)');
    if (this.code === EMPTY && len !== 4) return this.fail('CoAP empty message (code 0.00) carries ' + (len - 4) + ' bytes after the header');
    this.tokenOff = off + 4;
    this.tokenLen = tkl;
    this.payloadOff = end;
    let p = off + 4 + tkl;
    let num = 0;
    while (p < end) {
      const b = buf[p++];
      if (b === 0xff) {
        if (p === end) return this.fail('CoAP payload marker at byte ' + (p - 1 - off) + ' with empty payload');
        this.payloadOff = p;
        this.payloadLen = end - p;
        break;
      }
      let delta = b >> 4;
      let olen = b & 15;
      if (delta === 15 || olen === 15) return this.fail('CoAP option header 0x' + b.toString(16) + ' uses reserved nibble 15');
      if (delta >= 13) {
        const ext = delta === 13 ? 1 : 2;
        if (p + ext > end) return this.fail('CoAP option delta extension overruns message at byte ' + (p - off));
        delta = delta === 13 ? buf[p] + 13 : ((buf[p] << 8) | buf[p + 1]) + 269;
        p += ext;
      }
      if (olen >= 13) {
        const ext = olen === 13 ? 1 : 2;
        if (p + ext > end) return this.fail('CoAP option length extension overruns message at byte ' + (p - off));
        olen = olen === 13 ? buf[p] + 13 : ((buf[p] << 8) | buf[p + 1]) + 269;
        p += ext;
      }
      num += delta;
      if (p + olen > end) return this.fail('CoAP option ' + num + ' length ' + olen + ' exceeds message (' + len + ' bytes)');
      if (this.optCount === MAX_OPTIONS) return this.fail('CoAP message has more than ' + MAX_OPTIONS + ' options');
      const i = this.optCount++;
      this.optNum[i] = num;
      this.optOff[i] = p;
      this.optLen[i] = olen;
      p += olen;
    }
    this.error = '';
    return true;
  }

  private fail(why: string): boolean {
    this.error = why;
    this.optCount = 0;
    return false;
  }

  /** Index of the first option `num`, or -1. */
  optIndex(num: number): number {
    for (let i = 0; i < this.optCount; i++) if (this.optNum[i] === num) return i;
    return -1;
  }

  /** Option `i` as an 8-bit string. */
  optString(i: number): string {
    return bytesToString(this.buf, this.optOff[i], this.optLen[i]);
  }

  /** The first option `num` as an unsigned integer (RFC 7252 §3.2 uint), or -1 when absent. */
  optUint(num: number): number {
    const i = this.optIndex(num);
    if (i < 0) return -1;
    let v = 0;
    for (let k = 0; k < this.optLen[i]; k++) v = v * 256 + this.buf[this.optOff[i] + k];
    return v;
  }

  /** Whether the Uri-Path options spell exactly `path` ("3311/0/5850"; "" for the root), without
   * allocating. */
  uriPathEquals(path: string): boolean {
    let pos = 0;
    let segments = 0;
    for (let i = 0; i < this.optCount; i++) {
      if (this.optNum[i] !== URI_PATH) continue;
      if (segments++ > 0) {
        if (path.charCodeAt(pos) !== 47) return false;
        pos++;
      }
      const o = this.optOff[i];
      for (let k = 0; k < this.optLen[i]; k++) if (path.charCodeAt(pos++) !== this.buf[o + k]) return false;
    }
    return pos === path.length;
  }

  /** The Uri-Path segments joined with '/' ("3311/0/5850"). */
  path(): string {
    let s = '';
    for (let i = 0; i < this.optCount; i++) if (this.optNum[i] === URI_PATH) s += (s ? '/' : '') + this.optString(i);
    return s;
  }

  /** Value of Uri-Query `name=value` (first match), '' for a bare `name`, null when absent. */
  query(name: string): string | null {
    for (let i = 0; i < this.optCount; i++) {
      if (this.optNum[i] !== URI_QUERY) continue;
      const q = this.optString(i);
      if (q === name) return '';
      if (q.length > name.length && q.charCodeAt(name.length) === 61 && q.substring(0, name.length) === name) return q.substring(name.length + 1);
    }
    return null;
  }

  /** The payload as an 8-bit string. */
  payloadString(): string {
    return bytesToString(this.buf, this.payloadOff, this.payloadLen);
  }

  /** Whether the token equals `other[off..off+len)`. */
  tokenEquals(other: Uint8Array, off: number, len: number): boolean {
    if (len !== this.tokenLen) return false;
    for (let k = 0; k < len; k++) if (other[off + k] !== this.buf[this.tokenOff + k]) return false;
    return true;
  }
}

/** bytes[off..off+len) as an 8-bit string (one char per byte). */
export function bytesToString(bytes: Uint8Array, off: number, len: number): string {
  let s = '';
  for (let k = 0; k < len; k++) s += String.fromCharCode(bytes[off + k]);
  return s;
}

/** Builds one CoAP message into a caller's buffer. Options must come in ascending number order;
 * any misuse or overflow makes `end()` return -1 instead of throwing. */
export class CoapWriter {
  buf: Uint8Array = new Uint8Array(0);
  start = 0;
  pos = 0;
  lastOpt = 0;
  ok = true;

  begin(buf: Uint8Array, off: number, type: number, code: number, mid: number, tokenSrc: Uint8Array | null, tokenOff: number, tokenLen: number): this {
    this.buf = buf;
    this.start = off;
    this.pos = off;
    this.lastOpt = 0;
    this.ok = tokenLen >= 0 && tokenLen <= 8;
    this.byte(0x40 | ((type & 3) << 4) | (tokenLen & 15));
    this.byte(code);
    this.byte(mid >> 8);
    this.byte(mid);
    for (let k = 0; k < tokenLen; k++) this.byte(tokenSrc ? tokenSrc[tokenOff + k] : 0);
    return this;
  }

  private byte(v: number): void {
    if (this.pos >= this.buf.length) this.ok = false;
    else this.buf[this.pos++] = v & 255;
  }

  /** Appends option `num`; a number value is encoded as a minimal uint (0 → zero length). */
  option(num: number, value: string | Uint8Array | number): this {
    let len: number;
    if (typeof value === 'number') {
      len = 0;
      for (let v = value; v >= 1 && len < 4; v = Math.floor(v / 256)) len++;
    } else len = value.length;
    const delta = num - this.lastOpt;
    if (delta < 0 || delta > 65804 || len > 65804) this.ok = false;
    this.lastOpt = num;
    const dn = delta < 13 ? delta : delta < 269 ? 13 : 14;
    const ln = len < 13 ? len : len < 269 ? 13 : 14;
    this.byte((dn << 4) | ln);
    this.extension(dn, delta);
    this.extension(ln, len);
    for (let k = 0; k < len; k++) {
      if (typeof value === 'number') this.byte(value / Math.pow(256, len - 1 - k));
      else this.byte(typeof value === 'string' ? value.charCodeAt(k) : value[k]);
    }
    return this;
  }

  private extension(nibble: number, v: number): void {
    if (nibble === 13) this.byte(v - 13);
    else if (nibble === 14) {
      this.byte((v - 269) >> 8);
      this.byte(v - 269);
    }
  }

  /** Appends the payload marker and payload (nothing at all for an empty payload). */
  payload(value: string | Uint8Array): this {
    if (value.length === 0) return this;
    this.byte(0xff);
    for (let k = 0; k < value.length; k++) this.byte(typeof value === 'string' ? value.charCodeAt(k) : value[k]);
    return this;
  }

  /** Bytes written since `begin`, or -1 if the buffer overflowed or options were out of order. */
  end(): number {
    return this.ok ? this.pos - this.start : -1;
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

const sharedReader = new CoapReader();

/** Parses `data` into a message, or null when it is not well-formed CoAP (see `parseCoapError`). */
export function parseCoap(data: Uint8Array): CoapMessage | null {
  const r = sharedReader;
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
  return sharedReader.read(data, 0, data.length) ? '' : sharedReader.error;
}

const sharedWriter = new CoapWriter();

/** Encodes `msg` (options sorted by number, stable) into `out` or a new exactly-sized array.
 * Throws RangeError when `out` is too small or a field is out of range: emission is for messages
 * the program built itself, so that is a bug, not hostile input. */
export function emitCoap(msg: CoapMessage, out?: Uint8Array): Uint8Array {
  const options = msg.options.slice().sort((a, b) => a.num - b.num);
  let size = 4 + msg.token.length + (msg.payload.length ? 1 + msg.payload.length : 0);
  for (let i = 0; i < options.length; i++) size += 5 + options[i].value.length;
  const buf = out || new Uint8Array(size);
  const w = sharedWriter.begin(buf, 0, msg.type, msg.code, msg.mid, msg.token, 0, msg.token.length);
  for (let i = 0; i < options.length; i++) w.option(options[i].num, options[i].value);
  w.payload(msg.payload);
  const n = w.end();
  if (n < 0) throw new RangeError('CoAP message (mid ' + msg.mid + ', ' + size + ' bytes at most) does not fit the ' + buf.length + '-byte buffer or has a field out of range');
  return out ? buf.subarray(0, n) : buf.slice(0, n);
}
