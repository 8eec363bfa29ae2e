/**
 * The gateway's Prometheus metrics and the HTTP endpoint that serves them (`--metrics-port`),
 * with the health and readiness probes beside them.
 *
 * One prom-client Registry per gateway (not the global one), so several gateways in one process —
 * tests, `lampnet up` — keep separate counts. Label values come from small fixed sets (never a lamp
 * id or an error text), so the number of series stays bounded however many lamps there are.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FleetStats } from '../protocol/mqtt-topics.js';
import { listen } from './listen.js';
import { PACKET_REFUSALS } from './broker/mqtt-size-guard.js';
import { PUBLISH_REFUSALS } from './broker/publish-rule.js';

/** Why a command or CoAP message was refused; the label of the errors metric. */
const ERROR_KINDS = [
  'payload',       // the .../set payload was not a valid command
  'name',          // lamp id / group name unusable (empty, / + #, too long)
  'unknown-lamp',  // no lamp with that id has registered
  'unknown-group', // no registered lamp is in that group
  'offline',       // the lamp's registration has lapsed
  'retained',      // a retained command replayed by the broker (stale, ignored)
  'timeout',       // the lamp did not confirm within the CoAP retransmission window
  'lamp-refused',  // the lamp answered with a CoAP error code
  'response-topic', // an MQTT 5 command asked for its answer on one of the gateway's own topics
] as const;
const PUBLISH_KINDS = ['state', 'availability', 'stats', 'discovery', 'error', 'command-notice', 'status', 'response'] as const;
const DROP_KINDS = [
  'malformed', 'unmatched-response', 'duplicate', 'bad-request', 'registry-full', 'unsupported',
  'too-large',          // a registration payload beyond what the link-format parser reads
  'registration-flood', // new endpoint names from one address beyond the per-address rate
  'stale',              // an update, de-registration or notification of an earlier registration
  'bad-notification',   // a notification or read answer whose payload or values do not decode
  'observe-failed',     // a Write-Attributes, Observe or read after Register the client refused or never answered
  'oscore',             // an answer to a protected request that did not verify under the lamp's context
] as const;

/** Per-group series only while a fleet has at most this many groups: beyond it they would
 * outnumber what a Prometheus server keeps comfortably, and the fleet totals remain. */
export const MAX_GROUP_SERIES = 1000;
const LAMP_STATES = ['online', 'offline', 'on', 'off', 'fault'] as const;
/** From a lamp on loopback (well under 1 ms) to the RFC 7252 retransmission window (~93 s). */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export type ErrorKind = (typeof ERROR_KINDS)[number];
export type PublishKind = (typeof PUBLISH_KINDS)[number];
export type CoapDropKind = (typeof DROP_KINDS)[number];

/** prom-client's process and Node metrics: one set per process, however many gateways it runs
 * (each collection sets up its own event-loop and GC observers, which nothing tears down). */
