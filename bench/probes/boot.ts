/**
 * Figure 3's probe: boot a dense fleet of `--lamps N` on the memory link and measure the time, the
 * heap it added (after full collections) and the process RSS.
 *
 * The clock is frozen (ManualClock) so the figure is the booted fleet itself: every lamp created,
 * booted, in its street group and armed in the scheduler, and no registration yet in flight (with a
 * running clock the first registrations would start during the boot and add their retransmission
 * state to the measurement, by chance of timing). After the measurement, lamps spread over the fleet
 * are pinged (echo-check.ts): a fleet that booted without answering is not a fleet.
 */
import type { MemoryLink } from '../../ipv6/link/memory.js';
import { parseIpv6 } from '../../ipv6/wire/address.js';
import { ManualClock } from '../../sim/scheduler.js';
import { startSim } from '../../sim/sim.js';
import { EchoCheck } from './echo-check.js';
import { numberArg, reply, runMain, settledHeap } from './probe.js';

/** Lamps pinged after the boot, spread evenly over the fleet (the first and the last among them). */
const PINGED = 1000;

runMain(async () => {
  const lamps = numberArg('lamps', 10_000);
  const before = settledHeap();
  const started = performance.now();
  const sim = await startSim({ lamps, prefix: '2001:db8::/64', link: 'memory', clock: new ManualClock() });
  const seconds = (performance.now() - started) / 1000;
  const after = settledHeap();
  const rss = process.memoryUsage().rss;
  const echo = new EchoCheck(sim.link as MemoryLink, parseIpv6('2001:db8:1::1')!);
  const dst = parseIpv6('2001:db8::')!;
  const pinged = Math.min(PINGED, lamps);
  for (let k = 0; k < pinged; k++) {
    const n = pinged === 1 ? 1 : 1 + Math.round((k * (lamps - 1)) / (pinged - 1));
    new DataView(dst.buffer).setUint32(12, n);
    echo.ask(dst, k);
  }
  reply({ result: { lamps, seconds, heapBytes: after - before, bytesPerLamp: (after - before) / lamps, rss, booted: sim.fleet.counters.booted, echo: echo.counts } });
  await sim.close();
});
