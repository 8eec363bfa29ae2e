/**
 * What the terminal says after `ready` (`lampnet gateway`, `lampnet up`): progress while the fleet
 * registers and its state goes out to MQTT, one line when all of it is online, then a summary line
 * every --summary-interval, and a line for each event worth one (the broker lost and back, a lamp's
 * fault appearing or clearing, a refused client; at debug level every command's outcome).
 *
 * Counts come from the gateway's metrics, so the terminal and /metrics never disagree. Event lines
 * of one kind are limited per second, the rest counted and reported, so a fleet booting with
 * thousands of faults does not bury the terminal.
 */
import type { GatewayEvent, GatewayHandle } from '../gateway/gateway.js';
import type { Counter } from 'prom-client';
import type { Logger } from './log.js';

/** How often progress is checked (and printed, when it moved). */
const PROGRESS_INTERVAL_MS = 1000;
/** Most event lines of one kind per progress interval. */
const MAX_EVENT_LINES = 10;

const n = (x: number): string => x.toLocaleString('en-US');

export class Reporter {
  private gateway: GatewayHandle | null = null;
  private readonly started = performance.now();
  private timers: NodeJS.Timeout[] = [];
  private allOnline = false;
  private lastProgress = '';
  private readonly lines = new Map<string, number>();
  private readonly suppressed = new Map<string, number>();

  constructor(private readonly logger: Logger, private readonly options: { summaryIntervalMs: number; fleetSize: number | null }) {}

  /** The gateway's events, as they happen (hand this to startGateway). */
  readonly observe = (e: GatewayEvent): void => {
    switch (e.event) {
      case 'broker-lost': return this.limited('broker', 'warn', `MQTT broker lost: ${e.reason}; reconnecting`, { event: e.event, reason: e.reason });
      case 'broker-back': return this.limited('broker', 'info', 'MQTT broker connected again', { event: e.event });
      case 'lamp-fault': return this.limited('fault', e.fault ? 'warn' : 'info', `lamp ${e.lamp}: ${e.fault ? 'fault' : 'fault cleared'}`, { event: e.event, lamp: e.lamp, fault: e.fault });
      case 'client-refused': return this.limited('client', 'warn', `MQTT client ${e.client} refused: ${e.reason}`, { event: e.event, client: e.client, reason: e.reason });
      case 'command': {
        if (!this.logger.enabled('debug')) return;
        const o = e.outcome;
        if (o.outcome === 'failed') this.logger.debug(`command on ${o.error.topic} failed: ${o.error.kind}: ${o.error.reason}`, { event: 'command', outcome: 'failed', topic: o.error.topic, kind: o.error.kind });
        else if (o.outcome === 'held') this.logger.debug(`command for lamp ${o.lamp} held until ${new Date(o.until).toISOString()} (not registered yet)`, { event: 'command', outcome: 'held', topic: o.topic, lamp: o.lamp });
        else this.logger.debug(`held command delivered to lamp ${o.lamp}`, { event: 'command', outcome: 'delivered', topic: o.topic, lamp: o.lamp });
      }
    }
  };

  /** Start the progress and summary lines for `gateway`, which is now running. */
  start(gateway: GatewayHandle): void {
    this.gateway = gateway;
    this.timers.push(setInterval(() => this.tick(), PROGRESS_INTERVAL_MS));
    if (this.options.summaryIntervalMs > 0) this.timers.push(setInterval(() => void this.summary(), this.options.summaryIntervalMs));
    for (const t of this.timers) t.unref();
    this.tick();
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  private limited(kind: string, level: 'info' | 'warn', msg: string, fields: Record<string, string | boolean>): void {
    const printed = this.lines.get(kind) ?? 0;
    if (printed >= MAX_EVENT_LINES) {
      this.suppressed.set(kind, (this.suppressed.get(kind) ?? 0) + 1);
      return;
    }
    this.lines.set(kind, printed + 1);
    this.logger.log(level, msg, fields);
  }

  private tick(): void {
    for (const [kind, count] of this.suppressed) {
      if (count > 0) this.logger.warn(`… and ${n(count)} more ${kind} events in the last second (see the metrics)`, { event: 'suppressed', kind, count });
    }
    this.suppressed.clear();
    this.lines.clear();
    const g = this.gateway;
    if (g === null || this.allOnline) return;
    const { registry } = g;
    const backlog = g.backlog().publish;
    const known = registry.size;
    if (g.readiness().ready && backlog === 0) {
      this.allOnline = true;
      const secs = ((performance.now() - this.started) / 1000).toFixed(1);
      this.logger.info(`all ${n(known)} lamps registered and published (${n(registry.onlineCount)} online) in ${secs} s`, { event: 'all-online', lamps: known, online: registry.onlineCount });
      return;
    }
    const of = this.options.fleetSize === null ? '' : ` of ${n(this.options.fleetSize)}`;
    const progress = `${n(known)}${of} lamps registered, ${n(known - Math.min(known, backlog))} published (${n(backlog)} waiting)`;
    if (progress === this.lastProgress) return;
    this.lastProgress = progress;
    this.logger.info(`progress: ${progress}`, { event: 'progress', registered: known, backlog });
  }

  private async summary(): Promise<void> {
    const g = this.gateway;
    if (g === null) return;
    const m = g.metrics;
    const total = async (metric: Counter<string>, label?: string): Promise<Map<string, number>> => {
      const byLabel = new Map<string, number>();
      for (const v of (await metric.get()).values) {
        const key = label === undefined ? '' : String(v.labels[label]);
        byLabel.set(key, (byLabel.get(key) ?? 0) + v.value);
      }
      return byLabel;
    };
    const registrations = (await total(m.registrations)).get('') ?? 0;
    const deliveries = await total(m.deliveries, 'result');
    const errors = [...(await total(m.errors, 'kind'))].filter(([, count]) => count > 0);
    const { fleet } = g.registry.aggregate();
    const backlog = g.backlog();
    const confirmed = deliveries.get('confirmed') ?? 0;
    const failed = (deliveries.get('refused') ?? 0) + (deliveries.get('timeout') ?? 0);
    const errorText = errors.length === 0 ? 'none' : errors.map(([kind, count]) => `${kind} ${n(count)}`).join(', ');
    this.logger.info(
      `summary: ${n(fleet.lamps)} lamps (${n(fleet.online)} online, ${n(fleet.offline)} offline, ${n(fleet.on)} on, ${n(fleet.fault)} fault); `
        + `registrations ${n(registrations)}; commands ${n(confirmed)} confirmed, ${n(failed)} failed; errors ${errorText}; `
        + `backlog ${n(backlog.publish)} to publish, ${n(backlog.command)} commands`,
      {
        event: 'summary', lamps: fleet.lamps, online: fleet.online, offline: fleet.offline, on: fleet.on, fault: fleet.fault,
        registrations, commandsConfirmed: confirmed, commandsFailed: failed, publishBacklog: backlog.publish, commandBacklog: backlog.command,
        ...Object.fromEntries(errors.map(([kind, count]) => [`errors_${kind}`, count])),
      },
    );
  }
}
