/**
 * What a fleet sent, checked packet by packet: every packet is an IPv6 packet from inside the
 * prefix to a unicast address with a valid checksum, and is an Echo Reply or Destination
 * Unreachable answering the packet being injected, or a lamp's well-formed CoAP message.
 */
import { ACK, coapReader, readCoap, type CoapReader } from '../../protocol/coap.js';
import { COAP_PORT } from '../../protocol/lamp.js';
import { addressEquals, inPrefix, isMulticast, isUnspecified } from '../../ipv6/wire/address.js';
import { pseudoHeaderSum, sumVerifies, sumWords } from '../../ipv6/wire/checksum.js';
import { OK } from '../../ipv6/wire/drop.js';
import { Icmpv6Type } from '../../ipv6/wire/icmpv6.js';
import { IPV6_HEADER_LEN, Ipv6Packet, NextHeader } from '../../ipv6/wire/ipv6.js';
import { UdpPacket } from '../../ipv6/wire/udp.js';

export function hex(buf: Uint8Array, off: number, len: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + off, len).toString('hex');
}

/** Answers a lamp's recent CoAP message can be built from: who it went to, its id and token. */
class RecentMessages {
  static readonly SIZE = 32;
  readonly lamp = new Uint8Array(RecentMessages.SIZE * 16);
  readonly peer = new Uint8Array(RecentMessages.SIZE * 16);
  readonly token = new Uint8Array(RecentMessages.SIZE * 8);
  readonly tokenLen = new Uint8Array(RecentMessages.SIZE);
  readonly peerPort = new Uint16Array(RecentMessages.SIZE);
  readonly mid = new Uint16Array(RecentMessages.SIZE);
  count = 0;
  private next = 0;

  remember(buf: Uint8Array, ip: Ipv6Packet, udp: UdpPacket, reader: CoapReader): void {
    const i = this.next;
    this.next = (i + 1) % RecentMessages.SIZE;
    if (this.count < RecentMessages.SIZE) this.count++;
    this.lamp.set(buf.subarray(ip.srcOff, ip.srcOff + 16), i * 16);
    this.peer.set(buf.subarray(ip.dstOff, ip.dstOff + 16), i * 16);
    this.peerPort[i] = udp.dstPort;
    this.mid[i] = reader.mid;
    this.tokenLen[i] = reader.tokenLen;
    this.token.set(buf.subarray(reader.tokenOff, reader.tokenOff + reader.tokenLen), i * 8);
  }
}

/** What a fleet sent, checked packet by packet (see the file header). */
export class OutputCheck {
  echoReplies = 0;
  unreachables = 0;
  lampDatagrams = 0;
  /** Lamps' CoAP messages by code: how deep into the lamps the hostile requests got. */
  readonly coapCodes = new Float64Array(256);
  /** The first malformed packet sent, described, or null. */
  violation: string | null = null;
  /** The unicast confirmable CoAP message being injected (its message id, or -1 for none), whose
   * sender must get an ACK or RST with that id (RFC 7252 §4.2), and whether it did. */
  expectMid = -1;
  expectPort = 0;
  readonly expectPeer = new Uint8Array(16);
  acknowledged = false;
  /** Confirmable messages delivered to a live lamp and answered with an ACK or RST. */
  confirmablesAnswered = 0;
  readonly recent = new RecentMessages();
  private readonly ip = new Ipv6Packet();
  private readonly udp = new UdpPacket();
  private readonly reader = coapReader();

  constructor(private readonly prefix: Uint8Array) {}

  get total(): number {
    return this.echoReplies + this.unreachables + this.lampDatagrams;
  }

  readonly onPacket = (buf: Uint8Array, off: number, len: number): void => {
    const problem = this.problem(buf, off, len);
    if (problem !== null && this.violation === null) this.violation = `${problem}: ${hex(buf, off, len)}`;
  };

