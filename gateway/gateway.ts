/**
 * The gateway assembled: lamps on a datagram transport on one side (lamps/), MQTT on the other
 * (mqtt/, and the embedded broker in broker/), the LampRegistry between them.
 *
 *   transport ──CoAP──► lamps/ResourceDirectory (LwM2M Register…) ──► LampRegistry ──► mqtt/Publisher ──► MQTT
 *             ──CoAP──► lamps/LampObserver (notifications) ─────────────┘
 *             ◄─CoAP─── lamps/CoapClient ◄── lamps/LampCommander ◄── mqtt/commands ◄── MQTT .../set
 *                                         ◄── lamps/LampObserver (Write-Attributes, Observe after Register)
 *
 * `startGateway` is used by `lampnet gateway` (its own udp6 socket), by `lampnet up` (the
 * simulator's in-memory endpoint passed as `transport`) and by tests; `close()` undoes everything
 * it started and nothing it was given.
 */
import mqtt, { MqttClient, type IClientOptions } from 'mqtt';
import { coapReader, readCoap } from '../protocol/coap.js';
import { LampKeys, type LampKeysOptions } from './lamps/security.js';
import { COAP_PORT } from '../protocol/lamp.js';
import { type BrokerCredentials, type EmbeddedBroker, startEmbeddedBroker } from './broker/broker.js';
import { CoapClient } from './lamps/coap-client.js';
import { CommandHold } from './mqtt/command-hold.js';
import { type CommandContext, type CommandOutcome, deliverHeldCommand, expireHeldCommands, handleCommandMessage } from './mqtt/commands.js';
import { LampCommander } from './lamps/commander.js';
import { GatewayMetrics, type MetricsServer, type Readiness, serveMetrics } from './metrics.js';
import { DEFAULT_MAX_PACKET_BYTES } from './broker/mqtt-size-guard.js';
import { DIRTY_AVAILABILITY, DIRTY_DISCOVERY, DIRTY_STATE, Publisher } from './mqtt/publisher.js';
import { CommandReplies, replyAddressOf } from './mqtt/replies.js';
import { columnWith, LampRegistry } from './registry.js';
import { ResourceDirectory } from './lamps/resource-directory.js';
import { LampObserver } from './lamps/observer.js';
import { defaultDashboardDir } from './broker/static-files.js';
import { dashboardApi, STATS_HISTORY_PERIOD_MS, StatsHistoryRecorder } from './dashboard-api.js';
import { COMMAND_SUBSCRIPTIONS, STATUS_TOPIC } from '../protocol/mqtt-topics.js';
import type { DatagramEndpoint } from '../protocol/datagram.js';
import { openUdpTransport } from './lamps/transport-udp.js';
import { boardEndpoint, embeddedIpv4, parseBoardPrefix } from './siit/address.js';
import { isIpv4Mapped } from './lamps/transport.js';
import { type BoardNetwork, openBoardNetwork, type PingWhen } from './siit/board-network.js';

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
  /** pmax (s) the gateway writes on every lamp's /3311/0: energy and on-time on MQTT are never
   * older than this (plus the network's delay). */
  energyPmaxS: number;
  /** New endpoint names one address may register per minute. */
  newEndpointsPerAddress: number;
  /** CoAP retransmission parameters (RFC 7252 §4.8). */
  ackTimeoutMs: number;
  maxRetransmit: number;
  /** Confirmable commands in flight at once over all lamps. */
  maxCommandsInFlight: number;
  /** Setup requests after Register (Write-Attributes, Observe, reads) in flight at once over all
   * lamps: a registration storm's setups wait their turn instead of swamping lamps and gateway. */
  maxSetupsInFlight: number;
  maxLamps: number;
  /** Directory served on the WebSocket port (the dashboard); null = none. */
  dashboardDir: string | null;
  /** For this long after start, commands for lamps that have not registered yet are held until
   * they do: a restarted gateway learns its lamps only as they refresh, by default within 85 % of
   * their 300 s lifetime. 0 = refuse at once. */
  commandHoldMs: number;
  /** The number of lamps to expect, when known (`lampnet up` runs the fleet): once all have
   * registered the hold ends, and an unknown lamp is an error at once. null = not known. */
  fleetSize: number | null;
  /** The hold also ends once no new lamp has registered for this long. */
  registrationsSettleMs: number;
  /** How long startGateway waits for the first MQTT connection. */
  connectTimeoutMs: number;
  /** IPv4 boards served at IPv6 addresses through a translator (gateway/siit/), or null. */
  boards: BoardOptions | null;
  /** OSCORE (RFC 8613, `--security oscore`): commands and reads go protected under each lamp's
   * context derived from this fleet secret (gateway/lamps/security.ts), group commands by unicast
   * to each member (a multicast request would need Group OSCORE). Absent or null: `--security none`. */
  security?: LampKeysOptions | null;
}