let processRegistry: Registry | null = null;
function processMetrics(): Registry {
  if (processRegistry === null) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export interface FleetAggregate {
  fleet: FleetStats;
  groups: Map<string, FleetStats>;
}

export interface MetricsSources {
  lamps(): number;
  online(): number;
  publishBacklog(): number;
  commandBacklog(): number;
  inFlight(): number;
  /** One pass over the registry, taken once per scrape. */
  aggregate(): FleetAggregate;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  /** From a command's arrival for a lamp to the lamp's answer (queueing included), by result. */
  readonly commandRoundTrip: Histogram<'result'>;
  /** From a CoAP request's first transmission to its answer or last timeout, by result. */
  readonly coapExchange: Histogram<'result'>;
  readonly registrations: Counter;
  readonly updates: Counter;
  readonly deregistrations: Counter;
  readonly notifications: Counter;
  readonly commands: Counter<'target'>;
  readonly deliveries: Counter<'result'>;
  readonly timeouts: Counter;
  readonly errors: Counter<'kind'>;
  readonly publishes: Counter<'kind'>;
  readonly coapDrops: Counter<'reason'>;
  readonly retransmissions: Counter;
  readonly errorReportsDropped: Counter;
  readonly mqttPacketsRefused: Counter<'reason'>;
  readonly mqttPublishesRefused: Counter<'reason'>;

  private scrape: FleetAggregate | null = null;

  constructor(private readonly read: MetricsSources) {
    const registers = [this.registry];
    processMetrics(); // from now, not from the first scrape: GC and event-loop figures start here
    this.registrations = new Counter({ name: 'lampnet_gateway_registrations_total', help: 'LwM2M registrations (POST /rd) accepted', registers });
    this.updates = new Counter({ name: 'lampnet_gateway_updates_total', help: 'LwM2M registration updates (POST /rd/<location>) accepted', registers });
    this.deregistrations = new Counter({ name: 'lampnet_gateway_deregistrations_total', help: 'LwM2M de-registrations (DELETE /rd/<location>) accepted', registers });
    this.notifications = new Counter({ name: 'lampnet_gateway_notifications_total', help: 'Observe notifications and read answers taken into the registry', registers });
    this.commands = new Counter({ name: 'lampnet_gateway_commands_total', help: 'Commands from MQTT accepted for delivery to lamps, by target', labelNames: ['target'], registers });
    this.deliveries = new Counter({ name: 'lampnet_gateway_command_deliveries_total', help: 'CoAP command requests finished, by result', labelNames: ['result'], registers });
    this.timeouts = new Counter({ name: 'lampnet_gateway_command_timeouts_total', help: 'Commands a lamp never confirmed', registers });
    this.errors = new Counter({ name: 'lampnet_gateway_errors_total', help: 'Reports published on lampnet/gateway/errors, by kind', labelNames: ['kind'], registers });
    this.publishes = new Counter({ name: 'lampnet_gateway_mqtt_publishes_total', help: 'MQTT messages published by the gateway, by kind', labelNames: ['kind'], registers });
    this.coapDrops = new Counter({ name: 'lampnet_gateway_coap_dropped_total', help: 'CoAP datagrams dropped or refused, by reason', labelNames: ['reason'], registers });
    this.errorReportsDropped = new Counter({ name: 'lampnet_gateway_error_reports_dropped_total', help: 'Error reports, command notices and MQTT 5 command answers not published because too many were waiting for MQTT', registers });
    this.retransmissions = new Counter({ name: 'lampnet_gateway_coap_retransmissions_total', help: 'CoAP confirmable requests sent again after no acknowledgement', registers });
    this.mqttPacketsRefused = new Counter({ name: 'lampnet_gateway_mqtt_packets_refused_total', help: 'Client connections to the embedded broker closed at a packet header, by reason (too-large: over --mqtt-max-packet)', labelNames: ['reason'], registers });
    this.mqttPublishesRefused = new Counter({ name: 'lampnet_gateway_mqtt_publishes_refused_total', help: 'Publishes and wills of embedded-broker clients refused, by reason (only the gateway speaks for lamps; clients may publish unretained .../set commands)', labelNames: ['reason'], registers });
    // Every labelled series starts at 0, so rate() and dashboards see it before its first event.
    for (const kind of ERROR_KINDS) this.errors.inc({ kind }, 0);
    for (const kind of PUBLISH_KINDS) this.publishes.inc({ kind }, 0);
    for (const reason of DROP_KINDS) this.coapDrops.inc({ reason }, 0);
    for (const reason of PACKET_REFUSALS) this.mqttPacketsRefused.inc({ reason }, 0);
    for (const reason of PUBLISH_REFUSALS) this.mqttPublishesRefused.inc({ reason }, 0);
    for (const target of ['lamp', 'group']) this.commands.inc({ target }, 0);
    for (const result of ['confirmed', 'refused', 'timeout']) this.deliveries.inc({ result }, 0);
    const gauge = (name: string, help: string, value: () => number): void => {
      new Gauge({ name, help, registers, collect() { this.set(value()); } });
    };
    gauge('lampnet_gateway_lamps', 'Lamps known to the gateway', read.lamps);
    gauge('lampnet_gateway_lamps_online', 'Lamps whose registration is alive', read.online);
    gauge('lampnet_gateway_publish_backlog', 'Lamps with a state or availability change not yet published', read.publishBacklog);
    gauge('lampnet_gateway_command_backlog', 'Lamps with a command waiting or in flight', read.commandBacklog);
    gauge('lampnet_gateway_coap_in_flight', 'Confirmable requests awaiting an acknowledgement', read.inFlight);

    const results = ['confirmed', 'refused', 'timeout'];
    this.commandRoundTrip = new Histogram({ name: 'lampnet_gateway_command_round_trip_seconds', help: 'From a command for a lamp arriving (MQTT) to the lamp confirming or the command failing, by result', labelNames: ['result'], buckets: LATENCY_BUCKETS, registers });
    this.coapExchange = new Histogram({ name: 'lampnet_gateway_coap_exchange_seconds', help: 'From a confirmable CoAP request\'s first transmission to its answer or final timeout, by result', labelNames: ['result'], buckets: LATENCY_BUCKETS, registers });
    for (const result of results) {
      this.commandRoundTrip.zero({ result });
      this.coapExchange.zero({ result });
    }

    const fleet = (): FleetAggregate => this.scrape ?? this.read.aggregate();
    const groups = (): [string, FleetStats][] => {
      const all = fleet().groups;
      return all.size > MAX_GROUP_SERIES ? [] : [...all];
    };
    new Gauge({
      name: 'lampnet_fleet_lamps', help: 'Lamps known to the gateway, by state (on, off and fault count online lamps only)', labelNames: ['state'], registers,
      collect() { const f = fleet().fleet; for (const state of LAMP_STATES) this.set({ state }, f[state]); },
    });
    new Gauge({ name: 'lampnet_fleet_watts', help: 'Power drawn by the online lamps (W)', registers, collect() { this.set(fleet().fleet.watts); } });
    // Joules, Prometheus's base unit of energy (1 Wh = 3600 J), as promtool asks.
    new Gauge({ name: 'lampnet_fleet_energy_joules', help: 'Energy the known lamps have metered (J)', registers, collect() { this.set(fleet().fleet.energyWh * 3600); } });
    new Gauge({
      name: 'lampnet_group_lamps', help: `Lamps of each group by state, while there are at most ${MAX_GROUP_SERIES} groups`, labelNames: ['group', 'state'], registers,
      collect() {
        this.reset();
        for (const [group, g] of groups()) for (const state of LAMP_STATES) this.set({ group, state }, g[state]);
      },
    });
    new Gauge({
      name: 'lampnet_group_watts', help: `Power drawn by each group's online lamps (W), while there are at most ${MAX_GROUP_SERIES} groups`, labelNames: ['group'], registers,
      collect() { this.reset(); for (const [group, g] of groups()) this.set({ group }, g.watts); },
    });
    new Gauge({
      name: 'lampnet_group_energy_joules', help: `Energy each group's lamps have metered (J), while there are at most ${MAX_GROUP_SERIES} groups`, labelNames: ['group'], registers,
      collect() { this.reset(); for (const [group, g] of groups()) this.set({ group }, g.energyWh * 3600); },
    });
  }

  /** The Prometheus text exposition of every metric, the process's included (the fleet
   * aggregated once for all of it). */
  async text(): Promise<string> {
    this.scrape = this.read.aggregate();
    try {
      const own = await this.registry.metrics();
      return `${own}${own.endsWith('\n') ? '' : '\n'}${await processMetrics().metrics()}`;
    } finally {
      this.scrape = null;
    }
  }
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** Whether the gateway does its job now, and what each check found (the /readyz document). */
export interface Readiness {
  ready: boolean;
  checks: Record<string, string>;
}

/**
 * Serve on `host:port` (0 = any free port): `GET /metrics` (Prometheus), `GET /healthz` (200
 * while the process answers at all: for a liveness probe) and `GET /readyz` (200 when `readiness`
 * says ready, else 503, with its checks as JSON: for a readiness probe or a load balancer).
 */
export async function serveMetrics(metrics: GatewayMetrics, port: number, host: string, readiness: () => Readiness): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET' }).end(`${req.method} not allowed; GET /metrics, /healthz or /readyz\n`);
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const r = readiness();
      res.writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify(r)}\n`);
    } else if (path === '/metrics') {
      metrics.text().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(err)}\n`),
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}; served here: /metrics, /healthz, /readyz\n`);
    }
  });
  await listen(server, port, host, 'metrics');
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