  private problem(buf: Uint8Array, off: number, len: number): string | null {
    const ip = this.ip;
    if (ip.check(buf, off, len) !== OK || ip.len !== len) return 'sent a packet whose IPv6 header does not match its length';
    if (!inPrefix(buf, ip.srcOff, this.prefix, 64)) return 'sent a packet from outside the prefix';
    if (isMulticast(buf, ip.dstOff) || isUnspecified(buf, ip.dstOff)) return 'sent a packet to a multicast or unspecified address';
    const upperOff = ip.payloadOff;
    const upperLen = len - IPV6_HEADER_LEN;
    const sum = sumWords(buf, upperOff, upperLen, pseudoHeaderSum(buf, ip.srcOff, buf, ip.dstOff, upperLen, ip.nextHeader));
    if (!sumVerifies(sum)) return 'sent a packet with a bad checksum';
    if (ip.nextHeader === NextHeader.icmpv6) {
      const type = buf[upperOff], code = buf[upperOff + 1];
      if (type === Icmpv6Type.echoReply && code === 0) this.echoReplies++;
      else if (type === Icmpv6Type.destinationUnreachable && (code === 3 || code === 4)) this.unreachables++;
      else return `sent ICMPv6 type ${type} code ${code}`;
      return this.answersRequest(buf, ip, upperOff, upperLen, type);
    }
    if (ip.nextHeader !== NextHeader.udp) return `sent next header ${ip.nextHeader}`;
    const udp = this.udp;
    if (udp.check(buf, upperOff, upperLen) !== OK || udp.srcPort !== COAP_PORT) return 'sent a UDP datagram with a bad length or source port';
    if (!readCoap(this.reader, buf, udp.payloadOff, udp.payloadLen)) return `a lamp sent malformed CoAP (${this.reader.error})`;
    this.lampMessage(this.reader, buf, ip.dstOff, udp.dstPort);
    this.recent.remember(buf, ip, udp, this.reader);
    return null;
  }

  /** An Echo Reply or Destination Unreachable is about the packet being injected: it goes back to
   * its source; a reply carries the request's identifier, sequence and data; an error quotes the
   * packet from its first byte, as much as fits 1280 bytes (RFC 4443 §3.1, §4.2). */
  private answersRequest(buf: Uint8Array, ip: Ipv6Packet, upperOff: number, upperLen: number, type: number): string | null {
    const request = this.request;
    if (request === null) return 'sent ICMPv6 while no packet was being handled';
    if (!addressEquals(buf, ip.dstOff, request, this.requestOff + 8)) return 'sent ICMPv6 to an address other than the source of the packet it answers';
    if (type === Icmpv6Type.echoReply) {
      const body = this.requestIcmpLen - 4;
      if (this.requestIcmpOff < 0 || upperLen !== this.requestIcmpLen) return 'sent an Echo Reply whose length differs from the request';
      for (let i = 0; i < body; i++) {
        if (buf[upperOff + 4 + i] !== request[this.requestIcmpOff + 4 + i]) return `Echo Reply differs from the request at byte ${4 + i} of the message`;
      }
      return null;
    }
    const quoted = upperLen - 8;
    if (IPV6_HEADER_LEN + upperLen > 1280 || quoted !== Math.min(this.requestLen, 1280 - 48)) return `Destination Unreachable quotes ${quoted} bytes of a ${this.requestLen}-byte packet`;
    for (let i = 0; i < quoted; i++) {
      if (buf[upperOff + 8 + i] !== request[this.requestOff + i]) return `Destination Unreachable misquotes the packet at byte ${i}`;
    }
    return null;
  }

  /** The packet being injected (its IPv6 length without trailing bytes, and where its ICMPv6
   * message is, -1 if it has none), for `answersRequest`; null between packets. */
  request: Uint8Array | null = null;
  requestOff = 0;
  requestLen = 0;
  requestIcmpOff = -1;
  requestIcmpLen = 0;

  /** A well-formed CoAP message a lamp sent to the address at `dstBuf[dstOff]`, port `dstPort`
   * (through the link's listeners, or to the gateway's endpoint). */
  lampMessage(reader: CoapReader, dstBuf: Uint8Array, dstOff: number, dstPort: number): void {
    this.lampDatagrams++;
    this.coapCodes[reader.code]++;
    if (reader.type >= ACK && reader.mid === this.expectMid && dstPort === this.expectPort &&
      addressEquals(dstBuf, dstOff, this.expectPeer, 0)) this.acknowledged = true;
  }

  /** Records the first problem of a message that reached the gateway's endpoint. */
  gatewayProblem(problem: string, data: Uint8Array): void {
    this.violation ??= `${problem}: ${hex(data, 0, data.length)}`;
  }
}
