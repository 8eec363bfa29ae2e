/**
 * Hostile IPv6 packets, one at a time in one reusable buffer: random bytes; valid Echo Requests,
 * UDP datagrams and CoAP requests (from outsiders, from the gateway's trusted address, from lamps,
 * to lamps, to street groups, to the gateway and the router address), behind extension-header
 * chains up to 64 long; answers to what the lamps sent; then left intact or damaged: bit flips,
 * byte sets, inserts, deletes, splices with earlier packets, truncation, trailing bytes, bad
 * checksums, bad Payload Length and UDP Length.
 */
import { ACK, BAD_REQUEST, CHANGED, CON, CONTENT, CREATED, EMPTY, INTERNAL_SERVER_ERROR, NON, NOT_FOUND, RST } from '../../protocol/coap.js';
import { COAP_PORT } from '../../protocol/lamp.js';
import { parseIpv6 } from '../../ipv6/wire/address.js';
import { OK } from '../../ipv6/wire/drop.js';
import { fillIcmpv6Checksum, Icmpv6Type } from '../../ipv6/wire/icmpv6.js';
import { IPV6_HEADER_LEN, Ipv6Packet, NextHeader } from '../../ipv6/wire/ipv6.js';
import { ExtensionHeaderWalk } from '../../ipv6/wire/ipv6ext.js';
import { fillUdpChecksum, UDP_HEADER_LEN, UdpPacket } from '../../ipv6/wire/udp.js';
import type { Prng } from '../../sim/random.js';
import { skewedLength, writeHostileCoap } from './hostile-coap.js';
import type { FuzzTarget } from './target.js';

/** The largest IPv6 packet (Payload Length 65535). Larger than the link MTU on purpose: replies to
 * such packets cannot be sent, which the host must count (txRefused), not throw on. */
const MAX_PACKET = IPV6_HEADER_LEN + 0xffff;

const UPPER_ECHO = 0;
const UPPER_ICMP_OTHER = 1;
const UPPER_COAP = 2;
const UPPER_UDP_OTHER_PORT = 3;
const UPPER_UNKNOWN = 4;

const ICMP_OTHER_TYPES = [1, 2, 3, 4, 100, 127, 129, 130, 131, 132, 133, 134, 135, 136, 137, 143, 200, 255];
const UNKNOWN_PROTOCOLS = [6, 50, 51, 135, 139, 140, 253, 254, 255, 41, 4];
const UDP_PORTS = [7, 53, 5684, 1, 65535, 0];
const HOP_BY_HOP_OPTION_TYPES = [0x05, 0x1e, 0x3f, 0x40, 0x7f, 0x80, 0xbf, 0xc2, 0xff, 0x26, 0x6d];

/** Makes the packets (see the file header) in one reusable buffer. */
export class PacketGenerator {
  readonly buf = new Uint8Array(MAX_PACKET + 256);
  /** Where the CoAP message of the last packet was written and how long it was (0: none); damage
   * to the packet may have changed those bytes since, which the codec check takes as they are. */
  coapOff = 0;
  coapLen = 0;
  private readonly corpus: Uint8Array[] = [];
  private corpusNext = 0;
  private readonly walk = new ExtensionHeaderWalk();
  private readonly ip = new Ipv6Packet();
  readonly udp = new UdpPacket();
  private readonly peerPool: Uint8Array;
  private readonly sparseIids: Uint8Array;

  constructor(private readonly rng: Prng) {
    // Outsiders: a few thousand addresses, so the fleet's peer table (4096) sometimes starts anew.
    this.peerPool = new Uint8Array(6000 * 16);
    for (let i = 0; i < 6000; i++) {
      this.peerPool.set(parseIpv6('2001:db8:1::')!, i * 16);
      this.peerPool[i * 16 + 14] = i >> 8;
      this.peerPool[i * 16 + 15] = i & 255;
    }
    this.sparseIids = new Uint8Array(5000 * 8);
    rng.fill(this.sparseIids, 0, this.sparseIids.length);
  }

  /** Writes the next packet for `target` into `buf`; returns its length. */
  next(target: FuzzTarget): number {
    const rng = this.rng;
    this.coapLen = 0;
    const r = rng.below(1000);
    let len: number;
    if (r < 30) len = this.randomBytes();
    else if (r < 50 && this.corpus.length > 0) {
      // A packet seen before, again: retransmissions and duplicates (CoAP dedup).
      const old = rng.pick(this.corpus);
      this.buf.set(old);
      len = old.length;
    } else if (r < 110 && target.output.recent.count > 0) len = this.answer(target);
    else len = this.structured(target);
    if (r >= 50) len = this.damage(len);
    if (rng.chance(1 / 16)) this.keep(len);
    return len;
  }

