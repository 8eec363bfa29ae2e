/**
 * Stateless IP/ICMP translation (SIIT, RFC 7915) between IPv6 clients and IPv4-only boards, for what
 * a lamp speaks: ICMP echo, UDP (CoAP) and the ICMP errors about them.
 *
 * Both sides use RFC 6052 /96 addresses (address.ts): board a.b.c.d is `<prefix>::a.b.c.d`, and an
 * IPv6 client must itself hold an IPv4-translatable address `<prefix>::w.x.y.z` (the stateless
 * scenario of RFC 6144 §2.1), whose IPv4 form the boards answer to. One TUN device carries both
 * families: the kernel routes `<prefix>::/96` and the clients' IPv4 range into it, and forwards what
 * the translator writes back (see tun.ts). The translator keeps no per-flow state.
 *
 * Per packet: IPv6 → validate the header and extension chain, both addresses inside the prefix,
 * the upper layer's checksum → write the IPv4 packet (TTL = Hop Limit − 1, DF per RFC 7915 §5.1,
 * checksums recomputed). IPv4 → validate the header (its checksum too), no fragment, the upper
 * layer's checksum → write the IPv6 packet. ICMP errors are translated with the packet they carry
 * (RFC 7915 §4.2, §5.2). Anything else is dropped and counted by reason; nothing throws.
 *
 * The steady state allocates nothing: reusable views, typed-array counters, writes straight into the
 * link's outgoing batch.
 */
import type { Link } from '../../ipv6/link/link.js';
import { finishChecksum, foldSum, pseudoHeaderSum, sumVerifies, sumWords } from '../../ipv6/wire/checksum.js';
import { copyBytes, read32 } from '../../ipv6/wire/bytes.js';
import { Drop, DROP_REASON_SLOTS, dropReasonName, OK } from '../../ipv6/wire/drop.js';
import { emitIcmpv6Header, fillIcmpv6Checksum, ICMPV6_HEADER_LEN, Icmpv6Packet, Icmpv6Type } from '../../ipv6/wire/icmpv6.js';
import { IPV6_HEADER_LEN, IPV6_MIN_MTU, Ipv6Packet, NextHeader } from '../../ipv6/wire/ipv6.js';
import { ExtensionHeaderWalk } from '../../ipv6/wire/ipv6ext.js';
import { UDP_HEADER_LEN, UdpPacket } from '../../ipv6/wire/udp.js';

const IPV4_HEADER_LEN = 20;
const PROTO_ICMPV4 = 1;
const PROTO_UDP = 17;
const ICMPV4_ECHO_REPLY = 0;
const ICMPV4_UNREACHABLE = 3;
const ICMPV4_ECHO_REQUEST = 8;
const ICMPV4_TIME_EXCEEDED = 11;
/** An ICMPv4 error is at most this long (RFC 1812 §4.3.2.3). */
const ICMPV4_ERROR_MAX = 576;
/** Translated IPv4 packets up to this size may be fragmented on the IPv4 side (RFC 7915 §5.1). */
const DF_THRESHOLD = 1260;

/** Drop reasons of the translator beyond the IPv6 host's (wire/drop.ts), numbered after them. */
export const SiitDrop = {
  /** Version nibble neither 4 nor 6. */
  notIp: DROP_REASON_SLOTS,
  /** IPv6 source outside the prefix: it has no IPv4 form (stateless translation, RFC 7915 §5.1). */
  sourceNotTranslatable: DROP_REASON_SLOTS + 1,
  /** IPv4 header shorter than 20 bytes, IHL below 5, or Total Length beyond the frame. */
  ipv4BadHeader: DROP_REASON_SLOTS + 2,
  ipv4BadChecksum: DROP_REASON_SLOTS + 3,
  /** IPv4 fragment: reassembly would be per-source state; lamps' packets fit one. */
  ipv4Fragment: DROP_REASON_SLOTS + 4,
  /** Hop Limit / TTL would reach 0 at the translator, a router (RFC 7915 §4.1, §5.1). */
  hopLimitExpired: DROP_REASON_SLOTS + 5,
  /** IPv4 protocol other than ICMP and UDP. */
  ipv4UnknownProtocol: DROP_REASON_SLOTS + 6,
  icmpv4Truncated: DROP_REASON_SLOTS + 7,
  icmpv4BadChecksum: DROP_REASON_SLOTS + 8,
  /** ICMP type or code without a counterpart on the other side (RFC 7915 §4.2, §5.2 say drop). */
  icmpUntranslatable: DROP_REASON_SLOTS + 9,
  /** An ICMP error whose inner packet is not an IPv4/IPv6 header of a translatable datagram. */
  icmpBadInnerPacket: DROP_REASON_SLOTS + 10,
  /** UDP over IPv4 shorter than its header or disagreeing with the IP payload length. */
  udpv4BadLength: DROP_REASON_SLOTS + 11,
  udpv4BadChecksum: DROP_REASON_SLOTS + 12,
} as const;

