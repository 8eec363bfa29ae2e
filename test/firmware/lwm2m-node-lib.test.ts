/**
 * Lamps on the firmware core (real UDP sockets on 127.0.0.1, real timers) against an independent
 * LwM2M server: lwm2m-node-lib's (Telefónica, LwM2M 1.0, node-coap underneath), with its in-memory
 * device registry. It registers them, reads, writes, discovers, writes attributes, observes 3311 and
 * executes reboot, as any LwM2M server pointed at lampnet lamps would.
 *
 * The library comes from the project's devDependencies (`lwm2m-node-lib`), or from the directory
 * LWM2M_NODE_LIB names; without either the suite is skipped with the reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import dgram from 'node:dgram';
import { startUdpLamps, type UdpLamps } from '../gateway/helpers/udp-lamps.js';

interface Lwm2mServer {
  start(config: object, cb: (err: Error | null, info: unknown) => void): void;
  stop(info: unknown, cb: (err?: Error | null) => void): void;
  setHandler(info: unknown, type: string, handler: (...args: unknown[]) => void): void;
  getDevice(name: string, cb: (err: Error | null, device: { id: number; name: string; address: string; port: number }) => void): void;
  read(id: number, obj: string, inst: string, res: string, cb: (err: Error | null, value: string) => void): void;
  write(id: number, obj: string, inst: string, res: string, value: string, cb: (err: Error | null, value?: unknown) => void): void;
  execute(id: number, obj: string, inst: string, res: string, value: string, cb: (err: Error | null, value?: unknown) => void): void;
  writeAttributes(id: number, obj: string, inst: string, res: string, attrs: object, cb: (err: Error | null, value?: unknown) => void): void;
  discover(id: number, obj: string, inst: string, res: string, cb: (err: Error | null, links: string) => void): void;
  observe(id: number, obj: string, inst: string, res: string, handler: (value: string) => void, cb: (err: Error | null, first: string) => void): void;
}

function loadServer(): Lwm2mServer | null {
  const require = createRequire(import.meta.url);
  for (const id of [process.env.LWM2M_NODE_LIB, 'lwm2m-node-lib']) {
    try {
      if (id) return (require(id) as { server: Lwm2mServer }).server;
    } catch {
      // Not installed there: try the next.
    }
  }
  return null;
}

const server = loadServer();
const LAMPS = 3;

/** A callback-style call of the server as a promise. */
function call<T>(fn: (cb: (err: Error | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
}

async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function until<T>(what: string, get: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.skipIf(server === null)('lamps managed by lwm2m-node-lib, an independent LwM2M server', () => {
  const s = server!;
  let info: unknown;
  let lamps: UdpLamps;
  /** Register operations the server saw: endpoint, lifetime, version, binding, payload. */
  const registrations: string[][] = [];

  const device = (n: number) => call<{ id: number; name: string }>((cb) => s.getDevice(String(n), cb));

  beforeAll(async () => {
    const port = await freePort();
    const config = { port, udpWindow: 100, defaultType: 'Device', logLevel: 'FATAL', ipProtocol: 'udp4', serverProtocol: 'udp4', deviceRegistry: { type: 'memory' }, formats: [], writeFormat: 'text/plain', types: [] };
    info = await call((cb) => s.start(config, cb));
    s.setHandler(info, 'registration', (ep, lt, version, binding, payload, cb) => {
      registrations.push([ep, lt, version, binding, payload] as string[]);
      (cb as () => void)();
    });
    s.setHandler(info, 'updateRegistration', (_obj, cb) => (cb as () => void)());
    s.setHandler(info, 'unregistration', (_dev, cb) => (cb as () => void)());
    lamps = await startUdpLamps(LAMPS, { gatewayPort: port, configure: (c) => (c.powerOn = 1) });
    await until('every lamp registered', () => (registrations.length >= LAMPS ? true : undefined));
  }, 60_000);

  afterAll(async () => {
    await lamps?.close();
    if (info) await new Promise<void>((resolve) => s.stop(info, () => resolve()));
  });

  it('takes their Register: endpoint name, lifetime, LwM2M 1.1, binding U and the objects', async () => {
    expect(registrations.map((r) => r[0]).sort()).toEqual(['1', '2', '3']);
    for (const r of registrations) {
      expect(r.slice(1)).toEqual(['300', '1.1', 'U', '</>;rt="oma.lwm2m";ct="110 11542",</1/0>,</3/0>,</3305/0>,</3311/0>,</32311/0>']);
    }
  });

  it('reads 3311 and Device resources as text', async () => {
    for (let n = 1; n <= LAMPS; n++) {
      const { id } = await device(n);
      expect(await call<string>((cb) => s.read(id, '3311', '0', '5851', cb))).toBe('100');
      expect(await call<string>((cb) => s.read(id, '3', '0', '0', cb))).toBe('lampnet');
      expect(await call<string>((cb) => s.read(id, '3', '0', '2', cb))).toBe(String(n));
    }
  });

  it('writes 5850 and 5851, which the lamps obey', async () => {
    const { id } = await device(2);
    await call((cb) => s.write(id, '3311', '0', '5850', '0', cb));
    await call((cb) => s.write(id, '3311', '0', '5851', '35', cb));
    expect(lamps.state(2)).toMatchObject({ on: false, level: 35 });
    expect(await call<string>((cb) => s.read(id, '3311', '0', '5850', cb))).toBe('0');
  });

  it('writes attributes, discovers them and observes 3311/0/5851: a change, then pmax', async () => {
    const { id } = await device(1);
    await call((cb) => s.writeAttributes(id, '3311', '0', '5851', { pmin: 0, pmax: 1 }, cb));
    expect(await call<string>((cb) => s.discover(id, '3311', '0', '5851', cb))).toBe('</3311/0/5851>;pmin=0;pmax=1');
    const values: string[] = [];
    const first = await call<string>((cb) => s.observe(id, '3311', '0', '5851', (v) => values.push(String(v)), cb));
    expect(first).toBe('100');
    await call((cb) => s.write(id, '3311', '0', '5851', '60', cb));
    await until('the change notified', () => (values.includes('60') ? true : undefined));
    // pmax = 1 s: the unchanged value comes again.
    await until('a pmax notification', () => (values.filter((v) => v === '60').length >= 2 ? true : undefined), 5000);
  });

  it('executes reboot /3/0/4: the lamp boots again and registers anew', async () => {
    const { id } = await device(3);
    const before = registrations.length;
    await call((cb) => s.execute(id, '3', '0', '4', '', cb));
    await until('the registration after the reboot', () => (registrations.slice(before).some((r) => r[0] === '3') ? true : undefined));
    const again = await device(3);
    expect(await call<string>((cb) => s.read(again.id, '3311', '0', '5851', cb))).toBe('100');
  });
});
