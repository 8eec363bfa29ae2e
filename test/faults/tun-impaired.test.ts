/**
 * Loss and latency on the lamps' path through the kernel: `lampnet up --link tun` with the
 * simulator's `--loss` and `--latency` (seeded), the gateway on its own udp6 socket, all inside a
 * network namespace this suite creates. Every command is still confirmed, by retransmission, and the
 * retransmissions are counted. (The machine's kernel has no netem qdisc, so the impairment is the
 * simulator's own, on each datagram that crosses the TUN device.)
 */
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { metricValue } from '../gateway/helpers/gateway-fixture.js';
import { Netns } from '../../bench/netns.js';
import { run, type RunningProcess } from '../../bench/process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PREFIX = '2001:db8:36::';
const LAMPS = 30;
const MQTT_PORT = 18_833;
const METRICS_PORT = 19_466;

let ns: Netns;
let city: RunningProcess;

beforeAll(async () => {
  ns = await Netns.create('impaired');
  city = run('ip', ['netns', 'exec', ns.name, process.execPath, 'dist/cli/lampnet.js', 'up', '--link', 'tun', '--lamps', String(LAMPS), '--prefix', `${PREFIX}/64`,
    '--loss', '0.1', '--latency', '40', '--seed', '7', '--ack-timeout', '0.5',
    '--mqtt-port', String(MQTT_PORT), '--ws-port', 'off', '--metrics-port', String(METRICS_PORT)], { cwd: ROOT });
  await city.waitForLine(/^ready$/, 60_000);
}, 90_000);

afterAll(async () => {
  await city?.kill();
  await ns?.delete();
});

/** Resolves once every lamp's retained or new state satisfies `check`, bounded by mosquitto_sub's -W. */
async function everyLampState(check: (state: { on: boolean; level: number }) => boolean, timeoutS = 90): Promise<void> {
  const sub = ns.spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(MQTT_PORT), '-t', 'lampnet/lamps/+/state', '-v', '-W', String(timeoutS)]);
  const done = new Set<string>();
  try {
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: sub.stdout! }).on('line', (line) => {
        const space = line.indexOf(' ');
        if (check(JSON.parse(line.slice(space + 1)))) done.add(line.slice(0, space));
        else done.delete(line.slice(0, space));
        if (done.size === LAMPS) resolve();
      });
      sub.once('exit', () => {
        const missing = Array.from({ length: LAMPS }, (_, k) => `lampnet/lamps/${k + 1}/state`).filter((t) => !done.has(t));
        reject(new Error(`${done.size} of ${LAMPS} lamps reached the state within ${timeoutS} s; not: ${missing.join(', ')}`));
      });
    });
  } finally {
    sub.kill('SIGTERM');
  }
}

async function metrics(): Promise<string> {
  const r = await ns.run('curl', ['-sf', `http://127.0.0.1:${METRICS_PORT}/metrics`]);
  if (r.code !== 0) throw new Error(`curl of the metrics failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

test('every command reaches its lamp through 10% loss and 40 ms latency each way, by retransmission', async () => {
  await everyLampState(() => true);
  const commands = Array.from({ length: LAMPS }, (_, k) => ns.run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(MQTT_PORT), '-q', '1', '-t', `lampnet/lamps/${k + 1}/set`, '-m', '{"on":true,"level":33}']));
  for (const r of await Promise.all(commands)) expect(r.code, r.stderr).toBe(0);
  await everyLampState((s) => s.on && s.level === 33);
  // A lamp reports its new state itself, so its state can arrive while the gateway still
  // retransmits for the lost ACK: wait for every exchange to end (no event to wait on: poll, bounded).
  const ended = (t: string) => ['confirmed', 'refused', 'timeout'].reduce((sum, r) => sum + metricValue(t, `lampnet_gateway_command_deliveries_total{result="${r}"}`), 0);
  let text = await metrics();
  for (const deadline = Date.now() + 60_000; ended(text) < LAMPS; text = await metrics()) {
    if (Date.now() > deadline) throw new Error(`${ended(text)} of ${LAMPS} command exchanges ended within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  expect(metricValue(text, 'lampnet_gateway_command_deliveries_total{result="confirmed"}')).toBe(LAMPS);
  expect(metricValue(text, 'lampnet_gateway_command_deliveries_total{result="timeout"}')).toBe(0);
  expect(metricValue(text, 'lampnet_gateway_coap_retransmissions_total')).toBeGreaterThan(0);
}, 180_000);
