/**
 * Every lamp the page has heard of, in typed arrays (struct of arrays): 100,000 lamps cost a few
 * hundred kilobytes and no object per lamp, and the map redraws only the lamps marked dirty here.
 *
 * A lamp gets a slot the first time its id appears on MQTT. Its *place* on the map is its number
 * for numeric ids (simulated lamp n sits at place n-1, so street-k's hundred lamps stay together)
 * and comes after every numeric lamp for other ids (real boards named by their MAC, say).
 */
import { SNAPSHOT_FAULT, SNAPSHOT_ON, SNAPSHOT_ONLINE, SNAPSHOT_REPORTED, type FleetSnapshot } from '../../protocol/dashboard-api.js';
import type { LampStateDocument } from '../../protocol/mqtt-topics.js';

export const KNOWN = 1; // a state report arrived
export const ONLINE = 2;
export const ON = 4;
export const FAULT = 8;
export const AVAILABILITY_KNOWN = 16;

/** Numeric ids beyond this are placed like named ones (a typo must not make the map a mile long). */
const MAX_NUMERIC_PLACE = 10_000_000;

/** A retained state document as received: any field may be missing or of another type. */
type StateDocument = Partial<Record<keyof LampStateDocument, unknown>>;

/** What the hover card shows for one lamp. */
export interface LampDetails {
  id: string;
  address: string;
  flags: number;
  level: number;
  watts: number;
  energyWh: number;
  groups: readonly string[];
  /** When the lamp last reported (ms since the epoch), 0 if never. */
  reportedAt: number;
}

export class LampStore {
  /** Slots in use (0..count-1). */
  count = 0;
  /** Lamps with a state report (what the map can draw). */
  reported = 0;
  flags = new Uint8Array(1024);
  level = new Uint8Array(1024);
  watts = new Float32Array(1024);
  energyWh = new Float64Array(1024);
  reportedAt = new Float64Array(1024);
  /** Index into `groupLists` per slot. */
  groupList = new Uint16Array(1024);
  /** Map place of every slot (see file header); -1 until placed. */
  place = new Int32Array(1024).fill(-1);
  readonly ids: string[] = [];
  readonly addresses: string[] = [];
  /** Interned group lists: most lamps share a handful (their street). */
  readonly groupLists: (readonly string[])[] = [[]];
  private readonly groupListIndex = new Map<string, number>([['', 0]]);
  private readonly slotById = new Map<string, number>();
  private readonly slotByAddress = new Map<string, number>();
  /** Highest numeric place plus one; named lamps are placed after it. */
  numericPlaces = 0;
  private readonly namedSlots: number[] = [];

  /** Slots changed since the last `takeDirty` (each listed once). */
  private dirtyMark = new Uint8Array(1024);
  private dirtyList: number[] = [];
  /** Set when a lamp was added: the map must lay itself out again. */
  layoutChanged = false;

  slotOf(id: string): number | undefined {
    return this.slotById.get(id);
  }

  /** Apply a `lampnet/lamps/<id>/state` message; false if the payload is not a state document. */
  applyState(id: string, payload: string): boolean {
    let doc: unknown;
    try {
      doc = JSON.parse(payload);
    } catch {
      return false;
    }
    return this.applyDocument(id, doc);
  }

  /**
   * Apply a state document (from MQTT or the fleet snapshot); false if it is not one. A document
   * older than the one shown is ignored: the snapshot and the retained messages overlap, and
   * either may be the newer.
   */
  applyDocument(id: string, value: unknown): boolean {
    if (value === null || typeof value !== 'object') return false;
    const doc = value as StateDocument;
    const slot = this.slotFor(id);
    const reportedAt = typeof doc.updatedAt === 'string' ? Date.parse(doc.updatedAt) : NaN;
    if (this.flags[slot] & KNOWN && reportedAt <= this.reportedAt[slot]) return true;
    this.setReport(slot, (doc.on === true ? ON : 0) | (doc.fault === true ? FAULT : 0),
      typeof doc.level === 'number' ? doc.level : 0, typeof doc.watts === 'number' ? doc.watts : 0, typeof doc.energyWh === 'number' ? doc.energyWh : 0,
      Number.isFinite(reportedAt) ? reportedAt : 0);
    if (typeof doc.address === 'string') this.setAddress(slot, doc.address);
    if (Array.isArray(doc.groups)) this.groupList[slot] = this.internGroups(doc.groups.filter((g): g is string => typeof g === 'string'));
    return true;
  }

