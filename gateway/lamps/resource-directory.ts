/**
 * The lamp-facing server of the gateway: the LwM2M-style registration interface (its grammar,
 * requests and answers: protocol/registration.ts).
 *
 * Malformed requests get 4.00 with the reason as diagnostic payload (RFC 7252 §5.5.2) and are
 * counted. A lamp's retransmitted CON (same address, port and message id within DEDUP_MS, the rule
 * the lamp keeps too: protocol/coap.ts) of a registration or update that succeeded gets the same
 * answer again instead of being processed twice. Only each lamp's last such exchange is remembered,
 * as three numbers in columns indexed like the registry: a lamp has one request in flight at a time
 * (RFC 7252 NSTART = 1, which the firmware keeps), so a retransmission is always of its latest. A
 * refused request is not remembered; its retransmission is refused again, with the same answer, and
 * counted again.
 */
import {
  ACCEPT, ACK, BAD_OPTION, BAD_REQUEST, CHANGED, CON, CREATED, DEDUP_MS, EMPTY, IF_MATCH,
  IF_NONE_MATCH, LOCATION_PATH, METHOD_NOT_ALLOWED, NON, NOT_FOUND, POST, RST, SERVICE_UNAVAILABLE, URI_HOST, URI_PATH,
  URI_PORT, URI_QUERY, coapWriter, uriQuery, writeBegin, writeEnd, writeOption, writePayload, type CoapReader,
} from '../../protocol/coap.js';
import { RD_PATH, parseReportBody, type ReportBody } from '../../protocol/registration.js';
import { utf8Bytes } from '../../protocol/text.js';
import type { CoapDropKind } from '../metrics.js';
import { columnWith, type LampRegistry } from '../registry.js';
import { nameProblem } from '../../protocol/mqtt-topics.js';

export interface DirectoryEvents {
  /** A lamp registered (POST /rd); `i` is its registry index. */
  registered(i: number): void;
  /** A registered lamp refreshed its registration and/or reported its state. */
  updated(i: number, reported: boolean): void;
  /** A request was refused or a message dropped, with the reason. */
  dropped(kind: CoapDropKind, reason: string): void;
}

export interface DirectoryOptions {
  now?: () => number;
}

/** Lifetime assumed when a registration has no `lt` (LwM2M's default, 1 day). */
const DEFAULT_LIFETIME_S = 86400;

/** Longest lifetime accepted: one year. */
export const MAX_LIFETIME_S = 365 * 24 * 3600;

