/**
 * Commands for lamps the gateway does not know are never silent: held ones are announced at once
 * on lampnet/gateway/commands with their deadline and again when delivered, and once the fleet is
 * known complete or registrations have settled an unknown lamp is an error at once. Real gateway,
 * real embedded aedes, real firmware lamps on UDP, a real mqtt.js subscriber.
 */
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import type { CommandResponseDocument } from '../../protocol/mqtt-topics.js';
import { startFixture, type Fixture } from './helpers/gateway-fixture.js';

interface Notice {
  topic: string;
  lamp: string;
  outcome: 'held' | 'delivered';
  until?: string;
  at: string;
}

interface ErrorDoc {
  topic: string;
  kind: string;
  lamp?: string;
  reason: string;
}

const NOTICES = 'lampnet/gateway/commands';
const ERRORS = 'lampnet/gateway/errors';

let fixture: Fixture | null = null;
afterEach(async () => {
  await fixture?.close();
  fixture = null;
});

const notices = (f: Fixture): Notice[] => f.watcher.log.filter((m) => m.topic === NOTICES).map((m) => JSON.parse(m.payload) as Notice);
const errors = (f: Fixture): ErrorDoc[] => f.watcher.log.filter((m) => m.topic === ERRORS).map((m) => JSON.parse(m.payload) as ErrorDoc);

describe('a command for a lamp that has not registered yet', () => {
  it('is announced as held with its deadline at once, and as delivered when the lamp registers', async () => {
    const startedAt = Date.now();
    fixture = await startFixture(0, { gateway: { commandHoldMs: 120_000 } });
    const { startUdpLamps } = await import('./helpers/udp-lamps.js');
    const f = fixture;
    await f.watcher.publish('lampnet/lamps/1/set', 'ON');
    const held = await f.watcher.json<Notice>(NOTICES, (n) => n.outcome === 'held');
    expect(held).toMatchObject({ topic: 'lampnet/lamps/1/set', lamp: '1' });
    const deadline = Date.parse(held.until!);
    expect(deadline).toBeGreaterThanOrEqual(startedAt + 120_000);
    expect(deadline).toBeLessThanOrEqual(Date.now() + 120_000);

    const lamps = await startUdpLamps(1, { gatewayPort: f.gateway.coapPort! });
    try {
      await f.watcher.json<Notice>(NOTICES, (n) => n.outcome === 'delivered');
      await f.watcher.json<{ on: boolean }>('lampnet/lamps/1/state', (s) => s.on);
      expect(notices(f).map((n) => [n.outcome, n.lamp])).toEqual([['held', '1'], ['delivered', '1']]);
      expect(errors(f)).toEqual([]);
    } finally {
      await lamps.close();
    }
  });
});

describe('an unknown lamp once the gateway knows its fleet', () => {
  it('is an error at once when every lamp of a fleet of known size has registered, however long the hold', async () => {
    fixture = await startFixture(2, { gateway: { commandHoldMs: 300_000, fleetSize: 2 } });
    await fixture.allOnline();
    await fixture.watcher.publish('lampnet/lamps/99999/set', 'ON');
    const report = await fixture.watcher.json<ErrorDoc>(ERRORS);
    expect(report).toMatchObject({ kind: 'unknown-lamp', lamp: '99999', topic: 'lampnet/lamps/99999/set' });
    expect(notices(fixture)).toEqual([]);
  });

  it('is held while registrations go on, and reported when they have settled, after which the next is an error at once', async () => {
    fixture = await startFixture(1, { gateway: { commandHoldMs: 300_000, registrationsSettleMs: 3000, sweepIntervalMs: 50 } });
    await fixture.allOnline();
    await fixture.watcher.publish('lampnet/lamps/nobody/set', 'ON');
    await fixture.watcher.json<Notice>(NOTICES, (n) => n.outcome === 'held' && n.lamp === 'nobody');
    const expired = await fixture.watcher.json<ErrorDoc>(ERRORS, (e) => e.lamp === 'nobody');
    expect(expired.kind).toBe('unknown-lamp');
    expect(expired.reason).toContain('registrations have settled (no new lamp for 3 s)');

    await fixture.watcher.publish('lampnet/lamps/other/set', 'ON');
    await fixture.watcher.json<ErrorDoc>(ERRORS, (e) => e.lamp === 'other');
    expect(notices(fixture).map((n) => n.lamp)).toEqual(['nobody']);
  });

  it('answers an MQTT 5 sender at once as held, with its deadline, and again with the state once the lamp registers', async () => {
    fixture = await startFixture(0, { gateway: { commandHoldMs: 120_000 } });
    const { startUdpLamps } = await import('./helpers/udp-lamps.js');
    const f = fixture;
    const client = await mqtt.connectAsync(f.gateway.mqttUrl, { protocolVersion: 5, reconnectPeriod: 0 });
    try {
      const responseTopic = 'lampnet/replies/held-test';
      const answers: { doc: CommandResponseDocument; correlation: string | undefined }[] = [];
      client.on('message', (topic, body, packet) => {
        if (topic === responseTopic) answers.push({ doc: JSON.parse(body.toString()) as CommandResponseDocument, correlation: packet.properties?.correlationData?.toString() });
      });
      await client.subscribeAsync(responseTopic, { qos: 1 });
      await client.publishAsync('lampnet/lamps/1/set', '{"on":true,"level":30}', { qos: 1, properties: { responseTopic, correlationData: Buffer.from('held-1') } });
      await f.watcher.until('the held answer', () => answers.length >= 1);
      expect(answers[0]).toMatchObject({ correlation: 'held-1', doc: { topic: 'lampnet/lamps/1/set', held: true, lamp: '1' } });
      expect(Date.parse((answers[0].doc as { until: string }).until)).toBeGreaterThan(Date.now());

      const lamps = await startUdpLamps(1, { gatewayPort: f.gateway.coapPort! });
      try {
        await f.watcher.until('the final answer', () => answers.length >= 2);
        expect(answers[1].correlation).toBe('held-1');
        expect(answers[1].doc).toMatchObject({ topic: 'lampnet/lamps/1/set', ok: true, state: { on: true, level: 30 } });
      } finally {
        await lamps.close();
      }
    } finally {
      await client.endAsync(true);
    }
  });
});
