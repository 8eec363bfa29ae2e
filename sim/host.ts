/**
 * The simulator's userspace IPv6 host: one object answers for a whole /64 of lamps on one link.
 *
 * Per inbound packet it validates the IPv6 header and extension-header chain, then:
 * - Echo Request to a lamp → Echo Reply from that lamp's own address (identifier, sequence and data
 *   copied), if the lamp's ping policy (`answersPing`) says so;
 * - UDP to a lamp's CoAP port (5683) → `deliverUdp` to that lamp; another port → ICMPv6 Destination
 *   Unreachable "port unreachable" from the lamp's address;
 * - an address inside the prefix with no lamp → Destination Unreachable "address unreachable" from
 *   the router address (the prefix's Subnet-Router anycast address `<prefix>::`, RFC 4291 §2.6.1,
 *   which is never a lamp), as the router in front of the lamps would;
 * - ICMPv6 Destination Unreachable to a lamp, quoting a UDP datagram that lamp sent from its CoAP
 *   port → `deliverUnreachable` to that lamp, so a lamp learns at once that its gateway is not there
 *   (the kernel answers a datagram to a closed port so); one quoting anything else is dropped;
 * - a multicast destination → the Echo Request or CoAP datagram goes to every lamp that joined the
 *   group (an Echo Reply to a multicast request comes from each lamp's unicast address, RFC 4443
 *   §4.2); multicast never triggers an error (RFC 4443 §2.4(e.3));
 * - anything else is dropped and counted by reason in `counters` (see wire/drop.ts).
 * ICMPv6 errors share one token bucket (RFC 4443 §2.4(f)) and are never sent about an ICMPv6 error,
 * a multicast destination or a source that does not name a single node (RFC 4443 §2.4(e)).
 *
 * Lamps send through `sendUdp`, which writes the datagram straight into the link's outgoing batch.
 *
 * The steady state allocates nothing: one view object per protocol is re-pointed at each packet,
 * addresses are compared and copied as bytes, the interface identifier is two 32-bit numbers, and the
 * per-member callback for multicast is bound once. What a callback needs about the packet being
 * handled is kept in fields, which is safe because a link never re-enters `handlePacket` (the memory
 * link queues packets injected while it is delivering).
 */
import { COAP_PORT } from '../protocol/lamp.js';
import type { Link } from '../ipv6/link/link.js';
import { addressEquals, isMulticast, isUnspecified } from '../ipv6/wire/address.js';
import { adjustChecksum } from '../ipv6/wire/checksum.js';
import { copyBytes, read32, write32 } from '../ipv6/wire/bytes.js';
import { Drop, DROP_REASON_SLOTS, dropReasonName, OK } from '../ipv6/wire/drop.js';
import { emitIcmpv6Header, fillIcmpv6Checksum, ICMPV6_HEADER_LEN, Icmpv6Packet, Icmpv6Type, UnreachableCode } from '../ipv6/wire/icmpv6.js';
import { emitIpv6Header, IPV6_HEADER_LEN, IPV6_MIN_MTU, Ipv6Packet, NextHeader } from '../ipv6/wire/ipv6.js';
import { ExtensionHeaderWalk } from '../ipv6/wire/ipv6ext.js';
import { emitUdpHeader, fillUdpChecksum, UDP_HEADER_LEN, UdpPacket } from '../ipv6/wire/udp.js';
import { TokenBucket } from './token-bucket.js';

/**
 * The fleet as the host sees it. Lamps are named by an index the fleet chooses; the host never
 * holds lamp objects. Every method is called on the packet path and must not allocate.
 */
