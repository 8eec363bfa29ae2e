/**
 * The gateway assembled: lamps on a datagram transport on one side (lamps/), MQTT on the other
 * (mqtt/, and the embedded broker in broker/), the LampRegistry between them.
 *
 *   transport ──CoAP──► lamps/ResourceDirectory (POST /rd…) ──► LampRegistry ──► mqtt/Publisher ──► MQTT
 *             ◄─CoAP─── lamps/CoapClient ◄── lamps/LampCommander ◄── mqtt/commands ◄── MQTT .../set
 *
 * `startGateway` is used by `lampnet gateway` (its own udp6 socket), by `lampnet up` (the
 * simulator's in-memory endpoint passed as `transport`) and by tests; `close()` undoes everything
 * it started and nothing it was given.
 */
import mqtt, { MqttClient, type IClientOptions } from 'mqtt';
import { coapReader, readCoap } from '../protocol/coap.js';
import { COAP_PORT } from '../protocol/registration.js';
import { type BrokerCredentials, type EmbeddedBroker, startEmbeddedBroker } from './broker/broker.js';
import { CoapClient } from './lamps/coap-client.js';
import { CommandHold } from './mqtt/command-hold.js';
import { type CommandContext, deliverHeldCommand, expireHeldCommands, handleCommandMessage } from './mqtt/commands.js';
import { LampCommander } from './lamps/commander.js';
import { GatewayMetrics, type MetricsServer, serveMetrics } from './metrics.js';
import { DEFAULT_MAX_PACKET_BYTES } from './broker/mqtt-size-guard.js';
import { DIRTY_AVAILABILITY, DIRTY_DISCOVERY, DIRTY_STATE, Publisher } from './mqtt/publisher.js';
import { CommandReplies, replyAddressOf } from './mqtt/replies.js';
import { LampRegistry } from './registry.js';
import { ResourceDirectory } from './lamps/resource-directory.js';
import { defaultDashboardDir } from './broker/static-files.js';
import { COMMAND_SUBSCRIPTIONS, STATUS_TOPIC } from '../protocol/mqtt-topics.js';
import type { DatagramEndpoint } from '../protocol/datagram.js';
import { openUdpTransport } from './lamps/transport-udp.js';

export interface GatewayOptions {
  /** External broker URL (mqtt://, mqtts://, ws://); null = the embedded aedes broker. */
  mqttUrl: string | null;
  mqttUsername: string | null;
  mqttPassword: string | null;
  /** MQTT client id of the gateway (keep it stable: an external broker keeps its session). */
  clientId: string;
  /** Address the embedded broker's and the metrics' servers listen on. */
  listenHost: string;
  /** Embedded broker TCP port (0 = any free port). */
  mqttPort: number;
  /** Embedded broker WebSocket (and dashboard) port, null = none. */
  wsPort: number | null;
  /** Credentials clients need for the embedded broker; null = open broker. */
  brokerCredentials: BrokerCredentials | null;
  /** Largest Remaining Length of a packet a client may send to the embedded broker; a larger one
   * closes the client's connection at its header. */
  mqttMaxPacketBytes: number;
  /** Prometheus endpoint port, null = none. */
  metricsPort: number | null;
  /** The udp6 socket (when no transport is given). */
  coapHost: string;
  coapPort: number;
  multicastInterface: string | null;
  /** Send group commands by multicast: true/false, or null to follow the transport's `multicast`. */
  groupMulticast: boolean | null;
  /** Period of lampnet/stats and group stats. */
  statsIntervalMs: number;
  haDiscovery: boolean;
  /** Period of the lifetime sweep that turns silent lamps offline. */
  sweepIntervalMs: number;
  /** Grace after a lamp's lifetime before it counts as offline. */
  lifetimeGraceMs: number;
  /** CoAP retransmission parameters (RFC 7252 §4.8). */
  ackTimeoutMs: number;
  maxRetransmit: number;
  /** Confirmable commands in flight at once over all lamps. */
  maxCommandsInFlight: number;
  maxLamps: number;
  /** Directory served on the WebSocket port (the dashboard); null = none. */
  dashboardDir: string | null;
  /** For this long after start, commands for lamps that have not registered yet are held until
   * they do: a restarted gateway learns its lamps only as they refresh, by default within 85 % of
   * their 300 s lifetime. 0 = refuse at once. */
  commandHoldMs: number;
  /** How long startGateway waits for the first MQTT connection. */
  connectTimeoutMs: number;
}

