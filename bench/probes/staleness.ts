/**
 * Figure 5's probe: how stale `lampnet/stats` is with a large fleet. Each sample waits a random part
 * of the stats period, gives one lamp a driver fault (the lamp reports it to the gateway at once),
 * and times until a `lampnet/stats` message counts that fault.
 *
 *   node staleness.js --lamps N --samples K
 */
import { Prng } from '../../sim/random.js';
import { numberArg, progress, reply, runMain } from './probe.js';
import { FLEET_STATS_TOPIC } from '../../protocol/mqtt-topics.js';
import { gatewayGauges, quantile, startSystem, until } from './fleet-gateway.js';

/** A sample that shows no change within this long is recorded at this bound and counted unshown. */
const SAMPLE_BOUND_MS = 20_000;

runMain(async () => {
  const lamps = numberArg('lamps', 10_000);
  const samples = numberArg('samples', 3);
  const registeredStart = performance.now();
  const system = await startSystem({
    lamps, bootJitterMs: Math.min(30_000, Math.max(1000, lamps * 0.03)), registerTimeoutMs: 420_000, subscribe: [FLEET_STATS_TOPIC],
  });
  const registerS = (performance.now() - registeredStart) / 1000;
  const { client, gateway, sim } = system;
  let faults = -1;
  let statsMessages = 0;
  client.on('message', (topic, payload) => {
    if (topic !== FLEET_STATS_TOPIC) return;
    statsMessages++;
    faults = (JSON.parse(payload.toString()) as { fault: number }).fault;
  });
  await until(() => faults >= 0, 60_000, () => 'no lampnet/stats yet');
  const backlogAtStart = (await gatewayGauges(gateway)).lampnet_gateway_publish_backlog ?? 0;
  const aggregateStarted = performance.now();
  gateway.registry.aggregate();
  const aggregateMs = performance.now() - aggregateStarted;

  const rng = new Prng(3);
  const stale: number[] = [];
  let unshown = 0;
  for (let k = 0; k < samples; k++) {
    await new Promise((resolve) => setTimeout(resolve, rng.float() * gateway.options.statsIntervalMs));
    const before = faults;
    const lamp = 1 + Math.floor(rng.float() * lamps);
    const changed = performance.now();
    sim.fleet.fault(lamp, true);
    const shown = await until(() => faults > before, SAMPLE_BOUND_MS, () => `stats still count ${faults} faults`).then(() => true, () => false);
    stale.push(shown ? performance.now() - changed : SAMPLE_BOUND_MS);
    if (!shown) unshown++;
    const backlog = (await gatewayGauges(gateway)).lampnet_gateway_publish_backlog ?? 0;
    progress(`sample ${k + 1}: lamp ${lamp} fault ${shown ? `shown after ${stale[stale.length - 1].toFixed(0)} ms` : `not shown within ${SAMPLE_BOUND_MS / 1000} s`}, publish backlog ${backlog}`);
  }
  const sorted = stale.slice().sort((a, b) => a - b);
  reply({ result: {
    lamps, samples, unshown, boundMs: SAMPLE_BOUND_MS, registerS, aggregateMs, backlogAtStart, statsMessages, statsIntervalMs: gateway.options.statsIntervalMs,
    p50Ms: quantile(sorted, 0.5), maxMs: sorted[sorted.length - 1], heapUsed: process.memoryUsage().heapUsed, rss: process.memoryUsage().rss,
    gauges: await gatewayGauges(gateway),
  } });
  await system.close();
});
