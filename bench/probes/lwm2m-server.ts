/**
 * An independent LwM2M server in its own process: lwm2m-node-lib's (LwM2M 1.0, in-memory registry) on
 * UDP 5683 of the given IPv4 address, driven over stdin/stdout with one JSON object a line, so that a
 * test or a bench can put it in a network namespace beside a board (espruino-board.ts).
 *
 *   node dist/bench/probes/lwm2m-server.js <listen-ipv4> [port]
 *
 * Out: {"event":"ready"}, {"event":"registered","ep","lifetime","version","binding","payload"},
 * {"event":"updated","ep"}, {"event":"deregistered","ep"}, {"event":"notified","id","value"}, and
 * one {"id","ok","value"|"error"} per request. In: {"id","op","ep","path","value"?,"attributes"?}
 * with op read | write | execute | discover | writeAttributes | observe (path "obj/inst/res").
 *
 * The library comes from LWM2M_NODE_LIB (a directory) or the project's devDependencies.
 */
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';

type Callback = (err: Error | null, value?: unknown) => void;
interface Device {
  id: number;
  name: string;
}
interface Server {
  start(config: object, cb: Callback): void;
  setHandler(info: unknown, type: string, handler: (...args: unknown[]) => void): void;
  getDevice(name: string, cb: Callback): void;
  [op: string]: unknown;
}

const [address, portText] = process.argv.slice(2);
if (!address) {
  console.error('usage: lwm2m-server <listen-ipv4> [port]');
  process.exit(2);
}

const require = createRequire(import.meta.url);
let server: Server | null = null;
for (const id of [process.env.LWM2M_NODE_LIB, 'lwm2m-node-lib']) {
  try {
    if (id) server = (require(id) as { server: Server }).server;
    if (server) break;
  } catch {
    // Not there: the next.
  }
}
if (!server) {
  console.error('lwm2m-server: lwm2m-node-lib is not installed (npm) and LWM2M_NODE_LIB names no copy of it');
  process.exit(2);
}
const s = server;
const print = (o: object): void => void process.stdout.write(JSON.stringify(o) + '\n');
const port = Number(portText ?? 5683);
const config = { port, udpWindow: 100, defaultType: 'Device', logLevel: 'FATAL', ipProtocol: 'udp4', serverProtocol: 'udp4', deviceRegistry: { type: 'memory' }, formats: [], writeFormat: 'text/plain', types: [] };

s.start(config, (err, info) => {
  if (err) {
    console.error(`lwm2m-server: ${err.message}`);
    process.exit(1);
  }
  s.setHandler(info, 'registration', (ep, lifetime, version, binding, payload, cb) => {
    print({ event: 'registered', ep, lifetime, version, binding, payload });
    (cb as () => void)();
  });
  s.setHandler(info, 'updateRegistration', (obj, cb) => {
    print({ event: 'updated', ep: (obj as Device | undefined)?.name });
    (cb as () => void)();
  });
  s.setHandler(info, 'unregistration', (device, cb) => {
    print({ event: 'deregistered', ep: (device as Device | undefined)?.name });
    (cb as () => void)();
  });
  print({ event: 'ready', address, port });
});

interface Request {
  id: number;
  op: string;
  ep: string;
  path: string;
  value?: string;
  attributes?: Record<string, number>;
}

createInterface({ input: process.stdin }).on('line', (line) => {
  let req: Request;
  try {
    req = JSON.parse(line) as Request;
  } catch {
    return print({ ok: false, error: 'not JSON: ' + line.slice(0, 80) });
  }
  const done: Callback = (err, value) => print(err ? { id: req.id, ok: false, error: err.message || err.name } : { id: req.id, ok: true, value });
  s.getDevice(req.ep, (err, device) => {
    if (err) return done(err);
    const [obj, inst, res] = req.path.split('/');
    const id = (device as Device).id;
    const fn = s[req.op] as ((...args: unknown[]) => void) | undefined;
    if (typeof fn !== 'function') return done(new Error('unknown op ' + req.op));
    if (req.op === 'read' || req.op === 'discover') fn(id, obj, inst, res, done);
    else if (req.op === 'writeAttributes') fn(id, obj, inst, res, req.attributes ?? {}, done);
    else if (req.op === 'observe') fn(id, obj, inst, res, (value: unknown) => print({ event: 'notified', id: req.id, value }), done);
    else fn(id, obj, inst, res, req.value ?? '', done);
  });
});
