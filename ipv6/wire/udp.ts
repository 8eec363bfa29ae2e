/**
 * UDP over IPv6 (RFC 768, RFC 8200 §8.1) in two levels (smoltcp style):
 * - `UdpPacket`, a reusable checked view (`check` validates the Length field against the IPv6
 *   payload once; then accessors read in bounds);
 * - `UdpRepr`, ports and payload as fields, with `parse` (validating the checksum, which IPv6 makes
 *   mandatory) and `emit` into a caller's buffer.
 * The host writes datagrams without a repr: `emitUdpHeader` then `fillUdpChecksum`, the payload
 * copied by the caller in between, so no intermediate buffer exists.
 */
import { finishChecksum, pseudoHeaderSum, sumVerifies, sumWords } from './checksum.js';
import { Drop, OK } from './drop.js';
import { NextHeader } from './ipv6.js';

export const UDP_HEADER_LEN = 8;

export class UdpPacket {
  buf: Uint8Array = new Uint8Array(0);
  off = 0;
  /** The datagram length from its Length field (header + payload). */
  len = 0;

  /** Point the view at the datagram that fills `buf[off..off+len)` (the rest of the IPv6 payload).
   * Its Length field must equal `len` (RFC 768; IPv6 has no padding after the datagram). */
  check(buf: Uint8Array, off: number, len: number): number {
    if (len < UDP_HEADER_LEN || off < 0 || off + len > buf.length) return Drop.udpBadLength;
    if (((buf[off + 4] << 8) | buf[off + 5]) !== len) return Drop.udpBadLength;
    this.buf = buf;
    this.off = off;
    this.len = len;
    return OK;
  }

  get srcPort(): number { return (this.buf[this.off] << 8) | this.buf[this.off + 1]; }
  get dstPort(): number { return (this.buf[this.off + 2] << 8) | this.buf[this.off + 3]; }
  get checksum(): number { return (this.buf[this.off + 6] << 8) | this.buf[this.off + 7]; }
  get payloadOff(): number { return this.off + UDP_HEADER_LEN; }
  get payloadLen(): number { return this.len - UDP_HEADER_LEN; }

  /** OK, `udpZeroChecksum` (forbidden over IPv6) or `udpBadChecksum`, for the datagram sent from
   * the address at `srcBuf[srcOff]` to the one at `dstBuf[dstOff]`. */
  verifyChecksum(srcBuf: Uint8Array, srcOff: number, dstBuf: Uint8Array, dstOff: number): number {
    if (this.checksum === 0) return Drop.udpZeroChecksum;
    const sum = pseudoHeaderSum(srcBuf, srcOff, dstBuf, dstOff, this.len, NextHeader.udp);
    return sumVerifies(sumWords(this.buf, this.off, this.len, sum)) ? OK : Drop.udpBadChecksum;
  }
}

/** Write the 8-byte header for a datagram carrying `payloadLen` bytes, checksum 0 for now. */
export function emitUdpHeader(out: Uint8Array, off: number, srcPort: number, dstPort: number, payloadLen: number): void {
  const len = UDP_HEADER_LEN + payloadLen;
  out[off] = srcPort >> 8;
  out[off + 1] = srcPort & 0xff;
  out[off + 2] = dstPort >> 8;
  out[off + 3] = dstPort & 0xff;
  out[off + 4] = len >> 8;
  out[off + 5] = len & 0xff;
  out[off + 6] = 0;
  out[off + 7] = 0;
}

/** Compute and store the checksum of the complete datagram `out[off..off+len)`. A computed 0 is
 * sent as 0xffff, since 0 would mean "no checksum" (RFC 768), which IPv6 forbids. */
export function fillUdpChecksum(
  out: Uint8Array, off: number, len: number,
  srcBuf: Uint8Array, srcOff: number, dstBuf: Uint8Array, dstOff: number,
): void {
  const sum = sumWords(out, off, len, pseudoHeaderSum(srcBuf, srcOff, dstBuf, dstOff, len, NextHeader.udp));
  const checksum = finishChecksum(sum) || 0xffff;
  out[off + 6] = checksum >> 8;
  out[off + 7] = checksum & 0xff;
}

/** One datagram as fields. */
export class UdpRepr {
  srcPort = 0;
  dstPort = 0;
  payload: Uint8Array = new Uint8Array(0);

  /** Read a checked view whose checksum verifies between the addresses; OK or a drop reason. */
  parse(packet: UdpPacket, srcBuf: Uint8Array, srcOff: number, dstBuf: Uint8Array, dstOff: number): number {
    const problem = packet.verifyChecksum(srcBuf, srcOff, dstBuf, dstOff);
    if (problem !== OK) return problem;
    this.srcPort = packet.srcPort;
    this.dstPort = packet.dstPort;
    this.payload = packet.buf.slice(packet.payloadOff, packet.off + packet.len);
    return OK;
  }

  get length(): number { return UDP_HEADER_LEN + this.payload.length; }

  /** Write the datagram with its checksum at `out[off..off+length)`. */
  emit(out: Uint8Array, off: number, srcBuf: Uint8Array, srcOff: number, dstBuf: Uint8Array, dstOff: number): void {
    emitUdpHeader(out, off, this.srcPort, this.dstPort, this.payload.length);
    out.set(this.payload, off + UDP_HEADER_LEN);
    fillUdpChecksum(out, off, this.length, srcBuf, srcOff, dstBuf, dstOff);
  }
}
