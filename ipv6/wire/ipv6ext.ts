/**
 * The IPv6 extension-header chain (RFC 8200 §4) between the fixed header and the upper layer.
 *
 * A lamp is an end host, so the walk accepts what an end host may simply pass over — Hop-by-Hop
 * Options (first only), Destination Options, and a Routing header whose Segments Left is 0 — and
 * stops with a drop reason at anything that would need more: a fragment (see `Drop.fragment`), a
 * routing header still to be followed, an option that must not be skipped, or a header that does
 * not fit. Each header is at least 8 bytes, so the walk ends within len/8 steps however the chain is
 * built.
 */
import { Drop, OK } from './drop.js';
import { NextHeader } from './ipv6.js';

/** Where the upper layer starts, filled by `walk`; reused across packets. */
export class ExtensionHeaderWalk {
  /** The upper-layer protocol (Next Header of the last extension header). */
  protocol = 0;
  /** Offset in the buffer of the upper-layer header. */
  offset = 0;

  /** Walk the chain that starts with `nextHeader` at `buf[off]` and must end by `end` (the end of
   * the IPv6 payload). Returns OK with `protocol`/`offset` set, or a drop reason. */
  walk(buf: Uint8Array, off: number, end: number, nextHeader: number): number {
    let first = true;
    for (;;) {
      if (nextHeader === NextHeader.hopByHop && !first) return Drop.misplacedHopByHop;
      switch (nextHeader) {
        case NextHeader.hopByHop:
        case NextHeader.destinationOptions: {
          const size = headerSize(buf, off, end);
          if (size === 0) return Drop.badExtensionHeader;
          const problem = checkOptions(buf, off + 2, off + size);
          if (problem !== OK) return problem;
          nextHeader = buf[off];
          off += size;
          break;
        }
        case NextHeader.routing: {
          const size = headerSize(buf, off, end);
          if (size === 0) return Drop.badExtensionHeader;
          if (buf[off + 3] !== 0) return Drop.routingSegmentsLeft;
          nextHeader = buf[off];
          off += size;
          break;
        }
        case NextHeader.fragment:
          return Drop.fragment;
        case NextHeader.noNextHeader:
          return Drop.noNextHeader;
        default:
          this.protocol = nextHeader;
          this.offset = off;
          return OK;
      }
      first = false;
    }
  }
}

/** Size in bytes of the Hop-by-Hop / Destination Options / Routing header at `off` ((Hdr Ext Len + 1)
 * × 8), or 0 when it does not fit before `end`. */
function headerSize(buf: Uint8Array, off: number, end: number): number {
  if (off + 8 > end) return 0;
  const size = (buf[off + 1] + 1) * 8;
  return off + size > end ? 0 : size;
}

const PAD1 = 0;
const PADN = 1;

/** Walk the options in `buf[off..end)`. Pad1 and PadN are understood; any other option is
 * unrecognized, which is fine only when its type's two high bits are 00 ("skip over this option",
 * RFC 8200 §4.2). */
function checkOptions(buf: Uint8Array, off: number, end: number): number {
  while (off < end) {
    const type = buf[off];
    if (type === PAD1) { off++; continue; }
    if (off + 2 > end) return Drop.badExtensionHeader;
    const next = off + 2 + buf[off + 1];
    if (next > end) return Drop.badExtensionHeader;
    if (type !== PADN && type >> 6 !== 0) return Drop.unrecognizedOption;
    off = next;
  }
  return OK;
}
