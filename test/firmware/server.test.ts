import { beforeEach, describe, expect, it } from 'vitest';
import { ACK, CON, DEDUP_MS, NON, RST, BAD_OPTION, BAD_REQUEST, CHANGED, CONTENT, DELETE, FORBIDDEN, GET, METHOD_NOT_ALLOWED, NOT_ACCEPTABLE, NOT_FOUND, POST, PUT, UNSUPPORTED_CONTENT_FORMAT } from '../../protocol/coap.js';
import { emitCoap } from '../helpers/coap-message.js';
import { boot, command, receive, setFault } from '../../firmware/core.js';
import { createLamp, defaultConfig, type LampState } from '../../firmware/lamp.js';
import { MAX_OBSERVERS } from '../../firmware/observe.js';
import { CLIENT, FakeHal, STRANGER, ask, deliver, deliverBytes, optionUint, requestMessage, text, uintBytes } from './fake-hal.js';

let hal: FakeHal;
let lamp: LampState;

beforeEach(() => {
  hal = new FakeHal();
  hal.gatewayAddr = null;
  lamp = createLamp(defaultConfig('7'), 7);
  boot(hal, lamp);
});

const get = (path: string, extra: Partial<Parameters<typeof ask>[2]> = {}) => ask(hal, lamp, { code: GET, path, ...extra });
const put = (path: string, payload: string, extra: Partial<Parameters<typeof ask>[2]> = {}) => ask(hal, lamp, { code: PUT, path, payload, ...extra });

describe('CoAP resources', () => {
  it('answers GET /3311/0/5850 with the on/off state as plain text', () => {
    const reply = get('3311/0/5850');
    expect(reply.code).toBe(CONTENT);
    expect(optionUint(reply, 12)).toBe(0);
    expect(text(reply.payload)).toBe('1');
  });

  it('switches the light with PUT /3311/0/5850', () => {
    expect(put('3311/0/5850', '0').code).toBe(CHANGED);
    expect(hal.lights.at(-1)!.level).toBe(0);
    expect(text(get('3311/0/5850').payload)).toBe('0');
  });

  it('dims with PUT /3311/0/5851 and reports the level', () => {
    expect(put('3311/0/5851', '40').code).toBe(CHANGED);
    expect(hal.lights.at(-1)!.level).toBe(40);
    expect(text(get('3311/0/5851').payload)).toBe('40');
  });

  it('reports on-time seconds, watts and watt-hours as plain text', () => {
    hal.t += 3600_000;
    expect(text(get('3311/0/5852').payload)).toBe('3600');
    expect(text(get('3311/0/5800').payload)).toBe('60');
    expect(text(get('3311/0/5805').payload)).toBe('60');
  });

  it('returns the state JSON on GET /3311/0', () => {
    const reply = get('3311/0');
    expect(optionUint(reply, 12)).toBe(50);
    expect(JSON.parse(text(reply.payload))).toEqual({ on: 1, level: 100, w: 60, wh: 0, t: 0, f: 0 });
  });

  it('applies a combined command with PUT /3311/0', () => {
    expect(put('3311/0', '{"on":1,"level":25,"fade":2000}', { options: [{ num: 12, value: uintBytes(50) }] }).code).toBe(CHANGED);
    expect(hal.lights.at(-1)).toMatchObject({ level: 25, fadeMs: 2000 });
    expect(JSON.parse(text(get('3311/0').payload))).toMatchObject({ on: 1, level: 25 });
  });

  it('returns and changes the config with GET and PUT /cfg, saving it', () => {
    expect(JSON.parse(text(get('cfg').payload))).toMatchObject({ id: '7', ratedW: 60, lat: null });
    expect(put('cfg', '{"ratedW":100,"groups":"north,park"}').code).toBe(CHANGED);
    expect(hal.saved.at(-1)).toMatchObject({ ratedW: 100, groups: 'north,park' });
    expect(hal.joined).toEqual(['north', 'park']);
    expect(JSON.parse(text(get('3311/0').payload)).w).toBe(100);
  });

  it('leaves the groups /cfg no longer names and keeps the ones it still does', () => {
    expect(put('cfg', '{"groups":"north,park"}').code).toBe(CHANGED);
    expect(put('cfg', '{"groups":"park, south"}').code).toBe(CHANGED);
    expect(hal.joined).toEqual(['park', 'south']);
    expect(put('cfg', '{"groups":""}').code).toBe(CHANGED);
    expect(hal.joined).toEqual([]);
  });

  it('takes booleans for on in the combined command', () => {
    expect(put('3311/0', '{"on":false}').code).toBe(CHANGED);
    expect(hal.lights.at(-1)!.level).toBe(0);
  });

  it('turns the schedule off when /cfg sets lat and lon to null', () => {
    put('cfg', '{"lat":52.5,"lon":13.4}');
    expect(lamp.edge).toBeLessThan(Infinity);
    expect(put('cfg', '{"lat":null,"lon":null}').code).toBe(CHANGED);
    expect(lamp.edge).toBe(Infinity);
    expect(JSON.parse(text(get('cfg').payload))).toMatchObject({ lat: null, lon: null });
  });

  it('accepts /cfg changes to a config restored from JSON, where NaN became null', () => {
    lamp = createLamp(JSON.parse(JSON.stringify(defaultConfig('8'))), 8);
    boot(hal, lamp);
    expect(put('cfg', '{"lat":40.4,"lon":-3.7}').code).toBe(CHANGED);
    expect(lamp.edge).toBeLessThan(Infinity);
  });

  it('lists its resources in RFC 6690 link format at /.well-known/core', () => {
    const reply = get('.well-known/core');
    expect(optionUint(reply, 12)).toBe(40);
    const links = text(reply.payload);
    expect(links).toContain('</3311/0>;rt="oma.lwm2m.3311";if="core.b";ct=50;obs');
    expect(links).toContain('</3311/0/5850>;rt="ipso.5850";if="core.a";ct=0;obs');
    expect(links).toContain('</3311/0/5805>;rt="ipso.5805";if="core.s";ct=0,');
    expect(links.split(',')).toHaveLength(7);
  });
});

