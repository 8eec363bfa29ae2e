/**
 * The gateway's side of the dashboard's HTTP documents (protocol/dashboard-api.ts): a short
 * history of the fleet aggregates, sampled here, and the answers to GET /api/fleet and
 * GET /api/stats-history, served by the embedded broker's HTTP server beside the page.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  FLEET_SNAPSHOT_PATH, SNAPSHOT_FAULT, SNAPSHOT_ON, SNAPSHOT_ONLINE, SNAPSHOT_REPORTED, STATS_HISTORY_PATH,
  type FleetSnapshot, type StatsHistory, type StatsSample,
} from '../protocol/dashboard-api.js';
import type { FleetStats } from '../protocol/mqtt-topics.js';
import type { LampRegistry } from './registry.js';

/** One sample every 10 s for an hour: 360 small objects, whatever the fleet's size. */
export const STATS_HISTORY_PERIOD_MS = 10_000;
const STATS_HISTORY_SPAN_MS = 3_600_000;

/** Values serialised per write of the snapshot, so a million lamps never become one giant string
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
  /** Answer a request for `path`, one of `paths`. */
  serve(path: string, req: IncomingMessage, res: ServerResponse): void;
}

export function dashboardApi(registry: LampRegistry, history: StatsHistoryRecorder): DashboardApi {
  return {
    paths: [FLEET_SNAPSHOT_PATH, STATS_HISTORY_PATH],
    serve(path, req, res) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end(`${path}: only GET and HEAD\n`);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      if (req.method === 'HEAD') res.end();
      else if (path === STATS_HISTORY_PATH) res.end(JSON.stringify(history.document()));
      else void writeSnapshot(registry, res);
    },
  };
}

/** GET /api/fleet. Taken in one pass (a few tens of milliseconds at 100,000 lamps), so that it is
 * one consistent moment; written in chunks so a socket never holds it all twice. */
async function writeSnapshot(registry: LampRegistry, res: ServerResponse): Promise<void> {
  const size = registry.size;
  const lamps: FleetSnapshot['lamps'] = { id: [], address: [], flags: [], level: [], watts: [], energyWh: [], groups: [], reportedAt: [] };
  const listIndex = new Map<string, number>();
  const groupLists: string[][] = [];
  for (let i = 0; i < size; i++) {
    const groups = registry.groupsOf(i);
    const key = groups.join(',');
    let g = listIndex.get(key);
    if (g === undefined) {
      g = groupLists.push([...groups]) - 1;
      listIndex.set(key, g);
    }
    const reported = registry.hasReport(i);
    const report = reported ? registry.report(i) : null;
    lamps.id.push(registry.id(i));
    lamps.address.push(registry.address(i));
    lamps.flags.push((registry.online(i) ? SNAPSHOT_ONLINE : 0) | (reported ? SNAPSHOT_REPORTED : 0) | (report?.on ? SNAPSHOT_ON : 0) | (report?.fault ? SNAPSHOT_FAULT : 0));
    lamps.level.push(report?.level ?? 0);
    // The card shows watts to 0.1 W and energy to 0.01 Wh; more digits only cost bytes.
    lamps.watts.push(Math.round((report?.watts ?? 0) * 100) / 100);
    lamps.energyWh.push(Math.round((report?.energyWh ?? 0) * 1000) / 1000);
    lamps.groups.push(g);
    lamps.reportedAt.push(reported ? registry.reportedAt(i) : 0);
  }
  res.write(`{"at":${Date.now()},"groupLists":${JSON.stringify(groupLists)},"lamps":{`);
  const columns = Object.entries(lamps);
  for (const [n, [name, column]] of columns.entries()) {
    res.write(`${n > 0 ? ',' : ''}"${name}":[`);
    for (let first = 0; first < column.length && !res.destroyed; first += SNAPSHOT_CHUNK) {
      const written = res.write(`${first > 0 ? ',' : ''}${JSON.stringify(column.slice(first, first + SNAPSHOT_CHUNK)).slice(1, -1)}`);
      await new Promise<void>((resolve) => {
        if (written) return void setImmediate(resolve);
        res.once('drain', resolve);
        res.once('close', resolve);
      });
    }
    res.write(']');
  }
  res.end('}}');
}
