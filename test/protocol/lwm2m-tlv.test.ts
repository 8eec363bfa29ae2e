/**
 * The LwM2M TLV codec (protocol/lwm2m/tlv.ts) against the TS's own examples (OMA-TS-LightweightM2M
 * 1.0 §6.4.3.1 Device object instance, §6.4.3.2 Access Control instances, §6.4.3.3 Objlnk), round
 * trips of every type, and hostile payloads.
 */
import { describe, expect, it } from 'vitest';
import { BOOLEAN, FLOAT, INTEGER, OBJLNK, OPAQUE, STRING, TIME, UNSIGNED, type Lwm2mValue } from '../../protocol/lwm2m/objects.js';
import { TLV_MULTIPLE_RESOURCE, TLV_OBJECT_INSTANCE, TLV_RESOURCE, TLV_RESOURCE_INSTANCE, closeTlv, openTlv, readTlv, tlvReader, tlvValue, writeTlv } from '../../protocol/lwm2m/tlv.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();

/** The TS's Read /3/0 answer: 13 resources of the Device object, three of them multiple. */
const DEVICE = `
  C8 00 14 4F 70 65 6E 20 4D 6F 62 69 6C 65 20 41 6C 6C 69 61 6E 63 65
  C8 01 16 4C 69 67 68 74 77 65 69 67 68 74 20 4D 32 4D 20 43 6C 69 65 6E 74
  C8 02 09 33 34 35 30 30 30 31 32 33
  C3 03 31 2E 30
  86 06 41 00 01 41 01 05
  88 07 08 42 00 0E D8 42 01 13 88
  87 08 41 00 7D 42 01 03 84
  C1 09 64
  C1 0A 0F
  83 0B 41 00 00
  C4 0D 51 82 42 8F
  C6 0E 2B 30 32 3A 30 30
  C1 10 55`;

/** Each value of DEVICE as [resource, resource instance, type, value]. */
const DEVICE_VALUES: [number, number, number, Lwm2mValue][] = [
  [0, -1, STRING, 'Open Mobile Alliance'],
  [1, -1, STRING, 'Lightweight M2M Client'],
  [2, -1, STRING, '345000123'],
  [3, -1, STRING, '1.0'],
  [6, 0, INTEGER, 1],
  [6, 1, INTEGER, 5],
  [7, 0, INTEGER, 3800],
  [7, 1, INTEGER, 5000],
  [8, 0, INTEGER, 125],
  [8, 1, INTEGER, 900],
  [9, -1, INTEGER, 100],
  [10, -1, INTEGER, 15],
  [11, 0, INTEGER, 0],
  [13, -1, TIME, 1367491215],
  [14, -1, STRING, '+02:00'],
  [16, -1, STRING, 'U'],
];

function valuesOf(bytes: Uint8Array, types: number[]): unknown[][] {
  const r = tlvReader(32);
  expect(readTlv(r, bytes, 0, bytes.length), r.error).toBe(true);
  const out: unknown[][] = [];
  for (let i = 0; i < r.count; i++) out.push([r.inst[i], r.res[i], r.ri[i], tlvValue(r, i, types[i])]);
  return out;
}

/** The Device values written with the writers, in the TS's order and nesting. */
function writeDevice(buf: Uint8Array, pos: number): number {
  let i = 0;
  while (i < DEVICE_VALUES.length) {
    const [res, ri, type, value] = DEVICE_VALUES[i];
    if (ri < 0) {
      pos = writeTlv(buf, pos, TLV_RESOURCE, res, type, value);
      i++;
      continue;
    }
    const start = pos;
    pos = openTlv(buf, pos, TLV_MULTIPLE_RESOURCE, res);
    for (; i < DEVICE_VALUES.length && DEVICE_VALUES[i][0] === res; i++) pos = writeTlv(buf, pos, TLV_RESOURCE_INSTANCE, DEVICE_VALUES[i][1], DEVICE_VALUES[i][2], DEVICE_VALUES[i][3]);
    pos = closeTlv(buf, start, pos);
  }
  return pos;
}

