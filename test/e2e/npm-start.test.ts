/**
 * `npm start` itself, as a user runs it in a fresh checkout: the build, then `lampnet up` with
 * every default (MQTT on 1883, dashboard/WebSocket on 9001, metrics on 9464), until Ctrl-C.
 * The defaults are the point here, so this test needs those ports free and says so if they are not.
 */
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from 'vitest';
import { watch, type Watcher } from '../gateway/helpers/mqtt-watch.js';
import { run, type RunningProcess } from '../../bench/process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DEFAULT_PORTS = { 'MQTT (--mqtt-port)': 1883, 'WebSocket and dashboard (--ws-port)': 9001, 'metrics (--metrics-port)': 9464 };

/** Reject with a message naming every default port something else already listens on. */
async function requireFreePorts(ports: Record<string, number>): Promise<void> {
  const busy: string[] = [];
  for (const [what, port] of Object.entries(ports)) {
    const free = await new Promise<boolean>((resolve) => {
      const probe = net.createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (!free) busy.push(`${port} (${what})`);
  }
  if (busy.length > 0) throw new Error(`npm start uses fixed default ports, and these are in use on 127.0.0.1: ${busy.join(', ')}; stop whatever listens there and run again`);
}

let started: RunningProcess | undefined;
let watcher: Watcher | undefined;

afterAll(async () => {
  await watcher?.close();
  await started?.kill();
});

test('npm start builds, brings up the city on the default ports, publishes lampnet/stats, and stops on SIGINT with exit code 0', async () => {
  await requireFreePorts(DEFAULT_PORTS);
  const npmStart = run('npm', ['start'], { cwd: ROOT });
  started = npmStart;

  await npmStart.waitForLine(/^ready$/, 300_000);
  expect(npmStart.lines).toContain('dashboard  http://127.0.0.1:9001/');
  expect(npmStart.lines.some((l) => l.includes("mosquitto_sub -h 127.0.0.1 -p 1883 -t 'lampnet/#' -v"))).toBe(true);
  expect(npmStart.lines.some((l) => l.includes('mosquitto_pub -h 127.0.0.1 -p 1883 -t lampnet/lamps/42/set -m ON'))).toBe(true);

  const mqttWatcher = await watch('mqtt://127.0.0.1:1883', ['lampnet/stats']);
  watcher = mqttWatcher;
  const stats = await mqttWatcher.json<{ lamps: number; online: number }>('lampnet/stats', (s) => s.online === 1000, 60_000);
  expect(stats.lamps).toBe(1000);

  npmStart.signal('SIGINT');
  const exit = await npmStart.exited;
  expect(exit, npmStart.lines.slice(-20).join('\n')).toEqual({ code: 0, signal: null });
  await npmStart.waitForLine(/^lampnet up: stopped$/, 1000);
}, 420_000);
