/**
 * Figure 4's probe: MQTT `set` → lamp → retained state latency, against MQTT alone.
 *
 *   node mqtt-latency.js --lamps N --rates 1000,10000 --seconds S
 *
 * For each rate: commands `lampnet/lamps/<id>/set` = a level go out paced at that rate (lamp after
 * lamp, so a lamp's next command comes a whole round later); the latency of one command is from its
 * publish to the first `lampnet/lamps/<id>/state` showing that level. The reference is the broker
 * alone: messages `<k>` published and received by the same client at the same rate on ECHO_TOPIC,
 * a command to a group no lamp is in (clients may publish only commands), which the gateway also
 * receives and refuses on its errors topic. A third run measures MQTT 5 request/response: the same
 * commands with a Response Topic and the lamp number as Correlation Data, from publish to the
 * gateway's answer with the lamp's confirmed state. Everything (fleet, gateway, broker, client)
 * shares this process, as in `lampnet up`; the client speaks MQTT 5.
 */
import { numberArg, progress, reply, runMain, stringArg } from './probe.js';
import { gatewayGauges, quantile, startSystem, until } from './fleet-gateway.js';
import type { RunResult } from '../figures/mqtt.js';

const ECHO_TOPIC = 'lampnet/groups/bench-echo/set';
const REPLY_TOPIC = 'lampnet/replies/bench';