export interface BoardOptions {
  /** `<prefix>/96`: board a.b.c.d is `<prefix>::a.b.c.d` (RFC 6052). */
  prefix: string;
  /** Name of the translator's TUN device. */
  tun: string;
  /** IPv4 ranges (CIDR) that stand for IPv6 clients `<prefix>::a.b.c.d`. */
  clientRanges: string[];
  /** `lit`: a board answers ping only while the registry says its light is on. */
  pingWhen: PingWhen;
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
  energyPmaxS: 60,
  newEndpointsPerAddress: 64,
  ackTimeoutMs: 2000,
  maxRetransmit: 4,
  maxCommandsInFlight: 1000,
  maxSetupsInFlight: 2048,
  maxLamps: 2_000_000,
  dashboardDir: defaultDashboardDir(),
  commandHoldMs: 300_000,
  fleetSize: null,
  // Long enough that a restarted gateway's lamps, refreshing at random over their 255 s, are
  // mostly back before an unknown lamp counts as an error.
  registrationsSettleMs: 60_000,
  connectTimeoutMs: 10_000,
  boards: null,
  security: null,
};

/** What an operator's terminal reports as it happens (cli/reporter.ts); counts are in `metrics`. */
export type GatewayEvent =
  | { event: 'broker-lost'; reason: string }
  | { event: 'broker-back' }
  | { event: 'lamp-fault'; lamp: string; fault: boolean }
  | { event: 'client-refused'; client: string; reason: string }
  | { event: 'command'; outcome: CommandOutcome };

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
  /** The board translator, when `boards` is set. */
  readonly boardNetwork: BoardNetwork | null;
  /** What /readyz answers. */
  readiness(): Readiness;
  /** Lamps whose change is not yet published, and lamps with a command waiting or in flight. */
  backlog(): { publish: number; command: number };
  close(): Promise<void>;
}

export async function startGateway(overrides: Partial<GatewayOptions> = {}, transport?: DatagramEndpoint, observe: (e: GatewayEvent) => void = () => {}): Promise<GatewayHandle> {
  const options: GatewayOptions = { ...DEFAULT_GATEWAY_OPTIONS, ...overrides };
  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const step of cleanups.splice(0).reverse()) await step();
  };
  try {
    return await assemble(options, transport, observe, cleanups, cleanup);
  } catch (err) {
    await cleanup();
    throw err;
  }
}

