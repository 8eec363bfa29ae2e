import { describe, expect, it } from 'vitest';
import { Icmpv6Type, UnreachableCode } from '../../ipv6/wire/icmpv6.js';
import { NextHeader } from '../../ipv6/wire/ipv6.js';
import { hostOnMemoryLink, REQUESTER } from './fixture.js';
import { addr, echoRequest, icmpPacket, udpPacket } from './packets.js';

const LAMP_42 = '2001:db8::2a';
const GATEWAY = '2001:db8::ffff:0:0:1';

describe('Ipv6Host: ping', () => {
  it('answers an Echo Request from the lamp\'s own address, copying identifier, sequence and data', () => {
    const { link, sent } = hostOnMemoryLink(100);
    const data = new TextEncoder().encode('lampnet ping data');
    link.inject(echoRequest({ src: REQUESTER, dst: LAMP_42, id: 0xbeef, seq: 7, data }));
    expect(sent).toHaveLength(1);
    const reply = sent[0];
    expect(reply.src).toBe(LAMP_42);
    expect(reply.dst).toBe(REQUESTER);
    expect(reply.icmp!.type).toBe(Icmpv6Type.echoReply);
    expect(reply.icmp!.identifier).toBe(0xbeef);
    expect(reply.icmp!.sequence).toBe(7);
    expect(reply.icmp!.body).toEqual(data);
  });

  it('stays silent for a lamp whose ping policy says no, and counts it', () => {
    const { link, directory, host, sent } = hostOnMemoryLink(100);
    directory.silent.add(42);
    link.inject(echoRequest({ src: REQUESTER, dst: LAMP_42 }));
    expect(sent).toHaveLength(0);
    expect(host.counters.pingsIgnored).toBe(1);
  });

  it('answers an Echo Request that carries Hop-by-Hop and Destination Options headers', () => {
    const { link, sent } = hostOnMemoryLink(100);
    const ext = Uint8Array.from([NextHeader.destinationOptions, 0, 1, 4, 0, 0, 0, 0, NextHeader.icmpv6, 0, 1, 4, 0, 0, 0, 0]);
    link.inject(echoRequest({ src: REQUESTER, dst: LAMP_42, ext: { first: NextHeader.hopByHop, bytes: ext } }));
    expect(sent.map((p) => p.icmp?.type)).toEqual([Icmpv6Type.echoReply]);
  });

  it('answers "address unreachable" from the prefix\'s router address for an address with no lamp', () => {
    const { link, sent } = hostOnMemoryLink(100);
    const request = echoRequest({ src: REQUESTER, dst: '2001:db8::65' });
    link.inject(request);
    expect(sent).toHaveLength(1);
    expect(sent[0].src).toBe('2001:db8::');
    expect(sent[0].dst).toBe(REQUESTER);
    expect(sent[0].icmp!.type).toBe(Icmpv6Type.destinationUnreachable);
    expect(sent[0].icmp!.code).toBe(UnreachableCode.address);
    expect(sent[0].icmp!.body).toEqual(request);
  });

  it('quotes no more of the invoking packet than fits the minimum MTU', () => {
    const { link, sent } = hostOnMemoryLink(100);
    link.inject(echoRequest({ src: REQUESTER, dst: '2001:db8::65', data: new Uint8Array(1400) }));
    expect(sent[0].icmp!.body.length).toBe(1280 - 48);
  });

  it('drops packets to addresses outside its prefix', () => {
    const { link, sent, drops } = hostOnMemoryLink(100);
    link.inject(echoRequest({ src: REQUESTER, dst: '2001:db8:0:1::2a' }));
    expect(sent).toHaveLength(0);
    expect(drops()).toEqual({ notOurPrefix: 1 });
  });
});

