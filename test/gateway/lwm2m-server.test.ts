/**
 * The gateway as an LwM2M server, against a minimal LwM2M client speaking SenML JSON as the lampnet
 * firmware does (helpers/lwm2m-client.ts, real UDP on loopback), with the embedded broker read by an
 * mqtt.js subscriber: it registers, is observed with the pmax the gateway writes, its energy on MQTT
 * is fresh, and commands (with a transition, and to its group) reach it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CREATED, DELETED, POST } from '../../protocol/coap.js';
import { startGateway, type GatewayHandle, type GatewayOptions } from '../../gateway/gateway.js';
import type { LampStateDocument } from '../../protocol/mqtt-topics.js';
import { startLwm2mClient, type Lwm2mClientOptions, type Lwm2mTestClient } from './helpers/lwm2m-client.js';
import { EPHEMERAL, metricValue } from './helpers/gateway-fixture.js';
import { watch, type Watcher } from './helpers/mqtt-watch.js';

let gateway: GatewayHandle | null = null;
let watcher: Watcher | null = null;
let lamp: Lwm2mTestClient | null = null;
afterEach(async () => {
  await lamp?.close();
  await watcher?.close();
  await gateway?.close();
  lamp = watcher = gateway = null;
});

async function setUp(options: Partial<GatewayOptions> = {}, groups = 'north,all', client: Lwm2mClientOptions = {}) {
  gateway = await startGateway({ ...EPHEMERAL, ...options });
  watcher = await watch(gateway.mqttUrl, ['lampnet/#']);
  lamp = await startLwm2mClient('senml-1', gateway.coapPort!, { groups, ...client });
  expect((await lamp.register()).code).toBe(CREATED);
  return { gateway, watcher, lamp };
}

const state = (w: Watcher, check: (s: LampStateDocument) => boolean = () => true) => w.json<LampStateDocument>('lampnet/lamps/senml-1/state', check);

describe('the gateway as an LwM2M server', () => {
  it('sets pmax, observes the light, its power and its faults, and reads its groups after Register', async () => {
    const { watcher, lamp } = await setUp({ energyPmaxS: 45 });
    const s = await state(watcher, (d) => d.watts !== undefined && d.fault !== undefined && d.groups.length === 2);
    expect(s).toMatchObject({ on: false, level: 100, watts: 0, energyWh: 0, onTimeS: 0, fault: false, groups: ['north', 'all'], state: 'OFF' });
    expect(lamp.pmaxS).toBe(45);
    expect(lamp.location).toMatch(/^rd\/[0-9a-z]+$/);
    expect(lamp.requests.map((r) => `${r.code} ${r.path}${r.query.length ? '?' + r.query.join('&') : ''}`)).toEqual(['3 3311/0?pmax=45', '1 3311/0', '1 3305/0', '1 3/0/11', '1 3/0/3', '1 32311/0/0']);
  });

  it('tries an Observe the lamp never answered again after a backoff, and publishes its first state long before its next Update', async () => {
    // Two transmissions a try (maxRetransmit 1), both ignored: the first try times out within
    // 100 ms × 3 × 1.5, and the second follows 100–150 ms later.
    const { gateway, watcher, lamp } = await setUp({ ackTimeoutMs: 100, maxRetransmit: 1 }, 'north', { ignoreObserves: 2, lifetimeS: 300 });
    const registered = Date.now();
    const s = await state(watcher, (d) => d.watts !== undefined && d.fault !== undefined && d.groups.length === 1);
    expect(s).toMatchObject({ on: false, level: 100, energyWh: 0, groups: ['north'] });
    // Well before the lamp's next Update (85 % of its 300 s lifetime), which used to be the next try.
    expect(Date.now() - registered).toBeLessThan(10_000);
    expect(lamp.requests.filter((r) => r.code === 1 && r.path === '3311/0')).toHaveLength(3);
    expect(lamp.requests.map((r) => `${r.code} ${r.path}`).slice(-4)).toEqual(['1 3305/0', '1 3/0/11', '1 3/0/3', '1 32311/0/0']);
    const metrics = await (await fetch(`http://127.0.0.1:${gateway.metricsPort}/metrics`)).text();
    expect(metricValue(metrics, 'lampnet_gateway_coap_dropped_total{reason="observe-failed"}')).toBe(1);
  });

  it('paces the setup of many registering lamps: never more setup requests out than allowed, and every lamp set up', async () => {
    gateway = await startGateway({ ...EPHEMERAL, maxSetupsInFlight: 3 });
    watcher = await watch(gateway.mqttUrl, ['lampnet/#']);
    const outstanding = { now: 0, most: 0 };
    const lamps = await Promise.all(Array.from({ length: 12 }, (_, k) => startLwm2mClient(`slow-${k}`, gateway!.coapPort!, { answerDelayMs: 30, outstanding })));
    try {
      for (const l of await Promise.all(lamps.map((l) => l.register()))) expect(l.code).toBe(CREATED);
      const w = watcher;
      await w.until('12 lamps with their first state', () => lamps.every((l) => w.last.has(`lampnet/lamps/${l.ep}/state`)));
      for (const l of lamps) expect(l.requests.map((r) => `${r.code} ${r.path}`)).toEqual(['3 3311/0', '1 3311/0', '1 3305/0', '1 3/0/11', '1 3/0/3', '1 32311/0/0']);
      expect(outstanding.most).toBe(3);
    } finally {
      for (const l of lamps) await l.close();
    }
  });

  it('keeps energy on MQTT within 1 % of what the lamp metered, pmax + 5 s after it started drawing', async () => {
    const pmaxS = 2;
    const { watcher, lamp } = await setUp({ energyPmaxS: pmaxS });
    await state(watcher);
    await watcher.publish('lampnet/lamps/senml-1/set', 'ON');
    await state(watcher, (d) => d.on && d.watts === 60);
    const on = Date.now();
    await watcher.until('pmax + 5 s of drawing', () => Date.now() - on >= (pmaxS + 5) * 1000 && lamp.notified.length > 0 && Date.now() - lamp.notified[lamp.notified.length - 1].at < 200, (pmaxS + 15) * 1000);
    const last = lamp.notified[lamp.notified.length - 1];
    const published = await state(watcher, (d) => d.energyWh === last.energyWh);
    // Within 1 % of the lamp's own meter at its latest notification, which is no older than pmax.
    expect(Math.abs(published.energyWh! - last.energyWh)).toBeLessThanOrEqual(0.01 * last.energyWh);
    expect(Date.now() - last.at).toBeLessThan(pmaxS * 1000 + 1000);
  }, 30_000);

  it('sends a transition to /32311/0/14 before the write of /3311/0, and the lamp obeys', async () => {
    const { watcher, lamp } = await setUp();
    await state(watcher, (d) => d.groups.length === 2);
    const before = lamp.requests.length;
    await watcher.publish('lampnet/lamps/senml-1/set', '{"state":"ON","brightness":80,"transition":2.5}');
    await state(watcher, (d) => d.on && d.level === 80);
    expect(lamp.requests.slice(before).map((r) => [r.code, r.path, r.payload])).toEqual([
      [POST, '32311/0', '[{"bn":"/32311/0/","n":"14","v":2500}]'],
      [POST, '3311/0', '[{"bn":"/3311/0/","n":"5850","vb":true},{"n":"5851","v":80}]'],
    ]);
    expect(lamp).toMatchObject({ on: true, level: 80, nextFadeMs: 2500 });
  });

  it('delivers a group command one by one where the transport has no multicast', async () => {
    const { watcher, lamp } = await setUp();
    await state(watcher, (d) => d.groups.length === 2);
    await watcher.publish('lampnet/groups/north/set', '{"on":true,"level":30}');
    await state(watcher, (d) => d.on && d.level === 30);
    expect(lamp).toMatchObject({ on: true, level: 30 });
  });

  it('takes the lamp offline at once when it de-registers, and answers its old location 4.04', async () => {
    const { watcher, lamp } = await setUp();
    await watcher.until('online', () => watcher.last.get('lampnet/lamps/senml-1/availability') === 'online');
    const location = lamp.location;
    expect((await lamp.deregister()).code).toBe(DELETED);
    await watcher.until('offline', () => watcher.last.get('lampnet/lamps/senml-1/availability') === 'offline', 3000);
    lamp.location = location;
    expect((await lamp.deregister()).code).toBe(132);
  });
});
