/**
 * Delivery of commands to lamps as LwM2M Writes (contract: issue 15, "Commands"): a partial update
 * POST /3311/0 of 5850 and/or 5851 in SenML JSON (TLV for a TLV-only client; PUT of each resource
 * in text/plain for a client that speaks neither), led for a transition on a lampnet lamp by a
 * write of its fade /32311/0/14. Never more than one confirmable request in flight to the same lamp
 * (RFC 7252 NSTART = 1: the writes of one command go one after the other), and at most
 * `maxInFlight` commands in flight overall.
 *
 * Backpressure without a growing queue: each lamp has at most one waiting command, and a newer
 * command for the same lamp merges into it (latest wins field by field), so the waiting work is
 * bounded by the number of lamps however fast commands arrive. Group commands go as one
 * non-confirmable SenML POST to the group's multicast address when the transport carries multicast
 * (RFC 7390; groups are lampnet's, so their members speak SenML), plus one by one to the members it
 * cannot reach that way (IPv4 lamps); otherwise one by one to every online member. Lamps notify
 * the resulting state (their observations), so multicast needs no per-member acknowledgement.
 */
import { POST, PUT } from '../../protocol/coap.js';
import { FORMAT_SENML_JSON, FORMAT_TEXT, FORMAT_TLV } from '../../protocol/lwm2m/formats.js';
import { BOOLEAN, DIMMER, INTEGER, LAMPNET_CONFIG, LIGHT_CONTROL, NEXT_FADE_MS, ON_OFF } from '../../protocol/lwm2m/objects.js';
import { senmlRecord } from '../../protocol/lwm2m/senml.js';
import { TLV_RESOURCE, writeTlv } from '../../protocol/lwm2m/tlv.js';
import { COAP_PORT, groupAddress } from '../../protocol/lamp.js';
import type { CoapClient, CoapOutcome, CoapRequest } from './coap-client.js';
import { CAP_CONFIG, CAP_SENML, CAP_TLV } from './resource-directory.js';
import type { ErrorKind } from '../metrics.js';
import { F_LEVEL, F_ON, columnWith, type LampRegistry } from '../registry.js';
import { compactFifo } from '../fifo.js';
import { isIpv4Mapped } from './transport.js';

/** A command for one lamp; absent fields stay as they are. `toggle` inverts the current on/off.
 * The MQTT side parses payloads into it (mqtt/command-payload.ts). */
export interface SetCommand {
  on?: boolean;
  toggle?: boolean;
  level?: number;
  fadeMs?: number;
}

export interface CommandEvents {
  /** The lamp confirmed; the registry holds its new state. */
  confirmed(i: number): void;
  /** The command did not take effect: the lamp refused it or never answered. */
  failed(topic: string, lampId: string, kind: ErrorKind, reason: string): void;
  /** Every CoAP command exchange that ended, by result, with the seconds since the command (the
   * oldest one merged into it) arrived and since the exchange's first transmission (for metrics). */
  finished(result: 'confirmed' | 'refused' | 'timeout', roundTripS: number, exchangeS: number): void;
}

export interface CommanderOptions {
  /** Most confirmable commands in flight at once over all lamps. */
  maxInFlight?: number;
  /** Send group commands to the group's multicast address (the transport supports it). */
  multicast?: boolean;
  /** Whether the lamp at `addr` is an IPv4 host, which IPv6 multicast cannot reach (default: its
   * address is IPv4-mapped). */
  isIpv4Lamp?: (addr: string) => boolean;
}

/** What happened to a group command. */
export interface GroupDelivery {
  /** Online members the command was sent to (multicast counts every member it addresses). */
  members: number;
  multicast: boolean;
}

interface Slot {
  /** The command waiting to be sent (merged), or null. */
  next: SetCommand | null;
  topic: string;
  /** When the waiting command's oldest part arrived (performance.now()). */
  since: number;
  inFlight: boolean;
  queued: boolean;
}

export class LampCommander {
  private readonly maxInFlight: number;
  private readonly multicast: boolean;
  private readonly isIpv4Lamp: (addr: string) => boolean;
  /** By lamp index, in an array: a long-lived Map whose size swings between 0 and 1 on every
   * command keeps rehashing, and its new tables, once the Map is old, grow V8's old generation (a
   * major-GC source at 10k commands/s, bench/ANALYSIS.md). Kept dense (filled, never holes far
   * beyond its length) so it stays a plain element array. */
  private readonly slots: (Slot | undefined)[] = [];
  private pendingLamps = 0;
  private readonly queue: number[] = [];
  private queueHead = 0;
  private inFlight = 0;
  /** Per-lamp message-id counters (low 15 bits; multicast uses the upper half of the mid space so
   * the two never collide at a lamp). A random per-process base keeps a restarted gateway from
   * repeating the mids a lamp still remembers from the previous one. */
  private mids = new Uint16Array(1024);
  private readonly midBase: number;
  private multicastMid: number;
  private closed = false;
  private pumping = false;

