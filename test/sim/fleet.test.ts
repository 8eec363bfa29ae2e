/**
 * The fleet through the in-memory link: real firmware cores behind the real userspace IPv6 host,
 * driven by raw IPv6 packets and by a datagram endpoint at the gateway's address (what an
 * in-process gateway uses). Time is a manual clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CON, GET, NON, PUT } from '../../protocol/coap.js';
import { emitCoap, parseCoap, type CoapMessage } from '../helpers/coap-message.js';
import { groupAddress } from '../../protocol/lamp.js';
import { Prng } from '../../sim/random.js';
import type { MemoryLink } from '../../ipv6/link/memory.js';
import { ManualClock } from '../../sim/scheduler.js';
import { startSim, type Sim, type SimOptions } from '../../sim/sim.js';
import { decode, echoRequest, udpPacket, type Decoded } from './packets.js';

const PREFIX = '2001:db8::';
const REQUESTER = '2001:db8:1::99';
const text = new TextEncoder();

let sim: Sim | null = null;
afterEach(async () => {
  await sim?.close();
  sim = null;
});

async function fleet(options: Partial<SimOptions> & { lamps: SimOptions['lamps'] }) {
  const clock = new ManualClock();
  sim = await startSim({ prefix: `${PREFIX}/64`, link: 'memory', clock, ...options });
  const link = sim.link as MemoryLink;
  const sent: Decoded[] = [];
  link.onTransmit((buf, off, len) => sent.push(decode(buf, off, len)));
  return { sim, clock, link, sent };
}

function ping(link: MemoryLink, sent: Decoded[], dst: string, seq = 1): Decoded | undefined {
  const before = sent.length;
  link.inject(echoRequest({ src: REQUESTER, dst, id: 0x4242, seq }));
  return sent.slice(before).find((p) => p.icmp);
}

function request(code: number, path: string, payload = '', type = CON, mid = 1): Uint8Array {
  return emitCoap({
    type,
    code,
    mid,
    token: Uint8Array.of(mid & 0xff),
    options: path.split('/').map((seg) => ({ num: 11, value: text.encode(seg) })),
    payload: text.encode(payload),
  });
}

/** Send a CoAP request from the gateway's address and return the lamp's reply. */
function coap(s: Sim, dst: string, message: Uint8Array): Promise<CoapMessage> {
  const endpoint = s.gatewayEndpoint(40_001);
  return new Promise((resolve) => {
    endpoint.onMessage((_from, _port, data) => {
      const reply = parseCoap(data);
      if (reply) void endpoint.close().then(() => resolve(reply));
    });
    endpoint.send(dst, 5683, message);
  });
}