export const DEFAULT_GATEWAY_OPTIONS: GatewayOptions = {
  mqttUrl: null,
  mqttUsername: null,
  mqttPassword: null,
  clientId: 'lampnet-gateway',
  listenHost: '127.0.0.1',
  mqttPort: 1883,
  wsPort: 9001,
  brokerCredentials: null,
  mqttMaxPacketBytes: DEFAULT_MAX_PACKET_BYTES,
  metricsPort: 9464,
  coapHost: '::',
  coapPort: COAP_PORT,
  multicastInterface: null,
  groupMulticast: null,
  // Twice a second: a change shows in lampnet/stats within the period plus one pass over the
  // registry (~20 ms at a million lamps), under a second even when it lands just after a pass.
  statsIntervalMs: 500,
  haDiscovery: false,
  sweepIntervalMs: 1000,
  lifetimeGraceMs: 1000,
  ackTimeoutMs: 2000,
  maxRetransmit: 4,
  maxCommandsInFlight: 1000,
  maxLamps: 2_000_000,
  dashboardDir: defaultDashboardDir(),
  commandHoldMs: 300_000,
  connectTimeoutMs: 10_000,
};

export interface GatewayHandle {
  readonly options: GatewayOptions;
  readonly registry: LampRegistry;
  readonly metrics: GatewayMetrics;
  /** The MQTT URL clients use (the embedded broker's TCP listener, or the external URL). */
  readonly mqttUrl: string;
  /** Ports actually bound (useful with 0); null for what is not running. */
  readonly mqttPort: number | null;
  readonly wsPort: number | null;
  readonly metricsPort: number | null;
  readonly coapPort: number | null;
  close(): Promise<void>;
}

export async function startGateway(overrides: Partial<GatewayOptions> = {}, transport?: DatagramEndpoint): Promise<GatewayHandle> {
  const options: GatewayOptions = { ...DEFAULT_GATEWAY_OPTIONS, ...overrides };
  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const step of cleanups.splice(0).reverse()) await step();
  };
  try {
    return await assemble(options, transport, cleanups, cleanup);
  } catch (err) {
    await cleanup();
    throw err;
  }
}

