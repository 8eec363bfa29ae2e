/**
 * The LwM2M TLV codec (content format 11542; OMA-TS-LightweightM2M 1.0 §6.4.3, 1.1 Core §7.4.3),
 * the binary format LwM2M 1.0 servers read and write objects in. Shared by the lamp and the gateway.
 *
 * Same two levels as the CoAP codec (coap.ts): `readTlv` checks a payload once and indexes its
 * values, flat, into a record the caller keeps (so no accessor can fail afterwards and nothing is
 * allocated); `tlvValue` reads one as a value of the type the object table gives. The writers put
 * entries into any byte buffer at a position and return the position after them, so a lamp can
 * write straight into its CoAP send buffer (after the 0xff payload marker): what does not fit is
 * not written, and the returned position past the buffer's end says so (as coap.ts's writeEnd).
 *
 * An entry's type byte: bits 7-6 what it is (TLV_OBJECT_INSTANCE 0, TLV_RESOURCE_INSTANCE 1,
 * TLV_MULTIPLE_RESOURCE 2, TLV_RESOURCE 3), bit 5 a 16-bit identifier, bits 4-3 how many bytes of
 * length follow (0-3), bits 2-0 the length itself when none follow. Values are big-endian:
 * integers signed in 1, 2, 4 or 8 bytes, floats in 4 or 8, booleans one byte 0/1, Objlnk two 16-bit
 * ids, strings UTF-8.
 *
 * Nothing here throws: a malformed payload makes `readTlv` return false with the reason in `error`
 * (one letter per check in the board's bundle). Nesting is at most object instance > multiple
 * resource > resource instance, so there is no recursion, and the entries are bounded by the
 * reader's capacity.
 *
 * Firmware rule: ES5-lowerable.
 */
import { BRIEF } from '../diagnostics.js';
import { bytesToString, utf8Text, writeUtf8 } from '../text.js';
import { BOOLEAN, FLOAT, INTEGER, OBJLNK, OPAQUE, STRING, TIME, UNSIGNED, isBool, isWhole, parseObjlnk, type Lwm2mValue } from './objects.js';

export const TLV_OBJECT_INSTANCE = 0;
export const TLV_RESOURCE_INSTANCE = 1;
export const TLV_MULTIPLE_RESOURCE = 2;
export const TLV_RESOURCE = 3;

/** A checked, flat index of one TLV payload: entry i is the value of resource `res[i]` (instance
 * `ri[i]`, -1 for a single resource) of object instance `inst[i]` (-1 when the payload has no
 * object instance level), at buf[off[i]..off[i]+len[i]). A resource instance at the top level (a
 * payload for one multiple resource) has `res` -1: the request's path names it. */
export interface TlvReader {
  buf: Uint8Array;
  count: number;
  inst: Int32Array;
  res: Int32Array;
  ri: Int32Array;
  off: Int32Array;
  len: Int32Array;
  /** Why the last read returned false ('' after a successful read). */
  error: string;
}

/** A reader for payloads of at most `capacity` values. */
export function tlvReader(capacity: number): TlvReader {
  return { count: 0, inst: new Int32Array(capacity), res: new Int32Array(capacity), ri: new Int32Array(capacity), off: new Int32Array(capacity), len: new Int32Array(capacity), error: '' } as TlvReader;
}

/** Checks and indexes the TLV payload buf[off..off+len) into `r`. False (with `error` set, and no
 * entries) when it is malformed: an entry that overruns its container or the payload, an entry
 * where its kind may not stand (an object instance inside another, a resource instance outside a
 * multiple resource but at the top level, a resource or multiple resource inside a multiple
 * resource), more values than the reader holds. In the board's bundle `error` is one letter: h
 * header overrun, o value overrun, n nesting, c count. An empty multiple resource or object
 * instance gives no entry. */