describe('a dense fleet on the memory link', () => {
  it('answers ping at every lamp address, each reply from that lamp', async () => {
    const { link, sent } = await fleet({ lamps: 1000 });
    for (let n = 1; n <= 1000; n++) {
      const reply = ping(link, sent, `${PREFIX}${n.toString(16)}`, n);
      expect(reply?.icmp?.type).toBe(129);
      expect(reply?.src).toBe(`${PREFIX}${n.toString(16)}`);
      expect(reply?.icmp?.sequence).toBe(n);
    }
  });

  it('reports address unreachable one past the last lamp', async () => {
    const { link, sent } = await fleet({ lamps: 1000 });
    const reply = ping(link, sent, `${PREFIX}3e9`);
    expect(reply?.icmp?.type).toBe(1);
    expect(reply?.icmp?.code).toBe(3);
  });

  it('rate-limits ICMPv6 errors on the clock it was given, so a manual clock replays them exactly', async () => {
    const { sim, clock, link, sent } = await fleet({ lamps: 10 });
    const missing = () => ping(link, sent, `${PREFIX}3e9`);
    // The burst (50) is spent while the manual clock stands still, however long that takes.
    for (let i = 0; i < 50; i++) expect(missing()?.icmp?.type).toBe(1);
    expect(missing()).toBeUndefined();
    expect(sim.host.counters.icmpErrorsRateLimited).toBe(1);
    // 1,000 errors per second: 10 ms of the manual clock earns 10 more.
    clock.time += 10;
    for (let i = 0; i < 10; i++) expect(missing()?.icmp?.type).toBe(1);
    expect(missing()).toBeUndefined();
  });

  it('a killed lamp is silent and answers again once revived', async () => {
    const { sim, link, sent } = await fleet({ lamps: 100 });
    expect(sim.fleet.kill(42)).toBe(true);
    expect(ping(link, sent, `${PREFIX}2a`)).toBeUndefined();
    expect(sim.fleet.revive(42)).toBe(true);
    expect(ping(link, sent, `${PREFIX}2a`)?.icmp?.type).toBe(129);
  });

  it('with --ping-when lit a lamp answers ping only while its light is on', async () => {
    const { sim, link, sent } = await fleet({ lamps: 100, pingWhen: 'lit' });
    const lamp = `${PREFIX}2a`;
    expect((await coap(sim, lamp, request(PUT, '3311/0/5850', '0'))).code).toBe(68);
    expect(ping(link, sent, lamp)).toBeUndefined();
    expect((await coap(sim, lamp, request(PUT, '3311/0/5850', '1', CON, 2))).code).toBe(68);
    expect(ping(link, sent, lamp)?.src).toBe(lamp);
  });

  it('the ping answer follows the lamp through a fade\'s end, a driver fault, a config change and a reboot', async () => {
    const { sim, clock, link, sent } = await fleet({ lamps: 100, pingWhen: 'lit' });
    const lamp = `${PREFIX}2a`;
    const answered = (): boolean => ping(link, sent, lamp)?.src === lamp;
    expect(answered()).toBe(true);
    // Fading out: still lit until the fade ends, when the lamp's timer fires.
    expect((await coap(sim, lamp, request(PUT, '32311/0/14', '1000', CON, 5))).code).toBe(68);
    expect((await coap(sim, lamp, request(PUT, '3311/0/5850', '0'))).code).toBe(68);
    expect(answered()).toBe(true);
    sim.fleet.scheduler.advance(clock, 1000);
    expect(answered()).toBe(false);
    // A config change alone: answer while powered.
    expect((await coap(sim, lamp, request(PUT, '32311/0/13', '0', CON, 2))).code).toBe(68);
    expect(answered()).toBe(true);
    expect((await coap(sim, lamp, request(PUT, '32311/0/13', '1', CON, 3))).code).toBe(68);
    expect((await coap(sim, lamp, request(PUT, '3311/0/5850', '1', CON, 4))).code).toBe(68);
    expect(answered()).toBe(true);
    // A driver fault puts the light out.
    expect(sim.fleet.fault(42, true)).toBe(true);
    expect(answered()).toBe(false);
    expect(sim.fleet.fault(42, false)).toBe(true);
    expect(answered()).toBe(true);
    // Switched off, powered down, then up again: powerOn=1 lights it at boot.
    expect((await coap(sim, lamp, request(PUT, '3311/0/5850', '0', CON, 5))).code).toBe(68);
    expect(answered()).toBe(false);
    expect(sim.fleet.kill(42)).toBe(true);
    expect(sim.fleet.revive(42)).toBe(true);
    expect(sim.fleet.state(42)?.on).toBe(true);
    expect(answered()).toBe(true);
  });

  it('a CoAP GET through raw UDP is answered from the lamp\'s own address and port', async () => {
    const { link, sent } = await fleet({ lamps: 100 });
    const before = sent.length;
    link.inject(udpPacket({ src: REQUESTER, dst: `${PREFIX}7`, srcPort: 50_000, payload: request(GET, '3311/0/5851', '', NON, 9) }));
    const reply = sent.slice(before).find((p) => p.udp);
    expect(reply?.src).toBe(`${PREFIX}7`);
    expect(reply?.udp?.srcPort).toBe(5683);
    expect(reply?.udp?.dstPort).toBe(50_000);
    const msg = parseCoap(reply!.udp!.payload)!;
    expect(msg.type).toBe(NON);
    expect(new TextDecoder().decode(msg.payload)).toBe('100');
  });

  it('every lamp registers with the gateway under its own number after the boot jitter', async () => {
    const { sim, clock } = await fleet({ lamps: 300, bootJitterMs: 1000 });
    const endpoint = sim.gatewayEndpoint(5683);
    const seen = new Map<string, string>();
    endpoint.onMessage((from, _port, data) => {
      const msg = parseCoap(data);
      const query = msg?.options.filter((o) => o.num === 15).map((o) => new TextDecoder().decode(o.value));
      const ep = query?.find((q) => q.startsWith('ep='));
      if (ep) seen.set(ep.slice(3), from);
    });
    sim.fleet.scheduler.advance(clock, 1000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen.size).toBe(300);
    expect(seen.get('42')).toBe(`${PREFIX}2a`);
  });

  it('spreads first registrations over wall-clock time, so a faster clock spreads them over more simulated time', async () => {
    const registeredWithin = async (speed: number, simulatedMs: number): Promise<number> => {
      const { sim, clock } = await fleet({ lamps: 1000, speed });
      const seen = new Set<string>();
      sim.gatewayEndpoint(5683).onMessage((_from, _port, data) => {
        const ep = parseCoap(data)?.options.find((o) => o.num === 15 && o.value[0] === 0x65);
        if (ep) seen.add(new TextDecoder().decode(ep.value));
      });
      sim.fleet.scheduler.advance(clock, simulatedMs);
      await new Promise((resolve) => setImmediate(resolve));
      await sim.close();
      return seen.size;
    };
    // 1,000 lamps spread over one second of wall-clock time.
    expect(await registeredWithin(1, 1000)).toBe(1000);
    const atSpeed60 = await registeredWithin(60, 1000);
    expect(atSpeed60).toBeGreaterThan(0);
    expect(atSpeed60).toBeLessThan(100);
  });

  it('a rebooted lamp restores its persisted default level and groups and registers again', async () => {
    const { sim, clock } = await fleet({ lamps: 100, bootJitterMs: 100 });
    const lamp = `${PREFIX}2a`;
    const put = request(PUT, '32311/0', '[{"bn":"/32311/0/","n":"5","v":30},{"n":"0","vs":"plaza"}]');
    const withFormat = parseCoap(put)!;
    withFormat.options.push({ num: 12, value: Uint8Array.of(110) });
    withFormat.options.sort((a, b) => a.num - b.num);
    expect((await coap(sim, lamp, emitCoap(withFormat))).code).toBe(68);

    const registrations: string[] = [];
    const endpoint = sim.gatewayEndpoint(5683);
    endpoint.onMessage((_from, _port, data) => {
      const ep = parseCoap(data)?.options.find((o) => o.num === 15 && o.value[0] === 0x65);
      if (ep) registrations.push(new TextDecoder().decode(ep.value));
    });
    sim.fleet.kill(42);
    sim.fleet.revive(42);
    sim.fleet.scheduler.advance(clock, 200);
    await new Promise((resolve) => setImmediate(resolve));

    expect(sim.fleet.lamp(42)!.level).toBe(30);
    expect(sim.fleet.groupMembers('plaza')).toEqual([42]);
    expect(sim.fleet.groupMembers('street-1')).not.toContain(42);
    expect(registrations).toContain('ep=42');
  });

  it('a lamp whose groups (/32311/0/0) move it to another group no longer takes the old group multicast', async () => {
    const { sim, link } = await fleet({ lamps: 300, streetSize: 100 });
    expect((await coap(sim, `${PREFIX}2a`, request(PUT, '32311/0/0', 'plaza'))).code).toBe(68);
    expect(sim.fleet.groupMembers('street-1')).not.toContain(42);
    expect(sim.fleet.groupMembers('plaza')).toEqual([42]);

    link.inject(udpPacket({ src: sim.gateway, dst: groupAddress('street-1'), srcPort: 5683, payload: request(PUT, '3311/0/5850', '0', NON, 78) }));
    expect([sim.fleet.lamp(41)!.on, sim.fleet.lamp(42)!.on]).toEqual([0, 1]);
    link.inject(udpPacket({ src: sim.gateway, dst: groupAddress('plaza'), srcPort: 5683, payload: request(PUT, '3311/0/5850', '0', NON, 79) }));
    expect(sim.fleet.lamp(42)!.on).toBe(0);
  });

  it('a group command by multicast reaches every lamp of the street and no other', async () => {
    const { sim, link } = await fleet({ lamps: 300, streetSize: 100 });
    link.inject(udpPacket({ src: sim.gateway, dst: groupAddress('street-2'), srcPort: 5683, payload: request(PUT, '3311/0/5850', '0', NON, 77) }));
    const on = (n: number) => sim.fleet.lamp(n)!.on;
    expect([on(100), on(101), on(150), on(200), on(201)]).toEqual([1, 0, 0, 0, 1]);
    expect(sim.fleet.groupMembers('street-2')).toHaveLength(100);
  });
});

