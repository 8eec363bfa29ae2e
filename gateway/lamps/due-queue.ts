/**
 * Numbers (packed lamp keys) waiting for a time, earliest first: a binary min-heap in two typed
 * columns, 12 bytes an entry, no object per entry. Entries with the same time come out in no
 * particular order. It holds only what waits (a storm's backlog), and gives its columns back once
 * it has emptied, so a million lamps waiting once cost nothing after.
 */
const MIN_CAPACITY = 1024;

export class DueQueue {
  private due = new Float64Array(MIN_CAPACITY);
  private key = new Uint32Array(MIN_CAPACITY);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The earliest time waited for, or Infinity when empty. */
  get nextDue(): number {
    return this.count > 0 ? this.due[0] : Infinity;
  }

  push(key: number, at: number): void {
    if (this.count === this.key.length) this.resize(this.count * 2);
    let p = this.count++;
    while (p > 0) {
      const parent = (p - 1) >> 1;
      if (this.due[parent] <= at) break;
      this.due[p] = this.due[parent];
      this.key[p] = this.key[parent];
      p = parent;
    }
    this.due[p] = at;
    this.key[p] = key;
  }

  /** Remove and return the earliest entry's key (the queue must not be empty). */
  pop(): number {
    const top = this.key[0];
    const n = --this.count;
    if (n === 0) {
      if (this.key.length > MIN_CAPACITY) this.resize(MIN_CAPACITY);
      return top;
    }
    const at = this.due[n];
    const key = this.key[n];
    let p = 0;
    for (;;) {
      let child = 2 * p + 1;
      if (child >= n) break;
      if (child + 1 < n && this.due[child + 1] < this.due[child]) child++;
      if (this.due[child] >= at) break;
      this.due[p] = this.due[child];
      this.key[p] = this.key[child];
      p = child;
    }
    this.due[p] = at;
    this.key[p] = key;
    return top;
  }

  private resize(capacity: number): void {
    const due = new Float64Array(capacity);
    const key = new Uint32Array(capacity);
    due.set(this.due.subarray(0, this.count));
    key.set(this.key.subarray(0, this.count));
    this.due = due;
    this.key = key;
  }
}
