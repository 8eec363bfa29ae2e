/**
 * Delivery of commands to lamps: one confirmable PUT /3311/0 (JSON) per lamp, never more than one
 * in flight to the same lamp (RFC 7252 NSTART = 1), and at most `maxInFlight` in flight overall.
 *
 * Backpressure without a growing queue: each lamp has at most one waiting command, and a newer
 * command for the same lamp merges into it (latest wins field by field), so the waiting work is
 * bounded by the number of lamps however fast commands arrive. Group commands go as one
 * non-confirmable PUT to the group's multicast address when the transport carries multicast, plus
 * one by one to the members it cannot reach that way (IPv4 lamps); otherwise one by one to every
 * online member. Lamps report the resulting state themselves (POST /rd/<id>), so multicast needs
 * no per-member acknowledgement.
 */
import { FORMAT_JSON, PUT } from '../../protocol/coap.js';
import { COAP_PORT, LIGHT_PATH, commandJson, groupAddress, type LampSnapshot } from '../../protocol/registration.js';
import type { CoapClient, CoapOutcome } from './coap-client.js';
import type { ErrorKind } from '../metrics.js';
import { columnWith, type LampRegistry } from '../registry.js';
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
      this.multicastMid = (this.multicastMid + 1) & 0x7fff;
      this.coap.notify({
        addr: groupAddress(group), port: COAP_PORT, mid: 0x8000 | this.multicastMid,
        code: PUT, path: LIGHT_PATH, format: FORMAT_JSON, payload: commandJson(resolved.on, resolved.level, resolved.fadeMs),
      });
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
    const payload = commandJson(on, command.level, command.fadeMs);
    const arrived = slot.since;
    const sentAt = performance.now();
    slot.inFlight = true;
    this.inFlight++;
    this.coap.request(
      { addr: this.registry.address(i), port: this.registry.port(i), mid: this.nextMid(i), code: PUT, path: LIGHT_PATH, format: FORMAT_JSON, payload },
      (outcome) => this.settle(i, slot, topic, { ...command, on }, outcome, arrived, sentAt),
    );
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

  /** The lamp confirmed (2.04, no body): apply what it accepted to its last reported state; its own
   * state report (POST /rd/<id>) follows with the power figures. */
  private applyConfirmed(i: number, sent: SetCommand): void {
    const known: LampSnapshot = this.registry.report(i);
    if (sent.on !== undefined) known.on = sent.on;
    if (sent.level !== undefined) known.level = sent.level;
    this.registry.setReport(i, known, Date.now());
  }

  private nextMid(i: number): number {
    this.mids = columnWith(this.mids, i);
    this.mids[i] = (this.mids[i] + 1) & 0x7fff;
    return (this.midBase + this.mids[i]) & 0x7fff;
  }
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
