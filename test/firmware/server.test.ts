import { beforeEach, describe, expect, it } from 'vitest';
import { ACK, CON, DEDUP_MS, NON, RST, BAD_OPTION, BAD_REQUEST, CHANGED, CONTENT, DELETE, FORBIDDEN, GET, METHOD_NOT_ALLOWED, NOT_ACCEPTABLE, NOT_FOUND, POST, PUT, UNSUPPORTED_CONTENT_FORMAT } from '../../protocol/coap.js';
import { readSenml, senmlRecord } from '../../protocol/lwm2m/senml.js';
import { readTlv, tlvReader, tlvValue, writeTlv, TLV_RESOURCE } from '../../protocol/lwm2m/tlv.js';
import { BOOLEAN, FLOAT, INTEGER, STRING } from '../../protocol/lwm2m/objects.js';
import { parseLinks } from '../../protocol/lwm2m/link.js';
import { emitCoap, type CoapOption } from '../helpers/coap-message.js';
import { boot, command, receive, setFault } from '../../firmware/core.js';
import { createLamp, defaultConfig, type LampState } from '../../firmware/lamp.js';
import { CHECK_S, MAX_OBSERVERS, observations } from '../../firmware/observe.js';
import { enter } from '../../firmware/context.js';
import { CLIENT, FakeHal, STRANGER, ask, deliver, deliverBytes, optionUint, requestMessage, text, uintBytes } from './fake-hal.js';

let hal: FakeHal;
let lamp: LampState;

beforeEach(() => {
  hal = new FakeHal();
  hal.gatewayAddr = null;
  lamp = createLamp(defaultConfig('7'), 7);
  boot(hal, lamp);
});

const cf = (format: number): CoapOption => ({ num: 12, value: uintBytes(format) });
const accept = (format: number): CoapOption => ({ num: 17, value: uintBytes(format) });
const get = (path: string, extra: Partial<Parameters<typeof ask>[2]> = {}) => ask(hal, lamp, { code: GET, path, ...extra });
const put = (path: string, payload: string, extra: Partial<Parameters<typeof ask>[2]> = {}) => ask(hal, lamp, { code: PUT, path, payload, ...extra });
/** A Write of SenML records to an instance: POST partial update (or PUT replace). */
const writeSenml = (path: string, records: string[], code = POST, from = CLIENT) => ask(hal, lamp, { code, path, options: [cf(110)], payload: '[' + records.join(',') + ']', from });
/** A read in SenML JSON as {path: value}. */
function senml(path: string): Record<string, unknown> {
  const reply = get(path, { options: [accept(110)] });
  expect(reply.code).toBe(CONTENT);
  expect(optionUint(reply, 12)).toBe(110);
  const values = readSenml(Buffer.from(reply.payload).toString('latin1'));
  if (typeof values === 'string') throw new Error(values);
  return Object.fromEntries(values.map((v) => [`/${v.obj}/${v.inst}/${v.res}${v.ri < 0 ? '' : '/' + v.ri}`, v.value]));
}
const writeAttributes = (path: string, query: string[], from = CLIENT) => ask(hal, lamp, { code: PUT, path, query, from });

