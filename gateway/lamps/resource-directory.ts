/**
 * The lamp-facing server of the gateway: the LwM2M registration interface (1.1 Core §6.2; its
 * requests and queries: protocol/lwm2m/registration.ts, its payload: protocol/lwm2m/link.ts).
 *
 *   Register     POST /rd?ep=..&lt=..   → 2.01, Location-Path rd/<location>
 *   Update       POST /rd/<location>    → 2.04, or 4.04 for a location no longer valid
 *   De-register  DELETE /rd/<location>  → 2.02, the lamp offline at once
 *
 * A client is accepted when it registers Light Control /3311/0; what else it registers (3305/0
 * power, 3/0 Device, 32311/0 lampnet config) and the content formats its root link names become
 * its capability bits (CAP_*), which decide how the gateway observes and commands it. The location
 * is the registry index and the registration's generation in base 36, so an Update or
 * De-register of an earlier registration (the gateway restarted, or the lamp registered again) is
 * recognised and answered 4.04 without any table of locations.
 *
 * Refusals get a 4.xx with the reason as diagnostic payload (RFC 7252 §5.5.2) and are counted. A
 * lamp's retransmitted CON (same address, port and message id within DEDUP_MS, the rule the lamp
 * keeps too: protocol/coap.ts) of a request that succeeded gets the same answer again instead of
 * being processed twice. Only each lamp's last such exchange is remembered, as three numbers in
 * columns indexed like the registry (a client has one request in flight, RFC 7252 NSTART = 1).
 * New endpoint names from one address are rate-limited, exactly per address (a flood of made-up
 * names from one host must not fill the registry; a million lamps at a million addresses must not
 * look like one). Every refusal for load (5.03) carries Max-Age (RFC 7252 §5.9.3.4): when to retry.
 */
import {
  ACCEPT, ACK, BAD_OPTION, BAD_REQUEST, CHANGED, CON, CONTENT_FORMAT, CREATED, DEDUP_MS, DELETE, DELETED, EMPTY, FORMAT_LINK,
  IF_MATCH, IF_NONE_MATCH, LOCATION_PATH, MAX_AGE, METHOD_NOT_ALLOWED, NON, NOT_FOUND, POST, REQUEST_ENTITY_TOO_LARGE, RST,
  SERVICE_UNAVAILABLE, UNSUPPORTED_CONTENT_FORMAT, URI_HOST, URI_PATH, URI_PORT, URI_QUERY, coapWriter, optionUint,
  uriQueries, writeBegin, writeEnd, writeOption, writePayload, type CoapReader,
} from '../../protocol/coap.js';
import { FORMAT_SENML_JSON, FORMAT_TLV } from '../../protocol/lwm2m/formats.js';
import { MAX_LINK_BYTES, registrationObjects, type RegisteredObjects } from '../../protocol/lwm2m/link.js';
import { DEVICE, LAMPNET_CONFIG, LIGHT_CONTROL, POWER_MEASUREMENT } from '../../protocol/lwm2m/objects.js';
import { RD_PATH, parseRegisterQuery, parseUpdateQuery } from '../../protocol/lwm2m/registration.js';
import { nameProblem } from '../../protocol/mqtt-topics.js';
import { utf8Bytes } from '../../protocol/text.js';
import type { CoapDropKind } from '../metrics.js';
import { columnWith, type LampRegistry } from '../registry.js';
import { AddressLimiter } from './address-limiter.js';

/** What a client registered (LampRegistry.clientCaps): the content format the gateway reads and
 * writes it in (SenML JSON, else TLV, else text/plain one resource at a time), and the objects
 * beside /3311/0 it has. CAP_CONFIG marks a lampnet lamp. */
export const CAP_SENML = 1;
export const CAP_TLV = 2;
export const CAP_POWER = 4;
export const CAP_DEVICE = 8;
export const CAP_CONFIG = 16;

