/**
 * The firmware bundle as the board gets it: ES5 only, nothing Espruino lacks, within budget, and
 * working — booted on an emulated Espruino (emulated-espruino.ts) it answers CoAP over a real UDP
 * socket and registers with a test gateway.
 */
import { parse as parseJs } from 'acorn';
import { generate } from 'coap-packet';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bundleFirmware, INTERNAL_PROPERTIES, MAX_BUNDLE_BYTES } from '../../tools/espruino/build.js';
import { defaultConfig } from '../../firmware/lamp.js';
import { espruinoProblems } from '../../tools/espruino/espruino-compat.js';
import { Peer, isRegistration, option, until } from './coap-peer.js';
import { loadOnEmulatedEspruino, loopbackUdp, withoutHoisting, type EmulatedBoard, type FakeWifi } from '../../tools/espruino/emulated-espruino.js';

let bundle = '';

beforeAll(async () => {
  bundle = await bundleFirmware();
}, 120_000);

describe('the firmware bundle', () => {
  it('parses as ES5', () => {
    expect(() => parseJs(bundle, { ecmaVersion: 5, sourceType: 'script' })).not.toThrow();
  });

  it('references no global, member or module that Espruino lacks', () => {
    expect(espruinoProblems(bundle)).toEqual([]);
  });

  it('shortens no property name that is stored in flash or read from a JSON body', () => {
    const kept = [...Object.keys(defaultConfig('')), 'wifi', 'password', 'gateway', 'pin', 'ntp', 'key', 'lamp', 'on', 'level', 'fade'];
    expect(INTERNAL_PROPERTIES.filter((name) => kept.includes(name))).toEqual([]);
  });

  it(`fits in ${MAX_BUNDLE_BYTES} bytes`, () => {
    expect(Buffer.byteLength(bundle)).toBeLessThanOrEqual(MAX_BUNDLE_BYTES);
  });
});

describe('the Espruino check', () => {
  it.each([
    ['new Map()', 'Map'],
    ['new Set()', 'Set'],
    ['new WeakMap()', 'WeakMap'],
    ['var i = Symbol.iterator', 'Symbol'],
    ['Reflect.ownKeys({})', 'Reflect'],
    ['new Proxy({}, {})', 'Proxy'],
    ['Buffer.from("a")', 'Buffer'],
    ['process.hrtime()', 'process.hrtime'],
    ['f(process)', 'process used as a value'],
    ['Array.from(x)', 'Array.from'],
    ['Number.isNaN(x)', 'Number.isNaN'],
    ['Math.trunc(x)', 'Math.trunc'],
    ['Math.sign(x)', 'Math.sign'],
    ['require("fs")', 'require of "fs"'],
    ['require(name)', 'require of a computed name'],
    ['for (var a of b) {}', 'not ES5'],
    ['var f = (a) => a', 'not ES5'],
    ['/^\\d{1,3}$/.test(s)', 'regular expression'],
    ['new RegExp(p)', 'RegExp'],
    ['function f(a) { return g((e = a, e + 1)); var e; }', 'var declared after a return'],
  ])('flags %s', (code, problem) => {
    expect(espruinoProblems(code).join('\n')).toContain(problem);
  });

  it("accepts Espruino's own process members and modules", () => {
    expect(espruinoProblems('process.memory(); process.env; require("dgram"); require("Storage"); require("Wifi")')).toEqual([]);
  });
});

describe('the no-hoisting emulation', () => {
  it('makes a call before the function definition fail, as on Espruino', () => {
    expect(() => new Function(withoutHoisting('f(); function f() {}'))()).toThrow(TypeError);
    expect(() => new Function(withoutHoisting('function f() {} f();'))()).not.toThrow();
  });
});

