/**
 * Figure 3's probe: boot a dense fleet of `--lamps N` on the memory link and measure the time, the
 * heap it added (after full collections) and the process RSS.
 *
 * The clock is frozen (ManualClock) so the figure is the booted fleet itself: every lamp created,
 * booted, in its street group and armed in the scheduler, and no registration yet in flight (with a
 * running clock the first registrations would start during the boot and add their retransmission
 * state to the measurement, by chance of timing).
 */
import { ManualClock } from '../../sim/scheduler.js';
import { startSim } from '../../sim/sim.js';
import { numberArg, reply, runMain, settledHeap } from './probe.js';

runMain(async () => {
  const lamps = numberArg('lamps', 10_000);
  const before = settledHeap();
  const started = performance.now();
  const sim = await startSim({ lamps, link: 'memory', clock: new ManualClock() });
  const seconds = (performance.now() - started) / 1000;
  const after = settledHeap();
  reply({ result: { lamps, seconds, heapBytes: after - before, bytesPerLamp: (after - before) / lamps, rss: process.memoryUsage().rss, booted: sim.fleet.counters.booted } });
  await sim.close();
});