interface Answer {
  code: number;
  /** Location-Path segments (2.01) or a diagnostic message (4.xx). */
  location?: string[];
  diagnostic?: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class ResourceDirectory {
  private readonly now: () => number;
  /** Each lamp's last successful confirmable exchange, by registry index: message id, when it was
   * answered, and the answer's code (0: nothing remembered; a remembered one is 2.01 or 2.04).
   * Typed columns allocate nothing per report: answers kept for EXCHANGE_LIFETIME as objects
   * would each reach V8's old generation and die there, at 10k reports/s the gateway's largest
   * source of major-GC work (bench/ANALYSIS.md). */
  private lastMid = new Uint16Array(0);
  private lastAt = new Float64Array(0);
  private lastCode = new Uint8Array(0);
  private readonly writer = coapWriter();
  private readonly scratch = new Uint8Array(512);
  private nextMid = Math.floor(Math.random() * 0x10000);

  constructor(
    private readonly registry: LampRegistry,
    private readonly send: (addr: string, port: number, data: Uint8Array) => void,
    private readonly events: DirectoryEvents,
    options: DirectoryOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Serve one request (`msg.code` 0.01–0.31) or CoAP ping (empty CON) from a lamp. */
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
    const now = this.now();
    const answer = this.serve(msg, from, port, now);
    const bytes = msg.type === CON
      ? this.emit(ACK, answer.code, msg.mid, msg, answer)
      : this.emit(NON, answer.code, this.takeMid(), msg, answer);
    this.send(from, port, bytes);
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

  private serve(msg: CoapReader, from: string, port: number, now: number): Answer {
    const critical = unknownCriticalOption(msg);
    if (critical >= 0) return this.refuse('bad-request', BAD_OPTION, `unrecognized critical option ${critical} (RFC 7252 §5.4.1)`);
    const segments = pathSegments(msg);
    if (segments.length === 0 || segments[0] !== RD_PATH || segments.length > 2) {
      return this.refuse('unsupported', NOT_FOUND, `no resource /${segments.join('/')} at the gateway; lamps POST /rd`);
    }
    if (msg.code !== POST) return this.refuse('unsupported', METHOD_NOT_ALLOWED, `/${segments.join('/')} accepts POST only`);
    const body = parseBody(msg);
    if (typeof body === 'string') return this.refuse('bad-request', BAD_REQUEST, `${body} from ${from}`);
    const lt = lifetime(msg);
    if (typeof lt === 'string') return this.refuse('bad-request', BAD_REQUEST, `${lt} from ${from}`);
    return segments.length === 1 ? this.register(msg, body, lt, from, port, now) : this.update(msg, segments[1], body, lt, from, port, now);
  }

  private register(msg: CoapReader, body: ReportBody, lt: number | null, from: string, port: number, now: number): Answer {
    const ep = decodeQuery(msg, 'ep');
    if (ep === null) return this.refuse('bad-request', BAD_REQUEST, `registration from ${from} has no ep=<endpoint name> query`);
    const problem = nameProblem('endpoint name', ep);
    if (problem !== null) return this.refuse('bad-request', BAD_REQUEST, `registration from ${from}: ${problem}`);
    if (this.retransmitted(this.registry.find(ep), msg, from, port, now)) return { code: CREATED, location: [RD_PATH, ep] };
    const i = this.registry.register(ep, from, port, lt ?? DEFAULT_LIFETIME_S, body.groups ?? '', (g) => nameProblem('group', g) === null, now);
    if (i < 0) return this.refuse('registry-full', SERVICE_UNAVAILABLE, `the gateway already knows ${this.registry.maxLamps} lamps`);
    if (body.state !== null) this.registry.setReport(i, body.state, now);
    this.remember(i, msg, CREATED, now);
    this.events.registered(i);
    return { code: CREATED, location: [RD_PATH, ep] };
  }

  private update(msg: CoapReader, id: string, body: ReportBody, lt: number | null, from: string, port: number, now: number): Answer {
    const i = this.registry.find(id);
    if (this.retransmitted(i, msg, from, port, now)) return { code: CHANGED };
    if (i < 0 || !this.registry.online(i)) {
      // Unknown (e.g. the gateway restarted) or lapsed: 4.04 tells the lamp to register again.
      return { code: NOT_FOUND, diagnostic: `registration ${id} is unknown or has lapsed; register again` };
    }
    this.registry.refresh(i, from, port, lt ?? this.registry.lifetimeS(i), now);
    if (body.state !== null) this.registry.setReport(i, body.state, now);
    this.remember(i, msg, CHANGED, now);
    this.events.updated(i, body.state !== null);
    return { code: CHANGED };
  }

  private refuse(kind: CoapDropKind, code: number, diagnostic: string): Answer {
    this.events.dropped(kind, diagnostic);
    return { code, diagnostic };
  }

  private emit(type: number, code: number, mid: number, request: CoapReader, answer: Answer | null): Uint8Array {
    // Empty messages (RST) carry no token; responses echo the request's token.
    const tokenLen = code === EMPTY ? 0 : request.tokenLen;
    const w = this.writer;
    writeBegin(w, this.scratch, 0, type, code, mid, request.buf, request.tokenOff, tokenLen);
    for (const segment of answer?.location ?? []) writeOption(w, LOCATION_PATH, utf8Bytes(segment));
    if (answer?.diagnostic) writePayload(w, utf8Bytes(answer.diagnostic.slice(0, 200)));
    return this.scratch.slice(0, writeEnd(w));
  }

  private takeMid(): number {
    this.nextMid = (this.nextMid + 1) & 0xffff;
    return this.nextMid;
  }
}

/** The JSON payload of a registration or update, or why it is unacceptable. */
function parseBody(msg: CoapReader): ReportBody | string {
  let text: string;
  try {
    text = utf8.decode(msg.buf.subarray(msg.payloadOff, msg.payloadOff + msg.payloadLen));
  } catch (err) {
    return `registration payload is not UTF-8 (${(err as Error).message})`;
  }
  return parseReportBody(text);
}

/** The `lt` query as seconds, null when absent, or why it is unacceptable. */
function lifetime(msg: CoapReader): number | null | string {
  const lt = uriQuery(msg, 'lt');
  if (lt === null) return null;
  const n = /^\d{1,10}$/.test(lt) ? Number(lt) : NaN;
  if (!(n >= 1 && n <= MAX_LIFETIME_S)) return `lifetime lt=${lt.slice(0, 20)} is not a whole number of seconds 1-${MAX_LIFETIME_S}`;
  return n;
}

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
  for (let i = 0; i < msg.optCount; i++) if (msg.optNum[i] === URI_PATH) segments.push(decodeOption(msg, i) ?? '\ufffd');
  return segments;
}

/** A Uri-Query value decoded as UTF-8 (the codec reads 8-bit strings), null when absent or invalid. */
function decodeQuery(msg: CoapReader, name: string): string | null {
  const raw = uriQuery(msg, name);
  if (raw === null) return null;
  try {
    return utf8.decode(Buffer.from(raw, 'latin1'));
  } catch {
    return null;
  }
}

function decodeOption(msg: CoapReader, i: number): string | null {
  try {
    return utf8.decode(msg.buf.subarray(msg.optOff[i], msg.optOff[i] + msg.optLen[i]));
  } catch {
    return null;
  }
}