describe('TLV against the TS examples', () => {
  it('reads the Device object instance of §6.4.3.1 value by value', () => {
    expect(valuesOf(hex(DEVICE), DEVICE_VALUES.map((v) => v[2]))).toEqual(DEVICE_VALUES.map(([res, ri, , value]) => [-1, res, ri, value]));
  });

  it('writes the same Device object instance byte for byte', () => {
    const buf = new Uint8Array(256);
    expect(toHex(buf.subarray(0, writeDevice(buf, 0)))).toBe(toHex(hex(DEVICE)));
  });

  it('wraps it in an object instance as the TS does for Read /3 (08 00 79, 121 bytes)', () => {
    const buf = new Uint8Array(256);
    const end = closeTlv(buf, 0, writeDevice(buf, openTlv(buf, 0, TLV_OBJECT_INSTANCE, 0)));
    expect(toHex(buf.subarray(0, end))).toBe('080079' + toHex(hex(DEVICE)));
    expect(valuesOf(buf.subarray(0, end), DEVICE_VALUES.map((v) => v[2]))[13]).toEqual([0, 13, -1, 1367491215]);
  });

  it('reads two Access Control object instances of §6.4.3.2, with a 16-bit resource instance id', () => {
    const bytes = hex('08 00 0E C1 00 01 C1 01 00 83 02 41 7F 07 C1 03 7F  08 02 12 C1 00 03 C1 01 00 87 02 41 7F 07 61 01 36 01 C1 03 7F');
    expect(valuesOf(bytes, Array(9).fill(INTEGER))).toEqual([
      [0, 0, -1, 1], [0, 1, -1, 0], [0, 2, 127, 7], [0, 3, -1, 127],
      [2, 0, -1, 3], [2, 1, -1, 0], [2, 2, 127, 7], [2, 2, 310, 1], [2, 3, -1, 127],
    ]);
  });

  it('reads Objlnk values, a 16-bit length-free integer and 0xFFFF:0xFFFF (§6.4.3.3)', () => {
    const bytes = hex('88 00 0C 44 00 00 42 00 00 44 01 00 42 00 01 C8 01 0D 38 36 31 33 38 30 30 37 35 35 35 30 30 C4 02 12 34 56 78');
    expect(valuesOf(bytes, [OBJLNK, OBJLNK, STRING, INTEGER])).toEqual([
      [-1, 0, 0, '66:0'], [-1, 0, 1, '66:1'], [-1, 1, -1, '8613800755500'], [-1, 2, -1, 0x12345678],
    ]);
    expect(valuesOf(hex('C4 02 FF FF FF FF'), [OBJLNK])).toEqual([[-1, 2, -1, '65535:65535']]);
  });
});

describe('TLV values', () => {
  it.each([
    ['a one-byte integer', INTEGER, -128, '80'],
    ['a two-byte integer', INTEGER, 128, '0080'],
    ['a negative two-byte integer', INTEGER, -129, 'FF7F'],
    ['a four-byte integer', INTEGER, 2147483647, '7FFFFFFF'],
    ['an eight-byte integer', INTEGER, -2147483649, 'FFFFFFFF7FFFFFFF'],
    ['the largest exact integer', INTEGER, 9007199254740991, '001FFFFFFFFFFFFF'],
    ['an unsigned integer of 255 in one byte', UNSIGNED, 255, 'FF'],
    ['a float exact in 4 bytes', FLOAT, 12.5, '41480000'],
    ['a float that needs 8 bytes', FLOAT, 12.34, '4028AE147AE147AE'],
    ['true', BOOLEAN, true, '01'],
    ['false', BOOLEAN, false, '00'],
    ['a string as UTF-8', STRING, 'Straße-北', '537472 61 C39F 652D E58C97'.replace(/ /g, '')],
    ['opaque bytes', OPAQUE, '\u0000\u00ff\u0010', '00FF10'],
    ['an Objlnk', OBJLNK, '3311:2', '0CEF0002'],
  ])('writes and reads back %s', (_what, type, value, valueHex) => {
    const buf = new Uint8Array(64);
    const end = writeTlv(buf, 0, TLV_RESOURCE, 5850, type, value);
    const r = tlvReader(4);
    expect(readTlv(r, buf, 0, end)).toBe(true);
    expect(toHex(buf.subarray(r.off[0], r.off[0] + r.len[0]))).toBe(valueHex);
    expect([r.res[0], tlvValue(r, 0, type)]).toEqual([5850, value]);
  });

  it("takes 1 and 0 for a boolean, as the board's minifier writes true and false", () => {
    const buf = new Uint8Array(8);
    expect(toHex(buf.subarray(0, writeTlv(buf, 0, TLV_RESOURCE, 1, BOOLEAN, 1)))).toBe('C10101');
    expect(toHex(buf.subarray(0, writeTlv(buf, 0, TLV_RESOURCE, 1, BOOLEAN, 0)))).toBe('C10100');
  });

  it('uses a 16-bit id, then 8-, 16- and 24-bit lengths as the value grows', () => {
    const buf = new Uint8Array(70000);
    writeTlv(buf, 0, TLV_RESOURCE, 300, STRING, 'x'.repeat(7));
    expect(toHex(buf.subarray(0, 3))).toBe('E7012C');
    writeTlv(buf, 0, TLV_RESOURCE, 3, STRING, 'x'.repeat(8));
    expect(toHex(buf.subarray(0, 3))).toBe('C80308');
    writeTlv(buf, 0, TLV_RESOURCE, 3, STRING, 'x'.repeat(256));
    expect(toHex(buf.subarray(0, 4))).toBe('D0030100');
    expect(writeTlv(buf, 0, TLV_RESOURCE, 3, STRING, 'x'.repeat(65536))).toBe(65536 + 5);
    expect(toHex(buf.subarray(0, 5))).toBe('D803010000');
  });

  it.each([
    ['a fraction as an integer', INTEGER, 1.5],
    ['a negative unsigned integer', UNSIGNED, -1],
    ['an integer past 2^53', INTEGER, 2 ** 60],
    ['NaN as a float', FLOAT, NaN],
    ['a number other than 1 or 0 as a boolean', BOOLEAN, 2],
    ['a malformed Objlnk', OBJLNK, '3311'],
    ['a number as a string', STRING, 5],
  ])('refuses to write %s', (_what, type, value) => {
    expect(writeTlv(new Uint8Array(16), 0, TLV_RESOURCE, 1, type, value as Lwm2mValue)).toBe(-1);
  });

  it.each([
    ['an integer of 3 bytes', INTEGER, 'C3 00 01 02 03'],
    ['a float of 2 bytes', FLOAT, 'C2 00 01 02'],
    ['a boolean of 2', BOOLEAN, 'C1 00 02'],
    ['a boolean of two bytes', BOOLEAN, 'C2 00 00 01'],
    ['a string that is not UTF-8', STRING, 'C2 00 C3 28'],
    ['an Objlnk of 3 bytes', OBJLNK, 'C3 00 00 01 02'],
  ])('reads %s as null', (_what, type, bytes) => {
    const r = tlvReader(4);
    expect(readTlv(r, hex(bytes), 0, hex(bytes).length)).toBe(true);
    expect(tlvValue(r, 0, type)).toBeNull();
  });

  it('reports a message that does not fit its buffer by a position past its end, writing nothing beyond', () => {
    const buf = new Uint8Array(8);
    const start = 0;
    let pos = openTlv(buf, start, TLV_OBJECT_INSTANCE, 0);
    pos = writeTlv(buf, pos, TLV_RESOURCE, 0, STRING, 'Open Mobile Alliance');
    expect(closeTlv(buf, start, pos)).toBeGreaterThan(buf.length);
  });
});

