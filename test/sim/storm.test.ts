/**
 * The fleet in a storm of its own making, on the memory link and a manual clock (the same run on
 * TUN with 100,000 lamps and real tools is test/faults/storm.test.ts): the lamps' own datagrams are
 * paced while pings and CoAP requests are answered at once, and an ICMPv6 Destination Unreachable
 * for the gateway makes a lamp back off, as its send times show.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { GET } from '../../protocol/coap.js';
import { Icmpv6Type, UnreachableCode } from '../../ipv6/wire/icmpv6.js';
import type { MemoryLink } from '../../ipv6/link/memory.js';
import { RETRY_BASE_MS } from '../../firmware/registration.js';
import { ManualClock } from '../../sim/scheduler.js';
import { startSim, type Sim, type SimOptions } from '../../sim/sim.js';
import { emitCoap, parseCoap } from '../helpers/coap-message.js';
import { decode, echoRequest, icmpPacket, udpPacket, type Decoded } from './packets.js';

const PREFIX = '2001:db8::';
const GATEWAY = '2001:db8::ffff:0:0:1';
const REQUESTER = '2001:db8:1::99';

interface Sent extends Decoded {
  at: number;
  raw: Uint8Array;
}

let sim: Sim | null = null;
afterEach(async () => {
  await sim?.close();
  sim = null;
});

async function fleet(options: Partial<SimOptions> & { lamps: number }) {
  const clock = new ManualClock();
  sim = await startSim({ prefix: `${PREFIX}/64`, link: 'memory', clock, bootJitterMs: 0, ...options });
  const link = sim.link as MemoryLink;
  const sent: Sent[] = [];
  link.onTransmit((buf, off, len) => sent.push({ ...decode(buf, off, len), at: clock.time, raw: buf.slice(off, off + len) }));
  const toGateway = (): Sent[] => sent.filter((p) => p.dst === GATEWAY && p.udp);
  /** Advance the clock by `ms` in steps of `step`, letting the link send what each step queued
   * (datagrams from timers leave on the next turn of the loop), so `at` is right to a step. */
  const run = async (ms: number, step = 100): Promise<void> => {
    for (let t = 0; t < ms || t === 0; t += step) {
      sim!.fleet.scheduler.advance(clock, Math.min(step, ms));
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { sim, clock, link, sent, toGateway, run };
}

describe('the lamps\' own datagrams in a storm', () => {
  it('leave at the send rate, a tenth of a second\'s worth at once, however many lamps are due', async () => {
    const { toGateway, run } = await fleet({ lamps: 5000, sendRate: 1000 });
    await run(0);
    expect(toGateway()).toHaveLength(100);
    for (const s of [1, 2, 3, 4]) {
      await run(1000);
      // Registrations first, then their retransmissions too: all of them within the pace.
      expect(toGateway().length).toBeGreaterThanOrEqual(100 + 1000 * s - 1);
      expect(toGateway().length).toBeLessThanOrEqual(100 + 1000 * s + 1);
    }
  });

  it('leave at the default rate when a manual clock near today\'s time is advanced past thousands of them at once', async () => {
    // 50 tokens a millisecond: a wait of a fraction of one is below what a clock near 2^41 ms resolves.
    const { sim, clock, toGateway } = await fleet({ lamps: 20_000 });
    sim.fleet.scheduler.advance(clock, 1000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(toGateway().length).toBeGreaterThanOrEqual(20_000);
  });

  it('hold back no answer: a ping and a CoAP GET are answered at once while thousands of lamps wait for the pace', async () => {
    const { sim, link, sent, run } = await fleet({ lamps: 5000, sendRate: 1000 });
    await run(500);
    expect(sim.fleet.scheduler.heap.pending).toBeGreaterThan(4000);
    const before = sent.length;
    link.inject(echoRequest({ src: REQUESTER, dst: `${PREFIX}1234`, id: 7, seq: 1 }));
    const get = emitCoap({ type: 0, code: GET, mid: 9, token: Uint8Array.of(9), options: ['3311', '0', '5850'].map((s) => ({ num: 11, value: new TextEncoder().encode(s) })), payload: new Uint8Array(0) });
    link.inject(udpPacket({ src: REQUESTER, dst: `${PREFIX}1235`, srcPort: 40_000, dstPort: 5683, payload: get }));
    const answers = sent.slice(before);
    expect(answers.map((p) => p.src)).toEqual([`${PREFIX}1234`, `${PREFIX}1235`]);
    expect(answers[0].icmp!.type).toBe(Icmpv6Type.echoReply);
    expect(new TextDecoder().decode(parseCoap(answers[1].udp!.payload)!.payload)).toBe('1');
  });
});

describe('an ICMPv6 Destination Unreachable for the gateway', () => {
  it('ends the lamp\'s Register at once: no retransmission, the next Register after the backoff', async () => {
    const { sim, clock, link, toGateway, run } = await fleet({ lamps: 4 });
    await run(0);
    const first = new Map(toGateway().map((p) => [p.src, p]));
    expect(first.size).toBe(4);
    const start = clock.time;
    // The kernel's answer to a datagram for a port nothing listens on, quoting it, to lamps 1 and 2.
    for (const n of [1, 2]) {
      const quoted = first.get(`${PREFIX}${n}`)!.raw;
      link.inject(icmpPacket({ src: GATEWAY, dst: `${PREFIX}${n}`, type: Icmpv6Type.destinationUnreachable, code: UnreachableCode.port, body: quoted }));
    }
    expect(sim.fleet.counters.exchangesUnreachable).toBe(2);
    await run(30_000);
    const times = (n: number): number[] => toGateway().filter((p) => p.src === `${PREFIX}${n}`).map((p) => p.at - start);
    const mids = (n: number): number[] => toGateway().filter((p) => p.src === `${PREFIX}${n}`).map((p) => parseCoap(p.udp!.payload)!.mid);
    for (const n of [1, 2]) {
      const [, next] = times(n);
      expect(next).toBeGreaterThanOrEqual(RETRY_BASE_MS);
      expect(next).toBeLessThanOrEqual(RETRY_BASE_MS * 1.5);
      expect(mids(n)[1]).not.toBe(mids(n)[0]);
    }
    // The lamps that heard nothing retransmit after the CoAP timeout, 2 to 3 s, the same message.
    for (const n of [3, 4]) {
      expect(times(n)[1]).toBeGreaterThanOrEqual(2000);
      expect(times(n)[1]).toBeLessThanOrEqual(3000);
      expect(mids(n)[1]).toBe(mids(n)[0]);
    }
  });

  it('about an older datagram of the lamp leaves the exchange in flight alone', async () => {
    const { sim, link, toGateway, run } = await fleet({ lamps: 1 });
    await run(0);
    const quoted = toGateway()[0].raw.slice();
    // Another message id: the CoAP header's bytes 2-3, after the IPv6 and UDP headers.
    quoted[40 + 8 + 3] ^= 0xff;
    link.inject(icmpPacket({ src: GATEWAY, dst: `${PREFIX}1`, type: Icmpv6Type.destinationUnreachable, code: UnreachableCode.port, body: quoted }));
    expect(sim.fleet.counters.exchangesUnreachable).toBe(0);
    expect(sim.host.counters.unreachablesDelivered).toBe(1);
    await run(3000);
    expect(toGateway()).toHaveLength(2);
  });
});
