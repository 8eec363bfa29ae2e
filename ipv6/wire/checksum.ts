/**
 * The Internet checksum (RFC 1071) as used by ICMPv6 and UDP over IPv6: the one's-complement sum of
 * 16-bit words over the IPv6 pseudo-header (RFC 8200 §8.1) followed by the upper-layer packet.
 *
 * The functions return *unfolded* running sums so a caller can add the pseudo-header, a header it is
 * writing and a payload that lives elsewhere without copying anything; `finishChecksum` folds and
 * complements once at the end. A JavaScript number holds the running sum exactly for any packet an
 * IPv6 frame can carry (65 575 bytes of 0xffff words stay far below 2^53).
 */

/** Add the bytes `buf[off..off+len)` to `sum` as big-endian 16-bit words (an odd last byte is padded
 * with zero, RFC 1071). The word alignment restarts at `off`, so split a region only at even sizes. */
export function sumWords(buf: Uint8Array, off: number, len: number, sum: number): number {
  const end = off + len - 1;
  let i = off;
  for (; i < end; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  if (i === end) sum += buf[i] << 8;
  return sum;
}

/** Sum of the IPv6 pseudo-header: source and destination addresses (16 bytes each, at the given
 * offsets), the upper-layer packet length and the next-header value (RFC 8200 §8.1). */
export function pseudoHeaderSum(
  srcBuf: Uint8Array, srcOff: number, dstBuf: Uint8Array, dstOff: number,
  upperLayerLength: number, nextHeader: number,
): number {
  let sum = sumWords(srcBuf, srcOff, 16, 0);
  sum = sumWords(dstBuf, dstOff, 16, sum);
  return sum + (upperLayerLength >>> 16) + (upperLayerLength & 0xffff) + nextHeader;
}

/** Fold a running sum to 16 bits (end-around carry) without complementing it. */
export function foldSum(sum: number): number {
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum;
}

/** The checksum field value for a running sum that covered the checksum field as zero. */
export function finishChecksum(sum: number): number {
  return ~foldSum(sum) & 0xffff;
}

/** A received packet verifies when the sum over everything, its checksum field included, folds to
 * all ones. */
export function sumVerifies(sum: number): boolean {
  return foldSum(sum) === 0xffff;
}

/** The checksum after one 16-bit word of the covered data changed from `oldWord` to `newWord`,
 * without summing the data again (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')). */
export function adjustChecksum(checksum: number, oldWord: number, newWord: number): number {
  return finishChecksum((~checksum & 0xffff) + (~oldWord & 0xffff) + newWord);
}
