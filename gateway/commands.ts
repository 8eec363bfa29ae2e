/**
 * MQTT commands: what the gateway does with a message on a `.../set` topic, as a table of one small
 * handler per topic kind (aedes' handlers/ style). Every message is either handed to the lamps or
 * answered on `lampnet/gateway/errors` with a reason — nothing is dropped silently, nothing throws,
 * and a rejected command changes no state.
 */
import type { CommandHold } from './command-hold.js';
import type { SetCommand } from './command-payload.js';
import { parseCommandPayload } from './command-payload.js';
import type { LampCommander } from './lamp-commands.js';
import type { GatewayMetrics } from './metrics.js';
import type { ErrorReport } from './publisher.js';
import type { LampRegistry } from './registry.js';
import { type CommandTarget, nameProblem, parseCommandTopic } from '../protocol/mqtt-topics.js';

export interface CommandContext {
  registry: LampRegistry;
  /** Commands for lamps not registered yet, shortly after the gateway started. */
  hold: CommandHold;
  commander: LampCommander;
  metrics: GatewayMetrics;
  reportError(report: ErrorReport): void;
}

type CommandHandler = (ctx: CommandContext, name: string, command: SetCommand, topic: string) => void;

const handlers: Record<CommandTarget, CommandHandler> = {
  lamp(ctx, id, command, topic) {
    const i = ctx.registry.find(id);
    if (i < 0 && ctx.hold.holding(Date.now()) && ctx.hold.hold(id, command, topic)) return;
    if (i < 0) return ctx.reportError({ topic, kind: 'unknown-lamp', lamp: id, reason: `no lamp '${id}' has registered with this gateway` });
    if (!ctx.registry.online(i)) return ctx.reportError({ topic, kind: 'offline', lamp: id, reason: `lamp '${id}' is offline (its registration lapsed)` });
    ctx.metrics.commands.inc({ target: 'lamp' });
    ctx.commander.toLamp(i, command, topic);
  },

  group(ctx, group, command, topic) {
    if (!ctx.registry.hasGroup(group)) return ctx.reportError({ topic, kind: 'unknown-group', reason: `no registered lamp is in group '${group}'` });
    const delivery = ctx.commander.toGroup(group, command, topic);
    if (delivery.members === 0) return ctx.reportError({ topic, kind: 'offline', reason: `no lamp of group '${group}' is online` });
    ctx.metrics.commands.inc({ target: 'group' });
  },
};

/** Handle one message received on a command subscription. */
export function handleCommandMessage(ctx: CommandContext, topic: string, payload: Uint8Array, retained: boolean): void {
  const target = parseCommandTopic(topic);
  if (target === null) return; // a deeper topic under lampnet/lamps/ that is not a command: not ours
  const excerpt = payloadExcerpt(payload);
  const reject = (kind: ErrorReport['kind'], reason: string): void => ctx.reportError({ topic, kind, reason, ...(excerpt === undefined ? {} : { payload: excerpt }) });
  if (retained) {
    return reject('retained', 'retained command ignored: a retained command would be replayed on every gateway start; publish commands without the retain flag');
  }
  const problem = nameProblem(target.target === 'lamp' ? 'lamp id' : 'group name', target.name);
  if (problem !== null) return reject('name', problem);
  const parsed = parseCommandPayload(payload);
  if (!parsed.ok) return reject('payload', parsed.reason);
  handlers[target.target](ctx, target.name, parsed.command, topic);
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
