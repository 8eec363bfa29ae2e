import { beforeEach, describe, expect, it } from 'vitest';
import { ACK, ACK_RANDOM_FACTOR, ACK_TIMEOUT, CHANGED, CON, CREATED, MAX_RETRANSMIT, NOT_FOUND, POST } from '../../protocol/coap.js';
import { emitCoap, type CoapMessage } from '../helpers/coap-message.js';
import { boot, command, receive } from '../../firmware/core.js';
import { createLamp, defaultConfig, type LampConfig, type LampState } from '../../firmware/lamp.js';
import { REFRESH_FRACTION, RETRY_BASE_MS, RETRY_MAX_MS } from '../../firmware/registration.js';
import { FakeHal, GATEWAY, gatewayAnswer, optionUint, optionValues, text } from './fake-hal.js';

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

/** Boots, lets the first registration go out and accepts it. */
function registered(): void {
  start();
  hal.advance(lamp, 0);
  expect(gatewayAnswer(hal, lamp, lastToGateway(), CREATED)).toBeNull();
}

beforeEach(() => start());

describe('registration', () => {
  it('registers with POST /rd?ep=<id>&lt=<lifetime> after the boot jitter', () => {
    start({ bootJitterMs: 10_000 }, 0.5);
    hal.advance(lamp, 4999);
    expect(toGateway()).toEqual([]);
    hal.advance(lamp, 1);
    const [{ msg, port }] = toGateway();
    expect(port).toBe(5683);
    expect(msg.type).toBe(CON);
    expect(msg.code).toBe(POST);
    expect(optionValues(msg, 11)).toEqual(['rd']);
    expect(optionValues(msg, 15)).toEqual(['ep=7', 'lt=300']);
    expect(optionUint(msg, 12)).toBe(50);
    expect(JSON.parse(text(msg.payload))).toEqual({ g: 'north', s: { on: 1, level: 100, w: 60, wh: 0.083, t: 5, f: 0 } });
  });

  it('refreshes before the lifetime ends with POST /rd/<id>?lt=<lifetime>', () => {
    registered();
    const sent = toGateway().length;
    const refreshAt = 300_000 * REFRESH_FRACTION;
    hal.advance(lamp, refreshAt - 1);
    expect(toGateway().length).toBe(sent);
    hal.advance(lamp, 1);
    const msg = lastToGateway();
    expect(optionValues(msg, 11)).toEqual(['rd', '7']);
    expect(optionValues(msg, 15)).toEqual(['lt=300']);
    expect(Object.keys(JSON.parse(text(msg.payload)))).toEqual(['s']);
  });

  it('keeps refreshing every time the gateway answers 2.04', () => {
    registered();
    for (let i = 0; i < 3; i++) {
      hal.advance(lamp, 300_000 * REFRESH_FRACTION);
      expect(gatewayAnswer(hal, lamp, lastToGateway(), CHANGED)).toBeNull();
    }
    expect(toGateway().map((s) => optionValues(s.msg, 11).join('/'))).toEqual(['rd', 'rd/7', 'rd/7', 'rd/7']);
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

  it('reports a state change at once with POST /rd/<id>', () => {
    registered();
    command(hal, lamp, { level: 40 });
    const msg = lastToGateway();
    expect(optionValues(msg, 11)).toEqual(['rd', '7']);
    expect(JSON.parse(text(msg.payload)).s).toMatchObject({ on: 1, level: 40 });
  });

  it('keeps one report in flight and sends the latest state when it is answered', () => {
    registered();
    command(hal, lamp, { level: 10 });
    const inFlight = lastToGateway();
    const sent = toGateway().length;
    command(hal, lamp, { level: 20 });
    command(hal, lamp, { level: 30 });
    expect(toGateway().length).toBe(sent);
    gatewayAnswer(hal, lamp, inFlight, CHANGED);
    expect(toGateway().length).toBe(sent + 1);
    expect(JSON.parse(text(lastToGateway().payload)).s.level).toBe(30);
  });

  it('registers again at once when the gateway answers an update with 4.04', () => {
    registered();
    command(hal, lamp, { level: 10 });
    gatewayAnswer(hal, lamp, lastToGateway(), NOT_FOUND);
    const msg = lastToGateway();
    expect(optionValues(msg, 11)).toEqual(['rd']);
    expect(optionValues(msg, 15)).toEqual(['ep=7', 'lt=300']);
    expect(JSON.parse(text(msg.payload)).s.level).toBe(10);
  });

  it('backs off and registers again when the gateway answers with an error', () => {
    registered();
    command(hal, lamp, { level: 10 });
    const failedAt = hal.t;
    gatewayAnswer(hal, lamp, lastToGateway(), 160);
    expect(lamp.reg).toBe(0);
    const sent = toGateway().length;
    hal.advance(lamp, RETRY_BASE_MS * 1.5);
    expect(toGateway().length).toBe(sent + 1);
    expect(optionValues(lastToGateway(), 11)).toEqual(['rd']);
    expect(toGateway().at(-1)!.at - failedAt).toBeGreaterThanOrEqual(RETRY_BASE_MS);
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
    const separate = emitCoap({ type: CON, code: CREATED, mid: 999, token: request.token, options: [], payload: new Uint8Array(0) });
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
