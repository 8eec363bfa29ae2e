/**
 * The gateway's outbound CoAP: requests to lamps, confirmable ones retransmitted with RFC 7252
 * §4.2 exponential backoff (initial timeout ACK_TIMEOUT × random[1, ACK_RANDOM_FACTOR], doubled
 * per retransmission, MAX_RETRANSMIT times), matched to their answers by message id (ACK/RST from
 * the same address and port) and by token (separate responses, §5.2.2).
 *
 * The caller chooses message ids: the lamp de-duplicates by (sender, mid) for EXCHANGE_LIFETIME,
 * and the gateway is one sender for a million lamps, so a single 16-bit counter would repeat a mid
 * to the same lamp within that window under load. Ids per lamp (see lamp-commands.ts) do not.
 * The number of exchanges is bounded by the caller (one per lamp, a global in-flight limit); each
 * holds one timer while it waits.
 */
import {
  ACK, ACK_RANDOM_FACTOR, ACK_TIMEOUT, CON, CONTENT_FORMAT, CoapReader, CoapWriter, EMPTY, MAX_RETRANSMIT, NON, RST,
  URI_PATH, codeString,
} from '../firmware/coap.js';

export interface CoapRequest {
  addr: string;
  port: number;
  mid: number;
  code: number;
  /** Uri-Path, segments joined by '/' ("3311/0"). */
  path: string;
  /** Content-Format of the payload, when there is one. */
  format?: number;
  /** Payload as an 8-bit string (the protocol's JSON is ASCII). */
  payload?: string;
}

export type CoapOutcome =
  | { ok: true; code: number; payload: string }
  | { ok: false; timedOut: boolean; code: number; reason: string };

export interface CoapClientOptions {
  ackTimeoutMs?: number;
  ackRandomFactor?: number;
  maxRetransmit?: number;
  random?: () => number;
  /** Called for every retransmission (for metrics). */
  retransmitted?: () => void;
}

/** Largest message the gateway builds: the CoAP recommendation for unfragmented IPv6 (§4.6). */
export const MAX_MESSAGE = 1152;

interface Exchange {
  key: string;
  token: number;
  req: CoapRequest;
  bytes: Uint8Array;
  retransmissions: number;
  timeoutMs: number;
  acknowledged: boolean;
  timer: NodeJS.Timeout | null;
  done: (outcome: CoapOutcome) => void;
}

const exchangeKey = (mid: number, addr: string, port: number): string => `${mid} ${addr} ${port}`;

export class CoapClient {
  private readonly ackTimeoutMs: number;
  private readonly ackRandomFactor: number;
  private readonly maxRetransmit: number;
  private readonly random: () => number;
  private readonly retransmitted: () => void;
  private readonly byMid = new Map<string, Exchange>();
  private readonly byToken = new Map<number, Exchange>();
  private readonly writer = new CoapWriter();
  private readonly scratch = new Uint8Array(MAX_MESSAGE);
  private readonly tokenBytes = new Uint8Array(4);
  private nextToken: number;

  constructor(private readonly send: (addr: string, port: number, data: Uint8Array) => void, options: CoapClientOptions = {}) {
    this.ackTimeoutMs = options.ackTimeoutMs ?? ACK_TIMEOUT;
    this.ackRandomFactor = options.ackRandomFactor ?? ACK_RANDOM_FACTOR;
    this.maxRetransmit = options.maxRetransmit ?? MAX_RETRANSMIT;
    this.random = options.random ?? Math.random;
    this.retransmitted = options.retransmitted ?? (() => {});
    this.nextToken = Math.floor(this.random() * 0x100000000) >>> 0;
  }

  get inFlight(): number {
    return this.byMid.size;
  }

  /** The longest a confirmable request can wait for its answer (MAX_TRANSMIT_WAIT, §4.8.2). */
  get maxWaitMs(): number {
    return this.ackTimeoutMs * (2 ** (this.maxRetransmit + 1) - 1) * this.ackRandomFactor;
  }

  /** Send a confirmable request; `done` is called exactly once with the answer or a timeout. */
  request(req: CoapRequest, done: (outcome: CoapOutcome) => void): void {
    const token = this.nextToken;
    this.nextToken = (this.nextToken + 1) >>> 0;
    const bytes = this.encode(CON, req, token);
    if (bytes === null) {
      done({ ok: false, timedOut: false, code: 0, reason: `request ${req.path} does not fit one CoAP message (${MAX_MESSAGE} bytes)` });
      return;
    }
    const key = exchangeKey(req.mid, req.addr, req.port);
    // A mid still in flight to this lamp means the caller broke its one-exchange-per-lamp rule;
    // refuse rather than confuse the two answers.
    if (this.byMid.has(key)) {
      done({ ok: false, timedOut: false, code: 0, reason: `message id ${req.mid} to ${req.addr} is already in flight` });
      return;
    }
    const initial = this.ackTimeoutMs * (1 + this.random() * (this.ackRandomFactor - 1));
    const ex: Exchange = { key, token, req, bytes, retransmissions: 0, timeoutMs: initial, acknowledged: false, timer: null, done };
    this.byMid.set(key, ex);
    this.byToken.set(token, ex);
    // Armed before sending: an in-memory transport may deliver the answer within send().
    ex.timer = setTimeout(() => this.expire(ex), initial);
    this.send(req.addr, req.port, bytes);
  }

