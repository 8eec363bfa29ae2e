/**
 * The firmware core as a real CoAP server on loopback, talked to by libcoap's coap-client: proof
 * that the codec and the server interoperate with an independent implementation, Observe included.
 * The HAL here is the smallest real platform: a udp6 socket on ::1, Node timers, the wall clock.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { boot, command, halt, receive, wake } from '../../firmware/core.js';
import type { Addr, Hal } from '../../firmware/hal.js';
import { createLamp, defaultConfig, type LampState } from '../../firmware/lamp.js';

const COAP_CLIENT = 'coap-client-notls';

let socket: Socket;
let lamp: LampState;
let hal: Hal;
let timer: NodeJS.Timeout | undefined;
let port = 0;

beforeEach(async () => {
  socket = createSocket('udp6');
  hal = {
    now: () => Date.now(),
    wakeAt: (l, at) => {
      clearTimeout(timer);
      timer = at === Infinity ? undefined : setTimeout(() => wake(hal, l), Math.max(0, at - Date.now()));
    },
    light: () => {},
    send: (l, to: Addr, p, data, len) => socket.send(data.slice(0, len), p, String(to)),
    setGroups: () => {},
    saveConfig: () => {},
    gateway: () => null,
    trusted: () => true,
    random: Math.random,
    reboot: (l) => setImmediate(() => boot(hal, l)),
    memoryFree: () => 0,
    log: () => {},
  };
  lamp = createLamp(defaultConfig('lo'), 1);
  socket.on('message', (msg, info) => {
    const bytes = new Uint8Array(msg);
    receive(hal, lamp, info.address, info.port, bytes, bytes.length);
  });
  await new Promise<void>((resolve) => socket.bind(0, '::1', resolve));
  port = socket.address().port;
  boot(hal, lamp);
});

afterEach(() => {
  halt(hal, lamp);
  clearTimeout(timer);
  socket.close();
});

/** Runs coap-client against the lamp; resolves with its stdout and stderr. */
function coapClient(args: string[], whileRunning?: () => void): Promise<{ out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(COAP_CLIENT, ['-B', '10', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
      whileRunning?.();
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve({ out, err }) : reject(new Error(`${COAP_CLIENT} exited ${code}: ${err}`))));
  });
}

const uri = (path: string) => `coap://[::1]:${port}/${path}`;

describe('the firmware core with libcoap coap-client', () => {
  it('answers GET on /3311/0/5850', async () => {
    expect((await coapClient([uri('3311/0/5850')])).out.trim()).toBe('1');
  });

  it('switches off with PUT on /3311/0/5850', async () => {
    await coapClient(['-m', 'put', '-e', '0', uri('3311/0/5850')]);
    expect(lamp.on).toBe(0);
  });

  it('lists its LwM2M object instances at /.well-known/core', async () => {
    expect((await coapClient([uri('.well-known/core')])).out).toContain('</3311/0>');
  });

  it('answers 4.04 to an unknown path', async () => {
    expect((await coapClient([uri('nothing')])).err).toMatch(/4\.04/);
  });

  it('notifies coap-client observing /3311/0/5851', async () => {
    // The first representation printed means the observation is registered: then dim the lamp.
    let dimmed = false;
    const { out } = await coapClient(['-s', '3', '-w', uri('3311/0/5851')], () => {
      if (!dimmed) setImmediate(() => command(hal, lamp, { level: 40 }));
      dimmed = true;
    });
    expect(out.split('\n').filter(Boolean)).toEqual(['100', '40']);
  });
});