export interface LampDirectory {
  /** The lamp index whose interface identifier is iidHi:iidLo (the low 64 bits of its address, as
   * two unsigned 32-bit halves), or -1 when no lamp has it. */
  lookup(iidHi: number, iidLo: number): number;
  /** Write lamp `index`'s 8-byte interface identifier at `out[off..off+8)`. */
  writeIid(index: number, out: Uint8Array, off: number): void;
  /** Whether lamp `index` answers an Echo Request now (its ping policy). */
  answersPing(index: number): boolean;
  /** A UDP datagram for lamp `index`'s CoAP port: the 16-byte source address at
   * `srcBuf[srcOff..srcOff+16)`, its port `srcPort`, the payload `buf[off..off+len)`. All bytes are
   * valid only during the call. Replies go out through `Ipv6Host.sendUdp`. */
  deliverUdp(index: number, srcBuf: Uint8Array, srcOff: number, srcPort: number,
    buf: Uint8Array, off: number, len: number): void;
  /** An ICMPv6 Destination Unreachable about a UDP datagram lamp `index` sent from its CoAP port to
   * the 16-byte address at `dstBuf[dstOff..dstOff+16)`, port `dstPort`: `buf[off..off+len)` is as
   * much of that datagram's payload as the error quotes. Valid only during the call. */
  deliverUnreachable(index: number, dstBuf: Uint8Array, dstOff: number, dstPort: number,
    buf: Uint8Array, off: number, len: number): void;
  /** Call `fn(index)` for every lamp that joined the multicast group whose 16-byte address is at
   * `groupBuf[groupOff]`. */
  forEachMember(groupBuf: Uint8Array, groupOff: number, fn: (index: number) => void): void;
}

export interface Ipv6HostOptions {
  /** The fleet's /64: the first 8 bytes of this 16-byte address (the rest is ignored). */
  prefix: Uint8Array;
  link: Link;
  directory: LampDirectory;
  /** Milliseconds on any monotonic clock, for the ICMPv6 error rate limit (default: performance.now). */
  now?: () => number;
  /** Sustained ICMPv6 error rate, per second (default 1000, as Linux's icmp_msgs_per_sec). */
  icmpErrorsPerSecond?: number;
  /** ICMPv6 errors that may leave at once after a quiet period (default 50, as Linux). */
  icmpErrorBurst?: number;
  /** Hop Limit of the packets the lamps send (default 64). */
  hopLimit?: number;
}

/** What the host did, for tests, metrics and the CLI. Plain fields, plus drops by reason. */
export class HostCounters {
  received = 0;
  echoReplies = 0;
  /** Echo Requests a lamp's ping policy left unanswered. */
  pingsIgnored = 0;
  udpDelivered = 0;
  /** Destination Unreachable errors about a lamp's datagram, handed to that lamp. */
  unreachablesDelivered = 0;
  /** Multicast packets handed to at least one member lamp, and the member handlings they caused
   * (each of those is also counted above as an echo reply, an ignored ping or a UDP delivery). With
   * them every received packet has exactly one disposition: received = drops + echoReplies +
   * pingsIgnored + udpDelivered + unreachablesDelivered + icmpErrorsSent + icmpErrorsRateLimited + txRefused (of replies)
   * - multicastCopies + multicastPackets. */
  multicastPackets = 0;
  multicastCopies = 0;
  udpSent = 0;
  icmpErrorsSent = 0;
  icmpErrorsRateLimited = 0;
  /** Outgoing packets that found no room in the link (larger than its MTU, or the link closed). */
  txRefused = 0;
  /** Inbound packets dropped, indexed by `Drop` reason. */
  readonly drops = new Float64Array(DROP_REASON_SLOTS);

  /** All counters by name (drops as `drop.<reason>`, only the non-zero ones). Allocates. */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {
      received: this.received,
      echoReplies: this.echoReplies,
      pingsIgnored: this.pingsIgnored,
      udpDelivered: this.udpDelivered,
      unreachablesDelivered: this.unreachablesDelivered,
      multicastPackets: this.multicastPackets,
      multicastCopies: this.multicastCopies,
      udpSent: this.udpSent,
      icmpErrorsSent: this.icmpErrorsSent,
      icmpErrorsRateLimited: this.icmpErrorsRateLimited,
      txRefused: this.txRefused,
    };
    for (let reason = 1; reason < DROP_REASON_SLOTS; reason++) {
      if (this.drops[reason] !== 0) out[`drop.${dropReasonName(reason)}`] = this.drops[reason];
    }
    return out;
  }
}

