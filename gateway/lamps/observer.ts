/**
 * What the gateway does after a client registers (contract: issue 15, "What the gateway does"):
 * Write-Attributes `pmax` on /3311/0 (so energy and on-time are never older than that), then
 * Observe /3311/0 (SenML JSON or TLV, by what the client registered), /3305/0 for power, /3/0/11
 * for faults, one read of /3/0/3 for the firmware version (Home Assistant's sw_version) and one
 * read of /32311/0/0 for a lampnet lamp's groups. A client that speaks neither
 * SenML JSON nor TLV (an LwM2M 1.0 client such as lwm2m-node-lib) gets text/plain observations of
 * 5850, 5851, 5805 and 5852 one by one; what it lacks (4.04) is absent from its state.
 *
 * Every notification and read answer goes into the registry's columns and the `changed` event. Its
 * token says what it is: the 8-byte tokens of coap-client.ts carry a tag of the registry index,
 * the observation's kind and the registration's generation, so a notification of an earlier
 * registration or for a lamp now elsewhere is answered RST (which cancels it, RFC 7641 §3.6) —
 * no table of observations. Per lamp the observer keeps three bytes in columns: the setup step
 * waiting or running (one request at a time, NSTART = 1), its failed tries, and the observations
 * established.
 *
 * Under a registration storm the setup must neither swamp the lamps and the gateway nor wait for
 * the lamp's next Update (a lifetime later): at most `maxInFlight` setup requests are out at once,
 * the rest wait in a queue in order, and a step that failed for want of an answer (a timeout, a
 * reset, 5.03, no exchange free) is tried again after a backoff that doubles per try, with jitter,
 * up to MAX_TRIES; a lamp's definite answer (4.xx) moves on to the next step.
 */
import { ACK, CON, EMPTY, GET, NON, NOT_FOUND, PUT, RST, SERVICE_UNAVAILABLE, ACK_TIMEOUT, coapWriter, optionUint, CONTENT_FORMAT, payloadOf, writeBegin, writeEnd, type CoapReader } from '../../protocol/coap.js';
import { FORMAT_SENML_JSON, FORMAT_TEXT, FORMAT_TLV, parseText } from '../../protocol/lwm2m/formats.js';
import {
  ACTIVE_POWER, CUMULATIVE_ENERGY, DEVICE, DIMMER, ERROR_CODE, FIRMWARE_VERSION, GROUPS, LAMPNET_CONFIG, LIGHT_CONTROL, ON_OFF, ON_TIME, POWER_MEASUREMENT,
  checkValue, resourceRow, type Lwm2mValue,
} from '../../protocol/lwm2m/objects.js';
import { readSenml } from '../../protocol/lwm2m/senml.js';
import { readTlv, tlvReader, tlvValue } from '../../protocol/lwm2m/tlv.js';
import type { CoapDropKind } from '../metrics.js';
import { F_ENERGY, F_FAULT, F_LEVEL, F_ON, F_ON_TIME, F_WATTS, columnWith, type LampRegistry } from '../registry.js';
import type { CoapClient, CoapOutcome, CoapRequest } from './coap-client.js';
import { DueQueue } from './due-queue.js';
import { CAP_CONFIG, CAP_DEVICE, CAP_POWER, CAP_SENML, CAP_TLV, isUsableGroup } from './resource-directory.js';

/** What a request of the setup is, and the kind a notification's tag names. */
const K_LIGHT = 0; // Observe /3311/0 (SenML JSON or TLV)
const K_POWER = 1; // Observe /3305/0 (text: /3305/0/5800)
const K_FAULT = 2; // Observe /3/0/11
const K_ON = 3; // Observe /3311/0/5850, 5851, 5805, 5852 one by one (text/plain clients)
const K_DIMMER = 4;
const K_ENERGY = 5;
const K_ON_TIME = 6;
const K_GROUPS = 7; // Read /32311/0/0
const K_ATTRIBUTES = 8; // Write-Attributes /3311/0?pmax= (no tag)
const K_FIRMWARE = 9; // Read /3/0/3 (no tag)
/** The setup, in order; steps that do not apply to a client are skipped. */
const STEPS = [K_ATTRIBUTES, K_LIGHT, K_ON, K_DIMMER, K_ENERGY, K_ON_TIME, K_POWER, K_FAULT, K_FIRMWARE, K_GROUPS];

