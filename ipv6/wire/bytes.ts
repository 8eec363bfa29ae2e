/**
 * Byte helpers for the packet path: big-endian 32-bit fields (IPv6 addresses are compared and
 * hashed as four of them) and copies. `target.set(source.subarray(a, b), at)` allocates a view
 * object per call; for packet-sized copies a plain loop costs about the same and allocates nothing.
 */

/** The unsigned big-endian 32-bit number at `buf[off]`. */
export function read32(buf: Uint8Array, off: number): number {
  return ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
}

/** Writes `value` as an unsigned big-endian 32-bit number at `buf[off]`. */
export function write32(buf: Uint8Array, off: number, value: number): void {
  buf[off] = value >>> 24;
  buf[off + 1] = (value >>> 16) & 0xff;
  buf[off + 2] = (value >>> 8) & 0xff;
  buf[off + 3] = value & 0xff;
}

export function copyBytes(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number, len: number): void {
  for (let i = 0; i < len; i++) dst[dstOff + i] = src[srcOff + i];
}
