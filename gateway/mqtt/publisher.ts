/**
 * Everything the gateway publishes on MQTT: lamp state, availability and Home Assistant discovery
 * (retained, per lamp), fleet aggregates every period and group aggregates when they change, the
 * gateway's status, error reports and notices of held commands.
 *
 * Backpressure: a lamp change only sets bits in a per-lamp dirty mask and puts the lamp in a FIFO
 * the first time; the FIFO is drained at the MQTT client's pace (a bounded number of publishes
 * awaiting their write callback). A lamp that changes ten times before its turn is published once,
 * with its latest state, so the work waiting is bounded by the number of lamps. While the
 * connection is down only error reports wait (bounded); on every (re)connect all lamps are marked
 * dirty, which is also how state survives a broker restart.
 */
import type { MqttClient } from 'mqtt';
import { compactFifo } from '../fifo.js';
import type { ErrorKind, GatewayMetrics, PublishKind } from '../metrics.js';
import { columnWith, type LampRegistry } from '../registry.js';
import {
  COMMAND_NOTICES_TOPIC, type CommandResponseDocument, ERRORS_TOPIC, FLEET_STATS_TOPIC, HA_BRIGHTNESS_SCALE, type LampStateDocument, STATUS_TOPIC,
  groupSetTopic, groupStatsTopic, haDiscoveryTopic, haGroupDiscoveryTopic, lampAvailabilityTopic, lampSetTopic, lampStateDocument,
  lampStateTopic,
} from '../../protocol/mqtt-topics.js';
import type { ReplyAddress } from './replies.js';

export const DIRTY_STATE = 1;
export const DIRTY_AVAILABILITY = 2;
export const DIRTY_DISCOVERY = 4;

/** Error reports and command notices waiting beyond this many are dropped (and counted): they
 * must not become the unbounded queue the rest of the design avoids. */
export const MAX_WAITING_ERRORS = 100_000;

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

interface Message {
  kind: PublishKind;
  topic: string;
  payload: string;
  retain: boolean;
  /** MQTT 5 properties (mqtt.js leaves them out on a 3.1.1 connection). */
  properties?: { messageExpiryInterval?: number; correlationData?: Buffer; contentType?: string };
}

/** A command that waits for its lamp to register, or was handed to it when it did. */
export interface CommandNotice {
  topic: string;
  lamp: string;
  outcome: 'held' | 'delivered';
  /** For `held`: the latest the command waits before it is reported as `unknown-lamp` (epoch ms). */
  until?: number;
}

/**
 * One paced stream of publishes: error reports and command notices first (they answer someone), then the current round
 * of aggregates, then dirty lamps. At most `maxInFlight` publishes wait for their write callback,
 * which mqtt.js gives only once the socket has taken the bytes.
 */
