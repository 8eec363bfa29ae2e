/**
 * The embedded MQTT broker: aedes in the gateway's process, on TCP (`--mqtt-port`) and WebSocket
 * (`--ws-port`, whose HTTP side also serves the dashboard's static files and its documents,
 * gateway/dashboard-api.ts).
 *
 * The gateway's own MQTT client connects through an in-process stream pair, not a socket: aedes
 * then knows which client is the gateway without any password, and with client credentials set
 * (`--broker-user/--broker-password`) the access rules are
 *   - a client without the credentials cannot connect;
 *   - clients may publish only commands (`lampnet/lamps/<id>/set`, `lampnet/groups/<g>/set`);
 *     any other publish closes their connection (MQTT 3.1.1 has no way to refuse one publish);
 *   - only the gateway publishes state, availability, stats, status and errors.
 * Without credentials the broker is open, like a fresh Mosquitto on localhost. `$SYS/` is the
 * broker's either way. A will is a publish on the client's behalf, so it obeys the same rules, and
 * is checked at CONNECT: a client whose will it could not publish itself is refused (Not authorized)
 * instead of learning nothing when the will is dropped at its disconnection.
 *
 * Client sockets (TCP and WebSocket, not the gateway's own stream) are closed at the header of a
 * packet larger than `maxPacketBytes` (`--mqtt-max-packet`), before aedes buffers its body.
 */
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { Duplex } from 'node:stream';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { WebSocketServer, createWebSocketStream, type WebSocket } from 'ws';
import { listen } from '../listen.js';
import { DEFAULT_MAX_PACKET_BYTES, guardPacketSizes, type PacketRefusal } from './mqtt-size-guard.js';
import { LampnetPersistence } from './retained-store.js';
import { serveStatic } from './static-files.js';
import type { DashboardApi } from '../dashboard-api.js';
import { parseCommandTopic } from '../../protocol/mqtt-topics.js';

export interface BrokerCredentials {
  username: string;
  password: string;
}

export interface EmbeddedBrokerOptions {
  host: string;
  /** TCP port (0 = any free port). */
  mqttPort: number;
  /** WebSocket/HTTP port (0 = any free port), or null for none. */
  wsPort: number | null;
  credentials?: BrokerCredentials | null;
  /** Directory served over HTTP on the WebSocket port (the dashboard), or null. */
  staticDir?: string | null;
  /** The dashboard's HTTP documents, answered before the static files (behind the credentials). */
  api?: DashboardApi | null;
  /** Largest Remaining Length a client's packet may announce (default 64 KiB). */
  maxPacketBytes?: number;
  /** Called once per client connection closed at a refused packet header. */
  packetRefused?: (why: PacketRefusal) => void;
}

