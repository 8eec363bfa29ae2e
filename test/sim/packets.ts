/**
 * Building and reading whole IPv6 packets in tests, through the wire codecs' representations.
 */
import { parseIpv6, formatIpv6 } from '../../ipv6/wire/address.js';
import { Icmpv6Packet, Icmpv6Repr, Icmpv6Type } from '../../ipv6/wire/icmpv6.js';
import { IPV6_HEADER_LEN, Ipv6Packet, Ipv6Repr, NextHeader } from '../../ipv6/wire/ipv6.js';
import { UdpPacket, UdpRepr } from '../../ipv6/wire/udp.js';
import { OK } from '../../ipv6/wire/drop.js';

export function addr(text: string): Uint8Array {
  const bytes = parseIpv6(text);
  if (bytes === null) throw new Error(`test address "${text}" is not IPv6`);
  return bytes;
}

export interface PacketOptions {
  src: string;
  dst: string;
  hopLimit?: number;
  /** Extension headers (already encoded) between the fixed header and the upper layer; the first
   * one's type goes in the fixed header's Next Header, and the last one must name the upper layer. */
  ext?: { first: number; bytes: Uint8Array };
}

function wrap(opts: PacketOptions, nextHeader: number, upperLen: number, emitUpper: (out: Uint8Array, off: number, ip: Ipv6Repr) => void): Uint8Array {
  const ext = opts.ext?.bytes ?? new Uint8Array(0);
  const ip = new Ipv6Repr();
  ip.src.set(addr(opts.src));
  ip.dst.set(addr(opts.dst));
  ip.nextHeader = opts.ext?.first ?? nextHeader;
  ip.payloadLen = ext.length + upperLen;
  ip.hopLimit = opts.hopLimit ?? 64;
  const out = new Uint8Array(IPV6_HEADER_LEN + ip.payloadLen);
  ip.emit(out, 0);
  out.set(ext, IPV6_HEADER_LEN);
  emitUpper(out, IPV6_HEADER_LEN + ext.length, ip);
  return out;
}

export function icmpPacket(opts: PacketOptions & { type: number; code?: number; rest?: number; body?: Uint8Array }): Uint8Array {
  const icmp = new Icmpv6Repr();
  icmp.type = opts.type;
  icmp.code = opts.code ?? 0;
  icmp.rest = opts.rest ?? 0;
  icmp.body = opts.body ?? new Uint8Array(0);
  return wrap(opts, NextHeader.icmpv6, icmp.length, (out, off, ip) => icmp.emit(out, off, ip.src, 0, ip.dst, 0));
}

export function echoRequest(opts: PacketOptions & { id?: number; seq?: number; data?: Uint8Array }): Uint8Array {
  return icmpPacket({ ...opts, type: Icmpv6Type.echoRequest, rest: (((opts.id ?? 0x1234) << 16) | (opts.seq ?? 1)) >>> 0, body: opts.data ?? Uint8Array.from([1, 2, 3, 4, 5]) });
}

export function udpPacket(opts: PacketOptions & { srcPort?: number; dstPort?: number; payload?: Uint8Array }): Uint8Array {
  const udp = new UdpRepr();
  udp.srcPort = opts.srcPort ?? 40000;
  udp.dstPort = opts.dstPort ?? 5683;
  udp.payload = opts.payload ?? new TextEncoder().encode('hello');
  return wrap(opts, NextHeader.udp, udp.length, (out, off, ip) => udp.emit(out, off, ip.src, 0, ip.dst, 0));
}

/** A packet the host sent, decoded (checksums verified, else the test fails). */
export interface Decoded {
  src: string;
  dst: string;
  hopLimit: number;
  icmp?: Icmpv6Repr;
  udp?: UdpRepr;
}

export function decode(buf: Uint8Array, off = 0, len = buf.length - off): Decoded {
  const ip = new Ipv6Packet();
  if (ip.check(buf, off, len) !== OK) throw new Error('host sent a malformed IPv6 packet');
  const out: Decoded = { src: formatIpv6(buf, ip.srcOff), dst: formatIpv6(buf, ip.dstOff), hopLimit: ip.hopLimit };
  if (ip.nextHeader === NextHeader.icmpv6) {
    const view = new Icmpv6Packet();
    const repr = new Icmpv6Repr();
    if (view.check(buf, ip.payloadOff, ip.payloadLen) !== OK || repr.parse(view, buf, ip.srcOff, buf, ip.dstOff) !== OK) {
      throw new Error('host sent a bad ICMPv6 message');
    }
    out.icmp = repr;
  } else if (ip.nextHeader === NextHeader.udp) {
    const view = new UdpPacket();
    const repr = new UdpRepr();
    if (view.check(buf, ip.payloadOff, ip.payloadLen) !== OK || repr.parse(view, buf, ip.srcOff, buf, ip.dstOff) !== OK) {
      throw new Error('host sent a bad UDP datagram');
    }
    out.udp = repr;
  }
  return out;
}
