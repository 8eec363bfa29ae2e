/**
 * `lampnet up --link tun`: the same city, with the lamps on a TUN device the kernel routes to and
 * the gateway on its own udp6 socket — inside a network namespace this test creates (NETWORK
 * SAFETY: nothing leaves it). The broker listens on the namespace's loopback, so the MQTT side is
 * checked with mosquitto_sub/pub run in there too.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { mosquittoSubUntil } from '../helpers/mosquitto-sub.js';
import { Netns } from '../../bench/netns.js';
import { run, type RunningProcess } from '../../bench/process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PREFIX = '2001:db8:75::';
const MQTT_PORT = 18830;

let ns: Netns;
let city: RunningProcess;

beforeAll(async () => {
  ns = await Netns.create('up-tun');
  city = run('ip', ['netns', 'exec', ns.name, process.execPath, 'dist/cli/lampnet.js', 'up', '--link', 'tun', '--lamps', '200', '--prefix', `${PREFIX}/64`,
    '--mqtt-port', String(MQTT_PORT), '--ws-port', 'off', '--metrics-port', 'off'], { cwd: ROOT });
  await city.waitForLine(/^ready$/, 60_000);
}, 90_000);

afterAll(async () => {
  await city?.kill();
  await ns?.delete();
});

const retained = (topic: string, check: (payload: string) => boolean): Promise<string> => mosquittoSubUntil(ns, MQTT_PORT, topic, check);

test('lamps on TUN answer ping and register with the gateway: lampnet/stats shows all 200 online', async () => {
  const ping = await ns.run('ping', ['-6', '-c', '1', '-W', '5', `${PREFIX}2a`]);
  expect(ping.code, ping.stdout + ping.stderr).toBe(0);
  const stats = JSON.parse(await retained('lampnet/stats', (p) => p !== '' && JSON.parse(p).online === 200));
  expect(stats.lamps).toBe(200);
});

test('a level published on MQTT reaches lamp 42 over TUN and comes back as its retained state', async () => {
  const pub = await ns.run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(MQTT_PORT), '-t', 'lampnet/lamps/42/set', '-m', '30']);
  expect(pub.code, pub.stderr).toBe(0);
  const state = JSON.parse(await retained('lampnet/lamps/42/state', (p) => p !== '' && JSON.parse(p).level === 30));
  expect(state).toMatchObject({ on: true, level: 30, address: `${PREFIX}2a` });
});

test('SIGINT stops lampnet up --link tun with exit code 0', async () => {
  city.signal('SIGINT');
  expect(await city.exited).toEqual({ code: 0, signal: null });
});