async function assemble(
  options: GatewayOptions,
  given: DatagramEndpoint | undefined,
  observe: (e: GatewayEvent) => void,
  cleanups: (() => Promise<void> | void)[],
  cleanup: () => Promise<void>,
): Promise<GatewayHandle> {
  let closed = false;
  const udp = given === undefined
    ? await openUdpTransport({ host: options.coapHost, port: options.coapPort, multicastInterface: options.multicastInterface ?? undefined })
    : null;
  if (udp !== null) cleanups.push(() => udp.close());
  const boardPrefix = options.boards === null ? null : parseBoardPrefix(options.boards.prefix);
  const transport: DatagramEndpoint = udp ?? (given as DatagramEndpoint);
  const link = boardPrefix === null ? transport : boardEndpoint(transport, boardPrefix);

  const registry = new LampRegistry({ maxLamps: options.maxLamps, graceMs: options.lifetimeGraceMs });
  // The gauges read parts built below; they are only read when /metrics is scraped.
  const metrics: GatewayMetrics = new GatewayMetrics({
    lamps: () => registry.size,
    online: () => registry.onlineCount,
    publishBacklog: (): number => pub.backlog,
    commandBacklog: (): number => cmd.backlog,
    inFlight: (): number => coap.inFlight,
    aggregate: () => registry.aggregate(),
  });
  // Opened before the MQTT client: its awaits must not let the client connect before the
  // handlers below are attached.
  let boardNetwork: BoardNetwork | null = null;
  if (options.boards !== null && boardPrefix !== null) {
    boardNetwork = await openBoardNetwork({
      prefix: boardPrefix, tunName: options.boards.tun, clientRanges: options.boards.clientRanges,
      pingWhen: options.boards.pingWhen, registry, metrics: metrics.registry,
    });
    const network = boardNetwork;
    cleanups.push(() => network.close());
  }

  const send = (addr: string, port: number, data: Uint8Array): void => link.send(addr, port, data);
  const keys = options.security ? new LampKeys(options.security) : null;
  const coap = new CoapClient(send, {
    ackTimeoutMs: options.ackTimeoutMs,
    maxRetransmit: options.maxRetransmit,
    retransmitted: () => metrics.retransmissions.inc(),
    ...(keys ? { keys, forged: () => metrics.coapDrops.inc({ reason: 'oscore' }) } : {}),
  });
  cleanups.push(() => coap.close());

  // MQTT: the embedded broker (gateway connected in-process) or an external one by URL.
  const history = new StatsHistoryRecorder();
  let broker: EmbeddedBroker | null = null;
  let client: MqttClient;
  const will = { topic: STATUS_TOPIC, payload: Buffer.from('offline'), qos: 1 as const, retain: true };
  // MQTT 5 first, with any broker; fallBackToMqtt311 below turns to 3.1.1 where a broker has nothing newer.
  const clientOptions: IClientOptions = { clientId: options.clientId, will, queueQoSZero: false, reconnectPeriod: 1000, connectTimeout: options.connectTimeoutMs, protocolVersion: 5 };
  if (options.mqttUrl === null) {
    broker = await startEmbeddedBroker({
      host: options.listenHost, mqttPort: options.mqttPort, wsPort: options.wsPort,
      credentials: options.brokerCredentials, staticDir: options.dashboardDir, api: dashboardApi(registry, history),
      maxPacketBytes: options.mqttMaxPacketBytes,
      packetRefused: (reason) => {
        metrics.mqttPacketsRefused.inc({ reason });
        observe({ event: 'client-refused', client: '(unknown)', reason: `packet ${reason} (over --mqtt-max-packet)` });
      },
      publishRefused(refusal, topic, payload) {
        metrics.mqttPublishesRefused.inc({ reason: refusal.reason });
        // Reported like a retained command an external broker replays (the broker runs in this
        // process: no client publish can arrive before `commands` exists below).
        if (refusal.reason === 'retained-command') handleCommandMessage(commands, topic, payload, true);
      },
    });
    // A client the broker turned away (credentials, a publish it may not make) or that broke the
    // protocol; a connection that merely dropped is not news.
    const refused = (c: { id?: string } | null, err: Error): void => {
      if (CONNECTION_DROPPED.includes((err as NodeJS.ErrnoException).code ?? '')) return;
      observe({ event: 'client-refused', client: c?.id || '(before CONNECT)', reason: err.message });
    };
    broker.aedes.on('clientError', refused);
    broker.aedes.on('connectionError', refused);
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
      reportCommand({ outcome: 'failed', error: { topic, kind, lamp, reason } });
      replies.failed(registry.find(lamp), kind, reason);
    },
    finished: (result, roundTripS, exchangeS) => {
      metrics.deliveries.inc({ result });
      metrics.commandRoundTrip.observe({ result }, roundTripS);
      metrics.coapExchange.observe({ result }, exchangeS);
      if (result === 'timeout') metrics.timeouts.inc();
    },
  }, {
    maxInFlight: options.maxCommandsInFlight,
    multicast: !keys && (options.groupMulticast ?? link.multicast === true),
    // Boards keep the unicast fan-out at their board addresses: they are IPv4 hosts behind the translator.
    isIpv4Lamp: (addr) => isIpv4Mapped(addr) || (boardPrefix !== null && embeddedIpv4(boardPrefix, addr) >= 0),
  });
  cleanups.push(() => cmd.close());

  // Where every command's outcome leaves the gateway (a response to its sender belongs here too).
  function reportCommand(o: CommandOutcome): void {
    if (o.outcome === 'failed') pub.reportError(o.error);
    else pub.reportCommand(o);
    observe({ event: 'command', outcome: o });
  }
  // A lamp's fault is worth a line when it appears or clears, not on every report.
  let faultSeen = new Uint8Array(1024);
  const noteFault = (i: number): void => {
    faultSeen = columnWith(faultSeen, i);
    const fault = registry.isFault(i) ? 1 : 0;
    if (fault === faultSeen[i]) return;
    faultSeen[i] = fault;
    observe({ event: 'lamp-fault', lamp: registry.id(i), fault: fault === 1 });
  };
  const hold = new CommandHold(Date.now(), { holdMs: options.commandHoldMs, fleetSize: options.fleetSize, settleMs: options.registrationsSettleMs });
  const commands: CommandContext = { registry, hold, commander: cmd, metrics, report: reportCommand, replies };
  const observer = new LampObserver(registry, coap, send, (i) => cmd.nextMid(i), {
    changed(i) {
      // A lamp's first state goes out once its setup is done, complete (groups are read last).
      if (!observer.settingUp(i)) pub.mark(i, DIRTY_STATE);
      noteFault(i);
    },
    ready(i) {
      // Discovery waits for the setup too: it names the firmware version read in it.
      pub.mark(i, DIRTY_STATE | discovery);
      deliverHeldCommand(commands, i);
    },
    dropped: (reason) => metrics.coapDrops.inc({ reason }),
    notified: () => metrics.notifications.inc(),
  }, { energyPmaxS: options.energyPmaxS, maxInFlight: options.maxSetupsInFlight, retryBaseMs: options.ackTimeoutMs });
  cleanups.push(() => observer.close());
  const directory = new ResourceDirectory(registry, send, {
    registered(i) {
      boardNetwork?.registered(i);
      metrics.registrations.inc();
      hold.registered(Date.now(), registry.size);
      // Online as soon as it is registered; its first state follows once the setup is done.
      pub.mark(i, DIRTY_AVAILABILITY);
      observer.start(i);
    },
    updated(i, objectsChanged) {
      metrics.updates.inc();
      // Observations the client ended or never took are set up again at its next Update.
      if (objectsChanged || !observer.observed(i)) observer.start(i);
      // On MQTT 5 the retained state expires with the registration: a refresh renews it.
      else if (client.options.protocolVersion === 5 && registry.hasReport(i)) pub.mark(i, DIRTY_STATE);
    },
    deregistered(i) {
      metrics.deregistrations.inc();
      pub.mark(i, DIRTY_AVAILABILITY);
    },
    dropped: (reason) => metrics.coapDrops.inc({ reason }),
  }, { newEndpointsPerAddress: options.newEndpointsPerAddress });


  client.on('message', (topic, payload, packet) => handleCommandMessage(commands, topic, payload, packet.retain, replyAddressOf(packet.properties)));
  // mqtt.js reconnects by itself; errors are reported through 'error' and must not be unhandled.
  let lastMqttError: Error | null = null;
  client.on('error', (err) => {
    lastMqttError = err;
    fallBackToMqtt311(client, err);
  });
  let brokerLost = false;
  client.on('connect', () => {
    client.subscribe(COMMAND_SUBSCRIPTIONS, { qos: 1 });
    pub.connected();
    if (brokerLost) observe({ event: 'broker-back' });
    brokerLost = false;
  });
  client.on('offline', () => {
    if (closed || brokerLost) return;
    brokerLost = true;
    observe({ event: 'broker-lost', reason: lastMqttError?.message ?? 'connection closed' });
  });

  const sweep = setInterval(() => {
    const now = Date.now();
    registry.sweep(now, (i) => pub.mark(i, DIRTY_AVAILABILITY));
    directory.sweep(now);
    expireHeldCommands(commands, now);
  }, options.sweepIntervalMs);
  const stats = setInterval(() => pub.publishStats(), options.statsIntervalMs);
  const sampleHistory = (): void => history.record(Date.now(), registry.aggregate().fleet);
  sampleHistory();
  const historySampler = setInterval(sampleHistory, STATS_HISTORY_PERIOD_MS);
  cleanups.push(() => { clearInterval(sweep); clearInterval(stats); clearInterval(historySampler); });

  let metricsServer: MetricsServer | null = null;
  if (options.metricsPort !== null) {
    metricsServer = await serveMetrics(metrics, options.metricsPort, options.listenHost, () => readiness(client, registry, hold, options.fleetSize));
    const server = metricsServer;
    cleanups.push(() => server.close());
  }

  await firstConnection(client, options, () => lastMqttError);
  // Lamps are taken once the MQTT connection is up: a fleet's registrations arriving earlier would
  // keep the event loop too busy for the in-process broker to answer the gateway's CONNECT (it hands
  // over once per turn of the loop), and they could not be published yet anyway. Lamps retransmit.
  const reader = coapReader();
  link.onMessage((from, port, data) => {
    if (closed) return;
    if (!readCoap(reader, data, 0, data.length)) return void metrics.coapDrops.inc({ reason: 'malformed' });
    const codeClass = reader.code >> 5;
    if (codeClass === 0) directory.handle(reader, from, port);
    else if (codeClass === 2 || codeClass === 4 || codeClass === 5) {
      if (!coap.handle(reader, from, port) && !observer.notification(reader, from, port)) metrics.coapDrops.inc({ reason: 'unmatched-response' });
    } else metrics.coapDrops.inc({ reason: 'malformed' });
  });

  return {
    options,
    registry,
    metrics,
    mqttUrl,
    mqttPort: broker?.mqttPort ?? null,
    wsPort: broker?.wsPort ?? null,
    metricsPort: metricsServer?.port ?? null,
    coapPort: udp?.port ?? null,
    boardNetwork,
    readiness: () => readiness(client, registry, hold, options.fleetSize),
    backlog: () => ({ publish: pub.backlog, command: cmd.backlog }),
    async close() {
      if (closed) return;
      // With the embedded broker, `offline` must have gone out to the subscribers, not only be
      // acknowledged, before the broker closes their connections.
      if (client.connected) await withTimeout(Promise.all([broker?.delivered(STATUS_TOPIC), pub.goingOffline()]), 2000);
      closed = true;
      await cleanup();
    },
  };
}

