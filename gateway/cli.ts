/**
 * `lampnet gateway`: bridge lamps (CoAP on a udp6 socket) to MQTT until interrupted.
 * `addGatewayOptions` / `gatewayOptionsFrom` are shared with `lampnet up`, so both take the same
 * flags with the same names and checks.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULT_GATEWAY_OPTIONS, startGateway, urlHost, type GatewayHandle, type GatewayOptions } from './gateway.js';
import { MAX_COMMAND_BYTES } from './mqtt/command-payload.js';
import { MQTT_MAX_REMAINING_LENGTH } from './broker/mqtt-size-guard.js';

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
    .option('--ack-timeout <s>', 'CoAP ACK_TIMEOUT for commands (RFC 7252; retransmitted 4 times with backoff)', String(D.ackTimeoutMs / 1000))
    .option('--max-in-flight <n>', 'most unconfirmed commands at once, over all lamps', String(D.maxCommandsInFlight))
    .option('--command-hold <s>', 'after start, hold commands for lamps not registered yet this long (they register as they refresh)', String(D.commandHoldMs / 1000))
    .option('--max-lamps <n>', 'refuse registrations beyond this many lamps', String(D.maxLamps))
    .option('--dashboard <dir|off>', 'directory served over HTTP on the WebSocket port (default: gateway/dashboard/ when present)');
}

function number(value: string, option: string, min: number, max: number, whole = false): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max || (whole && !Number.isInteger(n))) {
    throw new InvalidArgumentError(`${option} must be a ${whole ? 'whole ' : ''}number from ${min} to ${max}, got "${value}"`);
  }
  return n;
}

function port(value: string, option: string, allowOff: boolean): number | null {
  if (allowOff && value === 'off') return null;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`${option} must be a whole port number 0-65535${allowOff ? ' or "off"' : ''}, got "${value}"`);
  return n;
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
    mqttPort: port(String(o.mqttPort), '--mqtt-port', false) as number,
    wsPort: port(String(o.wsPort), '--ws-port', true),
    brokerCredentials: brokerUser === null ? null : { username: brokerUser, password: brokerPassword as string },
    mqttMaxPacketBytes: number(String(o.mqttMaxPacket), '--mqtt-max-packet', 1, MQTT_MAX_REMAINING_LENGTH, true),
    metricsPort: port(String(o.metricsPort), '--metrics-port', true),
    coapHost: text('coapHost') ?? D.coapHost,
    coapPort: port(String(o.coapPort), '--coap-port', false) as number,
    multicastInterface: text('multicastInterface'),
    statsIntervalMs: number(String(o.statsInterval), '--stats-interval', 0.05, 86_400) * 1000,
    haDiscovery: o.haDiscovery === true,
    lifetimeGraceMs: number(String(o.lifetimeGrace), '--lifetime-grace', 0, 86_400) * 1000,
    ackTimeoutMs: number(String(o.ackTimeout), '--ack-timeout', 0.01, 60) * 1000,
    maxCommandsInFlight: number(String(o.maxInFlight), '--max-in-flight', 1, 1_000_000),
    maxLamps: number(String(o.maxLamps), '--max-lamps', 1, 100_000_000),
    commandHoldMs: number(String(o.commandHold), '--command-hold', 0, 86_400) * 1000,
    dashboardDir: dashboard === null ? D.dashboardDir : dashboard === 'off' ? null : dashboard,
  };
}

/** One line per service, for the operator. */
export function describeGateway(g: GatewayHandle): string {
  const o = g.options;
  const host = urlHost(o.listenHost);
  const lines = [`MQTT       ${g.mqttUrl}${o.mqttUrl === null ? ' (embedded aedes)' : ''}`];
  if (g.wsPort !== null) lines.push(`WebSocket  ws://${host}:${g.wsPort}${o.dashboardDir ? ` (dashboard: http://${host}:${g.wsPort}/)` : ''}`);
  if (g.metricsPort !== null) lines.push(`metrics    http://${host}:${g.metricsPort}/metrics`);
  if (g.coapPort !== null) lines.push(`CoAP       udp [${o.coapHost}]:${g.coapPort} (IPv4 lamps appear as ::ffff:a.b.c.d)`);
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
Topics:
  lampnet/lamps/<id>/state          retained JSON: on, level, watts, energyWh, onTimeS, fault, address, updatedAt
  lampnet/lamps/<id>/availability   retained online | offline
  lampnet/lamps/<id>/set            ON | OFF | TOGGLE | 0-100 | {"state":"ON","brightness":0-255} | {"on":true,"level":50,"transition":2}
  lampnet/groups/<group>/set        the same, for every lamp of the group
  lampnet/stats, lampnet/groups/<group>/stats   retained aggregates every --stats-interval
  lampnet/gateway/status            online; offline as the gateway's last will
  lampnet/gateway/errors            JSON {topic, kind, reason, ...} for every rejected command
Command payloads are limited to ${MAX_COMMAND_BYTES} bytes of UTF-8; ids and group names may not contain / + # or be empty.`);
  addGatewayOptions(cmd).action(async (raw: Record<string, string | boolean | undefined>) => {
    const gateway = await startGateway(gatewayOptionsFrom(raw));
    // Listening before the banner, so a signal sent on seeing it stops the gateway cleanly. `on`,
    // not `once`: one Ctrl-C can arrive twice (npx/npm forward it to a group that already got it),
    // and a second one must not kill the gateway before it has said `offline`.
    const stopped = new Promise<void>((resolve) => {
      process.on('SIGINT', () => resolve());
      process.on('SIGTERM', () => resolve());
    });
    console.log(describeGateway(gateway));
    await stopped;
    await gateway.close();
  });
}
