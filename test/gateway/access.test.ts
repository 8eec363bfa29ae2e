/**
 * Access to the embedded broker: only the gateway speaks for lamps, with or without credentials.
 * Clients may publish only unretained `.../set` commands; every other publish, and a will that would
 * be one, is refused and counted, and what subscribers (the dashboard among them) see stays the
 * gateway's. With credentials, clients need them to connect.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import mqtt, { type IClientOptions } from 'mqtt';
import { type Fixture, metricValue, startFixture } from './helpers/gateway-fixture.js';
import { watch } from './helpers/mqtt-watch.js';
import { topicMatcher } from '../../protocol/mqtt-topics.js';

const credentials = { username: 'operator', password: 's3cret' };
let fixture: Fixture | null = null;
afterEach(async () => {
  await fixture?.close();
  fixture = null;
});

/** Publish one message as a client of the gateway's broker and resolve once the broker has closed
 * the connection (an MQTT 3.1.1 broker's only way to refuse a publish). */
async function publishRefused(url: string, topic: string, payload: string, retain: boolean, options: IClientOptions = {}): Promise<void> {
  const forger = await mqtt.connectAsync(url, { reconnectPeriod: 0, ...options });
  const closed = new Promise<void>((resolve) => forger.once('close', () => resolve()));
  forger.publish(topic, payload, { retain, qos: 0 });
  await closed;
  forger.end(true);
}

/** The retained messages a new subscriber to `filter` receives: those with the retain flag, once
 * each of `expected` has come and then a live (unretained) fleet stats message, which the gateway
 * publishes every period. One SUBSCRIBE's retained messages come from one pass over the store. */
async function retainedNow(url: string, filter: string, expected: string[], options: IClientOptions = {}): Promise<Map<string, string>> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, ...options });
  try {
    const retained = new Map<string, string>();
    const matches = topicMatcher(filter);
    const live = new Promise<void>((resolve) => {
      client.on('message', (topic, payload, packet) => {
        if (packet.retain && matches(topic)) retained.set(topic, payload.toString());
        else if (!packet.retain && topic === 'lampnet/stats' && expected.every((t) => retained.has(t))) resolve();
      });
    });
    await client.subscribeAsync([filter, 'lampnet/stats'], { qos: 0 });
    await live;
    return retained;
  } finally {
    await client.endAsync(true);
  }
}

describe('embedded broker without credentials', () => {
  const open = (count = 1) => startFixture(count, { gateway: { statsIntervalMs: 100 } });

  it('refuses a retained lampnet/gateway/status from a client: the status stays online', async () => {
    fixture = await open();
    await fixture.allOnline();
    await publishRefused(fixture.gateway.mqttUrl, 'lampnet/gateway/status', 'offline', true);
    expect((await retainedNow(fixture.gateway.mqttUrl, 'lampnet/gateway/status', ['lampnet/gateway/status'])).get('lampnet/gateway/status')).toBe('online');
    expect(fixture.watcher.log.some((m) => m.topic === 'lampnet/gateway/status' && m.payload === 'offline')).toBe(false);
    expect(metricValue(await fixture.metrics(), 'lampnet_gateway_mqtt_publishes_refused_total{reason="not-a-command"}')).toBe(1);
  });

  it('refuses a retained state for a lamp that does not exist: no phantom lamp appears', async () => {
    fixture = await open();
    await fixture.allOnline();
    await publishRefused(fixture.gateway.mqttUrl, 'lampnet/lamps/evil/state', '{"on":true,"level":100,"groups":["street-11"]}', true);
    await publishRefused(fixture.gateway.mqttUrl, 'homeassistant/light/evil/config', '{}', true);
    const retained = await retainedNow(fixture.gateway.mqttUrl, '#', ['lampnet/lamps/1/state', 'lampnet/lamps/1/availability', 'lampnet/gateway/status']);
    expect([...retained.keys()].filter((topic) => topic.includes('evil'))).toEqual([]);
    expect(fixture.gateway.registry.size).toBe(1);
    expect(metricValue(await fixture.metrics(), 'lampnet_gateway_mqtt_publishes_refused_total{reason="not-a-command"}')).toBe(2);
  });

  it('refuses a retained command from mosquitto_pub -r: not executed, not stored, reported and counted', async () => {
    fixture = await open();
    const { watcher, gateway } = fixture;
    await fixture.allOnline();
    const port = new URL(gateway.mqttUrl).port;
    const pub = spawn('mosquitto_pub', ['-h', '127.0.0.1', '-p', port, '-r', '-t', 'lampnet/lamps/1/set', '-m', 'ON'], { stdio: 'ignore' });
    await new Promise((resolve) => pub.once('exit', resolve));
    const report = await watcher.json<{ kind: string; topic: string; payload: string }>('lampnet/gateway/errors', (e) => e.kind === 'retained');
    expect(report).toMatchObject({ topic: 'lampnet/lamps/1/set', payload: 'ON' });
    expect([...(await retainedNow(gateway.mqttUrl, 'lampnet/lamps/+/set', []))]).toEqual([]);
    expect(fixture.lamps.state(1).on).toBe(false);
    const text = await fixture.metrics();
    expect(metricValue(text, 'lampnet_gateway_mqtt_publishes_refused_total{reason="retained-command"}')).toBe(1);
    expect(metricValue(text, 'lampnet_gateway_errors_total{kind="retained"}')).toBe(1);
    expect(metricValue(text, 'lampnet_gateway_commands_total{target="lamp"}')).toBe(0);
  });

  it('refuses the connection of a client whose will speaks for the gateway, and counts it', async () => {
    fixture = await open();
    await fixture.allOnline();
    const will = { topic: 'lampnet/gateway/status', payload: Buffer.from('offline'), qos: 0 as const, retain: true };
    await expect(mqtt.connectAsync(fixture.gateway.mqttUrl, { reconnectPeriod: 0, will })).rejects.toThrow(/[Nn]ot authorized/);
    expect(metricValue(await fixture.metrics(), 'lampnet_gateway_mqtt_publishes_refused_total{reason="not-a-command"}')).toBe(1);
  });

  it('executes an unretained command from any client', async () => {
    fixture = await open();
    await fixture.allOnline();
    await fixture.watcher.publish('lampnet/lamps/1/set', 'ON');
    await fixture.watcher.json<{ on: boolean }>('lampnet/lamps/1/state', (s) => s.on);
    expect(metricValue(await fixture.metrics(), 'lampnet_gateway_mqtt_publishes_refused_total{reason="not-a-command"}')).toBe(0);
  });
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