export interface DirectoryEvents {
  /** A client registered (POST /rd); `i` is its registry index, online with a new generation. */
  registered(i: number): void;
  /** A registered client updated its registration; `objectsChanged` when it sent new objects. */
  updated(i: number, objectsChanged: boolean): void;
  /** A client de-registered: it is offline. */
  deregistered(i: number): void;
  /** A request was refused or a message dropped, with the reason. */
  dropped(kind: CoapDropKind, reason: string): void;
}

export interface DirectoryOptions {
  now?: () => number;
  /** New endpoint names one address may register per minute (default 64). */
  newEndpointsPerAddress?: number;
}

/** Longest lifetime accepted: one year. */
export const MAX_LIFETIME_S = 365 * 24 * 3600;

/** The window of the per-address limit on new endpoint names. */
const FLOOD_WINDOW_MS = 60_000;
/** Max-Age of a 5.03 for a full registry: records free up only as lamps lapse, within a lifetime. */
const REGISTRY_FULL_RETRY_S = 300;

interface Answer {
  code: number;
  /** Location-Path segments (2.01) or a diagnostic message (4.xx). */
  location?: string[];
  /** Max-Age (s) of a 5.03: when the client may try again. */
  maxAgeS?: number;
  diagnostic?: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The location of registration `generation` of record `i` (the segment after rd/). */
export function registrationLocation(i: number, generation: number): string {
  return (i * 256 + generation).toString(36);
}

/** A location segment as [index, generation], or null when it is not one. */
function parseLocation(segment: string): [number, number] | null {
  if (segment.length === 0 || segment.length > 8) return null;
  for (let k = 0; k < segment.length; k++) {
    const c = segment.charCodeAt(k);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 122))) return null;
  }
  const n = parseInt(segment, 36);
  return [Math.floor(n / 256), n % 256];
}

/** The capability bits of what a client registered, or why the gateway does not take it. */
export function capabilitiesOf(objects: RegisteredObjects): number | string {
  const has = (obj: number): boolean => objects.objects.some((o) => o.obj === obj && o.inst === 0);
  if (!has(LIGHT_CONTROL)) return 'registration lists no Light Control instance </3311/0>';
  const f = objects.formats;
  return (f.includes(FORMAT_SENML_JSON) ? CAP_SENML : f.includes(FORMAT_TLV) ? CAP_TLV : 0)
    | (has(POWER_MEASUREMENT) ? CAP_POWER : 0) | (has(DEVICE) ? CAP_DEVICE : 0) | (has(LAMPNET_CONFIG) ? CAP_CONFIG : 0);
}

export class ResourceDirectory {
  private readonly now: () => number;
  private readonly newEndpoints: AddressLimiter;
  /** Each lamp's last successful confirmable exchange, by registry index: message id, when it was
   * answered, and the answer's code (0: nothing remembered). Typed columns allocate nothing per
   * request (bench/ANALYSIS.md: objects kept for EXCHANGE_LIFETIME were the major-GC source). */
  private lastMid = new Uint16Array(0);
  private lastAt = new Float64Array(0);
  private lastCode = new Uint8Array(0);
  private readonly writer = coapWriter();
  private readonly scratch = new Uint8Array(512);
  private nextMid = Math.floor(Math.random() * 0x10000);
  /** The event of the request being served, raised once its answer is sent: a client takes the
   * server's requests (Observe after Register) only once it has its 2.01. */
  private event: (() => void) | null = null;

  constructor(
    private readonly registry: LampRegistry,
    private readonly send: (addr: string, port: number, data: Uint8Array) => void,
    private readonly events: DirectoryEvents,
    options: DirectoryOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.newEndpoints = new AddressLimiter(options.newEndpointsPerAddress ?? 64, FLOOD_WINDOW_MS);
  }

