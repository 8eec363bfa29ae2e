/**
 * The gateway in-process with the simulator's in-memory link (what `lampnet up` does): lamps
 * register from their /64 addresses, and group commands go by IPv6 multicast or one by one.
 * The integrator's 1,000-lamp suites build on this; these are the small, exact cases.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type GatewayHandle } from '../../gateway/gateway.js';
import { startSim, type Sim } from '../../sim/sim.js';
import { SENDS_PER_TURN } from '../../gateway/lamps/observer.js';
import { CON } from '../../protocol/coap.js';
import type { DatagramEndpoint } from '../../protocol/datagram.js';
import { EPHEMERAL, metricValue } from './helpers/gateway-fixture.js';
import { watch, type Watcher } from './helpers/mqtt-watch.js';

let sim: Sim | null = null;
let gateway: GatewayHandle | null = null;
let watcher: Watcher | null = null;
afterEach(async () => {
  await watcher?.close();
  await gateway?.close();
  await sim?.close();
  watcher = sim = gateway = null;
});

async function setUp(groupMulticast: boolean) {
  sim = await startSim({ lamps: 30, link: 'memory', prefix: '2001:db8:1::/64', streetSize: 10, bootJitterMs: 200 });
  gateway = await startGateway({ ...EPHEMERAL, groupMulticast }, sim.gatewayEndpoint());
  watcher = await watch(gateway.mqttUrl, ['lampnet/#']);
  const w = watcher;
  await w.until('30 lamps online', () => (JSON.parse(w.last.get('lampnet/stats') ?? '{}') as { online?: number }).online === 30, 30_000);
  const on = (n: number): boolean => sim!.fleet.state(n)?.on === true;
  return { sim, gateway, watcher: w, on };
}

describe('gateway with the simulator over the in-memory link', () => {
  it('names each lamp by its address in the fleet prefix', async () => {
    const { watcher } = await setUp(false);
    expect((await watcher.json<{ address: string }>('lampnet/lamps/27/state')).address).toBe('2001:db8:1::1b');
  });

  it.each([[true], [false]])('sends a group command to the members only (multicast: %s)', async (multicast) => {
    // Simulated lamps power up lit (powerOn = 1); the group command switches one street off.
    const { watcher, on } = await setUp(multicast);
    await watcher.publish('lampnet/groups/street-2/set', 'OFF');
    await watcher.until('street-2 off', () => Array.from({ length: 10 }, (_, k) => 11 + k).every((n) => !JSON.parse(watcher.last.get(`lampnet/lamps/${n}/state`)!).on));
    for (let n = 1; n <= 30; n++) expect(on(n), `lamp ${n}`).toBe(n < 11 || n > 20);
    // Multicast is one datagram without per-lamp confirmations; otherwise one confirmed PUT each.
    const text = await (await fetch(`http://127.0.0.1:${gateway!.metricsPort}/metrics`)).text();
    expect(metricValue(text, 'lampnet_gateway_command_deliveries_total{result="confirmed"}')).toBe(multicast ? 0 : 10);
  });
});

describe('gateway with simulated lamps in a group whose name is not ASCII', () => {
  it.each([[true], [false]])('registers them under the group and switches it (multicast: %s)', async (groupMulticast) => {
    sim = await startSim({ lamps: 6, link: 'memory', prefix: '2001:db8:3::/64', streetSize: 0, bootJitterMs: 200, config: { groups: 'Hauptstraße-北' } });
    gateway = await startGateway({ ...EPHEMERAL, groupMulticast }, sim.gatewayEndpoint());
    watcher = await watch(gateway.mqttUrl, ['lampnet/#']);
    const w = watcher;
    await w.until('6 lamps online', () => (JSON.parse(w.last.get('lampnet/stats') ?? '{}') as { online?: number }).online === 6, 30_000);
    expect((await w.json<{ groups: string[] }>('lampnet/lamps/4/state')).groups).toEqual(['Hauptstraße-北']);
    await w.publish('lampnet/groups/Hauptstraße-北/set', 'OFF');
    await w.until('the group off', () => [1, 2, 3, 4, 5, 6].every((n) => !JSON.parse(w.last.get(`lampnet/lamps/${n}/state`)!).on));
    for (let n = 1; n <= 6; n++) expect(sim.fleet.state(n)?.on, `lamp ${n}`).toBe(false);
    const text = await (await fetch(`http://127.0.0.1:${gateway.metricsPort}/metrics`)).text();
    expect(metricValue(text, 'lampnet_gateway_coap_dropped_total{reason="bad-request"}')).toBe(0);
  });
});

describe('gateway with the simulator on a lossy, slow link', () => {
  it('delivers every command through 10% loss and 50 ms latency by retransmission', async () => {
    // Each lamp loses datagrams from its own stream of seed 7, so which ones it loses does not hang
    // on how its traffic interleaves with the other lamps': this seed's losses are recovered.
    sim = await startSim({ lamps: 40, link: 'memory', prefix: '2001:db8:2::/64', streetSize: 0, bootJitterMs: 200, lossRate: 0.1, latencyMs: 50, seed: 7 });
    gateway = await startGateway({ ...EPHEMERAL, ackTimeoutMs: 300 }, sim.gatewayEndpoint());
    watcher = await watch(gateway.mqttUrl, ['lampnet/#']);
    const w = watcher;
    await w.until('40 lamps online', () => (JSON.parse(w.last.get('lampnet/stats') ?? '{}') as { online?: number }).online === 40, 60_000);
    for (let n = 1; n <= 40; n++) await w.publish(`lampnet/lamps/${n}/set`, '{"on":true,"level":33}');
    await w.until('every lamp at level 33', () => {
      for (let n = 1; n <= 40; n++) if (JSON.parse(w.last.get(`lampnet/lamps/${n}/state`) ?? '{}').level !== 33) return false;
      return true;
    }, 60_000);
    for (let n = 1; n <= 40; n++) expect(sim.fleet.state(n)?.level).toBe(33);
    expect(w.count('lampnet/gateway/errors')).toBe(0);
    const text = await (await fetch(`http://127.0.0.1:${gateway.metricsPort}/metrics`)).text();
    expect(metricValue(text, 'lampnet_gateway_coap_retransmissions_total')).toBeGreaterThan(0);
    expect(sim.fleet.counters.impairedLoss).toBeGreaterThan(0);
  });
});

describe('gateway setting up a fleet that registers at once, on the in-memory link', () => {
  it('sends the setup a bounded number of requests per turn of the event loop, and every lamp gets its first state', async () => {
    // On the in-memory link a lamp answers within the gateway's send(): a setup that went on from
    // inside its answers would set up the whole fleet in one turn, MQTT and timers blocked meanwhile.
    const lamps = 3000;
    sim = await startSim({ lamps, link: 'memory', prefix: '2001:db8:4::/64', streetSize: 0, bootJitterMs: 50 });
    const endpoint = sim.gatewayEndpoint();
    let requests = 0;
    let most = 0;
    const counted: DatagramEndpoint = {
      send: (addr, port, data) => {
        // A request of the gateway's own: CON with a method code (class 0, not empty).
        if (data[0] >> 4 === (1 << 2) + CON && data[1] > 0 && data[1] >> 5 === 0) requests++;
        endpoint.send(addr, port, data);
      },
      onMessage: (cb) => endpoint.onMessage(cb),
      close: () => endpoint.close(),
      multicast: endpoint.multicast,
    };
    let ticking = true;
    const tick = (): void => {
      most = Math.max(most, requests);
      requests = 0;
      if (ticking) setImmediate(tick);
    };
    tick();
    try {
      gateway = await startGateway({ ...EPHEMERAL, maxSetupsInFlight: 60_000 }, counted);
      watcher = await watch(gateway.mqttUrl, ['lampnet/lamps/+/state']);
      const w = watcher;
      await w.until(`${lamps} first states`, () => w.last.size === lamps, 60_000);
    } finally {
      ticking = false;
    }
    // One pump from the check phase and one from the timers phase between two ticks, at most.
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(2 * SENDS_PER_TURN);
  }, 90_000);
});
