/**
 * The gateway's outbound CoAP: requests to lamps, confirmable ones retransmitted with RFC 7252
 * §4.2 exponential backoff (firstAckTimeout, doubled per retransmission, MAX_RETRANSMIT times), matched to their answers by message id (ACK/RST from
 * the same address and port) and by token (separate responses, §5.2.2).
 *
 * The caller chooses message ids: the lamp de-duplicates by (sender, mid) for DEDUP_MS,
 * and the gateway is one sender for a million lamps, so a single 16-bit counter would repeat a mid
 * to the same lamp within that window under load. Ids per lamp (see commander.ts) do not.
 * The number of exchanges is bounded by the caller (one per lamp, a global in-flight limit); each
 * holds one timer while it waits.
 */
import {
  ACCEPT, ACK, ACK_RANDOM_FACTOR, ACK_TIMEOUT, CON, CONTENT_FORMAT, EMPTY, MAX_RETRANSMIT, NON, OBSERVE, RST,
  URI_PATH, URI_QUERY, codeString, coapReader, coapWriter, firstAckTimeout, optionUint, payloadOf, readCoap, writeBegin, writeEnd, writeOption, writePayload, type CoapReader,
} from '../../protocol/coap.js';
import { isProtected } from '../../protocol/oscore/message.js';
import type { LampKeys } from './security.js';

export interface CoapRequest {
  addr: string;
  port: number;
  mid: number;
  code: number;
  /** Uri-Path, segments joined by '/' ("3311/0"). */
  path: string;
  /** Uri-Query items ("pmax=60"). */
  query?: readonly string[];
  /** Content-Format of the payload, when there is one. */
  format?: number;
  /** Accept, when the answer's format matters. */
  accept?: number;
  /** Observe (RFC 7641): 0 registers an observation, 1 cancels one. */
  observe?: number;
  /** With a tag the token is 8 bytes, the exchange's 4 then the tag's: notifications of an
   * observation carry it long after the exchange has ended, and the caller finds its observation
   * by the tag (RFC 7641 §3.2: the token names the observation). */
  tag?: number;
  /** Payload: a string goes as UTF-8 (SenML JSON and text are ASCII), bytes as they are (TLV). */
  payload?: string | Uint8Array;
  /** The lamp's id: with OSCORE on (CoapClientOptions.keys) the request goes protected under its
   * context, and only a response that verifies under it is taken. */
  lamp?: string;
}

export type CoapOutcome =
  | { ok: true; code: number; payload: string; format: number; observe: number }
  | { ok: false; timedOut: boolean; code: number; reason: string };

export interface CoapClientOptions {
  ackTimeoutMs?: number;
  maxRetransmit?: number;
  random?: () => number;
  /** Called for every retransmission (for metrics). */
  retransmitted?: () => void;
  /** OSCORE (RFC 8613): requests naming a lamp are protected with its keys. */
  keys?: LampKeys;
  /** A lamp's answer that failed OSCORE verification was dropped (for metrics; the exchange goes on
   * waiting for a genuine one). */
  forged?: (reason: string) => void;
}

/** Largest message the gateway builds: the CoAP recommendation for unfragmented IPv6 (§4.6). */
export const MAX_MESSAGE = 1152;

/** Most confirmable exchanges in flight at once: a token names its exchange's slot in 16 bits. */
export const MAX_EXCHANGES = 0x10000;

/**
 * One exchange slot, reused once its exchange ends. Exchanges live in a pool indexed by slot and
 * are found through typed-array tables: a long-lived Map that grows and shrinks with every request
 * keeps rehashing, and its new tables, once the Map is old, grow V8's old generation, at 10k
 * commands/s the largest source of major-GC work in the gateway (bench/ANALYSIS.md).
 */
interface Exchange {
  readonly slot: number;
  /** Bumped on every reuse, so a token names one use of the slot. */
  generation: number;
  active: boolean;
  token: number;
  /** Hash of (mid, address, port): where the exchange sits in the message-id table. */
  hash: number;
  req: CoapRequest | null;
  bytes: Uint8Array | null;
  /** Partial IV of the protected request last sent, -1 when it went unprotected. */
  piv: number;
  /** Partial IVs of its earlier transmissions: a late answer to one of them is as good. */
  earlier: number[];
  retransmissions: number;
  timeoutMs: number;
  acknowledged: boolean;
  timer: NodeJS.Timeout | null;
  done: ((outcome: CoapOutcome) => void) | null;
  /** Bound once per slot: the retransmission timer's callback. */
  readonly onTimer: () => void;
}