const SIIT_REASON_SLOTS = DROP_REASON_SLOTS + Object.keys(SiitDrop).length;

/** Every reason the translator can drop for: the IPv6 checks it shares with the simulator's host,
 * and its own. */
export const SIIT_DROP_REASONS: readonly number[] = [
  Drop.shortFrame, Drop.payloadLengthExceedsFrame, Drop.notOurPrefix, Drop.badExtensionHeader,
  Drop.misplacedHopByHop, Drop.unrecognizedOption, Drop.routingSegmentsLeft, Drop.fragment,
  Drop.noNextHeader, Drop.unknownNextHeader, Drop.icmpTruncated, Drop.icmpBadChecksum,
  Drop.icmpUnhandledType, Drop.udpBadLength, Drop.udpBadChecksum, Drop.udpZeroChecksum,
  ...Object.values(SiitDrop),
];
const siitNames: string[] = [];
for (const [name, reason] of Object.entries(SiitDrop)) siitNames[reason] = name;

export function siitDropReasonName(reason: number): string {
  return reason < DROP_REASON_SLOTS ? dropReasonName(reason) : siitNames[reason] ?? `unknown(${reason})`;
}

/** What the translator did. Every received packet is translated, ignored by the ping policy,
 * refused by the link, or dropped for one reason. */
export class SiitCounters {
  received = 0;
  toIpv4 = 0;
  toIpv6 = 0;
  /** Echo Requests to a board whose lamp the ping policy says must not answer. */
  pingsIgnored = 0;
  /** Translated packets the link had no room for (larger than its MTU, or closed). */
  txRefused = 0;
  readonly drops = new Float64Array(SIIT_REASON_SLOTS);

  /** Drops by reason name, only the non-zero ones. Allocates. */
  dropsByName(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let reason = 1; reason < SIIT_REASON_SLOTS; reason++) {
      if (this.drops[reason] !== 0) out[siitDropReasonName(reason)] = this.drops[reason];
    }
    return out;
  }
}

export interface TranslatorOptions {
  /** The /96 board prefix: the first 12 bytes of this 16-byte address. */
  prefix: Uint8Array;
  link: Link;
  /** Whether the board at IPv4 address `v4` (unsigned 32-bit) answers an Echo Request now. */
  answersPing?: (v4: number) => boolean;
}

export class Translator {
  readonly counters = new SiitCounters();
  /** Bound once: the handler to give the link. */
  readonly handlePacket = (buf: Uint8Array, off: number, len: number): void => this.handle(buf, off, len);

  private readonly link: Link;
  private readonly prefix: Uint8Array;
  private readonly answersPing: (v4: number) => boolean;
  /** Identification of translated packets that may be fragmented (RFC 7915 §5.1). */
  private identification = 0;
  private readonly ip6 = new Ipv6Packet();
  private readonly inner6 = new Ipv6Packet();
  private readonly chain = new ExtensionHeaderWalk();
  private readonly icmp6 = new Icmpv6Packet();
  private readonly udp6 = new UdpPacket();

  constructor(options: TranslatorOptions) {
    if (options.prefix.length < 12) throw new Error(`board prefix must be at least 12 bytes, got ${options.prefix.length}`);
    this.prefix = options.prefix.slice(0, 12);
    this.link = options.link;
    this.answersPing = options.answersPing ?? (() => true);
  }

  /** Begin translating the link's packets. */
  start(): void {
    this.link.start(this.handlePacket);
  }

  private handle(buf: Uint8Array, off: number, len: number): void {
    this.counters.received++;
    if (len < 1 || off < 0 || off + len > buf.length) return this.drop(Drop.shortFrame);
    const version = buf[off] >> 4;
    if (version === 6) return this.fromIpv6(buf, off, len);
    if (version === 4) return this.fromIpv4(buf, off, len);
    this.drop(SiitDrop.notIp);
  }