describe('LwM2M Read', () => {
  it('answers a resource in text/plain, with or without Accept 0', () => {
    const reply = get('3311/0/5850');
    expect(reply.code).toBe(CONTENT);
    expect(optionUint(reply, 12)).toBe(0);
    expect(text(reply.payload)).toBe('1');
    expect(text(get('3311/0/5851', { options: [accept(0)] }).payload)).toBe('100');
  });

  it('reads on-time, power (3305) and energy as their meters say', () => {
    hal.t += 3600_000;
    expect(text(get('3311/0/5852').payload)).toBe('3600');
    expect(text(get('3305/0/5800').payload)).toBe('60');
    expect(text(get('3311/0/5805').payload)).toBe('60');
  });

  it('reads an object instance in SenML JSON by default, and every object it registers', () => {
    const reply = get('3311/0');
    expect(optionUint(reply, 12)).toBe(110);
    expect(senml('3311/0')).toEqual({ '/3311/0/5850': true, '/3311/0/5851': 100, '/3311/0/5852': 0, '/3311/0/5805': 0 });
    expect(senml('3/0')).toMatchObject({ '/3/0/0': 'lampnet', '/3/0/2': '7', '/3/0/10': 123, '/3/0/11/0': 0, '/3/0/16': 'U' });
    expect(senml('1/0')).toEqual({ '/1/0/0': 1, '/1/0/1': 300, '/1/0/6': false, '/1/0/7': 'U' });
    expect(senml('3305/0')).toEqual({ '/3305/0/5800': 60 });
    expect(senml('32311/0')).toMatchObject({ '/32311/0/0': '', '/32311/0/3': false, '/32311/0/11': 60 });
    // No position: latitude and longitude are absent, not 0.
    expect(senml('32311/0')['/32311/0/1']).toBeUndefined();
    expect(senml('3311')).toEqual(senml('3311/0'));
  });

  it('reads an instance, an object and a resource in TLV', () => {
    const tlv = tlvReader(32);
    const reply = get('3311/0', { options: [accept(11542)] });
    expect(optionUint(reply, 12)).toBe(11542);
    expect(readTlv(tlv, reply.payload, 0, reply.payload.length)).toBe(true);
    const byRes = (res: number, type: number) => tlvValue(tlv, [...tlv.res.subarray(0, tlv.count)].indexOf(res), type);
    expect([byRes(5850, BOOLEAN), byRes(5851, INTEGER), byRes(5805, FLOAT)]).toEqual([true, 100, 0]);
    const object = get('3311', { options: [accept(11542)] });
    expect(readTlv(tlv, object.payload, 0, object.payload.length)).toBe(true);
    expect(tlv.inst[0]).toBe(0);
    const errors = get('3/0/11', { options: [accept(11542)] });
    expect(readTlv(tlv, errors.payload, 0, errors.payload.length)).toBe(true);
    expect([tlv.count, tlv.res[0], tlv.ri[0], tlvValue(tlv, 0, INTEGER)]).toEqual([1, 11, 0, 0]);
    const serial = get('3/0/2', { options: [accept(11542)] });
    expect(readTlv(tlv, serial.payload, 0, serial.payload.length)).toBe(true);
    expect(tlvValue(tlv, 0, STRING)).toBe('7');
  });

  it('reports a driver fault as error code 8 and memory free from the HAL', () => {
    setFault(hal, lamp, true);
    expect(text(get('3/0/11/0').payload)).toBe('8');
    hal.memoryFreeKb = 4.7;
    expect(text(get('3/0/10').payload)).toBe('4');
  });

  it('answers 4.06 to an Accept it cannot serve the path in', () => {
    expect(get('3311/0', { options: [accept(0)] }).code).toBe(NOT_ACCEPTABLE);
    expect(get('3311/0', { options: [accept(50)] }).code).toBe(NOT_ACCEPTABLE);
    expect(get('3311/0/5850', { options: [accept(11543)] }).code).toBe(NOT_ACCEPTABLE);
    expect(get('3/0/11', { options: [accept(0)] }).code).toBe(NOT_ACCEPTABLE);
    expect(get('.well-known/core', { options: [accept(110)] }).code).toBe(NOT_ACCEPTABLE);
  });

  it('answers 4.05 to a read of a write-only or executable resource', () => {
    expect(get('32311/0/14').code).toBe(METHOD_NOT_ALLOWED);
    expect(get('3/0/4').code).toBe(METHOD_NOT_ALLOWED);
  });

  it('lists its object instances at /.well-known/core (RFC 6690)', () => {
    const reply = get('.well-known/core');
    expect(optionUint(reply, 12)).toBe(40);
    expect(text(reply.payload)).toBe('</>;rt="oma.lwm2m";ct="110 11542",</1/0>,</3/0>,</3305/0>,</3311/0>,</32311/0>');
  });
});