  /** Serve one request (`msg.code` 0.01–0.31) or CoAP ping (empty CON) from a client. */
  handle(msg: CoapReader, from: string, port: number): void {
    if (msg.code === EMPTY) {
      // CoAP ping (§4.3): an empty CON is answered with RST; anything else empty is noise.
      if (msg.type === CON) this.send(from, port, this.emit(RST, EMPTY, msg.mid, msg, null));
      else this.events.dropped('unsupported', `empty CoAP message of type ${msg.type} from ${from}`);
      return;
    }
    if (msg.type !== CON && msg.type !== NON) {
      this.events.dropped('malformed', `CoAP request from ${from} with type ${msg.type === ACK ? 'ACK' : 'RST'}`);
      return;
    }
    const answer = this.serve(msg, from, port, this.now());
    const bytes = msg.type === CON
      ? this.emit(ACK, answer.code, msg.mid, msg, answer)
      : this.emit(NON, answer.code, this.takeMid(), msg, answer);
    this.send(from, port, bytes);
    const event = this.event;
    this.event = null;
    event?.();
  }

  private serve(msg: CoapReader, from: string, port: number, now: number): Answer {
    const critical = unknownCriticalOption(msg);
    if (critical >= 0) return this.refuse('bad-request', BAD_OPTION, `unrecognized critical option ${critical} (RFC 7252 §5.4.1)`);
    const segments = pathSegments(msg);
    if (segments.length === 0 || segments[0] !== RD_PATH || segments.length > 2) {
      return this.refuse('unsupported', NOT_FOUND, `no resource /${segments.join('/')} at the gateway; LwM2M clients register at /rd`);
    }
    if (segments.length === 1) {
      return msg.code === POST ? this.register(msg, from, port, now) : this.refuse('unsupported', METHOD_NOT_ALLOWED, '/rd accepts POST (Register) only');
    }
    if (msg.code === POST) return this.update(msg, segments[1], from, port, now);
    if (msg.code === DELETE) return this.deregister(msg, segments[1], from, port, now);
    return this.refuse('unsupported', METHOD_NOT_ALLOWED, `/rd/${segments[1]} accepts POST (Update) and DELETE (De-register)`);
  }

  private register(msg: CoapReader, from: string, port: number, now: number): Answer {
    const query = parseRegisterQuery(uriQueries(msg));
    if ('code' in query) return this.refuse('bad-request', query.code, `${query.error} (from ${from})`);
    const problem = nameProblem('endpoint name', query.ep);
    if (problem !== null) return this.refuse('bad-request', BAD_REQUEST, `registration from ${from}: ${problem}`);
    if (query.lifetimeS > MAX_LIFETIME_S) return this.refuse('bad-request', BAD_REQUEST, `registration from ${from}: lifetime ${query.lifetimeS} s exceeds ${MAX_LIFETIME_S} s`);
    const objects = this.objects(msg, from);
    if ('code' in objects) return objects;
    const caps = capabilitiesOf(objects);
    if (typeof caps === 'string') return this.refuse('bad-request', BAD_REQUEST, `${caps} (from ${from}, ep ${query.ep})`);
    let i = this.registry.find(query.ep);
    if (this.retransmitted(i, msg, from, port, now)) return { code: CREATED, location: [RD_PATH, registrationLocation(i, this.registry.generation(i))] };
    if (i < 0 && !this.newEndpoints.admit(from, now)) {
      return this.refuse('registration-flood', SERVICE_UNAVAILABLE, `${from} registered more than ${this.newEndpoints.perWindow} new endpoint names within a minute`,
        this.newEndpoints.retryAfterS(now));
    }
    // A lampnet lamp's groups come with the read of /32311/0/0 after Register; until then it keeps
    // the ones it had. A client without that object has none.
    i = this.registry.register(query.ep, from, port, query.lifetimeS, caps & CAP_CONFIG ? null : '', isUsableGroup, now);
    if (i < 0) return this.refuse('registry-full', SERVICE_UNAVAILABLE, `the gateway already knows ${this.registry.maxLamps} lamps`, REGISTRY_FULL_RETRY_S);
    this.registry.setClientCaps(i, caps);
    this.remember(i, msg, CREATED, now);
    this.event = () => this.events.registered(i);
    return { code: CREATED, location: [RD_PATH, registrationLocation(i, this.registry.generation(i))] };
  }