describe('datagram loss (--loss, --seed)', () => {
  /** Which of 24 GETs to lamp 7 were answered (request and reply both through), with `others`
   * lamps' GETs in between each of them. */
  async function answeredBy7(seed: number, others: number[]): Promise<string> {
    const { link, sent } = await fleet({ lamps: 10, lossRate: 0.3, seed });
    let pattern = '';
    for (let k = 1; k <= 24; k++) {
      for (const n of others) link.inject(udpPacket({ src: REQUESTER, dst: `${PREFIX}${n}`, srcPort: 50_000, payload: request(GET, '3311/0/5851', '', NON, k) }));
      const before = sent.length;
      link.inject(udpPacket({ src: REQUESTER, dst: `${PREFIX}7`, srcPort: 50_000, payload: request(GET, '3311/0/5851', '', NON, k) }));
      pattern += sent.slice(before).some((p) => p.udp && p.src === `${PREFIX}7`) ? '+' : '-';
    }
    await sim!.close();
    sim = null;
    return pattern;
  }

  it('loses the same datagrams of a lamp for the same seed, whatever the other lamps\' traffic', async () => {
    const alone = await answeredBy7(5, []);
    expect(alone).toMatch(/\+/);
    expect(alone).toMatch(/-/);
    expect(await answeredBy7(5, [2, 3, 9])).toBe(alone);
    expect(await answeredBy7(6, [])).not.toBe(alone);
  });
});