/** The object and resource (-1: the whole instance) each kind reads, and the state field it fills. */
const KIND_OBJECT = [LIGHT_CONTROL, POWER_MEASUREMENT, DEVICE, LIGHT_CONTROL, LIGHT_CONTROL, LIGHT_CONTROL, LIGHT_CONTROL, LAMPNET_CONFIG];
const KIND_RESOURCE = [-1, -1, ERROR_CODE, ON_OFF, DIMMER, CUMULATIVE_ENERGY, ON_TIME, GROUPS];
const KIND_FIELD = [-1, F_WATTS, F_FAULT, F_ON, F_LEVEL, F_ENERGY, F_ON_TIME, -1];

/** Longest firmware version shown (Home Assistant's sw_version), printable ASCII. */
export const MAX_FIRMWARE_VERSION_LENGTH = 32;

/** The tag of a request: lamp index (21 bits: the registry holds up to 2,097,151 lamps for
 * observations), kind (3 bits), generation (8 bits). */
export const MAX_OBSERVED_LAMPS = 1 << 21;
function tagOf(i: number, kind: number, generation: number): number {
  return ((generation << 24) | (kind << 21) | i) >>> 0;
}

/** Setup requests sent per turn of the event loop at most, so that I/O and timers run between. */
export const SENDS_PER_TURN = 256;
/** Tries of one setup step before it is given up (until the lamp's next Update). */
export const MAX_TRIES = 6;

export interface ObserverEvents {
  /** Lamp i's state changed (a notification or read answer was taken). */
  changed(i: number): void;
  /** Lamp i's setup is done (observations established as far as the client allows). */
  ready(i: number): void;
  dropped(kind: CoapDropKind, reason: string): void;
  /** A notification or read answer was taken. */
  notified(): void;
}

export interface ObserverOptions {
  /** pmax written on /3311/0, seconds (--energy-pmax). */
  energyPmaxS: number;
  /** Setup requests out at once over all lamps (default 2048; exchanges are shared with commands, MAX_EXCHANGES in all). */
  maxInFlight?: number;
  /** The first backoff before a failed step is tried again (default ACK_TIMEOUT); each try after
   * doubles it (16 times the first before the last try), and adds up to half of it at random. */
  retryBaseMs?: number;
  now?: () => number;
  random?: () => number;
}

export class LampObserver {
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly maxInFlight: number;
  private readonly retryBaseMs: number;
  /** By lamp: the setup step waiting or running + 1 (0: none). */
  private step = new Uint8Array(0);
  /** By lamp: failed tries of that step. */
  private tries = new Uint8Array(0);
  /** Lamps whose next setup request waits (for a free place, or for its backoff): key i | generation << 21. */
  private readonly waiting = new DueQueue();
  private inFlight = 0;
  private pumpScheduled = false;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private closed = false;
  /** By lamp: observations established for its current registration (bit 1 << kind). */
  private observing = new Uint8Array(0);
  private readonly tlv = tlvReader(64);
  private readonly writer = coapWriter();
  private readonly scratch = new Uint8Array(16);

  constructor(
    private readonly registry: LampRegistry,
    private readonly coap: CoapClient,
    private readonly send: (addr: string, port: number, data: Uint8Array) => void,
    private readonly nextMid: (i: number) => number,
    private readonly events: ObserverEvents,
    private readonly options: ObserverOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.maxInFlight = options.maxInFlight ?? 2048;
    this.retryBaseMs = options.retryBaseMs ?? ACK_TIMEOUT;
  }

  /** Setup requests out now, and lamps waiting to send their next one. */
  get backlog(): { inFlight: number; waiting: number } {
    return { inFlight: this.inFlight, waiting: this.waiting.size };
  }

  /** Stop: no more setup requests (the gateway is closing). */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Lamp i registered (or changed its objects): set its observations up. A setup still running
   * for an earlier registration starts over by itself (it checks the generation per step). */
  start(i: number): void {
    if (i >= MAX_OBSERVED_LAMPS) return this.events.dropped('registry-full', `lamp ${this.registry.id(i)}: observations are for the first ${MAX_OBSERVED_LAMPS} lamps`);
    this.step = columnWith(this.step, i);
    this.tries = columnWith(this.tries, i);
    this.observing = columnWith(this.observing, i);
    if (this.step[i] !== 0) return;
    this.begin(i);
  }

  /** Whether lamp i's setup is still running (its state is not complete yet: groups come last). */
  settingUp(i: number): boolean {
    return i < this.step.length && this.step[i] !== 0;
  }

  /** Whether lamp i's state is observed (it may need a setup again after an Update). */
  observed(i: number): boolean {
    return i < this.observing.length && (this.observing[i] & ((1 << K_LIGHT) | (1 << K_ON))) !== 0;
  }

