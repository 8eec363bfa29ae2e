/**
 * Home Assistant's view of `lampnet up`, through HA's own MQTT client library: paho-mqtt from Debian
 * (python3-paho-mqtt) on MQTT 5 receives the discovery configs, checks them against the fields HA's
 * MQTT light (JSON schema) requires, and commands a lamp and a street group through the topics the
 * configs name (test/helpers/ha-paho.py). `lampnet up` runs as a real process (compiled dist/).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIRMWARE_VERSION_TEXT as FIRMWARE_VERSION } from '../../firmware/resources.js';
import { run, type RunningProcess } from '../../bench/process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Debian's python3, where python3-paho-mqtt installs (a python3 earlier on PATH may lack it). */
const DEBIAN_PYTHON = '/usr/bin/python3';
const LAMPS = 6;

let city: RunningProcess;
let port: string;

beforeAll(async () => {
  city = run(process.execPath, ['dist/cli/lampnet.js', 'up', '--lamps', String(LAMPS), '--street-size', '3', '--ha-discovery',
    '--mqtt-port', '0', '--ws-port', 'off', '--metrics-port', 'off'], { cwd: ROOT });
  await city.waitForLine(/^ready$/, 60_000);
  port = new URL((await city.waitForLine(/^MQTT\s+(mqtt:\/\/\S+)/, 1000))[1]).port;
}, 90_000);

afterAll(async () => {
  await city?.kill();
});

describe('Home Assistant (paho-mqtt, MQTT 5) on lampnet up', () => {
  it('receives valid discovery configs and commands a lamp and a street group', async () => {
    const ha = spawn(DEBIAN_PYTHON, [path.join(ROOT, 'test/helpers/ha-paho.py'), '127.0.0.1', port, String(LAMPS), 'street-1']);
    let out = '';
    let err = '';
    ha.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    ha.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const code = await new Promise<number | null>((resolve) => ha.once('exit', resolve));
    expect(code, err).toBe(0);
    expect(JSON.parse(out)).toEqual({ configs: LAMPS + 2, members: 3, lamp: 'lampnet_1', sw_version: FIRMWARE_VERSION });
  }, 60_000);
});
