/**
 * Keys from a fleet secret (protocol/oscore/fleet.ts): each lamp's Master Secret is HKDF of the
 * fleet secret and its id, the gateway derives the same context from the fleet secret alone, and
 * the two sides then speak OSCORE both ways; a lamp's secret opens nothing of another lamp's.
 */
import { hkdfSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { CON, POST, PUT, URI_PATH, URI_QUERY, coapReader, coapWriter, readCoap, writeBegin, writeEnd, writeOption, writePayload } from '../../protocol/coap.js';
import { usePrimitives } from '../../protocol/oscore/crypto.js';
import { gatewayContext, lampContext, lampSecret, parseSecret, requestLampId } from '../../protocol/oscore/fleet.js';
import { oscore, protectRequest, readOscore, unprotectRequest } from '../../protocol/oscore/message.js';
import { nodePrimitives } from '../../protocol/oscore/node-primitives.js';
import { bytes, hex } from './oscore-vectors.js';

beforeAll(() => usePrimitives(nodePrimitives));

const FLEET = bytes('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
const o = oscore();
const r = coapReader();
const out = new Uint8Array(1024);

function message(code: number, path: string[], query: string[], payload: string): Uint8Array {
  const w = coapWriter();
  const buf = new Uint8Array(512);
  writeBegin(w, buf, 0, CON, code, 7, new Uint8Array([9, 9]), 0, 2);
  for (const seg of path) writeOption(w, URI_PATH, seg);
  for (const q of query) writeOption(w, URI_QUERY, q);
  writePayload(w, payload);
  return buf.slice(0, writeEnd(w));
}

function read(b: Uint8Array): typeof r {
  expect(readCoap(r, b, 0, b.length), r.error).toBe(true);
  return r;
}

describe('keys from a fleet secret', () => {
  it("derive a lamp's Master Secret as Node's own HKDF-SHA-256 does, different for every lamp", () => {
    const ref = (id: string): string => Buffer.from(hkdfSync('sha256', FLEET, new Uint8Array(0), 'lampnet oscore ' + id, 16)).toString('hex');
    expect(hex(lampSecret(FLEET, '42'))).toBe(ref('42'));
    expect(hex(lampSecret(FLEET, 'esp-1'))).toBe(ref('esp-1'));
    expect(hex(lampSecret(FLEET, '42'))).not.toBe(hex(lampSecret(FLEET, '43')));
  });

  it("let the gateway command a lamp from the fleet secret alone, and the lamp verify it with its own secret", () => {
    const gw = gatewayContext(FLEET, '42', 0, 0);
    const lamp = lampContext(lampSecret(FLEET, '42'), '42', 0, 0);
    const plain = message(PUT, ['3311', '0', '5850'], [], '1');
    const len = protectRequest(o, gw, read(plain), out, 0);
    // A command names no kid context: the lamp has one context. Its option is flags, PIV, no kid byte.
    expect(readOscore(o, read(out.slice(0, len)))).toBe(true);
    expect([o.opt.ctxLen, o.opt.kidLen]).toEqual([-1, 0]);
    expect(hex(out, unprotectRequest(o, lamp, read(out.slice(0, len)), out, 0))).toBe(hex(plain));
  });

  it("let the gateway find a registering lamp's context from the lamp id its request names, and verify it", () => {
    const lamp = lampContext(lampSecret(FLEET, 'esp-1'), 'esp-1', 0, 0);
    const plain = message(POST, ['rd'], ['ep=esp-1', 'lt=300', 'lwm2m=1.1'], '</3311/0>');
    const sent = out.slice(0, protectRequest(o, lamp, read(plain), out, 0));
    expect(readOscore(o, read(sent))).toBe(true);
    const id = requestLampId(o.opt, sent);
    expect(id).toBe('esp-1');
    const gw = gatewayContext(FLEET, id!, 0, 0);
    expect(hex(out, unprotectRequest(o, gw, read(sent), out, 0))).toBe(hex(plain));
  });

  it("refuse a command protected for another lamp or under another fleet secret", () => {
    const lamp = lampContext(lampSecret(FLEET, '42'), '42', 0, 0);
    const plain = message(PUT, ['3311', '0', '5850'], [], '1');
    const other = FLEET.slice();
    other[0] ^= 1;
    for (const gw of [gatewayContext(FLEET, '43', 0, 0), gatewayContext(other, '42', 0, 0)]) {
      const sent = out.slice(0, protectRequest(o, gw, read(plain), out, 0));
      expect(unprotectRequest(o, lamp, read(sent), out, 0)).toBe(-1);
      expect(o.error).toMatch(/authentication failed/);
      expect(lamp.high).toBe(-1);
    }
  });

  it('read a secret written as hex, and refuse a short or malformed one', () => {
    expect(hex(parseSecret('000102030405060708090A0B0C0D0E0F')!)).toBe('000102030405060708090a0b0c0d0e0f');
    expect(parseSecret('0001020304050607')).toBeNull();
    expect(parseSecret('000102030405060708090a0b0c0d0e0g')).toBeNull();
    expect(parseSecret('000102030405060708090a0b0c0d0e0f0')).toBeNull();
  });
});