  /**
   * A response (CON or NON) with an 8-byte token that no exchange waits for: a notification.
   * Returns false when it is not one of the observer's (the caller counts it).
   */
  notification(msg: CoapReader, from: string, port: number): boolean {
    if ((msg.type !== CON && msg.type !== NON) || msg.tokenLen !== 8) return false;
    const o = msg.tokenOff + 4;
    const b = msg.buf;
    const tag = ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
    const i = tag & (MAX_OBSERVED_LAMPS - 1);
    const kind = (tag >>> 21) & 7;
    const r = this.registry;
    const live = i < r.size && r.generation(i) === tag >>> 24 && r.online(i) && r.address(i) === from && r.port(i) === port && kind !== K_GROUPS;
    if (!live) {
      // Not (or no longer) wanted: RST cancels the observation at the client (RFC 7641 §3.6).
      this.reply(RST, msg.mid, from, port);
      this.events.dropped('stale', `notification from ${from} for an observation the gateway no longer holds`);
      return true;
    }
    if (msg.type === CON) this.reply(ACK, msg.mid, from, port);
    if (msg.code >> 5 === 2) this.take(i, kind, optionUint(msg, CONTENT_FORMAT), payloadOf(msg));
    else {
      // An error notification ends the observation (RFC 7641 §3.2); the next Update sets it up again.
      this.observing[i] &= ~(1 << kind);
      this.events.dropped('observe-failed', `lamp ${r.id(i)} ended an observation with code ${msg.code >> 5}.${String(msg.code & 31).padStart(2, '0')}`);
    }
    return true;
  }

  private begin(i: number): void {
    this.observing[i] = 0;
    const caps = this.registry.clientCaps(i);
    if (!(caps & CAP_POWER)) this.registry.clearField(i, F_WATTS);
    if (!(caps & CAP_DEVICE)) this.registry.clearField(i, F_FAULT);
    this.run(i, this.registry.generation(i), 0);
  }

  /** Queue setup step `from` or the next one that applies to lamp i's registration `generation`. */
  private run(i: number, generation: number, from: number): void {
    const r = this.registry;
    if (r.generation(i) !== generation) {
      // Registered again meanwhile: that registration's setup starts from the beginning.
      this.step[i] = 0;
      if (r.online(i)) this.begin(i);
      return;
    }
    const caps = r.clientCaps(i);
    let s = from;
    while (s < STEPS.length && !applies(STEPS[s], caps)) s++;
    if (s === STEPS.length || !r.online(i)) {
      this.step[i] = 0;
      if (r.online(i)) this.events.ready(i);
      return;
    }
    this.step[i] = s + 1;
    this.tries[i] = 0;
    this.wait(i, generation, this.now());
  }

  private wait(i: number, generation: number, at: number): void {
    this.waiting.push((i | (generation << 21)) >>> 0, at);
    if (at <= this.now()) this.pumpSoon();
    else this.arm(at);
  }

  /** Pump on the next turn of the event loop, never from inside a delivery: on the in-memory link
   * an answer arrives within send(), and pumping there would run the whole fleet's setup as one
   * synchronous cascade, the event loop (MQTT, timers) blocked until it ends. */
  private pumpSoon(): void {
    if (this.pumpScheduled || this.closed) return;
    this.pumpScheduled = true;
    setImmediate(this.pumpNow);
  }

  private readonly pumpNow = (): void => {
    this.pumpScheduled = false;
    this.pump();
  };

  /** Send what is due while places are free, SENDS_PER_TURN at most, then yield. */
  private pump(): void {
    if (this.closed) return;
    const now = this.now();
    let sent = 0;
    while (this.inFlight < this.maxInFlight && this.waiting.nextDue <= now) {
      if (sent++ === SENDS_PER_TURN) return this.pumpSoon();
      const key = this.waiting.pop();
      this.sendStep(key & (MAX_OBSERVED_LAMPS - 1), key >>> 21);
    }
    // Out of places: the next answer pumps again. Else wait for the earliest backoff.
    if (this.inFlight < this.maxInFlight) this.arm(this.waiting.nextDue);
  }

