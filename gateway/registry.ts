/**
 * The gateway's picture of the fleet: every lamp that ever registered, its address, lifetime,
 * groups and last reported state, and whether its registration is still alive.
 *
 * Sized for a million lamps: records are columns of typed arrays indexed by a small integer (plus
 * one id string, one address string and one Map entry per lamp), group lists are interned (a
 * million lamps in the same groups share one array), and lifetimes lapse in one periodic sweep —
 * no object, timer or closure per lamp. Records are never removed: a lapsed lamp stays known as
 * offline with its last state, so it can be shown and counted, and a re-registration reuses it.
 */

import { roundStats, type FleetStats, type LampReport } from '../protocol/mqtt-topics.js';
import type { LampSnapshot } from '../protocol/lamp.js';

export interface RegistryOptions {
  /** Registrations beyond this many distinct lamps are refused (a flood of made-up ids must not
   * exhaust memory). */
  maxLamps?: number;
  /** Extra time after the lifetime before a silent lamp counts as offline, for network delay. */
  graceMs?: number;
}

/** Distinct group names (and distinct group lists) beyond this many are ignored, as `maxLamps`
 * bounds the lamps: a flood of made-up names must not exhaust memory. */
const MAX_GROUPS = 10_000;

const ONLINE = 1;
const HAS_STATE = 2;
const ON = 4;
const FAULT = 8;

/** The fields of a lamp's state (setField). ON is always known once the lamp reported; the others
 * are known only once its client reported them: an LwM2M light without a power meter, energy
 * counter or dimmer leaves them out, and so does its MQTT state document. */
export const F_ON = 0;
export const F_LEVEL = 1;
export const F_WATTS = 2;
export const F_ENERGY = 3;
export const F_ON_TIME = 4;
export const F_FAULT = 5;
/** `present` bits, one per field but F_ON. */
const ALL_PRESENT = 0x3e;

export const emptyStats = (): FleetStats => ({ lamps: 0, online: 0, offline: 0, on: 0, off: 0, fault: 0, watts: 0, energyWh: 0 });

/** `column` if it has index `i`, else a copy grown to hold it (at least doubled, new entries 0): for
 * the per-lamp columns other parts of the gateway keep beside the registry, indexed like it. */
export function columnWith<T extends Uint8Array | Uint16Array | Int32Array | Float64Array>(column: T, i: number): T {
  if (i < column.length) return column;
  const grown = new (column.constructor as new (length: number) => T)(Math.max(i + 1, column.length * 2, 1024));
  grown.set(column);
  return grown;
}

export class LampRegistry {
  readonly maxLamps: number;
  readonly graceMs: number;
  /** Number of records; indices run 0..size-1. */
  size = 0;
  onlineCount = 0;
  /** Group names that were not interned because MAX_GROUPS was reached. */
  droppedGroups = 0;

  private capacity = 0;
  private readonly byId = new Map<string, number>();
  private ids: string[] = [];
  private addresses: string[] = [];
  private ports = new Uint16Array(0);
  private lifetimes = new Uint32Array(0);
  private flags = new Uint8Array(0);
  /** Which fields the lamp reported (bit 1 << F_*). */
  private present = new Uint8Array(0);
  /** Bumped on every registration: names one registration of the record (its location, its
   * observations), so a request or notification for an earlier one is recognised as stale. */
  private generations = new Uint8Array(0);
  /** What the lamp's client registered (gateway/lamps/lwm2m.ts CAP_* bits). */
  private caps = new Uint8Array(0);
  private levels = new Uint8Array(0);
  private groupLists = new Uint32Array(0);
  private expiresAt = new Float64Array(0);
  private updatedAt = new Float64Array(0);
  private watts = new Float64Array(0);
  private energyWh = new Float64Array(0);
  private onTimeS = new Float64Array(0);
  /** Index into firmwareNames of the version each lamp registered with (0 = none reported). */
  private firmwareIndex = new Uint16Array(0);
  /** Interned firmware versions: a fleet runs a handful, so a lamp holds two bytes, not a string. */
  private readonly firmwareNames: string[] = [''];
  private readonly firmwareByName = new Map<string, number>();

