import { beforeEach, describe, expect, it } from 'vitest';
import { ACK, ACK_RANDOM_FACTOR, ACK_TIMEOUT, CHANGED, CON, CREATED, DELETE, DELETED, MAX_AGE, MAX_RETRANSMIT, NOT_FOUND, POST, PUT, SERVICE_UNAVAILABLE } from '../../protocol/coap.js';
import { registrationObjects } from '../../protocol/lwm2m/link.js';
import { parseRegisterQuery } from '../../protocol/lwm2m/registration.js';
import { emitCoap, type CoapMessage } from '../helpers/coap-message.js';
import { boot, command, receive, shutdown, unreachable } from '../../firmware/core.js';
import { createLamp, defaultConfig, type LampConfig, type LampState } from '../../firmware/lamp.js';
import { MAX_AGE_DEFAULT_S, REFRESH_FRACTION, RETRY_BASE_MS, RETRY_MAX_MS } from '../../firmware/registration.js';
import { FakeHal, GATEWAY, STRANGER, deliver, gatewayAnswer, optionUint, optionValues, prng, text, uintBytes } from './fake-hal.js';

let hal: FakeHal;
let lamp: LampState;

function start(config: Partial<LampConfig> = {}, fixedRandom: number | null = null): void {
  hal = new FakeHal();
  hal.fixedRandom = fixedRandom;
  lamp = createLamp({ ...defaultConfig('7'), groups: 'north', ...config }, 7);
  boot(hal, lamp);
}

const toGateway = () => hal.sent.filter((s) => s.to === GATEWAY);
const lastToGateway = (): CoapMessage => toGateway().at(-1)!.msg;

const LOCATION = [{ num: 8, value: new TextEncoder().encode('rd') }, { num: 8, value: new TextEncoder().encode('k2') }];

/** Boots, lets the first registration go out and accepts it at /rd/k2. */
function registered(): void {
  start();
  hal.advance(lamp, 0);
  expect(gatewayAnswer(hal, lamp, lastToGateway(), CREATED, LOCATION)).toBeNull();
}

beforeEach(() => start());

