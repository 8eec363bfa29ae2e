/**
 * Wills and `$SYS/` on the embedded broker: a will is a publish made on the client's behalf when it
 * vanishes, so it must not reach a topic the client could not publish to itself: the broker checks
 * it at CONNECT and refuses the connection (Not authorized). With credentials
 * clients may publish only commands; `$SYS/` belongs to the broker whatever the credentials.
 */
import mqtt, { type IClientOptions } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { type Fixture, startFixture } from './helpers/gateway-fixture.js';
import { watch } from './helpers/mqtt-watch.js';

const credentials = { username: 'operator', password: 's3cret' };
let fixture: Fixture | null = null;
afterEach(async () => {
  await fixture?.close();
  fixture = null;
});

async function secured(): Promise<Fixture> {
  fixture = await startFixture(1, { gateway: { brokerCredentials: credentials }, watchOptions: credentials });
  await fixture.allOnline();
  return fixture;
}

/** Connect with `will`, then vanish without DISCONNECT (the case a will is for). Resolves with
 * null when the broker accepted the connection, or with its refusal. */
async function connectAndVanish(url: string, will: IClientOptions['will'], options: IClientOptions): Promise<string | null> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, will, ...options });
  const refusal = await new Promise<string | null>((resolve) => {
    client.once('connect', () => resolve(null));
    client.once('error', (err) => resolve(err.message));
    client.once('close', () => resolve('closed without CONNACK'));
  });
  const closed = new Promise<void>((resolve) => (client.connected ? client.once('close', () => resolve()) : resolve()));
  (client.stream as { destroy(): void }).destroy();
  await closed;
  client.end(true);
  return refusal;
}

/** A command through the broker and back: everything the broker did before it has reached `watcher`. */
async function roundTrip(f: Fixture): Promise<void> {
  const seen = f.watcher.log.length;
  await f.watcher.publish('lampnet/lamps/1/set', 'TOGGLE');
  await f.watcher.until('the marker command and its state', () =>
    f.watcher.log.slice(seen).some((m) => m.topic === 'lampnet/lamps/1/state'));
}

describe('wills on the embedded broker with credentials', () => {
  it.each([
    ['lampnet/gateway/status', 'offline'],
    ['lampnet/lamps/1/availability', 'offline'],
    ['lampnet/lamps/1/state', '{"on":true,"level":100}'],
    ['lampnet/stats', '{"lamps":0}'],
  ])('refuses a client whose will would publish %s, and the retained topic stays the gateway\'s', async (topic, forged) => {
    const f = await secured();
    const real = f.watcher.last.get(topic);
    expect(await connectAndVanish(f.gateway.mqttUrl, { topic, payload: Buffer.from(forged), qos: 1, retain: true }, credentials)).toMatch(/Not authorized/i);
    await roundTrip(f);
    expect(f.watcher.log.some((m) => m.payload === forged)).toBe(false);
    const fresh = await watch(f.gateway.mqttUrl, [topic], credentials);
    try {
      await fresh.until(`the retained ${topic}`, () => fresh.last.has(topic));
      if (topic !== 'lampnet/lamps/1/state') expect(fresh.last.get(topic)).toBe(real);
      expect(fresh.last.get(topic)).not.toBe(forged);
    } finally {
      await fresh.close();
    }
  });

  it('accepts a client whose will is a command, and publishes that will when it vanishes', async () => {
    const f = await secured();
    expect(await connectAndVanish(f.gateway.mqttUrl, { topic: 'lampnet/lamps/1/set', payload: Buffer.from('ON'), qos: 1, retain: false }, credentials)).toBeNull();
    await f.watcher.json<{ on: boolean }>('lampnet/lamps/1/state', (s) => s.on);
    expect(f.lamps.state(1).on).toBe(true);
  });
});

describe('$SYS on the embedded broker', () => {
  it.each([[true], [false]])('refuses a $SYS/ will and closes a client publishing to $SYS/ (credentials: %s)', async (withCredentials) => {
    fixture = await startFixture(1, withCredentials ? { gateway: { brokerCredentials: credentials }, watchOptions: credentials } : {});
    const f = fixture;
    await f.allOnline();
    const auth = withCredentials ? credentials : {};
    const sys = await watch(f.gateway.mqttUrl, ['$SYS/#', 'lampnet/lamps/1/state'], auth);
    try {
      expect(await connectAndVanish(f.gateway.mqttUrl, { topic: '$SYS/forged/will', payload: Buffer.from('forged'), qos: 0, retain: true }, auth)).toMatch(/Not authorized/i);
      const publisher = await mqtt.connectAsync(f.gateway.mqttUrl, { reconnectPeriod: 0, ...auth });
      const closed = new Promise<void>((resolve) => publisher.once('close', () => resolve()));
      publisher.publish('$SYS/forged/uptime', 'forged', { qos: 0, retain: true });
      await closed;
      publisher.end(true);
      const seen = sys.log.length;
      await f.watcher.publish('lampnet/lamps/1/set', 'TOGGLE');
      await sys.until('the marker state', () => sys.log.slice(seen).some((m) => m.topic === 'lampnet/lamps/1/state'));
      expect(sys.log.filter((m) => m.payload === 'forged')).toEqual([]);
    } finally {
      await sys.close();
    }
  });
});
