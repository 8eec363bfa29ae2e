/**
 * Hostile MQTT input (issue 5, issue 8): every bad command is answered on lampnet/gateway/errors
 * with a reason, counted by kind, changes nothing, and the gateway keeps serving.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Fixture, metricValue, startFixture } from './helpers/gateway-fixture.js';

let fixture: Fixture | null = null;
afterEach(async () => {
  await fixture?.close();
  fixture = null;
});

interface ErrorDoc {
  topic: string;
  kind: string;
  reason: string;
  payload?: string;
}

/** One bad command of each kind the gateway must refuse, with the kind it must report. */
const BAD: { topic: string; payload: Buffer; kind: string }[] = [
  { topic: 'lampnet/lamps/1/set', payload: Buffer.from('BRIGHT'), kind: 'payload' },
  { topic: 'lampnet/lamps/1/set', payload: Buffer.from('101'), kind: 'payload' },
  { topic: 'lampnet/lamps/1/set', payload: Buffer.from('-1'), kind: 'payload' },
  { topic: 'lampnet/lamps/1/set', payload: Buffer.from(''), kind: 'payload' },
  { topic: 'lampnet/lamps/1/set', payload: Buffer.from('{"state":"ON"'), kind: 'payload' },
  { topic: 'lampnet/lamps/1/set', payload: Buffer.from('{"state":"MAYBE"}'), kind: 'payload' },
  { topic: 'lampnet/lamps/1/set', payload: Buffer.from('{"brightness":101}'), kind: 'payload' },
  { topic: 'lampnet/lamps/1/set', payload: Buffer.from('{"level":"50"}'), kind: 'payload' },
  { topic: 'lampnet/lamps/1/set', payload: Buffer.from('{"on":"yes"}'), kind: 'payload' },
  { topic: 'lampnet/lamps/1/set', payload: Buffer.from('{"color":"red"}'), kind: 'payload' },
  { topic: 'lampnet/lamps/1/set', payload: Buffer.from('[1,2]'), kind: 'payload' },
  { topic: 'lampnet/lamps/1/set', payload: Buffer.from('{"transition":-1,"on":true}'), kind: 'payload' },
  { topic: 'lampnet/lamps/1/set', payload: Buffer.from([0x4f, 0xff, 0xfe]), kind: 'payload' },
  { topic: 'lampnet/lamps/1/set', payload: Buffer.alloc(1025, 0x20), kind: 'payload' },
  { topic: 'lampnet/lamps/99/set', payload: Buffer.from('ON'), kind: 'unknown-lamp' },
  { topic: 'lampnet/lamps//set', payload: Buffer.from('ON'), kind: 'name' },
  { topic: 'lampnet/lamps/1/x/set', payload: Buffer.from('ON'), kind: 'name' },
  { topic: 'lampnet/groups/nowhere/set', payload: Buffer.from('ON'), kind: 'unknown-group' },
  { topic: 'lampnet/groups//set', payload: Buffer.from('OFF'), kind: 'name' },
];

describe('bad commands', () => {
  it('answers each kind of bad command on the errors topic with its kind and a reason', async () => {
    fixture = await startFixture(1);
    const { watcher } = fixture;
    await fixture.allOnline();
    for (const bad of BAD) {
      const before = watcher.log.length;
      await watcher.publish(bad.topic, bad.payload);
      await watcher.until(`an error for ${bad.topic} ${bad.payload.subarray(0, 20).toString()}`, () =>
        watcher.log.slice(before).some((m) => m.topic === 'lampnet/gateway/errors'));
      const report = JSON.parse(watcher.log.slice(before).find((m) => m.topic === 'lampnet/gateway/errors')!.payload) as ErrorDoc;
      expect(report.kind, `${bad.topic} ${bad.payload.subarray(0, 20).toString()}`).toBe(bad.kind);
      expect(report.topic).toBe(bad.topic);
      expect(report.reason.length).toBeGreaterThan(0);
    }
  });

  it('answers 10,000 bad commands one for one, counts them by kind and changes no state', async () => {
    fixture = await startFixture(1);
    const { watcher, lamps } = fixture;
    await fixture.allOnline();
    const statesBefore = watcher.count('lampnet/lamps/1/state');
    const expected = new Map<string, number>();
    const total = 10_000;
    for (let k = 0; k < total; k++) {
      const bad = BAD[k % BAD.length];
      expected.set(bad.kind, (expected.get(bad.kind) ?? 0) + 1);
      watcher.client.publish(bad.topic, bad.payload, { qos: 0 });
    }
    const errors = (): number => watcher.count('lampnet/gateway/errors');
    await watcher.until(`${total} error reports (have ${errors()})`, () => errors() >= total, 60_000);
    expect(errors()).toBe(total);

    const text = await fixture.metrics();
    for (const [kind, count] of expected) expect(metricValue(text, `lampnet_gateway_errors_total{kind="${kind}"}`), kind).toBe(count);
    expect(metricValue(text, 'lampnet_gateway_commands_total{target="lamp"}')).toBe(0);
    expect(lamps.state(1).on).toBe(false);
    expect(watcher.count('lampnet/lamps/1/state')).toBe(statesBefore);

    // Still serving: a good command works afterwards.
    await watcher.publish('lampnet/lamps/1/set', 'ON');
    await watcher.json<{ on: boolean }>('lampnet/lamps/1/state', (s) => s.on);
  });
});
