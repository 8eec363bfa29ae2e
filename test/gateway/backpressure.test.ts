/**
 * Backpressure (issue 5, item 4): lamp state publications coalesce latest-wins per lamp, so the
 * work waiting for MQTT is bounded by the number of lamps however often they change.
 */
import { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../gateway/broker/broker.js';
import { GatewayMetrics } from '../../gateway/metrics.js';
import { DIRTY_STATE, Publisher } from '../../gateway/mqtt/publisher.js';
import { LampRegistry } from '../../gateway/registry.js';
import { watch, type Watcher } from './helpers/mqtt-watch.js';

let broker: EmbeddedBroker | null = null;
let client: MqttClient | null = null;
let watcher: Watcher | null = null;
afterEach(async () => {
  await watcher?.close();
  await new Promise<void>((resolve) => (client ? client.end(true, {}, () => resolve()) : resolve()));
  await broker?.close();
  broker = client = watcher = null;
});

async function setUp(lamps: number) {
  broker = await startEmbeddedBroker({ host: '127.0.0.1', mqttPort: 0, wsPort: null });
  const b = broker;
  const c = new MqttClient(() => b.connectGateway(), { clientId: 'publisher-test', queueQoSZero: false });
  client = c;
  await new Promise<void>((resolve) => c.once('connect', () => resolve()));
  const registry = new LampRegistry();
  for (let n = 1; n <= lamps; n++) registry.register(String(n), `2001:db8::${n.toString(16)}`, 5683, 300, '', () => true, 0);
  const metrics = new GatewayMetrics({ lamps: () => registry.size, online: () => registry.onlineCount, publishBacklog: () => 0, commandBacklog: () => 0, inFlight: () => 0, aggregate: () => registry.aggregate() });
  const publisher = new Publisher(c, registry, metrics, { haDiscovery: false, maxInFlight: 16 });
  watcher = await watch(`mqtt://127.0.0.1:${b.mqttPort}`, ['lampnet/lamps/+/state']);
  return { registry, publisher, watcher };
}

const report = (level: number) => ({ on: level > 0, level, watts: level * 0.6, energyWh: 0, onTimeS: 0, fault: false });

describe('state publication backpressure', () => {
  it('publishes a lamp that changed 1,000 times before its turn once, with its last state', async () => {
    const { registry, publisher, watcher } = await setUp(1);
    for (let k = 1; k <= 1000; k++) {
      registry.setReport(0, report(k % 101), k);
      publisher.mark(0, DIRTY_STATE);
    }
    expect(publisher.backlog).toBe(1);
    await watcher.until('the backlog drained', () => publisher.backlog === 0);
    // A fence on the publisher's own connection: anything it published before arrives ahead of it.
    await client!.publishAsync('lampnet/lamps/fence/state', 'fence', { qos: 1 });
    await watcher.until('the fence', () => watcher.last.has('lampnet/lamps/fence/state'));
    expect(watcher.log.map((m) => m.topic)).toEqual(['lampnet/lamps/1/state', 'lampnet/lamps/fence/state']);
    expect(JSON.parse(watcher.log[0].payload).level).toBe(1000 % 101);
  });

  it('never holds more waiting lamps than there are lamps, and drains them all', async () => {
    const lamps = 5000;
    const { registry, publisher, watcher } = await setUp(lamps);
    let most = 0;
    for (let round = 1; round <= 5; round++) {
      for (let i = 0; i < lamps; i++) {
        registry.setReport(i, report(round * 10), round);
        publisher.mark(i, DIRTY_STATE);
      }
      most = Math.max(most, publisher.backlog);
    }
    expect(most).toBeLessThanOrEqual(lamps);
    await watcher.until(`${lamps} states`, () => new Set(watcher.log.map((m) => m.topic)).size === lamps, 30_000);
    await watcher.until('the backlog drained', () => publisher.backlog === 0);
    for (const m of watcher.log.slice(-10)) expect(JSON.parse(m.payload).level).toBe(50);
  });
});
