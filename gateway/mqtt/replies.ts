/**
 * MQTT 5 request/response for commands: a command published with a Response Topic gets one answer
 * there, with its Correlation Data: the state its lamp confirmed, or why it failed
 * (CommandResponseDocument in protocol/mqtt-topics.ts).
 *
 * A lamp command's answer waits for the lamp: the next confirmation or failure of a command to that
 * lamp answers every reply waiting for it (commands to one lamp merge, latest wins, so the state
 * confirmed next is the one the merged command produced). At most MAX_WAITING_REPLIES replies wait;
 * beyond that a command is answered at once as refused, so the waiting work stays bounded.
 */
import type { CommandResponseDocument, LampStateDocument } from '../../protocol/mqtt-topics.js';

export const MAX_WAITING_REPLIES = 100_000;

/** Where a command's answer goes: its Response Topic and Correlation Data. */
export interface ReplyAddress {
  topic: string;
  correlationData: Buffer | undefined;
}

/** The reply address of a received PUBLISH, or null when it asked for none (or is MQTT 3.1.1). */
export function replyAddressOf(properties: { responseTopic?: string; correlationData?: Buffer } | undefined): ReplyAddress | null {
  if (properties?.responseTopic === undefined) return null;
  return { topic: properties.responseTopic, correlationData: properties.correlationData };
}

export class CommandReplies {
  /** By lamp index; only lamps with a reply waiting have an entry. */
  private readonly waiting = new Map<number, { command: string; address: ReplyAddress }[]>();
  private count = 0;

  constructor(
    /** Publish `document` to `address` (the publisher's paced stream). */
    private readonly send: (address: ReplyAddress, document: CommandResponseDocument) => void,
    /** The state document of lamp `i`, as published on its state topic. */
    private readonly stateOf: (i: number) => LampStateDocument,
  ) {}

  /** Replies waiting for a lamp's answer. */
  get size(): number {
    return this.count;
  }

  /** Answer `address` now (no-op without one). */
  answer(address: ReplyAddress | null, document: CommandResponseDocument): void {
    if (address !== null) this.send(address, document);
  }

  /** The command on `command` (a topic) went to lamp `i`: answer `address` when the lamp does. */
  awaitLamp(i: number, command: string, address: ReplyAddress | null): void {
    if (address === null) return;
    if (this.count >= MAX_WAITING_REPLIES) {
      return this.send(address, { topic: command, ok: false, kind: 'busy', reason: `${MAX_WAITING_REPLIES} commands already await their lamps' answers; the command was sent, its outcome will not be reported here` });
    }
    const list = this.waiting.get(i);
    if (list === undefined) this.waiting.set(i, [{ command, address }]);
    else list.push({ command, address });
    this.count++;
  }

  /** Lamp `i` confirmed a command: every reply waiting for it gets the state it confirmed. */
  confirmed(i: number): void {
    const list = this.take(i);
    if (list === null) return;
    const state = this.stateOf(i);
    for (const { command, address } of list) this.send(address, { topic: command, ok: true, state });
  }

  /** A command to lamp `i` did not take effect. */
  failed(i: number, kind: string, reason: string): void {
    const list = this.take(i);
    if (list === null) return;
    for (const { command, address } of list) this.send(address, { topic: command, ok: false, kind, reason });
  }

  private take(i: number): { command: string; address: ReplyAddress }[] | null {
    const list = this.waiting.get(i);
    if (list === undefined) return null;
    this.waiting.delete(i);
    this.count -= list.length;
    return list;
  }
}