  private keep(len: number): void {
    if (len > 2048) return;
    const copy = this.buf.slice(0, len);
    if (this.corpus.length < 64) this.corpus.push(copy);
    else this.corpus[this.corpusNext++ % 64] = copy;
  }

  private randomBytes(): number {
    const rng = this.rng, b = this.buf;
    const len = skewedLength(rng, 80, 400, 1500);
    rng.fill(b, 0, len);
    if (len > 0 && rng.chance(0.7)) b[0] = 0x60 | (b[0] & 15);
    if (len > 6 && rng.chance(0.5)) {
      const payload = Math.max(0, len - IPV6_HEADER_LEN);
      b[4] = payload >> 8;
      b[5] = payload & 255;
    }
    return len;
  }

  private source(target: FuzzTarget, out: Uint8Array, off: number): void {
    const rng = this.rng;
    const r = rng.below(100);
    if (r < 45) {
      const at = rng.below(6000) * 16;
      out.set(this.peerPool.subarray(at, at + 16), off);
    } else if (r < 70) out.set(target.gateway, off);
    else if (r < 76) this.lampAddress(target, out, off);
    else if (r < 80) out.set(parseIpv6('::ffff:192.0.2.1')!, off), (out[off + 15] = rng.u32() & 255);
    else if (r < 84) out.set(parseIpv6('fe80::1')!, off), rng.fill(out, off + 8, 8);
    else if (r < 88) out.set(rng.pick(target.groups), off);
    else if (r < 91) out.fill(0, off, off + 16);
    else if (r < 94) out.set(target.prefix.subarray(0, 8), off), out.fill(0, off + 8, off + 16);
    else rng.fill(out, off, 16);
  }

  private lampAddress(target: FuzzTarget, out: Uint8Array, off: number): void {
    const rng = this.rng;
    out.set(target.prefix.subarray(0, 8), off);
    if (target.fleet.sparse) {
      // Mostly lamps touched before; now and then a new one (each costs the fleet a lamp).
      const at = rng.below(5000) * 8;
      if (rng.chance(0.995)) out.set(this.sparseIids.subarray(at, at + 8), off + 8);
      else rng.fill(out, off + 8, 8);
      return;
    }
    const n = rng.chance(0.97) ? 1 + rng.below(target.fleet.size) : rng.pick([0, target.fleet.size + 1, 0xffff, 0x10000, rng.u32()]);
    out.fill(0, off + 8, off + 12);
    out[off + 12] = n >>> 24;
    out[off + 13] = (n >>> 16) & 255;
    out[off + 14] = (n >>> 8) & 255;
    out[off + 15] = n & 255;
  }

  private destination(target: FuzzTarget, out: Uint8Array, off: number): void {
    const rng = this.rng;
    const r = rng.below(100);
    if (r < 82) this.lampAddress(target, out, off);
    else if (r < 86) out.set(rng.pick(target.groups), off);
    else if (r < 90) out.set(target.gateway, off);
    else if (r < 93) out.set(target.prefix.subarray(0, 8), off), out.fill(0, off + 8, off + 16);
    else if (r < 97) out.set(parseIpv6('2001:db8:ffff::1')!, off);
    else rng.fill(out, off, 16);
  }