  constructor(
    private readonly registry: LampRegistry,
    private readonly coap: CoapClient,
    private readonly events: CommandEvents,
    options: CommanderOptions = {},
  ) {
    this.maxInFlight = options.maxInFlight ?? 1000;
    this.multicast = options.multicast ?? false;
    this.isIpv4Lamp = options.isIpv4Lamp ?? isIpv4Mapped;
    this.midBase = Math.floor(Math.random() * 0x8000);
    this.multicastMid = Math.floor(Math.random() * 0x8000);
  }

  /** Lamps with a command waiting or in flight. */
  get backlog(): number {
    return this.pendingLamps;
  }

  /** Queue `command` for lamp `i` (merging into any command still waiting for it). */
  toLamp(i: number, command: SetCommand, topic: string): void {
    if (this.closed) return;
    while (this.slots.length <= i) this.slots.push(undefined);
    let slot = this.slots[i];
    if (slot === undefined) {
      slot = { next: null, topic, since: 0, inFlight: false, queued: false };
      this.slots[i] = slot;
      this.pendingLamps++;
    }
    if (slot.next === null) slot.since = performance.now();
    slot.next = slot.next === null ? { ...command } : mergeCommands(slot.next, command);
    slot.topic = topic;
    if (!slot.inFlight && !slot.queued) {
      slot.queued = true;
      this.queue.push(i);
    }
    this.pump();
  }

  /** Send `command` to every online member of `group`. A toggle applies to the group as a whole:
   * all off if any member is on, else all on. */
  toGroup(group: string, command: SetCommand, topic: string): GroupDelivery {
    const members: number[] = [];
    let anyOn = false;
    this.registry.forEachMember(group, (i) => {
      if (!this.registry.online(i)) return;
      members.push(i);
      if (this.registry.isOn(i)) anyOn = true;
    });
    const resolved: SetCommand = command.toggle ? { ...withoutToggle(command), on: !anyOn } : command;
    const viaMulticast = this.multicast && members.length > 0;
    if (viaMulticast) {
      for (const write of lampWrites(CAP_SENML | CAP_CONFIG, resolved.on, resolved.level, resolved.fadeMs)) {
        this.multicastMid = (this.multicastMid + 1) & 0x7fff;
        this.coap.notify({ ...write, addr: groupAddress(group), port: COAP_PORT, mid: 0x8000 | this.multicastMid });
      }
    }
    for (const i of members) if (!viaMulticast || this.isIpv4Lamp(this.registry.address(i))) this.toLamp(i, resolved, topic);
    return { members: members.length, multicast: viaMulticast };
  }

  /** Stop sending; waiting commands are dropped (the gateway is stopping). */
  close(): void {
    this.closed = true;
    this.slots.length = 0;
    this.pendingLamps = 0;
    this.queue.length = 0;
  }

  private pump(): void {
    // Not re-entrant: an answer delivered within send() settles and calls pump() again; the loop
    // already running picks that work up, so a synchronous transport cannot grow the stack.
    if (this.pumping) return;
    this.pumping = true;
    try {
      this.drain();
    } finally {
      this.pumping = false;
    }
  }

  private drain(): void {
    while (this.inFlight < this.maxInFlight && this.queueHead < this.queue.length) {
      const i = this.queue[this.queueHead++];
      const slot = this.slots[i];
      if (slot === undefined || slot.next === null) continue;
      slot.queued = false;
      // Take the command before sending: an in-memory transport may answer within send().
      const command = slot.next;
      slot.next = null;
      this.send(i, slot, command);
    }
    this.queueHead = compactFifo(this.queue, this.queueHead);
  }

  private send(i: number, slot: Slot, command: SetCommand): void {
    const topic = slot.topic;
    const on = command.toggle ? !this.registry.isOn(i) : command.on;
    const writes = lampWrites(this.registry.clientCaps(i), on, command.level, command.fadeMs);
    const arrived = slot.since;
    const sentAt = performance.now();
    slot.inFlight = true;
    this.inFlight++;
    const sent = { ...command, on };
    // The writes one after the other; the first that fails ends the command.
    const next = (k: number, outcome: CoapOutcome): void => {
      if (!outcome.ok || k === writes.length) return this.settle(i, slot, topic, sent, outcome, arrived, sentAt);
      this.coap.request({ ...writes[k], addr: this.registry.address(i), port: this.registry.port(i), mid: this.nextMid(i), lamp: this.registry.id(i) }, (o) => next(k + 1, o));
    };
    next(0, NOTHING_SENT);
  }

