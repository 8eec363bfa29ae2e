/**
 * Hostile and malformed packets written straight into the link: the host never throws, answers
 * nothing, and counts each drop under its reason.
 */
import { describe, expect, it } from 'vitest';
import { NextHeader } from '../../ipv6/wire/ipv6.js';
import { hostOnMemoryLink, REQUESTER } from './fixture.js';
import { echoRequest, udpPacket } from './packets.js';

const LAMP = '2001:db8::2a';

function injectOne(packet: Uint8Array) {
  const fixture = hostOnMemoryLink(100);
  fixture.link.inject(packet);
  return { sent: fixture.sent, drops: fixture.drops() };
}

function withByte(packet: Uint8Array, at: number, value: number): Uint8Array {
  const copy = packet.slice();
  copy[at] = value;
  return copy;
}

describe('hostile packets through the memory link', () => {
  const ping = echoRequest({ src: REQUESTER, dst: LAMP });

  it('counts every truncation of a valid Echo Request and answers none', () => {
    const { link, host, sent } = hostOnMemoryLink(100);
    for (let len = 0; len < ping.length; len++) link.inject(ping, 0, len);
    expect(sent).toHaveLength(0);
    expect(host.counters.drops.reduce((a, b) => a + b, 0)).toBe(ping.length);
    expect(host.counters.received).toBe(ping.length);
  });

  it('drops a frame shorter than the IPv6 header as shortFrame', () => {
    expect(injectOne(ping.subarray(0, 39)).drops).toEqual({ shortFrame: 1 });
  });

  it('drops a payload length beyond the frame', () => {
    expect(injectOne(withByte(ping, 5, ping[5] + 1)).drops).toEqual({ payloadLengthExceedsFrame: 1 });
  });

  it('drops a payload length shorter than the ICMPv6 header', () => {
    expect(injectOne(withByte(ping, 5, 4)).drops).toEqual({ icmpTruncated: 1 });
  });

  it('drops a version other than 6', () => {
    expect(injectOne(withByte(ping, 0, 0x45)).drops).toEqual({ badVersion: 1 });
  });

  it('drops a bad ICMPv6 checksum', () => {
    expect(injectOne(withByte(ping, ping.length - 1, ping[ping.length - 1] ^ 0xff))).toEqual({ sent: [], drops: { icmpBadChecksum: 1 } });
  });

  it('drops a bad UDP checksum', () => {
    const datagram = udpPacket({ src: REQUESTER, dst: LAMP });
    expect(injectOne(withByte(datagram, datagram.length - 1, 0)).drops).toEqual({ udpBadChecksum: 1 });
  });

  it('drops a UDP Length that disagrees with the IPv6 payload', () => {
    const datagram = udpPacket({ src: REQUESTER, dst: LAMP });
    expect(injectOne(withByte(datagram, 45, datagram[45] - 1)).drops).toEqual({ udpBadLength: 1 });
  });

  it('drops hop limit 0', () => {
    expect(injectOne(echoRequest({ src: REQUESTER, dst: LAMP, hopLimit: 0 })).drops).toEqual({ hopLimitZero: 1 });
  });

  it('drops a multicast source', () => {
    expect(injectOne(echoRequest({ src: 'ff02::1', dst: LAMP })).drops).toEqual({ sourceMulticast: 1 });
  });

  it('drops the unspecified source', () => {
    expect(injectOne(echoRequest({ src: '::', dst: LAMP })).drops).toEqual({ sourceUnspecified: 1 });
  });

  it('drops an unknown upper-layer protocol (TCP)', () => {
    expect(injectOne(withByte(ping, 6, 6)).drops).toEqual({ unknownNextHeader: 1 });
  });

  it('drops fragments, even the first one', () => {
    const fragment = Uint8Array.from([NextHeader.icmpv6, 0, 0, 1, 0, 0, 0, 42]);
    expect(injectOne(echoRequest({ src: REQUESTER, dst: LAMP, ext: { first: NextHeader.fragment, bytes: fragment } })).drops)
      .toEqual({ fragment: 1 });
  });

  it('drops a fragment behind a chain of options headers', () => {
    const chain = Uint8Array.from([
      NextHeader.destinationOptions, 0, 1, 4, 0, 0, 0, 0,
      NextHeader.fragment, 0, 1, 4, 0, 0, 0, 0,
      NextHeader.icmpv6, 0, 0, 1, 0, 0, 0, 42,
    ]);
    expect(injectOne(echoRequest({ src: REQUESTER, dst: LAMP, ext: { first: NextHeader.hopByHop, bytes: chain } })).drops)
      .toEqual({ fragment: 1 });
  });

  it('drops a routing header with segments left', () => {
    const routing = Uint8Array.from([NextHeader.icmpv6, 2, 0, 1, 0, 0, 0, 0, ...new Uint8Array(16)]);
    expect(injectOne(echoRequest({ src: REQUESTER, dst: LAMP, ext: { first: NextHeader.routing, bytes: routing } })).drops)
      .toEqual({ routingSegmentsLeft: 1 });
  });

  it('drops an extension header whose length runs past the packet', () => {
    const options = Uint8Array.from([NextHeader.icmpv6, 200, 1, 4, 0, 0, 0, 0]);
    expect(injectOne(echoRequest({ src: REQUESTER, dst: LAMP, ext: { first: NextHeader.destinationOptions, bytes: options } })).drops)
      .toEqual({ badExtensionHeader: 1 });
  });

  it('drops a chain of a thousand Destination Options headers ending in No Next Header', () => {
    const chain = new Uint8Array(8 * 1000);
    for (let i = 0; i < 1000; i++) chain.set([i === 999 ? NextHeader.noNextHeader : NextHeader.destinationOptions, 0, 1, 4], i * 8);
    expect(injectOne(echoRequest({ src: REQUESTER, dst: LAMP, ext: { first: NextHeader.destinationOptions, bytes: chain } })).drops)
      .toEqual({ noNextHeader: 1 });
  });

  it('survives random corruption of valid packets, answering only valid ones', () => {
    const { link, host } = hostOnMemoryLink(100);
    const seeds = [ping, udpPacket({ src: REQUESTER, dst: LAMP })];
    let state = 12345;
    const random = () => (state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32;
    for (let i = 0; i < 20_000; i++) {
      const packet = seeds[i % 2].slice();
      const flips = 1 + Math.floor(random() * 4);
      for (let f = 0; f < flips; f++) packet[Math.floor(random() * packet.length)] = Math.floor(random() * 256);
      link.inject(packet, 0, Math.floor(random() * (packet.length + 1)));
    }
    const c = host.counters;
    const dropped = c.drops.reduce((a, b) => a + b, 0);
    expect(c.received).toBe(20_000);
    expect(dropped + c.echoReplies + c.udpDelivered + c.unreachablesDelivered + c.icmpErrorsSent + c.icmpErrorsRateLimited + c.pingsIgnored).toBe(20_000);
  });
});
