/**
 * The IPv6 fixed header (RFC 8200 §3), in two levels (smoltcp style):
 * - `Ipv6Packet`, a reusable checked view: `check(buf, off, len)` validates the lengths and the
 *   version once, after which every accessor reads in bounds. The hot path keeps one view and
 *   re-points it per packet, so nothing is allocated.
 * - `Ipv6Repr`, the parsed header as plain fields, with `parse` from a view and `emit` into a
 *   caller's buffer (for tests and tools; the host writes headers with `emitIpv6Header` directly).
 */
import { copyBytes } from './bytes.js';
import { Drop, OK } from './drop.js';

export const IPV6_HEADER_LEN = 40;
/** Every IPv6 link carries at least this many bytes in one packet (RFC 8200 §5). */
export const IPV6_MIN_MTU = 1280;

/** Next Header values the host knows (IANA "Assigned Internet Protocol Numbers"). */
export const NextHeader = {
  hopByHop: 0,
  udp: 17,
  routing: 43,
  fragment: 44,
  icmpv6: 58,
  noNextHeader: 59,
  destinationOptions: 60,
} as const;

export class Ipv6Packet {
  buf: Uint8Array = new Uint8Array(0);
  /** Offset of the header in `buf`. */
  off = 0;
  /** Header plus payload as the Payload Length field says; trailing link padding is excluded. */
  len = 0;

  /** Point the view at `buf[off..off+len)`. Returns OK, or why the bytes are not an IPv6 packet
   * (`shortFrame`, `badVersion`, `payloadLengthExceedsFrame`). Bytes after the payload are ignored. */
  check(buf: Uint8Array, off: number, len: number): number {
    if (len < IPV6_HEADER_LEN || off < 0 || off + len > buf.length) return Drop.shortFrame;
    if (buf[off] >> 4 !== 6) return Drop.badVersion;
    const payloadLen = (buf[off + 4] << 8) | buf[off + 5];
    if (IPV6_HEADER_LEN + payloadLen > len) return Drop.payloadLengthExceedsFrame;
    this.buf = buf;
    this.off = off;
    this.len = IPV6_HEADER_LEN + payloadLen;
    return OK;
  }

  get version(): number { return this.buf[this.off] >> 4; }
  get trafficClass(): number { return ((this.buf[this.off] & 0x0f) << 4) | (this.buf[this.off + 1] >> 4); }
  get flowLabel(): number {
    const b = this.buf, o = this.off;
    return ((b[o + 1] & 0x0f) << 16) | (b[o + 2] << 8) | b[o + 3];
  }
  get payloadLen(): number { return (this.buf[this.off + 4] << 8) | this.buf[this.off + 5]; }
  get nextHeader(): number { return this.buf[this.off + 6]; }
  get hopLimit(): number { return this.buf[this.off + 7]; }
  /** Offset in `buf` of the 16-byte source address. */
  get srcOff(): number { return this.off + 8; }
  /** Offset in `buf` of the 16-byte destination address. */
  get dstOff(): number { return this.off + 24; }
  /** Offset in `buf` of the first byte after the fixed header. */
  get payloadOff(): number { return this.off + IPV6_HEADER_LEN; }
}

/** Write a fixed header (traffic class and flow label 0) at `out[off..off+40)`. Addresses are copied
 * from their own buffers, so a reply can take them straight from the request. */
export function emitIpv6Header(
  out: Uint8Array, off: number,
  srcBuf: Uint8Array, srcOff: number, dstBuf: Uint8Array, dstOff: number,
  nextHeader: number, payloadLen: number, hopLimit: number,
): void {
  out[off] = 0x60;
  out[off + 1] = 0;
  out[off + 2] = 0;
  out[off + 3] = 0;
  out[off + 4] = payloadLen >> 8;
  out[off + 5] = payloadLen & 0xff;
  out[off + 6] = nextHeader;
  out[off + 7] = hopLimit;
  copyBytes(srcBuf, srcOff, out, off + 8, 16);
  copyBytes(dstBuf, dstOff, out, off + 24, 16);
}

/** The fixed header as plain fields. */
export class Ipv6Repr {
  src = new Uint8Array(16);
  dst = new Uint8Array(16);
  nextHeader = 0;
  payloadLen = 0;
  hopLimit = 64;
  trafficClass = 0;
  flowLabel = 0;

  /** Copy the fields out of a checked view. */
  parse(packet: Ipv6Packet): this {
    copyBytes(packet.buf, packet.srcOff, this.src, 0, 16);
    copyBytes(packet.buf, packet.dstOff, this.dst, 0, 16);
    this.nextHeader = packet.nextHeader;
    this.payloadLen = packet.payloadLen;
    this.hopLimit = packet.hopLimit;
    this.trafficClass = packet.trafficClass;
    this.flowLabel = packet.flowLabel;
    return this;
  }

  /** Write the header at `out[off..off+40)`. */
  emit(out: Uint8Array, off: number): void {
    emitIpv6Header(out, off, this.src, 0, this.dst, 0, this.nextHeader, this.payloadLen, this.hopLimit);
    out[off] = 0x60 | (this.trafficClass >> 4);
    out[off + 1] = ((this.trafficClass & 0x0f) << 4) | ((this.flowLabel >> 16) & 0x0f);
    out[off + 2] = (this.flowLabel >> 8) & 0xff;
    out[off + 3] = this.flowLabel & 0xff;
  }
}