  /** Interned group names, and interned lists of group indices keyed by the lamp's groups string. */
  private readonly groupNames: string[] = [];
  private readonly groupIndex = new Map<string, number>();
  private readonly lists: number[][] = [[]];
  private readonly listIndex = new Map<string, number>([['', 0]]);

  constructor(options: RegistryOptions = {}) {
    this.maxLamps = options.maxLamps ?? 2_000_000;
    this.graceMs = options.graceMs ?? 1_000;
    this.grow(1024);
  }

  /** Index of the lamp with endpoint id `id`, or -1. */
  find(id: string): number {
    return this.byId.get(id) ?? -1;
  }

  /**
   * Record a (re-)registration: address, lifetime and groups, online from `now`, and a new
   * generation. Returns the record's index, or -1 when the registry is full. `groups` is the lamp's
   * comma-separated list (null: keep what the record has); names that `isUsableName` rejects are
   * skipped.
   */
  register(id: string, address: string, port: number, lifetimeS: number, groups: string | null, isUsableName: (group: string) => boolean, now: number): number {
    let i = this.find(id);
    if (i < 0) {
      if (this.size >= this.maxLamps) return -1;
      if (this.size === this.capacity) this.grow(this.capacity * 2);
      i = this.size++;
      this.byId.set(id, i);
      this.ids[i] = id;
    }
    if (groups !== null) this.setGroups(i, groups, isUsableName);
    this.generations[i]++;
    this.refresh(i, address, port, lifetimeS, now);
    return i;
  }

  /** The lamp's groups, a comma-separated list (see register). */
  setGroups(i: number, groups: string, isUsableName: (group: string) => boolean): void {
    this.groupLists[i] = this.internGroupList(groups, isUsableName);
  }

  /** The lamp ended its registration (LwM2M De-register): offline at once. */
  deregister(i: number): void {
    if (!(this.flags[i] & ONLINE)) return;
    this.flags[i] &= ~ONLINE;
    this.onlineCount--;
  }

  /** Record the firmware version lamp `i` reported (LwM2M /3/0/3). Beyond 65,535 distinct versions (only a
   * hostile fleet has that many) a new one is not recorded. */
  setFirmware(i: number, version: string | null): void {
    if (version === null) return void (this.firmwareIndex[i] = 0);
    let k = this.firmwareByName.get(version);
    if (k === undefined) {
      if (this.firmwareNames.length > 0xffff) return void (this.firmwareIndex[i] = 0);
      k = this.firmwareNames.push(version) - 1;
      this.firmwareByName.set(version, k);
    }
    this.firmwareIndex[i] = k;
  }

  /** A lamp spoke (registration update): it is online until its lifetime lapses again. */
  refresh(i: number, address: string, port: number, lifetimeS: number, now: number): void {
    this.addresses[i] = address;
    this.ports[i] = port;
    this.lifetimes[i] = lifetimeS;
    this.expiresAt[i] = now + lifetimeS * 1000 + this.graceMs;
    if (!(this.flags[i] & ONLINE)) {
      this.flags[i] |= ONLINE;
      this.onlineCount++;
    }
  }

  /** A whole state, every field known. */
  setReport(i: number, report: LampSnapshot, now: number): void {
    this.flags[i] = (this.flags[i] & ONLINE) | HAS_STATE | (report.on ? ON : 0) | (report.fault ? FAULT : 0);
    this.present[i] = ALL_PRESENT;
    this.levels[i] = report.level;
    this.watts[i] = report.watts;
    this.energyWh[i] = report.energyWh;
    this.onTimeS[i] = report.onTimeS;
    this.updatedAt[i] = now;
  }

  /** One field of the lamp's state (F_*) as its client reported it at `now`; a boolean as 0/1. */
  setField(i: number, field: number, value: number, now: number): void {
    if (field === F_ON) this.flags[i] = value ? this.flags[i] | ON : this.flags[i] & ~ON;
    else if (field === F_FAULT) this.flags[i] = value ? this.flags[i] | FAULT : this.flags[i] & ~FAULT;
    else if (field === F_LEVEL) this.levels[i] = value;
    else if (field === F_WATTS) this.watts[i] = value;
    else if (field === F_ENERGY) this.energyWh[i] = value;
    else this.onTimeS[i] = value;
    if (field !== F_ON) this.present[i] |= 1 << field;
    this.flags[i] |= HAS_STATE;
    this.updatedAt[i] = now;
  }

