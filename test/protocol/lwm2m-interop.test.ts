/**
 * TLV against an independent implementation: lwm2m-codec (npm, devDependency), which encodes and
 * decodes TLV with the IPSO/OMA resource types of lwm2m-id. Its own limits keep the cases within
 * what it gets right: single resources (it types a resource instance by its instance id as if it
 * were a resource id), floats of 4 bytes, non-negative 8-byte integers.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { DEVICE, LIGHT_CONTROL, resourceType } from '../../protocol/lwm2m/objects.js';
import { TLV_OBJECT_INSTANCE, TLV_RESOURCE, closeTlv, openTlv, readTlv, tlvReader, tlvValue, writeTlv } from '../../protocol/lwm2m/tlv.js';

interface Lwm2mCodec {
  encode(format: 'tlv', path: string, value: Record<string, unknown>): Buffer;
  decode(format: 'tlv', path: string, bytes: Buffer): Record<string, unknown>;
}
const codec = createRequire(import.meta.url)('lwm2m-codec') as Lwm2mCodec;

/** Our reading of a TLV payload of object `obj`: [inst, res, ri, value] per value. */
function ours(obj: number, bytes: Uint8Array): unknown[][] {
  const r = tlvReader(32);
  expect(readTlv(r, bytes, 0, bytes.length), r.error).toBe(true);
  const out: unknown[][] = [];
  for (let i = 0; i < r.count; i++) out.push([r.inst[i], r.res[i], r.ri[i], tlvValue(r, i, resourceType(obj, r.res[i]))]);
  return out;
}

describe('TLV with lwm2m-codec', () => {
  it('reads the Light Control instance lwm2m-codec writes', () => {
    const bytes = codec.encode('tlv', '/3311/0', { 5850: true, 5851: 80, 5852: 3600, 5805: 12.5, 5820: 0.75 });
    expect(ours(LIGHT_CONTROL, bytes).sort((a, b) => (a[1] as number) - (b[1] as number))).toEqual([
      [0, 5805, -1, 12.5], [0, 5820, -1, 0.75], [0, 5850, -1, true], [0, 5851, -1, 80], [0, 5852, -1, 3600],
    ]);
  });

  it('reads a Device instance with UTF-8 and an 8-byte integer that lwm2m-codec writes', () => {
    const bytes = codec.encode('tlv', '/3/0', { 0: 'Straße 北', 10: 2 ** 40 });
    expect(ours(DEVICE, bytes).sort((a, b) => (a[1] as number) - (b[1] as number))).toEqual([[0, 0, -1, 'Straße 北'], [0, 10, -1, 2 ** 40]]);
  });

  it('writes a Light Control instance that lwm2m-codec reads', () => {
    const buf = new Uint8Array(128);
    let pos = openTlv(buf, 0, TLV_OBJECT_INSTANCE, 0);
    pos = writeTlv(buf, pos, TLV_RESOURCE, 5850, resourceType(LIGHT_CONTROL, 5850), true);
    pos = writeTlv(buf, pos, TLV_RESOURCE, 5851, resourceType(LIGHT_CONTROL, 5851), 80);
    pos = writeTlv(buf, pos, TLV_RESOURCE, 5852, resourceType(LIGHT_CONTROL, 5852), 70000);
    pos = writeTlv(buf, pos, TLV_RESOURCE, 5805, resourceType(LIGHT_CONTROL, 5805), 1234.5);
    pos = closeTlv(buf, 0, pos);
    expect(codec.decode('tlv', '/3311/0', Buffer.from(buf.subarray(0, pos)))).toEqual({ onOff: true, dimmer: 80, onTime: 70000, cumulActivePwr: 1234.5 });
  });

  it('writes a Device instance with a long string (16-bit length) that lwm2m-codec reads', () => {
    const buf = new Uint8Array(512);
    let pos = openTlv(buf, 0, TLV_OBJECT_INSTANCE, 0);
    pos = writeTlv(buf, pos, TLV_RESOURCE, 0, resourceType(DEVICE, 0), 'lampnet ' + 'x'.repeat(300));
    pos = writeTlv(buf, pos, TLV_RESOURCE, 10, resourceType(DEVICE, 10), 2 ** 40);
    pos = closeTlv(buf, 0, pos);
    expect(codec.decode('tlv', '/3/0', Buffer.from(buf.subarray(0, pos)))).toEqual({ manuf: 'lampnet ' + 'x'.repeat(300), memFree: 2 ** 40 });
  });
});