/** What a multicast member callback does with the packet being handled. */
const MEMBER_ECHO = 0;
const MEMBER_UDP = 1;

export class Ipv6Host {
  readonly counters = new HostCounters();
  /** Bound once: the handler to give the link. */
  readonly handlePacket = (buf: Uint8Array, off: number, len: number): void => this.handle(buf, off, len);

  private readonly link: Link;
  private readonly directory: LampDirectory;
  private readonly prefixHi: number;
  private readonly prefixLo: number;
  /** `<prefix>::`, source of "address unreachable". */
  private readonly routerAddress = new Uint8Array(16);
  private readonly hopLimit: number;
  private readonly errorTokens: TokenBucket;

  private readonly ip = new Ipv6Packet();
  private readonly chain = new ExtensionHeaderWalk();
  private readonly icmp = new Icmpv6Packet();
  private readonly udp = new UdpPacket();
  private memberAction = MEMBER_ECHO;
  private memberCount = 0;
  private readonly onMember = (index: number): void => {
    this.memberCount++;
    if (this.memberAction === MEMBER_ECHO) this.echo(index);
    else this.deliver(index);
  };

  constructor(options: Ipv6HostOptions) {
    if (options.prefix.length < 8) throw new Error(`prefix must be at least 8 bytes, got ${options.prefix.length}`);
    this.link = options.link;
    this.directory = options.directory;
    this.prefixHi = read32(options.prefix, 0);
    this.prefixLo = read32(options.prefix, 4);
    copyBytes(options.prefix, 0, this.routerAddress, 0, 8);
    this.hopLimit = options.hopLimit ?? 64;
    this.errorTokens = new TokenBucket(options.now ?? (() => performance.now()), options.icmpErrorsPerSecond ?? 1000, options.icmpErrorBurst ?? 50);
  }

  /** Begin answering packets from the link. */
  start(): void {
    this.link.start(this.handlePacket);
  }

  /** Write lamp `index`'s address (prefix + its interface identifier) at `out[off..off+16)`. */
  lampAddress(index: number, out: Uint8Array, off: number): void {
    write32(out, off, this.prefixHi);
    write32(out, off + 4, this.prefixLo);
    this.directory.writeIid(index, out, off + 8);
  }

  /**
   * Send one UDP datagram from lamp `fromIndex`'s address and port `srcPort` to the 16-byte address
   * at `dstBuf[dstOff]`, port `dstPort`, carrying `data[off..off+len)`. The bytes are copied before
   * returning. Returns false (and counts `txRefused`) when the datagram does not fit the link's MTU.
   */
  sendUdp(fromIndex: number, dstBuf: Uint8Array, dstOff: number, dstPort: number, srcPort: number,
    data: Uint8Array, off: number, len: number): boolean {
    const udpLen = UDP_HEADER_LEN + len;
    const at = this.link.reserve(IPV6_HEADER_LEN + udpLen);
    if (at < 0) {
      this.counters.txRefused++;
      return false;
    }
    const out = this.link.txBuf;
    this.lampAddress(fromIndex, out, at + 8);
    emitIpv6Header(out, at, out, at + 8, dstBuf, dstOff, NextHeader.udp, udpLen, this.hopLimit);
    const udpAt = at + IPV6_HEADER_LEN;
    emitUdpHeader(out, udpAt, srcPort, dstPort, len);
    copyBytes(data, off, out, udpAt + UDP_HEADER_LEN, len);
    fillUdpChecksum(out, udpAt, udpLen, out, at + 8, out, at + 24);
    this.link.commit(IPV6_HEADER_LEN + udpLen);
    this.counters.udpSent++;
    return true;
  }

