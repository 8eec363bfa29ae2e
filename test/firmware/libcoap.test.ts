/**
 * The firmware core as a real CoAP server on loopback, talked to by libcoap's coap-client: proof
 * that the codec and the LwM2M server side interoperate with an independent implementation: Discover,
 * Read in each content format, Write, Write-Attributes and Observe with pmin/pmax.
 * The HAL here is the smallest real platform: a udp6 socket on ::1, Node timers, the wall clock.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { boot, command, halt, receive, wake } from '../../firmware/core.js';
import type { Addr, Hal } from '../../firmware/hal.js';
import { createLamp, defaultConfig, type LampState } from '../../firmware/lamp.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSenml } from '../../protocol/lwm2m/senml.js';
import { readTlv, tlvReader, tlvValue } from '../../protocol/lwm2m/tlv.js';
import { BOOLEAN, INTEGER } from '../../protocol/lwm2m/objects.js';

const COAP_CLIENT = 'coap-client-notls';

let socket: Socket;
let lamp: LampState;
let hal: Hal;
let timer: NodeJS.Timeout | undefined;
let port = 0;
/** When the lamp sent each datagram (wall clock, ms): its own timing, whatever the receiver's load. */
let sentAt: number[] = [];

beforeEach(async () => {
  socket = createSocket('udp6');
  hal = {
    now: () => Date.now(),
    wakeAt: (l, at) => {
      clearTimeout(timer);
      timer = at === Infinity ? undefined : setTimeout(() => wake(hal, l), Math.max(0, at - Date.now()));
    },
    light: () => {},
    send: (l, to: Addr, p, data, len) => {
      sentAt.push(Date.now());
      socket.send(data.slice(0, len), p, String(to));
    },
    setGroups: () => {},
    saveConfig: () => {},
    gateway: () => null,
    trusted: () => true,
    random: Math.random,
    reboot: (l) => setImmediate(() => boot(hal, l)),
    memoryFree: () => 0,
    log: () => {},
  };
  sentAt = [];
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
function coapClient(args: string[], whileRunning?: (chunk: string) => void): Promise<{ out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(COAP_CLIENT, ['-B', '10', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
      whileRunning?.(String(d));
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

  it('discovers /3311/0 in link format with the attributes written to it (Write-Attributes)', async () => {
    await coapClient(['-m', 'put', uri('3311/0?pmax=60')]);
    const { out } = await coapClient(['-A', '40', uri('3311/0')]);
    expect(out.trim()).toBe('</3311/0>;pmax=60,</3311/0/5850>,</3311/0/5851>,</3311/0/5852>,</3311/0/5805>');
  });

  it('reads in text/plain, SenML JSON and TLV, and refuses an Accept it does not serve with 4.06', async () => {
    expect((await coapClient(['-A', '0', uri('3311/0/5851')])).out.trim()).toBe('100');
    const senml = readSenml((await coapClient(['-A', '110', uri('3311/0')])).out.trim());
    expect(senml).toContainEqual({ obj: 3311, inst: 0, res: 5850, ri: -1, value: true });
    const dir = mkdtempSync(join(tmpdir(), 'lampnet-tlv-'));
    try {
      await coapClient(['-A', '11542', '-o', join(dir, 'tlv'), uri('3311/0')]);
      const bytes = new Uint8Array(readFileSync(join(dir, 'tlv')));
      const tlv = tlvReader(16);
      expect(readTlv(tlv, bytes, 0, bytes.length)).toBe(true);
      const at = (res: number) => [...tlv.res.subarray(0, tlv.count)].indexOf(res);
      expect([tlvValue(tlv, at(5850), BOOLEAN), tlvValue(tlv, at(5851), INTEGER)]).toEqual([true, 100]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect((await coapClient(['-A', '50', uri('3311/0')])).err).toMatch(/4\.06/);
  });

  it('takes a SenML JSON partial update (POST) of /3311/0', async () => {
    await coapClient(['-m', 'post', '-t', '110', '-e', '[{"bn":"/3311/0/","n":"5850","vb":true},{"n":"5851","v":30}]', uri('3311/0')]);
    expect([lamp.on, lamp.level]).toEqual([1, 30]);
  });

  it('holds a change back until pmin and notifies an unchanged value at pmax', async () => {
    await coapClient(['-m', 'put', uri('3311/0/5851?pmin=1&pmax=2')]);
    const seen: string[] = [];
    const first = sentAt.length;
    // The first representation printed means the observation is registered: then dim the lamp.
    await coapClient(['-s', '5', '-w', uri('3311/0/5851')], (chunk) => {
      for (const value of chunk.split('\n').filter(Boolean)) seen.push(value);
      if (seen.length === 1) setImmediate(() => command(hal, lamp, { level: 40 }));
    });
    expect(seen.slice(0, 3)).toEqual(['100', '40', '40']);
    // pmin: the change waits a second after the first value; pmax: the same value again 2 s on.
    // Timed where the lamp sent them: a loaded receiver may print the first one late.
    const [answer, change, again] = sentAt.slice(first, first + 3);
    expect(change - answer).toBeGreaterThanOrEqual(990);
    expect(again - change).toBeGreaterThanOrEqual(1990);
  });
});