  private update(msg: CoapReader, location: string, from: string, port: number, now: number): Answer {
    const i = this.current(location);
    if (this.retransmitted(i, msg, from, port, now)) return { code: CHANGED };
    if (i < 0) return this.refuse('stale', NOT_FOUND, `registration rd/${location.slice(0, 20)} is unknown or has ended; register again`);
    const query = parseUpdateQuery(uriQueries(msg));
    if ('code' in query) return this.refuse('bad-request', query.code, `${query.error} (from ${from})`);
    if (query.lifetimeS > MAX_LIFETIME_S) return this.refuse('bad-request', BAD_REQUEST, `update from ${from}: lifetime ${query.lifetimeS} s exceeds ${MAX_LIFETIME_S} s`);
    let changed = false;
    if (msg.payloadLen > 0) {
      const objects = this.objects(msg, from);
      if ('code' in objects) return objects;
      const caps = capabilitiesOf(objects);
      if (typeof caps === 'string') return this.refuse('bad-request', BAD_REQUEST, `${caps} (update from ${from})`);
      changed = caps !== this.registry.clientCaps(i);
      this.registry.setClientCaps(i, caps);
    }
    // The address may have changed (a NAT rebinding): the Update's source is where the client is now.
    this.registry.refresh(i, from, port, query.lifetimeS < 0 ? this.registry.lifetimeS(i) : query.lifetimeS, now);
    this.remember(i, msg, CHANGED, now);
    this.event = () => this.events.updated(i, changed);
    return { code: CHANGED };
  }

  private deregister(msg: CoapReader, location: string, from: string, port: number, now: number): Answer {
    const i = this.current(location);
    if (this.retransmitted(i, msg, from, port, now)) return { code: DELETED };
    if (i < 0) return this.refuse('stale', NOT_FOUND, `registration rd/${location.slice(0, 20)} is unknown or has ended`);
    this.registry.deregister(i);
    this.remember(i, msg, DELETED, now);
    this.event = () => this.events.deregistered(i);
    return { code: DELETED };
  }

  /** The registry index of the live registration at `location`, or -1. */
  private current(location: string): number {
    const at = parseLocation(location);
    if (at === null || at[0] >= this.registry.size) return -1;
    const i = at[0];
    return this.registry.generation(i) === at[1] && this.registry.online(i) ? i : -1;
  }

  /** The Register/Update payload's objects, or the refusal to answer with. */
  private objects(msg: CoapReader, from: string): RegisteredObjects | Answer {
    const format = optionUint(msg, CONTENT_FORMAT);
    // LwM2M 1.0 clients (lwm2m-node-lib among them) send the link format without saying so.
    if (format !== -1 && format !== FORMAT_LINK) return this.refuse('bad-request', UNSUPPORTED_CONTENT_FORMAT, `registration payload from ${from} has Content-Format ${format}, not ${FORMAT_LINK} (link format)`);
    if (msg.payloadLen > MAX_LINK_BYTES) return this.refuse('too-large', REQUEST_ENTITY_TOO_LARGE, `registration payload of ${msg.payloadLen} bytes from ${from} exceeds ${MAX_LINK_BYTES}`);
    let text: string;
    try {
      text = utf8.decode(msg.buf.subarray(msg.payloadOff, msg.payloadOff + msg.payloadLen));
    } catch {
      return this.refuse('bad-request', BAD_REQUEST, `registration payload from ${from} is not UTF-8`);
    }
    const objects = registrationObjects(text);
    return typeof objects === 'string' ? this.refuse('bad-request', BAD_REQUEST, `${objects} (from ${from})`) : objects;
  }

