/**
 * MQTT commands: what the gateway does with a message on a `.../set` topic, as a table of one small
 * handler per topic kind (aedes' handlers/ style). Every message is either handed to the lamps or
 * answered on `lampnet/gateway/errors` with a reason — nothing is dropped silently, nothing throws,
 * and a rejected command changes no state.
 *
 * A command's way to a lamp: handleCommandMessage (topic, name, payload checked here and in
 * command-payload.ts) → the lamp or group handler below → LampCommander (lamps/commander.ts), which
 * sends the CoAP PUT through lamps/coap-client.ts and records the state the lamp confirmed. Commands
 * for lamps that have not registered since the gateway started wait in the CommandHold until they
 * do (deliverHeldCommand) or the hold ends (expireHeldCommands).
 *
 * Every outcome that is not the lamp's new state leaves through one function, CommandContext.report:
 * a refusal or failure, a command held (with its deadline), a held command delivered. An MQTT 5
 * command with a Response Topic is answered there too (replies.ts): refused at once, or when its
 * lamp answers; a held one also at once, as held, with its deadline.
 */
import type { CommandHold } from './command-hold.js';
import { parseCommandPayload } from './command-payload.js';
import type { SetCommand, LampCommander } from '../lamps/commander.js';
import type { GatewayMetrics } from '../metrics.js';
import type { ErrorReport } from './publisher.js';
import type { CommandReplies, ReplyAddress } from './replies.js';
import type { LampRegistry } from '../registry.js';
import { type CommandTarget, nameProblem, parseCommandTopic, responseTopicProblem } from '../../protocol/mqtt-topics.js';

export interface CommandContext {
  registry: LampRegistry;
  /** Commands for lamps not registered yet, shortly after the gateway started. */
  hold: CommandHold;
  commander: LampCommander;
  metrics: GatewayMetrics;
  report(outcome: CommandOutcome): void;
  replies: CommandReplies;
}

/** What became of a command, other than the state its lamp confirms. */
export type CommandOutcome =
  | { outcome: 'failed'; error: ErrorReport }
  /** Waiting for lamp `lamp` to register, at most until `until` (epoch ms). */
  | { outcome: 'held'; topic: string; lamp: string; until: number }
  /** A held command handed to its lamp, which has just registered. */
  | { outcome: 'delivered'; topic: string; lamp: string };

const fail = (ctx: CommandContext, error: ErrorReport): void => ctx.report({ outcome: 'failed', error });

type CommandHandler = (ctx: CommandContext, name: string, command: SetCommand, topic: string, reply: ReplyAddress | null) => void;

const handlers: Record<CommandTarget, CommandHandler> = {
  lamp(ctx, id, command, topic, reply) {
    const i = ctx.registry.find(id);
    if (i < 0 && ctx.hold.holding(Date.now()) && ctx.hold.hold(id, command, topic, reply)) {
      const until = ctx.hold.deadline();
      ctx.replies.answer(reply, { topic, held: true, lamp: id, until: new Date(until).toISOString() });
      return ctx.report({ outcome: 'held', topic, lamp: id, until });
    }
    if (i < 0) return refuse(ctx, reply, { topic, kind: 'unknown-lamp', lamp: id, reason: `no lamp '${id}' has registered with this gateway` });
    if (!ctx.registry.online(i)) return refuse(ctx, reply, { topic, kind: 'offline', lamp: id, reason: `lamp '${id}' is offline (its registration lapsed)` });
    ctx.replies.awaitLamp(i, topic, reply);
    deliverToLamp(ctx, i, command, topic);
  },

  group(ctx, group, command, topic, reply) {
    if (!ctx.registry.hasGroup(group)) return refuse(ctx, reply, { topic, kind: 'unknown-group', reason: `no registered lamp is in group '${group}'` });
    const delivery = ctx.commander.toGroup(group, command, topic);
    if (delivery.members === 0) return refuse(ctx, reply, { topic, kind: 'offline', reason: `no lamp of group '${group}' is online` });
    ctx.metrics.commands.inc({ target: 'group' });
    ctx.replies.answer(reply, { topic, ok: true, group, members: delivery.members });
  },
};