describe('LwM2M Write and Execute', () => {
  it('switches and dims with text/plain PUT on 5850 and 5851', () => {
    expect(put('3311/0/5850', '0').code).toBe(CHANGED);
    expect(hal.lights.at(-1)!.level).toBe(0);
    expect(text(get('3311/0/5850').payload)).toBe('0');
    expect(put('3311/0/5851', '40', { options: [cf(0)] }).code).toBe(CHANGED);
    expect(put('3311/0/5850', '1').code).toBe(CHANGED);
    expect(hal.lights.at(-1)!.level).toBe(40);
  });

  it('applies a partial update (POST) and a replace (PUT) of /3311/0 in SenML JSON as one command', () => {
    expect(writeSenml('3311/0', [senmlRecord('/3311/0/', '5850', BOOLEAN, true), senmlRecord('', '5851', INTEGER, 25)]).code).toBe(CHANGED);
    expect(hal.lights.at(-1)).toMatchObject({ level: 25, fadeMs: 0 });
    expect(writeSenml('3311/0', [senmlRecord('/3311/0/', '5851', INTEGER, 35)], PUT).code).toBe(CHANGED);
    expect(senml('3311/0')).toMatchObject({ '/3311/0/5850': true, '/3311/0/5851': 35 });
  });

  it('writes in TLV, a resource and an instance', () => {
    const buf = new Uint8Array(32);
    const one = writeTlv(buf, 0, TLV_RESOURCE, 5851, INTEGER, 60);
    expect(ask(hal, lamp, { code: PUT, path: '3311/0/5851', options: [cf(11542)], payload: buf.slice(0, one) }).code).toBe(CHANGED);
    const two = writeTlv(buf, one, TLV_RESOURCE, 5850, BOOLEAN, false);
    expect(ask(hal, lamp, { code: POST, path: '3311/0', options: [cf(11542)], payload: buf.slice(one, two) }).code).toBe(CHANGED);
    expect(senml('3311/0')).toMatchObject({ '/3311/0/5850': false, '/3311/0/5851': 60 });
  });

  it('fades the next change by /32311/0/14 only, then by the configured default', () => {
    expect(writeSenml('32311/0', [senmlRecord('/32311/0/', '14', INTEGER, 2000)]).code).toBe(CHANGED);
    expect(put('3311/0/5851', '30').code).toBe(CHANGED);
    expect(hal.lights.at(-1)).toMatchObject({ level: 30, fadeMs: 2000 });
    hal.t += 5000;
    expect(put('3311/0/5851', '20').code).toBe(CHANGED);
    expect(hal.lights.at(-1)).toMatchObject({ level: 20, fadeMs: 0 });
  });

  it('writes the lampnet config (/32311/0), saving it, joining and leaving groups', () => {
    expect(writeSenml('32311/0', [senmlRecord('/32311/0/', '11', FLOAT, 100), senmlRecord('', '0', STRING, 'north,park')]).code).toBe(CHANGED);
    expect(hal.saved.at(-1)).toMatchObject({ ratedW: 100, groups: 'north,park' });
    expect(hal.joined).toEqual(['north', 'park']);
    expect(text(get('3305/0/5800').payload)).toBe('100');
    expect(put('32311/0/0', 'park, south').code).toBe(CHANGED);
    expect(hal.joined).toEqual(['park', 'south']);
    expect(text(get('32311/0/0').payload)).toBe('park, south');
  });

  it('starts the schedule with a position and stops it with 32311/0/3 false', () => {
    writeSenml('32311/0', [senmlRecord('/32311/0/', '1', FLOAT, 52.5), senmlRecord('', '2', FLOAT, 13.4)]);
    expect(lamp.edge).toBeLessThan(Infinity);
    expect(text(get('32311/0/3').payload)).toBe('1');
    expect(put('32311/0/3', '0').code).toBe(CHANGED);
    expect(lamp.edge).toBe(Infinity);
    expect(senml('32311/0')['/32311/0/1']).toBeUndefined();
    expect(put('32311/0/3', '1').code).toBe(BAD_REQUEST);
  });

  it('resets the on-time by writing 0 to 5852', () => {
    hal.t += 10_000;
    expect(put('3311/0/5852', '0').code).toBe(CHANGED);
    expect(text(get('3311/0/5852').payload)).toBe('0');
    expect(put('3311/0/5852', '5').code).toBe(BAD_REQUEST);
  });

  it('executes reboot /3/0/4 through the HAL after answering, and nothing else is executable', () => {
    expect(ask(hal, lamp, { code: POST, path: '3/0/4' }).code).toBe(CHANGED);
    expect(hal.reboots).toEqual([hal.t]);
    expect(ask(hal, lamp, { code: POST, path: '3311/0/5850' }).code).toBe(METHOD_NOT_ALLOWED);
    expect(ask(hal, lamp, { code: POST, path: '3/0/4', from: STRANGER }).code).toBe(FORBIDDEN);
  });

  it('checks every value of a write before applying any', () => {
    const lights = hal.lights.length;
    expect(writeSenml('3311/0', [senmlRecord('/3311/0/', '5850', BOOLEAN, false), senmlRecord('', '5851', INTEGER, 101)]).code).toBe(BAD_REQUEST);
    expect(writeSenml('3311/0', [senmlRecord('/3311/0/', '5850', BOOLEAN, false), senmlRecord('', '5805', FLOAT, 1)]).code).toBe(METHOD_NOT_ALLOWED);
    expect(hal.lights.length).toBe(lights);
    expect(text(get('3311/0/5850').payload)).toBe('1');
  });
});

