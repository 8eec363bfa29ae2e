/** The observer's queue of lamps waiting for a time (gateway/lamps/due-queue.ts). */
import { describe, expect, it } from 'vitest';
import { DueQueue } from '../../gateway/lamps/due-queue.js';

describe('due queue', () => {
  it('gives back keys earliest first, whatever order they came in', () => {
    const q = new DueQueue();
    const times = Array.from({ length: 5000 }, (_, k) => (k * 7919) % 5003);
    times.forEach((t, k) => q.push(k, t));
    const out: number[] = [];
    while (q.size > 0) {
      const at = q.nextDue;
      out.push(at);
      expect(times[q.pop()]).toBe(at);
    }
    expect(out).toEqual([...times].sort((a, b) => a - b));
    expect(q.nextDue).toBe(Infinity);
  });

  it('keeps keys of 32 bits whole', () => {
    const q = new DueQueue();
    q.push(0xfedcba98, 2);
    q.push(0x1fffffff, 1);
    expect(q.pop()).toBe(0x1fffffff);
    expect(q.pop()).toBe(0xfedcba98);
  });
});
