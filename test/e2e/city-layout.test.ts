/**
 * The dashboard's map geometry (gateway/dashboard/city-layout.ts), which the browser test clicks
 * through: placing a lamp and finding the lamp under a pixel must be exact inverses at every
 * fleet size, or a click would toggle the wrong lamp.
 */
import { describe, expect, test } from 'vitest';
import { layoutCity, placeAt, placeOrigin } from '../../gateway/dashboard/city-layout.js';

const CASES: [lamps: number, width: number, height: number][] = [
  [1, 120, 80],
  [250, 300, 200],
  [1000, 1380, 700],
  [1000, 2760, 1400],
  [100_000, 940, 700],
  [1_000_000, 1000, 700],
];

describe.each(CASES)('%i lamps on a %ix%i canvas', (lamps, width, height) => {
  const layout = layoutCity(lamps, 100, width, height);

  test('the pixel at the centre of every lamp\'s cell names that lamp', () => {
    const half = Math.floor(layout.cell / 2);
    for (let place = 0; place < lamps; place++) {
      const { x, y } = placeOrigin(layout, place);
      const found = placeAt(layout, x + half, y + half);
      if (found !== place) expect.fail(`lamp place ${place} at (${x}, ${y}) is found as ${found}`);
    }
  });

  test('cells lie inside the laid-out area and never overlap', () => {
    const taken = new Uint8Array(layout.width * layout.height);
    for (let place = 0; place < lamps; place++) {
      const { x, y } = placeOrigin(layout, place);
      if (x < 0 || y < 0 || x + layout.cell > layout.width || y + layout.cell > layout.height) expect.fail(`place ${place} at (${x}, ${y}) is outside ${layout.width}x${layout.height}`);
      for (let dy = 0; dy < layout.cell; dy++) {
        for (let dx = 0; dx < layout.cell; dx++) {
          const i = (y + dy) * layout.width + x + dx;
          if (taken[i]) expect.fail(`place ${place} overlaps another lamp at (${x + dx}, ${y + dy})`);
          taken[i] = 1;
        }
      }
    }
  });

  test('the road and the gaps between streets belong to no lamp', () => {
    const { x, y } = placeOrigin(layout, 0);
    expect(placeAt(layout, x, y - 1)).toBe(-1);
    if (layout.sides === 2) expect(placeAt(layout, x, y + layout.cell)).toBe(-1);
  });

  test('the city fits the canvas unless even one pixel per lamp cannot', () => {
    if (layout.cell > 1) {
      expect(layout.width).toBe(width);
      expect(layout.height).toBe(height);
    }
  });
});

test('1,000 lamps on a dashboard-sized canvas get big lamps on two-sided streets', () => {
  const layout = layoutCity(1000, 100, 1380, 700);
  expect(layout.sides).toBe(2);
  expect(layout.cell).toBeGreaterThanOrEqual(16);
});
