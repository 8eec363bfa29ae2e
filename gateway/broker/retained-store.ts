/**
 * The embedded broker's persistence: aedes' own in-memory persistence, except for the retained
 * messages, which lampnet keeps.
 *
 * Why: the gateway publishes every lamp's state retained, and under commands each lamp's retained
 * message is replaced about once a second (10,000 lamps at 10,000 commands/s). aedes' own store
 * keeps a fresh copy of each packet, and the packet's payload (a slice of an 8 KiB pool slab), until
 * the next one replaces it: objects that live a second reach V8's old generation and die there, a
 * large source of major collections in the set → state tail (bench/ANALYSIS.md).
 *
 * Here a topic's record is created once and then updated in place: the payload is copied into bytes
 * the record owns (reallocated only when a payload outgrows them), so a steady stream of updates
 * leaves nothing behind that outlived its publish. A subscriber that asks for retained messages gets
 * copies, so the record's bytes are never held by a socket write in progress while they change.
 *
 * A copy read for a new subscriber waits behind the ones before it; `holds` tells the broker
 * whether it is still the topic's message when it is forwarded (broker.ts).
 */
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type AsyncMemoryPersistence from 'aedes-persistence/types/asyncPersistence.js';
import { topicMatcher } from '../../protocol/mqtt-topics.js';

/** A retained packet as aedes hands it to `storeRetained` and reads it back from the stream. An
 * MQTT 5 packet brings its properties, and `messageExpiry` (ms since the epoch) when it has a
 * Message Expiry Interval: aedes drops an expired retained message when it would deliver it, and
 * gives a live one the lifetime it has left. */
interface RetainedPacket {
  cmd: 'publish';
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  properties?: Record<string, unknown>;
  messageExpiry?: number;
}

interface RetainedRecord {
  readonly topic: string;
  bytes: Buffer;
  length: number;
  qos: 0 | 1 | 2;
  properties: Record<string, unknown> | undefined;
  messageExpiry: number | undefined;
}

/** Payload capacity is rounded up to this, so a state document a few bytes longer than the last
 * still fits. */
const CAPACITY_STEP = 64;

const MemoryPersistence = createRequire(import.meta.url)('aedes-persistence/asyncPersistence.js') as typeof AsyncMemoryPersistence;

export class LampnetPersistence extends MemoryPersistence {
  private readonly retained = new Map<string, RetainedRecord>();

  /** Retained topics held. */
  get retainedCount(): number {
    return this.retained.size;
  }

  // The signatures are aedes-persistence's (the packet type it declares is wider than what it uses).
  override async storeRetained(packet: Parameters<AsyncMemoryPersistence['storeRetained']>[0]): Promise<void> {
    const { topic, payload, qos, properties, messageExpiry } = packet as unknown as RetainedPacket;
    // An empty retained message clears the topic (MQTT 3.1.1 §3.3.1.3).
    if (payload.length === 0) {
      this.retained.delete(topic);
      return;
    }
    let record = this.retained.get(topic);
    if (record === undefined) {
      record = { topic, bytes: Buffer.allocUnsafeSlow(capacityFor(payload.length)), length: 0, qos: 0, properties: undefined, messageExpiry: undefined };
      this.retained.set(topic, record);
    } else if (record.bytes.length < payload.length) {
      record.bytes = Buffer.allocUnsafeSlow(capacityFor(payload.length));
    }
    payload.copy(record.bytes, 0, 0, payload.length);
    record.length = payload.length;
    record.qos = qos;
    // A lamp state's only property is its expiry, which messageExpiry carries: holding the packet's
    // properties object for a second would age it into the old generation for nothing.
    record.properties = properties === undefined || onlyExpiry(properties) ? undefined : properties;
    record.messageExpiry = messageExpiry;
  }

  /** Whether `payload` is still `topic`'s retained message. */
  holds(topic: string, payload: Buffer | string): boolean {
    const record = this.retained.get(topic);
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
    return record !== undefined && record.length === bytes.length && bytes.compare(record.bytes, 0, record.length) === 0;
  }

  override createRetainedStream(pattern: string): Readable {
    return Readable.from(this.matching([pattern]));
  }

  override createRetainedStreamCombi(patterns: string[]): Readable {
    return Readable.from(this.matching(patterns));
  }

  /** A copy of every retained message whose topic matches one of `filters`, each at most once. */
  private *matching(filters: string[]): Generator<RetainedPacket> {
    const tests = filters.map(topicMatcher);
    for (const record of this.retained.values()) {
      if (!tests.some((matches) => matches(record.topic))) continue;
      const packet: RetainedPacket = { cmd: 'publish', topic: record.topic, payload: Buffer.from(record.bytes.subarray(0, record.length)), qos: record.qos, retain: true };
      if (record.properties !== undefined) packet.properties = record.properties;
      if (record.messageExpiry !== undefined) packet.messageExpiry = record.messageExpiry;
      yield packet;
    }
  }
}

function onlyExpiry(properties: Record<string, unknown>): boolean {
  for (const key in properties) if (key !== 'messageExpiryInterval') return false;
  return true;
}

function capacityFor(length: number): number {
  return Math.ceil(length / CAPACITY_STEP) * CAPACITY_STEP;
}
