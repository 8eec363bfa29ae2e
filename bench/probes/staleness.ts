/**
 * Figure 5's probe: how stale `lampnet/stats` is with a large fleet. Each sample waits a random part
 * of the stats period, gives one lamp a driver fault (the lamp reports it to the gateway at once),
 * and times until a `lampnet/stats` message counts that fault.
 *
 *   node staleness.js --lamps N --samples K
 */
import { mulberry32 } from '../../sim/fleet.js';
import { numberArg, progress, reply, runMain } from './probe.js';
import { gatewayGauges, quantile, startSystem, until } from './fleet-gateway.js';

runMain(async () => {
  const lamps = numberArg('lamps', 10_000);
  const samples = numberArg('samples', 3);
  const registeredStart = performance.now();
  const system = await startSystem({ lamps, bootJitterMs: Math.min(30_000, Math.max(1000, lamps * 0.03)), registerTimeoutMs: 420_000 });
  const registerS = (performance.now() - registeredStart) / 1000;
  const { client, gateway, sim } = system;
  let faults = -1;
  client.on('message', (topic, payload) => {
    if (topic === 'lampnet/stats') faults = (JSON.parse(payload.toString()) as { fault: number }).fault;
  });
  await client.subscribeAsync('lampnet/stats', { qos: 0 });
  await until(() => faults >= 0, 30_000, () => 'no lampnet/stats yet');
  // Every lamp published once: the publisher's backlog from registration is drained.
  await until(() => gateway.registry.onlineCount === lamps, 60_000, () => `${gateway.registry.onlineCount} online`);

  const aggregateStarted = performance.now();
  gateway.registry.aggregate();
  const aggregateMs = performance.now() - aggregateStarted;

  const random = mulberry32(3);
  const stale: number[] = [];
  for (let k = 0; k < samples; k++) {
    await new Promise((resolve) => setTimeout(resolve, random() * gateway.options.statsIntervalMs));
    const before = faults;
    const lamp = 1 + Math.floor(random() * lamps);
    const changed = performance.now();
    sim.fleet.fault(lamp, true);
    await until(() => faults > before, 30_000, () => `stats still count ${faults} faults`);
    stale.push(performance.now() - changed);
    progress(`sample ${k + 1}: lamp ${lamp} fault shown after ${stale[stale.length - 1].toFixed(0)} ms`);
  }
  const sorted = stale.slice().sort((a, b) => a - b);
  reply({ result: {
    lamps, samples, registerS, aggregateMs, statsIntervalMs: gateway.options.statsIntervalMs,
    p50Ms: quantile(sorted, 0.5), maxMs: sorted[sorted.length - 1], heapUsed: process.memoryUsage().heapUsed, rss: process.memoryUsage().rss,
    gauges: await gatewayGauges(gateway),
  } });
  await system.close();
});
