/**
 * The simulator's one PRNG (mulberry32): small, fast, no allocation, and deterministic per seed, so
 * a fleet's jitter, faults and loss, a fuzz run and a benchmark's traffic replay exactly.
 */
const STEP = 0x6d2b79f5;

/** mulberry32's output (a uniform 32-bit unsigned integer) for its already advanced state. */
function output(state: number): number {
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (t ^ (t >>> 14)) >>> 0;
}

export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    this.state = (this.state + STEP) >>> 0;
    return output(this.state);
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

/**
 * Many independent mulberry32 streams of one seed, keyed by a number, each advanced only by its own
 * draws: what key k draws follows from the seed and k's own draws, never from how they interleave
 * with other keys' (a lamp's losses do not depend on other lamps' traffic).
 */
export class KeyedStreams {
  private readonly states: number[] = [];

  constructor(private readonly seed: number) {}

  /** Key k's next number in [0, 1). */
  float(k: number): number {
    const previous = this.states[k] ?? output((this.seed ^ Math.imul(k, 0x9e3779b1)) >>> 0);
    const state = (previous + STEP) >>> 0;
    this.states[k] = state;
    return output(state) / 4294967296;
  }
}
