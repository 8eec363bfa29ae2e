/**
 * The simulator as the network figures meet it: `startSim` with a TUN device, run inside the bench's
 * namespace. Lamps are standalone (`gateway: 'none'`, nothing to register with) and trust the load's
 * prefix, so CoAP PUTs are obeyed, not refused.
 *
 *   node tun-sim.js --tun NAME --prefix 2001:db8:: --lamps N --trust 2001:db8:1::/64
 *
 * Replies `{"ready": {bootS, heapUsed, rss}}` once the boot's garbage is collected (needs
 * `node --expose-gc`); the command `counters` replies `{"counters": …}`;
 * end of stdin closes the link and exits.
 */
import { startSim } from '../../sim/sim.js';
import { commands, numberArg, reply, runMain, settledHeap, stringArg } from './probe.js';

runMain(async () => {
  const started = performance.now();
  const sim = await startSim({
    lamps: numberArg('lamps', 1000),
    prefix: stringArg('prefix', '2001:db8::'),
    link: 'tun',
    tun: stringArg('tun', 'lampnet-b0'),
    gateway: 'none',
    trust: [stringArg('trust', '2001:db8:1::/64')],
  });
  const bootS = (performance.now() - started) / 1000;
  // Collect the boot's garbage now, so the first round is not measured against it: a steady-state
  // throughput figure, and the C reference has no such transient.
  const heapUsed = settledHeap();
  const { rss } = process.memoryUsage();
  reply({ ready: { bootS, heapUsed, rss } });
  await new Promise<void>((resolve) => commands((line) => {
    if (line === 'counters') {
      const { heapUsed: heap, rss: now } = process.memoryUsage();
      reply({ counters: { ...sim.host.counters.snapshot(), ...sim.fleet.counters, heapUsed: heap, rss: now } });
    }
  }, resolve));
  await sim.close();
});
