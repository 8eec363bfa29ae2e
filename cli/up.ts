/**
 * `lampnet up`: the whole city in one process — a simulated fleet, the gateway and the embedded
 * aedes broker (MQTT on TCP, MQTT over WebSocket, and the dashboard over HTTP on the WebSocket
 * port). `npm start` runs it with the defaults.
 *
 * This is the only module that sees both the simulator and the gateway; it takes both parts'
 * options with the same names (their own `add…Options`/`…OptionsFrom`) and wires the simulator's
 * in-memory link (or, with `--link tun`, the kernel and a udp6 socket) between them.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { addGatewayOptions, describeGateway, gatewayOptionsFrom } from './gateway.js';
import { startGateway, urlHost, type GatewayEvent, type GatewayHandle, type GatewayOptions } from '../gateway/gateway.js';
import { addSimOptions, describeStorm, lampHints, progressBar, simOptionsFrom } from './sim.js';
import { startSim, type Sim, type SimOptions } from '../sim/sim.js';
import { withConfig } from './config.js';
import { addLogOptions, terminalOptionsFrom, type TerminalOptions } from './log.js';
import { Reporter } from './reporter.js';
import { serveUntilSignal } from './run.js';

export interface City {
  sim: Sim;
  gateway: GatewayHandle;
  /** Stop the gateway (it announces `offline`) and then the fleet. */
  close(): Promise<void>;
}

/**
 * Start the fleet and the gateway. On the memory link the gateway talks to the lamps through the
 * simulator's endpoint at the gateway address; on TUN through its own udp6 socket, which the kernel
 * reaches because the simulator gave the TUN device that address.
 */
export async function startCity(simOptions: SimOptions, gatewayOptions: GatewayOptions, observe?: (e: GatewayEvent) => void): Promise<City> {
  if (simOptions.gateway === 'none') throw new Error('--gateway none makes no sense for lampnet up, which runs the gateway; use lampnet sim for standalone lamps');
  const sim = await startSim(simOptions);
  let gateway: GatewayHandle;
  try {
    gateway = await startGateway(gatewayOptions, simOptions.link === 'tun' ? undefined : sim.gatewayEndpoint(), observe);
  } catch (err) {
    await sim.close();
    throw err;
  }
  return {
    sim,
    gateway,
    async close() {
      await gateway.close();
      await sim.close();
    },
  };
}

/**
 * The port of the web server. `--http-port` is the name someone looking for the dashboard tries;
 * the dashboard is served by the same HTTP server that carries MQTT over WebSocket (the page
 * connects back to the origin it came from, so one port is all a browser, a firewall rule or a
 * proxy needs), so `--http-port` is an alias of `--ws-port`, and the two may not disagree.
 */
function webPort(cmd: Command, raw: Record<string, unknown>): string {
  const http = raw.httpPort as string | undefined;
  const ws = String(raw.wsPort);
  if (http === undefined) return ws;
  if (cmd.getOptionValueSource('wsPort') !== 'default' && ws !== http) {
    throw new InvalidArgumentError(`--http-port ${http} and --ws-port ${ws} disagree: they name the same port (the dashboard is served over HTTP on the WebSocket port)`);
  }
  return http;
}

/** `-h <host> -p <port>` (and the credential placeholders) for mosquitto_sub/pub, when the broker
 * speaks plain MQTT on TCP; null for WebSocket or TLS brokers, whose flags differ. */
function mosquittoTarget(g: GatewayHandle): string | null {
  const o = g.options;
  if (o.mqttUrl === null) {
    const auth = o.brokerCredentials === null ? '' : ' -u <user> -P <password>';
    return `-h ${urlHost(o.listenHost).replace(/^\[|\]$/g, '')} -p ${g.mqttPort}${auth}`;
  }
  const url = new URL(o.mqttUrl);
  if (url.protocol !== 'mqtt:' && url.protocol !== 'tcp:') return null;
  const auth = o.mqttUsername === null ? '' : ` -u ${o.mqttUsername} -P <password>`;
  return `-h ${url.hostname.replace(/^\[|\]$/g, '')} -p ${url.port || '1883'}${auth}`;
}

/** The dashboard's URL, or why there is none. */
function dashboardUrl(g: GatewayHandle): string {
  const o = g.options;
  if (o.mqttUrl !== null) return 'none (it is served by the embedded broker, and --mqtt uses another broker)';
  if (g.wsPort === null) return 'none (--ws-port off)';
  if (o.dashboardDir === null) return 'none (no dashboard directory; run npm run build, or see --dashboard)';
  if (!existsSync(path.join(o.dashboardDir, 'index.html'))) return `none (${o.dashboardDir} has no index.html; run npm run build)`;
  return `http://${urlHost(o.listenHost)}:${g.wsPort}/`;
}