export function readTlv(r: TlvReader, buf: Uint8Array, off: number, len: number): boolean {
  const end = off + len;
  let p = off;
  let n = 0;
  let inst = -1;
  let instEnd = end;
  let res = -1;
  let resEnd = end;
  let e = '';
  r.buf = buf;
  if (!(off >= 0 && len >= 0 && end <= buf.length)) e = BRIEF ? 'h' : 'TLV payload of ' + len + ' bytes at ' + off + ' overruns the ' + buf.length + '-byte buffer';
  while (!e && p < end) {
    if (p >= resEnd) res = -1;
    if (p >= instEnd) inst = -1;
    // The innermost container ends at `limit`.
    const limit = res >= 0 ? resEnd : inst >= 0 ? instEnd : end;
    const t = buf[p];
    const kind = t >> 6;
    const idBytes = t & 0x20 ? 2 : 1;
    const lenBytes = (t >> 3) & 3;
    const head = p + 1 + idBytes + lenBytes;
    if (head > limit) {
      e = BRIEF ? 'h' : 'TLV entry header at byte ' + (p - off) + ' overruns its ' + (limit - off) + '-byte container';
      break;
    }
    const id = idBytes === 2 ? (buf[p + 1] << 8) | buf[p + 2] : buf[p + 1];
    let vlen = lenBytes ? 0 : t & 7;
    for (let k = p + 1 + idBytes; k < head; k++) vlen = vlen * 256 + buf[k];
    const vend = head + vlen;
    if (vend > limit) e = BRIEF ? 'o' : 'TLV value of ' + vlen + ' bytes at byte ' + (head - off) + ' overruns its ' + (limit - off) + '-byte container';
    else if (kind === TLV_OBJECT_INSTANCE ? inst >= 0 || res >= 0 : kind === TLV_RESOURCE_INSTANCE ? res < 0 && inst >= 0 : res >= 0) {
      e = BRIEF ? 'n' : 'TLV ' + ['object instance', 'resource instance', 'multiple resource', 'resource'][kind] + ' ' + id + ' at byte ' + (p - off) + ' where it may not stand';
    } else if (kind === TLV_OBJECT_INSTANCE || kind === TLV_MULTIPLE_RESOURCE) {
      // A container: its entries follow.
      if (kind === TLV_OBJECT_INSTANCE) {
        inst = id;
        instEnd = vend;
      } else {
        res = id;
        resEnd = vend;
      }
      p = head;
    } else if (n === r.off.length) e = BRIEF ? 'c' : 'TLV payload has more than ' + n + ' values';
    else {
      r.inst[n] = inst;
      r.res[n] = kind === TLV_RESOURCE ? id : res;
      r.ri[n] = kind === TLV_RESOURCE ? -1 : id;
      r.off[n] = head;
      r.len[n++] = vlen;
      p = vend;
    }
  }
  r.count = e ? 0 : n;
  r.error = e;
  return !e;
}

/** Scratch for floats: bytes are copied in and out so nothing is allocated per value. */
const view = /* @__PURE__ */ new DataView(/* @__PURE__ */ new ArrayBuffer(8));

/** A big-endian integer of 1, 2, 4 or 8 bytes (signed unless `unsigned`), NaN for another size.
 * Beyond 2^53 it is the nearest double. */
function readInt(buf: Uint8Array, off: number, len: number, unsigned: boolean): number {
  if (len !== 1 && len !== 2 && len !== 4 && len !== 8) return NaN;
  let n = unsigned || buf[off] < 128 ? 0 : -1;
  for (let k = 0; k < len; k++) n = n * 256 + buf[off + k];
  return n;
}

/** Entry `i` of a successful `readTlv` as a value of `type` (objects.ts), or null when its bytes
 * are not one: an integer not 1/2/4/8 bytes, a float not 4/8, a boolean not one byte 0 or 1, a
 * string not UTF-8, an Objlnk not 4 bytes. Opaque comes as an 8-bit string. */
export function tlvValue(r: TlvReader, i: number, type: number): Lwm2mValue | null {
  const buf = r.buf;
  const off = r.off[i];
  const len = r.len[i];
  if (type === STRING) return utf8Text(bytesToString(buf, off, len));
  if (type === OPAQUE) return bytesToString(buf, off, len);
  if (type === BOOLEAN) return len === 1 && buf[off] < 2 ? buf[off] === 1 : null;
  if (type === OBJLNK) return len === 4 ? ((buf[off] << 8) | buf[off + 1]) + ':' + ((buf[off + 2] << 8) | buf[off + 3]) : null;
  if (type === FLOAT) {
    if (len !== 4 && len !== 8) return null;
    for (let k = 0; k < len; k++) view.setUint8(k, buf[off + k]);
    return len === 4 ? view.getFloat32(0, false) : view.getFloat64(0, false);
  }
  const n = type === INTEGER || type === TIME || type === UNSIGNED ? readInt(buf, off, len, type === UNSIGNED) : NaN;
  return n === n ? n : null;
}

/** Writes `len` bytes of the integer `n` big-endian (two's complement when negative) at buf[pos]. */
function putInt(buf: Uint8Array, pos: number, n: number, len: number): void {
  for (let k = len - 1; k >= 0; k--) {
    const q = Math.floor(n / 256);
    if (pos + k < buf.length) buf[pos + k] = n - q * 256;
    n = q;
  }
}