  private drop(reason: number): void {
    this.counters.drops[reason]++;
  }

  private inPrefix(buf: Uint8Array, off: number): boolean {
    const p = this.prefix;
    for (let i = 0; i < 12; i++) if (buf[off + i] !== p[i]) return false;
    return true;
  }

  // ---- IPv6 → IPv4 (RFC 7915 §5) ----

  private fromIpv6(buf: Uint8Array, off: number, len: number): void {
    const ip = this.ip6;
    let problem = ip.check(buf, off, len);
    if (problem !== OK) return this.drop(problem);
    if (!this.inPrefix(buf, ip.dstOff)) return this.drop(Drop.notOurPrefix);
    if (!this.inPrefix(buf, ip.srcOff)) return this.drop(SiitDrop.sourceNotTranslatable);
    if (ip.hopLimit <= 1) return this.drop(SiitDrop.hopLimitExpired);
    const end = ip.off + ip.len;
    problem = this.chain.walk(buf, ip.payloadOff, end, ip.nextHeader);
    if (problem !== OK) return this.drop(problem);
    const upperOff = this.chain.offset;
    const upperLen = end - upperOff;
    if (this.chain.protocol === NextHeader.icmpv6) this.icmpv6ToIpv4(upperOff, upperLen);
    else if (this.chain.protocol === NextHeader.udp) this.udpv6ToIpv4(upperOff, upperLen);
    else this.drop(Drop.unknownNextHeader);
  }

  private udpv6ToIpv4(off: number, len: number): void {
    const ip = this.ip6, udp = this.udp6;
    let problem = udp.check(ip.buf, off, len);
    if (problem !== OK) return this.drop(problem);
    problem = udp.verifyChecksum(ip.buf, ip.srcOff, ip.buf, ip.dstOff);
    if (problem !== OK) return this.drop(problem);
    const at = this.reserve(IPV4_HEADER_LEN + len);
    if (at < 0) return;
    const out = this.link.txBuf;
    this.emitIpv4FromIpv6(out, at, ip, PROTO_UDP, len, ip.hopLimit - 1);
    const udpAt = at + IPV4_HEADER_LEN;
    copyBytes(ip.buf, off, out, udpAt, len);
    const checksum = movePseudoAddresses(udp.checksum, ip.buf, ip.srcOff, 32, out, at + 12, 8);
    out[udpAt + 6] = checksum >> 8;
    out[udpAt + 7] = checksum & 0xff;
    this.commit(IPV4_HEADER_LEN + len, true);
  }

  private icmpv6ToIpv4(off: number, len: number): void {
    const ip = this.ip6, icmp = this.icmp6;
    const problem = icmp.check(ip.buf, off, len);
    if (problem !== OK) return this.drop(problem);
    if (!icmp.checksumValid(ip.buf, ip.srcOff, ip.buf, ip.dstOff)) return this.drop(Drop.icmpBadChecksum);
    const type = icmp.type;
    if (type === Icmpv6Type.echoRequest || type === Icmpv6Type.echoReply) {
      if (type === Icmpv6Type.echoRequest && !this.answersPing(read32(ip.buf, ip.dstOff + 12))) {
        this.counters.pingsIgnored++;
        return;
      }
      const at = this.reserve(IPV4_HEADER_LEN + len);
      if (at < 0) return;
      const out = this.link.txBuf;
      this.emitIpv4FromIpv6(out, at, ip, PROTO_ICMPV4, len, ip.hopLimit - 1);
      const icmpAt = at + IPV4_HEADER_LEN;
      copyBytes(ip.buf, off, out, icmpAt, len);
      out[icmpAt] = type === Icmpv6Type.echoRequest ? ICMPV4_ECHO_REQUEST : ICMPV4_ECHO_REPLY;
      fillIcmpv4Checksum(out, icmpAt, len);
      return this.commit(IPV4_HEADER_LEN + len, true);
    }
    this.icmpv6ErrorToIpv4(off, len);
  }