  /** The lamp does not report `field` (its client lacks the resource). */
  clearField(i: number, field: number): void {
    this.present[i] &= ~(1 << field);
  }

  has(i: number, field: number): boolean {
    return field === F_ON || (this.present[i] & (1 << field)) !== 0;
  }

  generation(i: number): number { return this.generations[i]; }
  clientCaps(i: number): number { return this.caps[i]; }
  setClientCaps(i: number, caps: number): void { this.caps[i] = caps; }

  /** Mark every lamp whose lifetime has lapsed at `now` offline, calling `lapsed(index)` for each.
   * One pass over a Float64Array: cheap enough to run every second at a million lamps. */
  sweep(now: number, lapsed: (i: number) => void): void {
    const flags = this.flags;
    const expiresAt = this.expiresAt;
    for (let i = 0; i < this.size; i++) {
      if (flags[i] & ONLINE && expiresAt[i] < now) {
        flags[i] &= ~ONLINE;
        this.onlineCount--;
        lapsed(i);
      }
    }
  }

  id(i: number): string { return this.ids[i]; }
  address(i: number): string { return this.addresses[i]; }
  port(i: number): number { return this.ports[i]; }
  lifetimeS(i: number): number { return this.lifetimes[i]; }
  /** The firmware version lamp `i` registered with, or null when it named none. */
  firmware(i: number): string | null { return this.firmwareIndex[i] === 0 ? null : this.firmwareNames[this.firmwareIndex[i]]; }
  online(i: number): boolean { return (this.flags[i] & ONLINE) !== 0; }
  hasReport(i: number): boolean { return (this.flags[i] & HAS_STATE) !== 0; }
  isOn(i: number): boolean { return (this.flags[i] & ON) !== 0; }
  isFault(i: number): boolean { return (this.flags[i] & FAULT) !== 0; }
  reportedAt(i: number): number { return this.updatedAt[i]; }

  /** The last reported state, without the fields the lamp does not report (allocates; for
   * publishing one lamp). */
  report(i: number): LampReport {
    const f = this.flags[i];
    const p = this.present[i];
    const r: LampReport = { on: (f & ON) !== 0 };
    if (p & (1 << F_LEVEL)) r.level = this.levels[i];
    if (p & (1 << F_WATTS)) r.watts = this.watts[i];
    if (p & (1 << F_ENERGY)) r.energyWh = this.energyWh[i];
    if (p & (1 << F_ON_TIME)) r.onTimeS = this.onTimeS[i];
    if (p & (1 << F_FAULT)) r.fault = (f & FAULT) !== 0;
    return r;
  }

  /** The lamp's group names. */
  groupsOf(i: number): readonly string[] {
    return this.lists[this.groupLists[i]].map((g) => this.groupNames[g]);
  }

  /** Call `each(index)` for every lamp in `group` (a scan: group commands are rare, lamps many). */
  forEachMember(group: string, each: (i: number) => void): void {
    const g = this.groupIndex.get(group);
    if (g === undefined) return;
    const member = this.lists.map((list) => list.includes(g));
    for (let i = 0; i < this.size; i++) if (member[this.groupLists[i]]) each(i);
  }

  hasGroup(group: string): boolean {
    return this.groupIndex.has(group);
  }

  /** Aggregates for the fleet and for every group, rounded (roundStats). One pass over the lamps adds each into the
   * totals of its interned group list (a few per fleet); the lists' totals are then folded into
   * their groups, so the per-lamp work does not grow with the number of groups a lamp is in. */
  aggregate(): { fleet: FleetStats; groups: Map<string, FleetStats> } {
    const perList = new Float64Array(this.lists.length * STAT_FIELDS);
    for (let i = 0; i < this.size; i++) {
      const o = this.groupLists[i] * STAT_FIELDS;
      const f = this.flags[i];
      const p = this.present[i];
      perList[o + T_LAMPS]++;
      if (p & (1 << F_ENERGY)) perList[o + T_ENERGY] += this.energyWh[i];
      if (!(f & ONLINE)) {
        perList[o + T_OFFLINE]++;
        continue;
      }
      perList[o + T_ONLINE]++;
      perList[o + ((f & ON) !== 0 ? T_ON : T_OFF)]++;
      if (f & FAULT) perList[o + T_FAULT]++;
      if (p & (1 << F_WATTS)) perList[o + T_WATTS] += this.watts[i];
    }
    const fleet = emptyStats();
    const perGroup = this.groupNames.map(emptyStats);
    this.lists.forEach((list, l) => {
      addTotals(fleet, perList, l * STAT_FIELDS);
      for (const g of list) addTotals(perGroup[g], perList, l * STAT_FIELDS);
    });
    const groups = new Map<string, FleetStats>();
    this.groupNames.forEach((name, g) => groups.set(name, roundStats(perGroup[g])));
    return { fleet: roundStats(fleet), groups };
  }