export class Publisher {
  private readonly maxInFlight: number;
  private dirty = new Uint8Array(1024);
  private readonly lamps: number[] = [];
  private lampsHead = 0;
  private readonly errors: Message[] = [];
  private errorsHead = 0;
  private stats: Message[] = [];
  private statsHead = 0;
  private readonly lastGroupStats = new Map<string, string>();
  private inFlight = 0;
  private pumpScheduled = false;
  /** Bumped on every (re)connect: write callbacks of a dead connection may never come, so the
   * in-flight count restarts and late callbacks of an older connection are ignored. */
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
    return this.lamps.length - this.lampsHead;
  }

  /** Lamp `i` changed (`what` = DIRTY_* bits); it will be published with its latest data. */
  mark(i: number, what: number): void {
    this.dirty = columnWith(this.dirty, i);
    if (this.dirty[i] === 0) this.lamps.push(i);
    this.dirty[i] |= what;
    this.schedulePump();
  }

  /** The MQTT connection is (again) up: announce the gateway and republish every lamp. */
  connected(): void {
    this.generation++;
    this.inFlight = 0;
    this.send({ kind: 'status', topic: STATUS_TOPIC, payload: 'online', retain: true }, 1);
    const what = DIRTY_STATE | DIRTY_AVAILABILITY | (this.options.haDiscovery ? DIRTY_DISCOVERY : 0);
    for (let i = 0; i < this.registry.size; i++) this.mark(i, what);
    this.stats = [];
    this.statsHead = 0;
    this.lastGroupStats.clear();
    this.publishStats();
  }

  /** Start a round of fleet and group aggregates, unless the previous round is still going out
   * (then this one is skipped: aggregates are latest-wins too). */
  publishStats(): void {
    if (this.statsHead < this.stats.length || !this.client.connected) return;
    const { fleet, groups } = this.registry.aggregate();
    const round: Message[] = [{ kind: 'stats', topic: FLEET_STATS_TOPIC, payload: JSON.stringify(fleet), retain: true }];
    // The fleet total goes out every period (a heartbeat); a group's only when it changed, since a
    // large fleet has thousands of groups and most are unchanged between lamp reports.
    for (const [group, stats] of groups) {
      const payload = JSON.stringify(stats);
      const last = this.lastGroupStats.get(group);
      if (last === payload) continue;
      // A group seen for the first time since the connection came up is announced to HA.
      if (last === undefined && this.options.haDiscovery) {
        round.push({ kind: 'discovery', topic: haGroupDiscoveryTopic(group), payload: haGroupDiscoveryConfig(group), retain: true });
      }
      this.lastGroupStats.set(group, payload);
      round.push({ kind: 'stats', topic: groupStatsTopic(group), payload, retain: true });
    }
    this.stats = round;
    this.statsHead = 0;
    this.schedulePump();
  }

  /** Report a rejected command or failed delivery on the errors topic (never retained). */
  reportError(report: ErrorReport): void {
    this.metrics.errors.inc({ kind: report.kind });
    this.answerSomeone({ kind: 'error', topic: ERRORS_TOPIC, payload: JSON.stringify({ ...report, at: new Date().toISOString() }), retain: false });
  }

  /** Tell the senders of a held command that it waits, or that it went to its lamp (never retained). */
  reportCommand(notice: CommandNotice): void {
    const { until, ...rest } = notice;
    const document = { ...rest, ...(until === undefined ? {} : { until: new Date(until).toISOString() }), at: new Date().toISOString() };
    this.answerSomeone({ kind: 'command-notice', topic: COMMAND_NOTICES_TOPIC, payload: JSON.stringify(document), retain: false });
  }

  /** Answer an MQTT 5 command on its Response Topic, with its Correlation Data (never retained). */
  respond(address: ReplyAddress, document: CommandResponseDocument): void {
    const properties = { contentType: 'application/json', ...(address.correlationData === undefined ? {} : { correlationData: address.correlationData }) };
    this.answerSomeone({ kind: 'response', topic: address.topic, payload: JSON.stringify(document), retain: false, properties });
  }

  /** The state document of lamp `i`, as published on its state topic. */
  stateDocument(i: number): LampStateDocument {
    const r = this.registry;
    return lampStateDocument(r.report(i), r.address(i), r.groupsOf(i), r.reportedAt(i));
  }

  /** Queue a message that answers someone (an error report, a command notice or a response) ahead of
   * everything else; beyond MAX_WAITING_ERRORS waiting it is dropped and counted. */
  private answerSomeone(msg: Message): void {
    if (this.errors.length - this.errorsHead >= MAX_WAITING_ERRORS) {
      this.metrics.errorReportsDropped.inc();
      return;
    }
    this.errors.push(msg);
    this.schedulePump();
  }

  /** Announce `offline` before a clean shutdown (the will covers unclean ones). */
  goingOffline(): Promise<void> {
    return new Promise((resolve) => this.send({ kind: 'status', topic: STATUS_TOPIC, payload: 'offline', retain: true }, 1, resolve));
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
    while (this.inFlight < this.maxInFlight) {
      if (this.errorsHead < this.errors.length) this.send(this.errors[this.errorsHead++]);
      else if (this.statsHead < this.stats.length) this.send(this.stats[this.statsHead++]);
      else if (this.lampsHead < this.lamps.length) {
        const i = this.lamps[this.lampsHead++];
        const what = this.dirty[i];
        this.dirty[i] = 0;
        this.publishLamp(i, what);
      } else break;
    }
    this.lampsHead = compactFifo(this.lamps, this.lampsHead);
    this.errorsHead = compactFifo(this.errors, this.errorsHead);
  }

  private publishLamp(i: number, what: number): void {
    const r = this.registry;
    const id = r.id(i);
    if (what & DIRTY_DISCOVERY) this.send({ kind: 'discovery', topic: haDiscoveryTopic(id), payload: haDiscoveryConfig(id, r.firmware(i)), retain: true });
    if (what & DIRTY_STATE && r.hasReport(i)) {
      // MQTT 5: the retained state lives as long as the lamp's registration, so a dead gateway's
      // states leave an external broker; every registration refresh publishes it again.
      const properties = { messageExpiryInterval: r.lifetimeS(i) + Math.ceil(r.graceMs / 1000) };
      this.send({ kind: 'state', topic: lampStateTopic(id), payload: JSON.stringify(this.stateDocument(i)), retain: true, properties });
    }
    if (what & DIRTY_AVAILABILITY) this.send({ kind: 'availability', topic: lampAvailabilityTopic(id), payload: r.online(i) ? 'online' : 'offline', retain: true });
  }

  private send(msg: Message, qos: 0 | 1 = 0, done?: () => void): void {
    this.metrics.publishes.inc({ kind: msg.kind });
    this.inFlight++;
    const generation = this.generation;
    // The callback also reports a write failure while disconnected; the reconnect republishes
    // every lamp, so nothing is retried here.
    this.client.publish(msg.topic, msg.payload, { qos, retain: msg.retain, ...(msg.properties === undefined ? {} : { properties: msg.properties }) }, () => {
      if (generation !== this.generation) return;
      this.inFlight--;
      done?.();
      if (this.errorsHead < this.errors.length || this.statsHead < this.stats.length || this.backlog > 0) this.schedulePump();
    });
  }
}

