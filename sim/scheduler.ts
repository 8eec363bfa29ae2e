/**
 * One scheduler for a whole fleet: every lamp has at most one pending wake-up (the firmware core
 * folds all its deadlines into one), so the fleet keeps a deadline per lamp in a typed array and an
 * indexed binary min-heap of lamp indices. Re-arming a lamp is a decrease/increase-key in place, so
 * the heap never holds stale entries and costs 16 bytes per lamp, with no Node timer per lamp.
 *
 * Time is virtual: `FleetClock` maps real time to simulated time at `speed`× (or is advanced by hand
 * in tests), and a single Node timer drives the heap.
 */

export interface FleetClock {
  /** Simulated milliseconds since the Unix epoch. */
  now(): number;
  /** Real milliseconds until simulated time reaches `simMs` (Infinity when manual). */
  realDelay(simMs: number): number;
}

/** Wall clock running `speed` times faster than real time from the moment it is created. */
export function realClock(speed = 1, startMs = Date.now()): FleetClock {
  const origin = performance.now();
  return {
    now: () => startMs + (performance.now() - origin) * speed,
    realDelay: (simMs) => (simMs - (startMs + (performance.now() - origin) * speed)) / speed,
  };
}

/** A clock that moves only when told to: for deterministic tests. */
export class ManualClock implements FleetClock {
  constructor(public time = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.time;
  }
  realDelay(): number {
    return Infinity;
  }
}

const NONE = -1;

export class WakeHeap {
  private deadline: Float64Array;
  private heap: Int32Array;
  private pos: Int32Array;
  private size = 0;

  constructor(capacity = 1024) {
    this.deadline = new Float64Array(capacity);
    this.heap = new Int32Array(capacity);
    this.pos = new Int32Array(capacity).fill(NONE);
  }

  get pending(): number {
    return this.size;
  }

  /** Earliest armed deadline, or Infinity. */
  get next(): number {
    return this.size > 0 ? this.deadline[this.heap[0]] : Infinity;
  }

  /** Arm (or re-arm) `index` at `atMs`; Infinity or NaN disarms. */
  set(index: number, atMs: number): void {
    if (index >= this.pos.length) this.grow(index + 1);
    const at = atMs === atMs ? atMs : Infinity;
    const p = this.pos[index];
    if (at === Infinity) {
      if (p !== NONE) this.removeAt(p);
      return;
    }
    if (p === NONE) {
      this.deadline[index] = at;
      this.heap[this.size] = index;
      this.pos[index] = this.size;
      this.size++;
      this.up(this.size - 1);
    } else {
      const before = this.deadline[index];
      this.deadline[index] = at;
      if (at < before) this.up(p);
      else this.down(p);
    }
  }

  /** Pop the earliest lamp whose deadline is ≤ now, or -1. */
  popDue(now: number): number {
    if (this.size === 0) return NONE;
    const top = this.heap[0];
    if (this.deadline[top] > now) return NONE;
    this.removeAt(0);
    return top;
  }

  private removeAt(p: number): void {
    const index = this.heap[p];
    this.pos[index] = NONE;
    this.size--;
    if (p === this.size) return;
    const last = this.heap[this.size];
    this.heap[p] = last;
    this.pos[last] = p;
    this.up(p);
    this.down(this.pos[last]);
  }

  private up(p: number): void {
    const { heap, pos, deadline } = this;
    const index = heap[p];
    const d = deadline[index];
    while (p > 0) {
      const parent = (p - 1) >> 1;
      const pi = heap[parent];
      if (deadline[pi] <= d) break;
      heap[p] = pi;
      pos[pi] = p;
      p = parent;
    }
    heap[p] = index;
    pos[index] = p;
  }

  private down(p: number): void {
    const { heap, pos, deadline } = this;
    const n = this.size;
    const index = heap[p];
    const d = deadline[index];
    for (;;) {
      let child = 2 * p + 1;
      if (child >= n) break;
      if (child + 1 < n && deadline[heap[child + 1]] < deadline[heap[child]]) child++;
      const ci = heap[child];
      if (deadline[ci] >= d) break;
      heap[p] = ci;
      pos[ci] = p;
      p = child;
    }
    heap[p] = index;
    pos[index] = p;
  }

  private grow(min: number): void {
    let cap = this.pos.length * 2;
    while (cap < min) cap *= 2;
    const deadline = new Float64Array(cap);
    deadline.set(this.deadline);
    const heap = new Int32Array(cap);
    heap.set(this.heap);
    const pos = new Int32Array(cap).fill(NONE);
    pos.set(this.pos);
    this.deadline = deadline;
    this.heap = heap;
    this.pos = pos;
  }
}

/**
 * Drives a WakeHeap from one Node timer: fires every due lamp, in slices so that a million lamps
 * waking at once never starve the link's I/O.
 */
export class FleetScheduler {
  readonly heap = new WakeHeap();
  private timer: NodeJS.Timeout | null = null;
  private armedFor = Infinity;
  private stopped = false;
  /** Lamps fired per slice before yielding to I/O. */
  static readonly SLICE = 20_000;

  constructor(
    readonly clock: FleetClock,
    private readonly fire: (index: number) => void,
  ) {}

  set(index: number, atMs: number): void {
    this.heap.set(index, atMs);
    if (atMs < this.armedFor) this.arm();
  }

  /** Run everything due up to the clock's now; returns how many lamps fired. */
  runDue(limit = Infinity): number {
    const now = this.clock.now();
    let fired = 0;
    while (fired < limit) {
      const index = this.heap.popDue(now);
      if (index < 0) break;
      fired++;
      this.fire(index);
    }
    return fired;
  }

  /** For manual clocks: advance simulated time in steps, firing what falls due on the way. */
  advance(clock: { time: number }, ms: number): void {
    const end = clock.time + ms;
    for (;;) {
      const next = this.heap.next;
      if (next > end) break;
      if (next > clock.time) clock.time = next;
      this.runDue();
    }
    clock.time = end;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(): void {
    if (this.stopped) return;
    const next = this.heap.next;
    const delay = this.clock.realDelay(next);
    if (delay === Infinity || next === Infinity) return;
    if (this.timer) clearTimeout(this.timer);
    this.armedFor = next;
    // Re-check at least once a second so a clock with a changed speed never stalls us.
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, Math.min(delay, 1000)));
    this.timer.unref?.();
  }

  private onTimer(): void {
    this.timer = null;
    this.armedFor = Infinity;
    const fired = this.runDue(FleetScheduler.SLICE);
    if (fired === FleetScheduler.SLICE) {
      this.armedFor = -Infinity;
      setImmediate(() => {
        this.armedFor = Infinity;
        this.onTimer();
      });
      return;
    }
    this.arm();
  }
}
