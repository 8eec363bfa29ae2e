/**
 * SenML JSON (RFC 8428, content format 110) as LwM2M 1.1 Core §7.4.4 uses it: an array of records,
 * each naming a resource (or resource instance) by base name `bn` (carried to the records after it
 * until another) joined with its name `n`, with one value: `v` number, `vb` boolean, `vs` string,
 * `vd` Opaque (base64url, RFC 8428 §5), `vlo` Objlnk "obj:inst". Shared by the lamp and the gateway.
 *
 * Encoding is string concatenation of one record at a time (`senmlRecord`), cheap on Espruino and
 * ASCII on the wire (text.ts): `'[' + senmlRecord('/3311/0/', '5850', BOOLEAN, true) + ',' +
 * senmlRecord('', '5851', INTEGER, 80) + ']'` is `[{"bn":"/3311/0/","n":"5850","vb":true},
 * {"n":"5851","v":80}]`.
 *
 * Decoding (`readSenml`) is strict and never throws: the payload must be UTF-8 JSON, an array of at
 * most MAX_SENML_RECORDS objects, each with exactly one value field of the right JSON type and a
 * name that resolves to /obj/inst/res or /obj/inst/res/ri; a field RFC 8428 marks must-understand
 * (ending in '_') is refused, others lampnet does not use (bt, t, bu, u, bver, s, ut) are ignored.
 *
 * Firmware rule: ES5-lowerable, no RegExp.
 */
import { BRIEF } from '../diagnostics.js';
import { asciiJson, utf8Json } from '../text.js';
import { BOOLEAN, OBJLNK, OPAQUE, STRING, isBool, parseObjlnk, parsePath, type Lwm2mValue } from './objects.js';

/** Most records a payload may hold. */
export const MAX_SENML_RECORDS = 64;
/** Longest payload read (bytes): far above one datagram, well below what JSON.parse finds costly. */
export const MAX_SENML_BYTES = 8192;

/** One SenML record naming `n` (under base name `bn`, left out when ''), holding `value` of `type`
 * (objects.ts), as ASCII JSON text; '' when the value is not of its type or not finite. */
export function senmlRecord(bn: string, n: string, type: number, value: Lwm2mValue): string {
  const t = typeof value;
  let field = '';
  if (type === BOOLEAN) field = isBool(value) ? '"vb":' + (value ? 'true' : 'false') : '';
  else if (type === STRING) field = t === 'string' ? '"vs":' + asciiJson(JSON.stringify(value)) : '';
  else if (type === OPAQUE) field = t === 'string' ? '"vd":"' + base64url(value as string) + '"' : '';
  else if (type === OBJLNK) field = t === 'string' && parseObjlnk(value as string) ? '"vlo":"' + value + '"' : '';
  else field = t === 'number' && isFinite(value as number) ? '"v":' + value : '';
  return field && '{' + (bn ? '"bn":' + asciiJson(JSON.stringify(bn)) + ',' : '') + '"n":' + asciiJson(JSON.stringify(n)) + ',' + field + '}';
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Bytes (an 8-bit string) in base64url without padding (RFC 4648 §5). */
export function base64url(bytes: string): string {
  let s = '';
  for (let k = 0; k < bytes.length; k += 3) {
    const n = (bytes.charCodeAt(k) << 16) | ((bytes.charCodeAt(k + 1) & 255) << 8) | (bytes.charCodeAt(k + 2) & 255);
    for (let i = 0; i < 4 && k * 4 + i * 3 < bytes.length * 4; i++) s += B64.charAt((n >> (18 - 6 * i)) & 63);
  }
  return s;
}

/** base64url or base64 text, padded or not, as bytes (an 8-bit string); null when it is neither. */
export function fromBase64(text: string): string | null {
  let s = '';
  let n = 0;
  let bits = 0;
  let end = text.length;
  if (text.charAt(end - 1) === '=') {
    // Padded: whole quads, one or two '='.
    if (end % 4) return null;
    end -= text.charAt(end - 2) === '=' ? 2 : 1;
  }
  if (end % 4 === 1) return null;
  for (let k = 0; k < end; k++) {
    const c = text.charAt(k);
    const d = c === '+' ? 62 : c === '/' ? 63 : B64.indexOf(c);
    if (d < 0) return null;
    n = (n << 6) | d;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      s += String.fromCharCode((n >> bits) & 255);
    }
  }
  return s;
}

