/**
 * LwM2M content formats (CoAP Content-Format / Accept numbers, IANA CoAP registry) and the
 * text/plain rendering of single values (LwM2M 1.1 Core §7.4.1, Appendix C), shared by the lamp
 * and the gateway. TLV is tlv.ts, SenML JSON senml.ts, CoRE Link Format link.ts.
 *
 * Firmware rule: ES5-lowerable, no RegExp (tools/espruino/espruino-compat.ts).
 */
import { FORMAT_LINK, FORMAT_TEXT } from '../coap.js';
import { utf8Text } from '../text.js';
import { BOOLEAN, FLOAT, INTEGER, OBJLNK, OPAQUE, STRING, TIME, UNSIGNED, isBool, isWhole, parseObjlnk, type Lwm2mValue } from './objects.js';

export { FORMAT_LINK, FORMAT_TEXT };
export const FORMAT_OPAQUE = 42;
export const FORMAT_CBOR = 60;
export const FORMAT_SENML_JSON = 110;
export const FORMAT_SENML_CBOR = 112;
export const FORMAT_TLV = 11542;
/** LwM2M 1.0's own JSON (the "e" array). Named so that an Accept of it gets 4.06, not served. */
export const FORMAT_LWM2M_JSON = 11543;

/** `value` of `type` as LwM2M text/plain: integers (within ±2^53) in decimal, a float as JavaScript prints it,
 * booleans "0"/"1", an Objlnk "obj:inst", a string as it is (the writer encodes it as UTF-8). Null
 * when the value does not fit the type, or for Opaque, which text/plain cannot carry (42 can). */
export function formatText(type: number, value: Lwm2mValue): string | null {
  if (type === BOOLEAN) return isBool(value) ? (value ? '1' : '0') : null;
  if (type === STRING) return typeof value === 'string' ? value : null;
  if (type === OBJLNK) return typeof value === 'string' && parseObjlnk(value) ? value : null;
  if (type === FLOAT) return typeof value === 'number' && isFinite(value) ? '' + value : null;
  // Within ±2^53 (as TLV and parseText), where JavaScript prints whole numbers without exponent.
  const n = value as number;
  if (type === INTEGER || type === TIME || type === UNSIGNED) return isWhole(n) && Math.abs(n) <= 9007199254740991 && !(type === UNSIGNED && n < 0) ? '' + n : null;
  return null;
}

/** Whether `s` is a decimal number: optional '-', digits, then (when `real`) an optional fraction
 * and exponent. No '+', no leading '.', no spaces, at most 40 characters. */
function isNumeral(s: string, real: boolean): boolean {
  let k = s.charCodeAt(0) === 45 ? 1 : 0;
  const digits = (): number => {
    const from = k;
    while (s.charCodeAt(k) >= 48 && s.charCodeAt(k) <= 57) k++;
    return k - from;
  };
  if (!digits() || s.length > 40) return false;
  if (real && s.charAt(k) === '.' && (k++, !digits())) return false;
  if (real && (s.charAt(k) === 'e' || s.charAt(k) === 'E')) {
    k++;
    if (s.charAt(k) === '-' || s.charAt(k) === '+') k++;
    if (!digits()) return false;
  }
  return k === s.length;
}

/** A text/plain body (its bytes as an 8-bit string) as a value of `type`, or null when it is not
 * one: integers must be whole decimal numerals within ±2^53, floats decimal numerals, booleans
 * exactly "0" or "1", strings valid UTF-8, Objlnk "obj:inst". */
export function parseText(type: number, text: string): Lwm2mValue | null {
  if (type === BOOLEAN) return text === '1' ? true : text === '0' ? false : null;
  if (type === STRING) return utf8Text(text);
  if (type === OBJLNK) return parseObjlnk(text) ? text : null;
  if (type === OPAQUE) return null;
  const real = type === FLOAT;
  if (!isNumeral(text, real)) return null;
  const n = +text;
  if (!isFinite(n) || (!real && Math.abs(n) > 9007199254740991) || (type === UNSIGNED && n < 0)) return null;
  return n;
}
