/**
 * The gateway's side of the dashboard's HTTP documents (protocol/dashboard-api.ts): a short
 * history of the fleet aggregates, sampled here, and the answers to GET /api/fleet and
 * GET /api/stats-history, served by the embedded broker's HTTP server beside the page.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  FLEET_SNAPSHOT_PATH, STATS_HISTORY_PATH, type FleetSnapshotLamp, type StatsHistory, type StatsSample,
} from '../protocol/dashboard-api.js';
import { lampStateDocument, type FleetStats } from '../protocol/mqtt-topics.js';
import type { LampRegistry } from './registry.js';

/** One sample every 10 s for an hour: 360 small objects, whatever the fleet's size. */
export const STATS_HISTORY_PERIOD_MS = 10_000;
const STATS_HISTORY_SPAN_MS = 3_600_000;

/** Lamps serialised per write of the snapshot, so a million lamps never become one giant string
 * and the event loop gets a turn between chunks. */
const SNAPSHOT_CHUNK = 10_000;

/** The fleet aggregates of the last hour, oldest first. */
export class StatsHistoryRecorder {
  private readonly samples: StatsSample[] = [];
  private readonly capacity = Math.ceil(STATS_HISTORY_SPAN_MS / STATS_HISTORY_PERIOD_MS);

  record(at: number, fleet: FleetStats): void {
    this.samples.push({ at, ...fleet });
    if (this.samples.length > this.capacity) this.samples.shift();
  }

  document(): StatsHistory {
    return { periodS: STATS_HISTORY_PERIOD_MS / 1000, spanS: STATS_HISTORY_SPAN_MS / 1000, samples: this.samples };
  }
}

/** The dashboard's documents as the HTTP server sees them: the paths, and how to answer one. */
export interface DashboardApi {
  readonly paths: readonly string[];
  serve(req: IncomingMessage, res: ServerResponse): void;
}

export function dashboardApi(registry: LampRegistry, history: StatsHistoryRecorder): DashboardApi {
  return {
    paths: [FLEET_SNAPSHOT_PATH, STATS_HISTORY_PATH],
    serve(req, res) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end(`${req.url}: only GET and HEAD\n`);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      if (req.method === 'HEAD') res.end();
      else if (new URL(req.url ?? '/', 'http://x').pathname === STATS_HISTORY_PATH) res.end(JSON.stringify(history.document()));
      else void writeSnapshot(registry, res);
    },
  };
}

/** GET /api/fleet, written in chunks; lamps registering meanwhile are in it or in MQTT's retained
 * states, which the page applies after it. */
async function writeSnapshot(registry: LampRegistry, res: ServerResponse): Promise<void> {
  const size = registry.size;
  res.write(`{"at":${Date.now()},"lamps":[`);
  for (let first = 0; first < size && !res.destroyed; first += SNAPSHOT_CHUNK) {
    const chunk: FleetSnapshotLamp[] = [];
    for (let i = first; i < Math.min(size, first + SNAPSHOT_CHUNK); i++) {
      const state = registry.hasReport(i) ? lampStateDocument(registry.report(i), registry.address(i), registry.groupsOf(i), registry.reportedAt(i)) : null;
      chunk.push([registry.id(i), registry.online(i), state]);
    }
    const text = JSON.stringify(chunk);
    const written = res.write(`${first > 0 ? ',' : ''}${text.slice(1, -1)}`);
    await new Promise<void>((resolve) => {
      if (written) return void setImmediate(resolve);
      res.once('drain', resolve);
      res.once('close', resolve);
    });
  }
  res.end(']}');
}
