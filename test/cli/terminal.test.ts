/**
 * A terminal that talks: what `lampnet up` and `lampnet gateway` print after `ready`, through the
 * built CLI as a child process, with Mosquitto's own clients and a real Mosquitto broker as the
 * outside world. Progress and a line when all lamps are online, summary lines, event lines (lamp
 * faults, a refused client, the broker lost and back), --log-level and --log-format json.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { run, type RunningProcess } from '../../bench/process.js';
import { startMosquitto, type Mosquitto } from '../gateway/helpers/mosquitto.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const started: RunningProcess[] = [];
let mosquitto: Mosquitto | null = null;
afterEach(async () => {
  for (const p of started.splice(0)) await p.kill();
  await mosquitto?.stop();
  mosquitto = null;
});

function lampnet(...args: string[]): RunningProcess {
  const p = run(process.execPath, ['dist/cli/lampnet.js', ...args], { cwd: ROOT });
  started.push(p);
  return p;
}

async function up(...args: string[]): Promise<{ process: RunningProcess; mqttPort: number }> {
  const p = lampnet('up', '--mqtt-port', '0', '--ws-port', 'off', '--metrics-port', 'off', ...args);
  await p.waitForLine(/^ready$/, 60_000);
  const [, port] = await p.waitForLine(/^MQTT +mqtt:\/\/127\.0\.0\.1:(\d+)/, 1000);
  return { process: p, mqttPort: Number(port) };
}

/** The lines printed after `ready`. */
const afterReady = (p: RunningProcess): string[] => p.lines.slice(p.lines.indexOf('ready') + 1);

function mosquittoPub(args: string[]): Promise<number | null> {
  return new Promise((resolve) => spawn('mosquitto_pub', args, { stdio: 'ignore' }).once('exit', resolve));
}

describe('lampnet up after ready', () => {
  it('prints a line when all lamps are online, a line per lamp fault, and a summary line every --summary-interval', async () => {
    const { process: p } = await up('--lamps', '50', '--fail-rate', '0.2', '--summary-interval', '1');
    await p.waitForLine(/^\d\d:\d\d:\d\d info  all 50 lamps registered and published \(50 online\) in [\d.]+ s$/, 30_000);
    const [, faults] = await p.waitForLine(/info  summary: 50 lamps \(50 online, 0 offline, \d+ on, (\d+) fault\); registrations 50; commands 0 confirmed, 0 failed; errors none; backlog 0 to publish, 0 commands$/, 30_000);
    expect(Number(faults)).toBeGreaterThan(0);
    const faultLines = afterReady(p).filter((l) => /warn  lamp \d+: fault$/.test(l));
    expect(faultLines.length).toBeGreaterThan(0);
    expect(faultLines.length).toBeLessThanOrEqual(Number(faults));
  });

  it('with --log-format json prints every line after ready as one JSON object with time, level and msg', async () => {
    const { process: p } = await up('--lamps', '20', '--log-format', 'json', '--summary-interval', '1');
    // Lamps register once the gateway's MQTT connection is up, after `ready`: wait for them all.
    await p.waitForLine(/"event":"summary".*"online":20\b.*"publishBacklog":0\b/, 30_000);
    const records = afterReady(p).map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const r of records) {
      expect(Date.parse(r.time as string)).not.toBeNaN();
      expect(['error', 'warn', 'info', 'debug']).toContain(r.level);
      expect(typeof r.msg).toBe('string');
    }
    expect(records.find((r) => r.event === 'all-online')).toMatchObject({ level: 'info', lamps: 20, online: 20 });
    expect(records.find((r) => r.event === 'summary' && r.online === 20 && r.publishBacklog === 0)).toMatchObject({ lamps: 20, online: 20, registrations: 20, publishBacklog: 0 });
  });

  it('at --log-level debug prints each command outcome; at warn no info lines', async () => {
    const debug = await up('--lamps', '20', '--log-level', 'debug');
    expect(await mosquittoPub(['-h', '127.0.0.1', '-p', String(debug.mqttPort), '-t', 'lampnet/lamps/99999/set', '-m', 'ON'])).toBe(0);
    await debug.process.waitForLine(/debug command on lampnet\/lamps\/99999\/set failed: unknown-lamp: /, 20_000);

    const quiet = await up('--lamps', '20', '--fail-rate', '0.5', '--log-level', 'warn', '--summary-interval', '1');
    await quiet.process.waitForLine(/warn  lamp \d+: fault$/, 30_000);
    // Absence needs a window: a summary is due every second, so two had the chance to (wrongly) appear.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(afterReady(quiet.process).filter((l) => / info  /.test(l))).toEqual([]);
  });

  it('prints a line for a client the embedded broker refuses', async () => {
    const city = await up('--lamps', '5', '--broker-user', 'city', '--broker-password', 'right');
    await mosquittoPub(['-h', '127.0.0.1', '-p', String(city.mqttPort), '-u', 'city', '-P', 'wrong', '-i', 'intruder', '-t', 'lampnet/lamps/1/set', '-m', 'ON']);
    await city.process.waitForLine(/warn  MQTT client intruder refused: /, 20_000);
  });
});

describe('lampnet gateway after ready', () => {
  it('prints a line when it loses its broker and another when it is connected again', async () => {
    mosquitto = await startMosquitto();
    const gateway = lampnet('gateway', '--mqtt', mosquitto.url, '--client-id', 'lampnet-terminal', '--metrics-port', 'off', '--coap-host', '::1', '--coap-port', '0');
    await gateway.waitForLine(/^ready$/, 30_000);
    await mosquitto.restart();
    await gateway.waitForLine(/warn  MQTT broker lost: .*; reconnecting$/, 20_000);
    await gateway.waitForLine(/info  MQTT broker connected again$/, 30_000);
  });
});
