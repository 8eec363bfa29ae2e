/**
 * The gateway's Prometheus metrics and the HTTP endpoint that serves them (`--metrics-port`).
 *
 * One prom-client Registry per gateway (not the global one), so several gateways in one process —
 * tests, `lampnet up` — keep separate counts. Label values come from small fixed sets (never a lamp
 * id or an error text), so the number of series stays bounded however many lamps there are.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry } from 'prom-client';
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
const PUBLISH_KINDS = ['state', 'availability', 'stats', 'discovery', 'error', 'status', 'response'] as const;
const DROP_KINDS = ['malformed', 'unmatched-response', 'duplicate', 'bad-request', 'registry-full', 'unsupported'] as const;

export type ErrorKind = (typeof ERROR_KINDS)[number];
export type PublishKind = (typeof PUBLISH_KINDS)[number];
export type CoapDropKind = (typeof DROP_KINDS)[number];

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly registrations: Counter;
  readonly updates: Counter;
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

  constructor(read: { lamps(): number; online(): number; publishBacklog(): number; commandBacklog(): number; inFlight(): number }) {
    const registers = [this.registry];
    this.registrations = new Counter({ name: 'lampnet_gateway_registrations_total', help: 'Lamp registrations (POST /rd) accepted', registers });
    this.updates = new Counter({ name: 'lampnet_gateway_updates_total', help: 'Registration updates and state reports (POST /rd/<id>) accepted', registers });
    this.commands = new Counter({ name: 'lampnet_gateway_commands_total', help: 'Commands from MQTT accepted for delivery to lamps, by target', labelNames: ['target'], registers });
    this.deliveries = new Counter({ name: 'lampnet_gateway_command_deliveries_total', help: 'CoAP command requests finished, by result', labelNames: ['result'], registers });
    this.timeouts = new Counter({ name: 'lampnet_gateway_command_timeouts_total', help: 'Commands a lamp never confirmed', registers });
    this.errors = new Counter({ name: 'lampnet_gateway_errors_total', help: 'Reports published on lampnet/gateway/errors, by kind', labelNames: ['kind'], registers });
    this.publishes = new Counter({ name: 'lampnet_gateway_mqtt_publishes_total', help: 'MQTT messages published by the gateway, by kind', labelNames: ['kind'], registers });
    this.coapDrops = new Counter({ name: 'lampnet_gateway_coap_dropped_total', help: 'CoAP datagrams dropped or refused, by reason', labelNames: ['reason'], registers });
    this.errorReportsDropped = new Counter({ name: 'lampnet_gateway_error_reports_dropped_total', help: 'Error reports and MQTT 5 command answers not published because too many were waiting for MQTT', registers });
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
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** Serve `GET /metrics` on `host:port` (0 = any free port). */
export async function serveMetrics(metrics: GatewayMetrics, port: number, host: string): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; metrics are at /metrics\n');
      return;
    }
    metrics.text().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(err)}\n`),
    );
  });
  await listen(server, port, host, 'metrics');
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