  /** Let go of what the new-name limit remembers once its window is over (called periodically, so
   * the table a registration storm grew is given back even when no new name comes). */
  sweep(now: number): void {
    this.newEndpoints.expire(now);
  }

  /** Whether `msg` retransmits lamp i's last successful exchange; if so it is counted, and the
   * caller answers it with the remembered code without processing it again. */
  private retransmitted(i: number, msg: CoapReader, from: string, port: number, now: number): boolean {
    if (msg.type !== CON || i < 0 || i >= this.lastCode.length || this.lastCode[i] === 0) return false;
    if (this.lastMid[i] !== msg.mid || now - this.lastAt[i] >= DEDUP_MS) return false;
    if (this.registry.address(i) !== from || this.registry.port(i) !== port) return false;
    this.events.dropped('duplicate', `retransmission of mid ${msg.mid} from ${from}`);
    return true;
  }

  /** Remember lamp i's successful answer to the confirmable request `msg`. */
  private remember(i: number, msg: CoapReader, code: number, now: number): void {
    if (msg.type !== CON) return;
    this.lastMid = columnWith(this.lastMid, i);
    this.lastAt = columnWith(this.lastAt, i);
    this.lastCode = columnWith(this.lastCode, i);
    this.lastMid[i] = msg.mid;
    this.lastAt[i] = now;
    this.lastCode[i] = code;
  }

  private refuse(kind: CoapDropKind, code: number, diagnostic: string, maxAgeS?: number): Answer {
    this.events.dropped(kind, diagnostic);
    return maxAgeS === undefined ? { code, diagnostic } : { code, diagnostic, maxAgeS };
  }

  private emit(type: number, code: number, mid: number, request: CoapReader, answer: Answer | null): Uint8Array {
    // Empty messages (RST) carry no token; responses echo the request's token.
    const tokenLen = code === EMPTY ? 0 : request.tokenLen;
    const w = this.writer;
    writeBegin(w, this.scratch, 0, type, code, mid, request.buf, request.tokenOff, tokenLen);
    for (const segment of answer?.location ?? []) writeOption(w, LOCATION_PATH, utf8Bytes(segment));
    if (answer?.maxAgeS !== undefined) writeOption(w, MAX_AGE, answer.maxAgeS);
    if (answer?.diagnostic) writePayload(w, utf8Bytes(answer.diagnostic.slice(0, 200)));
    return this.scratch.slice(0, writeEnd(w));
  }

  private takeMid(): number {
    this.nextMid = (this.nextMid + 1) & 0xffff;
    return this.nextMid;
  }
}

/** Whether a lamp's group name can be a topic level (others are skipped). */
export const isUsableGroup = (g: string): boolean => nameProblem('group', g) === null;

/** Critical options (odd numbers) the directory understands or may ignore: If-Match, Uri-Host,
 * If-None-Match, Uri-Port, Uri-Path, Uri-Query, Accept. */
const KNOWN_CRITICAL = [IF_MATCH, URI_HOST, IF_NONE_MATCH, URI_PORT, URI_PATH, URI_QUERY, ACCEPT];

/** The first critical option the request carries that the directory does not know, or -1. */
function unknownCriticalOption(msg: CoapReader): number {
  for (let i = 0; i < msg.optCount; i++) {
    const num = msg.optNum[i];
    if (num & 1 && !KNOWN_CRITICAL.includes(num)) return num;
  }
  return -1;
}

/** The Uri-Path segments decoded as UTF-8 (U+FFFD for one that is not). */
function pathSegments(msg: CoapReader): string[] {
  const segments: string[] = [];
  for (let i = 0; i < msg.optCount; i++) {
    if (msg.optNum[i] !== URI_PATH) continue;
    try {
      segments.push(utf8.decode(msg.buf.subarray(msg.optOff[i], msg.optOff[i] + msg.optLen[i])));
    } catch {
      segments.push('\ufffd');
    }
  }
  return segments;
}
