/**
 * Issue 8, Access: with embedded-broker credentials, clients need them to connect, may publish only
 * `.../set` commands, and only the gateway publishes state and stats.
 */
import { afterEach, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { type Fixture, startFixture } from './helpers/gateway-fixture.js';
import { watch } from './helpers/mqtt-watch.js';

const credentials = { username: 'operator', password: 's3cret' };
let fixture: Fixture | null = null;
afterEach(async () => {
  await fixture?.close();
  fixture = null;
});

const secured = (count = 1) =>
  startFixture(count, { gateway: { brokerCredentials: credentials, statsIntervalMs: 100 }, watchOptions: credentials });

describe('embedded broker with credentials', () => {
  it('refuses a client without credentials', async () => {
    fixture = await secured();
    await expect(mqtt.connectAsync(fixture.gateway.mqttUrl, { reconnectPeriod: 0 })).rejects.toThrow(/[Nn]ot authorized|[Bb]ad username/);
  });

  it('refuses a client with a wrong password', async () => {
    fixture = await secured();
    await expect(mqtt.connectAsync(fixture.gateway.mqttUrl, { reconnectPeriod: 0, username: 'operator', password: 'guess' })).rejects.toThrow(/[Nn]ot authorized|[Bb]ad username/);
  });

  it('lets a client with credentials watch and command lamps', async () => {
    fixture = await secured();
    const { watcher } = fixture;
    await fixture.allOnline();
    await watcher.publish('lampnet/lamps/1/set', 'ON');
    await watcher.json<{ on: boolean }>('lampnet/lamps/1/state', (s) => s.on);
    expect(fixture.lamps.state(1).on).toBe(true);
  });

  it('disconnects a client that publishes lamp state, and the retained state stays the gateway\'s', async () => {
    fixture = await secured();
    await fixture.allOnline();
    const real = fixture.watcher.last.get('lampnet/lamps/1/state');
    const forger = await mqtt.connectAsync(fixture.gateway.mqttUrl, { reconnectPeriod: 0, ...credentials });
    const closed = new Promise<void>((resolve) => forger.once('close', () => resolve()));
    forger.publish('lampnet/lamps/1/state', '{"on":true,"level":100}', { retain: true, qos: 0 });
    await closed;
    forger.end(true);
    const fresh = await watch(fixture.gateway.mqttUrl, ['lampnet/lamps/1/state'], credentials);
    try {
      await fresh.until('the retained state', () => fresh.last.has('lampnet/lamps/1/state'));
      expect(fresh.last.get('lampnet/lamps/1/state')).toBe(real);
    } finally {
      await fresh.close();
    }
  });

  it('disconnects a client that publishes stats or availability', async () => {
    fixture = await secured();
    await fixture.allOnline();
    for (const topic of ['lampnet/stats', 'lampnet/lamps/1/availability', 'lampnet/gateway/status']) {
      const forger = await mqtt.connectAsync(fixture.gateway.mqttUrl, { reconnectPeriod: 0, ...credentials });
      const closed = new Promise<void>((resolve) => forger.once('close', () => resolve()));
      forger.publish(topic, 'forged', { qos: 0 });
      await closed;
      forger.end(true);
    }
    await fixture.watcher.until('fresh stats from the gateway', () => (fixture!.watcher.last.get('lampnet/stats') ?? '').startsWith('{'));
    expect(fixture.watcher.log.some((m) => m.payload === 'forged')).toBe(false);
  });
});
