/**
 * Everything the gateway publishes on MQTT: lamp state, availability and Home Assistant discovery
 * (retained, per lamp), fleet and group aggregates on a fixed period, the gateway's status and
 * error reports.
 *
 * Backpressure: a lamp change only sets bits in a per-lamp dirty mask and puts the lamp in a FIFO
 * the first time; the FIFO is drained at the MQTT client's pace (a bounded number of publishes
 * awaiting their write callback). A lamp that changes ten times before its turn is published once,
 * with its latest state, so the work waiting is bounded by the number of lamps. While the
 * connection is down nothing is queued; on every (re)connect all lamps are marked dirty, which is
 * also how state survives a broker restart.
 */
import type { MqttClient } from 'mqtt';
import type { ErrorKind, GatewayMetrics, PublishKind } from './metrics.js';
import type { LampRegistry } from './registry.js';
import {
  ERRORS_TOPIC, FLEET_STATS_TOPIC, STATUS_TOPIC, groupStatsTopic, haDiscoveryTopic, lampAvailabilityTopic, lampSetTopic,
  lampStateTopic,
} from './topics.js';

export const DIRTY_STATE = 1;
export const DIRTY_AVAILABILITY = 2;
export const DIRTY_DISCOVERY = 4;

export interface PublisherOptions {
  haDiscovery: boolean;
  /** Most publishes handed to the MQTT client and not yet written. */
  maxInFlight?: number;
}

export interface ErrorReport {
  /** The topic of the command that failed (or the gateway's own topic for internal problems). */
  topic: string;
  kind: ErrorKind;
  reason: string;
  /** The lamp concerned, when one is. */
  lamp?: string;
  /** The offending payload, when it was valid UTF-8 (truncated). */
  payload?: string;
}

const RETAIN = { qos: 0, retain: true } as const;
const ONCE = { qos: 0, retain: false } as const;

export class Publisher {
  private readonly maxInFlight: number;
  private dirty = new Uint8Array(1024);
  private readonly queue: number[] = [];
  private queueHead = 0;
  private inFlight = 0;
  private statsInFlight = 0;
  private pumpScheduled = false;
  /** Bumped on every (re)connect: write callbacks of a dead connection may never come, so the
   * in-flight counts restart and late callbacks of an older connection are ignored. */
  private generation = 0;

  constructor(
    private readonly client: MqttClient,
    private readonly registry: LampRegistry,
    private readonly metrics: GatewayMetrics,
    private readonly options: PublisherOptions,
  ) {
    this.maxInFlight = options.maxInFlight ?? 256;
  }

  /** Lamps waiting to be published. */
  get backlog(): number {
    return this.queue.length - this.queueHead;
  }

  /** Lamp `i` changed (`what` = DIRTY_* bits); it will be published with its latest data. */
  mark(i: number, what: number): void {
    if (i >= this.dirty.length) {
      const grown = new Uint8Array(Math.max(i + 1, this.dirty.length * 2));
      grown.set(this.dirty);
      this.dirty = grown;
    }
    if (this.dirty[i] === 0) this.queue.push(i);
    this.dirty[i] |= what;
    this.schedulePump();
  }

  /** The MQTT connection is (again) up: announce the gateway and republish every lamp. */
  connected(): void {
    this.generation++;
    this.inFlight = 0;
    this.statsInFlight = 0;
    this.publish('status', STATUS_TOPIC, 'online', { qos: 1, retain: true });
    const what = DIRTY_STATE | DIRTY_AVAILABILITY | (this.options.haDiscovery ? DIRTY_DISCOVERY : 0);
    for (let i = 0; i < this.registry.size; i++) this.mark(i, what);
    this.publishStats();
  }