  private settle(i: number, slot: Slot, topic: string, sent: SetCommand, outcome: CoapOutcome, arrived: number, sentAt: number): void {
    if (this.closed) return;
    this.inFlight--;
    slot.inFlight = false;
    const now = performance.now();
    const result = outcome.ok ? 'confirmed' : outcome.timedOut ? 'timeout' : 'refused';
    this.events.finished(result, (now - arrived) / 1000, (now - sentAt) / 1000);
    if (outcome.ok) {
      this.applyConfirmed(i, sent);
      this.events.confirmed(i);
    } else {
      this.events.failed(topic, this.registry.id(i), outcome.timedOut ? 'timeout' : 'lamp-refused', `lamp ${this.registry.id(i)}: ${outcome.reason}`);
    }
    if (slot.next !== null) {
      slot.queued = true;
      this.queue.push(i);
    } else {
      this.slots[i] = undefined;
      this.pendingLamps--;
    }
    this.pump();
  }

  /** The lamp confirmed (2.04): what it accepted is its state until its next notification says
   * otherwise (with the power figures). */
  private applyConfirmed(i: number, sent: SetCommand): void {
    const now = Date.now();
    if (sent.on !== undefined) this.registry.setField(i, F_ON, sent.on ? 1 : 0, now);
    if (sent.level !== undefined) this.registry.setField(i, F_LEVEL, sent.level, now);
  }

  /** The next message id for a request to lamp i (shared by everything the gateway asks a lamp). */
  nextMid(i: number): number {
    this.mids = columnWith(this.mids, i);
    this.mids[i] = (this.mids[i] + 1) & 0x7fff;
    return (this.midBase + this.mids[i]) & 0x7fff;
  }
}

/** Where a command with no write at all starts (and ends, confirmed). */
const NOTHING_SENT: CoapOutcome = { ok: true, code: 0, payload: '', format: -1, observe: -1 };

type Write = Pick<CoapRequest, 'code' | 'path' | 'format' | 'payload'>;

/** The writes that set on/off, level and (on a lampnet lamp) the transition of a client with
 * capability bits `caps`, in the order they go. */
export function lampWrites(caps: number, on: boolean | undefined, level: number | undefined, fadeMs: number | undefined): Write[] {
  const writes: Write[] = [];
  const format = caps & CAP_SENML ? FORMAT_SENML_JSON : caps & CAP_TLV ? FORMAT_TLV : FORMAT_TEXT;
  const instance = (obj: number, values: [number, number, number | boolean][]): void => {
    if (values.length === 0) return;
    if (format === FORMAT_TEXT) {
      for (const [res, , v] of values) writes.push({ code: PUT, path: `${obj}/0/${res}`, format, payload: typeof v === 'boolean' ? (v ? '1' : '0') : String(v) });
    } else if (format === FORMAT_SENML_JSON) {
      const records = values.map(([res, type, v], k) => senmlRecord(k === 0 ? `/${obj}/0/` : '', String(res), type, v));
      writes.push({ code: POST, path: `${obj}/0`, format, payload: `[${records.join(',')}]` });
    } else {
      const buf = new Uint8Array(64);
      let pos = 0;
      for (const [res, type, v] of values) pos = writeTlv(buf, pos, TLV_RESOURCE, res, type, v);
      writes.push({ code: POST, path: `${obj}/0`, format, payload: buf.slice(0, pos) });
    }
  };
  if (fadeMs !== undefined && caps & CAP_CONFIG) instance(LAMPNET_CONFIG, [[NEXT_FADE_MS, INTEGER, fadeMs]]);
  const light: [number, number, number | boolean][] = [];
  if (on !== undefined) light.push([ON_OFF, BOOLEAN, on]);
  if (level !== undefined) light.push([DIMMER, INTEGER, level]);
  instance(LIGHT_CONTROL, light);
  return writes;
}

/** `later` applied on top of `earlier`: fields it sets win; a toggle inverts what `earlier` set. */
export function mergeCommands(earlier: SetCommand, later: SetCommand): SetCommand {
  const merged: SetCommand = { ...earlier, ...withoutToggle(later) };
  if (later.on !== undefined) delete merged.toggle;
  if (later.toggle) {
    if (earlier.on !== undefined) merged.on = !earlier.on;
    else if (earlier.toggle) delete merged.toggle;
    else merged.toggle = true;
  }
  return merged;
}

function withoutToggle(command: SetCommand): SetCommand {
  const { toggle: _toggle, ...rest } = command;
  return rest;
}