  /** ICMPv6 error → ICMPv4 error with the invoking IPv6 packet translated too (RFC 7915 §5.2). */
  private icmpv6ErrorToIpv4(off: number, len: number): void {
    const ip = this.ip6, buf = ip.buf;
    const type = buf[off], code = buf[off + 1];
    let v4Type = ICMPV4_UNREACHABLE, v4Code: number, rest = 0;
    if (type === Icmpv6Type.destinationUnreachable) {
      if (code === 0 || code === 2 || code === 3) v4Code = 1;
      else if (code === 1) v4Code = 10;
      else if (code === 4) v4Code = 3;
      else return this.drop(SiitDrop.icmpUntranslatable);
    } else if (type === Icmpv6Type.packetTooBig) {
      v4Code = 4;
      const mtu = read32(buf, off + 4) - (IPV6_HEADER_LEN - IPV4_HEADER_LEN);
      rest = Math.min(Math.max(mtu, 68), 0xffff);
    } else if (type === Icmpv6Type.timeExceeded) {
      v4Type = ICMPV4_TIME_EXCEEDED;
      v4Code = code;
    } else if (type === Icmpv6Type.parameterProblem && code === 1) {
      v4Code = 2;
    } else {
      return this.drop(type < 128 ? SiitDrop.icmpUntranslatable : Drop.icmpUnhandledType);
    }
    // The invoking packet: an IPv6 header (possibly cut short after it) whose addresses are ours.
    const innerOff = off + ICMPV6_HEADER_LEN;
    const innerLen = len - ICMPV6_HEADER_LEN;
    if (innerLen < IPV6_HEADER_LEN || buf[innerOff] >> 4 !== 6) return this.drop(SiitDrop.icmpBadInnerPacket);
    const innerProto = buf[innerOff + 6];
    if (innerProto !== NextHeader.udp && innerProto !== NextHeader.icmpv6) return this.drop(SiitDrop.icmpBadInnerPacket);
    if (!this.inPrefix(buf, innerOff + 8) || !this.inPrefix(buf, innerOff + 24)) return this.drop(SiitDrop.icmpBadInnerPacket);
    const innerPayloadLen = (buf[innerOff + 4] << 8) | buf[innerOff + 5];
    const carried = Math.min(innerLen - IPV6_HEADER_LEN, ICMPV4_ERROR_MAX - 2 * IPV4_HEADER_LEN - 8);
    const icmpLen = 8 + IPV4_HEADER_LEN + carried;
    const at = this.reserve(IPV4_HEADER_LEN + icmpLen);
    if (at < 0) return;
    const out = this.link.txBuf;
    this.emitIpv4FromIpv6(out, at, ip, PROTO_ICMPV4, icmpLen, ip.hopLimit - 1);
    const icmpAt = at + IPV4_HEADER_LEN;
    out[icmpAt] = v4Type;
    out[icmpAt + 1] = v4Code;
    out[icmpAt + 2] = 0;
    out[icmpAt + 3] = 0;
    out[icmpAt + 4] = 0;
    out[icmpAt + 5] = 0;
    out[icmpAt + 6] = rest >> 8;
    out[icmpAt + 7] = rest & 0xff;
    const innerAt = icmpAt + 8;
    this.inner6.buf = buf;
    this.inner6.off = innerOff;
    // The inner header describes the original packet: its full length and hop limit, unchanged.
    this.emitIpv4FromIpv6(out, innerAt, this.inner6, innerProto === NextHeader.udp ? PROTO_UDP : PROTO_ICMPV4,
      innerPayloadLen, buf[innerOff + 7]);
    const innerUpperAt = innerAt + IPV4_HEADER_LEN;
    copyBytes(buf, innerOff + IPV6_HEADER_LEN, out, innerUpperAt, carried);
    translateInnerUpper(out, innerUpperAt, carried, innerProto === NextHeader.udp, buf, innerOff + 8, out, innerAt + 12, true);
    fillIcmpv4Checksum(out, icmpAt, icmpLen);
    this.commit(IPV4_HEADER_LEN + icmpLen, true);
  }

