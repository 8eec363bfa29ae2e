/**
 * Issue 8, faults with real processes: the gateway is killed (SIGKILL, no goodbye) under a running
 * fleet and started again, and then the broker is restarted. Everything runs in a network namespace
 * this suite creates: Mosquitto, `lampnet sim --link tun` (200 lamps) and `lampnet gateway` on its
 * udp6 socket. Commands published while the gateway is down must be delivered after it comes back
 * (the broker keeps the gateway's persistent session), and every lamp must be back on MQTT exactly
 * once; after a broker restart (no persistence) the gateway republishes every lamp and takes
 * commands again.
 */
import { type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosquittoSubUntil } from '../helpers/mosquitto-sub.js';
import { Netns } from '../../bench/netns.js';

const PREFIX = '2001:db8:30::';
const LAMPS = 200;
const MQTT_PORT = 18_831;

interface Stats {
  lamps: number;
  online: number;
  offline: number;
}

let ns: Netns;
let dir: string;
let mosquitto: ChildProcess;
let gateway: ChildProcess | null = null;

/** Start a command in the namespace; resolves once a stdout or stderr line matches `ready`. */
async function start(command: string, args: string[], ready: RegExp): Promise<ChildProcess> {
  const child = ns.spawn(command, args);
  let output = '';
  await new Promise<void>((resolve, reject) => {
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        output += `${line}\n`;
        if (ready.test(line)) resolve();
      });
    }
    child.once('exit', (code) => reject(new Error(`${command} exited (${code}) before it was ready:\n${output}`)));
  });
  return child;
}

function startMosquitto(): Promise<ChildProcess> {
  return start('mosquitto', ['-c', path.join(dir, 'mosquitto.conf')], /running|Opening ipv4 listen socket/i);
}

function startGateway(): Promise<ChildProcess> {
  return start('node', ['dist/cli/lampnet.js', 'gateway', '--mqtt', `mqtt://127.0.0.1:${MQTT_PORT}`, '--metrics-port', 'off', '--command-hold', '120'], /MQTT/i);
}

/** Resolve with the first payload on `topic` (retained or new) that `check` accepts. */
const until = (topic: string, check: (payload: string) => boolean, timeoutS = 60): Promise<string> => mosquittoSubUntil(ns, MQTT_PORT, topic, check, timeoutS);

/** Resolves once every lamp's `lampnet/lamps/<n>/<leaf>` (retained or new) has been seen with `payload`. */
async function everyLamp(leaf: string, payload: string, timeoutS = 60): Promise<void> {
  const sub = ns.spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(MQTT_PORT), '-t', `lampnet/lamps/+/${leaf}`, '-v', '-W', String(timeoutS)]);
  const seen = new Set<string>();
  try {
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: sub.stdout! }).on('line', (line) => {
        if (line.endsWith(` ${payload}`)) seen.add(line.slice(0, line.indexOf(' ')));
        if (seen.size === LAMPS) resolve();
      });
      sub.once('exit', () => reject(new Error(`${seen.size} of ${LAMPS} lamps seen with ${leaf} ${payload} within ${timeoutS} s`)));
    });
  } finally {
    sub.kill('SIGTERM');
  }
}

/** The retained messages under a wildcard, expected to be `count`: mosquitto_sub exits once it has
 * that many (the broker sends a subscription's retained messages before any new one), bounded by a
 * generous -W; fewer is an error, and so is a message without the retain flag among them. */
async function retainedUnder(filter: string, count: number): Promise<Map<string, string>> {
  const r = await ns.run('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(MQTT_PORT), '-t', filter, '-F', '%r %t %p', '-C', String(count), '-W', '60'], 90_000);
  const lines = r.stdout.split('\n').filter((line) => line !== '');
  if (r.code !== 0) throw new Error(`mosquitto_sub ${filter} got ${lines.length} of ${count} retained messages (exit ${r.code}): ${r.stderr}`);
  const out = new Map<string, string>();
  for (const line of lines) {
    const [retained, topic] = line.split(' ', 2);
    if (retained !== '1') throw new Error(`a message on ${topic} among the first ${count} under ${filter} was not retained`);
    out.set(topic, line.slice(retained.length + topic.length + 2));
  }
  return out;
}

async function publish(topic: string, payload: string): Promise<void> {
  const r = await ns.run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(MQTT_PORT), '-q', '1', '-t', topic, '-m', payload]);
  if (r.code !== 0) throw new Error(`mosquitto_pub failed: ${r.stderr}`);
}

