/**
 * The simulator as the network figures meet it: `startSim` with a TUN device, run inside the bench's
 * namespace. Lamps are standalone unless `--gateway` names one (`default`: the simulator's,
 * `<prefix>:ffff:0:0:1`, which it gives the TUN device) and trust the load's prefix, so CoAP PUTs
 * are obeyed, not refused.
 *
 *   node tun-sim.js --tun NAME --prefix 2001:db8:: --lamps N --trust 2001:db8:1::/64 [--gateway default]
 *
 * Replies `{"ready": {bootS, heapUsed, rss, base, booted}}` once the boot's garbage is collected
 * (needs `node --expose-gc`; base and booted: settledMemory before and after the boot); the command
 * `counters` replies `{"counters": …}`, `memory` `{"memory": settledMemory and rss}`;
 * end of stdin closes the link and exits.
 */
import { startSim } from '../../sim/sim.js';
import { commands, numberArg, reply, runMain, settledMemory, stringArg } from './probe.js';

runMain(async () => {
  const base = settledMemory();
  const started = performance.now();
  const gateway = stringArg('gateway', 'none');
  const sim = await startSim({
    lamps: numberArg('lamps', 1000),
    prefix: stringArg('prefix', '2001:db8::'),
    link: 'tun',
    tun: stringArg('tun', 'lampnet-b0'),
    gateway: gateway === 'default' ? undefined : gateway,
    trust: [stringArg('trust', '2001:db8:1::/64')],
  });
  const bootS = (performance.now() - started) / 1000;
  // Collect the boot's garbage now, so the first round is not measured against it: a steady-state
  // throughput figure, and the C reference has no such transient.
  const booted = settledMemory();
  const { rss } = process.memoryUsage();
  reply({ ready: { bootS, heapUsed: booted.heapUsed, rss, base, booted } });
  await new Promise<void>((resolve) => commands((line) => {
    if (line === 'counters') {
      const { heapUsed: heap, rss: now } = process.memoryUsage();
      reply({ counters: { ...sim.host.counters.snapshot(), ...sim.fleet.counters, heapUsed: heap, rss: now } });
    } else if (line === 'memory') {
      reply({ memory: { ...settledMemory(), rss: process.memoryUsage().rss } });
    }
  }, resolve));
  await sim.close();
});
