/**
 * Figure 4's probe: MQTT `set` → lamp → retained state latency, against MQTT alone.
 *
 *   node mqtt-latency.js --lamps N --rates 1000,10000 --seconds S
 *
 * For each rate: commands `lampnet/lamps/<id>/set` = a level go out paced at that rate (lamp after
 * lamp, so a lamp's next command comes a whole round later); the latency of one command is from its
 * publish to the first `lampnet/lamps/<id>/state` showing that level. The reference is the broker
 * alone: `bench/echo/<k>` messages published and received by the same client at the same rate.
 * Everything (fleet, gateway, broker, client) shares this process, as in `lampnet up`.
 */
import { numberArg, progress, reply, runMain, stringArg } from './probe.js';
import { gatewayGauges, quantile, startSystem, until } from './fleet-gateway.js';

interface RunResult {
  rate: number;
  sent: number;
  matched: number;
  achievedRate: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

runMain(async () => {
  const lamps = numberArg('lamps', 1000);
  const seconds = numberArg('seconds', 1);
  const rates = stringArg('rates', '1000').split(',').map(Number);
  const system = await startSystem({ lamps, bootJitterMs: Math.min(20_000, lamps), registerTimeoutMs: 120_000 });
  const { client } = system;

  // Pending: lamp id → the level asked and when; echo sequence → when.
  const pendingLevel = new Map<string, { level: number; at: number }>();
  const pendingEcho = new Map<string, number>();
  let latencies: number[] = [];
  client.on('message', (topic, payload) => {
    const now = performance.now();
    if (topic.startsWith('bench/echo/')) {
      const at = pendingEcho.get(topic);
      if (at !== undefined) {
        pendingEcho.delete(topic);
        latencies.push(now - at);
      }
      return;
    }
    const id = topic.slice('lampnet/lamps/'.length, -'/state'.length);
    const want = pendingLevel.get(id);
    if (want === undefined) return;
    const state = JSON.parse(payload.toString()) as { level: number };
    if (state.level === want.level) {
      pendingLevel.delete(id);
      latencies.push(now - want.at);
    }
  });
  await client.subscribeAsync(['lampnet/lamps/+/state', 'bench/echo/#'], { qos: 0 });
  // The retained states arrive first; let them pass before measuring.
  await new Promise((resolve) => setTimeout(resolve, 1000 + lamps / 10));
  /** Each run starts from a quiet gateway: nothing left to publish from the one before. */
  const quiet = async (): Promise<void> => {
    let backlog = Infinity;
    const poll = setInterval(() => void gatewayGauges(system.gateway).then((g) => { backlog = g.lampnet_gateway_publish_backlog ?? 0; }), 50);
    await until(() => backlog === 0, 30_000, () => `publish backlog ${backlog}`).catch(() => undefined);
    clearInterval(poll);
  };

  let round = 0;
  const run = async (rate: number, kind: 'lamp' | 'echo'): Promise<RunResult> => {
    await quiet();
    latencies = [];
    const total = Math.round(rate * seconds);
    const started = performance.now();
    let sent = 0;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
      for (; sent < due; sent++) {
        const n = (sent % lamps) + 1;
        if (n === 1) round++;
        if (kind === 'lamp') {
          const level = 10 + (round % 80);
          pendingLevel.set(String(n), { level, at: performance.now() });
          client.publish(`lampnet/lamps/${n}/set`, String(level), { qos: 0 });
        } else {
          const topic = `bench/echo/${sent}`;
          pendingEcho.set(topic, performance.now());
          client.publish(topic, String(sent), { qos: 0 });
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const sendingS = (performance.now() - started) / 1000;
    const pending = kind === 'lamp' ? pendingLevel : pendingEcho;
    await until(() => pending.size === 0, 10_000, () => `${pending.size} answers missing`).catch(() => undefined);
    pending.clear();
    const sorted = latencies.sort((a, b) => a - b);
    const result = {
      rate, sent, matched: sorted.length, achievedRate: sent / sendingS,
      p50Ms: quantile(sorted, 0.5), p99Ms: quantile(sorted, 0.99), maxMs: sorted[sorted.length - 1] ?? NaN,
    };
    progress(`${kind} at ${rate}/s: ${result.matched}/${sent} answered, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms`);
    return result;
  };

  const results: { lamp: RunResult; echo: RunResult }[] = [];
  for (const rate of rates) {
    const echo = await run(rate, 'echo');
    const lamp = await run(rate, 'lamp');
    results.push({ lamp, echo });
  }
  reply({ result: { lamps, seconds, runs: results, gauges: await gatewayGauges(system.gateway) } });
  await system.close();
});