  private handle(buf: Uint8Array, off: number, len: number): void {
    this.counters.received++;
    const ip = this.ip;
    let problem = ip.check(buf, off, len);
    if (problem !== OK) return this.drop(problem);
    const srcOff = ip.srcOff;
    const dstOff = ip.dstOff;
    if (isMulticast(buf, srcOff)) return this.drop(Drop.sourceMulticast);
    if (isUnspecified(buf, srcOff)) return this.drop(Drop.sourceUnspecified);
    if (ip.hopLimit === 0) return this.drop(Drop.hopLimitZero);
    const multicast = isMulticast(buf, dstOff);
    if (!multicast && (read32(buf, dstOff) !== this.prefixHi || read32(buf, dstOff + 4) !== this.prefixLo)) {
      return this.drop(Drop.notOurPrefix);
    }
    const end = ip.off + ip.len;
    problem = this.chain.walk(buf, ip.payloadOff, end, ip.nextHeader);
    if (problem !== OK) return this.drop(problem);
    const upperOff = this.chain.offset;
    if (this.chain.protocol === NextHeader.icmpv6) this.handleIcmp(upperOff, end - upperOff, multicast);
    else if (this.chain.protocol === NextHeader.udp) this.handleUdp(upperOff, end - upperOff, multicast);
    else this.drop(Drop.unknownNextHeader);
  }

  private handleIcmp(off: number, len: number, multicast: boolean): void {
    const ip = this.ip, icmp = this.icmp;
    const problem = icmp.check(ip.buf, off, len);
    if (problem !== OK) return this.drop(problem);
    if (!icmp.checksumValid(ip.buf, ip.srcOff, ip.buf, ip.dstOff)) return this.drop(Drop.icmpBadChecksum);
    if (icmp.type === Icmpv6Type.destinationUnreachable && !multicast) return this.handleUnreachable(off + ICMPV6_HEADER_LEN, off + len);
    if (icmp.type !== Icmpv6Type.echoRequest) return this.drop(Drop.icmpUnhandledType);
    if (multicast) return this.toMembers(MEMBER_ECHO);
    const index = this.lookupDestination();
    if (index < 0) return this.unreachable(UnreachableCode.address, -1);
    this.echo(index);
  }

  private handleUdp(off: number, len: number, multicast: boolean): void {
    const ip = this.ip, udp = this.udp;
    let problem = udp.check(ip.buf, off, len);
    if (problem !== OK) return this.drop(problem);
    problem = udp.verifyChecksum(ip.buf, ip.srcOff, ip.buf, ip.dstOff);
    if (problem !== OK) return this.drop(problem);
    if (multicast) {
      if (udp.dstPort !== COAP_PORT) return this.drop(Drop.multicastUnhandled);
      return this.toMembers(MEMBER_UDP);
    }
    const index = this.lookupDestination();
    if (index < 0) return this.unreachable(UnreachableCode.address, -1);
    if (udp.dstPort !== COAP_PORT) return this.unreachable(UnreachableCode.port, index);
    this.deliver(index);
  }

  /** The Destination Unreachable's body `[q, end)` quotes the invoking packet: it must be a UDP
   * datagram (lamps send no extension headers) from the CoAP port of the very lamp the error is
   * addressed to. */
  private handleUnreachable(q: number, end: number): void {
    const ip = this.ip, buf = ip.buf;
    const u = q + IPV6_HEADER_LEN;
    if (end < u + UDP_HEADER_LEN || buf[q] >> 4 !== 6 || buf[q + 6] !== NextHeader.udp
      || !addressEquals(buf, q + 8, buf, ip.dstOff) || ((buf[u] << 8) | buf[u + 1]) !== COAP_PORT) {
      return this.drop(Drop.icmpErrorUnmatched);
    }
    const index = this.lookupDestination();
    if (index < 0) return this.drop(Drop.icmpErrorUnmatched);
    const payloadEnd = Math.min(end, u + ((buf[u + 4] << 8) | buf[u + 5]));
    this.counters.unreachablesDelivered++;
    this.directory.deliverUnreachable(index, buf, q + 24, (buf[u + 2] << 8) | buf[u + 3], buf, u + UDP_HEADER_LEN, Math.max(0, payloadEnd - u - UDP_HEADER_LEN));
  }

  private toMembers(action: number): void {
    this.memberAction = action;
    this.memberCount = 0;
    this.directory.forEachMember(this.ip.buf, this.ip.dstOff, this.onMember);
    if (this.memberCount === 0) return this.drop(Drop.noGroupMember);
    this.counters.multicastPackets++;
    this.counters.multicastCopies += this.memberCount;
  }

