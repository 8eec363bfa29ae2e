/**
 * One gateway (ephemeral ports, real embedded aedes or a given broker URL), N firmware lamps on UDP
 * and an MQTT watcher subscribed to everything, torn down together.
 */
import { startGateway, type GatewayHandle, type GatewayOptions } from '../../../gateway/gateway.js';
import type { LampConfig } from '../../../firmware/lamp.js';
import { startUdpLamps, type UdpLamps } from './udp-lamps.js';
import { watch, type Watcher } from './mqtt-watch.js';

export interface Fixture {
  gateway: GatewayHandle;
  lamps: UdpLamps;
  watcher: Watcher;
  /** Resolves when lamps 1..count are all online on MQTT with their first state (their LwM2M setup done). */
  allOnline(): Promise<void>;
  /** The gateway's Prometheus text. */
  metrics(): Promise<string>;
  close(): Promise<void>;
}

/** Ephemeral ports, no dashboard, and unknown lamps refused at once (the startup hold has its own test). */
export const EPHEMERAL: Partial<GatewayOptions> = { mqttPort: 0, wsPort: null, metricsPort: 0, coapPort: 0, dashboardDir: null, commandHoldMs: 0 };

export async function startFixture(
  count: number,
  options: { gateway?: Partial<GatewayOptions>; configure?: (config: LampConfig, n: number) => void; watchOptions?: Parameters<typeof watch>[2] } = {},
): Promise<Fixture> {
  const gateway = await startGateway({ ...EPHEMERAL, ...options.gateway });
  const watcher = await watch(gateway.mqttUrl, ['lampnet/#', 'homeassistant/#'], options.watchOptions);
  const lamps = await startUdpLamps(count, { gatewayPort: gateway.coapPort!, configure: options.configure });
  return {
    gateway,
    lamps,
    watcher,
    allOnline: () =>
      watcher.until(`${count} lamps online with their first state`, () => {
        for (let n = 1; n <= count; n++) {
          if (watcher.last.get(`lampnet/lamps/${n}/availability`) !== 'online' || !watcher.last.has(`lampnet/lamps/${n}/state`)) return false;
        }
        return true;
      }),
    async metrics() {
      const res = await fetch(`http://127.0.0.1:${gateway.metricsPort}/metrics`);
      return res.text();
    },
    async close() {
      await watcher.close();
      await lamps.close();
      await gateway.close();
    },
  };
}

/** The value of one series in Prometheus text (`name{labels}`), 0 when absent. */
export function metricValue(text: string, series: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return 0;
}