  /** Publish the fleet and group aggregates, unless the previous round is still being written
   * (then this round is skipped: aggregates are latest-wins too). */
  publishStats(): void {
    if (this.statsInFlight > 0 || !this.client.connected) return;
    const { fleet, groups } = this.registry.aggregate();
    const written = (): void => { this.statsInFlight--; };
    this.statsInFlight++;
    this.publish('stats', FLEET_STATS_TOPIC, JSON.stringify(fleet), RETAIN, written);
    for (const [group, stats] of groups) {
      this.statsInFlight++;
      this.publish('stats', groupStatsTopic(group), JSON.stringify(stats), RETAIN, written);
    }
  }

  /** Publish a rejected command or failed delivery on the errors topic (never retained). */
  reportError(report: ErrorReport): void {
    this.metrics.errors.inc({ kind: report.kind });
    this.publish('error', ERRORS_TOPIC, JSON.stringify({ ...report, at: new Date().toISOString() }), ONCE);
  }

  /** Announce `offline` before a clean shutdown (the will covers unclean ones). */
  goingOffline(): Promise<void> {
    return new Promise((resolve) => this.publish('status', STATUS_TOPIC, 'offline', { qos: 1, retain: true }, () => resolve()));
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (!this.client.connected) return;
    while (this.inFlight < this.maxInFlight && this.queueHead < this.queue.length) {
      const i = this.queue[this.queueHead++];
      const what = this.dirty[i];
      this.dirty[i] = 0;
      this.publishLamp(i, what);
    }
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    } else if (this.queueHead > 4096 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
  }

  private publishLamp(i: number, what: number): void {
    const r = this.registry;
    const id = r.id(i);
    const written = (): void => {
      this.inFlight--;
      if (this.backlog > 0) this.schedulePump();
    };
    if (what & DIRTY_DISCOVERY) {
      this.inFlight++;
      this.publish('discovery', haDiscoveryTopic(id), haDiscoveryConfig(id), RETAIN, written);
    }
    if (what & DIRTY_STATE && r.hasReport(i)) {
      this.inFlight++;
      this.publish('state', lampStateTopic(id), this.stateJson(i), RETAIN, written);
    }
    if (what & DIRTY_AVAILABILITY) {
      this.inFlight++;
      this.publish('availability', lampAvailabilityTopic(id), r.online(i) ? 'online' : 'offline', RETAIN, written);
    }
  }

  /** The retained state document of lamp `i`. `state`/`brightness` (0–255) repeat on/level in the
   * form Home Assistant's JSON light schema reads. */
  private stateJson(i: number): string {
    const r = this.registry;
    const s = r.report(i);
    return JSON.stringify({
      on: s.on,
      level: s.level,
      watts: s.watts,
      energyWh: s.energyWh,
      onTimeS: s.onTimeS,
      fault: s.fault,
      address: r.address(i),
      groups: r.groupsOf(i),
      updatedAt: new Date(r.reportedAt(i)).toISOString(),
      state: s.on ? 'ON' : 'OFF',
      brightness: Math.round((s.level * 255) / 100),
    });
  }

  private publish(kind: PublishKind, topic: string, payload: string, opts: { qos: 0 | 1; retain: boolean }, done?: () => void): void {
    this.metrics.publishes.inc({ kind });
    // The callback reports a write failure while disconnected; the reconnect republishes everything.
    const generation = this.generation;
    this.client.publish(topic, payload, opts, () => {
      if (generation === this.generation) done?.();
    });
  }
}

/** Home Assistant MQTT discovery for one lamp (JSON schema light, brightness 0–255). */
export function haDiscoveryConfig(id: string): string {
  return JSON.stringify({
    name: null,
    unique_id: `lampnet_${id}`,
    object_id: `lampnet_${id}`,
    schema: 'json',
    command_topic: lampSetTopic(id),
    state_topic: lampStateTopic(id),
    availability_topic: lampAvailabilityTopic(id),
    payload_available: 'online',
    payload_not_available: 'offline',
    supported_color_modes: ['brightness'],
    brightness: true,
    brightness_scale: 255,
    device: { identifiers: [`lampnet_${id}`], name: `Lamp ${id}`, manufacturer: 'lampnet', model: 'street lamp' },
  });
}
