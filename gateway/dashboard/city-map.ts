/**
 * The city map: every lamp on one canvas. Lamps are blitted as small prerendered sprites (one per
 * look: 101 dim levels, off, fault, offline, not yet reported — each also in a "selected" tint)
 * into one ImageData; a frame copies only the lamps the store marked dirty and puts only the
 * rectangle they cover. 100,000 lamps changing at once cost one pass over typed arrays.
 *
 * A second canvas on top carries what moves with the mouse (the hover ring), so the lamp layer
 * never has to be redrawn for it.
 */
import { layoutCity, placeAt, placeOrigin, type CityLayout } from './city-layout.js';
import { AVAILABILITY_KNOWN, FAULT, KNOWN, LampStore, ON, ONLINE } from './lamp-store.js';

type Rgb = [number, number, number];

const BACKGROUND: Rgb = [9, 13, 24];
const STREET: Rgb = [19, 26, 42];
const STREET_SELECTED: Rgb = [30, 52, 96];
const OFF: Rgb = [52, 63, 82];
const FAULT_RED: Rgb = [244, 63, 70];
const OFFLINE_GREY: Rgb = [96, 104, 118];
const UNKNOWN: Rgb = [30, 38, 56];
const DIM: Rgb = [92, 62, 18];
const BRIGHT: Rgb = [255, 220, 120];

// Sprite indices: 0..100 lit at that level, then the other looks; +LOOKS when selected.
const LOOK_OFF = 101;
const LOOK_FAULT = 102;
const LOOK_OFFLINE = 103;
const LOOK_UNKNOWN = 104;
const LOOKS = 105;

/** While lamps keep appearing, lay the city out again at most this often (each layout redraws
 * every lamp; 100,000 retained states arrive over several seconds). */
const RELAYOUT_MS = 400;

/** Room for street names left of the map (CSS px), used when lamps are at least LABELLED_CELL. */
const LABEL_MARGIN = 64;
const LABELLED_CELL = 10;

/** The light of a lamp at `level` percent: a warm amber that brightens with the level. */
export function lampColor(level: number): Rgb {
  const t = (Math.max(0, Math.min(100, level)) / 100) ** 0.8;
  return [0, 1, 2].map((i) => Math.round(DIM[i] + (BRIGHT[i] - DIM[i]) * t)) as Rgb;
}

/** CSS colour of each look, for the legend. */
export const LEGEND: { label: string; color: string }[] = [
  { label: 'on', color: rgbCss(lampColor(100)) },
  { label: 'dimmed', color: rgbCss(lampColor(30)) },
  { label: 'off', color: rgbCss(OFF) },
  { label: 'fault', color: rgbCss(FAULT_RED) },
  { label: 'offline', color: rgbCss(OFFLINE_GREY) },
];

function rgbCss(c: Rgb): string {
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

/** ImageData is RGBA in memory; a Uint32Array over it reads those bytes little-endian. */
function pack(c: Rgb): number {
  return (255 << 24 | c[2] << 16 | c[1] << 8 | c[0]) >>> 0;
}

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t].map(Math.round) as Rgb;
}

/**
 * One lamp's pixels, `cell`×`cell`. Big cells get a round lamp with a glow that grows with the dim
 * level; small ones a square (with a one-pixel gap from 3 px up, so neighbours stay apart).
 */
function sprite(cell: number, color: Rgb, glow: number, ground: Rgb): Uint32Array {
  const px = new Uint32Array(cell * cell);
  const half = cell / 2;
  for (let y = 0; y < cell; y++) {
    for (let x = 0; x < cell; x++) {
      let alpha: number;
      if (cell >= 6) {
        const d = Math.hypot(x + 0.5 - half, y + 0.5 - half) / half;
        const core = Math.max(0, Math.min(1, (0.42 - d) * half + 0.5));
        const halo = glow * Math.max(0, 1 - d) ** 2;
        alpha = Math.min(1, core + halo);
      } else {
        const gap = cell >= 3 && (x === cell - 1 || y === cell - 1);
        alpha = gap ? 0 : 1;
      }
      px[y * cell + x] = pack(mix(ground, color, alpha));
    }
  }
  return px;
}

function buildSprites(cell: number): Uint32Array[] {
  const sprites: Uint32Array[] = [];
  for (const ground of [STREET, STREET_SELECTED]) {
    for (let level = 0; level <= 100; level++) sprites.push(sprite(cell, lampColor(level), 0.9 * (level / 100), ground));
    sprites.push(sprite(cell, OFF, 0, ground), sprite(cell, FAULT_RED, 0.35, ground), sprite(cell, OFFLINE_GREY, 0, ground), sprite(cell, UNKNOWN, 0, ground));
  }
  return sprites;
}

