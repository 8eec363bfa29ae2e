/**
 * Figure 7's probe: the sparse fleet (`lamps: 'all'`, every address of the /64 a lamp) receives one
 * Echo Request for each of `--touches N` random addresses, through the memory link; each creates a
 * lamp on its first packet. Measures the heap those lamps added (after full collections), per lamp,
 * and how the requests were answered (echo-check.ts).
 */
import { MemoryLink } from '../../ipv6/link/memory.js';
import { Prng } from '../../sim/random.js';
import { ManualClock } from '../../sim/scheduler.js';
import { startSim } from '../../sim/sim.js';
import { parseIpv6 } from '../../ipv6/wire/address.js';
import { EchoCheck } from './echo-check.js';
import { numberArg, progress, reply, runMain, settledHeap } from './probe.js';

runMain(async () => {
  const touches = numberArg('touches', 10_000);
  const sim = await startSim({ lamps: 'all', prefix: '2001:db8::/64', link: 'memory', clock: new ManualClock() });
  const echo = new EchoCheck(sim.link as MemoryLink, parseIpv6('2001:db8:1::1')!);
  const dst = parseIpv6('2001:db8::')!;
  const view = new DataView(dst.buffer);
  const rng = new Prng(7);
  const before = settledHeap();
  const started = performance.now();
  for (let i = 1; i <= touches; i++) {
    view.setUint32(8, Math.floor(rng.float() * 2 ** 32));
    view.setUint32(12, Math.floor(rng.float() * 2 ** 32) | 1);
    echo.ask(dst, i);
    if (i % 250_000 === 0) progress(`${i} addresses touched`);
  }
  const seconds = (performance.now() - started) / 1000;
  const after = settledHeap();
  const touched = sim.fleet.counters.touched;
  reply({ result: { touches, touched, echo: echo.counts, seconds, heapBytes: after - before, bytesPerLamp: (after - before) / touched, rss: process.memoryUsage().rss } });
  await sim.close();
});