  /** Send a non-confirmable request (group commands to a multicast address); nothing is awaited. */
  notify(req: CoapRequest): boolean {
    const token = this.nextToken;
    this.nextToken = (this.nextToken + 1) >>> 0;
    const bytes = this.encode(NON, req, token);
    if (bytes === null) return false;
    this.send(req.addr, req.port, bytes);
    return true;
  }

  /**
   * Offer a received message that is not a request (an ACK, RST or response). Returns true when it
   * answered one of our exchanges, false when nothing was waiting for it (the caller counts it).
   */
  handle(msg: CoapReader, from: string, port: number): boolean {
    if (msg.type === ACK || msg.type === RST) {
      const ex = this.byMid.get(exchangeKey(msg.mid, from, port));
      if (ex === undefined) return false;
      if (msg.type === RST) return this.finish(ex, { ok: false, timedOut: false, code: 0, reason: `${ex.req.addr} reset the request (CoAP RST)` });
      if (msg.code === EMPTY) {
        // Separate response coming (§5.2.2): stop retransmitting, wait for it by token.
        ex.acknowledged = true;
        this.rearm(ex, this.maxWaitMs);
        return true;
      }
      if (!this.tokenMatches(msg, ex.token)) return false;
      return this.finish(ex, outcomeOf(msg));
    }
    if (msg.tokenLen !== 4) return false;
    const ex = this.byToken.get(tokenNumber(msg));
    if (ex === undefined || ex.req.addr !== from || ex.req.port !== port) return false;
    if (msg.type === CON) this.send(from, port, this.emptyAck(msg.mid));
    return this.finish(ex, outcomeOf(msg));
  }

  /** Give up every exchange (the gateway is stopping); their callbacks are not called. */
  close(): void {
    for (const ex of this.byMid.values()) if (ex.timer) clearTimeout(ex.timer);
    this.byMid.clear();
    this.byToken.clear();
  }

  private expire(ex: Exchange): void {
    if (ex.acknowledged || ex.retransmissions >= this.maxRetransmit) {
      const waited = ex.acknowledged ? 'acknowledged but sent no response' : `did not answer ${ex.retransmissions + 1} transmissions`;
      this.finish(ex, { ok: false, timedOut: true, code: 0, reason: `${ex.req.addr} ${waited} within ${Math.round(this.maxWaitMs / 1000)} s` });
      return;
    }
    ex.retransmissions++;
    ex.timeoutMs *= 2;
    this.retransmitted();
    this.rearm(ex, ex.timeoutMs);
    this.send(ex.req.addr, ex.req.port, ex.bytes);
  }

  private rearm(ex: Exchange, ms: number): void {
    if (ex.timer) clearTimeout(ex.timer);
    ex.timer = setTimeout(() => this.expire(ex), ms);
  }

  private finish(ex: Exchange, outcome: CoapOutcome): true {
    if (ex.timer) clearTimeout(ex.timer);
    this.byMid.delete(ex.key);
    this.byToken.delete(ex.token);
    ex.done(outcome);
    return true;
  }

  private tokenMatches(msg: CoapReader, token: number): boolean {
    return msg.tokenLen === 4 && tokenNumber(msg) === token;
  }

  private encode(type: number, req: CoapRequest, token: number): Uint8Array | null {
    const t = this.tokenBytes;
    t[0] = token >>> 24;
    t[1] = token >>> 16;
    t[2] = token >>> 8;
    t[3] = token;
    const w = this.writer.begin(this.scratch, 0, type, req.code, req.mid, t, 0, 4);
    for (const segment of req.path.split('/')) w.option(URI_PATH, segment);
    if (req.format !== undefined) w.option(CONTENT_FORMAT, req.format);
    if (req.payload) w.payload(req.payload);
    const n = w.end();
    return n < 0 ? null : this.scratch.slice(0, n);
  }

  private emptyAck(mid: number): Uint8Array {
    const n = this.writer.begin(this.scratch, 0, ACK, EMPTY, mid, null, 0, 0).end();
    return this.scratch.slice(0, n);
  }
}

function tokenNumber(msg: CoapReader): number {
  const b = msg.buf;
  const o = msg.tokenOff;
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

function outcomeOf(msg: CoapReader): CoapOutcome {
  const payload = msg.payloadString();
  if (msg.code >> 5 === 2) return { ok: true, code: msg.code, payload };
  return { ok: false, timedOut: false, code: msg.code, reason: `lamp answered ${codeString(msg.code)}${payload ? ` (${payload.slice(0, 80)})` : ''}` };
}