describe('the bundle on an emulated Espruino', () => {
  let board: EmulatedBoard | null = null;
  let gateway: Peer;
  let client: Peer;

  async function bootBoard(lamp: Record<string, unknown>, extra: { wifi?: FakeWifi; board?: Record<string, unknown> } = {}): Promise<EmulatedBoard> {
    gateway = await new Peer().open();
    client = await new Peer().open();
    const config = { gateway: '127.0.0.1', pin: 'D5', ...extra.board, lamp: { id: 'board-7', bootJitterMs: 0, ...lamp } };
    board = loadOnEmulatedEspruino(bundle, {
      storage: { 'lampnet.json': JSON.stringify(config) },
      wifi: extra.wifi,
      // Every CoAP datagram to port 5683 goes to the test gateway's port, never to a real 5683.
      network: loopbackUdp(() => gateway.port),
    });
    const b = board;
    await until(() => b.boundPorts.length > 0, 'the CoAP socket to bind');
    return b;
  }

  afterEach(() => {
    board?.emit('kill');
    board?.close();
    board = null;
    gateway?.close();
    client?.close();
  });

  it('answers a CoAP GET of the on/off resource', async () => {
    const b = await bootBoard({ powerOn: 0 });
    client.send(generate({ code: '0.01', messageId: 0x1234, token: Buffer.from([9, 9]), confirmable: true, options: [
      { name: 'Uri-Path', value: Buffer.from('3311') },
      { name: 'Uri-Path', value: Buffer.from('0') },
      { name: 'Uri-Path', value: Buffer.from('5850') },
    ] }), b.boundPorts[0]);
    const { packet } = await client.next((p) => p.messageId === 0x1234, 'response to GET /3311/0/5850');
    expect(packet.ack).toBe(true);
    expect(packet.code).toBe('2.05');
    expect(packet.token).toEqual(Buffer.from([9, 9]));
    expect(packet.payload.toString()).toBe('0');
  });

  it('registers with the configured gateway: POST /rd?ep=<id>&lt=<lifetime> from port 5683', async () => {
    const b = await bootBoard({ lifetimeS: 120 });
    const { packet, from } = await gateway.next(isRegistration, 'registration');
    expect(option(packet, 'Uri-Query')).toEqual(expect.arrayContaining(['ep=board-7', 'lt=120']));
    expect(from.port).toBe(b.boundPorts[0]);
  });

  it('switches the configured PWM pin on at power-up when powerOn is 1', async () => {
    const b = await bootBoard({ powerOn: 1, defaultLevel: 100 });
    await until(() => b.pwm.length > 0, 'a PWM write');
    expect(b.pwm.at(-1)).toEqual(['D5', 1]);
  });

  it('drives the PWM pin when commanded off over CoAP', async () => {
    const b = await bootBoard({ powerOn: 1 });
    await until(() => b.pwm.length > 0, 'a PWM write');
    client.send(generate({ code: '0.03', messageId: 77, confirmable: true, options: [
      { name: 'Uri-Path', value: Buffer.from('3311') },
      { name: 'Uri-Path', value: Buffer.from('0') },
      { name: 'Uri-Path', value: Buffer.from('5850') },
    ], payload: Buffer.from('0') }), b.boundPorts[0]);
    const { packet } = await client.next((p) => p.messageId === 77, 'response to PUT');
    expect(packet.code).toBe('2.04');
    await until(() => b.pwm.at(-1)?.[1] === 0, 'the pin to go to 0');
  });

  it('refuses a state change from anyone but its gateway (4.03)', async () => {
    // The gateway is another loopback address; the test client (127.0.0.1) is a stranger.
    const b = await bootBoard({ powerOn: 1 }, { board: { gateway: '127.0.0.2' } });
    await until(() => b.pwm.length > 0, 'a PWM write');
    client.send(generate({ code: '0.03', messageId: 79, confirmable: true, options: [
      { name: 'Uri-Path', value: Buffer.from('3311') },
      { name: 'Uri-Path', value: Buffer.from('0') },
      { name: 'Uri-Path', value: Buffer.from('5850') },
    ], payload: Buffer.from('0') }), b.boundPorts[0]);
    const { packet } = await client.next((p) => p.messageId === 79, 'response to PUT');
    expect(packet.code).toBe('4.03');
    expect(b.pwm.at(-1)).toEqual(['D5', 1]);
  });

  it('fades the PWM output in steps to the commanded level', async () => {
    const b = await bootBoard({ powerOn: 1, defaultLevel: 100 });
    await until(() => b.pwm.length > 0, 'a PWM write');
    // The transition first (/32311/0/14 NEXT_FADE_MS), then the level it applies to.
    client.send(generate({ code: '0.03', messageId: 77, confirmable: true, options: [
      { name: 'Uri-Path', value: Buffer.from('32311') },
      { name: 'Uri-Path', value: Buffer.from('0') },
      { name: 'Uri-Path', value: Buffer.from('14') },
    ], payload: Buffer.from('1000') }), b.boundPorts[0]);
    expect((await client.next((p) => p.messageId === 77, 'response to PUT /32311/0/14')).packet.code).toBe('2.04');
    client.send(generate({ code: '0.03', messageId: 78, confirmable: true, options: [
      { name: 'Uri-Path', value: Buffer.from('3311') },
      { name: 'Uri-Path', value: Buffer.from('0') },
      { name: 'Uri-Path', value: Buffer.from('5851') },
    ], payload: Buffer.from('50') }), b.boundPorts[0]);
    const { packet } = await client.next((p) => p.messageId === 78, 'response to PUT /3311/0/5851');
    expect(packet.code).toBe('2.04');
    await until(() => b.pwm.at(-1)?.[1] === 0.5, 'the fade to end at 50 %');
    const steps = b.pwm.map(([, value]) => value).filter((v) => v < 1 && v > 0.5);
    expect(steps.length).toBeGreaterThan(0);
    expect(steps).toEqual([...steps].sort((x, y) => y - x));
  });

  it('reports its memory use (process.memory) on the console', async () => {
    const b = await bootBoard({});
    await until(() => b.lines.some((l) => /memory 2383\/16383 JsVars/.test(l)), 'a memory report');
  });

  it('starts once when init follows the load', async () => {
    const b = await bootBoard({});
    b.emit('init');
    await gateway.next(isRegistration, 'registration');
    expect(b.socketsOpened).toBe(1);
  });

  it('releases its socket on kill and starts afresh on init, as save() does', async () => {
    const b = await bootBoard({});
    await gateway.next(isRegistration, 'first registration');
    b.emit('kill');
    expect(b.socketsClosed).toBe(1);
    gateway.received.length = 0;
    b.emit('init');
    await until(() => b.boundPorts.length === 2, 'the socket to bind again');
    const { from } = await gateway.next(isRegistration, 'registration after init');
    expect(from.port).toBe(b.boundPorts[1]);
  });

  it('joins the stored Wifi network and starts SNTP before opening its socket', async () => {
    const calls: string[] = [];
    const wifi: FakeWifi = {
      connect(ssid, options, callback) {
        calls.push(`connect ${ssid} ${options.password}`);
        setTimeout(() => callback(null), 10);
      },
      setSNTP(server, zone) {
        calls.push(`sntp ${server} ${zone}`);
      },
    };
    await bootBoard({}, { wifi, board: { wifi: 'street', password: 'lamps', ntp: 'ntp.example' } });
    expect(calls).toEqual(['connect street lamps', 'sntp ntp.example UTC0']);
    await gateway.next(isRegistration, 'registration');
  });

  it('ignores a Wifi connection that completes after kill (save() during the upload)', async () => {
    const connected: ((err: string | null) => void)[] = [];
    const wifi: FakeWifi = {
      connect: (_ssid, _options, callback) => connected.push(callback),
      setSNTP: () => {},
    };
    gateway = await new Peer().open();
    client = await new Peer().open();
    const b = (board = loadOnEmulatedEspruino(bundle, {
      storage: { 'lampnet.json': JSON.stringify({ wifi: 'street', gateway: '127.0.0.1', lamp: { id: 'board-8' } }) },
      wifi,
      network: loopbackUdp(() => gateway.port),
    }));
    b.emit('kill');
    connected[0](null);
    expect(b.socketsOpened).toBe(0);
    b.emit('init');
    connected[1](null);
    await until(() => b.boundPorts.length === 1, 'the restarted lamp to bind');
    expect(b.socketsOpened).toBe(1);
  });
});