/** What the operator reads once the city is up: where to look and what to paste. */
export function describeCity(city: City, simOptions: SimOptions, secs: number): string {
  const { sim, gateway } = city;
  const o = gateway.options;
  const count = simOptions.lamps === 'all' ? 'every address' : `${simOptions.lamps.toLocaleString('en-US')} lamps`;
  const link = simOptions.link === 'tun' ? `TUN ${simOptions.tun}` : 'the in-memory link';
  const lines = [`lampnet up: ${count} of ${sim.prefix}/64 on ${link}, gateway ${sim.gateway} (ready in ${secs.toFixed(1)} s)`];
  lines.push(`dashboard  ${dashboardUrl(gateway)}`);
  const storm = describeStorm(simOptions);
  if (storm) lines.push(`fleet      ${storm}`);
  lines.push(describeGateway(gateway));
  const target = mosquittoTarget(gateway);
  if (simOptions.lamps === 'all') {
    lines.push('note       with --lamps all a lamp exists only once it is addressed, and such lamps do not register with the gateway: MQTT and the dashboard show no lamps; reach them by address'
      + (simOptions.link === 'tun' ? '' : ' (with --link tun)'));
  } else if (target !== null) {
    // describeGateway already prints the watch line for the embedded broker.
    if (o.mqttUrl !== null) lines.push(`watch      mosquitto_sub ${target} -t 'lampnet/#' -v`);
    lines.push(`command    mosquitto_pub ${target} -t lampnet/lamps/${Math.min(42, simOptions.lamps)}/set -m ON`);
    if ((simOptions.streetSize ?? 0) > 0) lines.push(`group      mosquitto_pub ${target} -t lampnet/groups/street-1/set -m 30`);
  }
  if (simOptions.link === 'tun') lines.push(['lamps:', ...lampHints(sim)].join('\n'));
  return lines.join('\n');
}

export function registerUpCommand(program: Command): void {
  const cmd = program
    .command('up')
    .description('run the city in one process: a simulated fleet, the gateway, the embedded MQTT broker and the web dashboard')
    .addHelpText('after', `
The dashboard is served over HTTP on the WebSocket port (--ws-port, alias --http-port) and talks
MQTT over WebSocket to the same origin. Stop with Ctrl-C (SIGINT) or SIGTERM.

Examples:
  lampnet up                                   1,000 lamps; dashboard on http://127.0.0.1:9001/
  lampnet up --lamps 100000 --http-port 8080
  lampnet up --mqtt-port 0 --ws-port 0 --metrics-port off    any free ports
  lampnet up --link tun --lamps 10000          lamps reachable by ping and coap-client (needs CAP_NET_ADMIN)`);
  addSimOptions(cmd, { lamps: '1000', link: 'memory' });
  addGatewayOptions(cmd);
  addLogOptions(cmd);
  cmd.option('--http-port <port|off>', 'alias of --ws-port: the port of the dashboard and of MQTT over WebSocket (one HTTP server serves both)');
  /** Both parts' options, checked, from commander's text. */
  const optionsFrom = (raw: Record<string, unknown>): { simOptions: SimOptions; gatewayOptions: GatewayOptions; terminal: TerminalOptions } => {
    const simOptions = simOptionsFrom(raw as Record<string, string | string[] | undefined>);
    const gatewayOptions: GatewayOptions = {
      ...gatewayOptionsFrom({ ...(raw as Record<string, string | boolean | undefined>), wsPort: webPort(cmd, raw) }),
      // The gateway knows the fleet it runs with: once it has registered, an unknown lamp is an
      // error at once (lamps of --lamps all never register, so there is nothing to wait for).
      fleetSize: simOptions.lamps === 'all' ? 0 : simOptions.lamps,
    };
    // --security oscore: the simulated lamps derive their keys from the same fleet secret.
    if (gatewayOptions.security) simOptions.fleetSecret = gatewayOptions.security.fleetSecret;
    return { simOptions, gatewayOptions, terminal: terminalOptionsFrom(raw) };
  };
  withConfig(cmd, optionsFrom);
  cmd.action(async (raw: Record<string, unknown>) => {
    const { simOptions, gatewayOptions, terminal } = optionsFrom(raw);
    const reporter = new Reporter(terminal.logger, { summaryIntervalMs: terminal.summaryIntervalMs, fleetSize: gatewayOptions.fleetSize });
    const started = performance.now();
    const city = await startCity({ ...simOptions, onProgress: progressBar('booting lamps') }, gatewayOptions, reporter.observe);
    const service = { close: () => { reporter.stop(); return city.close(); } };
    await serveUntilSignal('lampnet up', service, describeCity(city, simOptions, (performance.now() - started) / 1000), () => reporter.start(city.gateway));
  });
}
