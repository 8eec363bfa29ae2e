/**
 * SenML JSON as LwM2M 1.1 uses it (protocol/lwm2m/senml.ts): the TS's Device object example read
 * and written back, every value field, and payloads that must be refused.
 */
import { describe, expect, it } from 'vitest';
import { BOOLEAN, FLOAT, INTEGER, OBJLNK, OPAQUE, STRING, TIME, type Lwm2mValue } from '../../protocol/lwm2m/objects.js';
import { MAX_SENML_RECORDS, base64url, fromBase64, readSenml, senmlRecord } from '../../protocol/lwm2m/senml.js';

/** The LwM2M 1.1 TS's SenML JSON answer to Read /3/0 (§7.4.4), as one line. */
const DEVICE = [
  '{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"}', '{"n":"1","vs":"Lightweight M2M Client"}', '{"n":"2","vs":"345000123"}',
  '{"n":"3","vs":"1.0"}', '{"n":"6/0","v":1}', '{"n":"6/1","v":5}', '{"n":"7/0","v":3800}', '{"n":"7/1","v":5000}',
  '{"n":"8/0","v":125}', '{"n":"8/1","v":900}', '{"n":"9","v":100}', '{"n":"10","v":15}', '{"n":"11/0","v":0}',
  '{"n":"13","v":1367491215}', '{"n":"14","vs":"+02:00"}', '{"n":"16","vs":"U"}',
];
const DEVICE_VALUES: [string, number, Lwm2mValue][] = [
  ['0', STRING, 'Open Mobile Alliance'], ['1', STRING, 'Lightweight M2M Client'], ['2', STRING, '345000123'], ['3', STRING, '1.0'],
  ['6/0', INTEGER, 1], ['6/1', INTEGER, 5], ['7/0', INTEGER, 3800], ['7/1', INTEGER, 5000], ['8/0', INTEGER, 125], ['8/1', INTEGER, 900],
  ['9', INTEGER, 100], ['10', INTEGER, 15], ['11/0', INTEGER, 0], ['13', TIME, 1367491215], ['14', STRING, '+02:00'], ['16', STRING, 'U'],
];

const latin1 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');

