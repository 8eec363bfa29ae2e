/**
 * The in-process system the MQTT figures (latency, staleness, soak) measure: a simulated fleet on the
 * memory link, the gateway on the fleet's endpoint, the embedded aedes broker on a free loopback
 * port, and an mqtt.js client connected to it over TCP (MQTT 5) like any outside client.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { startGateway, type GatewayHandle } from '../../gateway/gateway.js';
import type { DatagramEndpoint } from '../../protocol/datagram.js';
import { defaultBootSpreadMs, startSim, type Sim } from '../../sim/sim.js';
import { progress } from './probe.js';

export interface System {
  /** Seconds the fleet's boot took (its registrations start during it, spread over `jitterS`). */
  bootS: number;
  jitterS: number;
  sim: Sim;
  gateway: GatewayHandle;
  client: MqttClient;
  close(): Promise<void>;
}

export interface SystemOptions {
  lamps: number;
  speed?: number;
  /** Registration lifetime the lamps ask for, simulated seconds (default: the simulator's). */
  lifetimeS?: number;
  /** Registrations spread over this long (default: the simulator's). */
  bootJitterMs?: number;
  /** How long to wait for every lamp to be online. */
  registerTimeoutMs: number;
  /** Topic filters the client subscribes to before the lamps register. */
  subscribe?: string[];
  /** Every message the client receives, from before the lamps register. */
  onMessage?: (topic: string, payload: Buffer) => void;
}

export async function startSystem(options: SystemOptions): Promise<System> {
  const started = performance.now();
  const sim = await startSim({ lamps: options.lamps, link: 'memory', speed: options.speed, bootJitterMs: options.bootJitterMs, lifetimeS: options.lifetimeS });
  const bootS = (performance.now() - started) / 1000;
  progress(`${options.lamps} lamps booted in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  // The client connects and subscribes before the lamps register: under the flood of a large
  // fleet's registrations and first publications the broker answers a new connection only after
  // minutes (or never, within mqtt.js's 30 s). So the gateway hears no lamp until then; a lamp that
  // registered meanwhile is dropped and retransmits, as with a gateway that starts late.
  const endpoint = sim.gatewayEndpoint();
  let open = false;
  const gated: DatagramEndpoint = {
    send: (addr, port, data) => endpoint.send(addr, port, data),
    onMessage: (cb) => endpoint.onMessage((from, port, data) => {
      if (open) cb(from, port, data);
    }),
    close: () => endpoint.close(),
    multicast: endpoint.multicast,
  };
  const gateway = await startGateway({
    mqttPort: 0, wsPort: null, metricsPort: null, dashboardDir: null, listenHost: '127.0.0.1', clientId: 'lampnet-bench-gateway', commandHoldMs: 0,
  }, gated);
  // No keepalive: fleet, gateway, broker and client share one event loop, which a million lamps'
  // registrations keep busy past any keepalive, and a client that lost its connection (no reconnect)
  // would see nothing more. MQTT 5, as Home Assistant 2027.1 and later connect.
  const client = mqtt.connect(gateway.mqttUrl, { clientId: `lampnet-bench-${process.pid}`, reconnectPeriod: 0, keepalive: 0, protocolVersion: 5 });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  const onMessage = options.onMessage;
  if (onMessage) client.on('message', (topic, payload) => onMessage(topic, payload));
  if (options.subscribe) await client.subscribeAsync(options.subscribe, { qos: 0 });
  open = true;
  await until(() => gateway.registry.onlineCount >= options.lamps, options.registerTimeoutMs,
    () => `${gateway.registry.onlineCount} of ${options.lamps} lamps online`, 10_000);
  progress(`${options.lamps} lamps online at the gateway after ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return {
    bootS,
    jitterS: options.bootJitterMs !== undefined ? options.bootJitterMs / 1000 / (options.speed ?? 1) : defaultBootSpreadMs(options.lamps) / 1000,
    sim,
    gateway,
    client,
    async close() {
      await client.endAsync(true);
      await gateway.close();
      await sim.close();
    },
  };
}

/** Wait until `condition` holds, checking every 20 ms; fails after `timeoutMs` saying `state()`. */
export async function until(condition: () => boolean, timeoutMs: number, state: () => string, reportEveryMs = Infinity): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let reportAt = performance.now() + reportEveryMs;
  while (!condition()) {
    const now = performance.now();
    if (now > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s: ${state()}`);
    if (now > reportAt) {
      progress(state());
      reportAt = now + reportEveryMs;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The p-quantile (0–1) of sorted numbers. */
export function quantile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** Numbers of the gateway's gauges (`lampnet_gateway_*` backlog and in-flight), by metric name. */
export async function gatewayGauges(gateway: GatewayHandle): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const metric of await gateway.metrics.registry.getMetricsAsJSON()) {
    if (String(metric.type) === 'gauge' && metric.values.length === 1) out[metric.name] = metric.values[0].value;
  }
  return out;
}

/** The gateway's counters (registrations, updates, notifications, retransmissions, drops by
 * reason...), by metric name and labels: `lampnet_gateway_coap_dropped_total{reason=stale}`. */
export async function gatewayCounters(gateway: GatewayHandle): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const metric of await gateway.metrics.registry.getMetricsAsJSON()) {
    if (String(metric.type) !== 'counter') continue;
    for (const v of metric.values) {
      const labels = Object.entries(v.labels).map(([k, x]) => `${k}=${x}`).join(',');
      if (v.value !== 0) out[`${metric.name.replace('lampnet_gateway_', '')}${labels ? `{${labels}}` : ''}`] = v.value;
    }
  }
  return out;
}

/** What the gateway did with commands for single lamps: accepted from MQTT, and its CoAP deliveries
 * finished by result (confirmed: the lamp answered 2.04; refused: another code; timeout: no answer). */
export interface CommandCounts {
  accepted: number;
  confirmed: number;
  refused: number;
  timeout: number;
}

export async function commandCounts(gateway: GatewayHandle): Promise<CommandCounts> {
  const counts: CommandCounts = { accepted: 0, confirmed: 0, refused: 0, timeout: 0 };
  for (const metric of await gateway.metrics.registry.getMetricsAsJSON()) {
    for (const v of metric.values) {
      if (metric.name === 'lampnet_gateway_commands_total' && v.labels.target === 'lamp') counts.accepted = v.value;
      if (metric.name === 'lampnet_gateway_command_deliveries_total' && typeof v.labels.result === 'string' && v.labels.result in counts) {
        counts[v.labels.result as keyof CommandCounts] = v.value;
      }
    }
  }
  return counts;
}