  /** The one timer, for the earliest waiting time `at` (if it is earlier than the armed one). */
  private arm(at: number): void {
    if (at === Infinity || at >= this.timerAt || this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      this.pump();
    }, Math.max(0, at - this.now()));
  }

  /** Send lamp i's waiting step, unless its registration moved on or ended meanwhile. */
  private sendStep(i: number, generation: number): void {
    const r = this.registry;
    const s = this.step[i] - 1;
    if (s < 0) return;
    if (r.generation(i) !== generation || !r.online(i)) return this.run(i, generation, s);
    const kind = STEPS[s];
    this.inFlight++;
    this.coap.request(this.request(i, kind, r.clientCaps(i), generation), (outcome) => {
      this.inFlight--;
      if (this.closed) return;
      if (this.settle(i, kind, outcome)) this.run(i, generation, s + 1);
      else this.wait(i, generation, this.now() + this.backoffMs(this.tries[i]++));
      // The place this request held is free.
      this.pumpSoon();
    });
  }

  /** The wait before try `tried + 2` of a step: doubling from retryBaseMs, plus up to half at random. */
  private backoffMs(tried: number): number {
    const ms = this.retryBaseMs * 2 ** tried;
    return ms * (1 + this.random() / 2);
  }

  private request(i: number, kind: number, caps: number, generation: number): CoapRequest {
    const base = { addr: this.registry.address(i), port: this.registry.port(i), mid: this.nextMid(i), lamp: this.registry.id(i) };
    if (kind === K_ATTRIBUTES) return { ...base, code: PUT, path: `${LIGHT_CONTROL}/0`, query: [`pmax=${this.options.energyPmaxS}`] };
    if (kind === K_FIRMWARE) return { ...base, code: GET, path: `${DEVICE}/0/${FIRMWARE_VERSION}`, accept: FORMAT_TEXT };
    const tag = tagOf(i, kind, generation);
    const format = caps & CAP_SENML ? FORMAT_SENML_JSON : caps & CAP_TLV ? FORMAT_TLV : FORMAT_TEXT;
    const obj = KIND_OBJECT[kind];
    if (kind === K_GROUPS) return { ...base, code: GET, path: `${obj}/0/${GROUPS}`, accept: FORMAT_TEXT, tag };
    // A text/plain client's power is its one resource; the multiple resource 3/0/11 has no text form,
    // so such a client answers it in whatever format it has.
    const res = KIND_RESOURCE[kind] >= 0 ? KIND_RESOURCE[kind] : format === FORMAT_TEXT ? ACTIVE_POWER : -1;
    const accept = kind === K_FAULT && format === FORMAT_TEXT ? undefined : format;
    return { ...base, code: GET, path: res < 0 ? `${obj}/0` : `${obj}/0/${res}`, observe: 0, ...(accept === undefined ? {} : { accept }), tag };
  }

  /** Take a setup step's outcome; false when the step is to be tried again. */
  private settle(i: number, kind: number, outcome: CoapOutcome): boolean {
    const r = this.registry;
    if (outcome.ok) {
      if (kind === K_ATTRIBUTES) return true;
      if (kind === K_FIRMWARE) {
        this.takeFirmware(i, outcome.payload);
        return true;
      }
      if (outcome.observe >= 0) this.observing[i] |= 1 << kind;
      this.take(i, kind, outcome.format, outcome.payload);
      return true;
    }
    // A resource the client does not have is absent from its state, not an error.
    if (outcome.code === NOT_FOUND && KIND_FIELD[kind] >= 0 && KIND_FIELD[kind] !== F_ON) {
      r.clearField(i, KIND_FIELD[kind]);
      return true;
    }
    // A client without a firmware version (4.04) has none to show.
    if (kind === K_FIRMWARE && outcome.code === NOT_FOUND) {
      r.setFirmware(i, null);
      return true;
    }
    // No answer (0: a timeout, a reset, no exchange free) or a loaded lamp: worth another try.
    const again = (outcome.code === 0 || outcome.code === SERVICE_UNAVAILABLE) && this.tries[i] + 1 < MAX_TRIES;
    const what = kind === K_ATTRIBUTES ? 'Write-Attributes' : kind === K_GROUPS ? 'read of its groups' : kind === K_FIRMWARE ? 'read of its firmware version' : 'Observe';
    this.events.dropped('observe-failed', `lamp ${r.id(i)}: ${what}: ${outcome.reason}${again ? `; try ${this.tries[i] + 2} of ${MAX_TRIES} follows` : ''}`);
    return !again;
  }

  /** The answer to the read of /3/0/3: printable ASCII of at most MAX_FIRMWARE_VERSION_LENGTH
   * characters (it goes into every Home Assistant discovery document), or none. */
  private takeFirmware(i: number, payload: string): void {
    const printable = payload.length <= MAX_FIRMWARE_VERSION_LENGTH && /^[\x20-\x7e]*$/.test(payload);
    this.registry.setFirmware(i, printable && payload !== '' ? payload : null);
    if (!printable) this.events.dropped('bad-notification', `lamp ${this.registry.id(i)}: firmware version /3/0/3 is not printable ASCII of at most ${MAX_FIRMWARE_VERSION_LENGTH} characters`);
  }

  /** A notification's or read answer's payload (an 8-bit string) in `format` into lamp i's state. */
  private take(i: number, kind: number, format: number, payload: string): void {
    const obj = KIND_OBJECT[kind];
    const res = KIND_RESOURCE[kind] >= 0 ? KIND_RESOURCE[kind] : kind === K_POWER ? ACTIVE_POWER : -1;
    const now = this.now();
    /** Fields the payload carried (bit 1 << F_*), and whether 3/0/11 holds an error. */
    let seen = 0;
    let fault = 0;
    let bad = '';
    const value = (o: number, rs: number, v: Lwm2mValue | null): void => {
      if (o !== obj) return;
      const row = resourceRow(o, rs);
      if (row === null) return; // a resource lampnet does not use (5750, 5820...)
      const problem = v === null ? 'not of its type' : checkValue(row[2], v, row[4], row[5]);
      if (problem) {
        bad = `/${o}/0/${rs}: ${problem}`;
        return;
      }
      const field = fieldOf(o, rs);
      if (field === F_FAULT) fault |= v !== 0 ? 1 : 0;
      else if (field >= 0) this.registry.setField(i, field, typeof v === 'boolean' ? (v ? 1 : 0) : (v as number), now);
      else if (o === LAMPNET_CONFIG && rs === GROUPS) this.registry.setGroups(i, v as string, isUsableGroup);
      if (field >= 0) seen |= 1 << field;
    };
    if (format === FORMAT_SENML_JSON) {
      const values = readSenml(payload);
      if (typeof values === 'string') bad = values;
      else for (const v of values) value(v.obj, v.res, v.value);
    } else if (format === FORMAT_TLV) {
      const bytes = Uint8Array.from(payload, (c) => c.charCodeAt(0));
      if (!readTlv(this.tlv, bytes, 0, bytes.length)) bad = this.tlv.error;
      else for (let n = 0; n < this.tlv.count; n++) {
        const rs = this.tlv.res[n] >= 0 ? this.tlv.res[n] : res;
        const row = resourceRow(obj, rs);
        value(obj, rs, row === null ? null : tlvValue(this.tlv, n, row[2]));
      }
    } else if ((format === FORMAT_TEXT || format === -1) && res >= 0) {
      const row = resourceRow(obj, res);
      value(obj, res, row === null ? null : parseText(row[2], payload));
    } else bad = `content format ${format}`;
    if (seen & (1 << F_FAULT)) this.registry.setField(i, F_FAULT, fault, now);
    // An instance's notification carries every resource the client has: what it leaves out, it lacks.
    if (kind === K_LIGHT && !bad) for (const f of [F_LEVEL, F_ENERGY, F_ON_TIME]) if (!(seen & (1 << f))) this.registry.clearField(i, f);
    if (bad) this.events.dropped('bad-notification', `lamp ${this.registry.id(i)}: ${bad}`);
    this.events.notified();
    this.events.changed(i);
  }

  private reply(type: number, mid: number, to: string, port: number): void {
    writeBegin(this.writer, this.scratch, 0, type, EMPTY, mid, null, 0, 0);
    this.send(to, port, this.scratch.slice(0, writeEnd(this.writer)));
  }
}

/** Whether setup step `kind` applies to a client with capability bits `caps`. */
function applies(kind: number, caps: number): boolean {
  const structured = (caps & (CAP_SENML | CAP_TLV)) !== 0;
  if (kind === K_LIGHT) return structured;
  if (kind === K_ON || kind === K_DIMMER || kind === K_ENERGY || kind === K_ON_TIME) return !structured;
  if (kind === K_POWER) return (caps & CAP_POWER) !== 0;
  if (kind === K_FAULT || kind === K_FIRMWARE) return (caps & CAP_DEVICE) !== 0;
  if (kind === K_GROUPS) return (caps & CAP_CONFIG) !== 0;
  return true;
}

/** The state field resource /obj/x/res fills, -1 for none. */
function fieldOf(obj: number, res: number): number {
  if (obj === LIGHT_CONTROL) return res === ON_OFF ? F_ON : res === DIMMER ? F_LEVEL : res === CUMULATIVE_ENERGY ? F_ENERGY : res === ON_TIME ? F_ON_TIME : -1;
  if (obj === POWER_MEASUREMENT) return res === ACTIVE_POWER ? F_WATTS : -1;
  return obj === DEVICE && res === ERROR_CODE ? F_FAULT : -1;
}