/** One value of a SenML payload: resource `res` (instance `ri`, -1 for a single resource) of
 * object instance /obj/inst. */
export interface SenmlValue {
  obj: number;
  inst: number;
  res: number;
  ri: number;
  value: Lwm2mValue;
}

/** Value fields and the JSON type each must have. */
const VALUE_FIELDS = ['v', 'vb', 'vs', 'vd', 'vlo'];
const VALUE_TYPES = ['number', 'boolean', 'string', 'string', 'string'];

/** A SenML JSON payload (its bytes as an 8-bit string) as its values, or why it is unacceptable (in
 * the board's bundle one letter: s size, j not JSON/UTF-8, a not an array of records, r record, n
 * name, v value). */
export function readSenml(bytes: string): SenmlValue[] | string {
  if (bytes.length > MAX_SENML_BYTES) return BRIEF ? 's' : 'SenML payload of ' + bytes.length + ' bytes exceeds ' + MAX_SENML_BYTES;
  let doc: unknown = null;
  try {
    doc = JSON.parse(utf8Json(bytes)!);
  } catch (e) {
    // Not UTF-8 (JSON.parse(null) is null) or not JSON: refused below.
  }
  if (!doc || typeof doc !== 'object') return BRIEF ? 'j' : 'SenML payload is not UTF-8 JSON';
  const records = doc as unknown[];
  if (!Array.isArray(records) || records.length < 1 || records.length > MAX_SENML_RECORDS) return BRIEF ? 'a' : 'SenML payload is not an array of 1-' + MAX_SENML_RECORDS + ' records';
  const out: SenmlValue[] = [];
  let bn = '';
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as Record<string, unknown>;
    const at = BRIEF ? '' : 'SenML record ' + i + ': ';
    if (!r || typeof r !== 'object' || Array.isArray(r)) return BRIEF ? 'r' : at + 'not an object';
    let field = -1;
    for (const k in r) {
      const f = VALUE_FIELDS.indexOf(k);
      if (k.charAt(k.length - 1) === '_') return BRIEF ? 'r' : at + 'field "' + k + '" must be understood and is not';
      if ((k === 'bn' || k === 'n') && typeof r[k] !== 'string') return BRIEF ? 'n' : at + '"' + k + '" is not a string';
      if (f >= 0 && (field >= 0 || typeof r[k] !== VALUE_TYPES[f])) return BRIEF ? 'v' : at + (field >= 0 ? 'more than one value' : '"' + k + '" is not a ' + VALUE_TYPES[f]);
      if (f >= 0) field = f;
    }
    if (r.bn !== undefined) bn = r.bn as string;
    const name = bn + (r.n === undefined ? '' : (r.n as string));
    const ids = parsePath(name);
    if (!ids || ids.length < 3) return BRIEF ? 'n' : at + 'name "' + name + '" is not /obj/inst/res[/ri]';
    if (field < 0) return BRIEF ? 'v' : at + 'no value';
    let value = r[VALUE_FIELDS[field]] as Lwm2mValue;
    if (field === 0 && !isFinite(value as number)) return BRIEF ? 'v' : at + 'value is not finite';
    if (field === 3) {
      const decoded = fromBase64(value as string);
      if (decoded === null) return BRIEF ? 'v' : at + '"vd" is not base64';
      value = decoded;
    }
    if (field === 4 && !parseObjlnk(value as string)) return BRIEF ? 'v' : at + '"vlo" is not "obj:inst"';
    out.push({ obj: ids[0], inst: ids[1], res: ids[2], ri: ids.length > 3 ? ids[3] : -1, value: value });
  }
  return out;
}