describe('Ipv6Host: UDP', () => {
  it('delivers a datagram for port 5683 to the lamp with its source address and port', () => {
    const { link, directory } = hostOnMemoryLink(100);
    directory.echoUdp = false;
    link.inject(udpPacket({ src: REQUESTER, dst: LAMP_42, srcPort: 40123, payload: Uint8Array.from([0x40, 1, 0, 1]) }));
    expect(directory.delivered).toEqual([{ index: 42, from: REQUESTER, port: 40123, payload: Uint8Array.from([0x40, 1, 0, 1]) }]);
  });

  it('sends a lamp\'s datagram from the lamp\'s address and port with a valid checksum', () => {
    const { link, sent } = hostOnMemoryLink(100);
    link.inject(udpPacket({ src: REQUESTER, dst: LAMP_42, srcPort: 40123, payload: Uint8Array.from([9, 8, 7]) }));
    expect(sent).toHaveLength(1);
    expect(sent[0].src).toBe(LAMP_42);
    expect(sent[0].dst).toBe(REQUESTER);
    expect(sent[0].udp!.srcPort).toBe(5683);
    expect(sent[0].udp!.dstPort).toBe(40123);
    expect(sent[0].udp!.payload).toEqual(Uint8Array.from([9, 8, 7]));
  });

  it('answers "port unreachable" from the lamp for another port', () => {
    const { link, directory, sent } = hostOnMemoryLink(100);
    link.inject(udpPacket({ src: REQUESTER, dst: LAMP_42, dstPort: 7 }));
    expect(directory.delivered).toHaveLength(0);
    expect(sent).toHaveLength(1);
    expect(sent[0].src).toBe(LAMP_42);
    expect(sent[0].icmp!.type).toBe(Icmpv6Type.destinationUnreachable);
    expect(sent[0].icmp!.code).toBe(UnreachableCode.port);
  });

  it('answers "address unreachable" for a datagram to an address with no lamp', () => {
    const { link, sent } = hostOnMemoryLink(100);
    link.inject(udpPacket({ src: REQUESTER, dst: '2001:db8::ffff' }));
    expect(sent[0].icmp!.code).toBe(UnreachableCode.address);
  });

  it('refuses a datagram larger than the link MTU and counts it', () => {
    const { host } = hostOnMemoryLink(100);
    expect(host.sendUdp(42, addr(REQUESTER), 0, 40000, 5683, new Uint8Array(1500), 0, 1500)).toBe(false);
    expect(host.counters.txRefused).toBe(1);
  });

  it('sends datagrams a lamp emits outside any inbound packet on the next turn of the event loop', async () => {
    const { host, sent } = hostOnMemoryLink(100);
    host.sendUdp(7, addr(REQUESTER), 0, 40000, 5683, Uint8Array.from([1]), 0, 1);
    host.sendUdp(8, addr(REQUESTER), 0, 40000, 5683, Uint8Array.from([2]), 0, 1);
    expect(sent).toHaveLength(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent.map((p) => p.src)).toEqual(['2001:db8::7', '2001:db8::8']);
  });
});

describe('Ipv6Host: multicast', () => {
  const GROUP = 'ff15::1:8a3c:12ef';

  it('answers a multicast Echo Request from every member lamp\'s unicast address', () => {
    const { link, directory, sent } = hostOnMemoryLink(100);
    directory.join(addr(GROUP), [3, 42, 77]);
    link.inject(echoRequest({ src: REQUESTER, dst: GROUP }));
    expect(sent.map((p) => p.src)).toEqual(['2001:db8::3', LAMP_42, '2001:db8::4d']);
  });

  it('delivers a CoAP datagram for a group to every member lamp', () => {
    const { link, directory } = hostOnMemoryLink(100);
    directory.echoUdp = false;
    directory.join(addr(GROUP), [5, 6]);
    link.inject(udpPacket({ src: REQUESTER, dst: GROUP }));
    expect(directory.delivered.map((d) => d.index)).toEqual([5, 6]);
  });

  it('drops a datagram for a group no lamp joined, without an error', () => {
    const { link, sent, drops } = hostOnMemoryLink(100);
    link.inject(udpPacket({ src: REQUESTER, dst: GROUP }));
    expect(sent).toHaveLength(0);
    expect(drops()).toEqual({ noGroupMember: 1 });
  });

  it('never answers a multicast datagram for a closed port with an error', () => {
    const { link, directory, sent, drops } = hostOnMemoryLink(100);
    directory.join(addr(GROUP), [5]);
    link.inject(udpPacket({ src: REQUESTER, dst: GROUP, dstPort: 9 }));
    expect(sent).toHaveLength(0);
    expect(drops()).toEqual({ multicastUnhandled: 1 });
  });
});

