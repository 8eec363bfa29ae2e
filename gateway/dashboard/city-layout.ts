/**
 * Where each lamp sits on the map: pure geometry, no DOM, so the page and a test agree on it.
 *
 * A street (group street-<k>, `streetLen` lamps, 100 by default) is drawn as its two sides facing
 * each other across the road: the first half of its lamps on the upper side, the rest on the lower
 * side, both numbered left to right. Streets are stacked into columns ("districts"), column by
 * column, at the largest whole-pixel lamp size that fits the canvas — a city of 1,000 lamps gets
 * big glowing lamps, one of 100,000 gets a lamp per couple of pixels.
 */

export interface CityLayout {
  /** Lamps per street, lamps per side (1 side when a street has a single lamp). */
  streetLen: number;
  sides: number;
  perSide: number;
  /** Lamp cell size, road between the sides, gap between streets and between columns (pixels). */
  cell: number;
  road: number;
  block: number;
  gap: number;
  columns: number;
  /** Streets per column. */
  rows: number;
  /** Top-left of the first street (the city is centred). */
  x0: number;
  y0: number;
  /** Pixels the city needs (at least the size it was laid out for). */
  width: number;
  height: number;
}

function geometry(cell: number, sides: number): { road: number; block: number; gap: number } {
  return {
    road: sides === 1 ? 0 : Math.max(1, Math.round(cell * 0.8)),
    block: Math.max(2, Math.round(cell * 1.1)),
    gap: Math.max(3, Math.round(cell * 2)),
  };
}

const streetHeight = (l: Pick<CityLayout, 'cell' | 'road' | 'sides'>): number => l.sides * l.cell + l.road;

function fit(places: number, streetLen: number, sides: number, width: number, height: number): CityLayout | null {
  const streets = Math.max(1, Math.ceil(places / streetLen));
  const perSide = Math.ceil(streetLen / sides);
  for (let cell = 40; cell >= 1; cell--) {
    const { road, block, gap } = geometry(cell, sides);
    const columns = Math.min(streets, Math.floor((width + gap) / (perSide * cell + gap)));
    if (columns < 1) continue;
    const rows = Math.ceil(streets / columns);
    const tight = rows * (sides * cell + road + block) - block;
    if (tight > height && cell > 1) continue;
    // Spare height goes between the streets (up to a few lamps' worth), so a big fleet of small
    // lamps reads as streets rather than a solid block.
    const spread = rows > 1 ? Math.max(block, Math.min(block + Math.floor((height - tight) / (rows - 1)), 3 * cell + 6)) : block;
    const used = { w: columns * (perSide * cell + gap) - gap, h: rows * (sides * cell + road + spread) - spread };
    return {
      streetLen, sides, perSide, cell, road, block: spread, gap, columns, rows,
      x0: Math.max(0, Math.floor((width - used.w) / 2)),
      y0: Math.max(0, Math.floor((height - used.h) / 2)),
      width: Math.max(width, used.w),
      height: Math.max(height, used.h),
    };
  }
  return null;
}

/**
 * Lay out `places` lamps on a `width`×`height` pixel canvas. Two-sided streets unless one-sided
 * ones give bigger lamps. When even one pixel per lamp does not fit, the city grows downwards
 * (`height` > the canvas) and the page scrolls.
 */
export function layoutCity(places: number, streetLen: number, width: number, height: number): CityLayout {
  const candidates = [fit(places, streetLen, streetLen > 1 ? 2 : 1, width, height), fit(places, streetLen, 1, width, height)];
  let best: CityLayout | null = null;
  for (const c of candidates) if (c !== null && (best === null || c.cell > best.cell)) best = c;
  if (best !== null) return best;
  // Narrower than one street at a pixel per lamp: one column, as wide as it must be.
  const { road, block, gap } = geometry(1, 1);
  const streets = Math.max(1, Math.ceil(places / streetLen));
  return { streetLen, sides: 1, perSide: streetLen, cell: 1, road, block, gap, columns: 1, rows: streets, x0: 0, y0: 0, width: Math.max(width, streetLen), height: Math.max(height, streets * (1 + block)) };
}

/** Top-left pixel of the cell of `place`. */
export function placeOrigin(l: CityLayout, place: number): { x: number; y: number } {
  const street = Math.floor(place / l.streetLen);
  const k = place - street * l.streetLen;
  const side = Math.floor(k / l.perSide);
  const column = Math.floor(street / l.rows);
  const row = street - column * l.rows;
  return {
    x: l.x0 + column * (l.perSide * l.cell + l.gap) + (k - side * l.perSide) * l.cell,
    y: l.y0 + row * (streetHeight(l) + l.block) + side * (l.cell + l.road),
  };
}

/** The place whose cell contains pixel (x, y), or -1 (road, gap, outside). */
export function placeAt(l: CityLayout, x: number, y: number): number {
  const dx = x - l.x0;
  const dy = y - l.y0;
  if (dx < 0 || dy < 0) return -1;
  const columnW = l.perSide * l.cell + l.gap;
  const column = Math.floor(dx / columnW);
  const inColumn = dx - column * columnW;
  if (column >= l.columns || inColumn >= l.perSide * l.cell) return -1;
  const rowH = streetHeight(l) + l.block;
  const row = Math.floor(dy / rowH);
  const inStreet = dy - row * rowH;
  if (row >= l.rows) return -1;
  let side: number;
  if (inStreet < l.cell) side = 0;
  else if (l.sides === 2 && inStreet >= l.cell + l.road && inStreet < 2 * l.cell + l.road) side = 1;
  else return -1;
  const k = side * l.perSide + Math.floor(inColumn / l.cell);
  if (k >= l.streetLen) return -1;
  return (column * l.rows + row) * l.streetLen + k;
}