  /** The IPv4 header for the IPv6 packet in view `ip`, carrying `payloadLen` bytes of `protocol`. */
  private emitIpv4FromIpv6(out: Uint8Array, at: number, ip: Ipv6Packet, protocol: number, payloadLen: number, ttl: number): void {
    const b = ip.buf, o = ip.off;
    const total = IPV4_HEADER_LEN + payloadLen;
    out[at] = 0x45;
    out[at + 1] = ((b[o] & 0x0f) << 4) | (b[o + 1] >> 4);
    out[at + 2] = (total >> 8) & 0xff;
    out[at + 3] = total & 0xff;
    if (total <= DF_THRESHOLD) {
      this.identification = (this.identification + 1) & 0xffff;
      out[at + 4] = this.identification >> 8;
      out[at + 5] = this.identification & 0xff;
      out[at + 6] = 0;
    } else {
      out[at + 4] = 0;
      out[at + 5] = 0;
      out[at + 6] = 0x40;
    }
    out[at + 7] = 0;
    out[at + 8] = ttl;
    out[at + 9] = protocol;
    out[at + 10] = 0;
    out[at + 11] = 0;
    copyBytes(b, o + 8 + 12, out, at + 12, 4);
    copyBytes(b, o + 24 + 12, out, at + 16, 4);
    const checksum = finishChecksum(sumWords(out, at, IPV4_HEADER_LEN, 0));
    out[at + 10] = checksum >> 8;
    out[at + 11] = checksum & 0xff;
  }

  // ---- IPv4 → IPv6 (RFC 7915 §4) ----

  private fromIpv4(buf: Uint8Array, off: number, len: number): void {
    if (len < IPV4_HEADER_LEN) return this.drop(SiitDrop.ipv4BadHeader);
    const ihl = (buf[off] & 0x0f) * 4;
    const total = (buf[off + 2] << 8) | buf[off + 3];
    if (ihl < IPV4_HEADER_LEN || total < ihl || total > len) return this.drop(SiitDrop.ipv4BadHeader);
    if (!sumVerifies(sumWords(buf, off, ihl, 0))) return this.drop(SiitDrop.ipv4BadChecksum);
    if ((buf[off + 6] & 0x20) !== 0 || (((buf[off + 6] & 0x1f) << 8) | buf[off + 7]) !== 0) return this.drop(SiitDrop.ipv4Fragment);
    const ttl = buf[off + 8];
    if (ttl <= 1) return this.drop(SiitDrop.hopLimitExpired);
    const protocol = buf[off + 9];
    const upperOff = off + ihl;
    const upperLen = total - ihl;
    if (protocol === PROTO_ICMPV4) this.icmpv4ToIpv6(buf, off, upperOff, upperLen);
    else if (protocol === PROTO_UDP) this.udpv4ToIpv6(buf, off, upperOff, upperLen);
    else this.drop(SiitDrop.ipv4UnknownProtocol);
  }

  private udpv4ToIpv6(buf: Uint8Array, ipOff: number, off: number, len: number): void {
    if (len < UDP_HEADER_LEN || ((buf[off + 4] << 8) | buf[off + 5]) !== len) return this.drop(SiitDrop.udpv4BadLength);
    const received = (buf[off + 6] << 8) | buf[off + 7];
    if (received !== 0 && !sumVerifies(sumWords(buf, off, len, ipv4PseudoSum(buf, ipOff + 12, len, PROTO_UDP)))) {
      return this.drop(SiitDrop.udpv4BadChecksum);
    }
    const at = this.reserve(IPV6_HEADER_LEN + len);
    if (at < 0) return;
    const out = this.link.txBuf;
    this.emitIpv6FromIpv4(out, at, buf, ipOff, NextHeader.udp, len, buf[ipOff + 8] - 1);
    const udpAt = at + IPV6_HEADER_LEN;
    copyBytes(buf, off, out, udpAt, len);
    let checksum: number;
    if (received === 0) {
      // No checksum over IPv4, which IPv6 forbids: compute it (RFC 7915 §4.5).
      out[udpAt + 6] = 0;
      out[udpAt + 7] = 0;
      checksum = finishChecksum(sumWords(out, udpAt, len, pseudoHeaderSum(out, at + 8, out, at + 24, len, NextHeader.udp))) || 0xffff;
    } else {
      checksum = movePseudoAddresses(received, buf, ipOff + 12, 8, out, at + 8, 32);
    }
    out[udpAt + 6] = checksum >> 8;
    out[udpAt + 7] = checksum & 0xff;
    this.commit(IPV6_HEADER_LEN + len, false);
  }

