/**
 * `lampnet up` as an operator meets it: the built CLI as a child process on free loopback ports,
 * Mosquitto's own clients (mosquitto_sub/mosquitto_pub) as the outside world. The hints it prints
 * work for the fleet that runs, a command for a lamp that does not exist is an error at once, and
 * Ctrl-C announces `offline` to outside subscribers before the embedded broker goes away.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { run, type RunningProcess } from '../../bench/process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Up {
  process: RunningProcess;
  mqttPort: number;
}

const started: RunningProcess[] = [];
const subscribers: ChildProcess[] = [];
afterEach(async () => {
  for (const sub of subscribers.splice(0)) sub.kill('SIGKILL');
  for (const p of started.splice(0)) await p.kill();
});

async function up(...args: string[]): Promise<Up> {
  const p = run(process.execPath, ['dist/cli/lampnet.js', 'up', '--mqtt-port', '0', '--ws-port', 'off', '--metrics-port', 'off', ...args], { cwd: ROOT });
  started.push(p);
  await p.waitForLine(/^ready$/, 60_000);
  const [, port] = await p.waitForLine(/^MQTT +mqtt:\/\/127\.0\.0\.1:(\d+)/, 1000);
  return { process: p, mqttPort: Number(port) };
}

/** mosquitto_sub -v on `topic`, with every line it prints as it arrives. */
function subscribe(port: number, topic: string): { lines: string[]; next(check: (line: string) => boolean, timeoutMs?: number): Promise<string> } {
  const sub = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-t', topic, '-v', '-W', '60'], { stdio: ['ignore', 'pipe', 'inherit'] });
  subscribers.push(sub);
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: sub.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const w of [...waiters]) w();
  });
  return {
    lines,
    next: (check, timeoutMs = 30_000) => new Promise((resolve, reject) => {
      const test = (): void => {
        const line = lines.find(check);
        if (line === undefined) return;
        waiters.delete(test);
        clearTimeout(timer);
        resolve(line);
      };
      const timer = setTimeout(() => {
        waiters.delete(test);
        reject(new Error(`mosquitto_sub ${topic}: no such line within ${timeoutMs} ms; got: ${lines.join(' | ')}`));
      }, timeoutMs);
      waiters.add(test);
      test();
    }),
  };
}

/** mosquitto_pub once; resolves when it has exited 0. */
function publish(port: number, topic: string, message: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const pub = spawn('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-t', topic, '-m', message, '-q', '1'], { stdio: 'inherit' });
    pub.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`mosquitto_pub exited ${code}`))));
  });
}

describe('lampnet up --lamps 20', () => {
  it('suggests a command for a lamp of this fleet, and that command works as printed', async () => {
    const city = await up('--lamps', '20');
    const line = city.process.lines.find((l) => l.startsWith('command '));
    expect(line).toBe(`command    mosquitto_pub -h 127.0.0.1 -p ${city.mqttPort} -t lampnet/lamps/20/set -m ON`);
    const state = subscribe(city.mqttPort, 'lampnet/lamps/20/state');
    await publish(city.mqttPort, 'lampnet/lamps/20/set', 'ON');
    await state.next((l) => JSON.parse(l.slice(l.indexOf(' ') + 1)).on === true);
  });

  it('answers a command for a lamp that does not exist with unknown-lamp at once, not after the command hold', async () => {
    const city = await up('--lamps', '20', '--command-hold', '300');
    const errors = subscribe(city.mqttPort, 'lampnet/gateway/errors');
    const stats = subscribe(city.mqttPort, 'lampnet/stats');
    await stats.next((l) => JSON.parse(l.slice(l.indexOf(' ') + 1)).online === 20);
    const sent = Date.now();
    await publish(city.mqttPort, 'lampnet/lamps/99999/set', 'ON');
    const report = JSON.parse((await errors.next(() => true, 20_000)).replace(/^\S+ /, '')) as { kind: string; lamp: string };
    expect(report).toMatchObject({ kind: 'unknown-lamp', lamp: '99999' });
    expect(Date.now() - sent).toBeLessThan(20_000);
  });
});

describe('lampnet up --lamps all', () => {
  it('says why MQTT and the dashboard show no lamps, and suggests no MQTT command that cannot work', async () => {
    const city = await up('--lamps', 'all');
    const text = city.process.lines.join('\n');
    expect(text).toMatch(/^note +with --lamps all .* do not register with the gateway: MQTT and the dashboard show no lamps/m);
    expect(text).not.toMatch(/^command /m);
  });
});

describe('Ctrl-C', () => {
  it('delivers lampnet/gateway/status offline to an outside mosquitto_sub before the embedded broker closes, and exits 0', async () => {
    const city = await up('--lamps', '20');
    const status = subscribe(city.mqttPort, 'lampnet/gateway/status');
    await status.next((l) => l === 'lampnet/gateway/status online');
    city.process.signal('SIGINT');
    expect(await city.process.exited).toEqual({ code: 0, signal: null });
    await status.next((l) => l === 'lampnet/gateway/status offline', 5000);
  });
});
