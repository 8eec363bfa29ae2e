/**
 * Home Assistant's view of `lampnet up`'s gateway, through HA's own MQTT client library: paho-mqtt
 * from Debian (python3-paho-mqtt) on MQTT 5 receives the discovery configs, checks them against the
 * fields HA's MQTT light (JSON schema) requires, and commands a lamp and a street group through the
 * topics the configs name (test/helpers/ha-paho.py).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FIRMWARE_VERSION } from '../../firmware/version.js';
import { type Fixture, startFixture } from './helpers/gateway-fixture.js';

/** Debian's python3, where python3-paho-mqtt installs (a python3 earlier on PATH may lack it). */
const DEBIAN_PYTHON = '/usr/bin/python3';

let fixture: Fixture | null = null;
afterEach(async () => {
  await fixture?.close();
  fixture = null;
});

describe('Home Assistant (paho-mqtt, MQTT 5)', () => {
  it('receives valid discovery configs and commands a lamp and a group', async () => {
    fixture = await startFixture(3, { gateway: { haDiscovery: true }, configure: (config) => { config.groups = 'street-1'; } });
    await fixture.allOnline();
    const port = new URL(fixture.gateway.mqttUrl).port;
    const ha = spawn(DEBIAN_PYTHON, [path.resolve('test/helpers/ha-paho.py'), '127.0.0.1', port, '3', 'street-1']);
    let out = '';
    let err = '';
    ha.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    ha.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const code = await new Promise<number | null>((resolve) => ha.once('exit', resolve));
    expect(code, err).toBe(0);
    expect(JSON.parse(out)).toEqual({ configs: 4, lamp: expect.stringMatching(/^lampnet_[123]$/), sw_version: FIRMWARE_VERSION });
    expect([1, 2, 3].map((n) => fixture!.lamps.state(n).on)).toEqual([false, false, false]);
  }, 60_000);
});
