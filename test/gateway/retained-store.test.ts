/**
 * The embedded broker's retained messages (gateway/retained-store.ts), through a real aedes broker
 * and real mqtt.js clients: the latest wins, whatever its length; an empty message clears the
 * topic; new subscribers get what their filters match; and a payload already delivered is never
 * changed by a later update of its topic (the store reuses its own bytes); an MQTT 5 message keeps
 * its properties and expires with its Message Expiry Interval; a retained message on its way to a new
 * subscriber never overtakes a later update of its topic. The retained messages
 * are published on the gateway's own in-process connection: only the gateway may publish them.
 */
import type { Readable } from 'node:stream';
import mqtt, { type IClientPublishOptions, type IPublishPacket, MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../gateway/broker/broker.js';
import { LampnetPersistence } from '../../gateway/broker/retained-store.js';

let broker: EmbeddedBroker | null = null;
const clients: MqttClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true);
  await broker?.close();
  broker = null;
});

async function setUp() {
  broker = await startEmbeddedBroker({ host: '127.0.0.1', mqttPort: 0, wsPort: null });
  const url = `mqtt://127.0.0.1:${broker.mqttPort}`;
  const connect = async (): Promise<MqttClient> => {
    const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, protocolVersion: 5 });
    clients.push(c);
    return c;
  };
  const gateway = broker;
  const publisher = new MqttClient(() => gateway.connectGateway(), { reconnectPeriod: 0, protocolVersion: 5 });
  clients.push(publisher);
  await new Promise<void>((resolve, reject) => { publisher.once('connect', () => resolve()); publisher.once('error', reject); });
  const publish = (topic: string, payload: string, properties?: IClientPublishOptions['properties']): Promise<unknown> =>
    publisher.publishAsync(topic, payload, { retain: true, qos: 1, ...(properties === undefined ? {} : { properties }) });
  /** A new subscriber to `filters`: every retained message it receives, in arrival order, up to a
   * retained marker it subscribed to with them in one SUBSCRIBE. The broker answers one SUBSCRIBE
   * from one pass over its store, in which the marker (stored last) comes last, so a duplicate
   * would be seen ahead of it. */
  const retainedFor = async (filters: string[]): Promise<[string, string][]> => (await retainedWithProperties(filters)).map(([topic, payload]) => [topic, payload]);
  /** The same with each message's MQTT 5 properties. */
  const retainedWithProperties = async (filters: string[]): Promise<[string, string, IPublishPacket['properties']][]> => {
    const c = await connect();
    const got: [string, string, IPublishPacket['properties']][] = [];
    const marker = `test/end/${clients.length}`;
    await publish(marker, 'end');
    const ended = new Promise<void>((resolve) => {
      c.on('message', (topic, payload, packet) => {
        if (topic === marker) resolve();
        else if (packet.retain) got.push([topic, payload.toString(), packet.properties]);
      });
    });
    await c.subscribeAsync([...filters, marker], { qos: 1 });
    await ended;
    return got;
  };
  return { publish, retainedFor, retainedWithProperties, connect };
}