async function assemble(
  options: GatewayOptions,
  given: DatagramEndpoint | undefined,
  cleanups: (() => Promise<void> | void)[],
  cleanup: () => Promise<void>,
): Promise<GatewayHandle> {
  let closed = false;
  const udp = given === undefined
    ? await openUdpTransport({ host: options.coapHost, port: options.coapPort, multicastInterface: options.multicastInterface ?? undefined })
    : null;
  if (udp !== null) cleanups.push(() => udp.close());
  const link: DatagramEndpoint = udp ?? (given as DatagramEndpoint);

  const registry = new LampRegistry({ maxLamps: options.maxLamps, graceMs: options.lifetimeGraceMs });
  // The gauges read parts built below; they are only read when /metrics is scraped.
  const metrics: GatewayMetrics = new GatewayMetrics({
    lamps: () => registry.size,
    online: () => registry.onlineCount,
    publishBacklog: (): number => pub.backlog,
    commandBacklog: (): number => cmd.backlog,
    inFlight: (): number => coap.inFlight,
  });
  const send = (addr: string, port: number, data: Uint8Array): void => link.send(addr, port, data);
  const coap = new CoapClient(send, {
    ackTimeoutMs: options.ackTimeoutMs,
    maxRetransmit: options.maxRetransmit,
    retransmitted: () => metrics.retransmissions.inc(),
  });
  cleanups.push(() => coap.close());

  // MQTT: the embedded broker (gateway connected in-process) or an external one by URL.
  let broker: EmbeddedBroker | null = null;
  let client: MqttClient;
  const will = { topic: STATUS_TOPIC, payload: Buffer.from('offline'), qos: 1 as const, retain: true };
  // MQTT 5 first, with any broker; fallBackToMqtt311 below turns to 3.1.1 where a broker has nothing newer.
  const clientOptions: IClientOptions = { clientId: options.clientId, will, queueQoSZero: false, reconnectPeriod: 1000, connectTimeout: options.connectTimeoutMs, protocolVersion: 5 };
  if (options.mqttUrl === null) {
    broker = await startEmbeddedBroker({
      host: options.listenHost, mqttPort: options.mqttPort, wsPort: options.wsPort,
      credentials: options.brokerCredentials, staticDir: options.dashboardDir,
      maxPacketBytes: options.mqttMaxPacketBytes, packetRefused: (reason) => metrics.mqttPacketsRefused.inc({ reason }),
      publishRefused(refusal, topic, payload) {
        metrics.mqttPublishesRefused.inc({ reason: refusal.reason });
        // Reported like a retained command an external broker replays (the broker runs in this
        // process: no client publish can arrive before `commands` exists below).
        if (refusal.reason === 'retained-command') handleCommandMessage(commands, topic, payload, true);
      },
    });
    cleanups.push(() => broker?.close());
    const embedded = broker;
    client = new MqttClient(() => embedded.connectGateway(), { ...clientOptions, clean: true });
  } else {
    // A persistent session on an external broker keeps commands sent while the gateway is down. On
    // MQTT 5 a session ends with its connection unless it has a Session Expiry Interval: this one
    // never expires, as a 3.1.1 session without Clean Session does not.
    client = mqtt.connect(options.mqttUrl, {
      ...clientOptions, clean: false, properties: { sessionExpiryInterval: SESSION_NEVER_EXPIRES },
      ...(options.mqttUsername === null ? {} : { username: options.mqttUsername }),
      ...(options.mqttPassword === null ? {} : { password: options.mqttPassword }),
    });
  }
  cleanups.push(() => new Promise<void>((resolve) => client.end(true, {}, () => resolve())));
  const mqttUrl = broker === null ? (options.mqttUrl as string) : `mqtt://${urlHost(options.listenHost)}:${broker.mqttPort}`;

  const pub: Publisher = new Publisher(client, registry, metrics, { haDiscovery: options.haDiscovery });
  const discovery = options.haDiscovery ? DIRTY_DISCOVERY : 0;
  const replies = new CommandReplies((address, document) => pub.respond(address, document), (i) => pub.stateDocument(i));
  const cmd: LampCommander = new LampCommander(registry, coap, {
    confirmed: (i) => {
      pub.mark(i, DIRTY_STATE);
      replies.confirmed(i);
    },
    failed: (topic, lamp, kind, reason) => {
      pub.reportError({ topic, kind, lamp, reason });
      replies.failed(registry.find(lamp), kind, reason);
    },
    finished: (result) => {
      metrics.deliveries.inc({ result });
      if (result === 'timeout') metrics.timeouts.inc();
    },
  }, { maxInFlight: options.maxCommandsInFlight, multicast: options.groupMulticast ?? link.multicast === true });
  cleanups.push(() => cmd.close());

  const hold = new CommandHold(Date.now(), options.commandHoldMs);
  const commands: CommandContext = { registry, hold, commander: cmd, metrics, reportError: (report) => pub.reportError(report), replies };
  const directory = new ResourceDirectory(registry, send, {
    registered(i) {
      metrics.registrations.inc();
      pub.mark(i, DIRTY_STATE | DIRTY_AVAILABILITY | discovery);
      deliverHeldCommand(commands, i);
    },
    updated(i, reported) {
      metrics.updates.inc();
      // On MQTT 5 the retained state expires with the registration: a refresh renews it.
      if (reported || client.options.protocolVersion === 5) pub.mark(i, DIRTY_STATE);
    },
    dropped: (reason) => metrics.coapDrops.inc({ reason }),
  });

  const reader = coapReader();
  link.onMessage((from, port, data) => {
    if (closed) return;
    if (!readCoap(reader, data, 0, data.length)) return void metrics.coapDrops.inc({ reason: 'malformed' });
    const codeClass = reader.code >> 5;
    if (codeClass === 0) directory.handle(reader, from, port);
    else if (codeClass === 2 || codeClass === 4 || codeClass === 5) {
      if (!coap.handle(reader, from, port)) metrics.coapDrops.inc({ reason: 'unmatched-response' });
    } else metrics.coapDrops.inc({ reason: 'malformed' });
  });

  client.on('message', (topic, payload, packet) => handleCommandMessage(commands, topic, payload, packet.retain, replyAddressOf(packet.properties)));
  client.on('connect', () => {
    client.subscribe(COMMAND_SUBSCRIPTIONS, { qos: 1 });
    pub.connected();
  });
  // mqtt.js reconnects by itself; errors are reported through 'error' and must not be unhandled.
  let lastMqttError: Error | null = null;
  client.on('error', (err) => {
    lastMqttError = err;
    fallBackToMqtt311(client, err);
  });

  const sweep = setInterval(() => {
    const now = Date.now();
    registry.sweep(now, (i) => pub.mark(i, DIRTY_AVAILABILITY));
    expireHeldCommands(commands, now);
  }, options.sweepIntervalMs);
  const stats = setInterval(() => pub.publishStats(), options.statsIntervalMs);
  cleanups.push(() => { clearInterval(sweep); clearInterval(stats); });

  let metricsServer: MetricsServer | null = null;
  if (options.metricsPort !== null) {
    metricsServer = await serveMetrics(metrics, options.metricsPort, options.listenHost);
    const server = metricsServer;
    cleanups.push(() => server.close());
  }

  await firstConnection(client, options, () => lastMqttError);

  return {
    options,
    registry,
    metrics,
    mqttUrl,
    mqttPort: broker?.mqttPort ?? null,
    wsPort: broker?.wsPort ?? null,
    metricsPort: metricsServer?.port ?? null,
    coapPort: udp?.port ?? null,
    async close() {
      if (closed) return;
      if (client.connected) await withTimeout(pub.goingOffline(), 2000);
      closed = true;
      await cleanup();
    },
  };
}

