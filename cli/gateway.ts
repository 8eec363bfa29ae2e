/**
 * `lampnet gateway`: bridge lamps (CoAP on a udp6 socket) to MQTT until interrupted.
 * `addGatewayOptions` / `gatewayOptionsFrom` are shared with `lampnet up`, so both take the same
 * flags with the same names and checks.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { isIPv4 } from 'node:net';
import { type BoardOptions, DEFAULT_GATEWAY_OPTIONS, startGateway, urlHost, type GatewayHandle, type GatewayOptions } from '../gateway/gateway.js';
import { MQTT_MAX_REMAINING_LENGTH } from '../gateway/broker/mqtt-size-guard.js';
import { parseCount, parsePort, parsePortOrOff, parseSecondsAsMs } from './options.js';
import { withConfig } from './config.js';
import { addLogOptions, terminalOptionsFrom, type TerminalOptions } from './log.js';
import { Reporter } from './reporter.js';
import { serveUntilSignal } from './run.js';
import { parseBoardPrefix } from '../gateway/siit/address.js';
import type { LampKeysOptions } from '../gateway/lamps/security.js';
import { MIN_FLEET_SECRET, parseSecret } from '../protocol/oscore/fleet.js';

const D = DEFAULT_GATEWAY_OPTIONS;
const portText = (port: number | null): string => (port === null ? 'off' : String(port));

export function addGatewayOptions(cmd: Command): Command {
  return cmd
    .option('--mqtt <url>', 'use this MQTT broker (mqtt://host:port, mqtts://, ws://) instead of the embedded one')
    .option('--mqtt-username <name>', 'username for --mqtt')
    .option('--mqtt-password <secret>', 'password for --mqtt')
    .option('--client-id <id>', "the gateway's MQTT client id (an external broker keeps its session by it)", D.clientId)
    .option('--listen <host>', "address the embedded broker, WebSocket and metrics listen on ('::' for all)", D.listenHost)
    .option('--mqtt-port <port>', 'embedded broker MQTT/TCP port (0 = any free port)', portText(D.mqttPort))
    .option('--ws-port <port|off>', 'embedded broker MQTT-over-WebSocket port; also serves the dashboard', portText(D.wsPort))
    .option('--broker-user <name>', 'require this username on the embedded broker; clients may then publish only .../set')
    .option('--broker-password <secret>', 'password for --broker-user')
    .option('--mqtt-max-packet <bytes>', 'embedded broker only: largest packet (Remaining Length) a client may send; a larger one closes its connection at the header, before the body is buffered', String(D.mqttMaxPacketBytes))
    .option('--metrics-port <port|off>', 'Prometheus metrics at http://<listen>:<port>/metrics', portText(D.metricsPort))
    .option('--coap-host <addr>', 'address of the dual-stack udp6 socket lamps register with', D.coapHost)
    .option('--coap-port <port>', 'UDP port of that socket', String(D.coapPort))
    .option('--multicast-interface <name>', 'send group commands by IPv6 multicast on this interface (default: one by one)')
    .option('--stats-interval <s>', 'period of lampnet/stats and group stats (seconds)', String(D.statsIntervalMs / 1000))
    .option('--ha-discovery', 'announce every lamp to Home Assistant (homeassistant/light/<id>/config)', false)
    .option('--lifetime-grace <s>', 'seconds past a lamp\'s registration lifetime before it counts as offline', String(D.lifetimeGraceMs / 1000))
    .option('--energy-pmax <s>', 'LwM2M pmax the gateway sets on every lamp\'s Light Control /3311/0: the lamp notifies energy and on-time at least this often, so MQTT state is never older (seconds)', String(D.energyPmaxS))
    .option('--ack-timeout <s>', 'CoAP ACK_TIMEOUT for commands (RFC 7252; retransmitted 4 times with backoff)', String(D.ackTimeoutMs / 1000))
    .option('--max-in-flight <n>', 'most unconfirmed commands at once, over all lamps', String(D.maxCommandsInFlight))
    .option('--max-setups-in-flight <n>', 'most LwM2M setup requests (Write-Attributes, Observe, reads after Register) at once, over all lamps; the rest wait their turn', String(D.maxSetupsInFlight))
    .option('--command-hold <s>', 'after start, hold commands for lamps not registered yet at most this long (they register as they refresh)', String(D.commandHoldMs / 1000))
    .option('--registrations-settle <s>', 'end the command hold sooner, once no new lamp has registered for this long', String(D.registrationsSettleMs / 1000))
    .option('--max-lamps <n>', 'refuse registrations beyond this many lamps', String(D.maxLamps))
    .option('--dashboard <dir|off>', 'directory served over HTTP on the WebSocket port (default: gateway/dashboard/ when present)')
    .option('--security <none|oscore>', 'oscore: commands and reads go OSCORE-protected (RFC 8613) under each lamp\'s keys derived from --fleet-secret, and lamps obey nothing else; none: lamps trust the gateway\'s source address', 'none')
    .option('--fleet-secret <hex>', 'the fleet\'s OSCORE secret, 16 bytes or more in hex (better in LAMPNET_FLEET_SECRET than on a command line)')
    .option('--sequence-file <path>', 'with --security oscore: where the gateway keeps its OSCORE sequence number bound across restarts (default: none, it starts from the clock)');
}

/** --security, --fleet-secret and --sequence-file as GatewayOptions.security. */
function securityFrom(o: Record<string, string | boolean | undefined>): LampKeysOptions | null {
  const mode = String(o.security ?? 'none');
  if (mode !== 'none' && mode !== 'oscore') throw new InvalidArgumentError(`--security must be none or oscore, got "${mode}"`);
  const secret = typeof o.fleetSecret === 'string' ? o.fleetSecret : null;
  if (mode === 'none') {
    if (secret !== null) throw new InvalidArgumentError('--fleet-secret is used only with --security oscore');
    return null;
  }
  if (secret === null) throw new InvalidArgumentError('--security oscore needs --fleet-secret (or LAMPNET_FLEET_SECRET)');
  const fleetSecret = parseSecret(secret);
  if (fleetSecret === null) throw new InvalidArgumentError(`--fleet-secret must be ${MIN_FLEET_SECRET} bytes or more in hex`);
  return { fleetSecret, sequenceFile: typeof o.sequenceFile === 'string' ? o.sequenceFile : null };
}

