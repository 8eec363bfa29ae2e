/**
 * The payloads accepted on `.../set` topics, turned into one lamp command or a reason why not.
 *
 * Accepted (the README documents the same list):
 *   ON | OFF | TOGGLE                       (any letter case, surrounding whitespace ignored)
 *   a number 0–100                          dim to that level (0 = off, above 0 = on at that level)
 *   {"state":"ON"|"OFF"|"TOGGLE", "brightness":0-100, "transition":seconds}   Home Assistant JSON
 *   {"on":true|false, "level":0-100, "transition":seconds}
 * Keys of the two JSON forms may be mixed as long as they do not say the same thing twice
 * (`state` with `on`, `brightness` with `level`). Unknown keys are rejected, so a typo is reported
 * rather than silently ignored. Payloads are limited to MAX_COMMAND_BYTES of valid UTF-8.
 */
import type { SetCommand } from '../lamps/commander.js';
import { HA_BRIGHTNESS_SCALE } from '../../protocol/mqtt-topics.js';

/** Largest command payload accepted; anything longer is rejected unread. */
export const MAX_COMMAND_BYTES = 1024;
/** Longest fade accepted (one hour); lamps take milliseconds, so this also keeps the number small. */
export const MAX_TRANSITION_S = 3600;

export type ParsedCommand = { ok: true; command: SetCommand } | { ok: false; reason: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });
const JSON_KEYS = ['state', 'brightness', 'on', 'level', 'transition'];

const fail = (reason: string): ParsedCommand => ({ ok: false, reason });

export function parseCommandPayload(payload: Uint8Array): ParsedCommand {
  if (payload.length > MAX_COMMAND_BYTES) return fail(`payload is ${payload.length} bytes; the limit is ${MAX_COMMAND_BYTES}`);
  let text: string;
  try {
    text = utf8.decode(payload).trim();
  } catch {
    return fail('payload is not valid UTF-8');
  }
  if (text.length === 0) return fail('payload is empty; expected ON, OFF, TOGGLE, a level 0-100 or JSON');
  if (text.startsWith('{') || text.startsWith('[')) return parseJsonCommand(text);
  const word = parseSwitchWord(text);
  if (word !== null) return { ok: true, command: word };
  if (/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(text)) return levelCommand(Number(text), 'level');
  return fail(`payload '${truncate(text)}' is not ON, OFF, TOGGLE, a level 0-100 or a JSON object`);
}

function parseSwitchWord(word: string): SetCommand | null {
  switch (word.toUpperCase()) {
    case 'ON': return { on: true };
    case 'OFF': return { on: false };
    case 'TOGGLE': return { toggle: true };
    default: return null;
  }
}

/** A bare level: 0 switches off, anything above switches on at that level. */
function levelCommand(level: number, what: string): ParsedCommand {
  if (!Number.isFinite(level) || level < 0 || level > 100) return fail(`${what} ${level} is out of range; expected 0-100`);
  return { ok: true, command: level === 0 ? { on: false } : { on: true, level: toPercent(level, 100) } };
}

function parseJsonCommand(text: string): ParsedCommand {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return fail(`payload is not valid JSON (${(err as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return fail('JSON payload must be an object');
  const fields = value as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!JSON_KEYS.includes(key)) return fail(`unknown field '${truncate(key)}'; expected ${JSON_KEYS.join(', ')}`);
  }
  if ('state' in fields && 'on' in fields) return fail("fields 'state' and 'on' both given; use one");
  if ('brightness' in fields && 'level' in fields) return fail("fields 'brightness' and 'level' both given; use one");

  const command: SetCommand = {};
  if ('state' in fields) {
    const word = typeof fields.state === 'string' ? parseSwitchWord(fields.state) : null;
    if (word === null) return fail(`state ${truncate(JSON.stringify(fields.state))} is not "ON", "OFF" or "TOGGLE"`);
    Object.assign(command, word);
  }
  if ('on' in fields) {
    if (typeof fields.on !== 'boolean' && fields.on !== 0 && fields.on !== 1) return fail(`on ${truncate(JSON.stringify(fields.on))} is not true, false, 0 or 1`);
    command.on = fields.on === true || fields.on === 1;
  }
  const level = 'brightness' in fields ? scaled(fields.brightness, 'brightness', HA_BRIGHTNESS_SCALE) : 'level' in fields ? scaled(fields.level, 'level', 100) : null;
  if (typeof level === 'string') return fail(level);
  if (level !== null) {
    command.level = level;
    // A level alone means "light at this level" (0 = off), as Home Assistant sends brightness.
    if (command.on === undefined && !command.toggle) command.on = level > 0;
  }
  if ('transition' in fields) {
    const t = fields.transition;
    if (typeof t !== 'number' || !Number.isFinite(t) || t < 0 || t > MAX_TRANSITION_S) return fail(`transition ${truncate(JSON.stringify(t))} is not a number of seconds 0-${MAX_TRANSITION_S}`);
    command.fadeMs = Math.round(t * 1000);
  }
  if (command.on === undefined && !command.toggle && command.level === undefined) return fail('JSON command has no state, on, brightness or level');
  return { ok: true, command };
}

/** A number in 0..max mapped to a level 0–100, or the reason it is not acceptable. */
function scaled(value: unknown, what: string, max: number): number | string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return `${what} ${truncate(JSON.stringify(value))} is not a number`;
  if (value < 0 || value > max) return `${what} ${value} is out of range; expected 0-${max}`;
  return toPercent(value, max);
}

/** value/max as a whole percentage; anything above zero stays at least 1 so "dim" never means "off". */
function toPercent(value: number, max: number): number {
  return value === 0 ? 0 : Math.max(1, Math.round((value * 100) / max));
}

function truncate(text: string | undefined): string {
  const s = String(text);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