  private lookupDestination(): number {
    const buf = this.ip.buf, dstOff = this.ip.dstOff;
    return this.directory.lookup(read32(buf, dstOff + 8), read32(buf, dstOff + 12));
  }

  private deliver(index: number): void {
    const ip = this.ip, udp = this.udp;
    this.counters.udpDelivered++;
    this.directory.deliverUdp(index, ip.buf, ip.srcOff, udp.srcPort, ip.buf, udp.payloadOff, udp.payloadLen);
  }

  /** Echo Reply from lamp `index` to the request's source, the request's body copied. */
  private echo(index: number): void {
    if (!this.directory.answersPing(index)) {
      this.counters.pingsIgnored++;
      return;
    }
    const ip = this.ip, icmp = this.icmp;
    const at = this.link.reserve(IPV6_HEADER_LEN + icmp.len);
    if (at < 0) {
      this.counters.txRefused++;
      return;
    }
    const out = this.link.txBuf;
    this.lampAddress(index, out, at + 8);
    emitIpv6Header(out, at, out, at + 8, ip.buf, ip.srcOff, NextHeader.icmpv6, icmp.len, this.hopLimit);
    const icmpAt = at + IPV6_HEADER_LEN;
    copyBytes(icmp.buf, icmp.off, out, icmpAt, icmp.len);
    out[icmpAt] = Icmpv6Type.echoReply;
    out[icmpAt + 1] = 0;
    if (addressEquals(out, at + 8, ip.buf, ip.dstOff)) {
      // Unicast: the pseudo-header holds the same two addresses swapped, which leaves the sum alone,
      // so only the type/code word changed and the verified request checksum can be adjusted.
      const checksum = adjustChecksum(icmp.checksum, (icmp.type << 8) | icmp.code, Icmpv6Type.echoReply << 8);
      out[icmpAt + 2] = checksum >> 8;
      out[icmpAt + 3] = checksum & 0xff;
    } else {
      out[icmpAt + 2] = 0;
      out[icmpAt + 3] = 0;
      fillIcmpv6Checksum(out, icmpAt, icmp.len, out, at + 8, out, at + 24);
    }
    this.link.commit(IPV6_HEADER_LEN + icmp.len);
    this.counters.echoReplies++;
  }

  /** Destination Unreachable with `code` about the packet in hand, from lamp `fromIndex`'s address
   * or, when it is -1, from the router address. Carries as much of the invoking packet as fits the
   * minimum MTU (RFC 4443 §3.1). */
  private unreachable(code: number, fromIndex: number): void {
    if (!this.errorTokens.take()) {
      this.counters.icmpErrorsRateLimited++;
      return;
    }
    const ip = this.ip;
    const quoted = Math.min(ip.len, IPV6_MIN_MTU - IPV6_HEADER_LEN - ICMPV6_HEADER_LEN);
    const icmpLen = ICMPV6_HEADER_LEN + quoted;
    const at = this.link.reserve(IPV6_HEADER_LEN + icmpLen);
    if (at < 0) {
      this.counters.txRefused++;
      return;
    }
    const out = this.link.txBuf;
    if (fromIndex < 0) copyBytes(this.routerAddress, 0, out, at + 8, 16);
    else this.lampAddress(fromIndex, out, at + 8);
    emitIpv6Header(out, at, out, at + 8, ip.buf, ip.srcOff, NextHeader.icmpv6, icmpLen, this.hopLimit);
    const icmpAt = at + IPV6_HEADER_LEN;
    emitIcmpv6Header(out, icmpAt, Icmpv6Type.destinationUnreachable, code, 0);
    copyBytes(ip.buf, ip.off, out, icmpAt + ICMPV6_HEADER_LEN, quoted);
    fillIcmpv6Checksum(out, icmpAt, icmpLen, out, at + 8, out, at + 24);
    this.link.commit(IPV6_HEADER_LEN + icmpLen);
    this.counters.icmpErrorsSent++;
  }

  private drop(reason: number): void {
    this.counters.drops[reason]++;
  }
}