/** Report a refused command on the errors topic, and to its sender when it asked for an answer. */
function refuse(ctx: CommandContext, reply: ReplyAddress | null, report: ErrorReport): void {
  fail(ctx, report);
  ctx.replies.answer(reply, { topic: report.topic, ok: false, kind: report.kind, reason: report.reason });
}

/** Handle one message received on a command subscription; `reply` is where an MQTT 5 sender asked
 * for the outcome. */
export function handleCommandMessage(ctx: CommandContext, topic: string, payload: Uint8Array, retained: boolean, reply: ReplyAddress | null = null): void {
  const target = parseCommandTopic(topic);
  if (target === null) return; // a deeper topic under lampnet/lamps/ that is not a command: not ours
  const excerpt = payloadExcerpt(payload);
  const reject = (kind: ErrorReport['kind'], reason: string): void => refuse(ctx, reply, { topic, kind, reason, ...(excerpt === undefined ? {} : { payload: excerpt }) });
  const responseProblem = reply === null ? null : responseTopicProblem(reply.topic);
  if (responseProblem !== null) {
    // Refused without an answer: answering would publish on the topic it names.
    return fail(ctx, { topic, kind: 'response-topic', reason: responseProblem, ...(excerpt === undefined ? {} : { payload: excerpt }) });
  }
  if (retained) {
    return reject('retained', 'retained command ignored: a retained command would be replayed on every gateway start; publish commands without the retain flag');
  }
  const problem = nameProblem(target.target === 'lamp' ? 'lamp id' : 'group name', target.name);
  if (problem !== null) return reject('name', problem);
  const parsed = parseCommandPayload(payload);
  if (!parsed.ok) return reject('payload', parsed.reason);
  handlers[target.target](ctx, target.name, parsed.command, topic, reply);
}

/** Lamp `i` has just registered: deliver the command held for it since the gateway started, if any. */
export function deliverHeldCommand(ctx: CommandContext, i: number): void {
  const id = ctx.registry.id(i);
  const held = ctx.hold.take(id);
  if (held === null) return;
  ctx.report({ outcome: 'delivered', topic: held.topic, lamp: id });
  for (const reply of held.replies) ctx.replies.awaitLamp(i, held.topic, reply);
  deliverToLamp(ctx, i, held.command, held.topic);
}

/** Once the hold is over at `now`, report every command still held: its lamp never registered. */
export function expireHeldCommands(ctx: CommandContext, now: number): void {
  ctx.hold.expire(now, (id, held) => {
    const error: ErrorReport = {
      topic: held.topic, kind: 'unknown-lamp', lamp: id,
      reason: `no lamp '${id}' registered while the command was held, and now ${ctx.hold.whyOver()}; the command was not delivered`,
    };
    fail(ctx, error);
    for (const reply of held.replies) ctx.replies.answer(reply, { topic: error.topic, ok: false, kind: error.kind, reason: error.reason });
  });
}

/** Count the command as accepted for lamp `i` and hand it to the commander. */
function deliverToLamp(ctx: CommandContext, i: number, command: SetCommand, topic: string): void {
  ctx.metrics.commands.inc({ target: 'lamp' });
  ctx.commander.toLamp(i, command, topic);
}

/** The first 64 characters of the payload when it is text, for the error report. */
function payloadExcerpt(payload: Uint8Array): string | undefined {
  try {
    // stream: a multi-byte character cut at byte 256 is held back, not taken for invalid UTF-8.
    const text = new TextDecoder('utf-8', { fatal: true }).decode(payload.subarray(0, 256), { stream: payload.length > 256 });
    return text.length > 64 ? `${text.slice(0, 64)}…` : text;
  } catch {
    return undefined;
  }
}
