/**
 * The fleet's peers: every address a lamp talks to, interned once into a small number (the core's
 * opaque `Addr` in the simulator), so a datagram costs no string and trust is decided once per peer.
 */
import { read32 } from '../../ipv6/wire/bytes.js';

/**
 * Interns peer addresses (16 bytes) into small numbers.
 * Bounded: when the table is full it starts a new epoch; numbers from an old epoch no longer resolve
 * (a lamp's reply to such a peer is dropped and counted), which only a flood of distinct sources
 * can cause.
 */
export class PeerTable {
  static readonly CAPACITY = 4096;
  readonly addrs = new Uint8Array(PeerTable.CAPACITY * 16);
  readonly trusted = new Uint8Array(PeerTable.CAPACITY);
  private readonly slots = new Int32Array(PeerTable.CAPACITY * 2).fill(-1);
  private count = 0;
  private epoch = 0;
  resets = 0;

  constructor(private readonly isTrusted: (addr: Uint8Array, off: number) => boolean) {}

  intern(buf: Uint8Array, off: number): number {
    const mask = this.slots.length - 1;
    let h = (read32(buf, off) ^ Math.imul(read32(buf, off + 4), 0x9e3779b1) ^ Math.imul(read32(buf, off + 8), 0x85ebca6b) ^ Math.imul(read32(buf, off + 12), 0xc2b2ae35)) >>> 0;
    for (;;) {
      h &= mask;
      const e = this.slots[h];
      if (e < 0) break;
      if (this.equals(e, buf, off)) return this.epoch * PeerTable.CAPACITY + e;
      h++;
    }
    if (this.count === PeerTable.CAPACITY) {
      this.slots.fill(-1);
      this.count = 0;
      this.epoch++;
      this.resets++;
      return this.intern(buf, off);
    }
    const e = this.count++;
    this.addrs.set(buf.subarray(off, off + 16), e * 16);
    this.trusted[e] = this.isTrusted(buf, off) ? 1 : 0;
    this.slots[h] = e;
    return this.epoch * PeerTable.CAPACITY + e;
  }

  /** Byte offset of `peer`'s address in `addrs`, or -1 for a peer of an older epoch. */
  resolve(peer: number): number {
    const e = peer - this.epoch * PeerTable.CAPACITY;
    return e >= 0 && e < this.count ? e * 16 : -1;
  }

  /** Whether `peer` (an interned number) may change lamp state. */
  isTrustedPeer(peer: number): boolean {
    const at = this.resolve(peer);
    return at >= 0 && this.trusted[at / 16] === 1;
  }

  private equals(e: number, buf: Uint8Array, off: number): boolean {
    const a = this.addrs;
    const base = e * 16;
    for (let i = 0; i < 16; i++) if (a[base + i] !== buf[off + i]) return false;
    return true;
  }
}
