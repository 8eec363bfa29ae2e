/**
 * `--security oscore` end to end in one process: the simulator's lamps and the gateway share only a
 * fleet secret, the gateway's commands reach the lamps OSCORE-protected and their answers are
 * verified, while a PUT forged from the gateway's own address, or a protected one replayed, changes
 * nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CON, PUT, UNAUTHORIZED, coapReader, readCoap } from '../../protocol/coap.js';
import type { DatagramEndpoint } from '../../protocol/datagram.js';
import { isProtected } from '../../protocol/oscore/message.js';
import { startGateway, type GatewayHandle } from '../../gateway/gateway.js';
import { startSim, type Sim } from '../../sim/sim.js';
import { emitCoap, parseCoap, type CoapMessage } from '../helpers/coap-message.js';
import { EPHEMERAL, metricValue } from './helpers/gateway-fixture.js';
import { eventually } from './helpers/eventually.js';
import { watch, type Watcher } from './helpers/mqtt-watch.js';

const FLEET = new Uint8Array(32).map((_, i) => 200 - i);

let sim: Sim | null = null;
let gateway: GatewayHandle | null = null;
let watcher: Watcher | null = null;
let attacker: DatagramEndpoint | null = null;
afterEach(async () => {
  await watcher?.close();
  await gateway?.close();
  await attacker?.close();
  await sim?.close();
  watcher = sim = gateway = attacker = null;
});

/** The gateway's endpoint, recording every datagram it sends (what an eavesdropper captures). */
function recording(inner: DatagramEndpoint, sent: { to: string; data: Uint8Array }[]): DatagramEndpoint {
  return {
    send(addr, port, data) {
      sent.push({ to: addr, data: data.slice() });
      inner.send(addr, port, data);
    },
    onMessage: (cb) => inner.onMessage(cb),
    close: () => inner.close(),
    multicast: inner.multicast,
  };
}

async function setUp(sent: { to: string; data: Uint8Array }[] = []) {
  sim = await startSim({ lamps: 10, link: 'memory', prefix: '2001:db8:5::/64', streetSize: 5, bootJitterMs: 200, fleetSecret: FLEET });
  gateway = await startGateway({ ...EPHEMERAL, security: { fleetSecret: FLEET, sequenceFile: null } }, recording(sim.gatewayEndpoint(), sent));
  watcher = await watch(gateway.mqttUrl, ['lampnet/#']);
  const w = watcher;
  await w.until('10 lamps online with their state', () => {
    for (let n = 1; n <= 10; n++) if (!w.last.has(`lampnet/lamps/${n}/state`)) return false;
    return true;
  }, 30_000);
  // Another host on the lamps' network claiming the gateway's address.
  attacker = sim.gatewayEndpoint(40000);
  const answers: CoapMessage[] = [];
  attacker.onMessage((_from, _port, data) => answers.push(parseCoap(data)!));
  return { sim, gateway, watcher: w, answers };
}

const r = coapReader();

