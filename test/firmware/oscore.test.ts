/**
 * The lamp with `--security oscore` (firmware/security.ts): a state change happens only when the
 * request verified under the lamp's context, whatever address it claims to come from; its answer
 * goes back protected; forged, replayed and tampered requests are answered 4.01, dropped with their
 * reason, and change nothing; the replay floor survives a reboot.
 */
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CHANGED, CON, CONTENT, GET, PUT, UNAUTHORIZED, coapReader, readCoap } from '../../protocol/coap.js';
import { usePrimitives } from '../../protocol/oscore/crypto.js';
import type { SecurityContext } from '../../protocol/oscore/context.js';
import { gatewayContext, lampContext, lampSecret } from '../../protocol/oscore/fleet.js';
import { oscore, protectRequest, unprotectResponse } from '../../protocol/oscore/message.js';
import { nodePrimitives } from '../../protocol/oscore/node-primitives.js';
import { boot } from '../../firmware/core.js';
import { createLamp, defaultConfig, type LampState } from '../../firmware/lamp.js';
import { emitCoap, parseCoap, type CoapMessage } from '../helpers/coap-message.js';
import { FakeHal, GATEWAY, STRANGER, deliver, deliverBytes, requestMessage, text, type Request } from './fake-hal.js';

const FLEET = new Uint8Array(32).map((_, i) => i * 3 + 1);
const ID = '7';

/** The fake HAL with the lamp's OSCORE context, and what it persisted. */
class SecureHal extends FakeHal {
  ctx: SecurityContext | null = lampContext(lampSecret(FLEET, ID), ID, 0, 0);
  persisted: { seqBound: number; floor: number }[] = [];
  security(): SecurityContext | null {
    return this.ctx;
  }
  saveSecurity(_lamp: LampState, ctx: SecurityContext): void {
    this.persisted.push({ seqBound: ctx.seqBound, floor: ctx.high + 1 });
  }
}

let hal: SecureHal;
let lamp: LampState;
let gw: SecurityContext;
const o = oscore();
const r = coapReader();

beforeAll(() => usePrimitives(nodePrimitives));

beforeEach(() => {
  hal = new SecureHal();
  hal.gatewayAddr = null;
  lamp = createLamp(defaultConfig(ID), 7);
  boot(hal, lamp);
  gw = gatewayContext(FLEET, ID, 0, 0);
});

/** `req` protected by the gateway's context (its sequence number in o.piv afterwards). */
function sealed(req: Request, ctx = gw): Uint8Array {
  const plain = emitCoap(requestMessage(req));
  readCoap(r, plain, 0, plain.length);
  const out = new Uint8Array(1024);
  const len = protectRequest(o, ctx, r, out, 0);
  expect(len, o.error).toBeGreaterThan(0);
  return out.slice(0, len);
}

/** Delivers protected bytes from `from` and returns the lamp's single reply and the drop reason. */
function send(bytes: Uint8Array, from = GATEWAY): { reply: CoapMessage; raw: Uint8Array; dropped: string | null } {
  const before = hal.sent.length;
  const dropped = deliverBytes(hal, lamp, bytes, from, 5683);
  const replies = hal.sentSince(before);
  expect(replies).toHaveLength(1);
  return { reply: replies[0].msg, raw: emitCoap(replies[0].msg), dropped };
}

/** The plain response inside a protected reply to the request protected with Partial IV `piv`. */
function opened(raw: Uint8Array, piv: number): CoapMessage {
  readCoap(r, raw, 0, raw.length);
  const out = new Uint8Array(1024);
  const len = unprotectResponse(o, gw, r, piv, out, 0);
  expect(len, o.error).toBeGreaterThan(0);
  return parseCoap(out.slice(0, len))!;
}

const switchOff: Request = { type: CON, code: PUT, path: '3311/0/5850', payload: '0' };

describe('a lamp with --security oscore', () => {
  it('obeys a protected PUT and answers it protected, from any source address', () => {
    const { reply, raw, dropped } = send(sealed(switchOff), STRANGER);
    expect(dropped).toBeNull();
    expect(lamp.on).toBe(0);
    // Outside it looks like any protected response (2.04, the OSCORE option); inside it is 2.04 Changed.
    expect(reply.options.some((opt) => opt.num === 9)).toBe(true);
    expect(opened(raw, o.piv).code).toBe(CHANGED);
  });

  it('refuses an unprotected PUT with 4.01, even from the gateway address', () => {
    const { replies } = deliver(hal, lamp, { ...switchOff, from: GATEWAY });
    expect(replies.map((s) => s.msg.code)).toEqual([UNAUTHORIZED]);
    expect(lamp.on).toBe(1);
  });

  it('serves an unprotected read in the clear, and a protected read protected', () => {
    const { replies } = deliver(hal, lamp, { code: GET, path: '3311/0/5850' });
    expect(text(replies[0].msg.payload)).toBe('1');
    const { raw } = send(sealed({ code: GET, path: '3311/0/5850' }));
    const answer = opened(raw, o.piv);
    expect([answer.code, text(answer.payload)]).toEqual([CONTENT, '1']);
  });

  it('refuses a replayed protected PUT with 4.01, drops it with its reason and does not execute it again', () => {
    const off = sealed(switchOff);
    send(off);
    send(sealed({ ...switchOff, payload: '1' }));
    expect(lamp.on).toBe(1);
    const { reply, dropped } = send(off);
    expect(reply.code).toBe(UNAUTHORIZED);
    expect(dropped).toMatch(/replayed/);
    expect(lamp.on).toBe(1);
  });

  it('refuses a PUT protected for another lamp, or tampered with, and changes nothing', () => {
    const other = gatewayContext(FLEET, '8', 0, 0);
    expect(send(sealed(switchOff, other)).dropped).toMatch(/authentication failed/);
    const bytes = sealed(switchOff);
    bytes[bytes.length - 1] ^= 1;
    expect(send(bytes).dropped).toMatch(/authentication failed/);
    expect(lamp.on).toBe(1);
    expect(hal.ctx!.high).toBe(-1);
  });

  it('persists its replay floor after each change, so a request from before a reboot is refused after it', () => {
    const off = sealed(switchOff);
    send(off);
    expect(hal.persisted.at(-1)).toEqual({ seqBound: 0, floor: 1 });
    // Power cycle: the platform boots the lamp with a context from what it persisted.
    hal.ctx = lampContext(lampSecret(FLEET, ID), ID, hal.persisted.at(-1)!.seqBound, hal.persisted.at(-1)!.floor);
    boot(hal, lamp);
    const { reply, dropped } = send(off);
    expect([reply.code, dropped]).toEqual([UNAUTHORIZED, expect.stringMatching(/below the replay window/)]);
    expect(send(sealed({ ...switchOff, payload: '1' })).dropped).toBeNull();
  });
});

describe('a lamp with --security none', () => {
  it('takes state changes from trusted addresses only, as before', () => {
    hal.ctx = null;
    expect(deliver(hal, lamp, { ...switchOff, from: STRANGER }).replies[0].msg.code).toBe(131);
    expect(deliver(hal, lamp, { ...switchOff, from: GATEWAY }).replies[0].msg.code).toBe(CHANGED);
    expect(lamp.on).toBe(0);
  });
});