  /** Apply the fleet snapshot (GET /api/fleet); a lamp shown with a newer report keeps it.
   * Returns how many lamps of the snapshot have a report. */
  applySnapshot(snapshot: FleetSnapshot): number {
    const lamps = snapshot.lamps;
    const lists = snapshot.groupLists.map((groups) => this.internGroups(groups.filter((g) => typeof g === 'string')));
    let reported = 0;
    for (let k = 0; k < lamps.id.length; k++) {
      const slot = this.slotFor(String(lamps.id[k]));
      const bits = lamps.flags[k];
      const before = this.flags[slot];
      this.flags[slot] = (before & ~ONLINE) | AVAILABILITY_KNOWN | (bits & SNAPSHOT_ONLINE ? ONLINE : 0);
      if (this.flags[slot] !== before) this.markDirty(slot);
      if (!(bits & SNAPSHOT_REPORTED)) continue;
      reported++;
      if (before & KNOWN && lamps.reportedAt[k] <= this.reportedAt[slot]) continue;
      this.setReport(slot, (bits & SNAPSHOT_ON ? ON : 0) | (bits & SNAPSHOT_FAULT ? FAULT : 0), lamps.level[k], lamps.watts[k], lamps.energyWh[k], lamps.reportedAt[k]);
      if (typeof lamps.address[k] === 'string') this.setAddress(slot, lamps.address[k]);
      this.groupList[slot] = lists[lamps.groups[k]] ?? 0;
    }
    return reported;
  }

  /** A lamp's reported state; `state` is its ON and FAULT bits. */
  private setReport(slot: number, state: number, level: number, watts: number, energyWh: number, reportedAt: number): void {
    if (!(this.flags[slot] & KNOWN)) this.reported++;
    let flags = (this.flags[slot] & (ONLINE | AVAILABILITY_KNOWN)) | KNOWN | (state & (ON | FAULT));
    // A state report means the lamp spoke recently: online, until availability says otherwise.
    if (!(flags & AVAILABILITY_KNOWN)) flags |= ONLINE;
    this.flags[slot] = flags;
    this.level[slot] = Math.max(0, Math.min(100, Math.round(level) || 0));
    this.watts[slot] = Number(watts) || 0;
    this.energyWh[slot] = Number(energyWh) || 0;
    this.reportedAt[slot] = Number(reportedAt) || 0;
    this.markDirty(slot);
  }

  private setAddress(slot: number, address: string): void {
    if (address === this.addresses[slot]) return;
    if (this.addresses[slot] !== undefined) this.slotByAddress.delete(this.addresses[slot]);
    this.addresses[slot] = address;
    this.slotByAddress.set(address, slot);
  }

  /** Apply a retained `lampnet/lamps/<id>/availability` message (`online` / `offline`). */
  applyAvailability(id: string, payload: string): boolean {
    if (payload !== 'online' && payload !== 'offline') return false;
    const slot = this.slotFor(id);
    const before = this.flags[slot];
    const flags = before | AVAILABILITY_KNOWN;
    this.flags[slot] = payload === 'online' ? flags | ONLINE : flags & ~ONLINE;
    if (this.flags[slot] !== before) this.markDirty(slot);
    return true;
  }

