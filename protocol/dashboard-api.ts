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
import type { FleetStats, LampStateDocument } from './mqtt-topics.js';

export const FLEET_SNAPSHOT_PATH = '/api/fleet';
export const STATS_HISTORY_PATH = '/api/stats-history';

/** One lamp in the snapshot: its id, whether it is online, and its state document (null until
 * the lamp has reported). */
export type FleetSnapshotLamp = [id: string, online: boolean, state: LampStateDocument | null];

/** GET /api/fleet. `at` is when it was taken (ms since the epoch). */
export interface FleetSnapshot {
  at: number;
  lamps: FleetSnapshotLamp[];
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
