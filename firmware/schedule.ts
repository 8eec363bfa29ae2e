/**
 * The dusk-to-dawn schedule with its optional night dim profile, as pure functions of the config
 * and the time. The lamp is lit from sunset to sunrise at defaultLevel, at nightLevel inside the
 * local window [nightFrom, nightTo). Edges are the instants where the schedule is re-applied (and a
 * manual override ends): sunrise, sunset and, with a profile, the window's two ends. In polar day or
 * night there is no sun edge for days; the lamp then re-applies the schedule once a day.
 */
import type { LampConfig } from './lamp.js';
import { POLAR_DAY, POLAR_NIGHT, sunEvent } from './sun.js';

const DAY_MS = 86400000;
const MIN_MS = 60000;

export function hasSchedule(cfg: LampConfig): boolean {
  return cfg.lat === cfg.lat && cfg.lon === cfg.lon && cfg.lat !== null && cfg.lon !== null;
}

/** Results of the last `scanSun`, kept in module variables so the scan allocates nothing. */
let night = false;
let sunEdge = Infinity;

let known = false;

/** One sun event at `at` during the scan of t. */
function step(at: number, isNight: boolean, t: number): void {
  if (at <= t) {
    night = isNight;
    known = true;
  } else if (sunEdge === Infinity && known && isNight !== night) sunEdge = at;
}

/** Walks the sun's events around t in time order: sets `night` (the last event at or before t was a
 * sunset, or the day is a polar night) and `sunEdge` (the first later event that changes it). */
function scanSun(cfg: LampConfig, t: number): void {
  const today = Math.floor(t / DAY_MS);
  known = false;
  sunEdge = Infinity;
  for (let day = today - 2; day <= today + 2 && sunEdge === Infinity; day++) {
    const rise = sunEvent(day, cfg.lat, cfg.lon, true);
    if (rise === POLAR_DAY || rise === POLAR_NIGHT) {
      // A whole day without crossing: its state holds from that solar day's midnight.
      step(day * DAY_MS - cfg.lon * 4 * MIN_MS, rise === POLAR_NIGHT, t);
    } else {
      step(rise, false, t);
      step(sunEvent(day, cfg.lat, cfg.lon, false), true, t);
    }
  }
  if (sunEdge === Infinity) sunEdge = t + DAY_MS;
}

/** Milliseconds into the local day at t (exact for whole-millisecond times). */
function localMs(cfg: LampConfig, t: number): number {
  const m = (t + cfg.tzMin * MIN_MS) % DAY_MS;
  return m < 0 ? m + DAY_MS : m;
}

function inNightWindow(cfg: LampConfig, t: number): boolean {
  const m = localMs(cfg, t);
  const from = cfg.nightFrom * MIN_MS;
  const to = cfg.nightTo * MIN_MS;
  return from < to ? m >= from && m < to : from > to && (m >= from || m < to);
}

/** First time after t at which the local clock reads `minute`. */
function nextLocalMinute(cfg: LampConfig, t: number, minute: number): number {
  let d = minute * MIN_MS - localMs(cfg, t);
  if (d <= 0) d += DAY_MS;
  return t + d;
}

/** The level the schedule asks for at t: 0 (off) by day, defaultLevel or nightLevel by night. */
export function scheduledLevel(cfg: LampConfig, t: number): number {
  scanSun(cfg, t);
  if (!night) return 0;
  return cfg.nightLevel > 0 && inNightWindow(cfg, t) ? cfg.nightLevel : cfg.defaultLevel;
}

/** The first schedule edge after t; Infinity without a schedule. */
export function nextEdge(cfg: LampConfig, t: number): number {
  if (!hasSchedule(cfg)) return Infinity;
  scanSun(cfg, t);
  let edge = sunEdge;
  if (cfg.nightLevel > 0 && cfg.nightFrom !== cfg.nightTo) {
    edge = Math.min(edge, nextLocalMinute(cfg, t, cfg.nightFrom), nextLocalMinute(cfg, t, cfg.nightTo));
  }
  return edge;
}
