/**
 * Commands for lamps the gateway does not know yet, in the first moments after it starts.
 *
 * After a gateway restart the registry is empty until each lamp's next refresh (at most 85 % of its
 * lifetime later), while a persistent MQTT session delivers the commands published during the gap
 * at once. Rather than refusing those as `unknown-lamp`, the gateway holds them for `holdMs` from
 * its start: a lamp that registers in time gets its command, the rest are reported failed when the
 * hold ends — delivered or reported, never silently lost. One command per id (later ones merge
 * into it, latest wins), at most MAX_HELD_IDS ids, so the hold is bounded.
 */
import { type SetCommand, mergeCommands } from '../lamps/commander.js';

const MAX_HELD_IDS = 100_000;

export interface HeldCommand {
  command: SetCommand;
  topic: string;
}

export class CommandHold {
  private readonly held = new Map<string, HeldCommand>();
  private readonly until: number;

  constructor(startedAt: number, readonly holdMs: number) {
    this.until = startedAt + holdMs;
  }

  /** Whether commands for unknown lamps are still being held at `now`. */
  holding(now: number): boolean {
    return now < this.until;
  }

  /** Hold a command for lamp `id`; false when the hold is full (the caller reports it). */
  hold(id: string, command: SetCommand, topic: string): boolean {
    const earlier = this.held.get(id);
    if (earlier === undefined && this.held.size >= MAX_HELD_IDS) return false;
    this.held.set(id, { command: earlier === undefined ? command : mergeCommands(earlier.command, command), topic });
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
