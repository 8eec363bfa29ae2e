/**
 * The lamp <-> gateway registration and report grammar, stated here once: its constants, and the
 * encoders and decoders of its documents side by side, imported by the lamp (bundled, ES5-safe) and
 * by the gateway (its resource directory decodes with parseReportBody).
 *
 * Registration and updates are LwM2M-style CoAP requests from the lamp:
 *   POST /rd?ep=<id>&lt=<lifetimeS>   {"g":"<groups>","s":<state>}   → 2.01, Location-Path rd/<id>
 *   POST /rd/<id>?lt=<lifetimeS>      {"s":<state>}                   → 2.04, or 4.04 = re-register
 * with <state> = {"on":0|1,"level":0-100,"w":watts,"wh":energyWh,"t":onTimeS,"f":0|1}.
 * Commands go the other way as PUTs on the IPSO Light Control resources: PUT /3311/0 with
 * {"on":0|1,"level":0-100,"fade":ms} (any subset), or plain text on /3311/0/5850 and /5851.
 *
 * Every key of these documents is written here as text, never as a property name: the firmware
 * build shortens property names, and its wire check runs the bundle against these decoders so that
 * nothing on the wire can change with it. Text is UTF-8 on the
 * wire, and the JSON a lamp sends is ASCII (text.ts).
 */
import { asciiJson, utf8Bytes } from './text.js';

export const COAP_PORT = 5683;
export const RD_PATH = 'rd';
export const LIGHT_PATH = '3311/0';
export const ON_PATH = '3311/0/5850';
export const DIMMER_PATH = '3311/0/5851';
export const ON_TIME_PATH = '3311/0/5852';
export const POWER_PATH = '3311/0/5800';
export const ENERGY_PATH = '3311/0/5805';
export const CONFIG_PATH = 'cfg';
export const DISCOVERY_PATH = '.well-known/core';

/** A lamp's state and meters as read at one instant: what the `<state>` document carries (the
 * lamp's snapshot, the gateway's last report of it). */
export interface LampSnapshot {
  on: boolean;
  level: number;
  watts: number;
  energyWh: number;
  onTimeS: number;
  fault: boolean;
}

/** Rounds for the wire: watts to 0.01 W, energy to 0.001 Wh. */
export function roundTo(v: number, scale: number): number {
  return Math.round(v * scale) / scale;
}

/** The `<state>` JSON of a snapshot. */
export function stateJson(s: LampSnapshot): string {
  return '{"on":' + (s.on ? 1 : 0) + ',"level":' + s.level + ',"w":' + roundTo(s.watts, 100) + ',"wh":' + roundTo(s.energyWh, 1000) + ',"t":' + s.onTimeS + ',"f":' + (s.fault ? 1 : 0) + '}';
}

/** The registration payload, around a `<state>` JSON. */
export function registrationJson(groups: string, state: string): string {
  return '{"g":' + asciiJson(JSON.stringify(groups)) + ',"s":' + state + '}';
}

/** The update payload, around a `<state>` JSON. */
export function updateJson(state: string): string {
  return '{"s":' + state + '}';
}

/** What a registration or update carries: the groups (registration only) and the state, each
 * null when absent. */
export interface ReportBody {
  groups: string | null;
  state: LampSnapshot | null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The JSON text of a registration or update (already decoded from UTF-8), or why it is
 * unacceptable. */
export function parseReportBody(text: string): ReportBody | string {
  if (text === '') return { groups: null, state: null };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return 'registration payload is not JSON (' + (err as Error).message + ')';
  }
  if (!isObject(value)) return 'registration payload is not a JSON object';
  const groups = value['g'];
  if (groups !== undefined && typeof groups !== 'string') return 'groups "g" ' + String(JSON.stringify(groups)).slice(0, 40) + ' is not a string';
  const state = value['s'] === undefined ? null : parseState(value['s']);
  if (typeof state === 'string') return state;
  return { groups: groups === undefined ? null : groups, state: state };
}

/** A `<state>` document as a snapshot, or why it is unacceptable. */
export function parseState(value: unknown): LampSnapshot | string {
  if (!isObject(value)) return 'state "s" is not a JSON object';
  const flag = (k: string): boolean | null => (value[k] === 1 || value[k] === true ? true : value[k] === 0 || value[k] === false ? false : null);
  const number = (k: string, max: number): number | null => {
    const n = value[k];
    return typeof n === 'number' && n >= 0 && n <= max ? n : null;
  };
  const on = flag('on');
  const fault = flag('f');
  const level = number('level', 100);
  const watts = number('w', 1e6);
  const energyWh = number('wh', 1e12);
  const onTimeS = number('t', 1e12);
  if (on === null) return 'state "on" ' + JSON.stringify(value['on']) + ' is not 0 or 1';
  if (fault === null) return 'state "f" ' + JSON.stringify(value['f']) + ' is not 0 or 1';
  if (level === null) return 'state "level" ' + JSON.stringify(value['level']) + ' is not a number 0-100';
  if (watts === null || energyWh === null || onTimeS === null) return 'state "w", "wh" and "t" must be non-negative numbers';
  return { on: on, level: Math.round(level), watts: watts, energyWh: energyWh, onTimeS: onTimeS, fault: fault };
}

/** The PUT /3311/0 body: `{"on":0|1,"level":n,"fade":ms}`, only the fields given. */
export function commandJson(on: boolean | undefined, level: number | undefined, fadeMs: number | undefined): string {
  const fields: string[] = [];
  if (on !== undefined) fields.push('"on":' + (on ? 1 : 0));
  if (level !== undefined) fields.push('"level":' + level);
  if (fadeMs !== undefined) fields.push('"fade":' + fadeMs);
  return '{' + fields.join(',') + '}';
}

/** FNV-1a, 32 bits, over the name's UTF-8 bytes. */
export function fnv1a32(name: string): number {
  let h = 0x811c9dc5;
  const bytes = utf8Bytes(name);
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    // h * 16777619 without losing bits beyond 2^53: split the prime into 2^24 + 403.
    h = ((h << 24) + h * 403) >>> 0;
  }
  return h >>> 0;
}

/** The multicast address of group `name`: ff15::1:<hi16>:<lo16> of its FNV-1a-32 hash. */
export function groupAddress(name: string): string {
  const h = fnv1a32(name);
  return 'ff15::1:' + (h >>> 16).toString(16) + ':' + (h & 0xffff).toString(16);
}

/** Group names of a comma-separated list, trimmed, empty ones dropped. */
export function groupNames(groups: string): string[] {
  const names: string[] = [];
  const parts = groups.split(',');
  for (let i = 0; i < parts.length; i++) {
    const g = parts[i].trim();
    if (g) names.push(g);
  }
  return names;
}