/** Commander's text options as GatewayOptions, with errors that name the option. */
export function gatewayOptionsFrom(o: Record<string, string | boolean | undefined>): GatewayOptions {
  const text = (k: string): string | null => (typeof o[k] === 'string' ? (o[k] as string) : null);
  const mqttUrl = text('mqtt');
  if (mqttUrl !== null && !/^(mqtts?|wss?|tcp|ssl):\/\/[^/]+/.test(mqttUrl)) {
    throw new InvalidArgumentError(`--mqtt must be a broker URL such as mqtt://localhost:1883, got "${mqttUrl}"`);
  }
  const brokerUser = text('brokerUser');
  const brokerPassword = text('brokerPassword');
  if ((brokerUser === null) !== (brokerPassword === null)) throw new InvalidArgumentError('--broker-user and --broker-password go together');
  if (mqttUrl !== null && brokerUser !== null) throw new InvalidArgumentError('--broker-user/--broker-password configure the embedded broker; with --mqtt use --mqtt-username/--mqtt-password');
  const dashboard = text('dashboard');
  return {
    ...D,
    mqttUrl,
    mqttUsername: text('mqttUsername'),
    mqttPassword: text('mqttPassword'),
    clientId: text('clientId') ?? D.clientId,
    listenHost: text('listen') ?? D.listenHost,
    mqttPort: parsePort(String(o.mqttPort), '--mqtt-port'),
    wsPort: parsePortOrOff(String(o.wsPort), '--ws-port'),
    brokerCredentials: brokerUser === null ? null : { username: brokerUser, password: brokerPassword as string },
    mqttMaxPacketBytes: parseCount(String(o.mqttMaxPacket), '--mqtt-max-packet', 1, MQTT_MAX_REMAINING_LENGTH),
    metricsPort: parsePortOrOff(String(o.metricsPort), '--metrics-port'),
    coapHost: text('coapHost') ?? D.coapHost,
    coapPort: parsePort(String(o.coapPort), '--coap-port'),
    multicastInterface: text('multicastInterface'),
    statsIntervalMs: parseSecondsAsMs(String(o.statsInterval), '--stats-interval', 0.05, 86_400),
    haDiscovery: o.haDiscovery === true,
    lifetimeGraceMs: parseSecondsAsMs(String(o.lifetimeGrace), '--lifetime-grace', 0, 86_400),
    energyPmaxS: parseCount(String(o.energyPmax), '--energy-pmax', 1, 86_400),
    ackTimeoutMs: parseSecondsAsMs(String(o.ackTimeout), '--ack-timeout', 0.01, 60),
    maxCommandsInFlight: parseCount(String(o.maxInFlight), '--max-in-flight', 1, 1_000_000),
    maxSetupsInFlight: parseCount(String(o.maxSetupsInFlight), '--max-setups-in-flight', 1, 60_000),
    maxLamps: parseCount(String(o.maxLamps), '--max-lamps', 1, 100_000_000),
    commandHoldMs: parseSecondsAsMs(String(o.commandHold), '--command-hold', 0, 86_400),
    registrationsSettleMs: parseSecondsAsMs(String(o.registrationsSettle), '--registrations-settle', 0, 86_400),
    dashboardDir: dashboard === null ? D.dashboardDir : dashboard === 'off' ? null : dashboard,
    security: securityFrom(o),
  };
}

