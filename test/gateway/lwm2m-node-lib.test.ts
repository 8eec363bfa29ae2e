/**
 * The gateway manages an LwM2M light it was not written for: lwm2m-node-lib's client (npm
 * devDependency; an independent LwM2M 1.0 client that speaks text/plain only) with a Light Control
 * instance registers over real UDP on loopback, appears on the embedded broker (read by an mqtt.js
 * subscriber) without the fields it does not have, obeys an MQTT `set`, and goes offline at once
 * when it de-registers.
 */
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type GatewayHandle } from '../../gateway/gateway.js';
import type { LampStateDocument } from '../../protocol/mqtt-topics.js';
import { EPHEMERAL } from './helpers/gateway-fixture.js';
import { watch, type Watcher } from './helpers/mqtt-watch.js';

/** The part of lwm2m-node-lib's client this test uses (lib/lwm2m-client.js). */
interface NodeLibClient {
  init(config: Record<string, unknown>): void;
  register(host: string, port: number, url: string | null, ep: string, done: (err: Error | null, device: NodeLibDevice) => void): void;
  unregister(device: NodeLibDevice, done: (err: Error | null, value?: unknown) => void): void;
  registry: {
    create(uri: string, done: (err: Error | null, value?: unknown) => void): void;
    get(uri: string, done: (err: Error | null, obj: { attributes: Record<string, unknown> }) => void): void;
    setResource(uri: string, res: string, value: unknown, done: (err: Error | null, value?: unknown) => void): void;
    reset(done: () => void): void;
  };
}
interface NodeLibDevice {
  location: string;
}
const { client } = createRequire(import.meta.url)('lwm2m-node-lib') as { client: NodeLibClient };

const call = <T>(f: (done: (err: Error | null, value: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => f((err, value) => (err ? reject(err) : resolve(value))));

let gateway: GatewayHandle | null = null;
let watcher: Watcher | null = null;
afterEach(async () => {
  await watcher?.close();
  await gateway?.close();
  await new Promise<void>((resolve) => client.registry.reset(resolve));
  watcher = null;
  gateway = null;
});

describe('an lwm2m-node-lib client at the gateway', () => {
  it('registers, shows on MQTT without what it lacks, obeys a set, and goes offline when it de-registers', async () => {
    gateway = await startGateway(EPHEMERAL);
    watcher = await watch(gateway.mqttUrl, ['lampnet/#']);
    client.init({
      logLevel: 'FATAL',
      client: { lifetime: '300', version: '1.0', logLevel: 'FATAL', observe: { period: 3000 }, ipProtocol: 'udp4', serverProtocol: 'udp4', formats: [{ name: 'lightweightm2m/text', value: 1541 }], writeFormat: 'lightweightm2m/text' },
    });
    await call<unknown>((done) => client.registry.create('/3311/0', done));
    await call<unknown>((done) => client.registry.setResource('/3311/0', '5850', '0', done));
    await call<unknown>((done) => client.registry.setResource('/3311/0', '5851', '40', done));
    const device = await call<NodeLibDevice>((done) => client.register('127.0.0.1', gateway!.coapPort!, null, 'nodelib-1', done));
    expect(device.location).toMatch(/^rd\/[0-9a-z]+$/);

    const state = await watcher.json<LampStateDocument>('lampnet/lamps/nodelib-1/state', (s) => s.on === false && s.level === 40);
    expect(watcher.last.get('lampnet/lamps/nodelib-1/availability')).toBe('online');
    // It has no power meter, energy counter, on-time or Device object: absent, not 0.
    for (const absent of ['watts', 'energyWh', 'onTimeS', 'fault']) expect(state).not.toHaveProperty(absent);
    expect(state).toMatchObject({ state: 'OFF', brightness: 40, address: '::ffff:127.0.0.1', groups: [] });

    await watcher.publish('lampnet/lamps/nodelib-1/set', '{"on":true,"level":75}');
    await watcher.json<LampStateDocument>('lampnet/lamps/nodelib-1/state', (s) => s.on && s.level === 75);
    const light = await call<{ attributes: Record<string, unknown> }>((done) => client.registry.get('/3311/0', done));
    expect(String(light.attributes['5850'])).toBe('1');
    expect(String(light.attributes['5851'])).toBe('75');

    // A change on the light itself arrives by its observation.
    await call<unknown>((done) => client.registry.setResource('/3311/0', '5851', '20', done));
    await watcher.json<LampStateDocument>('lampnet/lamps/nodelib-1/state', (s) => s.level === 20);

    await call<unknown>((done) => client.unregister(device, done));
    await watcher.until('nodelib-1 offline', () => watcher!.last.get('lampnet/lamps/nodelib-1/availability') === 'offline', 5000);
  });
});