/** Writes an entry header at buf[pos] and returns where its value starts. */
function putHeader(buf: Uint8Array, pos: number, kind: number, id: number, len: number): number {
  const idBytes = id > 255 ? 2 : 1;
  const lenBytes = len < 8 ? 0 : len < 256 ? 1 : len < 65536 ? 2 : 3;
  putInt(buf, pos, (kind << 6) | (idBytes === 2 ? 0x20 : 0) | (lenBytes << 3) | (lenBytes ? 0 : len), 1);
  putInt(buf, pos + 1, id, idBytes);
  putInt(buf, pos + 1 + idBytes, len, lenBytes);
  return pos + 1 + idBytes + lenBytes;
}

/** Writes a TLV_RESOURCE or TLV_RESOURCE_INSTANCE entry with identifier `id` holding `value` of
 * `type` at buf[pos] and returns the position after it (past buf.length when it did not fit), or -1
 * when the value is not of its type: integers in the fewest of 1/2/4/8 bytes, a float in 4 bytes
 * when that keeps it exact (else 8), strings as UTF-8, Opaque from an 8-bit string. */
export function writeTlv(buf: Uint8Array, pos: number, kind: number, id: number, type: number, value: Lwm2mValue): number {
  let len = -1;
  const n = value as number;
  if (type === STRING && typeof value === 'string') len = writeUtf8(null, 0, value);
  else if (type === OPAQUE && typeof value === 'string') len = value.length;
  else if (type === BOOLEAN && isBool(value)) len = 1;
  else if (type === OBJLNK && typeof value === 'string' && parseObjlnk(value)) len = 4;
  else if (type === FLOAT && typeof value === 'number' && isFinite(n)) {
    view.setFloat32(0, n, false);
    len = view.getFloat32(0, false) === n ? 4 : 8;
  } else if ((type === INTEGER || type === TIME || type === UNSIGNED) && isWhole(n) && !(type === UNSIGNED && n < 0) && Math.abs(n) <= 9007199254740991) {
    // The fewest bytes whose range holds n (unsigned: up to 2^(8 len), signed: half of that).
    const span = type === UNSIGNED ? n : n < 0 ? -2 * n - 1 : 2 * n;
    len = span < 256 ? 1 : span < 65536 ? 2 : span < 4294967296 ? 4 : 8;
  }
  if (len < 0 || len > 0xffffff) return -1;
  const at = putHeader(buf, pos, kind, id, len);
  if (type === STRING) writeUtf8(buf, at, value as string);
  else if (type === OPAQUE) for (let k = 0; k < len; k++) putInt(buf, at + k, (value as string).charCodeAt(k) & 255, 1);
  else if (type === BOOLEAN) putInt(buf, at, value ? 1 : 0, 1);
  else if (type === OBJLNK) {
    const ids = parseObjlnk(value as string)!;
    putInt(buf, at, ids[0], 2);
    putInt(buf, at + 2, ids[1], 2);
  } else if (type === FLOAT) {
    if (len === 8) view.setFloat64(0, n, false);
    for (let k = 0; k < len; k++) putInt(buf, at + k, view.getUint8(k), 1);
  } else putInt(buf, at, n, len);
  return at + len;
}

/** Room left for a container's header: type, 16-bit id, 24-bit length. */
const OPEN_HEADER = 6;

/** Opens a TLV_OBJECT_INSTANCE or TLV_MULTIPLE_RESOURCE entry at buf[pos]; its entries are written
 * from the returned position on, then `closeTlv(buf, pos, end)` completes it. Containers nest
 * (close the inner one first). */
export function openTlv(buf: Uint8Array, pos: number, kind: number, id: number): number {
  putInt(buf, pos, kind, 1);
  putInt(buf, pos + 1, id, 2);
  return pos + OPEN_HEADER;
}

/** Completes the container opened at buf[start] whose entries end at `end`: writes its header and
 * moves the entries up against it. Returns the position after it (past buf.length when it did not
 * fit, or -1 when its entries are over 16 MB). */
export function closeTlv(buf: Uint8Array, start: number, end: number): number {
  if (end > buf.length) return end;
  const from = start + OPEN_HEADER;
  const len = end - from;
  if (len > 0xffffff) return -1;
  const at = putHeader(buf, start, buf[start], (buf[start + 1] << 8) | buf[start + 2], len);
  for (let k = 0; k < len; k++) buf[at + k] = buf[from + k];
  return at + len;
}
