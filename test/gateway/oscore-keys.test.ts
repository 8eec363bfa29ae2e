/**
 * The gateway's OSCORE keys (gateway/lamps/security.ts): derived per lamp from the fleet secret, one
 * sequence counter for all lamps, persisted ahead so that a restarted gateway never repeats a
 * sequence number and its lamps carry on without re-keying.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CON, PUT, URI_PATH, coapReader, coapWriter, readCoap, writeBegin, writeEnd, writeOption, writePayload } from '../../protocol/coap.js';
import { usePrimitives } from '../../protocol/oscore/crypto.js';
import { lampContext, lampSecret } from '../../protocol/oscore/fleet.js';
import { oscore, unprotectRequest } from '../../protocol/oscore/message.js';
import { nodePrimitives } from '../../protocol/oscore/node-primitives.js';
import { GATEWAY_SEQUENCE_STEP, LampKeys } from '../../gateway/lamps/security.js';

const FLEET = new Uint8Array(16).fill(7);
let dir = '';
beforeAll(() => usePrimitives(nodePrimitives));
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

function put(): Uint8Array {
  const w = coapWriter();
  const buf = new Uint8Array(128);
  writeBegin(w, buf, 0, CON, PUT, 1, new Uint8Array([1, 2, 3, 4]), 0, 4);
  for (const seg of ['3311', '0', '5850']) writeOption(w, URI_PATH, seg);
  writePayload(w, '1');
  return buf.slice(0, writeEnd(w));
}

describe("the gateway's OSCORE keys", () => {
  it('never repeat a sequence number across a restart, and the lamp takes the restarted gateway\'s commands', () => {
    dir = mkdtempSync(join(tmpdir(), 'lampnet-oscore-keys-'));
    const file = join(dir, 'seq');
    const r = coapReader();
    const out = new Uint8Array(256);
    const o = oscore();
    const lamp = lampContext(lampSecret(FLEET, '9'), '9', 0, 0);
    const plain = put();
    const used: number[] = [];
    const send = (keys: LampKeys): void => {
      readCoap(r, plain, 0, plain.length);
      const sealed = keys.protect('9', r, out);
      used.push(sealed.piv);
      const bytes = out.slice(0, sealed.len);
      readCoap(r, bytes, 0, bytes.length);
      expect(unprotectRequest(o, lamp, r, new Uint8Array(256), 0), o.error).toBeGreaterThan(0);
    };
    const first = new LampKeys({ fleetSecret: FLEET, sequenceFile: file });
    for (let i = 0; i < 5; i++) send(first);
    // The bound went to the file before the first number was used.
    expect(Number(readFileSync(file, 'utf8'))).toBe(used[0] + GATEWAY_SEQUENCE_STEP);
    const restarted = new LampKeys({ fleetSecret: FLEET, sequenceFile: file });
    expect(restarted.nextSequence).toBeGreaterThan(Math.max(...used));
    for (let i = 0; i < 5; i++) send(restarted);
    expect(new Set(used).size).toBe(10);
  });

  it('start from the clock without a file, ahead of any earlier run that stayed under 4,000 requests a second', () => {
    const keys = new LampKeys({ fleetSecret: FLEET, sequenceFile: null });
    expect(keys.nextSequence).toBeGreaterThanOrEqual((Date.now() - 1000 - Date.UTC(2026, 0, 1)) * 4);
  });

  it('derive a context once per lamp and keep at most cacheSize of them', () => {
    const keys = new LampKeys({ fleetSecret: FLEET, sequenceFile: null, cacheSize: 2 });
    const a = keys.context('a');
    expect(keys.context('a')).toBe(a);
    keys.context('b');
    keys.context('c');
    expect(keys.context('a')).not.toBe(a);
  });
});
