/**
 * Text on the wire: UTF-8 whatever the platform's strings are, and JSON that reads and writes the same
 * bytes on Node and on Espruino. Used by the CoAP codec (coap.ts), the registration documents
 * (registration.ts) and the gateway.
 *
 * Firmware rule: ES5-lowerable. Received bytes are handled as 8-bit strings (one char per byte), the
 * form Espruino's sockets deliver them in.
 */

/** bytes[off..off+len) as an 8-bit string (one char per byte). */
export function bytesToString(bytes: Uint8Array, off: number, len: number): string {
  let s = '';
  for (let k = 0; k < len; k++) s += String.fromCharCode(bytes[off + k]);
  return s;
}

/** Writes `s` as UTF-8 into `buf` from `pos` (what does not fit is not written; with `buf` null it
 * only counts) and returns its length in bytes. Node's strings are UTF-16 (a surrogate pair is one
 * code point), Espruino's charCodeAt gives the code point itself: both write the same bytes. A lone
 * surrogate becomes U+FFFD. */
export function writeUtf8(buf: Uint8Array | null, pos: number, s: string): number {
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
    for (let i = more; i >= 0; i--, n++) {
      const byte = i === more ? (more ? ((0xff << (7 - more)) & 0xff) | (c >> (6 * more)) : c) : 0x80 | ((c >> (6 * i)) & 63);
      if (buf && pos + n < buf.length) buf[pos + n] = byte;
    }
  }
  return n;
}

/** `s` as UTF-8 bytes. */
export function utf8Bytes(s: string): Uint8Array {
  const bytes = new Uint8Array(writeUtf8(null, 0, s));
  writeUtf8(bytes, 0, s);
  return bytes;
}

/** `\uXXXX` for a UTF-16 code unit, in upper case as Espruino's JSON.stringify writes it. */
function jsonEscape(c: number): string {
  return '\\u' + ('000' + c.toString(16).toUpperCase()).slice(-4);
}

/** A JSON text with every character from U+007F up as a `\u` escape, so that a lamp sends the same
 * bytes on every platform: Espruino's JSON.stringify escapes them (a character beyond the BMP as a
 * surrogate pair), Node's writes them raw (as UTF-16 code units, escaped here one by one). */
export function asciiJson(json: string): string {
  let s = '';
  for (let k = 0; k < json.length; k++) {
    const c = json.charCodeAt(k);
    // charAt only for ASCII: on Espruino it returns the raw bytes of a UTF-8 character.
    s += c < 0x7f ? json.charAt(k) : jsonEscape(c);
  }
  return s;
}

/** utf8Json's escaping; with `literal` also '"', '\\' and control characters, so that the result
 * can stand inside a JSON string literal. */
function utf8Escaped(bytes: string, literal: boolean): string | null {
  let s = '';
  for (let k = 0; k < bytes.length; k++) {
    let c = bytes.charCodeAt(k);
    if (c >= 0x80) {
      const more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
      if (!more || c > 0xf4) return null;
      c &= 0x3f >> more;
      for (let i = 0; i < more; i++) {
        // NaN past the end fails the test.
        const d = bytes.charCodeAt(++k);
        if (!(d >= 0x80 && d < 0xc0)) return null;
        c = c * 64 + (d & 63);
      }
      if (c < (more === 1 ? 0x80 : more === 2 ? 0x800 : 0x10000) || (c >= 0xd800 && c < 0xe000) || c > 0x10ffff) return null;
      s += c > 0xffff ? jsonEscape(0xd7c0 + (c >> 10)) + jsonEscape(0xdc00 + (c & 1023)) : jsonEscape(c);
    } else s += literal && (c < 32 || c === 34 || c === 92) ? jsonEscape(c) : bytes.charAt(k);
  }
  return s;
}

/** The JSON text of a body received as bytes (an 8-bit string, one char per byte) with every
 * character beyond ASCII as a `\u` escape, or null when the bytes are not UTF-8 (RFC 3629: no
 * overlong forms, no surrogates, nothing past U+10FFFF). JSON.parse of it then gives the same
 * strings on Node and on Espruino, whose parsers read raw bytes differently. */
export function utf8Json(bytes: string): string | null {
  return utf8Escaped(bytes, false);
}

/** UTF-8 bytes (an 8-bit string) as the text they encode, or null when they are not UTF-8 (as
 * utf8Json). Decoded by JSON.parse of an escaped literal, which gives the same string on Node and
 * on Espruino. */
export function utf8Text(bytes: string): string | null {
  const json = utf8Escaped(bytes, true);
  return json === null ? null : (JSON.parse('"' + json + '"') as string);
}