/** MQTT 5 Session Expiry Interval meaning "never" (§3.1.2.11.2). */
const SESSION_NEVER_EXPIRES = 0xffffffff;

/** CONNACK codes of a broker that does not speak the protocol version asked for: 3.1.1's
 * "unacceptable protocol version" (1) and MQTT 5's "Unsupported Protocol Version" (0x84). */
const UNSUPPORTED_PROTOCOL = [1, 0x84];

/** A broker that refused the gateway's MQTT 5 CONNECT for its version is asked again with 3.1.1
 * (mqtt.js does not retry after a refusing CONNACK by itself; a connection reads the client's
 * options anew). */
function fallBackToMqtt311(client: MqttClient, err: Error): void {
  if (client.options.protocolVersion !== 5 || !UNSUPPORTED_PROTOCOL.includes((err as { code?: unknown }).code as number)) return;
  client.options.protocolVersion = 4;
  // After mqtt.js has finished handling the refusal that reported this error.
  setImmediate(() => client.reconnect());
}

/** MQTT CONNACK codes that retrying will not fix: bad credentials, not authorized (v3.1.1 and v5). */
const REFUSED_FOR_GOOD = [4, 5, 134, 135];

function firstConnection(client: MqttClient, options: GatewayOptions, lastError: () => Error | null): Promise<void> {
  if (client.connected) return Promise.resolve();
  const broker = options.mqttUrl ?? '(embedded)';
  return new Promise((resolve, reject) => {
    const settle = (err: Error | null): void => {
      clearTimeout(timer);
      client.off('connect', connected);
      client.off('error', refused);
      if (err === null) resolve();
      else reject(err);
    };
    const timer = setTimeout(() => {
      settle(new Error(`cannot connect to the MQTT broker ${broker} within ${options.connectTimeoutMs} ms: ${lastError()?.message ?? 'no answer'}`));
    }, options.connectTimeoutMs);
    const connected = (): void => settle(null);
    const refused = (err: Error): void => {
      if (REFUSED_FOR_GOOD.includes((err as { code?: unknown }).code as number)) settle(new Error(`the MQTT broker ${broker} refused the gateway: ${err.message} (check --mqtt-username/--mqtt-password)`));
    };
    client.on('connect', connected);
    client.on('error', refused);
  });
}

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  return Promise.race([promise, new Promise<void>((resolve) => setTimeout(resolve, ms).unref())]);
}

/** `host` as it goes into a URL; a wildcard address becomes the loopback a local client can use. */
export function urlHost(host: string): string {
  const concrete = host === '::' ? '::1' : host === '0.0.0.0' ? '127.0.0.1' : host;
  return concrete.includes(':') ? `[${concrete}]` : concrete;
}