describe('the sparse fleet (--lamps all)', () => {
  it('answers ping at random 64-bit interface identifiers and creates state only for those touched', async () => {
    const { sim, link, sent } = await fleet({ lamps: 'all' });
    const rng = new Prng(7);
    const hex = () => Math.floor(rng.float() * 0x10000).toString(16);
    for (let i = 0; i < 2000; i++) {
      const dst = `2001:db8:0:0:${hex()}:${hex()}:${hex()}:${(1 + Math.floor(rng.float() * 0xfffe)).toString(16)}`;
      const reply = ping(link, sent, dst, i);
      expect(reply?.icmp?.type).toBe(129);
      expect(reply?.src).toBe(decode(echoRequest({ src: REQUESTER, dst })).dst);
    }
    expect(sim.fleet.counters.touched).toBe(2000);
  });

  it('stops creating lamps at its bound and answers further new addresses as unreachable', async () => {
    const { sim, link, sent } = await fleet({ lamps: 'all', maxTouched: 3 });
    for (const iid of ['a:1', 'a:2', 'a:3']) expect(ping(link, sent, `2001:db8::${iid}`)?.icmp?.type).toBe(129);
    expect(ping(link, sent, '2001:db8::a:4')?.icmp?.type).toBe(1);
    expect(ping(link, sent, '2001:db8::a:2')?.icmp?.type).toBe(129);
    expect(sim.fleet.counters).toMatchObject({ touched: 3, sparseFull: 1 });
  });

  it('never treats the gateway address or the subnet-router anycast as a lamp', async () => {
    const { sim, link, sent } = await fleet({ lamps: 'all' });
    expect(ping(link, sent, sim.gateway)?.icmp?.type).toBe(1);
    expect(ping(link, sent, PREFIX)?.icmp?.type).toBe(1);
    expect(sim.fleet.counters.touched).toBe(0);
  });
});

describe('a million lamps', () => {
  it('boots 1,000,000 lamps on the memory link and every one answers a probe', async () => {
    const { sim, link } = await fleet({ lamps: 1_000_000, gateway: 'none' });
    let answered = 0;
    const seen = new Uint8Array(1_000_001);
    link.onTransmit((buf, off) => {
      // Echo Reply from lamp n: source interface identifier n, low 32 bits.
      if (buf[off + 40] !== 129) return;
      const n = ((buf[off + 20] << 24) | (buf[off + 21] << 16) | (buf[off + 22] << 8) | buf[off + 23]) >>> 0;
      if (n >= 1 && n <= 1_000_000 && !seen[n]) {
        seen[n] = 1;
        answered++;
      }
    });
    const probe = echoRequest({ src: REQUESTER, dst: `${PREFIX}1` });
    for (let n = 1; n <= 1_000_000; n++) {
      // Re-point the probe at lamp n: rewrite the destination's low 32 bits and fix the checksum.
      rewriteDestination(probe, n);
      link.inject(probe);
    }
    expect(sim.fleet.counters.booted).toBe(1_000_000);
    expect(answered).toBe(1_000_000);
  }, 180_000);
});

/** Point an ICMPv6 packet at interface identifier n (low 32 bits) and recompute its checksum. */
function rewriteDestination(packet: Uint8Array, n: number): void {
  packet[36] = n >>> 24;
  packet[37] = (n >>> 16) & 255;
  packet[38] = (n >>> 8) & 255;
  packet[39] = n & 255;
  packet[42] = 0;
  packet[43] = 0;
  let sum = 0;
  for (let i = 8; i < 40; i += 2) sum += (packet[i] << 8) | packet[i + 1];
  const upperLen = packet.length - 40;
  sum += upperLen + 58;
  for (let i = 40; i < packet.length; i += 2) sum += (packet[i] << 8) | (i + 1 < packet.length ? packet[i + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  packet[42] = c >> 8;
  packet[43] = c & 255;
}