describe('CoAP messaging', () => {
  it('answers a CON request with a piggybacked ACK carrying its message id and token', () => {
    const reply = get('3311/0/5850', { mid: 555, token: [1, 2, 3] });
    expect(reply.type).toBe(ACK);
    expect(reply.mid).toBe(555);
    expect([...reply.token]).toEqual([1, 2, 3]);
  });

  it('answers a NON request with a NON response and a message id of its own', () => {
    const reply = get('3311/0/5850', { type: NON, mid: 555 });
    expect(reply.type).toBe(NON);
    expect(reply.mid).not.toBe(555);
  });

  it('answers a retransmitted CON request from its cache without executing it again', () => {
    const first = deliver(hal, lamp, { code: PUT, path: '3311/0/5851', payload: '30', mid: 77 });
    const lights = hal.lights.length;
    hal.t += 5000;
    const again = deliver(hal, lamp, { code: PUT, path: '3311/0/5851', payload: '30', mid: 77 });
    expect(hal.lights.length).toBe(lights);
    expect(again.replies.map((s) => s.msg)).toEqual(first.replies.map((s) => s.msg));
  });

  it('answers a retransmitted PUT that failed with the same error, from its cache', () => {
    const first = deliver(hal, lamp, { code: PUT, path: '3311/0/5851', payload: '300', mid: 78, token: [9, 8] });
    const again = deliver(hal, lamp, { code: PUT, path: '3311/0/5851', payload: '300', mid: 78, token: [9, 8] });
    expect(first.replies[0].msg.code).toBe(BAD_REQUEST);
    expect(again.replies.map((s) => s.msg)).toEqual(first.replies.map((s) => s.msg));
  });

  it('serves a retransmitted GET afresh and keeps no per-lamp state for GETs', () => {
    const first = get('3311/0/5851', { mid: 79 });
    expect(text(first.payload)).toBe('100');
    expect(lamp.ex).toBeNull();
    put('3311/0/5851', '40', { mid: 80 });
    const again = get('3311/0/5851', { mid: 79 });
    expect([again.mid, text(again.payload)]).toEqual([79, '40']);
  });

  it('treats the same message id from another peer as a new request', () => {
    deliver(hal, lamp, { code: PUT, path: '3311/0/5851', payload: '30', mid: 77 });
    const other = ask(hal, lamp, { code: PUT, path: '3311/0/5851', payload: '31', mid: 77, from: 'gateway' });
    expect(other.code).toBe(CHANGED);
    expect(hal.lights.at(-1)!.level).toBe(31);
  });

  it('forgets cached responses after DEDUP_MS and frees the per-lamp record', () => {
    deliver(hal, lamp, { code: PUT, path: '3311/0/5851', payload: '30', mid: 77 });
    expect(lamp.ex).not.toBeNull();
    hal.advance(lamp, DEDUP_MS);
    expect(lamp.ex).toBeNull();
  });

  it('executes a request sent to a multicast group without answering it', () => {
    const { replies } = deliver(hal, lamp, { type: NON, code: PUT, path: '3311/0', payload: '{"on":0}', multicast: true });
    expect(replies).toEqual([]);
    expect(hal.lights.at(-1)!.level).toBe(0);
  });

  it('answers a CoAP ping (empty CON) with RST', () => {
    const ping = emitCoap({ type: CON, code: 0, mid: 9, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) });
    deliverBytes(hal, lamp, ping);
    expect(hal.sent.at(-1)!.msg).toMatchObject({ type: RST, code: 0, mid: 9 });
  });

  it('drops malformed datagrams with the reason, rejecting a malformed CON with RST', () => {
    expect(deliverBytes(hal, lamp, Uint8Array.from([0x40, 1, 0, 3, 0xff]))).toMatch(/payload marker/);
    expect(hal.sent.at(-1)!.msg).toMatchObject({ type: RST, mid: 3 });
    const sent = hal.sent.length;
    expect(deliverBytes(hal, lamp, Uint8Array.from([1, 2]))).toMatch(/shorter/);
    expect(hal.sent.length).toBe(sent);
  });

  it('ignores datagrams while unpowered', () => {
    lamp.up = 0;
    expect(deliverBytes(hal, lamp, emitCoap(requestMessage({ code: GET, path: '3311/0' })))).toMatch(/not powered/);
  });
});

