/**
 * One scheduler for a whole fleet: every lamp has at most one pending wake-up (the firmware core
 * folds all its deadlines into one), so the fleet keeps a deadline per lamp in a typed array and an
 * indexed binary min-heap of lamp indices. Re-arming a lamp is a decrease/increase-key in place, so
 * the heap never holds stale entries and costs 16 bytes per lamp, with no Node timer per lamp.
 *
 * Time is virtual: `FleetClock` maps real time to simulated time at `speed`× (or is advanced by hand
 * in tests), and a single Node timer drives the heap.
 */
import type { TokenBucket } from './token-bucket.js';

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
 * Drives a WakeHeap from one Node timer: fires every due lamp, in slices of at most SLICE_MS of work
 * so that the link's I/O (echo requests, incoming CoAP) is served between them, however many lamps
 * are due: a million lamps waking at once never starve it.
 *
 * With a `pace`, lamps fire only while it has tokens, and the fleet spends one for each datagram a
 * lamp sends from its timer (registrations, retransmissions, notifications): the lamps' own chatter
 * leaves at the pace's rate, and lamps due meanwhile wait their turn in deadline order (the heap is
 * the queue, so waiting costs nothing per lamp). Their lights and meters do not wait on it: those
 * follow the lamp's record and time, whenever its timer runs.
 */
export class FleetScheduler {
  readonly heap = new WakeHeap();
  private timer: NodeJS.Timeout | null = null;
  private armedFor = Infinity;
  private stopped = false;
  /** Real milliseconds of timer work before yielding to I/O. */
  static readonly SLICE_MS = 5;
  /** Lamps fired between two looks at the time. */
  private static readonly BATCH = 64;

  constructor(
    readonly clock: FleetClock,
    private readonly fire: (index: number) => void,
    readonly pace: TokenBucket | null = null,
  ) {}

  set(index: number, atMs: number): void {
    this.heap.set(index, atMs);
    if (atMs < this.armedFor) this.arm();
  }

  /** Run what is due up to the clock's now, at most `limit` lamps and while the pace has tokens;
   * returns how many lamps fired. */
  runDue(limit = Infinity): number {
    const now = this.clock.now();
    const pace = this.pace;
    let fired = 0;
    while (fired < limit && (pace === null || pace.available() >= 1)) {
      const index = this.heap.popDue(now);
      if (index < 0) break;
      fired++;
      this.fire(index);
    }
    return fired;
  }

  /** For manual clocks: advance simulated time in steps, firing what falls due on the way (and
   * moving on to when the pace has a token again, if it held lamps back). */
  advance(clock: { time: number }, ms: number): void {
    const end = clock.time + ms;
    for (;;) {
      const next = this.heap.next;
      if (next > end) break;
      if (next > clock.time) clock.time = next;
      if (this.runDue() > 0 || this.pace === null) continue;
      // Whole milliseconds: a fraction of one can be below the resolution of a clock near 2^41 ms
      // and leave the time where it was.
      const wait = Math.ceil(this.pace.wait());
      if (!(wait > 0) || clock.time + wait > end) break;
      clock.time += wait;
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
    if (this.stopped) return;
    this.timer = null;
    // While lamps fire, and until the next slice, a lamp re-armed must not arm another timer: one
    // chain of slices runs at a time (several would run back to back in one turn of the loop).
    this.armedFor = -Infinity;
    const sliceEnd = performance.now() + FleetScheduler.SLICE_MS;
    let fired: number;
    do fired = this.runDue(FleetScheduler.BATCH);
    while (fired === FleetScheduler.BATCH && performance.now() < sliceEnd);
    if (this.heap.next > this.clock.now()) {
      this.armedFor = Infinity;
      return this.arm();
    }
    // Lamps are still due: the slice is over (come back after the I/O), or the pace is spent (come
    // back when it has a token).
    if (fired === FleetScheduler.BATCH || this.pace === null) setImmediate(this.again);
    else {
      this.timer = setTimeout(this.again, Math.max(1, this.pace.wait()));
      this.timer.unref?.();
    }
  }

  private readonly again = (): void => this.onTimer();
}