function look(flags: number, level: number): number {
  if (!(flags & (KNOWN | AVAILABILITY_KNOWN))) return LOOK_UNKNOWN;
  if (!(flags & ONLINE)) return LOOK_OFFLINE;
  if (!(flags & KNOWN)) return LOOK_UNKNOWN;
  if (flags & FAULT) return LOOK_FAULT;
  return flags & ON ? level : LOOK_OFF;
}

export class CityMap {
  private readonly ctx: CanvasRenderingContext2D;
  private readonly overlayCtx: CanvasRenderingContext2D;
  private layout: CityLayout | null = null;
  private image: ImageData | null = null;
  private pixels = new Uint32Array(0);
  private sprites: Uint32Array[] = [];
  /** Slot at each place, -1 for an empty place. */
  private slotAtPlace = new Int32Array(0);
  private placesLaidOut = -1;
  private laidOutAt = -Infinity;
  private selected: string | null = null;
  private hovered = -1;
  private ratio = 1;
  /** Whether the layout left room for street names. */
  private labelled = false;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly overlay: HTMLCanvasElement,
    private readonly store: LampStore,
    private readonly streetLen: number,
  ) {
    this.ctx = canvas.getContext('2d', { alpha: false }) as CanvasRenderingContext2D;
    this.overlayCtx = overlay.getContext('2d') as CanvasRenderingContext2D;
  }

  /** The canvas's box changed: lay out again at the new size and redraw everything. */
  resize(): void {
    this.placesLaidOut = -1;
    this.frame();
  }

  /** Called once per animation frame: lay out if the set of lamps grew (at most every
   * RELAYOUT_MS while a big fleet streams in), draw what changed. */
  frame(now = performance.now()): void {
    const store = this.store;
    if (this.placesLaidOut < 0 || (store.layoutChanged && now - this.laidOutAt >= RELAYOUT_MS)) {
      store.layoutChanged = false;
      this.laidOutAt = now;
      this.place();
    }
    const dirty = store.takeDirty();
    if (this.layout === null || this.image === null || dirty.length === 0) return;
    let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
    const cell = this.layout.cell;
    for (const slot of dirty) {
      const p = store.place[slot];
      // A lamp beyond the current layout is drawn by the next one (which redraws every lamp).
      if (p < 0 || p >= this.slotAtPlace.length) continue;
      const { x, y } = placeOrigin(this.layout, p);
      this.blit(slot, x, y);
      if (x < x0) x0 = x;
      if (y < y0) y0 = y;
      if (x + cell > x1) x1 = x + cell;
      if (y + cell > y1) y1 = y + cell;
    }
    if (x1 >= 0) this.ctx.putImageData(this.image, 0, 0, x0, y0, x1 - x0, y1 - y0);
  }

  /** Draw lamps of `group` on a highlighted street colour (null: no selection). */
  select(group: string | null): void {
    if (group === this.selected) return;
    this.selected = group;
    this.store.markAllDirty();
    this.drawOverlay();
  }

  /** The slot of the lamp under a mouse event, or -1. */
  slotAtEvent(event: MouseEvent): number {
    if (this.layout === null) return -1;
    const box = this.canvas.getBoundingClientRect();
    const place = placeAt(this.layout, Math.floor((event.clientX - box.left) * this.ratio), Math.floor((event.clientY - box.top) * this.ratio));
    return place >= 0 && place < this.slotAtPlace.length ? this.slotAtPlace[place] : -1;
  }

  /** Centre of a lamp's cell in CSS pixels from the canvas's top-left, or null if not on the map. */
  cellCenter(slot: number): { x: number; y: number } | null {
    const p = this.store.place[slot];
    if (this.layout === null || p === undefined || p < 0) return null;
    const { x, y } = placeOrigin(this.layout, p);
    const c = this.layout.cell / 2;
    return { x: (x + c) / this.ratio, y: (y + c) / this.ratio };
  }

  /** Ring the hovered lamp (-1: none) on the overlay. */
  hover(slot: number): void {
    if (slot === this.hovered) return;
    this.hovered = slot;
    this.drawOverlay();
  }

  private drawOverlay(): void {
    const ctx = this.overlayCtx;
    ctx.clearRect(0, 0, this.overlay.width, this.overlay.height);
    if (this.layout !== null && this.labelled) this.drawLabels(ctx, this.layout);
    if (this.hovered < 0 || this.layout === null) return;
    const p = this.store.place[this.hovered];
    if (p < 0) return;
    const { x, y } = placeOrigin(this.layout, p);
    const cell = this.layout.cell;
    const pad = Math.max(2, cell * 0.25);
    ctx.strokeStyle = 'rgba(125, 211, 252, 0.95)';
    ctx.lineWidth = Math.max(1.5, this.ratio * 1.5);
    ctx.beginPath();
    ctx.arc(x + cell / 2, y + cell / 2, cell / 2 + pad, 0, Math.PI * 2);
    ctx.stroke();
  }

  /** The layout for the canvas, with a margin for street names on the left when the lamps are
   * big and the streets form one column (smaller lamps leave no room to name a street). */
  private layoutWithLabels(places: number, width: number, height: number): CityLayout {
    const margin = Math.round(LABEL_MARGIN * this.ratio);
    const labelled = layoutCity(places, this.streetLen, width - margin, height);
    this.labelled = labelled.columns === 1 && labelled.cell >= LABELLED_CELL * this.ratio;
    if (!this.labelled) return layoutCity(places, this.streetLen, width, height);
    return { ...labelled, x0: labelled.x0 + margin, width: labelled.width + margin };
  }

  /** Street names left of the streets (`street-<k>`, as the simulator names its groups). */
  private drawLabels(ctx: CanvasRenderingContext2D, l: CityLayout): void {
    const streets = Math.ceil(this.store.places / this.streetLen);
    ctx.font = `${Math.round(11 * this.ratio)}px system-ui, sans-serif`;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (let k = 0; k < streets; k++) {
      const { x, y } = placeOrigin(l, k * this.streetLen);
      const name = `street-${k + 1}`;
      ctx.fillStyle = name === this.selected ? 'rgb(125, 211, 252)' : 'rgb(91, 103, 128)';
      ctx.fillText(name, x - Math.round(10 * this.ratio), y + (l.sides * l.cell + l.road) / 2);
    }
  }

  /** (Re)compute the layout for the current canvas size and lamps, then redraw every lamp. */
  private place(): void {
    const store = this.store;
    const places = store.places;
    const box = this.canvas.parentElement as HTMLElement;
    this.ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.floor(box.clientWidth * this.ratio));
    const height = Math.max(1, Math.floor(box.clientHeight * this.ratio));
    const layout = this.layoutWithLabels(Math.max(1, places), width, height);
    const same = this.layout !== null && this.image !== null && this.image.width === layout.width && this.image.height === layout.height &&
      this.layout.cell === layout.cell && this.layout.columns === layout.columns && this.layout.rows === layout.rows &&
      this.layout.x0 === layout.x0 && this.layout.y0 === layout.y0 && this.layout.sides === layout.sides;
    this.rebuildIndex(places);
    this.placesLaidOut = places;
    store.markAllDirty();
    if (same) {
      this.drawOverlay(); // the street names, for streets that just appeared
      return;
    }
    this.layout = layout;
    for (const c of [this.canvas, this.overlay]) {
      c.width = layout.width;
      c.height = layout.height;
      c.style.width = `${layout.width / this.ratio}px`;
      c.style.height = `${layout.height / this.ratio}px`;
    }
    this.image = this.ctx.createImageData(layout.width, layout.height);
    this.pixels = new Uint32Array(this.image.data.buffer);
    this.pixels.fill(pack(BACKGROUND));
    this.sprites = buildSprites(layout.cell);
    this.ctx.putImageData(this.image, 0, 0);
    this.drawOverlay();
  }

  private rebuildIndex(places: number): void {
    if (this.slotAtPlace.length !== places) this.slotAtPlace = new Int32Array(places);
    this.slotAtPlace.fill(-1);
    const store = this.store;
    for (let s = 0; s < store.count; s++) if (store.place[s] >= 0 && store.place[s] < places) this.slotAtPlace[store.place[s]] = s;
  }

  private blit(slot: number, x: number, y: number): void {
    const store = this.store;
    const selected = this.selected !== null && store.inGroup(slot, this.selected) ? LOOKS : 0;
    const src = this.sprites[look(store.flags[slot], store.level[slot]) + selected];
    const cell = (this.layout as CityLayout).cell;
    const stride = (this.image as ImageData).width;
    if (cell === 1) {
      this.pixels[y * stride + x] = src[0];
      return;
    }
    for (let row = 0; row < cell; row++) this.pixels.set(src.subarray(row * cell, row * cell + cell), (y + row) * stride + x);
  }
}