  /** A well-formed packet (an extension chain, then Echo, other ICMPv6, CoAP, other UDP or an
   * unknown protocol), checksums right. */
  private structured(target: FuzzTarget): number {
    const rng = this.rng, b = this.buf;
    b[0] = 0x60 | (rng.chance(0.1) ? rng.below(16) : 0);
    if (rng.chance(0.1)) rng.fill(b, 1, 3);
    else b.fill(0, 1, 4);
    b[7] = rng.chance(0.9) ? 64 : rng.pick([0, 1, 255]);
    this.source(target, b, 8);
    this.destination(target, b, 24);
    let nextHeaderAt = 6;
    let off = IPV6_HEADER_LEN;
    const chain = rng.chance(0.8) ? 0 : rng.chance(0.8) ? 1 + rng.below(3) : rng.below(65);
    for (let i = 0; i < chain && off < 16384; i++) {
      const type = i === 0 && rng.chance(0.4) ? NextHeader.hopByHop
        : rng.pick([NextHeader.destinationOptions, NextHeader.destinationOptions, NextHeader.routing, NextHeader.routing,
          NextHeader.fragment, NextHeader.hopByHop, NextHeader.noNextHeader]);
      b[nextHeaderAt] = type;
      nextHeaderAt = off;
      off = this.extensionHeader(type, off);
    }
    const r = rng.below(100);
    const upper = r < 35 ? UPPER_ECHO : r < 42 ? UPPER_ICMP_OTHER : r < 85 ? UPPER_COAP : r < 95 ? UPPER_UDP_OTHER_PORT : UPPER_UNKNOWN;
    const protocol = upper <= UPPER_ICMP_OTHER ? NextHeader.icmpv6 : upper === UPPER_UNKNOWN ? rng.pick(UNKNOWN_PROTOCOLS) : NextHeader.udp;
    b[nextHeaderAt] = protocol;
    const upperOff = off;
    const room = MAX_PACKET - off;
    if (upper === UPPER_ECHO || upper === UPPER_ICMP_OTHER) {
      b[off] = upper === UPPER_ECHO ? Icmpv6Type.echoRequest : rng.pick(ICMP_OTHER_TYPES);
      b[off + 1] = rng.chance(0.95) ? 0 : rng.u32() & 255;
      rng.fill(b, off + 4, 4);
      const data = Math.min(skewedLength(rng, 64, 1400, 65000), room - 8);
      rng.fill(b, off + 8, data);
      off += 8 + data;
    } else if (upper === UPPER_UNKNOWN) {
      const data = Math.min(skewedLength(rng, 40, 1000, 2000), room);
      rng.fill(b, off, data);
      off += data;
    } else {
      const srcPort = rng.chance(0.8) ? rng.pick([COAP_PORT, 40000, 40001, 61616]) : rng.u32() & 0xffff;
      const dstPort = upper === UPPER_COAP ? COAP_PORT : rng.pick(UDP_PORTS);
      b[off] = srcPort >> 8;
      b[off + 1] = srcPort & 255;
      b[off + 2] = dstPort >> 8;
      b[off + 3] = dstPort & 255;
      let data: number;
      if (upper === UPPER_COAP) {
        this.coapOff = off + UDP_HEADER_LEN;
        data = writeHostileCoap(rng, b, this.coapOff, Math.max(64, room - UDP_HEADER_LEN));
        this.coapLen = data;
      } else {
        data = Math.min(skewedLength(rng, 40, 1000, 4000), room - UDP_HEADER_LEN);
        rng.fill(b, off + UDP_HEADER_LEN, data);
      }
      off += UDP_HEADER_LEN + data;
    }
    this.finish(upperOff, off, protocol);
    if (protocol !== NextHeader.udp && protocol !== NextHeader.icmpv6 || !rng.chance(0.02)) return off;
    // Make the checksum come out as zero, which is sent as 0xffff (UDP must, ICMPv6 may use either
    // form): one's-complement add the checksum to a covered word (the ICMPv6 identifier or the UDP
    // source port), so the sum of everything else becomes all ones.
    const word = upperOff + (protocol === NextHeader.udp ? 0 : 4);
    const at = upperOff + (protocol === NextHeader.udp ? 6 : 2);
    let v = ((b[word] << 8) | b[word + 1]) + ((b[at] << 8) | b[at + 1]);
    v = (v & 0xffff) + (v >>> 16);
    b[word] = v >> 8;
    b[word + 1] = v & 255;
    const zero = protocol === NextHeader.udp || rng.chance(0.5) ? 0xffff : 0;
    b[at] = zero >> 8;
    b[at + 1] = zero & 255;
    return off;
  }

  /** Payload Length, UDP Length and the checksum for a packet whose upper layer is at
   * buf[upperOff..end). */
  private finish(upperOff: number, end: number, protocol: number): number {
    const b = this.buf;
    const payload = end - IPV6_HEADER_LEN;
    b[4] = payload >> 8;
    b[5] = payload & 255;
    const len = end - upperOff;
    if (protocol === NextHeader.udp) {
      b[upperOff + 4] = len >> 8;
      b[upperOff + 5] = len & 255;
    }
    this.fillChecksum(upperOff, end, protocol);
    return end;
  }

