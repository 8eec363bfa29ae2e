/**
 * Byte copying for the packet path. `target.set(source.subarray(a, b), at)` allocates a view object
 * per call; for packet-sized copies a plain loop costs about the same and allocates nothing.
 */
export function copyBytes(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number, len: number): void {
  for (let i = 0; i < len; i++) dst[dstOff + i] = src[srcOff + i];
}