export interface EmbeddedBroker {
  readonly aedes: Aedes;
  readonly mqttPort: number;
  readonly wsPort: number | null;
  /** A new in-process connection for the gateway's MQTT client (a stream builder). */
  connectGateway(): Duplex;
  /** Resolves once the next message published on `topic` has been written to every subscriber's
   * connection (the publisher's PUBACK comes sooner). */
  delivered(topic: string): Promise<void>;
  /** Close every connection once what was written to it has gone out, then the listeners. */
  close(): Promise<void>;
}

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const gatewayStreams = new WeakSet<object>();
  const isGateway = (client: Client | null): boolean => client !== null && gatewayStreams.has(client.conn);
  const credentials = options.credentials ?? null;
  const maxPacketBytes = options.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;
  const packetRefused = options.packetRefused ?? (() => {});
  const handleClient = (stream: Duplex, req?: http.IncomingMessage): void => {
    guardPacketSizes(stream, maxPacketBytes, packetRefused);
    aedes.handle(stream, req);
  };

  /** Why `client` may not publish to `topic`, or null when it may. client is null for a will
   * published after its client is gone: its will was checked when it connected. */
  const publishRefusal = (client: Client | null, topic: string): string | null => {
    if (topic.startsWith('$SYS/')) return `'${topic}': $SYS/ topics are reserved for the broker`;
    if (credentials === null || client === null || isGateway(client) || parseCommandTopic(topic) !== null) return null;
    return `client '${client.id}' may publish only .../set commands, not '${topic}'`;
  };
  /** The will topic each connecting client asked for: aedes hands the CONNECT packet only to preConnect. */
  const willTopics = new WeakMap<Client, string>();

  const persistence = new LampnetPersistence();
  const aedes = await Aedes.createBroker({
    persistence,
    preConnect(client, packet, done) {
      if (packet.will) willTopics.set(client, packet.will.topic);
      done(null, true);
    },
    authenticate(client, username, password, done) {
      const known = isGateway(client) || credentials === null ||
        (username === credentials.username && password !== undefined && sameSecret(password, credentials.password));
      if (!known) {
        const error = new Error(`client '${client.id}' gave wrong or no credentials`) as AuthenticateError;
        error.returnCode = 4; // BAD_USERNAME_OR_PASSWORD
        return done(error, false);
      }
      const willTopic = willTopics.get(client);
      const refusal = willTopic === undefined ? null : publishRefusal(client, willTopic);
      if (refusal !== null) {
        const error = new Error(`will refused: ${refusal}`) as AuthenticateError;
        error.returnCode = 5; // NOT_AUTHORIZED
        return done(error, false);
      }
      done(null, true);
    },
    authorizePublish(client, packet, done) {
      const refusal = publishRefusal(client, packet.topic);
      done(refusal === null ? null : new Error(refusal));
    },
    // aedes sends a new subscriber its retained messages some time after its subscription starts
    // taking live ones (forwarded without the retain flag). A topic updated meanwhile reaches the
    // subscriber live; the retained message read before the update must not follow it, or the
    // subscriber keeps a lamp state that is no longer true.
    authorizeForward(_client, packet) {
      return packet.retain && !persistence.holds(packet.topic, packet.payload) ? null : packet;
    },
  });

  // No Nagle: a lamp's state is one small packet that must reach its subscribers now, not after the
  // subscriber's delayed ACK (measured: MQTT round trip p50 1.1 ms with Nagle, 0.03 ms without).
  // Node's HTTP server, which carries MQTT over WebSocket, already sets it.
  const sockets = new Set<net.Socket>();
  const tcp = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    handleClient(socket);
  });
  const closers: (() => Promise<void>)[] = [];
  try {
    await listen(tcp, options.mqttPort, options.host, 'MQTT (--mqtt-port)');
    closers.push(() => closeServer(tcp));
    let wsPort: number | null = null;
    if (options.wsPort !== null) {
      const staticDir = options.staticDir ?? null;
      const api = options.api ?? null;
      const web = http.createServer((req, res) => {
        const path = requestPath(req);
        if (api === null || path === null || !api.paths.includes(path)) serveStatic(staticDir, req, res);
        else if (credentials === null || basicAuthMatches(req, credentials)) api.serve(path, req, res);
        // 403, not 401 with a Basic challenge: a browser answers that challenge with its own login
        // dialog, which stalls the page that asks for the credentials itself.
        else res.writeHead(403, { 'content-type': 'text/plain' }).end(`${req.url}: the broker's credentials are required (HTTP Basic)\n`);
      });
      // ws buffers a whole message before the stream sees any of it, so a message gets the packet
      // limit too (plus the largest fixed header); ws refuses it from its frame header.
      const wss = new WebSocketServer({ server: web, maxPayload: maxPacketBytes + 5 });
      wss.on('connection', (socket, req) => {
        const stream = webSocketStream(socket);
        // Ahead of the stream's own error listener, which destroys it: a stream already destroyed
        // was refused (and counted) by the packet guard.
        socket.prependListener('error', (err: Error & { code?: string }) => {
          if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' && !stream.destroyed) packetRefused('too-large');
        });
        handleClient(stream, req);
      });
      await listen(web, options.wsPort, options.host, 'MQTT over WebSocket (--ws-port)');
      wsPort = (web.address() as AddressInfo).port;
      closers.push(() => {
        for (const client of wss.clients) client.terminate();
        return new Promise<void>((resolve) => wss.close(() => resolve())).then(() => closeServer(web));
      });
    }
    return {
      aedes,
      mqttPort: (tcp.address() as AddressInfo).port,
      wsPort,
      connectGateway() {
        const [gatewaySide, brokerSide] = streamPair();
        gatewayStreams.add(brokerSide);
        aedes.handle(brokerSide);
        return gatewaySide;
      },
      delivered(topic) {
        return new Promise((resolve) => {
          const published = (packet: { topic: string }): void => {
            if (packet.topic !== topic) return;
            aedes.off('publish', published);
            resolve();
          };
          aedes.on('publish', published);
        });
      },
      async close() {
        // aedes destroys each connection: what is still in a socket's buffer (the gateway's last
        // `offline`, say) must reach its client first.
        await Promise.race([drained(sockets), new Promise((resolve) => setTimeout(resolve, DRAIN_TIMEOUT_MS).unref())]);
        await new Promise<void>((resolve) => aedes.close(() => resolve()));
        await Promise.all(closers.map((close) => close()));
      },
    };
  } catch (err) {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await Promise.all(closers.map((close) => close()));
    throw err;
  }
}

