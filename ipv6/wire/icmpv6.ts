/**
 * ICMPv6 (RFC 4443): the messages a lamp and its router exchange — Echo Request/Reply and the
 * Destination Unreachable error — in two levels (smoltcp style):
 * - `Icmpv6Packet`, a reusable checked view over one message (`check` once, then accessors);
 * - `Icmpv6Repr`, the message as fields, with `parse` (validating the checksum) and `emit` into a
 *   caller's buffer.
 * The checksum covers the IPv6 pseudo-header, so verification and emission take the addresses.
 */
import { finishChecksum, pseudoHeaderSum, sumVerifies, sumWords } from './checksum.js';
import { Drop, OK } from './drop.js';
import { NextHeader } from './ipv6.js';

export const Icmpv6Type = {
  destinationUnreachable: 1,
  packetTooBig: 2,
  timeExceeded: 3,
  parameterProblem: 4,
  echoRequest: 128,
  echoReply: 129,
  redirect: 137,
} as const;

/** Destination Unreachable codes (RFC 4443 §3.1). */
export const UnreachableCode = {
  noRoute: 0,
  administrativelyProhibited: 1,
  beyondScope: 2,
  address: 3,
  port: 4,
} as const;

/** Type, code, checksum and the 4-byte field after them (identifier+sequence, or unused/MTU/pointer). */
export const ICMPV6_HEADER_LEN = 8;

export class Icmpv6Packet {
  buf: Uint8Array = new Uint8Array(0);
  off = 0;
  len = 0;

  /** Point the view at the message `buf[off..off+len)`; every message the host reads carries the
   * 8-byte header, so shorter ones are `icmpTruncated`. */
  check(buf: Uint8Array, off: number, len: number): number {
    if (len < ICMPV6_HEADER_LEN || off < 0 || off + len > buf.length) return Drop.icmpTruncated;
    this.buf = buf;
    this.off = off;
    this.len = len;
    return OK;
  }

  get type(): number { return this.buf[this.off]; }
  get code(): number { return this.buf[this.off + 1]; }
  get checksum(): number { return (this.buf[this.off + 2] << 8) | this.buf[this.off + 3]; }
  /** Echo identifier (Echo Request/Reply). */
  get identifier(): number { return (this.buf[this.off + 4] << 8) | this.buf[this.off + 5]; }
  /** Echo sequence number (Echo Request/Reply). */
  get sequence(): number { return (this.buf[this.off + 6] << 8) | this.buf[this.off + 7]; }
  /** Offset of the message body: echo data, or the invoking packet of an error. */
  get bodyOff(): number { return this.off + ICMPV6_HEADER_LEN; }
  get bodyLen(): number { return this.len - ICMPV6_HEADER_LEN; }

  /** Whether the checksum verifies for a message sent from the address at `srcBuf[srcOff]` to the
   * one at `dstBuf[dstOff]`. */
  checksumValid(srcBuf: Uint8Array, srcOff: number, dstBuf: Uint8Array, dstOff: number): boolean {
    const sum = pseudoHeaderSum(srcBuf, srcOff, dstBuf, dstOff, this.len, NextHeader.icmpv6);
    return sumVerifies(sumWords(this.buf, this.off, this.len, sum));
  }
}

/** Write the 8-byte header at `out[off]` with checksum 0; `rest` is the 32-bit field after the
 * checksum (identifier<<16|sequence for echo, 0 for Destination Unreachable). */
export function emitIcmpv6Header(out: Uint8Array, off: number, type: number, code: number, rest: number): void {
  out[off] = type;
  out[off + 1] = code;
  out[off + 2] = 0;
  out[off + 3] = 0;
  out[off + 4] = (rest >>> 24) & 0xff;
  out[off + 5] = (rest >>> 16) & 0xff;
  out[off + 6] = (rest >>> 8) & 0xff;
  out[off + 7] = rest & 0xff;
}

/** Compute and store the checksum of the complete message `out[off..off+len)` (its checksum field
 * must be 0) sent between the given addresses. */
export function fillIcmpv6Checksum(
  out: Uint8Array, off: number, len: number,
  srcBuf: Uint8Array, srcOff: number, dstBuf: Uint8Array, dstOff: number,
): void {
  const sum = sumWords(out, off, len, pseudoHeaderSum(srcBuf, srcOff, dstBuf, dstOff, len, NextHeader.icmpv6));
  const checksum = finishChecksum(sum);
  out[off + 2] = checksum >> 8;
  out[off + 3] = checksum & 0xff;
}

/** One ICMPv6 message as fields. `rest` is the 32-bit field after the checksum; `body` the bytes
 * after the 8-byte header. */
export class Icmpv6Repr {
  type = 0;
  code = 0;
  rest = 0;
  body: Uint8Array = new Uint8Array(0);

  get identifier(): number { return this.rest >>> 16; }
  get sequence(): number { return this.rest & 0xffff; }

  /** Read a checked view whose checksum verifies between the addresses; returns OK or
   * `icmpBadChecksum`. */
  parse(packet: Icmpv6Packet, srcBuf: Uint8Array, srcOff: number, dstBuf: Uint8Array, dstOff: number): number {
    if (!packet.checksumValid(srcBuf, srcOff, dstBuf, dstOff)) return Drop.icmpBadChecksum;
    const b = packet.buf, o = packet.off;
    this.type = packet.type;
    this.code = packet.code;
    this.rest = ((b[o + 4] << 24) | (b[o + 5] << 16) | (b[o + 6] << 8) | b[o + 7]) >>> 0;
    this.body = b.slice(packet.bodyOff, packet.off + packet.len);
    return OK;
  }

  get length(): number { return ICMPV6_HEADER_LEN + this.body.length; }

  /** Write the message with its checksum at `out[off..off+length)`. */
  emit(out: Uint8Array, off: number, srcBuf: Uint8Array, srcOff: number, dstBuf: Uint8Array, dstOff: number): void {
    emitIcmpv6Header(out, off, this.type, this.code, this.rest);
    out.set(this.body, off + ICMPV6_HEADER_LEN);
    fillIcmpv6Checksum(out, off, this.length, srcBuf, srcOff, dstBuf, dstOff);
  }
}