describe('--security oscore between the gateway and simulated lamps', () => {
  it('delivers commands protected, to one lamp and to a group by unicast, and takes the verified answers', async () => {
    const sent: { to: string; data: Uint8Array }[] = [];
    const { sim, watcher, gateway } = await setUp(sent);
    await watcher.publish('lampnet/lamps/3/set', '{"on":true,"level":40}');
    await watcher.until('lamp 3 at 40', () => JSON.parse(watcher.last.get('lampnet/lamps/3/state')!).level === 40);
    expect(sim.fleet.state(3)?.level).toBe(40);
    await watcher.publish('lampnet/groups/street-2/set', 'OFF');
    await watcher.until('street-2 off', () => [6, 7, 8, 9, 10].every((n) => !JSON.parse(watcher.last.get(`lampnet/lamps/${n}/state`)!).on));
    for (let n = 1; n <= 10; n++) expect(sim.fleet.state(n)?.on, `lamp ${n}`).toBe(n < 6);
    // Every request the gateway sent a lamp went protected; nothing multicast.
    const requests = sent.filter((s) => readCoap(r, s.data, 0, s.data.length) && r.code > 0 && r.code < 32);
    expect(requests.length).toBeGreaterThan(10);
    expect(requests.every((s) => (readCoap(r, s.data, 0, s.data.length), isProtected(r)))).toBe(true);
    expect(requests.some((s) => s.to.startsWith('ff'))).toBe(false);
    const text = await (await fetch(`http://127.0.0.1:${gateway.metricsPort}/metrics`)).text();
    expect(metricValue(text, 'lampnet_gateway_command_deliveries_total{result="confirmed"}')).toBe(6);
    expect(metricValue(text, 'lampnet_gateway_coap_dropped_total{reason="oscore"}')).toBe(0);
    expect(watcher.count('lampnet/gateway/errors')).toBe(0);
  });

  it('refuses a PUT forged from the gateway address with 4.01, and a replayed protected PUT, and changes nothing', async () => {
    const sent: { to: string; data: Uint8Array }[] = [];
    const { sim, watcher, answers } = await setUp(sent);
    const lamp4 = sim.lampAddress(4);
    attacker!.send(lamp4, 5683, emitCoap({ type: CON, code: PUT, mid: 0x4242, token: Uint8Array.of(1, 2), options: ['3311', '0', '5850'].map((seg) => ({ num: 11, value: new TextEncoder().encode(seg) })), payload: new TextEncoder().encode('0') }));
    await eventually('the forged PUT answered', () => answers.length === 1);
    expect(answers.map((a) => a.code)).toEqual([UNAUTHORIZED]);
    expect(sim.fleet.state(4)?.on).toBe(true);
    // A genuine command off, then on again: its captured "off" replayed must not switch it off.
    const before = sent.length;
    await watcher.publish('lampnet/lamps/4/set', 'OFF');
    await watcher.until('lamp 4 off', () => !JSON.parse(watcher.last.get('lampnet/lamps/4/state')!).on);
    const off = sent.slice(before).find((s) => s.to === lamp4 && readCoap(r, s.data, 0, s.data.length) && r.code > 0 && r.code < 32)!;
    await watcher.publish('lampnet/lamps/4/set', 'ON');
    await watcher.until('lamp 4 on', () => JSON.parse(watcher.last.get('lampnet/lamps/4/state')!).on);
    attacker!.send(lamp4, 5683, off.data);
    await eventually('the replayed PUT answered', () => answers.length === 2);
    expect(answers.map((a) => a.code)).toEqual([UNAUTHORIZED, UNAUTHORIZED]);
    expect(sim.fleet.state(4)?.on).toBe(true);
  });

  it('delivers every protected command through 10% loss and 50 ms latency, a retransmission going under a new sequence number', async () => {
    sim = await startSim({ lamps: 20, link: 'memory', prefix: '2001:db8:6::/64', streetSize: 0, bootJitterMs: 200, lossRate: 0.1, latencyMs: 50, seed: 7, fleetSecret: FLEET });
    gateway = await startGateway({ ...EPHEMERAL, ackTimeoutMs: 300, security: { fleetSecret: FLEET, sequenceFile: null } }, sim.gatewayEndpoint());
    watcher = await watch(gateway.mqttUrl, ['lampnet/#']);
    const w = watcher;
    await w.until('20 lamps online', () => (JSON.parse(w.last.get('lampnet/stats') ?? '{}') as { online?: number }).online === 20, 60_000);
    for (let n = 1; n <= 20; n++) await w.publish(`lampnet/lamps/${n}/set`, '{"on":true,"level":33}');
    await w.until('every lamp at level 33', () => {
      for (let n = 1; n <= 20; n++) if (JSON.parse(w.last.get(`lampnet/lamps/${n}/state`) ?? '{}').level !== 33) return false;
      return true;
    }, 60_000);
    for (let n = 1; n <= 20; n++) expect(sim.fleet.state(n)?.level).toBe(33);
    expect(w.count('lampnet/gateway/errors')).toBe(0);
    const text = await (await fetch(`http://127.0.0.1:${gateway.metricsPort}/metrics`)).text();
    expect(metricValue(text, 'lampnet_gateway_coap_retransmissions_total')).toBeGreaterThan(0);
    // Not asserted here: the `oscore` drops. Lamps do not protect their notifications yet, and one
    // that overtakes the lost answer to its Observe request is refused by that protected exchange.
  });
});
