/**
 * The embedded MQTT broker: aedes in the gateway's process, on TCP (`--mqtt-port`) and WebSocket
 * (`--ws-port`, whose HTTP side also serves the dashboard's static files and its documents,
 * gateway/dashboard-api.ts).
 *
 * The gateway's own MQTT client connects through an in-process stream pair, not a socket: aedes
 * then knows which client is the gateway without any password. With or without client credentials,
 * only the gateway publishes state, availability, stats, status, errors and discovery; clients may
 * publish only unretained commands (publish-rule.ts). A refused publish closes an MQTT 3.1.1
 * client's connection (3.1.1 has no way to refuse one publish); aedes answers an MQTT 5 client's
 * refused QoS 1 publish with PUBACK 0x87 and the rule's reason string, and keeps the connection. A
 * refused will refuses the CONNECT.
 * With client credentials set (`--broker-user/--broker-password`), a client without them cannot
 * connect.
 *
 * Client sockets (TCP and WebSocket, not the gateway's own stream) are closed at the header of a
 * packet larger than `maxPacketBytes` (`--mqtt-max-packet`), before aedes buffers its body; an
 * MQTT 5 client is first sent DISCONNECT 0x95 (Packet too large).
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
import { type PublishRefusal, publishRefusal } from './publish-rule.js';
import { LampnetPersistence } from './retained-store.js';
import { serveStatic } from './static-files.js';
import type { DashboardApi } from '../dashboard-api.js';

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
  /** Called for every publish or will of a client the broker refused (publish-rule.ts). */
  publishRefused?: (refusal: PublishRefusal, topic: string, payload: Buffer) => void;
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
    let client: Client | null = null;
    guardPacketSizes(stream, maxPacketBytes, (why) => {
      packetRefused(why);
      closeAtRefusedPacket(stream, client !== null && client.version === 5 && client.connected, why);
    });
    client = aedes.handle(stream, req);
  };

  const publishRefused = options.publishRefused ?? (() => {});
  /** The rule for one publish or will, with the refusal reported. client is null for a will
   * published after its client is gone: that will was judged when its client connected. */
  const judge = (client: Client | null, topic: string, retain: boolean, payload: Buffer): PublishRefusal | null => {
    const refusal = publishRefusal(client?.id ?? '(will)', client === null || isGateway(client), topic, retain);
    if (refusal !== null) publishRefused(refusal, topic, payload);
    return refusal;
  };
  /** The will each connecting client asked for: aedes hands the CONNECT packet only to preConnect. */
  const wills = new WeakMap<Client, { topic: string; payload: Buffer; retain: boolean }>();

  const persistence = new LampnetPersistence();
  const aedes = await Aedes.createBroker({
    persistence,
    preConnect(client, packet, done) {
      if (packet.will) wills.set(client, { topic: packet.will.topic, payload: Buffer.from(packet.will.payload), retain: packet.will.retain === true });
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
      const will = wills.get(client);
      const refusal = will === undefined ? null : judge(client, will.topic, will.retain, will.payload);
      if (refusal !== null) {
        const error = new Error(`will refused: ${refusal.message}`) as AuthenticateError;
        error.returnCode = 5; // NOT_AUTHORIZED
        return done(error, false);
      }
      done(null, true);
    },
    authorizePublish(client, packet, done) {
      const refusal = judge(client, packet.topic, packet.retain, packet.payload as Buffer);
      done(refusal === null ? null : new Error(refusal.message));
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

/** How long a client told why its connection closes has to close it before the broker does. */
const DISCONNECT_LINGER_MS = 1000;

/** MQTT 5 DISCONNECT reason codes for a refused packet header (MQTT 5.0 §3.14.2.1). */
const DISCONNECT_REASON: Record<PacketRefusal, number> = { 'too-large': 0x95, malformed: 0x81 };

/**
 * Close a client's connection at a refused packet header. An MQTT 5 client is first told why by a
 * DISCONNECT (0x95 Packet too large, 0x81 Malformed packet), and the connection is half-closed: the
 * rest of its packet is still arriving (and dropped by the guard), and closing with unread input
 * would reset the connection, which can discard the DISCONNECT before the client reads it.
 */
function closeAtRefusedPacket(stream: Duplex, tellMqtt5Client: boolean, why: PacketRefusal): void {
  if (!tellMqtt5Client) return void stream.destroy();
  // Fixed header 0xE0, Remaining Length 2: the reason code and an empty property list.
  stream.end(Buffer.from([0xe0, 0x02, DISCONNECT_REASON[why], 0x00]));
  const linger = setTimeout(() => stream.destroy(), DISCONNECT_LINGER_MS).unref();
  stream.once('close', () => clearTimeout(linger));
}

function sameSecret(given: Buffer, expected: string): boolean {
  const want = Buffer.from(expected);
  return given.length === want.length && timingSafeEqual(given, want);
}

function closeServer(server: net.Server | http.Server): Promise<void> {
  if ('closeAllConnections' in server) server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Two connected duplex streams: what is written to one is read from the other, as over a socket.
 * Writes queue on the writer's side and reach the reader in one batch per turn of the event loop
 * (setImmediate), never inside a write or a read: aedes 2 counts the packets of its read loop
 * (client.js `_parsingBatch`), and data arriving inside that loop re-entered its parser, after which
 * it read nothing more from the gateway. A turn per batch also lets sockets in: hand-overs chained on
 * process.nextTick starved the broker's TCP and WebSocket clients (no CONNACK within 30 s) while a
 * large fleet's first states went out. A writer is held once a reader's worth (its high-water mark)
 * waits in the queue, so backpressure crosses the pair. */
export function streamPair(): [Duplex, Duplex] {
  const sides: Duplex[] = [];
  /** By writer: chunks on their way to the other side (null: the end), their bytes, a held write's
   * callback, and whether a hand-over is scheduled. */
  const queues: (Buffer | null)[][] = [[], []];
  const queued = [0, 0];
  const held: (((error?: Error | null) => void) | null)[] = [null, null];
  const scheduled = [false, false];
  const handOver = (self: number): void => {
    scheduled[self] = false;
    const reader = sides[1 - self];
    const q = queues[self];
    let room = true;
    while (q.length > 0 && room) {
      const chunk = q.shift() as Buffer | null;
      if (chunk !== null) queued[self] -= chunk.length;
      if (reader.destroyed) continue;
      room = reader.push(chunk);
    }
    // The rest waits for the reader's next read(), which schedules the next hand-over.
    const callback = held[self];
    if (callback !== null && queued[self] < reader.readableHighWaterMark) {
      held[self] = null;
      callback();
    }
  };
  const schedule = (self: number): void => {
    if (scheduled[self] || queues[self].length === 0) return;
    scheduled[self] = true;
    setImmediate(handOver, self);
  };
  const make = (self: number): Duplex => {
    const other = 1 - self;
    return new Duplex({
      read() {
        // The reader wants more: hand over what the other side has queued.
        schedule(other);
      },
      write(chunk: Buffer, _encoding, callback) {
        queues[self].push(chunk);
        queued[self] += chunk.length;
        schedule(self);
        if (queued[self] < sides[other].readableHighWaterMark) callback();
        else held[self] = callback;
      },
      final(callback) {
        queues[self].push(null);
        schedule(self);
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