  /** Writes an extension header of `type` at `off` (its Next Header byte left for the caller);
   * returns the offset after it. */
  private extensionHeader(type: number, off: number): number {
    const rng = this.rng, b = this.buf;
    let size: number;
    if (type === NextHeader.fragment) {
      size = 8;
      b[off + 1] = 0;
      rng.fill(b, off + 2, 6);
      if (rng.chance(0.5)) { b[off + 2] = 0; b[off + 3] = rng.below(2); }
    } else if (type === NextHeader.noNextHeader) {
      size = 0;
    } else {
      const units = rng.chance(0.9) ? rng.below(3) : rng.below(256);
      size = (units + 1) * 8;
      b[off + 1] = units;
      if (type === NextHeader.routing) {
        b[off + 2] = rng.pick([0, 2, 3, 4, rng.u32() & 255]);
        b[off + 3] = rng.chance(0.7) ? 0 : 1 + rng.below(255);
        rng.fill(b, off + 4, size - 4);
      } else this.options(off + 2, off + size);
    }
    return off + size;
  }

  /** Fills b[off..end) with Hop-by-Hop / Destination options: padding, options to skip, options
   * that must not be skipped, and sometimes an option that runs past the header. */
  private options(off: number, end: number): void {
    const rng = this.rng, b = this.buf;
    while (off < end) {
      const left = end - off;
      if (left === 1 || rng.chance(0.2)) { b[off++] = 0; continue; }
      const len = rng.chance(0.95) ? Math.min(rng.below(6), left - 2) : rng.u32() & 255;
      b[off] = rng.chance(0.6) ? 1 : rng.pick(HOP_BY_HOP_OPTION_TYPES);
      b[off + 1] = len;
      const fill = Math.min(len, left - 2);
      rng.fill(b, off + 2, fill);
      off += 2 + fill;
    }
  }

  /** An answer to a message a lamp sent recently (registration, response, notification): from the
   * address it went to, with its message id or token, as ACK, RST, CON or NON, any code. */
  private answer(target: FuzzTarget): number {
    const rng = this.rng, b = this.buf, recent = target.output.recent;
    const i = rng.below(recent.count);
    b[0] = 0x60; b[1] = 0; b[2] = 0; b[3] = 0;
    b[6] = NextHeader.udp;
    b[7] = 64;
    b.set(recent.peer.subarray(i * 16, i * 16 + 16), 8);
    b.set(recent.lamp.subarray(i * 16, i * 16 + 16), 24);
    const u = IPV6_HEADER_LEN;
    const peerPort = recent.peerPort[i];
    b[u] = peerPort >> 8; b[u + 1] = peerPort & 255; b[u + 2] = COAP_PORT >> 8; b[u + 3] = COAP_PORT & 255;
    let pos = u + UDP_HEADER_LEN;
    const type = rng.pick([ACK, ACK, ACK, RST, CON, NON]);
    const piggybacked = type === ACK || type === RST;
    const tkl = piggybacked && rng.chance(0.5) ? 0 : recent.tokenLen[i];
    b[pos] = 0x40 | (type << 4) | tkl;
    b[pos + 1] = type === RST ? EMPTY : rng.pick([EMPTY, CREATED, CHANGED, CHANGED, NOT_FOUND, BAD_REQUEST, INTERNAL_SERVER_ERROR, CONTENT]);
    const mid = piggybacked ? recent.mid[i] : rng.u32() & 0xffff;
    b[pos + 2] = mid >> 8;
    b[pos + 3] = mid & 255;
    b.set(recent.token.subarray(i * 8, i * 8 + tkl), pos + 4);
    this.coapOff = pos;
    pos += 4 + tkl;
    if (b[this.coapOff + 1] !== EMPTY && rng.chance(0.3)) {
      b[pos++] = 0x82; b[pos++] = 0x72; b[pos++] = 0x64; // Location-Path "rd"
      b[pos++] = 0x02; b[pos++] = 0x34; b[pos++] = 0x32; // Location-Path "42"
    }
    this.coapLen = pos - this.coapOff;
    return this.finish(u, pos, NextHeader.udp);
  }

  /** Leaves the packet as it is, or damages it (see the file header). */
  private damage(len: number): number {
    const rng = this.rng, b = this.buf;
    const r = rng.below(100);
    if (r < 45) return len;
    if (r < 55) return rng.below(len);
    if (r < 60) {
      const extra = 1 + rng.below(64);
      rng.fill(b, len, extra);
      return len + extra;
    }
    if (r < 65) {
      // Payload Length off by a little or anything.
      const v = rng.chance(0.5) ? Math.max(0, ((b[4] << 8) | b[5]) + rng.below(17) - 8) : rng.u32() & 0xffff;
      b[4] = v >> 8;
      b[5] = v & 255;
      return len;
    }
    if (r < 72 && len > IPV6_HEADER_LEN + 8) {
      // A checksum or UDP Length byte (wherever the upper layer is, the last two bytes of its
      // first 8 are one or the other).
      const at = this.upperOffset(len);
      if (at >= 0 && at + 8 <= len) b[at + rng.pick([2, 3, 4, 5, 6, 7])] ^= 1 << rng.below(8);
      return len;
    }
    let n = len;
    const ops = 1 + rng.below(rng.chance(0.8) ? 4 : 32);
    for (let k = 0; k < ops; k++) n = this.mutate(n);
    // Mostly repair the checksum, so the damage reaches the layers behind it.
    if (rng.chance(0.75)) this.repairChecksum(n);
    return n;
  }