  private icmpv4ToIpv6(buf: Uint8Array, ipOff: number, off: number, len: number): void {
    if (len < 8) return this.drop(SiitDrop.icmpv4Truncated);
    if (!sumVerifies(sumWords(buf, off, len, 0))) return this.drop(SiitDrop.icmpv4BadChecksum);
    const type = buf[off], code = buf[off + 1];
    if (type === ICMPV4_ECHO_REQUEST || type === ICMPV4_ECHO_REPLY) {
      const at = this.reserve(IPV6_HEADER_LEN + len);
      if (at < 0) return;
      const out = this.link.txBuf;
      this.emitIpv6FromIpv4(out, at, buf, ipOff, NextHeader.icmpv6, len, buf[ipOff + 8] - 1);
      const icmpAt = at + IPV6_HEADER_LEN;
      copyBytes(buf, off, out, icmpAt, len);
      out[icmpAt] = type === ICMPV4_ECHO_REQUEST ? Icmpv6Type.echoRequest : Icmpv6Type.echoReply;
      out[icmpAt + 2] = 0;
      out[icmpAt + 3] = 0;
      fillIcmpv6Checksum(out, icmpAt, len, out, at + 8, out, at + 24);
      return this.commit(IPV6_HEADER_LEN + len, false);
    }
    let v6Type = Icmpv6Type.destinationUnreachable as number, v6Code = 0, rest = 0;
    if (type === ICMPV4_UNREACHABLE) {
      if (code === 2) {
        v6Type = Icmpv6Type.parameterProblem;
        v6Code = 1;
        rest = 6; // the Next Header field
      } else if (code === 3) v6Code = 4;
      else if (code === 4) {
        v6Type = Icmpv6Type.packetTooBig;
        const mtu = (buf[off + 6] << 8) | buf[off + 7];
        rest = Math.min(Math.max(mtu + (IPV6_HEADER_LEN - IPV4_HEADER_LEN), IPV6_MIN_MTU), this.link.mtu);
      } else if (code === 9 || code === 10 || code === 13 || code === 15) v6Code = 1;
      else if (code > 15 || code === 14) return this.drop(SiitDrop.icmpUntranslatable);
    } else if (type === ICMPV4_TIME_EXCEEDED) {
      v6Type = Icmpv6Type.timeExceeded;
      v6Code = code;
    } else {
      return this.drop(SiitDrop.icmpUntranslatable);
    }
    // The invoking IPv4 packet: a header with its IHL, then what the error kept of the payload.
    const innerOff = off + 8;
    const innerLen = len - 8;
    if (innerLen < IPV4_HEADER_LEN || buf[innerOff] >> 4 !== 4) return this.drop(SiitDrop.icmpBadInnerPacket);
    const innerIhl = (buf[innerOff] & 0x0f) * 4;
    const innerProto = buf[innerOff + 9];
    if (innerIhl < IPV4_HEADER_LEN || innerIhl > innerLen || (innerProto !== PROTO_UDP && innerProto !== PROTO_ICMPV4)) {
      return this.drop(SiitDrop.icmpBadInnerPacket);
    }
    const innerTotal = (buf[innerOff + 2] << 8) | buf[innerOff + 3];
    const carried = Math.min(innerLen - innerIhl, IPV6_MIN_MTU - 2 * IPV6_HEADER_LEN - ICMPV6_HEADER_LEN);
    const icmpLen = ICMPV6_HEADER_LEN + IPV6_HEADER_LEN + carried;
    const at = this.reserve(IPV6_HEADER_LEN + icmpLen);
    if (at < 0) return;
    const out = this.link.txBuf;
    this.emitIpv6FromIpv4(out, at, buf, ipOff, NextHeader.icmpv6, icmpLen, buf[ipOff + 8] - 1);
    const icmpAt = at + IPV6_HEADER_LEN;
    emitIcmpv6Header(out, icmpAt, v6Type, v6Code, rest);
    const innerAt = icmpAt + ICMPV6_HEADER_LEN;
    this.emitIpv6FromIpv4(out, innerAt, buf, innerOff, innerProto === PROTO_UDP ? NextHeader.udp : NextHeader.icmpv6,
      Math.max(innerTotal - innerIhl, 0), buf[innerOff + 8]);
    const innerUpperAt = innerAt + IPV6_HEADER_LEN;
    copyBytes(buf, innerOff + innerIhl, out, innerUpperAt, carried);
    translateInnerUpper(out, innerUpperAt, carried, innerProto === PROTO_UDP, buf, innerOff + 12, out, innerAt + 8, false);
    fillIcmpv6Checksum(out, icmpAt, icmpLen, out, at + 8, out, at + 24);
    this.commit(IPV6_HEADER_LEN + icmpLen, false);
  }