/** The board translator's flags: `lampnet gateway` only (in `lampnet up`, --ping-when is the
 * simulated fleet's). */
export function addBoardOptions(cmd: Command): Command {
  return cmd
    .option('--board-prefix <prefix/96>', 'serve IPv4 boards at <prefix>::a.b.c.d (RFC 6052) through a SIIT translator on a TUN device; the registry and MQTT show that address')
    .option('--board-tun <name>', 'name of the translator\'s TUN device (with --board-prefix)', 'lampboard%d')
    .option('--board-clients <cidr,...>', 'IPv4 ranges standing for the IPv6 clients <prefix>::w.x.y.z, routed into the TUN (with --board-prefix)')
    .option('--ping-when <powered|lit>', 'lit: a board answers ping at its IPv6 address only while its light is on (with --board-prefix)', 'powered');
}

export function boardOptionsFrom(o: Record<string, string | boolean | undefined>): BoardOptions | null {
  const text = (k: string): string | null => (typeof o[k] === 'string' ? (o[k] as string) : null);
  const prefix = text('boardPrefix'), clients = text('boardClients'), tun = String(o.boardTun), pingWhen = String(o.pingWhen);
  if (pingWhen !== 'powered' && pingWhen !== 'lit') throw new InvalidArgumentError(`--ping-when must be powered or lit, got "${pingWhen}"`);
  if (prefix === null) {
    if (clients !== null || pingWhen !== 'powered') throw new InvalidArgumentError('--board-clients and --ping-when need --board-prefix');
    return null;
  }
  try {
    parseBoardPrefix(prefix);
  } catch (err) {
    throw new InvalidArgumentError(`--board-prefix: ${(err as Error).message}`);
  }
  if (clients === null) throw new InvalidArgumentError('--board-prefix needs --board-clients: the IPv4 range(s) its IPv6 clients appear as to the boards');
  const clientRanges = clients.split(',').map((r) => r.trim());
  for (const range of clientRanges) {
    const [addr, bits, extra] = range.split('/');
    if (extra !== undefined || !isIPv4(addr) || !/^([0-9]|[12][0-9]|3[0-2])$/.test(bits ?? '')) {
      throw new InvalidArgumentError(`--board-clients must be IPv4 ranges like 192.0.2.0/24, got "${range}"`);
    }
  }
  if (tun.length > 15) throw new InvalidArgumentError(`--board-tun must be at most 15 characters (a Linux interface name), got "${tun}"`);
  return { prefix, tun, clientRanges, pingWhen };
}