/** Longest a closing broker waits for its clients' sockets to take what was written to them. */
const DRAIN_TIMEOUT_MS = 1000;

function drained(sockets: Iterable<net.Socket>): Promise<unknown> {
  return Promise.all([...sockets].filter((s) => s.writableLength > 0).map((s) => new Promise((resolve) => {
    s.once('drain', resolve);
    s.once('close', resolve);
  })));
}

/** A WebSocket client's connection as a stream. mqtt-packet corks the stream while it writes a
 * packet's pieces (header, topic, payload); with `_writev` the uncork sends them as one WebSocket
 * frame instead of one frame each. A browser pays per frame: 100,000 retained lamp states reach
 * the dashboard several times faster this way. (MQTT over WebSocket lets packets share frames.) */
function webSocketStream(socket: WebSocket): Duplex {
  const stream = createWebSocketStream(socket);
  stream._writev = (chunks, callback) => socket.send(Buffer.concat(chunks.map((c) => c.chunk as Buffer)), callback);
  return stream;
}

/** The path of an HTTP request, or null when its target is not a URL. */
function requestPath(req: http.IncomingMessage): string | null {
  try {
    return new URL(req.url ?? '/', 'http://x').pathname;
  } catch {
    return null;
  }
}

/** Whether an HTTP request carries the broker's credentials as HTTP Basic authorization. */
function basicAuthMatches(req: http.IncomingMessage, credentials: BrokerCredentials): boolean {
  const header = req.headers.authorization ?? '';
  if (!header.startsWith('Basic ')) return false;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 && decoded.slice(0, colon) === credentials.username && sameSecret(Buffer.from(decoded.slice(colon + 1)), credentials.password);
}

function sameSecret(given: Buffer, expected: string): boolean {
  const want = Buffer.from(expected);
  return given.length === want.length && timingSafeEqual(given, want);
}

function closeServer(server: net.Server | http.Server): Promise<void> {
  if ('closeAllConnections' in server) server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Two connected duplex streams: what is written to one is read from the other. A write completes
 * only once the reader has room, so backpressure crosses the pair as it would a socket. */
function streamPair(): [Duplex, Duplex] {
  const sides: Duplex[] = [];
  const blocked: (((error?: Error | null) => void) | null)[] = [null, null];
  const make = (self: number): Duplex => {
    const other = 1 - self;
    return new Duplex({
      read() {
        // The reader wants more: release the writer on the other side if it was waiting.
        const resume = blocked[other];
        blocked[other] = null;
        resume?.();
      },
      write(chunk, _encoding, callback) {
        if (sides[other].push(chunk)) callback();
        else blocked[self] = callback;
      },
      final(callback) {
        sides[other].push(null);
        callback();
      },
      destroy(err, callback) {
        if (!sides[other].destroyed) sides[other].destroy();
        callback(err);
      },
    });
  };
  sides.push(make(0), make(1));
  return [sides[0], sides[1]];
}
