/**
 * The simulator's one PRNG (mulberry32): small, fast, no allocation, and deterministic per seed, so
 * a fleet's jitter, faults and loss, a fuzz run and a benchmark's traffic replay exactly.
 */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A number in [0, 1), as Math.random gives. */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.float() * n);
  }

  chance(p: number): boolean {
    return this.u32() < p * 4294967296;
  }

  pick<T>(list: readonly T[]): T {
    return list[this.below(list.length)];
  }

  /** Random bytes into out[off..off+len). */
  fill(out: Uint8Array, off: number, len: number): void {
    let i = 0;
    for (; i + 4 <= len; i += 4) {
      const v = this.u32();
      out[off + i] = v & 255;
      out[off + i + 1] = (v >>> 8) & 255;
      out[off + i + 2] = (v >>> 16) & 255;
      out[off + i + 3] = v >>> 24;
    }
    for (; i < len; i++) out[off + i] = this.u32() & 255;
  }
}