/** One line per service, for the operator. */
export function describeGateway(g: GatewayHandle): string {
  const o = g.options;
  const host = urlHost(o.listenHost);
  const lines = [`MQTT       ${g.mqttUrl}${o.mqttUrl === null ? ' (embedded aedes)' : ''}`];
  if (g.wsPort !== null) lines.push(`WebSocket  ws://${host}:${g.wsPort}${o.dashboardDir ? ` (dashboard: http://${host}:${g.wsPort}/)` : ''}`);
  if (g.metricsPort !== null) lines.push(`metrics    http://${host}:${g.metricsPort}/metrics`);
  if (g.coapPort !== null) {
    const v4 = o.boards === null ? '::ffff:a.b.c.d' : `${o.boards.prefix.replace(/\/\d+$/, '')}a.b.c.d`;
    lines.push(`CoAP       udp [${o.coapHost}]:${g.coapPort} (IPv4 lamps appear as ${v4})`);
  }
  if (g.boardNetwork !== null && o.boards !== null) {
    lines.push(`boards     ${o.boards.prefix} translated (SIIT) on ${g.boardNetwork.tunName}; IPv6 clients appear to boards from ${o.boards.clientRanges.join(', ')}`);
  }
  if (o.mqttUrl === null) {
    const auth = o.brokerCredentials === null ? '' : ' -u <user> -P <password>';
    lines.push(`watch      mosquitto_sub -h ${host.replace(/^\[|\]$/g, '')} -p ${g.mqttPort}${auth} -t 'lampnet/#' -v`);
  }
  return lines.join('\n');
}

export function registerGatewayCommand(program: Command): void {
  const cmd = program
    .command('gateway')
    .description('bridge lamps (CoAP over UDP/IPv6) to MQTT: state, availability, commands, groups, stats')
    .addHelpText('after', `
Topics (state, availability, commands and their payloads, groups, stats, status, errors): see the
README, section "The gateway (lampnet gateway) and its MQTT topics". The scheme is defined once, in
the module that section names.`);
  // `lampnet up` knows its fleet's size; a gateway on its own is told it, or judges by the lull.
  cmd.option('--expect-lamps <n>', 'the fleet\'s size, when known: the command hold ends, and the line after `ready` says the whole fleet is online on MQTT, once that many lamps have registered (default: once none has registered for --registrations-settle)');
  const optionsFrom = (raw: Record<string, unknown>): { gateway: GatewayOptions; terminal: TerminalOptions } => ({
    gateway: {
      ...gatewayOptionsFrom(raw as Record<string, string | boolean | undefined>),
      boards: boardOptionsFrom(raw as Record<string, string | boolean | undefined>),
      fleetSize: raw.expectLamps === undefined ? null : parseCount(String(raw.expectLamps), '--expect-lamps', 1, 100_000_000),
    },
    terminal: terminalOptionsFrom(raw),
  });
  withConfig(addLogOptions(addBoardOptions(addGatewayOptions(cmd))), optionsFrom).action(async (raw: Record<string, unknown>) => {
    const options = optionsFrom(raw);
    const reporter = new Reporter(options.terminal.logger, { summaryIntervalMs: options.terminal.summaryIntervalMs, fleetSize: options.gateway.fleetSize });
    const gateway = await startGateway(options.gateway, undefined, reporter.observe);
    const service = { close: () => { reporter.stop(); return gateway.close(); } };
    await serveUntilSignal('lampnet gateway', service, describeGateway(gateway), () => reporter.start(gateway));
  });
}