/** Ready: connected to the broker, and the fleet registered — all of it when its size is known,
 * else as far as the command hold can tell (it has ended: time is up or registrations settled).
 * Lamps that go offline later do not make the gateway unready: it still serves the others. */
function readiness(client: MqttClient, registry: LampRegistry, hold: CommandHold, fleetSize: number | null): Readiness {
  const connected = client.connected;
  const known = registry.size;
  const registered = fleetSize === null ? !hold.holding(Date.now()) : known >= fleetSize;
  const progress = fleetSize === null ? `${known} registered` : `${known} of ${fleetSize} registered`;
  return {
    ready: connected && registered,
    checks: {
      mqtt: connected ? 'connected' : 'not connected',
      lamps: `${progress}, ${registry.onlineCount} online; ${registered ? 'registration complete' : 'still registering'}`,
    },
  };
}

/** Socket errors of a client that went away, not of one the broker refused. */
const CONNECTION_DROPPED = ['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED'];

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

function withTimeout(promise: Promise<unknown>, ms: number): Promise<unknown> {
  return Promise.race([promise, new Promise<void>((resolve) => setTimeout(resolve, ms).unref())]);
}

/** `host` as it goes into a URL; a wildcard address becomes the loopback a local client can use. */
export function urlHost(host: string): string {
  const concrete = host === '::' ? '::1' : host === '0.0.0.0' ? '127.0.0.1' : host;
  return concrete.includes(':') ? `[${concrete}]` : concrete;
}
