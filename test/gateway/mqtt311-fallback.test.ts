/**
 * The gateway against a broker that speaks only MQTT 3.1.1 (NATS server's MQTT listener): it asks
 * for MQTT 5, is refused for the protocol version, and falls back to 3.1.1; lamps and commands work.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Fixture, startFixture } from './helpers/gateway-fixture.js';
import { type NatsMqtt, startNatsMqtt } from './helpers/nats.js';

let broker: NatsMqtt | null = null;
let fixture: Fixture | null = null;
afterEach(async () => {
  await fixture?.close();
  fixture = null;
  await broker?.stop();
  broker = null;
});

describe('gateway on an MQTT 3.1.1-only broker', () => {
  it('falls back from MQTT 5 to 3.1.1 and serves lamps and commands', async () => {
    broker = await startNatsMqtt();
    fixture = await startFixture(2, { gateway: { mqttUrl: broker.url, clientId: `lampnet-nats-${process.pid}`, connectTimeoutMs: 20_000 } });
    const { watcher, lamps } = fixture;
    await fixture.allOnline();
    await watcher.publish('lampnet/lamps/2/set', 'ON', { qos: 1 });
    await watcher.json<{ on: boolean }>('lampnet/lamps/2/state', (s) => s.on);
    expect([1, 2].map((n) => lamps.state(n).on)).toEqual([false, true]);
  }, 60_000);
});