  private mutate(len: number): number {
    const rng = this.rng, b = this.buf;
    const op = rng.below(6);
    const at = len === 0 ? 0 : rng.below(len);
    if (op === 0 && len > 0) b[at] ^= 1 << rng.below(8);
    else if (op === 1 && len > 0) b[at] = rng.pick([0, 1, 0x7f, 0x80, 0xff, 13, 14, 15, 0x0d, 0xe0, 0xff, rng.u32() & 255]);
    else if (op === 2 && len < MAX_PACKET) {
      const count = Math.min(1 + rng.below(16), MAX_PACKET - len);
      b.copyWithin(at + count, at, len);
      rng.fill(b, at, count);
      return len + count;
    } else if (op === 3 && len > 0) {
      const count = Math.min(1 + rng.below(16), len - at);
      b.copyWithin(at, at + count, len);
      return len - count;
    } else if (op === 4 && this.corpus.length > 0) {
      const other = rng.pick(this.corpus);
      const from = rng.below(other.length + 1);
      const count = Math.min(other.length - from, MAX_PACKET - at);
      b.set(other.subarray(from, from + count), at);
      return at + count;
    } else if (op === 5 && len >= 8) {
      // A 16-bit field set to an edge value.
      const v = rng.pick([0, 1, 0xffff, 0x7fff, 0x8000, len, len - 40, len - 48]);
      b[at - (at & 1)] = (v >> 8) & 255;
      b[at - (at & 1) + 1] = v & 255;
    }
    return len;
  }

  /** The message id of the packet in buf[0..len) if it is a UDP datagram to the CoAP port carrying
   * a confirmable CoAP message (version 1, a whole header), else -1; `udp` then points at it. */
  confirmableMid(len: number): number {
    const at = this.upperOffset(len);
    if (at < 0 || this.walk.protocol !== NextHeader.udp) return -1;
    const udp = this.udp, b = this.buf;
    if (udp.check(b, at, this.ip.len - at) !== OK || udp.dstPort !== COAP_PORT || udp.payloadLen < 4) return -1;
    const p = udp.payloadOff;
    return b[p] >> 6 === 1 && ((b[p] >> 4) & 3) === CON ? (b[p + 2] << 8) | b[p + 3] : -1;
  }

  /** Length of the ICMPv6 message `icmpOffset` found last. */
  icmpLen = 0;

  /** The offset of the ICMPv6 message in buf[0..len) (its length in `icmpLen`), or -1. */
  icmpOffset(len: number): number {
    const at = this.upperOffset(len);
    if (at < 0 || this.walk.protocol !== NextHeader.icmpv6) return -1;
    this.icmpLen = this.ip.len - at;
    return at;
  }

  /** Where the upper layer of buf[0..len) starts, or -1 when the header or chain is broken. */
  private upperOffset(len: number): number {
    const ip = this.ip;
    if (ip.check(this.buf, 0, len) !== OK) return -1;
    if (this.walk.walk(this.buf, ip.payloadOff, ip.len, ip.nextHeader) !== OK) return -1;
    return this.walk.offset;
  }

  private repairChecksum(len: number): void {
    const at = this.upperOffset(len);
    if (at >= 0) this.fillChecksum(at, this.ip.len, this.walk.protocol);
  }

  /** The ICMPv6 or UDP checksum of the upper layer at buf[upperOff..end), as the lengths say. */
  private fillChecksum(upperOff: number, end: number, protocol: number): void {
    const b = this.buf;
    const len = end - upperOff;
    if (protocol === NextHeader.icmpv6 && len >= 8) {
      b[upperOff + 2] = 0;
      b[upperOff + 3] = 0;
      fillIcmpv6Checksum(b, upperOff, len, b, 8, b, 24);
    } else if (protocol === NextHeader.udp && len >= 8) {
      b[upperOff + 6] = 0;
      b[upperOff + 7] = 0;
      fillUdpChecksum(b, upperOff, len, b, 8, b, 24);
    }
  }
}