  /** The IPv6 header for the IPv4 packet at `buf[ipOff]`, carrying `payloadLen` bytes. */
  private emitIpv6FromIpv4(out: Uint8Array, at: number, buf: Uint8Array, ipOff: number, nextHeader: number, payloadLen: number, hopLimit: number): void {
    const tos = buf[ipOff + 1];
    out[at] = 0x60 | (tos >> 4);
    out[at + 1] = (tos & 0x0f) << 4;
    out[at + 2] = 0;
    out[at + 3] = 0;
    out[at + 4] = (payloadLen >> 8) & 0xff;
    out[at + 5] = payloadLen & 0xff;
    out[at + 6] = nextHeader;
    out[at + 7] = hopLimit;
    copyBytes(this.prefix, 0, out, at + 8, 12);
    copyBytes(buf, ipOff + 12, out, at + 20, 4);
    copyBytes(this.prefix, 0, out, at + 24, 12);
    copyBytes(buf, ipOff + 16, out, at + 36, 4);
  }

  private reserve(len: number): number {
    const at = this.link.reserve(len);
    if (at < 0) this.counters.txRefused++;
    return at;
  }

  private commit(len: number, toIpv4: boolean): void {
    this.link.commit(len);
    if (toIpv4) this.counters.toIpv4++;
    else this.counters.toIpv6++;
  }
}

/** ICMPv4 checksum (no pseudo-header) of `out[off..off+len)`, stored in place. */
function fillIcmpv4Checksum(out: Uint8Array, off: number, len: number): void {
  out[off + 2] = 0;
  out[off + 3] = 0;
  const checksum = finishChecksum(sumWords(out, off, len, 0));
  out[off + 2] = checksum >> 8;
  out[off + 3] = checksum & 0xff;
}

/** Sum of the IPv4 pseudo-header whose addresses are the 8 bytes at `buf[addrOff]` (RFC 768). */
function ipv4PseudoSum(buf: Uint8Array, addrOff: number, length: number, protocol: number): number {
  return sumWords(buf, addrOff, 8, 0) + protocol + length;
}

/**
 * A transport checksum moved from one pseudo-header to the other (RFC 1624 eqn. 3): length and
 * protocol sum the same in both families, so only the addresses differ — the `fromLen` address bytes
 * at `fromBuf[fromOff]` (32 for IPv6, 8 for IPv4) are replaced by the `toLen` at `toBuf[toOff]`.
 * Never returns 0 (it would mean "no checksum" in UDP).
 */
function movePseudoAddresses(checksum: number, fromBuf: Uint8Array, fromOff: number, fromLen: number,
  toBuf: Uint8Array, toOff: number, toLen: number): number {
  const removed = foldSum(sumWords(fromBuf, fromOff, fromLen, 0));
  const added = foldSum(sumWords(toBuf, toOff, toLen, 0));
  return finishChecksum((~checksum & 0xffff) + (~removed & 0xffff) + added) || 0xffff;
}

/**
 * The upper-layer header of the packet inside an ICMP error, already copied to `out[off..off+len)`
 * (often cut short): an echo gets the other family's type, a UDP checksum is moved to the new
 * pseudo-header (`fromBuf[fromOff]`: the original addresses, `toBuf[toOff]`: the translated ones) so
 * the receiver can match it to what it sent.
 */
function translateInnerUpper(out: Uint8Array, off: number, len: number, udp: boolean,
  fromBuf: Uint8Array, fromOff: number, toBuf: Uint8Array, toOff: number, toIpv4: boolean): void {
  if (udp) {
    if (len < UDP_HEADER_LEN) return;
    const checksum = (out[off + 6] << 8) | out[off + 7];
    if (checksum === 0) return;
    const moved = toIpv4
      ? movePseudoAddresses(checksum, fromBuf, fromOff, 32, toBuf, toOff, 8)
      : movePseudoAddresses(checksum, fromBuf, fromOff, 8, toBuf, toOff, 32);
    out[off + 6] = moved >> 8;
    out[off + 7] = moved & 0xff;
    return;
  }
  if (len < 1) return;
  const type = out[off];
  if (toIpv4) out[off] = type === Icmpv6Type.echoRequest ? ICMPV4_ECHO_REQUEST : type === Icmpv6Type.echoReply ? ICMPV4_ECHO_REPLY : type;
  else out[off] = type === ICMPV4_ECHO_REQUEST ? Icmpv6Type.echoRequest : type === ICMPV4_ECHO_REPLY ? Icmpv6Type.echoReply : type;
}
