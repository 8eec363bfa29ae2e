/**
 * The gateway over a simulated fleet at scale (issue 5's end-to-end loop):
 * - 1,000 lamps on the in-memory link, in-process, as `lampnet up` runs them;
 * - 200 lamps behind a real TUN device in a network namespace, with `lampnet sim` and
 *   `lampnet gateway` (udp6 socket) as separate processes, watched and commanded with Mosquitto's
 *   own clients inside the namespace.
 */
import { type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readState } from '../../firmware/core.js';
import { startGateway, type GatewayHandle } from '../../gateway/gateway.js';
import { startSim, type Sim } from '../../sim/sim.js';
import { mosquittoSubUntil } from '../helpers/mosquitto-sub.js';
import { Netns } from '../../bench/netns.js';
import { EPHEMERAL } from './helpers/gateway-fixture.js';
import { watch, type Watcher } from './helpers/mqtt-watch.js';

interface Stats {
  lamps: number;
  online: number;
  offline: number;
  on: number;
}

describe('the gateway over 1,000 simulated lamps on the in-memory link', () => {
  let sim: Sim;
  let gateway: GatewayHandle;
  let watcher: Watcher;
  const stats = (): Stats => JSON.parse(watcher.last.get('lampnet/stats') ?? '{}') as Stats;
  const lampState = (n: number) => JSON.parse(watcher.last.get(`lampnet/lamps/${n}/state`) ?? '{}') as { on?: boolean };

  beforeAll(async () => {
    // Lamps power up dark here, so that every "on" seen below was commanded.
    sim = await startSim({ lamps: 1000, link: 'memory', prefix: '2001:db8:10::/64', bootJitterMs: 1000, lifetimeS: 4, config: { powerOn: 0 } });
    gateway = await startGateway({ ...EPHEMERAL, sweepIntervalMs: 200, lifetimeGraceMs: 500 }, sim.gatewayEndpoint());
    watcher = await watch(gateway.mqttUrl, ['lampnet/#']);
  });
  afterAll(async () => {
    await watcher?.close();
    await gateway?.close();
    await sim?.close();
  });

  it('reports all 1,000 lamps online in lampnet/stats within seconds', async () => {
    await watcher.until('1,000 online', () => stats().online === 1000, 30_000);
    expect(stats()).toMatchObject({ lamps: 1000, online: 1000, offline: 0, on: 0 });
  });

  it('ON on lampnet/lamps/42/set turns lamp 42 on, retained, and no other lamp', async () => {
    await watcher.publish('lampnet/lamps/42/set', 'ON');
    await watcher.until('lamp 42 on', () => lampState(42).on === true);
    await watcher.until('stats count one lamp on', () => stats().on === 1);
    expect(readState(sim.fleet.hal, sim.fleet.lamp(42)!).on).toBe(true);
    for (let n = 1; n <= 1000; n++) if (n !== 42) expect(sim.fleet.lamp(n)!.on, `lamp ${n}`).toBe(0);
    // A client arriving later sees the retained state.
    const late = await watch(gateway.mqttUrl, ['lampnet/lamps/42/state']);
    try {
      expect((await late.json<{ on: boolean }>('lampnet/lamps/42/state')).on).toBe(true);
    } finally {
      await late.close();
    }
  });

  it('a group command reaches every lamp of the group and no other', async () => {
    await watcher.publish('lampnet/groups/street-3/set', 'ON');
    await watcher.until('street-3 on', () => {
      for (let n = 201; n <= 300; n++) if (lampState(n).on !== true) return false;
      return true;
    });
    for (let n = 1; n <= 1000; n++) {
      expect(sim.fleet.lamp(n)!.on === 1, `lamp ${n}`).toBe(n === 42 || (n >= 201 && n <= 300));
    }
    await watcher.until('stats count 101 lamps on', () => stats().on === 101);
  });

  it('a killed lamp turns offline after its lifetime, and online again once revived', async () => {
    sim.fleet.kill(7);
    await watcher.until('lamp 7 offline', () => watcher.last.get('lampnet/lamps/7/availability') === 'offline', 30_000);
    await watcher.until('stats count it', () => stats().offline === 1);
    sim.fleet.revive(7);
    await watcher.until('lamp 7 online', () => watcher.last.get('lampnet/lamps/7/availability') === 'online', 30_000);
    await watcher.until('stats all online', () => stats().online === 1000 && stats().lamps === 1000);
  });
});

describe('the gateway on a udp6 socket with the simulator behind TUN', () => {
  const PREFIX = '2001:db8:20::';
  const LAMPS = 200;
  const MQTT_PORT = 18_830;
  let ns: Netns;
  const children: ChildProcess[] = [];

  /** Start a `lampnet` subcommand in the namespace; resolves once it prints a line matching `ready`. */
  async function lampnet(args: string[], ready: RegExp): Promise<ChildProcess> {
    const child = ns.spawn('node', ['dist/cli/lampnet.js', ...args]);
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => ready.test(line) && resolve());
      child.once('exit', (code) => reject(new Error(`lampnet ${args[0]} exited (${code}): ${stderr}`)));
    });
    return child;
  }

  /** The retained message on `topic`, read with mosquitto_sub inside the namespace. */
  async function retained(topic: string): Promise<string> {
    const r = await ns.run('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(MQTT_PORT), '-t', topic, '-C', '1', '-W', '10']);
    return r.stdout.trim();
  }

  const retainedUntil = (topic: string, check: (payload: string) => boolean): Promise<string> => mosquittoSubUntil(ns, MQTT_PORT, topic, check);

  beforeAll(async () => {
    ns = await Netns.create('gwtun');
    await lampnet(['sim', '--link', 'tun', '--tun', 'lamps0', '--prefix', `${PREFIX}/64`, '--lamps', String(LAMPS), '--lifetime', '60'], /^ready$/);
    await lampnet(['gateway', '--mqtt-port', String(MQTT_PORT), '--ws-port', 'off', '--metrics-port', 'off', '--command-hold', '0'], /MQTT/i);
  }, 120_000);
  afterAll(async () => {
    await ns?.delete();
  });

  it('every lamp registers from its own address in the prefix and is online', async () => {
    const stats = await retainedUntil('lampnet/stats', (p) => p !== '' && (JSON.parse(p) as Stats).online === LAMPS);
    expect(JSON.parse(stats)).toMatchObject({ lamps: LAMPS, online: LAMPS });
    expect(JSON.parse(await retained('lampnet/lamps/42/state')).address).toBe(`${PREFIX}2a`);
  });

  it('mosquitto_pub OFF to lamp 42 switches exactly that lamp, confirmed in its retained state', async () => {
    const r = await ns.run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(MQTT_PORT), '-t', 'lampnet/lamps/42/set', '-m', 'OFF']);
    expect(r.code).toBe(0);
    await retainedUntil('lampnet/lamps/42/state', (p) => JSON.parse(p).on === false);
    expect(JSON.parse(await retained('lampnet/lamps/43/state')).on).toBe(true);
    const coap = await ns.run('coap-client-notls', ['-m', 'get', '-B', '10', `coap://[${PREFIX}2a]/3311/0/5850`]);
    expect(coap.stdout.trim()).toBe('0');
  });
});