describe('CoAP errors', () => {
  const badPayloads: [string, string][] = [
    ['3311/0/5850', '2'],
    ['3311/0/5850', 'on'],
    ['3311/0/5851', '101'],
    ['3311/0/5851', '-1'],
    ['3311/0/5851', '5.5'],
    ['3311/0', 'not json'],
    ['3311/0', '[1]'],
    ['3311/0', '{"level":"high"}'],
    ['3311/0', '{"on":2}'],
    ['cfg', '{"powerOn":7}'],
    ['cfg', '{"unknown":1}'],
    ['cfg', '{"lat":95}'],
    ['cfg', '{"lifetimeS":0}'],
    ['cfg', '{"groups":7}'],
    ['cfg', `{"groups":"${'g'.repeat(161)}"}`],
  ];
  for (const [path, body] of badPayloads) {
    it(`answers 4.00 to PUT /${path} with ${JSON.stringify(body)} and changes nothing`, () => {
      const lights = hal.lights.length;
      expect(put(path, body).code).toBe(BAD_REQUEST);
      expect(hal.lights.length).toBe(lights);
    });
  }

  it('answers 4.02 to an unrecognized critical option', () => {
    expect(get('3311/0', { options: [{ num: 9, value: new Uint8Array(0) }] }).code).toBe(BAD_OPTION);
  });

  it('ignores an unrecognized elective option', () => {
    expect(get('3311/0', { options: [{ num: 2048, value: new Uint8Array(1) }] }).code).toBe(CONTENT);
  });

  it('answers 4.04 to an unknown path', () => {
    expect(get('3311/1').code).toBe(NOT_FOUND);
    expect(get('').code).toBe(NOT_FOUND);
  });

  it('answers 4.05 to a method the resource does not take', () => {
    expect(put('3311/0/5800', '1').code).toBe(METHOD_NOT_ALLOWED);
    expect(ask(hal, lamp, { code: POST, path: '3311/0' }).code).toBe(METHOD_NOT_ALLOWED);
    expect(ask(hal, lamp, { code: DELETE, path: 'cfg' }).code).toBe(METHOD_NOT_ALLOWED);
  });

  it('answers 4.03 to a state change from an untrusted address, but lets it read', () => {
    expect(put('3311/0/5850', '0', { from: STRANGER }).code).toBe(FORBIDDEN);
    expect(hal.lights.at(-1)!.level).toBe(100);
    expect(get('3311/0/5850', { from: STRANGER }).code).toBe(CONTENT);
  });

  it('answers 4.06 when the Accept option asks for a format the resource does not have', () => {
    expect(get('3311/0/5850', { options: [{ num: 17, value: uintBytes(50) }] }).code).toBe(NOT_ACCEPTABLE);
    expect(get('3311/0', { options: [{ num: 17, value: uintBytes(50) }] }).code).toBe(CONTENT);
  });

  it('answers 4.15 to a PUT body in the wrong Content-Format', () => {
    expect(put('3311/0/5851', '5', { options: [{ num: 12, value: uintBytes(50) }] }).code).toBe(UNSUPPORTED_CONTENT_FORMAT);
  });
});

