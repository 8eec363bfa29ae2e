/**
 * The dusk-to-dawn schedule with its optional night dim profile, computed from the context lamp's
 * config at the context's time (context.ts), with one scan of the sun for both answers. The lamp is lit from sunset to sunrise at defaultLevel, at nightLevel inside the
 * local window [nightFrom, nightTo). Edges are the instants where the schedule is re-applied (and a
 * manual override ends): sunrise, sunset and, with a profile, the window's two ends. In polar day or
 * night there is no sun edge for days; the lamp then re-applies the schedule once a day.
 */
import { lamp, time } from './context.js';
import type { LampConfig } from './lamp.js';
import { DAY_MS, POLAR_DAY, POLAR_NIGHT, sunEvent } from './sun.js';

const MIN_MS = 60000;

/** Whether the config places the lamp (a config restored from JSON holds null for NaN). */
function hasSchedule(cfg: LampConfig): boolean {
  return cfg.lat != null && cfg.lon != null && !isNaN(cfg.lat + cfg.lon);
}

/** Results of the last `scanSun`, kept in module variables so the scan allocates nothing. */
let night = false;
let sunEdge = Infinity;

/** One sun event at `at` during the scan: either before the context's time (then it says whether it
 * is night) or the next one that changes that. The scan starts two days back, so the state at the
 * context's time is known before any later event comes. */
function step(at: number, isNight: boolean): void {
  if (at <= time) night = isNight;
  else if (sunEdge === Infinity && isNight !== night) sunEdge = at;
}

/** Walks the sun's events around the context's time in time order: sets `night` (the last event
 * at or before it was a sunset, or the day is a polar night) and `sunEdge` (the first later event
 * that changes it). */
function scanSun(cfg: LampConfig): void {
  const today = Math.floor(time / DAY_MS);
  sunEdge = Infinity;
  for (let day = today - 2; day <= today + 2 && sunEdge === Infinity; day++) {
    const rise = sunEvent(day, cfg.lat, cfg.lon, true);
    if (rise === POLAR_DAY || rise === POLAR_NIGHT) {
      // A whole day without crossing: its state holds from that solar day's midnight.
      step(day * DAY_MS - cfg.lon * 4 * MIN_MS, rise === POLAR_NIGHT);
    } else {
      step(rise, false);
      step(sunEvent(day, cfg.lat, cfg.lon, false), true);
    }
  }
  if (sunEdge === Infinity) sunEdge = time + DAY_MS;
}

/** Milliseconds of the local day at the context's time until the local clock reads `minute`,
 * in (0, DAY_MS]. */
function untilLocalMinute(cfg: LampConfig, minute: number): number {
  const d = (minute * MIN_MS - time - cfg.tzMin * MIN_MS) % DAY_MS;
  return d > 0 ? d : d + DAY_MS;
}

/** The schedule of the context's lamp at the context's time: sets the lamp's next edge (Infinity
 * without a schedule) and returns the level asked for now: 0 (off) by day, defaultLevel or
 * nightLevel by night, -1 without a schedule. */
export function scheduleNow(): number {
  const cfg = lamp.cfg;
  if (!hasSchedule(cfg)) {
    lamp.edge = Infinity;
    return -1;
  }
  scanSun(cfg);
  const toEnd = untilLocalMinute(cfg, cfg.nightTo);
  const toStart = untilLocalMinute(cfg, cfg.nightFrom);
  // A night profile, and whether now is inside its window [nightFrom, nightTo): its end comes
  // before its next start.
  const profile = cfg.nightLevel > 0 && cfg.nightFrom !== cfg.nightTo;
  lamp.edge = profile ? Math.min(sunEdge, time + toStart, time + toEnd) : sunEdge;
  return !night ? 0 : profile && toEnd < toStart ? cfg.nightLevel : cfg.defaultLevel;
}