describe('Ipv6Host: ICMPv6 errors', () => {
  it('limits errors with a token bucket: a burst, then the sustained rate', () => {
    let now = 0;
    const { link, host, sent } = hostOnMemoryLink(100, { now: () => now, icmpErrorBurst: 2, icmpErrorsPerSecond: 1 });
    const toNobody = echoRequest({ src: REQUESTER, dst: '2001:db8::1:0' });
    for (let i = 0; i < 3; i++) link.inject(toNobody);
    expect(sent).toHaveLength(2);
    expect(host.counters.icmpErrorsRateLimited).toBe(1);
    now += 999;
    link.inject(toNobody);
    expect(sent).toHaveLength(2);
    now += 1;
    link.inject(toNobody);
    expect(sent).toHaveLength(3);
  });

  it('never sends an error about an ICMPv6 error message', () => {
    const { link, sent, drops } = hostOnMemoryLink(100);
    link.inject(icmpPacket({ src: REQUESTER, dst: '2001:db8::ffff', type: Icmpv6Type.destinationUnreachable, code: 3, body: new Uint8Array(48) }));
    link.inject(icmpPacket({ src: REQUESTER, dst: LAMP_42, type: Icmpv6Type.timeExceeded, body: new Uint8Array(48) }));
    expect(sent).toHaveLength(0);
    expect(drops()).toEqual({ icmpErrorUnmatched: 1, icmpUnhandledType: 1 });
  });

  it('hands a Destination Unreachable quoting a lamp\'s CoAP datagram to that lamp: destination, port and quoted payload', () => {
    const { link, directory, host, sent } = hostOnMemoryLink(100);
    const payload = Uint8Array.from([0x40, 0x02, 0x12, 0x34, 0xb2, 0x72, 0x64]);
    const quoted = udpPacket({ src: LAMP_42, dst: GATEWAY, srcPort: 5683, dstPort: 5683, payload });
    link.inject(icmpPacket({ src: GATEWAY, dst: LAMP_42, type: Icmpv6Type.destinationUnreachable, code: UnreachableCode.port, body: quoted }));
    expect(directory.unreachables).toEqual([{ index: 42, from: GATEWAY, port: 5683, payload }]);
    expect(host.counters.unreachablesDelivered).toBe(1);
    expect(sent).toHaveLength(0);
  });

  it('hands over as much of the payload as the error quotes, when the datagram was cut', () => {
    const { link, directory } = hostOnMemoryLink(100);
    const quoted = udpPacket({ src: LAMP_42, dst: GATEWAY, srcPort: 5683, dstPort: 5683, payload: new Uint8Array(100).fill(7) });
    link.inject(icmpPacket({ src: GATEWAY, dst: LAMP_42, type: Icmpv6Type.destinationUnreachable, code: UnreachableCode.port, body: quoted.subarray(0, 60) }));
    expect(directory.unreachables[0].payload).toEqual(new Uint8Array(12).fill(7));
  });

  it.each([
    ['from another lamp', { src: '2001:db8::2b', srcPort: 5683 }, 52],
    ['from another port', { src: LAMP_42, srcPort: 40000 }, 52],
    ['cut inside its UDP header', { src: LAMP_42, srcPort: 5683 }, 45],
  ])('drops a Destination Unreachable to a lamp quoting a datagram %s', (_what, from, quotedLen) => {
    const { link, directory, drops } = hostOnMemoryLink(100);
    const quoted = udpPacket({ ...from, dst: GATEWAY, dstPort: 5683 }).subarray(0, quotedLen);
    link.inject(icmpPacket({ src: GATEWAY, dst: LAMP_42, type: Icmpv6Type.destinationUnreachable, code: UnreachableCode.port, body: quoted }));
    expect(directory.unreachables).toEqual([]);
    expect(drops()).toEqual({ icmpErrorUnmatched: 1 });
  });

  it('counts Neighbor Solicitations as unhandled: a TUN link is layer 3 and needs no Neighbor Discovery', () => {
    const { link, sent, drops } = hostOnMemoryLink(100);
    link.inject(icmpPacket({ src: REQUESTER, dst: LAMP_42, type: 135, body: addr(LAMP_42), hopLimit: 255 }));
    expect(sent).toHaveLength(0);
    expect(drops()).toEqual({ icmpUnhandledType: 1 });
  });
});
