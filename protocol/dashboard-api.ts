/**
 * The two HTTP documents the gateway serves beside the dashboard (on the same origin, the
 * embedded broker's WebSocket port): what a page needs at load that MQTT cannot give it quickly.
 *
 *   GET /api/fleet          every lamp's availability and state document, in one response: a page
 *                           draws 100,000 lamps from it in a second, where the same states as
 *                           200,000 retained MQTT messages take tens of seconds
 *   GET /api/stats-history  the fleet aggregates of the last hour, so charts start full
 *
 * Both are read-only views of what the gateway also publishes on MQTT (lampnet/lamps/+/state,
 * lampnet/lamps/+/availability, lampnet/stats); MQTT stays the live source. With broker
 * credentials set, both need them too (HTTP Basic).
 */
import type { FleetStats } from './mqtt-topics.js';

export const FLEET_SNAPSHOT_PATH = '/api/fleet';
export const STATS_HISTORY_PATH = '/api/stats-history';

/** Bits of `FleetSnapshot.lamps.flags`. */
export const SNAPSHOT_ONLINE = 1;
export const SNAPSHOT_REPORTED = 2;
export const SNAPSHOT_ON = 4;
export const SNAPSHOT_FAULT = 8;

/**
 * GET /api/fleet: every lamp as columns, lamp k at index k of each. It carries the fields of the
 * lamp's state document (protocol/mqtt-topics.ts) that a map and a lamp card show, in the shape
 * that parses fastest: numbers in arrays rather than 100,000 objects (a quarter of the bytes, and
 * a browser parses and applies it several times faster). Fields of a lamp that has not reported
 * (no SNAPSHOT_REPORTED bit) are 0. `at` is when it was taken (ms since the epoch).
 */
export interface FleetSnapshot {
  at: number;
  /** The distinct group lists, referenced by index from `lamps.groups`. */
  groupLists: string[][];
  lamps: {
    id: string[];
    address: string[];
    flags: number[];
    level: number[];
    watts: number[];
    energyWh: number[];
    groups: number[];
    /** When the lamp last reported (ms since the epoch): `updatedAt` of its state document. */
    reportedAt: number[];
  };
}

/** One sample of the fleet aggregates, `at` ms since the epoch. */
export interface StatsSample extends FleetStats {
  at: number;
}

/** GET /api/stats-history: samples oldest first, one per `periodS`, covering up to `spanS`. */
export interface StatsHistory {
  periodS: number;
  spanS: number;
  samples: StatsSample[];
}