describe('retained messages of the embedded broker', () => {
  it('keeps the latest message of a topic, longer or shorter than the one before', async () => {
    const { publish, retainedFor } = await setUp();
    await publish('lampnet/lamps/1/state', '{"level":5}');
    await publish('lampnet/lamps/1/state', `{"level":100,"note":"${'x'.repeat(300)}"}`);
    await publish('lampnet/lamps/1/state', '{"level":7}');
    expect(await retainedFor(['lampnet/lamps/1/state'])).toEqual([['lampnet/lamps/1/state', '{"level":7}']]);
  });

  it('forgets a topic on an empty retained message', async () => {
    const { publish, retainedFor } = await setUp();
    await publish('lampnet/lamps/1/state', 'on');
    await publish('lampnet/lamps/2/state', 'off');
    await publish('lampnet/lamps/1/state', '');
    expect(await retainedFor(['lampnet/lamps/+/state'])).toEqual([['lampnet/lamps/2/state', 'off']]);
    // aedes keeps its persistence as an undeclared property: the store the broker was given. It
    // holds lamp 2's state and retainedFor's marker.
    expect((broker!.aedes as unknown as { persistence: LampnetPersistence }).persistence.retainedCount).toBe(2);
  });

  it('gives a new subscriber each retained message its filters match, once', async () => {
    const { publish, retainedFor } = await setUp();
    for (const topic of ['lampnet/lamps/1/state', 'lampnet/lamps/1/availability', 'lampnet/lamps/2/state', 'lampnet/stats', 'other/x']) {
      await publish(topic, topic);
    }
    // lampnet/lamps/1/state matches both filters and still comes once.
    const got = await retainedFor(['lampnet/lamps/+/state', 'lampnet/lamps/1/#']);
    expect(got.map(([topic]) => topic).sort()).toEqual(['lampnet/lamps/1/availability', 'lampnet/lamps/1/state', 'lampnet/lamps/2/state']);
    expect(got.every(([topic, payload]) => payload === topic)).toBe(true);
  });

  it('keeps an MQTT 5 message\'s properties and gives it the lifetime it has left, until it expires', async () => {
    const { publish, retainedWithProperties } = await setUp();
    await publish('lampnet/lamps/1/state', '{"level":7}', { messageExpiryInterval: 2, contentType: 'application/json' });
    const [[topic, payload, properties]] = await retainedWithProperties(['lampnet/lamps/1/state']);
    expect([topic, payload]).toEqual(['lampnet/lamps/1/state', '{"level":7}']);
    expect(properties?.contentType).toBe('application/json');
    expect(properties?.messageExpiryInterval).toBeGreaterThanOrEqual(1);
    expect(properties?.messageExpiryInterval).toBeLessThanOrEqual(2);
    // Polled with new subscribers: nothing announces an expiry.
    const deadline = Date.now() + 10_000;
    while ((await retainedWithProperties(['lampnet/lamps/1/state'])).length > 0) {
      expect(Date.now(), 'the retained state expires within 10 s').toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });

  it('never changes a payload it handed out when the topic is updated with one of the same length', async () => {
    // What a socket write still in progress would hold: the packet the retained stream yielded.
    const store = new LampnetPersistence();
    const packet = (payload: string) => ({ cmd: 'publish', topic: 'lampnet/lamps/1/state', payload: Buffer.from(payload), qos: 0, retain: true }) as never;
    await store.storeRetained(packet('{"level":10}'));
    const handedOut: { payload: Buffer }[] = await store.createRetainedStream('lampnet/#').toArray();
    await store.storeRetained(packet('{"level":20}'));
    expect(handedOut.map((p) => p.payload.toString())).toEqual(['{"level":10}']);
    const now: { payload: Buffer }[] = await store.createRetainedStream('lampnet/lamps/1/state').toArray();
    expect(now.map((p) => p.payload.toString())).toEqual(['{"level":20}']);
  });

  it('never delivers a retained message after a later update of its topic to a new subscriber', async () => {
    const { publish, connect } = await setUp();
    const topics = Array.from({ length: 40 }, (_, k) => `lampnet/lamps/${k + 1}/state`);
    for (const topic of topics) await publish(topic, 'old');
    await publish('lampnet/lamps/last/state', 'last');
    // The race, made to happen: the topic is updated just as the retained stream has read its old
    // message for the new subscriber, which then still waits behind the messages before it, while
    // the update goes to that subscriber live.
    const raced = topics[30];
    const store = (broker!.aedes as unknown as { persistence: LampnetPersistence }).persistence;
    const createStream = store.createRetainedStreamCombi.bind(store);
    store.createRetainedStreamCombi = (filters) => {
      const stream = createStream(filters);
      const push = stream.push.bind(stream);
      stream.push = (packet: { topic: string } | null) => {
        if (packet?.topic === raced) broker!.aedes.publish({ cmd: 'publish', topic: raced, payload: Buffer.from('new'), qos: 0, retain: true, dup: false }, () => {});
        return push(packet);
      };
      return stream as Readable;
    };
    const subscriber = await connect();
    const seen: string[] = [];
    // The retained stream yields topics in the order they were first stored: `last` comes last.
    const replayed = new Promise<void>((resolve) => {
      subscriber.on('message', (topic, payload) => {
        if (topic === raced) seen.push(payload.toString());
        if (topic === 'lampnet/lamps/last/state') resolve();
      });
    });
    await subscriber.subscribeAsync('lampnet/lamps/+/state', { qos: 1 });
    await replayed;
    expect(seen).toEqual(['new']);
  });
});
