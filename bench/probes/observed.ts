/**
 * Heap bytes per lamp of a fleet the gateway observes (DESIGN.md: ≤ 400 B per lamp): a dense fleet
 * of `--lamps N` on the memory link registers with the real gateway in the same process, which sets
 * each lamp up as it does any client (Write-Attributes pmax on /3311/0, Observe /3311/0, /3305/0 and
 * /3/0/11, read /32311/0/0). Once every lamp holds its 3 observations the clock stops and the
 * gateway is closed and let go; then the clock is advanced past the minute for which a lamp keeps
 * the answer to the Write-Attributes PUT (its de-duplication cache), so the figure is the steady
 * state of an observed lamp: registration, observations and attributes. Memory as in the boot probe
 * (after full collections, after minus before), but heapUsed plus arrayBuffers: the fleet's
 * columns are typed arrays, whose backing stores heapUsed leaves out. With a small fleet and gateway run first so
 * that code compiled and module caches filled on first use are not counted against the lamps.
 */
import { startGateway } from '../../gateway/gateway.js';
import { enter } from '../../firmware/context.js';
import { observations } from '../../firmware/observe.js';
import { startSim, type Sim } from '../../sim/sim.js';
import { ManualClock, realClock } from '../../sim/scheduler.js';
import { until } from './fleet-gateway.js';
import { numberArg, progress, reply, runMain, settledMemory } from './probe.js';

/** A fleet of `lamps`, observed by a gateway that is gone again; its clock stopped (manual). */
async function observedFleet(lamps: number): Promise<{ sim: Sim; clock: ManualClock; seconds: number }> {
  const started = performance.now();
  const real = realClock(1);
  let stopped: ManualClock | null = null;
  const sim = await startSim({
    lamps, link: 'memory', bootJitterMs: Math.min(20_000, Math.max(1000, lamps * 0.05)),
    clock: { now: () => (stopped ? stopped.now() : real.now()), realDelay: (ms) => (stopped ? Infinity : real.realDelay(ms)) },
  });
  const endpoint = sim.gatewayEndpoint();
  const gateway = await startGateway({ mqttPort: 0, wsPort: null, metricsPort: null, dashboardDir: null, listenHost: '127.0.0.1', commandHoldMs: 0 }, endpoint);
  let observed = 0;
  const count = (): number => {
    observed = 0;
    for (let n = 1; n <= lamps; n++) {
      enter(sim.fleet.hal, sim.fleet.lamp(n)!);
      if (observations().length === 3) observed++;
    }
    return observed;
  };
  await until(() => count() === lamps, 600_000, () => `${observed} of ${lamps} lamps observed`, 10_000);
  stopped = new ManualClock(real.now());
  await gateway.close();
  // The gateway does not close the endpoint it was handed; its handler would keep the gateway.
  await endpoint.close();
  // Its sockets finish closing on the next turn, which lets go of the gateway's last references.
  await new Promise((resolve) => setImmediate(resolve));
  return { sim, clock: stopped, seconds: (performance.now() - started) / 1000 };
}

runMain(async () => {
  const lamps = numberArg('lamps', 10_000);
  await (await observedFleet(10)).sim.close();
  const before = settledMemory();
  const { sim, clock, seconds } = await observedFleet(lamps);
  progress(`${lamps} lamps observed after ${seconds.toFixed(1)} s`);
  const atSetup = settledMemory();
  sim.fleet.scheduler.advance(clock, 61_000);
  const after = settledMemory();
  const perLamp = (m: ReturnType<typeof settledMemory>, field: 'heapUsed' | 'arrayBuffers'): number => (m[field] - before[field]) / lamps;
  reply({ result: {
    lamps, seconds,
    heapBytesPerLamp: perLamp(after, 'heapUsed'), arrayBytesPerLamp: perLamp(after, 'arrayBuffers'),
    bytesPerLamp: perLamp(after, 'heapUsed') + perLamp(after, 'arrayBuffers'),
    bytesPerLampAtSetup: perLamp(atSetup, 'heapUsed') + perLamp(atSetup, 'arrayBuffers'),
    rss: process.memoryUsage().rss,
  } });
  await sim.close();
});
