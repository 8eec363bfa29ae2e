/**
 * What a Grafana board is built on: the fleet and group gauges, the process metrics and the latency
 * histograms on /metrics, checked by Prometheus's own parser and linter (`promtool check metrics`).
 * Real gateway, real firmware lamps on UDP, a real MQTT command.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayMetrics, MAX_GROUP_SERIES } from '../../gateway/metrics.js';
import { LampRegistry } from '../../gateway/registry.js';
import { metricValue, startFixture, type Fixture } from './helpers/gateway-fixture.js';

/** promtool's complaints about prom-client's own default metric names, which lampnet cannot rename:
 * gauges of Node's handles, requests and resources named with `_total`. */
const PROM_CLIENT_NAMES = /^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/;

/** `promtool check metrics` on `text`: its exit code and its complaints, one per line. */
function promtool(text: string): Promise<{ code: number | null; problems: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, problems: output.split('\n').filter((l) => l.trim() !== '') }));
    child.stdin.end(text);
  });
}

let fixture: Fixture | null = null;
afterEach(async () => {
  await fixture?.close();
  fixture = null;
});

describe('/metrics', () => {
  it('passes promtool check metrics, with nothing to lint but prom-client\'s own default names', async () => {
    fixture = await startFixture(2, { configure: (c, n) => { c.groups = `street-${n}`; } });
    await fixture.allOnline();
    const { code, problems } = await promtool(await fixture.metrics());
    expect(problems.filter((p) => !PROM_CLIENT_NAMES.test(p))).toEqual([]);
    // 3 is promtool's "lint problems" (the ones above); a text it cannot parse exits 1.
    expect([0, 3]).toContain(code);
  });

  it('counts the fleet and each group by state, with watts, energy, process metrics and latency histograms', async () => {
    fixture = await startFixture(3, { configure: (c, n) => { c.groups = n <= 2 ? 'north' : 'south'; } });
    await fixture.allOnline();
    await fixture.watcher.publish('lampnet/lamps/1/set', '{"on":true,"level":50}');
    await fixture.watcher.json<{ on: boolean }>('lampnet/lamps/1/state', (s) => s.on);
    const text = await fixture.metrics();
    expect(metricValue(text, 'lampnet_fleet_lamps{state="online"}')).toBe(3);
    expect(metricValue(text, 'lampnet_fleet_lamps{state="on"}')).toBe(1);
    expect(metricValue(text, 'lampnet_fleet_lamps{state="off"}')).toBe(2);
    expect(metricValue(text, 'lampnet_fleet_lamps{state="offline"}')).toBe(0);
    expect(metricValue(text, 'lampnet_fleet_watts')).toBeGreaterThan(0);
    expect(text).toMatch(/^lampnet_fleet_energy_joules \d/m);
    expect(metricValue(text, 'lampnet_group_lamps{group="north",state="on"}')).toBe(1);
    expect(metricValue(text, 'lampnet_group_lamps{group="south",state="online"}')).toBe(1);
    expect(metricValue(text, 'lampnet_group_watts{group="north"}')).toBeGreaterThan(metricValue(text, 'lampnet_group_watts{group="south"}'));
    expect(metricValue(text, 'lampnet_gateway_command_round_trip_seconds_count{result="confirmed"}')).toBe(1);
    expect(metricValue(text, 'lampnet_gateway_coap_exchange_seconds_count{result="confirmed"}')).toBe(1);
    expect(metricValue(text, 'lampnet_gateway_coap_exchange_seconds_bucket{le="+Inf",result="confirmed"}')).toBe(1);
    expect(text).toMatch(/^process_cpu_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d/m);
  });

  it(`leaves out the per-group series when there are more than ${MAX_GROUP_SERIES} groups, and keeps the fleet totals`, async () => {
    const registry = new LampRegistry();
    const lamps = MAX_GROUP_SERIES + 1;
    for (let n = 1; n <= lamps; n++) registry.register(String(n), `2001:db8::${n.toString(16)}`, 5683, 300, `street-${n}`, () => true, Date.now());
    const metrics = new GatewayMetrics({
      lamps: () => registry.size, online: () => registry.onlineCount, publishBacklog: () => 0, commandBacklog: () => 0, inFlight: () => 0,
      aggregate: () => registry.aggregate(),
    });
    const text = await metrics.text();
    expect(metricValue(text, 'lampnet_fleet_lamps{state="online"}')).toBe(lamps);
    expect(text).not.toMatch(/^lampnet_group_/m);
  });
});