describe('LwM2M Discover and Write-Attributes', () => {
  it('discovers an object, an instance and a resource with the attributes attached to each', () => {
    expect(writeAttributes('3311/0', ['pmax=60']).code).toBe(CHANGED);
    expect(writeAttributes('3311/0/5805', ['pmin=10', 'st=0.5']).code).toBe(CHANGED);
    const instance = get('3311/0', { options: [accept(40)] });
    expect(optionUint(instance, 12)).toBe(40);
    expect(text(instance.payload)).toBe('</3311/0>;pmax=60,</3311/0/5850>,</3311/0/5851>,</3311/0/5852>,</3311/0/5805>;pmin=10;st=0.5');
    expect(parseLinks(text(instance.payload))).not.toBeTypeOf('string');
    expect(text(get('3311', { options: [accept(40)] }).payload)).toMatch(/^<\/3311>,<\/3311\/0>;pmax=60,/);
    expect(text(get('3/0/11', { options: [accept(40)] }).payload)).toBe('</3/0/11>;dim=1');
  });

  it('clears an attribute given without a value, and refuses bad ones with 4.00', () => {
    writeAttributes('3311/0', ['pmin=5', 'pmax=60']);
    expect(writeAttributes('3311/0', ['pmin']).code).toBe(CHANGED);
    expect(text(get('3311/0', { options: [accept(40)] }).payload)).toMatch(/^<\/3311\/0>;pmax=60,/);
    for (const bad of [['pmin=70'], ['pmax=-1'], ['pmin=x'], ['bogus=1'], ['gt=5']]) expect(writeAttributes('3311/0', bad).code).toBe(BAD_REQUEST);
    expect(writeAttributes('3311/0/5851', ['gt=50', 'lt=60']).code).toBe(BAD_REQUEST);
    expect(writeAttributes('3311/0', ['pmax=5'], STRANGER).code).toBe(FORBIDDEN);
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
    const { replies } = deliver(hal, lamp, { type: NON, code: POST, path: '3311/0', options: [cf(110)], payload: '[{"bn":"/3311/0/","n":"5850","vb":false}]', multicast: true });
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
    ['32311/0/9', '7'],
    ['32311/0/1', '95'],
    ['1/0/1', '0'],
    ['1/0/7', 'T'],
    ['32311/0/0', 'g'.repeat(161)],
  ];
  for (const [path, body] of badPayloads) {
    it(`answers 4.00 to PUT /${path} with ${JSON.stringify(body).slice(0, 20)} and changes nothing`, () => {
      const lights = hal.lights.length;
      expect(put(path, body).code).toBe(BAD_REQUEST);
      expect(hal.lights.length).toBe(lights);
    });
  }
  for (const body of ['not json', '[1]', '[{"bn":"/3311/0/","n":"5851","vs":"high"}]', '[{"bn":"/3311/0/","n":"5850","v":2}]', '[{"bn":"/3/0/","n":"0","vs":"x"}]']) {
    it(`answers 4.00 to a SenML write of ${body} to /3311/0`, () => {
      expect(ask(hal, lamp, { code: POST, path: '3311/0', options: [cf(110)], payload: body }).code).toBe(BAD_REQUEST);
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
    expect(get('3311/0/9999').code).toBe(NOT_FOUND);
    expect(get('3312/0').code).toBe(NOT_FOUND);
    expect(get('cfg').code).toBe(NOT_FOUND);
    expect(get('').code).toBe(NOT_FOUND);
  });

  it('answers 4.05 to a method the resource does not take', () => {
    expect(put('3311/0/5805', '1').code).toBe(METHOD_NOT_ALLOWED);
    expect(put('3305/0/5800', '1').code).toBe(METHOD_NOT_ALLOWED);
    expect(ask(hal, lamp, { code: DELETE, path: '3311/0' }).code).toBe(METHOD_NOT_ALLOWED);
    expect(ask(hal, lamp, { code: POST, path: '3311', options: [cf(110)], payload: '[]' }).code).toBe(METHOD_NOT_ALLOWED);
  });

  it('answers 4.03 to a state change from an untrusted address, but lets it read', () => {
    expect(put('3311/0/5850', '0', { from: STRANGER }).code).toBe(FORBIDDEN);
    expect(hal.lights.at(-1)!.level).toBe(100);
    expect(get('3311/0/5850', { from: STRANGER }).code).toBe(CONTENT);
  });

  it('answers 4.15 to a write in a Content-Format it does not take', () => {
    expect(put('3311/0/5851', '5', { options: [cf(50)] }).code).toBe(UNSUPPORTED_CONTENT_FORMAT);
    expect(put('3311/0', '1', { options: [cf(0)] }).code).toBe(UNSUPPORTED_CONTENT_FORMAT);
    expect(ask(hal, lamp, { code: POST, path: '3311/0', payload: '[]' }).code).toBe(UNSUPPORTED_CONTENT_FORMAT);
  });
});

describe('Observe', () => {
  const observe = (path: string, value: number, token = [7, 7], options: CoapOption[] = []) => get(path, { token, options: [{ num: 6, value: uintBytes(value) }, ...options] });
  const notifications = (since: number) => hal.sentSince(since).filter((s) => s.to === CLIENT).map((s) => s.msg);
  const observed = () => {
    enter(hal, lamp);
    return observations();
  };

  it('adds an observation and answers with a sequence number, which its notifications exceed', () => {
    const reply = observe('3311/0', 0);
    expect(reply.code).toBe(CONTENT);
    const first = optionUint(reply, 6)!;
    expect(first).toBeGreaterThan(0);
    const since = hal.sent.length;
    put('3311/0/5851', '20', { from: 'gateway' });
    const [note] = notifications(since);
    expect(optionUint(note, 6)).toBeGreaterThan(first);
    expect(optionUint(note, 12)).toBe(110);
    expect(readSenml(Buffer.from(note.payload).toString('latin1'))).toContainEqual({ obj: 3311, inst: 0, res: 5851, ri: -1, value: 20 });
  });

  it('notifies in the format the observation asked for', () => {
    observe('3311/0', 0, [1], [accept(11542)]);
    observe('3311/0/5851', 0, [2], [accept(0)]);
    const since = hal.sent.length;
    put('3311/0/5851', '20', { from: 'gateway' });
    const notes = notifications(since);
    expect(notes.map((n) => [n.token[0], optionUint(n, 12)])).toEqual([[1, 11542], [2, 0]]);
    expect(text(notes[1].payload)).toBe('20');
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

  it('does not notify an observation whose value did not change', () => {
    observe('3311/0/5850', 0);
    const since = hal.sent.length;
    put('3311/0/5851', '20', { from: 'gateway' });
    expect(notifications(since)).toEqual([]);
  });

  it('stops notifying after a Cancel (Observe: 1) and frees the entry', () => {
    observe('3311/0/5850', 0);
    expect(observed()).toHaveLength(1);
    observe('3311/0/5850', 1);
    const since = hal.sent.length;
    put('3311/0/5850', '0', { from: 'gateway' });
    expect(notifications(since)).toEqual([]);
    expect(observed()).toEqual([]);
    expect(lamp.obs).toBe(-1);
  });

  it('removes an observation that answers a notification with RST', () => {
    observe('3311/0/5850', 0);
    const since = hal.sent.length;
    put('3311/0/5850', '0', { from: 'gateway' });
    const note = notifications(since)[0];
    const rst = emitCoap({ type: RST, code: 0, mid: note.mid, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) });
    expect(receive(hal, lamp, CLIENT, 40000, rst, rst.length)).toBeNull();
    put('3311/0/5850', '1', { from: 'gateway' });
    expect(notifications(since)).toHaveLength(1);
  });

  it('keeps at most MAX_OBSERVERS observations, dropping the oldest, and one per peer and path', () => {
    for (let i = 0; i < MAX_OBSERVERS + 1; i++) get('3311/0/5851', { token: [i], port: 41000 + i, options: [{ num: 6, value: uintBytes(0) }] });
    observe('3311/0/5851', 0, [50], []);
    observe('3311/0/5851', 0, [51], []);
    expect(observed()).toHaveLength(MAX_OBSERVERS);
    const since = hal.sent.length;
    put('3311/0/5851', '20', { from: 'gateway' });
    expect(notifications(since).map((n) => n.token[0])).toEqual([2, 3, 4, 5, 6, 51]);
  });

  it('notifies the settled power when a fade ends', () => {
    observe('3305/0/5800', 0);
    writeSenml('32311/0', [senmlRecord('/32311/0/', '14', INTEGER, 1000)], POST, 'gateway');
    put('3311/0/5851', '50', { from: 'gateway' });
    const since = hal.sent.length;
    hal.advance(lamp, 1000);
    expect(notifications(since).map((n) => text(n.payload))).toEqual(['30.25']);
  });

  it('notifies observations of local commands and faults too', () => {
    observe('3311/0', 0, [1]);
    observe('3/0/11', 0, [2]);
    const since = hal.sent.length;
    command(hal, lamp, { level: 10 });
    setFault(hal, lamp, true);
    const notes = notifications(since);
    // The fault changes nothing /3311/0 shows (power is 3305's): only /3/0/11 hears of it.
    expect(notes.map((n) => n.token[0])).toEqual([1, 2]);
    expect(readSenml(Buffer.from(notes[1].payload).toString('latin1'))).toEqual([{ obj: 3, inst: 0, res: 11, ri: 0, value: 8 }]);
  });

  it('waits pmin after a notification before notifying a change, then notifies the latest value', () => {
    writeAttributes('3311/0/5851', ['pmin=10']);
    observe('3311/0/5851', 0);
    const since = hal.sent.length;
    hal.advance(lamp, 2000);
    put('3311/0/5851', '20', { from: 'gateway' });
    put('3311/0/5851', '30', { from: 'gateway' });
    expect(notifications(since)).toEqual([]);
    hal.advance(lamp, 7999);
    expect(notifications(since)).toEqual([]);
    hal.advance(lamp, 1);
    expect(notifications(since).map((n) => text(n.payload))).toEqual(['30']);
  });

  it('notifies at pmax without a change: energy stays fresh', () => {
    writeAttributes('3311/0', ['pmax=60']);
    const t0 = hal.t;
    observe('3311/0', 0);
    const since = hal.sent.length;
    hal.advance(lamp, 180_000);
    const notes = hal.sentSince(since).filter((s) => s.to === CLIENT);
    expect(notes.map((s) => s.at - t0)).toEqual([60_000, 120_000, 180_000]);
    const energy = notes.map((s) => readSenml(Buffer.from(s.msg.payload).toString('latin1')) as { res: number; value: unknown }[]).map((v) => v.find((x) => x.res === 5805)!.value);
    expect(energy).toEqual([1, 2, 3]);
  });

  it('keeps pmax to the millisecond over months (its 32-bit clock moves its base on the way)', () => {
    writeAttributes('3311/0', ['pmax=86400']);
    const t0 = hal.t;
    observe('3311/0', 0);
    const since = hal.sent.length;
    hal.advance(lamp, 100 * 86_400_000);
    const notes = hal.sentSince(since).filter((s) => s.to === CLIENT);
    expect(notes.map((s) => s.at - t0)).toEqual(Array.from({ length: 100 }, (_, k) => (k + 1) * 86_400_000));
  });

  it('notifies each of 300 peers observing at once at its own address, beyond the interned peers', () => {
    const lamps = Array.from({ length: 50 }, (_, k) => createLamp(defaultConfig(String(100 + k)), 100 + k));
    for (const l of lamps) boot(hal, l);
    const peer = (k: number, j: number) => `peer-${k}-${j}`;
    lamps.forEach((l, k) => {
      for (let j = 0; j < MAX_OBSERVERS; j++) expect(ask(hal, l, { code: GET, path: '3311/0/5851', from: peer(k, j), token: [j], options: [{ num: 6, value: uintBytes(0) }] }).code).toBe(CONTENT);
    });
    const since = hal.sent.length;
    lamps.forEach((l, k) => expect(ask(hal, l, { code: PUT, path: '3311/0/5851', from: 'gateway', payload: String(k), options: [cf(0)] }).code).toBe(CHANGED));
    const notes = hal.sentSince(since).filter((s) => String(s.to).startsWith('peer-'));
    expect(notes.map((s) => `${String(s.to)}=${text(s.msg.payload)}`).sort()).toEqual(
      lamps.flatMap((_, k) => Array.from({ length: MAX_OBSERVERS }, (_, j) => `${peer(k, j)}=${k}`)).sort());
    for (const l of lamps) {
      enter(hal, l);
      expect(observations().map((o) => o.to)).toHaveLength(MAX_OBSERVERS);
    }
  });

  it('notifies a numeric resource only when it crosses gt or lt or moves by st', () => {
    expect(writeAttributes('3311/0/5851', ['gt=50', 'lt=20', 'st=5']).code).toBe(CHANGED);
    observe('3311/0/5851', 0);
    const since = hal.sent.length;
    for (const level of [98, 96, 52, 49, 47, 21, 19, 18]) put('3311/0/5851', String(level), { from: 'gateway' });
    // From 100: 98 and 96 move < 5 above gt; 52 moves 48; 49 crosses gt; 47 moves 2; 21 moves 26;
    // 19 crosses lt; 18 moves 1.
    expect(notifications(since).map((n) => text(n.payload))).toEqual(['52', '49', '21', '19']);
  });

  it('checks a drifting meter with st every CHECK_S seconds', () => {
    expect(writeAttributes('3311/0/5805', ['st=0.5']).code).toBe(CHANGED);
    observe('3311/0/5805', 0);
    const since = hal.sent.length;
    // 60 W: 0.5 Wh in 30 s, seen at the next check.
    hal.advance(lamp, 30_000 + CHECK_S * 1000);
    const notes = notifications(since).map((n) => Number(text(n.payload)));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toBeGreaterThanOrEqual(0.5);
  });

  it('takes new attributes into account for observations already running', () => {
    const t0 = hal.t;
    observe('3311/0', 0);
    hal.advance(lamp, 10_000);
    writeAttributes('3311/0', ['pmax=30']);
    const since = hal.sent.length;
    hal.advance(lamp, 50_000);
    expect(hal.sentSince(since).filter((s) => s.to === CLIENT).map((s) => s.at - t0)).toEqual([30_000, 60_000]);
  });

  it('forgets observations and attributes when the lamp boots again', () => {
    writeAttributes('3311/0', ['pmax=30']);
    observe('3311/0', 0);
    boot(hal, lamp);
    expect(lamp.obs).toBe(-1);
    expect(text(get('3311/0', { options: [accept(40)] }).payload)).toMatch(/^<\/3311\/0>,/);
  });
});