  /** The slot of the lamp with id `query`, or with IPv6 address `query` in any spelling. */
  find(query: string): number | undefined {
    const text = query.trim();
    const byId = this.slotById.get(text) ?? this.slotByAddress.get(text.toLowerCase());
    if (byId !== undefined || !text.includes(':')) return byId;
    try {
      // The URL parser writes an IPv6 address in its canonical form, as the gateway does.
      return this.slotByAddress.get(new URL(`http://[${text}]/`).hostname.slice(1, -1));
    } catch {
      return undefined;
    }
  }

  details(slot: number): LampDetails {
    return {
      id: this.ids[slot],
      address: this.addresses[slot] ?? '',
      flags: this.flags[slot],
      level: this.level[slot],
      watts: this.watts[slot],
      energyWh: this.energyWh[slot],
      groups: this.groupLists[this.groupList[slot]],
      reportedAt: this.reportedAt[slot],
    };
  }

  /** Does `slot` belong to `group`? */
  inGroup(slot: number, group: string): boolean {
    return this.groupLists[this.groupList[slot]].includes(group);
  }

  /** Total places the map must show (numeric places, then named lamps). */
  get places(): number {
    return this.numericPlaces + this.namedSlots.length;
  }

  /** The dirty slots since the last call, and clear them. */
  takeDirty(): number[] {
    const list = this.dirtyList;
    for (const slot of list) this.dirtyMark[slot] = 0;
    this.dirtyList = [];
    return list;
  }

  /** Mark every lamp dirty (a new selection changes how all of them are drawn). */
  markAllDirty(): void {
    for (let i = 0; i < this.count; i++) this.markDirty(i);
  }

  private markDirty(slot: number): void {
    if (this.dirtyMark[slot]) return;
    this.dirtyMark[slot] = 1;
    this.dirtyList.push(slot);
  }

  private slotFor(id: string): number {
    const known = this.slotById.get(id);
    if (known !== undefined) return known;
    const slot = this.count++;
    if (slot === this.flags.length) this.grow();
    this.slotById.set(id, slot);
    this.ids[slot] = id;
    const n = /^[1-9][0-9]*$/.test(id) ? Number(id) : NaN;
    if (n <= MAX_NUMERIC_PLACE) {
      this.place[slot] = n - 1;
      if (n > this.numericPlaces) {
        this.numericPlaces = n;
        // Named lamps sit after the numeric ones, so they move when the numeric range grows.
        this.namedSlots.forEach((s, k) => { this.place[s] = n + k; });
      }
    } else {
      this.place[slot] = this.numericPlaces + this.namedSlots.length;
      this.namedSlots.push(slot);
    }
    this.layoutChanged = true;
    return slot;
  }

  private internGroups(groups: string[]): number {
    const key = groups.join(',');
    let index = this.groupListIndex.get(key);
    if (index === undefined && this.groupLists.length < 65_535) {
      index = this.groupLists.length;
      this.groupLists.push(groups);
      this.groupListIndex.set(key, index);
    }
    return index ?? 0;
  }

  private grow(): void {
    const size = this.flags.length * 2;
    const bigger = <T extends Uint8Array | Uint16Array | Int32Array | Float32Array | Float64Array>(old: T, make: (n: number) => T): T => {
      const next = make(size);
      next.set(old as never);
      return next;
    };
    this.flags = bigger(this.flags, (n) => new Uint8Array(n));
    this.level = bigger(this.level, (n) => new Uint8Array(n));
    this.watts = bigger(this.watts, (n) => new Float32Array(n));
    this.energyWh = bigger(this.energyWh, (n) => new Float64Array(n));
    this.reportedAt = bigger(this.reportedAt, (n) => new Float64Array(n));
    this.groupList = bigger(this.groupList, (n) => new Uint16Array(n));
    this.place = bigger(this.place, (n) => new Int32Array(n).fill(-1));
    this.dirtyMark = bigger(this.dirtyMark, (n) => new Uint8Array(n));
  }
}
