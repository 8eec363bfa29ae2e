/**
 * Commands for lamps the gateway does not know yet, in the first moments after it starts.
 *
 * After a gateway restart the registry is empty until each lamp's next refresh (at most 85 % of its
 * lifetime later), while a persistent MQTT session delivers the commands published during the gap
 * at once. Rather than refusing those as `unknown-lamp`, the gateway holds them until the hold ends:
 * a lamp that registers in time gets its command, the rest are reported failed — delivered or
 * reported, never silently lost. One command per id (later ones merge into it, latest wins), at most
 * MAX_HELD_IDS ids, so the hold is bounded.
 *
 * The hold ends at the first of: `holdMs` after the start; the whole fleet registered, when its size
 * is known (`lampnet up` runs the fleet itself); registrations settled, no new lamp for `settleMs`.
 * After that an unknown lamp is an error at once.
 */
import { type SetCommand, mergeCommands } from '../lamps/commander.js';
import type { ReplyAddress } from './replies.js';

const MAX_HELD_IDS = 100_000;
/** MQTT 5 senders that may wait on one held lamp; a further command with a Response Topic for it
 * is refused at once, so what the hold keeps per lamp stays bounded. */
const MAX_REPLIES_PER_LAMP = 8;

export interface HeldCommand {
  command: SetCommand;
  topic: string;
  /** Where the senders of the merged commands asked for their answers (MQTT 5). */
  replies: ReplyAddress[];
}

export interface HoldRules {
  /** Longest hold after the start; 0 = no hold. */
  holdMs: number;
  /** The hold ends once this many lamps have registered; null = the fleet's size is not known. */
  fleetSize: number | null;
  /** The hold ends once no new lamp has registered for this long (after at least one did). */
  settleMs: number;
}

export class CommandHold {
  private readonly held = new Map<string, HeldCommand>();
  private readonly until: number;
  private lastNewLamp: number | null = null;
  private known = 0;
  private complete: boolean;

  constructor(startedAt: number, readonly rules: HoldRules) {
    this.until = startedAt + rules.holdMs;
    this.complete = rules.fleetSize === 0;
  }

  /** A lamp registered at `now`, and `known` lamps are now registered (a lamp that registers
   * again after a lapse is not new, and does not delay the settling). */
  registered(now: number, known: number): void {
    if (known <= this.known) return;
    this.known = known;
    this.lastNewLamp = now;
    if (this.rules.fleetSize !== null && known >= this.rules.fleetSize) this.complete = true;
  }

  /** Whether commands for unknown lamps are still being held at `now`. */
  holding(now: number): boolean {
    if (this.complete) return false;
    return now < (this.lastNewLamp === null ? this.until : Math.min(this.until, this.lastNewLamp + this.rules.settleMs));
  }

  /** The latest a held command waits (epoch ms); the hold may end sooner, when the fleet is
   * complete or registrations settle. */
  deadline(): number {
    return this.until;
  }

  /** Why the hold is over, for the report of a command that waited in vain. */
  whyOver(): string {
    if (this.complete) return `all ${this.rules.fleetSize} lamps of the fleet have registered`;
    if (this.lastNewLamp !== null && this.lastNewLamp + this.rules.settleMs < this.until) {
      return `registrations have settled (no new lamp for ${this.rules.settleMs / 1000} s)`;
    }
    return `the command hold of ${this.rules.holdMs / 1000} s after the gateway's start is over`;
  }

  /** Hold a command for lamp `id`, answered at `reply` once delivered or expired; false when the
   * hold is full (the caller reports it). */
  hold(id: string, command: SetCommand, topic: string, reply: ReplyAddress | null = null): boolean {
    const earlier = this.held.get(id);
    if (earlier === undefined && this.held.size >= MAX_HELD_IDS) return false;
    if (reply !== null && earlier !== undefined && earlier.replies.length >= MAX_REPLIES_PER_LAMP) return false;
    const replies = earlier?.replies ?? [];
    if (reply !== null) replies.push(reply);
    this.held.set(id, { command: earlier === undefined ? command : mergeCommands(earlier.command, command), topic, replies });
    return true;
  }

  /** The command held for lamp `id`, which has just registered (and forget it). */
  take(id: string): HeldCommand | null {
    const held = this.held.get(id);
    if (held === undefined) return null;
    this.held.delete(id);
    return held;
  }

  /** Once the hold is over at `now`, hand every command still held to `expired` and forget them. */
  expire(now: number, expired: (id: string, held: HeldCommand) => void): void {
    if (this.holding(now) || this.held.size === 0) return;
    for (const [id, held] of this.held) expired(id, held);
    this.held.clear();
  }
}