runMain(async () => {
  const lamps = numberArg('lamps', 1000);
  const seconds = numberArg('seconds', 1);
  const rates = stringArg('rates', '1000').split(',').map(Number);
  const system = await startSystem({ lamps, bootJitterMs: Math.min(20_000, lamps), registerTimeoutMs: 120_000 });
  const { client } = system;

  // What is awaited, in typed arrays sized once: the probe shares the process (and its collector)
  // with the system it measures, so its own bookkeeping must not add garbage that outlives a
  // young-generation cycle (a Map entry per command and a growing latency array did: ~20 MB per
  // 10 s run, bench/ANALYSIS.md). Lamp n's command: the level asked and when (NaN: none);
  // echo k: when it was published.
  const maxSent = Math.ceil(Math.max(...rates) * seconds) + 1;
  const levelAsked = new Int16Array(lamps + 1);
  const levelAt = new Float64Array(lamps + 1).fill(NaN);
  const echoAt = new Float64Array(maxSent).fill(NaN);
  const latencies = new Float64Array(maxSent);
  let answered = 0;
  let waiting = 0;
  /** What the current run counts as a command's answer: the state or the gateway's response. */
  let measuring: 'lamp' | 'reply' | 'echo' = 'echo';
  client.on('message', (topic, payload, packet) => {
    const now = performance.now();
    if (topic === REPLY_TOPIC) {
      if (measuring !== 'reply') return;
      const n = packet.properties?.correlationData?.readUInt32BE(0) ?? 0;
      if (!(n >= 1 && n <= lamps) || levelAt[n] !== levelAt[n]) return;
      const answer = JSON.parse(payload.toString()) as { ok: boolean; state?: { level: number } };
      if (answer.ok && answer.state?.level === levelAsked[n]) {
        latencies[answered++] = now - levelAt[n];
        levelAt[n] = NaN;
        waiting--;
      }
      return;
    }
    if (topic === ECHO_TOPIC) {
      const k = Number(payload.toString());
      if (k >= 0 && k < maxSent && echoAt[k] === echoAt[k]) {
        latencies[answered++] = now - echoAt[k];
        echoAt[k] = NaN;
        waiting--;
      }
      return;
    }
    if (measuring !== 'lamp') return;
    const n = Number(topic.slice('lampnet/lamps/'.length, -'/state'.length));
    if (!(n >= 1 && n <= lamps) || levelAt[n] !== levelAt[n]) return;
    const state = JSON.parse(payload.toString()) as { level: number };
    if (state.level === levelAsked[n]) {
      latencies[answered++] = now - levelAt[n];
      levelAt[n] = NaN;
      waiting--;
    }
  });
  await client.subscribeAsync(['lampnet/lamps/+/state', ECHO_TOPIC, REPLY_TOPIC], { qos: 0 });
  // The retained states arrive first; let them pass before measuring.
  await new Promise((resolve) => setTimeout(resolve, 1000 + lamps / 10));
  /** Each run starts from a quiet gateway: nothing left to publish from the one before. */
  /** Error reports the gateway has not published yet: the reference run leaves one per message,
   * and they go out ahead of lamp states. */
  const errorsWaiting = async (): Promise<number> => {
    let reported = 0;
    let published = 0;
    for (const metric of await system.gateway.metrics.registry.getMetricsAsJSON()) {
      const sum = (keep: (labels: Record<string, unknown>) => boolean): number => metric.values.filter((v) => keep(v.labels)).reduce((a, v) => a + v.value, 0);
      if (metric.name === 'lampnet_gateway_errors_total') reported = sum(() => true);
      if (metric.name === 'lampnet_gateway_mqtt_publishes_total') published += sum((l) => l.kind === 'error');
      if (metric.name === 'lampnet_gateway_error_reports_dropped_total') published += sum(() => true);
    }
    return reported - published;
  };
  const quiet = async (): Promise<void> => {
    let backlog = Infinity;
    const poll = setInterval(() => void Promise.all([gatewayGauges(system.gateway), errorsWaiting()]).then(([g, errors]) => {
      backlog = (g.lampnet_gateway_publish_backlog ?? 0) + errors;
    }), 50);
    await until(() => backlog === 0, 30_000, () => `publish backlog ${backlog}`).catch(() => undefined);
    clearInterval(poll);
  };

  let round = 0;
  /** Lamp n's Correlation Data (its number), made once. */
  const correlation = Array.from({ length: lamps + 1 }, (_, n) => {
    const data = Buffer.alloc(4);
    data.writeUInt32BE(n);
    return data;
  });
  const run = async (rate: number, kind: 'lamp' | 'reply' | 'echo'): Promise<RunResult> => {
    await quiet();
    measuring = kind;
    answered = 0;
    waiting = 0;
    const total = Math.round(rate * seconds);
    const started = performance.now();
    let sent = 0;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
      for (; sent < due; sent++) {
        const n = (sent % lamps) + 1;
        if (n === 1) round++;
        if (kind !== 'echo') {
          const level = 10 + (round % 80);
          // A command still unanswered a whole round later is lost; the new one replaces it.
          if (levelAt[n] !== levelAt[n]) waiting++;
          levelAsked[n] = level;
          levelAt[n] = performance.now();
          const properties = kind === 'reply' ? { properties: { responseTopic: REPLY_TOPIC, correlationData: correlation[n] } } : {};
          client.publish(`lampnet/lamps/${n}/set`, String(level), { qos: 0, ...properties });
        } else {
          echoAt[sent] = performance.now();
          waiting++;
          client.publish(ECHO_TOPIC, String(sent), { qos: 0 });
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const sendingS = (performance.now() - started) / 1000;
    await until(() => waiting === 0, 10_000, () => `${waiting} answers missing`).catch(() => undefined);
    levelAt.fill(NaN);
    echoAt.fill(NaN);
    const sorted = latencies.subarray(0, answered).sort();
    const result = {
      rate, sent, matched: answered, achievedRate: sent / sendingS,
      p50Ms: quantile(sorted, 0.5), p99Ms: quantile(sorted, 0.99), maxMs: answered > 0 ? sorted[answered - 1] : NaN,
    };
    progress(`${kind} at ${rate}/s: ${result.matched}/${sent} answered, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms`);
    return result;
  };

  const results: { lamp: RunResult; reply: RunResult; echo: RunResult }[] = [];
  for (const rate of rates) {
    const echo = await run(rate, 'echo');
    const lamp = await run(rate, 'lamp');
    const reply = await run(rate, 'reply');
    results.push({ lamp, reply, echo });
  }
  reply({ result: { lamps, seconds, runs: results, gauges: await gatewayGauges(system.gateway) } });
  await system.close();
});