export class CoapClient {
  private readonly ackTimeoutMs: number;
  private readonly maxRetransmit: number;
  private readonly random: () => number;
  private readonly retransmitted: () => void;
  private readonly pool: Exchange[] = [];
  private readonly freeSlots: number[] = [];
  private active = 0;
  /** Open addressing (linear probing) from hash(mid, address, port) to slot; -1 = empty. */
  private midTable = new Int32Array(1024).fill(-1);
  /** XORed into tokens, so they do not start from 0 at every start. */
  private readonly tokenKey: number;
  private readonly writer = coapWriter();
  private readonly scratch = new Uint8Array(MAX_MESSAGE);
  private readonly tokenBytes = new Uint8Array(8);
  private readonly keys: LampKeys | null;
  private readonly forged: (reason: string) => void;
  private readonly plainReader = coapReader();
  private readonly sealed = new Uint8Array(MAX_MESSAGE + 64);
  /** Partial IV of the request `encode` protected last (-1: it did not). */
  private lastPiv = -1;

  constructor(private readonly send: (addr: string, port: number, data: Uint8Array) => void, options: CoapClientOptions = {}) {
    this.keys = options.keys ?? null;
    this.forged = options.forged ?? (() => {});
    this.ackTimeoutMs = options.ackTimeoutMs ?? ACK_TIMEOUT;
    this.maxRetransmit = options.maxRetransmit ?? MAX_RETRANSMIT;
    this.random = options.random ?? Math.random;
    this.retransmitted = options.retransmitted ?? (() => {});
    this.tokenKey = Math.floor(this.random() * 0x100000000) >>> 0;
  }

  get inFlight(): number {
    return this.active;
  }

  /** The longest a confirmable request can wait for its answer (MAX_TRANSMIT_WAIT, §4.8.2). */
  get maxWaitMs(): number {
    return this.ackTimeoutMs * (2 ** (this.maxRetransmit + 1) - 1) * ACK_RANDOM_FACTOR;
  }

  /** Send a confirmable request; `done` is called exactly once with the answer or a timeout. */
  request(req: CoapRequest, done: (outcome: CoapOutcome) => void): void {
    // A mid still in flight to this lamp means the caller broke its one-exchange-per-lamp rule;
    // refuse rather than confuse the two answers.
    const hash = exchangeHash(req.mid, req.addr, req.port);
    if (this.findByMid(hash, req.mid, req.addr, req.port) !== null) {
      done({ ok: false, timedOut: false, code: 0, reason: `message id ${req.mid} to ${req.addr} is already in flight` });
      return;
    }
    if (this.freeSlots.length === 0 && this.pool.length === MAX_EXCHANGES) {
      done({ ok: false, timedOut: false, code: 0, reason: `${MAX_EXCHANGES} requests are already in flight` });
      return;
    }
    const ex = this.takeSlot();
    const bytes = this.encode(CON, req, ex.token);
    if (bytes === null) {
      this.freeSlots.push(ex.slot);
      done({ ok: false, timedOut: false, code: 0, reason: this.lastPiv === -2 ? `OSCORE: ${this.keys!.error}` : `request ${req.path} does not fit one CoAP message (${MAX_MESSAGE} bytes)` });
      return;
    }
    ex.piv = this.lastPiv;
    ex.earlier.length = 0;
    const initial = firstAckTimeout(this.random(), this.ackTimeoutMs, ACK_RANDOM_FACTOR);
    ex.active = true;
    ex.hash = hash;
    ex.req = req;
    ex.bytes = bytes;
    ex.retransmissions = 0;
    ex.timeoutMs = initial;
    ex.acknowledged = false;
    ex.done = done;
    this.active++;
    this.insertMid(ex);
    // Armed before sending: an in-memory transport may deliver the answer within send().
    ex.timer = setTimeout(ex.onTimer, initial);
    this.send(req.addr, req.port, bytes);
  }