describe('hostile TLV', () => {
  it.each([
    ['a header cut short', 'C8 00', 'header'],
    ['a 16-bit id cut short', 'E1 01', 'header'],
    ['a value longer than the payload', 'C8 00 14 4F 70', 'overruns'],
    ['a 24-bit length of 16 MB', 'D8 00 FF FF FF 00', 'overruns'],
    ['a resource longer than its object instance', '08 00 03 C1 00 01 05', 'overruns'],
    ['an object instance inside an object instance', '08 00 05 08 01 02 C1 00', 'may not stand'],
    ['a resource inside a multiple resource', '86 06 C1 00 01 41 01 05', 'may not stand'],
    ['a multiple resource inside a multiple resource', '86 06 82 00 41 00 01 00', 'may not stand'],
    ['a resource instance directly in an object instance', '08 00 03 41 00 01', 'may not stand'],
  ])('refuses %s', (_what, bytes, reason) => {
    const r = tlvReader(8);
    const b = hex(bytes);
    expect(readTlv(r, b, 0, b.length)).toBe(false);
    expect(r.error).toContain(reason);
    expect(r.count).toBe(0);
  });

  it('accepts a resource instance at the top level (a payload for one multiple resource)', () => {
    expect(valuesOf(hex('41 00 01 41 01 05'), [INTEGER, INTEGER])).toEqual([[-1, -1, 0, 1], [-1, -1, 1, 5]]);
  });

  it('refuses more values than the reader holds', () => {
    const r = tlvReader(2);
    const b = hex('C1 00 01 C1 01 01 C1 02 01');
    expect(readTlv(r, b, 0, b.length)).toBe(false);
    expect(r.error).toContain('more than 2 values');
  });

  it('reads only its window of a larger buffer and refuses a window past the buffer', () => {
    const b = hex('FF C1 00 07 FF');
    const r = tlvReader(2);
    expect(readTlv(r, b, 1, 3)).toBe(true);
    expect(tlvValue(r, 0, INTEGER)).toBe(7);
    expect(readTlv(r, b, 3, 5)).toBe(false);
  });

  it('never throws and never reads past the payload on random bytes', () => {
    const r = tlvReader(16);
    let seed = 42;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 8) & 255;
    for (let n = 0; n < 20000; n++) {
      const len = rand() % 40;
      const b = new Uint8Array(len + 8).fill(0xee);
      for (let k = 0; k < len; k++) b[k] = rand();
      if (!readTlv(r, b, 0, len)) continue;
      for (let i = 0; i < r.count; i++) {
        expect(r.off[i] + r.len[i]).toBeLessThanOrEqual(len);
        for (const t of [STRING, INTEGER, FLOAT, BOOLEAN, OPAQUE, OBJLNK]) tlvValue(r, i, t);
      }
    }
  });
});
