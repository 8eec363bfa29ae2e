/**
 * The gateway with real firmware lamps on real UDP sockets (IPv4 on 127.0.0.1, seen by the
 * gateway's dual-stack socket as ::ffff:127.0.0.1), real embedded aedes, real mqtt.js clients.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type GatewayHandle } from '../../gateway/gateway.js';
import { startUdpLamps, type UdpLamps } from './helpers/udp-lamps.js';
import { watch, type Watcher } from './helpers/mqtt-watch.js';

interface LampStateDoc {
  on: boolean;
  level: number;
  watts: number;
  address: string;
  groups: string[];
}

let gateway: GatewayHandle | null = null;
let lamps: UdpLamps | null = null;
let watcher: Watcher | null = null;

afterEach(async () => {
  await watcher?.close();
  await lamps?.close();
  await gateway?.close();
  watcher = null;
  lamps = null;
  gateway = null;
});

async function setUp(count: number, configure?: Parameters<typeof startUdpLamps>[1]['configure'], gatewayOptions = {}) {
  gateway = await startGateway({ mqttPort: 0, wsPort: null, metricsPort: 0, coapPort: 0, ...gatewayOptions });
  watcher = await watch(gateway.mqttUrl, ['lampnet/#']);
  lamps = await startUdpLamps(count, { gatewayPort: gateway.coapPort!, configure });
  return { gateway, watcher, lamps };
}

describe('gateway with firmware lamps on UDP', () => {
  it('publishes a registered IPv4 lamp as online with its retained state and IPv4-mapped address', async () => {
    const { watcher, lamps } = await setUp(3);
    await watcher.until('lamp 2 online', () => watcher.last.get('lampnet/lamps/2/availability') === 'online');
    const state = await watcher.json<LampStateDoc>('lampnet/lamps/2/state');
    expect(state.on).toBe(false);
    expect(state.address).toBe('::ffff:127.0.0.1');
    expect(lamps.port(2)).toBeGreaterThan(0);
  });

  it('turns on exactly the lamp named in lampnet/lamps/<id>/set', async () => {
    const { watcher, lamps } = await setUp(3);
    await watcher.until('3 lamps online', () => [1, 2, 3].every((n) => watcher.last.get(`lampnet/lamps/${n}/availability`) === 'online'));
    await watcher.publish('lampnet/lamps/2/set', 'ON');
    const state = await watcher.json<LampStateDoc>('lampnet/lamps/2/state', (s) => s.on);
    expect(state.on).toBe(true);
    expect(lamps.state(2).on).toBe(true);
    expect(lamps.state(1).on).toBe(false);
    expect(lamps.state(3).on).toBe(false);
  });
});