describe('Observe', () => {
  const observe = (path: string, value: number, token = [7, 7]) => get(path, { token, options: [{ num: 6, value: uintBytes(value) }] });
  const notifications = (since: number) => hal.sentSince(since).filter((s) => s.to === CLIENT).map((s) => s.msg);

  it('registers an observer and answers with the current sequence number, which its notifications exceed', () => {
    const reply = observe('3311/0', 0);
    expect(reply.code).toBe(CONTENT);
    expect(optionUint(reply, 6)).toBe(0);
    const since = hal.sent.length;
    put('3311/0/5851', '20', { from: 'gateway' });
    const [note] = notifications(since);
    expect(optionUint(note, 6)).toBe(1);
    // A later observer starts from the sequence already sent, so it orders the next notification after it.
    expect(optionUint(observe('3311/0', 0, [9]), 6)).toBe(1);
  });

  it('notifies observers of a state change with increasing sequence numbers', () => {
    const first = optionUint(observe('3311/0/5851', 0), 6)!;
    const since = hal.sent.length;
    put('3311/0/5851', '20', { from: 'gateway' });
    put('3311/0/5851', '30', { from: 'gateway' });
    const notes = notifications(since);
    expect(notes.map((n) => text(n.payload))).toEqual(['20', '30']);
    expect(notes.every((n) => n.type === NON && n.code === CONTENT && [...n.token].join() === '7,7')).toBe(true);
    const seqs = notes.map((n) => optionUint(n, 6)!);
    expect(seqs[0]).toBeGreaterThan(first);
    expect(seqs[1]).toBeGreaterThan(seqs[0]);
  });

  it('does not notify an observer whose resource did not change', () => {
    observe('3311/0/5850', 0);
    const since = hal.sent.length;
    put('3311/0/5851', '20', { from: 'gateway' });
    expect(notifications(since)).toEqual([]);
  });

  it('stops notifying after deregistration with Observe: 1', () => {
    observe('3311/0/5850', 0);
    observe('3311/0/5850', 1);
    const since = hal.sent.length;
    put('3311/0/5850', '0', { from: 'gateway' });
    expect(notifications(since)).toEqual([]);
    expect(lamp.ex?.observers ?? []).toEqual([]);
  });

  it('removes an observer that answers a notification with RST', () => {
    observe('3311/0/5850', 0);
    const since = hal.sent.length;
    put('3311/0/5850', '0', { from: 'gateway' });
    const note = notifications(since)[0];
    const rst = emitCoap({ type: RST, code: 0, mid: note.mid, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) });
    expect(receive(hal, lamp, CLIENT, 40000, rst, rst.length)).toBeNull();
    put('3311/0/5850', '1', { from: 'gateway' });
    expect(notifications(since)).toHaveLength(1);
  });

  it('keeps at most MAX_OBSERVERS observers, dropping the oldest', () => {
    for (let i = 0; i < MAX_OBSERVERS + 1; i++) observe('3311/0/5851', 0, [i]);
    const since = hal.sent.length;
    put('3311/0/5851', '20', { from: 'gateway' });
    expect(notifications(since).map((n) => n.token[0])).toEqual([1, 2, 3, 4]);
  });

  it('notifies the settled power when a fade ends', () => {
    observe('3311/0', 0);
    put('3311/0', '{"level":50,"fade":1000}', { from: 'gateway' });
    const since = hal.sent.length;
    hal.advance(lamp, 1000);
    expect(notifications(since).map((n) => JSON.parse(text(n.payload)).w)).toEqual([30.25]);
  });

  it('does not register observers on resources that are not observable', () => {
    const reply = observe('3311/0/5805', 0);
    expect(optionUint(reply, 6)).toBeUndefined();
    expect(lamp.ex?.observers ?? []).toEqual([]);
  });

  it('notifies observers of local commands and faults too', () => {
    observe('3311/0', 0);
    const since = hal.sent.length;
    command(hal, lamp, { level: 10 });
    setFault(hal, lamp, true);
    const states = notifications(since).map((n) => JSON.parse(text(n.payload)));
    expect(states).toMatchObject([{ level: 10, f: 0 }, { level: 10, f: 1, w: 0.5 }]);
  });
});