/**
 * Home Assistant MQTT discovery, as HA's MQTT light with the JSON schema reads it (checked against
 * home-assistant.io's MQTT Light page for HA 2026.x): `default_entity_id` (HA 2025.10 replaced
 * `object_id`, honoured until 2026.4), brightness 0–100, available only while both the gateway and
 * the lamp say `online` (a dead gateway's lamps are unavailable, not stale), one device per lamp
 * with its firmware version.
 */
export function haDiscoveryConfig(id: string, firmware: string | null): string {
  return JSON.stringify({
    name: null,
    unique_id: `lampnet_${id}`,
    default_entity_id: `light.lampnet_${entitySlug(id)}`,
    ...haLight(lampSetTopic(id)),
    state_topic: lampStateTopic(id),
    availability: [{ topic: STATUS_TOPIC }, { topic: lampAvailabilityTopic(id) }],
    availability_mode: 'all',
    device: {
      identifiers: [`lampnet_${id}`], name: `Lamp ${id}`, manufacturer: 'lampnet', model: 'street lamp',
      ...(firmware === null ? {} : { sw_version: firmware }),
    },
  });
}

/** Home Assistant discovery for a street group: one light that commands every lamp of the group.
 * It has no state topic (a group has no single state), so HA shows the last command sent. */
export function haGroupDiscoveryConfig(group: string): string {
  return JSON.stringify({
    name: null,
    unique_id: `lampnet_group_${group}`,
    default_entity_id: `light.lampnet_group_${entitySlug(group)}`,
    ...haLight(groupSetTopic(group)),
    optimistic: true,
    availability: [{ topic: STATUS_TOPIC }],
    availability_mode: 'all',
    device: { identifiers: [`lampnet_group_${group}`], name: `Street ${group}`, manufacturer: 'lampnet', model: 'street lamp group' },
  });
}

/** What every lampnet light tells HA: JSON schema, brightness in the lamp's own 0–100. */
function haLight(commandTopic: string): Record<string, unknown> {
  return {
    schema: 'json',
    command_topic: commandTopic,
    payload_available: 'online',
    payload_not_available: 'offline',
    supported_color_modes: ['brightness'],
    brightness_scale: HA_BRIGHTNESS_SCALE,
  };
}

/** `name` as the object part of an HA entity id (lower-case letters, digits and `_`). */
function entitySlug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}