describe('SenML JSON', () => {
  it('reads the TS example of Read /3/0 with its base name carried to every record', () => {
    const values = readSenml('[' + DEVICE.join(',') + ']');
    expect(values).toEqual(DEVICE_VALUES.map(([n, , value]) => ({ obj: 3, inst: 0, res: +n.split('/')[0], ri: n.includes('/') ? +n.split('/')[1] : -1, value: value })));
  });

  it('writes the same records, one at a time', () => {
    expect(DEVICE_VALUES.map(([n, type, value], i) => senmlRecord(i ? '' : '/3/0/', n, type, value))).toEqual(DEVICE);
  });

  it.each([
    ['a boolean', BOOLEAN, true, '"vb":true'],
    ['a float', FLOAT, 12.345, '"v":12.345'],
    ['a negative integer', INTEGER, -7, '"v":-7'],
    ['a string beyond ASCII as ASCII JSON', STRING, 'Straße "7"', '"vs":"Stra\\u00DFe \\"7\\""'],
    ['opaque bytes in base64url', OPAQUE, '\u00fb\u00ff\u0001', '"vd":"-_8B"'],
    ['an Objlnk', OBJLNK, '3311:0', '"vlo":"3311:0"'],
  ])('writes and reads back %s', (_what, type, value, field) => {
    const record = senmlRecord('/3311/0/', '5850', type, value);
    expect(record).toBe('{"bn":"/3311/0/","n":"5850",' + field + '}');
    expect(/^[\x20-\x7e]*$/.test(record)).toBe(true);
    expect(readSenml(latin1('[' + record + ']'))).toEqual([{ obj: 3311, inst: 0, res: 5850, ri: -1, value: value }]);
  });

  it("takes 1 and 0 for a boolean, as the board's minifier writes true and false", () => {
    expect(senmlRecord('', '5850', BOOLEAN, 1)).toBe('{"n":"5850","vb":true}');
    expect(senmlRecord('', '5850', BOOLEAN, 0)).toBe('{"n":"5850","vb":false}');
  });

  it('gives no record for a value that is not of its type', () => {
    expect(senmlRecord('', '1', FLOAT, NaN)).toBe('');
    expect(senmlRecord('', '1', BOOLEAN, 2)).toBe('');
    expect(senmlRecord('', '1', STRING, 2)).toBe('');
    expect(senmlRecord('', '1', OBJLNK, '1:x')).toBe('');
  });

  it('reads a name given whole in n, a UTF-8 string, a base64 value with padding, and ignores t and bt', () => {
    const text = '[{"bt":25,"n":"/32311/0/0","vs":"Hauptstraße,北","t":-5},{"n":"/32311/0/99","vd":"+/8B/w=="}]';
    expect(readSenml(latin1(text))).toEqual([
      { obj: 32311, inst: 0, res: 0, ri: -1, value: 'Hauptstraße,北' },
      { obj: 32311, inst: 0, res: 99, ri: -1, value: '\u00fb\u00ff\u0001\u00ff' },
    ]);
  });

  it('encodes base64url without padding and decodes both alphabets', () => {
    for (let n = 0; n < 9; n++) {
      const bytes = String.fromCharCode(...Array.from({ length: n }, (_, k) => (k * 97 + 250) & 255));
      expect(base64url(bytes)).toBe(Buffer.from(bytes, 'latin1').toString('base64url'));
      expect(fromBase64(base64url(bytes))).toBe(bytes);
      expect(fromBase64(Buffer.from(bytes, 'latin1').toString('base64'))).toBe(bytes);
    }
    expect(fromBase64('abc=d')).toBeNull();
    expect(fromBase64('a')).toBeNull();
    expect(fromBase64('ab*c')).toBeNull();
  });

  it.each([
    ['not JSON', '[{"n":', 'not UTF-8 JSON'],
    ['not UTF-8', '[{"bn":"/3/0/","n":"0","vs":"\xff"}]', 'not UTF-8 JSON'],
    ['an object, not an array', '{"bn":"/3/0/0","v":1}', 'not an array'],
    ['an empty array', '[]', 'not an array'],
    ['a record that is a number', '[5]', 'not an object'],
    ['a record without a value', '[{"n":"/3311/0/5850"}]', 'no value'],
    ['a record with two values', '[{"n":"/3311/0/5850","v":1,"vb":true}]', 'more than one value'],
    ['a boolean in v', '[{"n":"/3311/0/5850","v":true}]', '"v" is not a number'],
    ['a number in vs', '[{"n":"/3311/0/5850","vs":1}]', '"vs" is not a string'],
    ['a number in n', '[{"n":5850,"v":1}]', '"n" is not a string'],
    ['a must-understand field', '[{"n":"/3311/0/5850","v":1,"x_":1}]', 'must be understood'],
    ['a name that is an object instance', '[{"n":"/3311/0","v":1}]', 'is not /obj/inst/res'],
    ['a name without leading slash', '[{"n":"3311/0/5850","v":1}]', 'is not /obj/inst/res'],
    ['a name with a leading zero', '[{"n":"/3311/00/5850","v":1}]', 'is not /obj/inst/res'],
    ['instance 65535', '[{"n":"/3311/65535/5850","v":1}]', 'is not /obj/inst/res'],
    ['an id past 65535', '[{"n":"/3311/0/65536","v":1}]', 'is not /obj/inst/res'],
    ['a base name carried into a wrong path', '[{"bn":"/3311/0","n":"5850","v":1}]', 'is not /obj/inst/res'],
    ['a number too large for a double', '[{"n":"/3311/0/5851","v":1e999}]', 'not finite'],
    ['vd that is not base64', '[{"n":"/3311/0/5851","vd":"**"}]', 'not base64'],
    ['vlo that is not obj:inst', '[{"n":"/3311/0/5851","vlo":"3:x"}]', 'not "obj:inst"'],
  ])('refuses %s', (_what, text, reason) => {
    const result = readSenml(text);
    expect(typeof result).toBe('string');
    expect(result).toContain(reason);
  });

  it('refuses more records than it reads, and huge payloads, without parsing them', () => {
    const record = '{"n":"/3311/0/5851","v":1}';
    expect(readSenml('[' + Array(MAX_SENML_RECORDS).fill(record).join(',') + ']')).toHaveLength(MAX_SENML_RECORDS);
    expect(readSenml('[' + Array(MAX_SENML_RECORDS + 1).fill(record).join(',') + ']')).toContain('not an array of 1-64 records');
    expect(readSenml('[' + ' '.repeat(1e6) + ']')).toContain('exceeds');
  });
});
