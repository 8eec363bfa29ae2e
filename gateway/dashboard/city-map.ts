/**
 * The city map: every lamp on one canvas, with zoom and pan. Lamps are blitted as small
 * prerendered sprites (one per look: 101 dim levels, off, fault, offline, not yet reported — each
 * also in a "selected" tint) into one ImageData, the *world*, laid out larger than the screen when
 * lamps are small so that zooming in shows lamps rather than blown-up pixels. A frame copies only
 * the lamps the store marked dirty into the world, then draws the world onto the visible canvas at
 * the current zoom and pan. 100,000 lamps changing at once cost one pass over typed arrays.
 *
 * A second canvas on top carries what is drawn in screen pixels: street names (at every zoom, as
 * many as fit), the hover ring and the ring of a lamp found by search.
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

/** The world is laid out at up to this many times the screen's size, until a lamp is WORLD_CELL
 * pixels, within WORLD_PIXELS (each pixel is 4 bytes of ImageData). */
const WORLD_SCALE_MAX = 8;
const WORLD_CELL = 8;
const WORLD_PIXELS = 8_000_000;
/** Zooming in stops when a lamp is this big on screen (CSS px). */
const MAX_CELL_ON_SCREEN = 64;
/** A lamp found by search is shown at least this big (CSS px). */
const FOCUS_CELL = 24;
/** Street names are at least this far apart on screen (CSS px); streets between go unnamed. */
const LABEL_PITCH = 18;
const LABEL_STRIDES = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

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
  private readonly world = document.createElement('canvas');
  private readonly worldCtx: CanvasRenderingContext2D;
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
  private found = -1;
  /** Device pixels per CSS pixel. */
  private ratio = 1;
  /** Visible canvas size (device pixels). */
  private viewW = 1;
  private viewH = 1;
  /** Screen pixels per world pixel when the whole city fits, and the zoom above that. */
  private fitScale = 1;
  private zoom = 1;
  /** Screen position (device pixels) of the world's top-left corner. */
  private panX = 0;
  private panY = 0;
  private viewChanged = true;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly overlay: HTMLCanvasElement,
    private readonly store: LampStore,
    private readonly streetLen: number,
  ) {
    this.ctx = canvas.getContext('2d', { alpha: false }) as CanvasRenderingContext2D;
    this.overlayCtx = overlay.getContext('2d') as CanvasRenderingContext2D;
    this.worldCtx = this.world.getContext('2d', { alpha: false }) as CanvasRenderingContext2D;
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
    if (this.layout !== null && this.image !== null && dirty.length > 0) {
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
      if (x1 >= 0) {
        this.worldCtx.putImageData(this.image, 0, 0, x0, y0, x1 - x0, y1 - y0);
        this.present();
      }
    }
    if (this.viewChanged) {
      this.viewChanged = false;
      this.present();
      this.drawOverlay();
    }
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
    const scale = this.fitScale * this.zoom;
    const wx = ((event.clientX - box.left) * this.ratio - this.panX) / scale;
    const wy = ((event.clientY - box.top) * this.ratio - this.panY) / scale;
    const place = placeAt(this.layout, Math.floor(wx), Math.floor(wy));
    return place >= 0 && place < this.slotAtPlace.length ? this.slotAtPlace[place] : -1;
  }

  /** Centre of a lamp's cell in CSS pixels from the canvas's top-left, or null if not on the map. */
  cellCenter(slot: number): { x: number; y: number } | null {
    const p = this.store.place[slot];
    if (this.layout === null || p === undefined || p < 0 || p >= this.slotAtPlace.length) return null;
    const { x, y } = placeOrigin(this.layout, p);
    const c = this.layout.cell / 2;
    const scale = this.fitScale * this.zoom;
    return { x: (this.panX + (x + c) * scale) / this.ratio, y: (this.panY + (y + c) * scale) / this.ratio };
  }

  /** A lamp's size on screen (CSS pixels). */
  get cellOnScreen(): number {
    return this.layout === null ? 0 : (this.layout.cell * this.fitScale * this.zoom) / this.ratio;
  }

  /** Ring the hovered lamp (-1: none) on the overlay. */
  hover(slot: number): void {
    if (slot === this.hovered) return;
    this.hovered = slot;
    this.drawOverlay();
  }

  /** Zoom by `factor` keeping the point (x, y) (CSS px from the canvas's top-left) where it is. */
  zoomBy(factor: number, x = this.viewW / this.ratio / 2, y = this.viewH / this.ratio / 2): void {
    if (this.layout === null) return;
    const maxZoom = Math.max(1, (MAX_CELL_ON_SCREEN * this.ratio) / (this.layout.cell * this.fitScale));
    const zoom = Math.max(1, Math.min(maxZoom, this.zoom * factor));
    const k = zoom / this.zoom;
    this.panX = x * this.ratio - (x * this.ratio - this.panX) * k;
    this.panY = y * this.ratio - (y * this.ratio - this.panY) * k;
    this.zoom = zoom;
    this.clampPan();
  }

  /** Move the view by (dx, dy) CSS pixels. */
  panBy(dx: number, dy: number): void {
    this.panX += dx * this.ratio;
    this.panY += dy * this.ratio;
    this.clampPan();
  }

  /** Show the whole city. */
  fit(): void {
    this.zoom = 1;
    this.clampPan();
  }

  /** Zoom to lamp `slot` (big enough to read, centred) and ring it until `focus(-1)`. */
  focus(slot: number): void {
    this.found = slot;
    const p = slot < 0 ? -1 : this.store.place[slot];
    if (this.layout === null || p < 0 || p >= this.slotAtPlace.length) {
      this.viewChanged = true;
      return;
    }
    const cellNow = this.layout.cell * this.fitScale;
    this.zoom = Math.max(this.zoom, Math.min((MAX_CELL_ON_SCREEN * this.ratio) / cellNow, (FOCUS_CELL * this.ratio) / cellNow));
    const { x, y } = placeOrigin(this.layout, p);
    const scale = this.fitScale * this.zoom;
    const c = this.layout.cell / 2;
    this.panX = this.viewW / 2 - (x + c) * scale;
    this.panY = this.viewH / 2 - (y + c) * scale;
    this.clampPan();
  }

  /** Keep the city on screen: centred along an axis where it is smaller than the view, else
   * with no empty margin beyond its edges. */
  private clampPan(): void {
    if (this.layout !== null) {
      const scale = this.fitScale * this.zoom;
      const w = this.layout.width * scale;
      const h = this.layout.height * scale;
      this.panX = w <= this.viewW ? (this.viewW - w) / 2 : Math.min(0, Math.max(this.viewW - w, this.panX));
      this.panY = h <= this.viewH ? (this.viewH - h) / 2 : Math.min(0, Math.max(this.viewH - h, this.panY));
    }
    this.viewChanged = true;
  }

  /** The world onto the visible canvas at the current zoom and pan. */
  private present(): void {
    const ctx = this.ctx;
    const scale = this.fitScale * this.zoom;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = rgbCss(BACKGROUND);
    ctx.fillRect(0, 0, this.viewW, this.viewH);
    if (this.layout === null) return;
    // Shrinking averages neighbouring lamps; enlarging keeps a lamp's pixels sharp.
    ctx.imageSmoothingEnabled = scale < 1;
    ctx.imageSmoothingQuality = 'high';
    ctx.setTransform(scale, 0, 0, scale, this.panX, this.panY);
    ctx.drawImage(this.world, 0, 0);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
  }

  private drawOverlay(): void {
    const ctx = this.overlayCtx;
    ctx.clearRect(0, 0, this.overlay.width, this.overlay.height);
    if (this.layout === null) return;
    this.drawLabels(ctx, this.layout);
    this.ring(ctx, this.found, 'rgba(251, 191, 36, 0.95)');
    this.ring(ctx, this.hovered, 'rgba(125, 211, 252, 0.95)');
  }

  private ring(ctx: CanvasRenderingContext2D, slot: number, color: string): void {
    if (slot < 0) return;
    const at = this.cellCenter(slot);
    if (at === null) return;
    const r = (this.cellOnScreen / 2 + Math.max(2, this.cellOnScreen * 0.25)) * this.ratio;
    ctx.strokeStyle = color;
    ctx.lineWidth = Math.max(1.5, this.ratio * 1.5);
    ctx.beginPath();
    ctx.arc(at.x * this.ratio, at.y * this.ratio, Math.max(r, 5 * this.ratio), 0, Math.PI * 2);
    ctx.stroke();
  }

  /**
   * Street names (`street-<k>`, as the simulator names its groups) on a dark plate at the left of
   * each street, kept on screen while the street is: every street when they are far enough apart,
   * else every 2nd, 5th, 10th… so that names never overlap, at any zoom. Where a district is too
   * narrow for the name (a phone), the number alone.
   */
  private drawLabels(ctx: CanvasRenderingContext2D, l: CityLayout): void {
    const streets = Math.ceil(this.store.places / this.streetLen);
    if (streets === 0) return;
    const scale = this.fitScale * this.zoom;
    const r = this.ratio;
    const pitch = (l.sides * l.cell + l.road + l.block) * scale / r;
    const columnWidth = l.perSide * l.cell * scale;
    const stride = LABEL_STRIDES.find((n) => n * pitch >= LABEL_PITCH) ?? LABEL_STRIDES[LABEL_STRIDES.length - 1];
    ctx.font = `600 ${Math.round(11 * r)}px system-ui, sans-serif`;
    const plate = (text: string): number => ctx.measureText(text).width + 4 * r;
    const longest = `street-${streets}`;
    const name = plate(longest) <= columnWidth ? (k: number) => `street-${k}` : plate(String(streets)) <= columnWidth ? String : null;
    if (name === null) return;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    const streetH = (l.sides * l.cell + l.road) * scale;
    for (let k = stride - 1; k < streets; k += stride) {
      const { x, y } = placeOrigin(l, k * this.streetLen);
      const left = this.panX + x * scale;
      const right = left + l.perSide * l.cell * scale;
      const mid = this.panY + y * scale + streetH / 2;
      if (mid < -10 * r || mid > this.viewH + 10 * r || right < 0 || left > this.viewW) continue;
      const text = name(k + 1);
      const w = plate(text);
      const at = Math.min(Math.max(left, 4 * r), right - w);
      if (at < left - 1) continue;
      ctx.fillStyle = 'rgba(7, 11, 20, 0.78)';
      ctx.fillRect(at, mid - 8 * r, w, 16 * r);
      ctx.fillStyle = `street-${k + 1}` === this.selected ? 'rgb(125, 211, 252)' : 'rgb(172, 184, 204)';
      ctx.fillText(text, at + 2 * r, mid + 0.5 * r);
    }
  }

  /** (Re)compute the layout for the current canvas size and lamps, then redraw every lamp. */
  private place(): void {
    const store = this.store;
    const places = Math.max(1, store.places);
    const box = this.canvas.parentElement as HTMLElement;
    this.ratio = window.devicePixelRatio || 1;
    const viewW = Math.max(1, Math.floor(box.clientWidth * this.ratio));
    const viewH = Math.max(1, Math.floor(box.clientHeight * this.ratio));
    const fitted = layoutCity(places, this.streetLen, viewW, viewH);
    // Lay the world out larger than the view while lamps are small, within the pixel budget.
    let k = 1;
    while (k < WORLD_SCALE_MAX && fitted.cell * k < WORLD_CELL && viewW * viewH * (k + 1) ** 2 <= WORLD_PIXELS) k++;
    const layout = k === 1 ? fitted : layoutCity(places, this.streetLen, viewW * k, viewH * k);
    const same = this.layout !== null && this.image !== null && this.image.width === layout.width && this.image.height === layout.height &&
      this.layout.cell === layout.cell && this.layout.columns === layout.columns && this.layout.rows === layout.rows &&
      this.layout.x0 === layout.x0 && this.layout.y0 === layout.y0 && this.layout.sides === layout.sides;
    this.rebuildIndex(store.places);
    this.placesLaidOut = store.places;
    store.markAllDirty();
    if (viewW !== this.viewW || viewH !== this.viewH) {
      this.viewW = viewW;
      this.viewH = viewH;
      for (const c of [this.canvas, this.overlay]) {
        c.width = viewW;
        c.height = viewH;
        c.style.width = `${viewW / this.ratio}px`;
        c.style.height = `${viewH / this.ratio}px`;
      }
    }
    if (same) {
      this.clampPan();
      return;
    }
    this.layout = layout;
    this.fitScale = Math.min(viewW / layout.width, viewH / layout.height);
    this.zoom = 1;
    this.clampPan();
    this.world.width = layout.width;
    this.world.height = layout.height;
    this.image = this.worldCtx.createImageData(layout.width, layout.height);
    this.pixels = new Uint32Array(this.image.data.buffer);
    this.pixels.fill(pack(BACKGROUND));
    this.sprites = buildSprites(layout.cell);
    this.worldCtx.putImageData(this.image, 0, 0);
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