  private internGroupList(groups: string, isUsableName: (group: string) => boolean): number {
    const known = this.listIndex.get(groups);
    if (known !== undefined) return known;
    const list: number[] = [];
    for (const raw of groups.split(',')) {
      const name = raw.trim();
      if (name === '' || !isUsableName(name)) continue;
      let g = this.groupIndex.get(name);
      if (g === undefined) {
        if (this.groupNames.length >= MAX_GROUPS) {
          this.droppedGroups++;
          continue;
        }
        g = this.groupNames.length;
        this.groupNames.push(name);
        this.groupIndex.set(name, g);
      }
      if (!list.includes(g)) list.push(g);
    }
    // Lists are interned by the lamp's exact string; their number is bounded like the names'.
    if (this.lists.length >= MAX_GROUPS) {
      const same = this.lists.findIndex((l) => l.length === list.length && l.every((g) => list.includes(g)));
      if (same >= 0) return same;
      this.droppedGroups += list.length;
      return 0;
    }
    this.lists.push(list);
    this.listIndex.set(groups, this.lists.length - 1);
    return this.lists.length - 1;
  }

  private grow(capacity: number): void {
    const widen = <T extends Uint8Array | Uint16Array | Uint32Array | Float64Array>(old: T, make: (n: number) => T): T => {
      const next = make(capacity);
      next.set(old);
      return next;
    };
    this.ports = widen(this.ports, (n) => new Uint16Array(n));
    this.firmwareIndex = widen(this.firmwareIndex, (n) => new Uint16Array(n));
    this.lifetimes = widen(this.lifetimes, (n) => new Uint32Array(n));
    this.flags = widen(this.flags, (n) => new Uint8Array(n));
    this.present = widen(this.present, (n) => new Uint8Array(n));
    this.generations = widen(this.generations, (n) => new Uint8Array(n));
    this.caps = widen(this.caps, (n) => new Uint8Array(n));
    this.levels = widen(this.levels, (n) => new Uint8Array(n));
    this.groupLists = widen(this.groupLists, (n) => new Uint32Array(n));
    this.expiresAt = widen(this.expiresAt, (n) => new Float64Array(n));
    this.updatedAt = widen(this.updatedAt, (n) => new Float64Array(n));
    this.watts = widen(this.watts, (n) => new Float64Array(n));
    this.energyWh = widen(this.energyWh, (n) => new Float64Array(n));
    this.onTimeS = widen(this.onTimeS, (n) => new Float64Array(n));
    this.capacity = capacity;
  }
}

/** Offsets of the FleetStats fields in the aggregation's flat totals (STAT_FIELDS per list). */
const T_LAMPS = 0;
const T_ONLINE = 1;
const T_OFFLINE = 2;
const T_ON = 3;
const T_OFF = 4;
const T_FAULT = 5;
const T_WATTS = 6;
const T_ENERGY = 7;
const STAT_FIELDS = 8;

function addTotals(stats: FleetStats, totals: Float64Array, o: number): void {
  stats.lamps += totals[o + T_LAMPS];
  stats.online += totals[o + T_ONLINE];
  stats.offline += totals[o + T_OFFLINE];
  stats.on += totals[o + T_ON];
  stats.off += totals[o + T_OFF];
  stats.fault += totals[o + T_FAULT];
  stats.watts += totals[o + T_WATTS];
  stats.energyWh += totals[o + T_ENERGY];
}
