/**
 * What the lamp will do with the LwM2M wire contract, as one list of results: run in Node by
 * lwm2m-espruino.test.ts, and bundled by the board's build (lwm2m-board-entry.ts) on the real
 * Espruino interpreter, which must give the same list. Firmware rule: ES5-lowerable, like the code
 * it exercises.
 */
import { applyAttribute, attributeParams, attributes, attributesError, notifyDelay } from '../../protocol/lwm2m/attributes.js';
import { formatText, parseText } from '../../protocol/lwm2m/formats.js';
import { ROOT_LINK, link } from '../../protocol/lwm2m/link.js';
import { BOOLEAN, FLOAT, INTEGER, OBJLNK, STRING, TIME, checkWrite } from '../../protocol/lwm2m/objects.js';
import { readSenml, senmlRecord, type SenmlValue } from '../../protocol/lwm2m/senml.js';
import { TLV_MULTIPLE_RESOURCE, TLV_OBJECT_INSTANCE, TLV_RESOURCE, TLV_RESOURCE_INSTANCE, closeTlv, openTlv, readTlv, tlvReader, tlvValue, writeTlv } from '../../protocol/lwm2m/tlv.js';
import { bytesToString } from '../../protocol/text.js';

/** SenML values as arrays: the board's minifier renames record fields (`res` is a LampExtra name). */
function flat(v: SenmlValue[] | string): unknown {
  return typeof v === 'string' ? v : v.map((x) => [x.obj, x.inst, x.res, x.ri, x.value]);
}

function hex(buf: Uint8Array, len: number): string {
  let s = '';
  for (let k = 0; k < len; k++) s += (buf[k] < 16 ? '0' : '') + buf[k].toString(16);
  return s;
}

/** The results, and apart from them the refusals (long messages in Node, one letter on the board:
 * protocol/diagnostics.ts). */
export function lwm2mVectors(): { values: unknown[]; errors: string[] } {
  const out: unknown[] = [];
  const errors: string[] = [];
  const err = (e: unknown): void => {
    errors.push(typeof e === 'string' ? e : '');
  };
  const buf = new Uint8Array(256);
  let pos = openTlv(buf, 0, TLV_OBJECT_INSTANCE, 0);
  pos = writeTlv(buf, pos, TLV_RESOURCE, 5850, BOOLEAN, true);
  pos = writeTlv(buf, pos, TLV_RESOURCE, 5851, INTEGER, -300);
  pos = writeTlv(buf, pos, TLV_RESOURCE, 5805, FLOAT, 12.34);
  pos = writeTlv(buf, pos, TLV_RESOURCE, 5800, FLOAT, 59.5);
  pos = writeTlv(buf, pos, TLV_RESOURCE, 0, STRING, 'Straße-北');
  pos = writeTlv(buf, pos, TLV_RESOURCE, 13, TIME, 1367491215);
  pos = writeTlv(buf, pos, TLV_RESOURCE, 14, INTEGER, 9007199254740991);
  const multi = pos;
  pos = openTlv(buf, pos, TLV_MULTIPLE_RESOURCE, 11);
  pos = writeTlv(buf, pos, TLV_RESOURCE_INSTANCE, 0, INTEGER, 8);
  pos = writeTlv(buf, pos, TLV_RESOURCE_INSTANCE, 300, OBJLNK, '3311:0');
  pos = closeTlv(buf, multi, pos);
  pos = closeTlv(buf, 0, pos);
  out.push(hex(buf, pos));
  const r = tlvReader(16);
  const types = [BOOLEAN, INTEGER, FLOAT, FLOAT, STRING, TIME, INTEGER, INTEGER, OBJLNK];
  out.push(readTlv(r, buf, 0, pos), r.count);
  for (let i = 0; i < r.count; i++) out.push([r.inst[i], r.res[i], r.ri[i], tlvValue(r, i, types[i])]);
  err(readTlv(r, buf, 0, pos - 1) ? '' : r.error);
  const doc = '[' + senmlRecord('/3311/0/', '5850', BOOLEAN, false) + ',' + senmlRecord('', '5851', INTEGER, 80) + ',' + senmlRecord('', '5805', FLOAT, 0.25) + ',' + senmlRecord('/32311/0/', '0', STRING, 'Haupt"straße') + ']';
  out.push(doc, flat(readSenml(doc)));
  // The same string as UTF-8 bytes (an 8-bit string), as a datagram delivers it.
  const utf8 = new Uint8Array(64);
  utf8.set([91, 123, 34, 110, 34, 58, 34, 47, 51, 50, 51, 49, 49, 47, 48, 47, 48, 34, 44, 34, 118, 115, 34, 58, 34, 195, 159, 228, 184, 173, 34, 125, 93]);
  out.push(flat(readSenml(bytesToString(utf8, 0, 33))));
  err(readSenml('[{"n":"/3311/0","v":1}]'));
  err(readSenml('[{"n":"/3311/0/5850","v":1,"vb":true}]'));
  err(readSenml('[{"n":'));
  out.push(link('/1/0', '') + ',' + link('/3311/0', '') + ',' + ROOT_LINK);
  const a = attributes();
  out.push(applyAttribute(a, 'pmin=10'), applyAttribute(a, 'pmax=60'), applyAttribute(a, 'st=0.5'), attributesError(a));
  err(applyAttribute(a, 'gt=x'));
  err(applyAttribute(a, 'foo=1'));
  const b = attributes();
  applyAttribute(b, 'pmin=9');
  applyAttribute(b, 'pmax=1');
  err(attributesError(b));
  out.push(attributeParams(a), notifyDelay(a, 10.2, 10, 30), notifyDelay(a, 11, 10, 3), notifyDelay(a, 11, 10, 30));
  out.push(formatText(FLOAT, 59.5), formatText(BOOLEAN, true), formatText(INTEGER, -7), parseText(INTEGER, '-42'), parseText(FLOAT, '1.5e2'), parseText(BOOLEAN, '2'), parseText(STRING, '\u00c3\u009f'));
  out.push(checkWrite(3311, 5851, 50));
  err(checkWrite(3311, 5851, 101));
  err(checkWrite(3311, 5805, 1));
  err(checkWrite(3311, 5850, 'on'));
  return { values: out, errors: errors };
}