beforeAll(async () => {
  ns = await Netns.create('restart');
  dir = mkdtempSync(path.join(tmpdir(), 'lampnet-restart-'));
  const config = path.join(dir, 'mosquitto.conf');
  writeFileSync(config, [`listener ${MQTT_PORT} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'log_dest stderr', ''].join('\n'));
  mosquitto = await startMosquitto();
  await start('node', ['dist/cli/lampnet.js', 'sim', '--link', 'tun', '--tun', 'lamps0', '--prefix', `${PREFIX}/64`, '--lamps', String(LAMPS), '--lifetime', '20'], /^ready$/);
}, 120_000);

afterAll(async () => {
  await ns?.delete();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the gateway killed and restarted under a running fleet', () => {
  it('comes back with every lamp once, delivers the commands sent while it was down, and loses no state', async () => {
    gateway = await startGateway();
    await until('lampnet/stats', (p) => (JSON.parse(p) as Stats).online === LAMPS);
    await publish('lampnet/lamps/5/set', '{"on":true,"level":30}');
    await until('lampnet/lamps/5/state', (p) => JSON.parse(p).level === 30);

    gateway.kill('SIGKILL');
    await until('lampnet/gateway/status', (p) => p === 'offline');
    // Sent while no gateway is there: the broker holds them in the gateway's persistent session.
    await publish('lampnet/lamps/6/set', 'OFF');
    await publish('lampnet/lamps/7/set', '55');

    gateway = await startGateway();
    await until('lampnet/gateway/status', (p) => p === 'online');
    await until('lampnet/lamps/6/state', (p) => JSON.parse(p).on === false);
    await until('lampnet/lamps/7/state', (p) => JSON.parse(p).level === 55);
    await until('lampnet/stats', (p) => {
      const s = JSON.parse(p) as Stats;
      return s.online === LAMPS && s.lamps === LAMPS;
    });

    const states = await retainedUnder('lampnet/lamps/+/state', LAMPS);
    expect(states.size).toBe(LAMPS);
    for (let n = 1; n <= LAMPS; n++) expect(states.has(`lampnet/lamps/${n}/state`), `lamp ${n}`).toBe(true);
    // State from before the crash survived it.
    expect(JSON.parse(states.get('lampnet/lamps/5/state')!)).toMatchObject({ on: true, level: 30 });
    const availability = await retainedUnder('lampnet/lamps/+/availability', LAMPS);
    expect([...availability.values()].filter((v) => v === 'online')).toHaveLength(LAMPS);
  }, 180_000);

  it('republishes every lamp after a Mosquitto restart and executes a command sent after it', async () => {
    if (gateway === null || gateway.exitCode !== null) gateway = await startGateway();
    await until('lampnet/gateway/status', (p) => p === 'online');
    const exited = new Promise((resolve) => mosquitto.once('exit', resolve));
    mosquitto.kill('SIGTERM');
    await exited;
    // Mosquitto runs without persistence: whatever is retained after the restart, the gateway sent again.
    mosquitto = await startMosquitto();
    await until('lampnet/gateway/status', (p) => p === 'online');
    // The gateway republishes each lamp's state, then its availability: once every lamp is online
    // again, the republication is complete and the broker retains all of it.
    await everyLamp('availability', 'online');
    const states = await retainedUnder('lampnet/lamps/+/state', LAMPS);
    for (let n = 1; n <= LAMPS; n++) expect(states.has(`lampnet/lamps/${n}/state`), `lamp ${n}`).toBe(true);
    expect(JSON.parse(states.get('lampnet/lamps/5/state')!)).toMatchObject({ on: true, level: 30 });
    await publish('lampnet/lamps/8/set', '{"on":true,"level":42}');
    await until('lampnet/lamps/8/state', (p) => JSON.parse(p).level === 42);
  }, 180_000);
});
