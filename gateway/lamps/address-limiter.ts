/**
 * A limit on how many times one source address may do something (register a new endpoint name)
 * per window, exact per address: a million lamps at a million addresses, each registering its own
 * name, never share a count (a table of hash buckets did, and refused honest lamps as a flood).
 *
 * Addresses are kept as a 64-bit keyed hash in an open-addressing table of typed columns (10 bytes
 * a slot, no object per address). The window is fixed: when it is over the whole table is cleared,
 * so it holds only the addresses seen in one window and shrinks back after a registration storm. Two addresses whose 64-bit hashes agree
 * (about one pair in 10^7 among a million addresses) share a count, which can only make the limit
 * stricter for them; the key is random per process, so a sender cannot aim at another's count.
 */

/** Smallest table (slots); it doubles when half full. */
const MIN_SLOTS = 1024;

export class AddressLimiter {
  private hashHi = new Uint32Array(MIN_SLOTS);
  private hashLo = new Uint32Array(MIN_SLOTS);
  /** Admissions in the current window; 0 marks an empty slot. */
  private count = new Uint16Array(MIN_SLOTS);
  private used = 0;
  private windowStart = -Infinity;
  private readonly seedHi: number;
  private readonly seedLo: number;

  /**
   * @param perWindow admissions allowed per address per window (0..65535)
   * @param windowMs  the window's length
   */
  constructor(readonly perWindow: number, readonly windowMs: number, random: () => number = Math.random) {
    if (!(perWindow >= 0 && perWindow <= 0xffff)) throw new Error(`AddressLimiter: ${perWindow} per window is outside 0..65535`);
    this.seedHi = Math.floor(random() * 0x100000000) >>> 0;
    this.seedLo = Math.floor(random() * 0x100000000) >>> 0;
  }

  /** Addresses counted in the current window. */
  get addresses(): number {
    return this.used;
  }

  /** Bytes the table holds now. */
  get bytes(): number {
    return this.count.length * 10;
  }

  /** Whether `address` may do it once more at `now` (and if so, it is counted). */
  admit(address: string, now: number): boolean {
    this.expire(now);
    if (this.perWindow === 0) return false;
    let hi = this.seedHi ^ 0x811c9dc5;
    let lo = this.seedLo ^ 0x9747b28c;
    for (let k = 0; k < address.length; k++) {
      const c = address.charCodeAt(k);
      hi = Math.imul(hi ^ c, 0x01000193);
      lo = Math.imul(lo ^ c, 0x5bd1e995);
      lo ^= lo >>> 15;
    }
    hi = (hi ^ (hi >>> 16)) >>> 0;
    lo = lo >>> 0;
    const mask = this.count.length - 1;
    let s = hi & mask;
    while (this.count[s] !== 0) {
      if (this.hashHi[s] === hi && this.hashLo[s] === lo) {
        if (this.count[s] >= this.perWindow) return false;
        this.count[s]++;
        return true;
      }
      s = (s + 1) & mask;
    }
    this.hashHi[s] = hi;
    this.hashLo[s] = lo;
    this.count[s] = 1;
    if (++this.used * 2 > this.count.length) this.resize(this.count.length * 2);
    return true;
  }

  /** Whole seconds until the current window ends (when a refused address may try again). */
  retryAfterS(now: number): number {
    return Math.max(1, Math.ceil((this.windowStart + this.windowMs - now) / 1000));
  }

  /** End the window if it is over: forget every count, and give back a table a storm grew. */
  expire(now: number): void {
    if (now - this.windowStart < this.windowMs) return;
    this.windowStart = now;
    if (this.used === 0) return;
    this.used = 0;
    if (this.count.length > MIN_SLOTS) {
      this.hashHi = new Uint32Array(MIN_SLOTS);
      this.hashLo = new Uint32Array(MIN_SLOTS);
      this.count = new Uint16Array(MIN_SLOTS);
    } else this.count.fill(0);
  }

  private resize(slots: number): void {
    const [hi, lo, count] = [this.hashHi, this.hashLo, this.count];
    this.hashHi = new Uint32Array(slots);
    this.hashLo = new Uint32Array(slots);
    this.count = new Uint16Array(slots);
    const mask = slots - 1;
    for (let k = 0; k < count.length; k++) {
      if (count[k] === 0) continue;
      let s = hi[k] & mask;
      while (this.count[s] !== 0) s = (s + 1) & mask;
      this.hashHi[s] = hi[k];
      this.hashLo[s] = lo[k];
      this.count[s] = count[k];
    }
  }
}