  /** Send a non-confirmable request (group commands to a multicast address); nothing is awaited. */
  notify(req: CoapRequest): boolean {
    // No answer is matched to a non-confirmable request: any token will do.
    const bytes = this.encode(NON, req, Math.floor(this.random() * 0x100000000) >>> 0);
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
      const ex = this.findByMid(exchangeHash(msg.mid, from, port), msg.mid, from, port);
      if (ex === null) return false;
      if (msg.type === RST) return this.finish(ex, { ok: false, timedOut: false, code: 0, reason: `${from} reset the request (CoAP RST)` });
      if (msg.code === EMPTY) {
        // Separate response coming (§5.2.2): stop retransmitting, wait for it by token.
        ex.acknowledged = true;
        this.rearm(ex, this.maxWaitMs);
        return true;
      }
      if (!this.tokenMatches(msg, ex.token)) return false;
      return this.answer(ex, msg);
    }
    if (msg.tokenLen !== 4 && msg.tokenLen !== 8) return false;
    const ex = this.findByToken(tokenNumber(msg));
    if (ex === null || ex.req!.addr !== from || ex.req!.port !== port) return false;
    if (msg.type === CON) this.send(from, port, this.emptyAck(msg.mid));
    return this.answer(ex, msg);
  }

  /** Ends `ex` with the response in `msg`; a protected request takes only a response that verifies
   * under its lamp's context, or a refusal (4.xx, 5.xx) even unprotected: a lamp that cannot verify
   * a request cannot protect its answer (RFC 8613 §8.2). Anything else is dropped as forged. */
  private answer(ex: Exchange, msg: CoapReader): true {
    if (ex.piv < 0) return this.finish(ex, outcomeOf(msg));
    if (!isProtected(msg)) {
      if (msg.code >> 5 >= 4) return this.finish(ex, outcomeOf(msg));
      this.forged(`unprotected ${codeString(msg.code)} answer to a protected request`);
      return true;
    }
    let len = this.keys!.verify(ex.req!.lamp!, msg, ex.piv, this.sealed);
    for (let k = ex.earlier.length - 1; len < 0 && k >= 0; k--) len = this.keys!.verify(ex.req!.lamp!, msg, ex.earlier[k], this.sealed);
    if (len < 0 || !readCoap(this.plainReader, this.sealed, 0, len)) {
      this.forged(this.keys!.error || this.plainReader.error);
      return true;
    }
    return this.finish(ex, outcomeOf(this.plainReader));
  }

  /** Give up every exchange (the gateway is stopping); their callbacks are not called. */
  close(): void {
    for (const ex of this.pool) if (ex.active) this.release(ex);
  }

  private expire(ex: Exchange): void {
    if (ex.acknowledged || ex.retransmissions >= this.maxRetransmit) {
      const waited = ex.acknowledged ? 'acknowledged but sent no response' : `did not answer ${ex.retransmissions + 1} transmissions`;
      this.finish(ex, { ok: false, timedOut: true, code: 0, reason: `${ex.req!.addr} ${waited} within ${Math.round(this.maxWaitMs / 1000)} s` });
      return;
    }
    ex.retransmissions++;
    ex.timeoutMs *= 2;
    this.retransmitted();
    this.rearm(ex, ex.timeoutMs);
    if (ex.piv >= 0) {
      // A protected request goes again under a new sequence number: the lamp's replay window would
      // refuse the same one, and its CoAP de-duplication (same message id) answers without executing
      // it twice.
      const again = this.encode(CON, ex.req!, ex.token);
      if (again !== null) {
        ex.bytes = again;
        ex.earlier.push(ex.piv);
        ex.piv = this.lastPiv;
      }
    }
    this.send(ex.req!.addr, ex.req!.port, ex.bytes!);
  }

  private rearm(ex: Exchange, ms: number): void {
    if (ex.timer) clearTimeout(ex.timer);
    ex.timer = setTimeout(ex.onTimer, ms);
  }

  private finish(ex: Exchange, outcome: CoapOutcome): true {
    const done = ex.done!;
    this.release(ex);
    done(outcome);
    return true;
  }

  /** End `ex` without an answer to anyone and return its slot to the pool. */
  private release(ex: Exchange): void {
    if (ex.timer) clearTimeout(ex.timer);
    this.removeMid(ex);
    ex.active = false;
    ex.timer = null;
    ex.req = null;
    ex.bytes = null;
    ex.done = null;
    this.active--;
    this.freeSlots.push(ex.slot);
  }

  /** A free slot with a fresh token (its generation moved on). */
  private takeSlot(): Exchange {
    let ex: Exchange;
    if (this.freeSlots.length > 0) {
      ex = this.pool[this.freeSlots.pop()!];
    } else {
      const slot = this.pool.length;
      const created: Exchange = {
        slot, generation: 0, active: false, token: 0, hash: 0, req: null, bytes: null, piv: -1, earlier: [], retransmissions: 0,
        timeoutMs: 0, acknowledged: false, timer: null, done: null, onTimer: () => this.expire(created),
      };
      this.pool.push(created);
      ex = created;
    }
    ex.generation = (ex.generation + 1) & 0xffff;
    ex.token = (((ex.generation << 16) | ex.slot) ^ this.tokenKey) >>> 0;
    return ex;
  }

  private findByToken(token: number): Exchange | null {
    const ex = this.pool[((token ^ this.tokenKey) >>> 0) & 0xffff];
    return ex !== undefined && ex.active && ex.token === token ? ex : null;
  }

  private findByMid(hash: number, mid: number, addr: string, port: number): Exchange | null {
    const table = this.midTable;
    const mask = table.length - 1;
    for (let i = hash & mask; table[i] >= 0; i = (i + 1) & mask) {
      const ex = this.pool[table[i]];
      const req = ex.req!;
      if (ex.hash === hash && req.mid === mid && req.port === port && req.addr === addr) return ex;
    }
    return null;
  }

  private insertMid(ex: Exchange): void {
    // At most half full, so probes stay short; grows with the peak in flight and never shrinks.
    if (this.active * 2 > this.midTable.length) {
      const old = this.midTable;
      this.midTable = new Int32Array(old.length * 2).fill(-1);
      for (let i = 0; i < old.length; i++) if (old[i] >= 0) this.placeMid(old[i]);
    }
    this.placeMid(ex.slot);
  }

  private placeMid(slot: number): void {
    const table = this.midTable;
    const mask = table.length - 1;
    let i = this.pool[slot].hash & mask;
    while (table[i] >= 0) i = (i + 1) & mask;
    table[i] = slot;
  }

  /** Linear-probing deletion by backward shift: no tombstones, so lookups never slow down. */
  private removeMid(ex: Exchange): void {
    const table = this.midTable;
    const mask = table.length - 1;
    let i = ex.hash & mask;
    while (table[i] !== ex.slot) {
      if (table[i] < 0) return;
      i = (i + 1) & mask;
    }
    for (let j = (i + 1) & mask; table[j] >= 0; j = (j + 1) & mask) {
      const home = this.pool[table[j]].hash & mask;
      // The entry at j may move back to the hole at i unless its home lies cyclically in (i, j].
      if (j > i ? home <= i || home > j : home <= i && home > j) {
        table[i] = table[j];
        i = j;
      }
    }
    table[i] = -1;
  }

  private tokenMatches(msg: CoapReader, token: number): boolean {
    return (msg.tokenLen === 4 || msg.tokenLen === 8) && tokenNumber(msg) === token;
  }

  private encode(type: number, req: CoapRequest, token: number): Uint8Array | null {
    const t = this.tokenBytes;
    t[0] = token >>> 24;
    t[1] = token >>> 16;
    t[2] = token >>> 8;
    t[3] = token;
    const tag = req.tag ?? 0;
    t[4] = tag >>> 24;
    t[5] = tag >>> 16;
    t[6] = tag >>> 8;
    t[7] = tag;
    const w = this.writer;
    writeBegin(w, this.scratch, 0, type, req.code, req.mid, t, 0, req.tag === undefined ? 4 : 8);
    if (req.observe !== undefined) writeOption(w, OBSERVE, req.observe);
    for (const segment of req.path.split('/')) writeOption(w, URI_PATH, segment);
    if (req.format !== undefined) writeOption(w, CONTENT_FORMAT, req.format);
    for (const q of req.query ?? []) writeOption(w, URI_QUERY, q);
    if (req.accept !== undefined) writeOption(w, ACCEPT, req.accept);
    if (req.payload) writePayload(w, req.payload);
    const n = writeEnd(w);
    this.lastPiv = -1;
    if (n < 0) return null;
    if (this.keys === null || req.lamp === undefined) return this.scratch.slice(0, n);
    readCoap(this.plainReader, this.scratch, 0, n);
    const sealed = this.keys.protect(req.lamp, this.plainReader, this.sealed);
    if (sealed.len < 0) {
      this.lastPiv = -2;
      return null;
    }
    this.lastPiv = sealed.piv;
    return this.sealed.slice(0, sealed.len);
  }

  private emptyAck(mid: number): Uint8Array {
    writeBegin(this.writer, this.scratch, 0, ACK, EMPTY, mid, null, 0, 0);
    return this.scratch.slice(0, writeEnd(this.writer));
  }
}

/** FNV-1a over the message id, port and address text. */
function exchangeHash(mid: number, addr: string, port: number): number {
  let h = Math.imul(0x811c9dc5 ^ mid, 0x01000193) ^ port;
  for (let i = 0; i < addr.length; i++) h = Math.imul(h ^ addr.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function tokenNumber(msg: CoapReader): number {
  const b = msg.buf;
  const o = msg.tokenOff;
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

function outcomeOf(msg: CoapReader): CoapOutcome {
  const payload = payloadOf(msg);
  if (msg.code >> 5 === 2) return { ok: true, code: msg.code, payload, format: optionUint(msg, CONTENT_FORMAT), observe: optionUint(msg, OBSERVE) };
  return { ok: false, timedOut: false, code: msg.code, reason: `lamp answered ${codeString(msg.code)}${payload ? ` (${payload.slice(0, 80)})` : ''}` };
}
