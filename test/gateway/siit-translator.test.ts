/**
 * The board translator (gateway/siit/translator.ts) byte by byte, on the in-memory link: what
 * RFC 7915 says each translated field must be, checksums verified independently of the code under
 * test, and hostile bytes counted without a throw.
 */
import { describe, expect, it } from 'vitest';
import { boardAddressText, embeddedIpv4, ipv4Number, parseBoardPrefix } from '../../gateway/siit/address.js';
import { Translator } from '../../gateway/siit/translator.js';
import { MemoryLink } from '../../ipv6/link/memory.js';
import { Prng } from '../../sim/random.js';

const PREFIX = parseBoardPrefix('2001:db8:b0a:d::/96');
const BOARD = [10, 77, 0, 2];
const CLIENT = [10, 77, 1, 1];
const v6 = (v4: number[]): number[] => [...PREFIX.slice(0, 12), ...v4];

function sum16(bytes: number[], start = 0): number {
  let s = start;
  for (let i = 0; i < bytes.length; i += 2) s += (bytes[i] << 8) | (bytes[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}
const checksum = (bytes: number[], start = 0): number => ~sum16(bytes, start) & 0xffff;
const word = (n: number): number[] => [n >> 8, n & 0xff];
/** The one's-complement sum over a packet with its checksum in place is 0xffff when it verifies. */
const verifies = (bytes: number[], start = 0): boolean => sum16(bytes, start) === 0xffff;
const pseudo6 = (src: number[], dst: number[], len: number, nh: number): number => sum16([...src, ...dst, 0, 0, ...word(len), 0, 0, 0, nh]);
const pseudo4 = (src: number[], dst: number[], len: number, proto: number): number => sum16([...src, ...dst, 0, proto, ...word(len)]);

function ipv6Packet(src: number[], dst: number[], nh: number, payload: number[], hopLimit = 64): number[] {
  return [0x60, 0, 0, 0, ...word(payload.length), nh, hopLimit, ...src, ...dst, ...payload];
}

function ipv4Packet(src: number[], dst: number[], proto: number, payload: number[], ttl = 64): number[] {
  const header = [0x45, 0, ...word(20 + payload.length), 0, 1, 0, 0, ttl, proto, 0, 0, ...src, ...dst];
  const c = checksum(header);
  header[10] = c >> 8;
  header[11] = c & 0xff;
  return [...header, ...payload];
}

function withChecksum(bytes: number[], at: number, c: number): number[] {
  const out = bytes.slice();
  out[at] = c >> 8;
  out[at + 1] = c & 0xff;
  return out;
}

function echo6(type: number, src: number[], dst: number[]): number[] {
  const body = [type, 0, 0, 0, 0x12, 0x34, 0, 7, 1, 2, 3, 4, 5];
  return withChecksum(body, 2, checksum(body, pseudo6(src, dst, body.length, 58)));
}

function udp(srcPort: number, dstPort: number, payload: number[], pseudo: number): number[] {
  const body = [...word(srcPort), ...word(dstPort), ...word(8 + payload.length), 0, 0, ...payload];
  return withChecksum(body, 6, checksum(body, pseudo) || 0xffff);
}

function rig(answersPing?: (v4: number) => boolean): { translator: Translator; send(bytes: number[]): number[][] } {
  const link = new MemoryLink();
  const translator = new Translator({ prefix: PREFIX, link, answersPing });
  translator.start();
  let out: number[][] = [];
  link.onTransmit((buf, off, len) => out.push([...buf.subarray(off, off + len)]));
  return {
    translator,
    send(bytes) {
      out = [];
      link.inject(Uint8Array.from(bytes));
      return out;
    },
  };
}

describe('board addresses (RFC 6052, /96)', () => {
  it('embeds a board\'s IPv4 address in the prefix and reads it back', () => {
    const text = boardAddressText(PREFIX, ipv4Number('10.77.0.2'));
    expect(text).toBe('2001:db8:b0a:d::10.77.0.2');
    expect(embeddedIpv4(PREFIX, text)).toBe(ipv4Number('10.77.0.2'));
    expect(embeddedIpv4(PREFIX, '2001:db8:b0a:d::a4d:2')).toBe(ipv4Number('10.77.0.2'));
    expect(embeddedIpv4(PREFIX, '2001:db8:1::a4d:2')).toBe(-1);
  });

  it('writes the address validly when the prefix has no zero words to compress', () => {
    expect(boardAddressText(parseBoardPrefix('2001:db8:1:2:3:4::/96'), ipv4Number('192.0.2.1'))).toBe('2001:db8:1:2:3:4:192.0.2.1');
    expect(boardAddressText(parseBoardPrefix('64:ff9b::/96'), ipv4Number('192.0.2.1'))).toBe('64:ff9b::192.0.2.1');
  });

  it('refuses a prefix that is not a unicast /96, naming it', () => {
    expect(() => parseBoardPrefix('2001:db8::/64')).toThrow(/"2001:db8::\/64" is not an IPv6 \/96 prefix/);
    expect(() => parseBoardPrefix('ff05::/96')).toThrow(/multicast/);
  });
});

describe('the translator, IPv6 to IPv4 (RFC 7915 §5)', () => {
  it('turns an Echo Request into an ICMPv4 echo with TTL one less and valid checksums', () => {
    const [out] = rig().send(ipv6Packet(v6(CLIENT), v6(BOARD), 58, echo6(128, v6(CLIENT), v6(BOARD))));
    expect(out.slice(0, 1)).toEqual([0x45]);
    expect((out[2] << 8) | out[3]).toBe(out.length);
    expect(out[6] & 0x40).toBe(0); // small enough to fragment on the IPv4 side: DF clear
    expect(out[8]).toBe(63);
    expect(out[9]).toBe(1);
    expect(out.slice(12, 16)).toEqual(CLIENT);
    expect(out.slice(16, 20)).toEqual(BOARD);
    expect(verifies(out.slice(0, 20))).toBe(true);
    const icmp = out.slice(20);
    expect(icmp.slice(0, 2)).toEqual([8, 0]);
    expect(icmp.slice(4)).toEqual([0x12, 0x34, 0, 7, 1, 2, 3, 4, 5]);
    expect(verifies(icmp)).toBe(true);
  });

  it('carries a UDP datagram with its checksum moved to the IPv4 pseudo-header', () => {
    const datagram = udp(40000, 5683, [0x40, 1, 0, 1, 0xb1], pseudo6(v6(CLIENT), v6(BOARD), 13, 17));
    const [out] = rig().send(ipv6Packet(v6(CLIENT), v6(BOARD), 17, datagram));
    expect(out[9]).toBe(17);
    const body = out.slice(20);
    expect(body.slice(0, 6)).toEqual(datagram.slice(0, 6));
    expect(body.slice(8)).toEqual(datagram.slice(8));
    expect(verifies(body, pseudo4(CLIENT, BOARD, body.length, 17))).toBe(true);
  });

  it('translates Packet Too Big into Fragmentation Needed with the MTU 20 bytes smaller, and the packet inside', () => {
    const inner = ipv6Packet(v6(BOARD), v6(CLIENT), 17, udp(5683, 40000, [1, 2, 3, 4], pseudo6(v6(BOARD), v6(CLIENT), 12, 17)));
    const body = [2, 0, 0, 0, 0, 0, 0x05, 0x00, ...inner];
    const error = withChecksum(body, 2, checksum(body, pseudo6(v6(CLIENT), v6(BOARD), body.length, 58)));
    const [out] = rig().send(ipv6Packet(v6(CLIENT), v6(BOARD), 58, error));
    const icmp = out.slice(20);
    expect(icmp.slice(0, 2)).toEqual([3, 4]);
    expect((icmp[6] << 8) | icmp[7]).toBe(1280 - 20);
    expect(verifies(icmp)).toBe(true);
    const innerV4 = icmp.slice(8);
    expect(innerV4[0]).toBe(0x45);
    expect(innerV4.slice(12, 20)).toEqual([...BOARD, ...CLIENT]);
    expect(verifies(innerV4.slice(0, 20))).toBe(true);
    expect(verifies(innerV4.slice(20), pseudo4(BOARD, CLIENT, 12, 17))).toBe(true);
  });

  it('answers the ping policy: an Echo Request to a dark board goes nowhere and is counted', () => {
    const r = rig(() => false);
    expect(r.send(ipv6Packet(v6(CLIENT), v6(BOARD), 58, echo6(128, v6(CLIENT), v6(BOARD))))).toEqual([]);
    expect(r.translator.counters.pingsIgnored).toBe(1);
  });

  it('drops a source outside the prefix, which has no IPv4 form', () => {
    const stranger = [0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x99];
    const r = rig();
    expect(r.send(ipv6Packet(stranger, v6(BOARD), 58, echo6(128, stranger, v6(BOARD))))).toEqual([]);
    expect(r.translator.counters.dropsByName()).toEqual({ sourceNotTranslatable: 1 });
  });

  it('drops a packet whose hop limit would expire at the translator', () => {
    const r = rig();
    expect(r.send(ipv6Packet(v6(CLIENT), v6(BOARD), 58, echo6(128, v6(CLIENT), v6(BOARD)), 1))).toEqual([]);
    expect(r.translator.counters.dropsByName()).toEqual({ hopLimitExpired: 1 });
  });
});

describe('the translator, IPv4 to IPv6 (RFC 7915 §4)', () => {
  it('turns an ICMPv4 echo reply into an ICMPv6 Echo Reply with the pseudo-header checksum', () => {
    const body = [0, 0, 0, 0, 0x12, 0x34, 0, 7, 9, 9];
    const [out] = rig().send(ipv4Packet(BOARD, CLIENT, 1, withChecksum(body, 2, checksum(body))));
    expect(out[0] >> 4).toBe(6);
    expect(out[6]).toBe(58);
    expect(out[7]).toBe(63);
    expect(out.slice(8, 24)).toEqual(v6(BOARD));
    expect(out.slice(24, 40)).toEqual(v6(CLIENT));
    const icmp = out.slice(40);
    expect(icmp[0]).toBe(129);
    expect(verifies(icmp, pseudo6(v6(BOARD), v6(CLIENT), icmp.length, 58))).toBe(true);
  });

  it('computes the UDP checksum an IPv4 sender left out, since IPv6 requires one', () => {
    const datagram = [...word(5683), ...word(40000), ...word(12), 0, 0, 0x60, 0x45, 0, 1];
    const [out] = rig().send(ipv4Packet(BOARD, CLIENT, 17, datagram));
    const body = out.slice(40);
    expect((body[6] << 8) | body[7]).not.toBe(0);
    expect(verifies(body, pseudo6(v6(BOARD), v6(CLIENT), body.length, 17))).toBe(true);
  });

  it('translates Port Unreachable with the datagram it is about into ICMPv6 Destination Unreachable code 4', () => {
    const sent = ipv4Packet(CLIENT, BOARD, 17, udp(40000, 5699, [0x78], pseudo4(CLIENT, BOARD, 9, 17)));
    const body = [3, 3, 0, 0, 0, 0, 0, 0, ...sent];
    const [out] = rig().send(ipv4Packet(BOARD, CLIENT, 1, withChecksum(body, 2, checksum(body))));
    const icmp = out.slice(40);
    expect(icmp.slice(0, 2)).toEqual([1, 4]);
    expect(verifies(icmp, pseudo6(v6(BOARD), v6(CLIENT), icmp.length, 58))).toBe(true);
    const inner = icmp.slice(8);
    expect(inner.slice(8, 40)).toEqual([...v6(CLIENT), ...v6(BOARD)]);
    expect(verifies(inner.slice(40), pseudo6(v6(CLIENT), v6(BOARD), 9, 17))).toBe(true);
  });

  it('drops fragments, bad header checksums and other protocols, each by name', () => {
    const r = rig();
    const datagram = udp(5683, 40000, [1], pseudo4(BOARD, CLIENT, 9, 17));
    const fragment = ipv4Packet(BOARD, CLIENT, 17, datagram);
    fragment[6] = 0x20;
    const badSum = ipv4Packet(BOARD, CLIENT, 17, datagram);
    badSum[10] ^= 0xff;
    for (const p of [fragment, badSum, ipv4Packet(BOARD, CLIENT, 6, new Array(20).fill(0))]) expect(r.send(p)).toEqual([]);
    expect(r.translator.counters.dropsByName()).toEqual({ ipv4BadChecksum: 2, ipv4UnknownProtocol: 1 });
  });
});

it('survives 20,000 random and mangled packets, and accounts for every one', () => {
  const r = rig();
  const random = new Prng(21);
  const seeds = [
    ipv6Packet(v6(CLIENT), v6(BOARD), 58, echo6(128, v6(CLIENT), v6(BOARD))),
    ipv4Packet(BOARD, CLIENT, 17, udp(5683, 40000, [1, 2], pseudo4(BOARD, CLIENT, 10, 17))),
  ];
  for (let n = 0; n < 20_000; n++) {
    const bytes = seeds[n % 2].slice(0, 1 + random.below(80));
    for (let k = 0; k < 3; k++) bytes[random.below(bytes.length)] = random.below(256);
    expect(() => r.send(bytes)).not.toThrow();
  }
  const c = r.translator.counters;
  const dropped = Object.values(c.dropsByName()).reduce((a, b) => a + b, 0);
  expect(c.received).toBe(20_000);
  expect(c.toIpv4 + c.toIpv6 + c.pingsIgnored + c.txRefused + dropped).toBe(20_000);
});
