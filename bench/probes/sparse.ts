/**
 * Figure 7's probe: the sparse fleet (`lamps: 'all'`, every address of the /64 a lamp) receives one
 * Echo Request for each of `--touches N` random addresses, through the memory link; each creates a
 * lamp on its first packet. Measures the heap those lamps added (after full collections), per lamp.
 */
import { MemoryLink } from '../../sim/link/memory.js';
import { Prng } from '../../sim/random.js';
import { ManualClock } from '../../sim/scheduler.js';
import { startSim } from '../../sim/sim.js';
import { emitIcmpv6Header, fillIcmpv6Checksum } from '../../sim/net/wire/icmpv6.js';
import { emitIpv6Header, NextHeader } from '../../sim/net/wire/ipv6.js';
import { parseIpv6 } from '../../sim/net/wire/address.js';
import { numberArg, progress, reply, runMain, settledHeap } from './probe.js';

const ECHO_LEN = 8 + 8;

runMain(async () => {
  const touches = numberArg('touches', 10_000);
  const sim = await startSim({ lamps: 'all', prefix: '2001:db8::/64', link: 'memory', clock: new ManualClock() });
  const link = sim.link as MemoryLink;
  let replies = 0;
  link.onTransmit(() => { replies++; });
  const source = parseIpv6('2001:db8:1::1')!;
  const packet = new Uint8Array(40 + ECHO_LEN);
  const dst = parseIpv6('2001:db8::')!;
  const rng = new Prng(7);
  const before = settledHeap();
  const started = performance.now();
  for (let i = 1; i <= touches; i++) {
    const view = new DataView(dst.buffer);
    view.setUint32(8, Math.floor(rng.float() * 2 ** 32));
    view.setUint32(12, Math.floor(rng.float() * 2 ** 32) | 1);
    emitIpv6Header(packet, 0, source, 0, dst, 0, NextHeader.icmpv6, ECHO_LEN, 64);
    emitIcmpv6Header(packet, 40, 128, 0, (0x1234 << 16) | (i & 0xffff));
    fillIcmpv6Checksum(packet, 40, ECHO_LEN, source, 0, dst, 0);
    link.inject(packet, 0, packet.length);
    if (i % 250_000 === 0) progress(`${i} addresses touched`);
  }
  const seconds = (performance.now() - started) / 1000;
  const after = settledHeap();
  const touched = sim.fleet.counters.touched;
  reply({ result: { touches, touched, replies, seconds, heapBytes: after - before, bytesPerLamp: (after - before) / touched, rss: process.memoryUsage().rss } });
  await sim.close();
});