describe('registration', () => {
  it('registers with POST /rd?ep=<id>&lt=<lifetime>&lwm2m=1.1&b=U and its objects in link format after the boot jitter', () => {
    start({ bootJitterMs: 10_000 }, 0.5);
    hal.advance(lamp, 4999);
    expect(toGateway()).toEqual([]);
    hal.advance(lamp, 1);
    const [{ msg, port }] = toGateway();
    expect(port).toBe(5683);
    expect(msg.type).toBe(CON);
    expect(msg.code).toBe(POST);
    expect(optionValues(msg, 11)).toEqual(['rd']);
    expect(optionValues(msg, 15)).toEqual(['ep=7', 'lt=300', 'lwm2m=1.1', 'b=U']);
    expect(parseRegisterQuery(optionValues(msg, 15))).toMatchObject({ ep: '7', lifetimeS: 300, version: '1.1', binding: 'U' });
    expect(optionUint(msg, 12)).toBe(40);
    expect(text(msg.payload)).toBe('</>;rt="oma.lwm2m";ct="110 11542",</1/0>,</3/0>,</3305/0>,</3311/0>,</32311/0>');
    expect(registrationObjects(text(msg.payload))).toMatchObject({ root: '', formats: [110, 11542] });
  });

  it('refreshes before the lifetime ends with an Update, POST at the Location-Path it was given, no payload', () => {
    registered();
    const sent = toGateway().length;
    const refreshAt = 300_000 * REFRESH_FRACTION;
    hal.advance(lamp, refreshAt - 1);
    expect(toGateway().length).toBe(sent);
    hal.advance(lamp, 1);
    const msg = lastToGateway();
    expect(msg.code).toBe(POST);
    expect(optionValues(msg, 11)).toEqual(['rd', 'k2']);
    expect(optionValues(msg, 15)).toEqual([]);
    expect(msg.payload).toHaveLength(0);
  });

  it('keeps refreshing every time the gateway answers 2.04', () => {
    registered();
    for (let i = 0; i < 3; i++) {
      hal.advance(lamp, 300_000 * REFRESH_FRACTION);
      expect(gatewayAnswer(hal, lamp, lastToGateway(), CHANGED)).toBeNull();
    }
    expect(toGateway().map((s) => optionValues(s.msg, 11).join('/'))).toEqual(['rd', 'rd/k2', 'rd/k2', 'rd/k2']);
  });

  it('sends an Update at once when the server executes the Registration Update Trigger /1/0/8', () => {
    registered();
    const { replies } = deliver(hal, lamp, { code: POST, path: '1/0/8', from: GATEWAY });
    expect(replies.map((s) => s.msg.code)).toEqual([CHANGED]);
    hal.advance(lamp, 0);
    expect(lastToGateway().code).toBe(POST);
    expect(optionValues(lastToGateway(), 11)).toEqual(['rd', 'k2']);
  });

  it('sends an Update with lt= when the server writes a new lifetime /1/0/1, and refreshes by it', () => {
    registered();
    const { replies } = deliver(hal, lamp, { code: PUT, path: '1/0/1', from: GATEWAY, options: [{ num: 12, value: new Uint8Array(0) }], payload: '120' });
    expect(replies.map((s) => s.msg.code)).toEqual([CHANGED]);
    hal.advance(lamp, 0);
    const update = lastToGateway();
    expect(optionValues(update, 11)).toEqual(['rd', 'k2']);
    expect(optionValues(update, 15)).toEqual(['lt=120']);
    gatewayAnswer(hal, lamp, update, CHANGED);
    const sent = toGateway().length;
    hal.advance(lamp, 120_000 * REFRESH_FRACTION);
    expect(toGateway().length).toBe(sent + 1);
    expect(optionValues(lastToGateway(), 15)).toEqual([]);
  });

  it('de-registers with DELETE at its Location-Path on shutdown', () => {
    registered();
    shutdown(hal, lamp);
    const msg = lastToGateway();
    expect(msg).toMatchObject({ type: CON, code: DELETE });
    expect(optionValues(msg, 11)).toEqual(['rd', 'k2']);
    expect(gatewayAnswer(hal, lamp, msg, DELETED)).toMatch(/matches no exchange/);
    expect(lamp.reg).toBe(0);
    hal.advance(lamp, 3600_000);
    expect(lastToGateway()).toBe(msg);
  });

  it('takes a 2.01 without a usable Location-Path as a failure and registers again later', () => {
    start({}, 0);
    hal.advance(lamp, 0);
    gatewayAnswer(hal, lamp, lastToGateway(), CREATED, [{ num: 8, value: new Uint8Array([0xff]) }]);
    expect(lamp.reg).toBe(0);
  });

  it('retransmits with RFC 7252 exponential backoff and gives up after MAX_RETRANSMIT', () => {
    hal.advance(lamp, 0);
    const first = toGateway()[0];
    hal.advance(lamp, 200_000);
    const tries = toGateway().filter((s) => s.msg.mid === first.msg.mid);
    expect(tries).toHaveLength(1 + MAX_RETRANSMIT);
    const gaps = tries.slice(1).map((s, i) => s.at - tries[i].at);
    expect(gaps[0]).toBeGreaterThanOrEqual(ACK_TIMEOUT);
    expect(gaps[0]).toBeLessThanOrEqual(ACK_TIMEOUT * ACK_RANDOM_FACTOR);
    expect(gaps.slice(1)).toEqual([2, 4, 8].map((k) => gaps[0] * k));
    const next = toGateway().find((s) => s.msg.mid !== first.msg.mid)!;
    const gaveUpAt = tries.at(-1)!.at + 16 * gaps[0];
    expect(next.at - gaveUpAt).toBeGreaterThanOrEqual(RETRY_BASE_MS);
    expect(next.at - gaveUpAt).toBeLessThanOrEqual(RETRY_BASE_MS * 1.5);
    expect(optionValues(next.msg, 15)[0]).toBe('ep=7');
  });

  it('doubles the wait between failed registrations up to RETRY_MAX_MS', () => {
    start({}, 0);
    hal.advance(lamp, 3 * 3600_000);
    const starts = [...new Set(toGateway().map((s) => s.msg.mid))].map((mid) => toGateway().find((s) => s.msg.mid === mid)!.at);
    const exchange = 31 * ACK_TIMEOUT;
    const waits = starts.slice(1).map((at, i) => at - starts[i] - exchange);
    expect(waits.slice(0, 8)).toEqual([10, 20, 40, 80, 160, 320, 600, 600].map((s) => s * 1000));
    expect(Math.max(...waits)).toBe(RETRY_MAX_MS);
  });

  it('sends no Update for a state change: servers observe the state', () => {
    registered();
    const sent = toGateway().length;
    command(hal, lamp, { level: 40 });
    expect(toGateway().length).toBe(sent);
  });

  it('registers again at once when the gateway answers an Update with 4.04, and uses the new location', () => {
    registered();
    hal.advance(lamp, 300_000 * REFRESH_FRACTION);
    gatewayAnswer(hal, lamp, lastToGateway(), NOT_FOUND);
    const msg = lastToGateway();
    expect(optionValues(msg, 11)).toEqual(['rd']);
    expect(optionValues(msg, 15)).toEqual(['ep=7', 'lt=300', 'lwm2m=1.1', 'b=U']);
    gatewayAnswer(hal, lamp, msg, CREATED, [{ num: 8, value: new TextEncoder().encode('rd') }, { num: 8, value: new TextEncoder().encode('z9') }]);
    hal.advance(lamp, 300_000 * REFRESH_FRACTION);
    expect(optionValues(lastToGateway(), 11)).toEqual(['rd', 'z9']);
  });

  it('backs off and registers again when the gateway answers with an error', () => {
    registered();
    hal.advance(lamp, 300_000 * REFRESH_FRACTION);
    const failedAt = hal.t;
    gatewayAnswer(hal, lamp, lastToGateway(), 160);
    expect(lamp.reg).toBe(0);
    const sent = toGateway().length;
    hal.advance(lamp, RETRY_BASE_MS * 1.5);
    expect(toGateway().length).toBe(sent + 1);
    expect(optionValues(lastToGateway(), 11)).toEqual(['rd']);
    expect(toGateway().at(-1)!.at - failedAt).toBeGreaterThanOrEqual(RETRY_BASE_MS);
  });

  it('asks again after the Max-Age of a 5.03, jittered up to half again, and not before', () => {
    const waits: number[] = [];
    for (let seed = 1; seed <= 40; seed++) {
      start();
      hal.rng = prng(seed);
      hal.advance(lamp, 0);
      const answeredAt = hal.t;
      gatewayAnswer(hal, lamp, lastToGateway(), SERVICE_UNAVAILABLE, [{ num: MAX_AGE, value: uintBytes(30) }]);
      hal.advance(lamp, 30_000 - 1);
      expect(toGateway()).toHaveLength(1);
      hal.advance(lamp, 15_000);
      expect(toGateway().length).toBeGreaterThanOrEqual(2);
      expect(optionValues(toGateway()[1].msg, 15)[0]).toBe('ep=7');
      waits.push(toGateway()[1].at - answeredAt);
    }
    // Spread over the window, not bunched at its start.
    expect(Math.min(...waits)).toBeLessThan(33_000);
    expect(Math.max(...waits)).toBeGreaterThan(40_000);
  });

  it('waits the default Max-Age of 60 s after a 5.03 without one', () => {
    start({}, 0);
    hal.advance(lamp, 0);
    gatewayAnswer(hal, lamp, lastToGateway(), SERVICE_UNAVAILABLE);
    hal.advance(lamp, MAX_AGE_DEFAULT_S * 1000 - 1);
    expect(toGateway()).toHaveLength(1);
    hal.advance(lamp, 1);
    expect(toGateway()).toHaveLength(2);
  });

  it('keeps its registration through a 5.03 to an Update and sends the Update again after Max-Age', () => {
    registered();
    hal.fixedRandom = 0;
    hal.advance(lamp, 300_000 * REFRESH_FRACTION);
    gatewayAnswer(hal, lamp, lastToGateway(), SERVICE_UNAVAILABLE, [{ num: MAX_AGE, value: uintBytes(5) }]);
    expect(lamp.reg).toBe(1);
    const sent = toGateway().length;
    hal.advance(lamp, 5000);
    expect(toGateway()).toHaveLength(sent + 1);
    expect(optionValues(lastToGateway(), 11)).toEqual(['rd', 'k2']);
  });

  it('takes an ICMPv6 Destination Unreachable quoting its Register as a failed exchange and backs off', () => {
    start({}, 0);
    hal.advance(lamp, 0);
    const first = toGateway()[0];
    const quoted = emitCoap(first.msg);
    expect(unreachable(hal, lamp, GATEWAY, 5683, quoted, quoted.length)).toBe(true);
    // No retransmission of the failed request: the next is a new Register after RETRY_BASE_MS.
    hal.advance(lamp, RETRY_BASE_MS - 1);
    expect(toGateway()).toHaveLength(1);
    hal.advance(lamp, 1);
    expect(toGateway()).toHaveLength(2);
    expect(toGateway()[1].msg.mid).not.toBe(first.msg.mid);
    // A second one doubles the wait, as a second timeout would.
    const second = emitCoap(toGateway()[1].msg);
    unreachable(hal, lamp, GATEWAY, 5683, second, second.length);
    hal.advance(lamp, 2 * RETRY_BASE_MS - 1);
    expect(toGateway()).toHaveLength(2);
    hal.advance(lamp, 1);
    expect(toGateway()).toHaveLength(3);
  });

  it('ignores an ICMPv6 error about another datagram, another address or port, or too short to name one', () => {
    start({}, 0);
    hal.advance(lamp, 0);
    const quoted = emitCoap(toGateway()[0].msg);
    const older = quoted.slice();
    older[3] ^= 1;
    expect(unreachable(hal, lamp, GATEWAY, 5683, older, older.length)).toBe(false);
    expect(unreachable(hal, lamp, STRANGER, 5683, quoted, quoted.length)).toBe(false);
    expect(unreachable(hal, lamp, GATEWAY, 5684, quoted, quoted.length)).toBe(false);
    expect(unreachable(hal, lamp, GATEWAY, 5683, quoted, 3)).toBe(false);
    // The exchange goes on: its first retransmission is sent at ACK_TIMEOUT.
    hal.advance(lamp, ACK_TIMEOUT);
    expect(toGateway().map((s) => s.msg.mid)).toEqual([toGateway()[0].msg.mid, toGateway()[0].msg.mid]);
  });

  it('joins its multicast groups at boot', () => {
    start({ groups: 'north, park,,' });
    expect(hal.joined).toEqual(['north', 'park']);
  });

  it('stops retransmitting after an empty ACK and takes the separate response', () => {
    hal.advance(lamp, 0);
    const request = lastToGateway();
    const emptyAck = emitCoap({ type: ACK, code: 0, mid: request.mid, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) });
    expect(receive(hal, lamp, GATEWAY, 5683, emptyAck, emptyAck.length)).toBeNull();
    hal.advance(lamp, 60_000);
    expect(toGateway()).toHaveLength(1);
    const separate = emitCoap({ type: CON, code: CREATED, mid: 999, token: request.token, options: LOCATION, payload: new Uint8Array(0) });
    expect(receive(hal, lamp, GATEWAY, 5683, separate, separate.length)).toBeNull();
    expect(lastToGateway()).toMatchObject({ type: ACK, code: 0, mid: 999 });
    expect(lamp.reg).toBe(1);
  });

  it('ignores an answer from an address other than the gateway', () => {
    hal.advance(lamp, 0);
    const request = lastToGateway();
    const ack = emitCoap({ type: ACK, code: CREATED, mid: request.mid, token: request.token, options: [], payload: new Uint8Array(0) });
    expect(receive(hal, lamp, 'impostor', 5683, ack, ack.length)).toMatch(/matches no exchange/);
    expect(lamp.reg).toBe(0);
  });

  it('runs standalone, sending nothing, when no gateway is configured', () => {
    hal = new FakeHal();
    hal.gatewayAddr = null;
    lamp = createLamp(defaultConfig('7'), 7);
    boot(hal, lamp);
    hal.advance(lamp, 24 * 3600_000);
    command(hal, lamp, { on: false });
    expect(hal.sent).toEqual([]);
    expect(lamp.ex).toBeNull();
  });

  it('keeps its dusk-to-dawn schedule while the gateway does not answer', () => {
    start({ lat: 52.52, lon: 13.4 });
    hal.advance(lamp, 2 * 24 * 3600_000);
    expect(hal.lights.filter((l) => l.level === 100).length).toBeGreaterThanOrEqual(2);
    expect(hal.lights.filter((l) => l.level === 0).length).toBeGreaterThanOrEqual(2);
    expect(toGateway().length).toBeGreaterThan(5);
  });

  it('holds nothing per lamp once registered and idle', () => {
    registered();
    expect(lamp.ex).toBeNull();
  });
});
