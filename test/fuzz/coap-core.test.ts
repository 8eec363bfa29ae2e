/**
 * 100,000 hostile CoAP messages straight into the codec and a real lamp core: the reader names its
 * reason for every one it refuses and the writer gives back every one it accepts, `receive` (firmware/core.ts) on fleet lamps never
 * throws, whatever the sender (the trusted gateway or an outsider) and whether it came by
 * multicast, and everything the lamps send in return is well-formed CoAP.
 */
import { describe, expect, it } from 'vitest';
import { receive } from '../../firmware/core.js';
import { parseIpv6 } from '../../ipv6/wire/address.js';
import { Prng } from '../../sim/random.js';
import { ManualClock } from '../../sim/scheduler.js';
import { checkCoapCodec, CodecStats } from '../../tools/fuzz/codec-check.js';
import { writeHostileCoap } from '../../tools/fuzz/hostile-coap.js';
import { createTarget } from '../../tools/fuzz/target.js';

const MESSAGES = 100_000;
const LAMPS = 100;

describe('hostile CoAP through the codec and the lamp core', () => {
  it('takes 100,000 hostile messages without an exception, a codec disagreement or a malformed answer', async () => {
    const clock = new ManualClock();
    const target = await createTarget('core', LAMPS, clock, 5);
    const fleet = target.fleet;
    const gateway = fleet.peers.intern(target.gateway, 0);
    const outsider = fleet.peers.intern(parseIpv6('2001:db8:1::99')!, 0);
    const rng = new Prng(2026);
    const stats = new CodecStats();
    const buf = new Uint8Array(70_000);
    const problems: string[] = [];
    let handled = 0;
    let dropped = 0;
    for (let i = 0; i < MESSAGES; i++) {
      const len = writeHostileCoap(rng, buf, 0, rng.chance(0.99) ? 1400 : buf.length);
      const problem = checkCoapCodec(buf, 0, len, stats);
      if (problem !== null && problems.length < 5) problems.push(`message ${i}: ${problem}`);
      const lamp = fleet.lamp(1 + rng.below(LAMPS))!;
      const from = rng.chance(0.5) ? gateway : outsider;
      const reason = receive(fleet.hal, lamp, from, rng.pick([5683, 40000]), buf, len, rng.chance(0.1));
      if (reason === null) handled++;
      else dropped++;
      if (i % 1000 === 0) clock.time += rng.below(120_000);
      if (i % 1000 === 0) fleet.scheduler.runDue();
    }
    // The lamps' answers leave on the next turn of the event loop.
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(problems).toEqual([]);
    expect(target.output.violation).toBeNull();
    expect(handled).toBeGreaterThan(0);
    expect(dropped).toBeGreaterThan(0);
    expect(stats.wellFormed).toBeGreaterThan(0);
    expect(stats.rejected.size).toBeGreaterThan(3);
    expect(target.output.lampDatagrams).toBeGreaterThan(0);
    expect(fleet.counters.stalePeer).toBe(0);
  }, 600_000);
});
