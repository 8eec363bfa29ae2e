import { describe, expect, it } from 'vitest';
import { FleetScheduler, ManualClock, WakeHeap } from '../../sim/scheduler.js';

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('WakeHeap', () => {
  it('pops lamps in deadline order and only when due', () => {
    const heap = new WakeHeap(4);
    heap.set(3, 300);
    heap.set(1, 100);
    heap.set(2, 200);
    expect(heap.popDue(50)).toBe(-1);
    expect(heap.popDue(250)).toBe(1);
    expect(heap.popDue(250)).toBe(2);
    expect(heap.popDue(250)).toBe(-1);
    expect(heap.next).toBe(300);
  });

  it('re-arming a lamp moves its single deadline instead of adding a second one', () => {
    const heap = new WakeHeap(4);
    heap.set(7, 500);
    heap.set(7, 100);
    heap.set(7, 900);
    expect(heap.pending).toBe(1);
    expect(heap.popDue(899)).toBe(-1);
    expect(heap.popDue(900)).toBe(7);
  });

  it('disarms with Infinity and grows past its initial capacity', () => {
    const heap = new WakeHeap(2);
    for (let i = 0; i < 1000; i++) heap.set(i, 1000 - i);
    heap.set(999, Infinity);
    expect(heap.pending).toBe(999);
    expect(heap.popDue(1e9)).toBe(998);
  });

  it('agrees with a sorted reference under random re-arming', () => {
    const rnd = seeded(42);
    const heap = new WakeHeap(16);
    const ref = new Map<number, number>();
    for (let step = 0; step < 20_000; step++) {
      const index = Math.floor(rnd() * 500);
      const at = rnd() < 0.1 ? Infinity : Math.floor(rnd() * 1e6);
      heap.set(index, at);
      if (at === Infinity) ref.delete(index);
      else ref.set(index, at);
    }
    const order: number[] = [];
    for (let i = heap.popDue(Infinity); i >= 0; i = heap.popDue(Infinity)) order.push(ref.get(i)!);
    expect(order).toEqual([...ref.values()].sort((a, b) => a - b));
  });
});

describe('FleetScheduler', () => {
  it('advancing a manual clock fires each lamp at its own deadline, including re-arms made while firing', () => {
    const clock = new ManualClock(0);
    const fired: Array<[number, number]> = [];
    const scheduler: FleetScheduler = new FleetScheduler(clock, (index) => {
      fired.push([index, clock.now()]);
      if (index === 1 && clock.now() < 300) scheduler.set(1, clock.now() + 100);
    });
    scheduler.set(1, 100);
    scheduler.set(2, 250);
    scheduler.advance(clock, 1000);
    expect(fired).toEqual([
      [1, 100],
      [1, 200],
      [2, 250],
      [1, 300],
    ]);
    expect(clock.now()).toBe(1000);
  });
});
