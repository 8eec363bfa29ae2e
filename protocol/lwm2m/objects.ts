/**
 * The LwM2M objects and resources lampnet speaks, in one table: what a lamp serves and what the
 * gateway may read, write, execute and observe. Every codec and both ends check values and
 * operations against it (`resourceType`, `resourceOps`, `checkValue`).
 *
 * Ids, types and operations are the OMNA LwM2M registry's (github.com/OpenMobileAlliance/lwm2m-registry,
 * 1.xml, 3.xml, 3305.xml, 3311.xml). Light Control 3311 has no active power resource: the registry
 * puts instantaneous active power in Power Measurement 3305 (5800, mandatory there), so a lamp
 * serves /3305/0/5800 beside /3311/0, while cumulative energy 5805 and power factor 5820 are 3311's own.
 *
 * lampnet's own configuration (/cfg before: groups, position, night profile, defaults) is the vendor
 * object LAMPNET_CONFIG. Its id is in 26241-32768, the range OMNA leaves to vendors for private
 * objects without registration ("Objects Produced by Vendors to re-use", OMNA LwM2M registry, ObjectID
 * classes); its resource ids 0-2047 are object-specific by the same registry's resource classes.
 *
 * A value is a number (Integer, Unsigned Integer, Float, Time), a boolean, or a string: text for
 * String, "obj:inst" for Objlnk (as LwM2M 1.1 text/plain and SenML `vlo` write it), and an 8-bit
 * string (one char per byte) for Opaque, as protocol/text.ts handles bytes. On the board a boolean
 * may be 1 or 0 anywhere (its minifier turns boolean literals into numbers, parseText's results
 * included): encoders and checks take both (`isBool`), and readers of a value test its truth.
 *
 * Firmware rule: ES5-lowerable, no Map/Set.
 */
import { BRIEF } from '../diagnostics.js';

/** Resource data types (LwM2M 1.1 Core Appendix C). NONE is an executable resource's. */
export const NONE = 0;
export const STRING = 1;
export const INTEGER = 2;
export const UNSIGNED = 3;
export const FLOAT = 4;
export const BOOLEAN = 5;
export const OPAQUE = 6;
export const TIME = 7;
export const OBJLNK = 8;

/** Operations, as bits: R read, W write, E execute. MULTIPLE marks a multiple-instance resource. */
export const R = 1;
export const W = 2;
export const RW = 3;
export const E = 4;
export const MULTIPLE = 8;

/** A resource value as the codecs give and take it (see the file comment). */
export type Lwm2mValue = number | boolean | string;

export const SERVER = 1;
export const DEVICE = 3;
export const POWER_MEASUREMENT = 3305;
export const LIGHT_CONTROL = 3311;
/** lampnet's vendor object (private range 26241-32768, see above). */
export const LAMPNET_CONFIG = 32311;

// Server 1
export const SHORT_SERVER_ID = 0;
export const LIFETIME = 1;
export const NOTIFICATION_STORING = 6;
export const BINDING = 7;
export const UPDATE_TRIGGER = 8;
// Device 3
export const MANUFACTURER = 0;
export const MODEL = 1;
export const SERIAL = 2;
export const FIRMWARE_VERSION = 3;
export const REBOOT = 4;
export const MEMORY_FREE = 10;
export const ERROR_CODE = 11;
export const BINDINGS_SUPPORTED = 16;
// Power Measurement 3305, Light Control 3311
export const ACTIVE_POWER = 5800;
export const CUMULATIVE_ENERGY = 5805;
export const POWER_FACTOR = 5820;
export const ON_OFF = 5850;
export const DIMMER = 5851;
export const ON_TIME = 5852;
// lampnet config 32311
export const GROUPS = 0;
export const LATITUDE = 1;
export const LONGITUDE = 2;
export const SCHEDULE = 3;
export const UTC_OFFSET_MIN = 4;
export const DEFAULT_LEVEL = 5;
export const NIGHT_LEVEL = 6;
export const NIGHT_FROM = 7;
export const NIGHT_TO = 8;
export const POWER_ON = 9;
export const FADE_MS = 10;
export const RATED_W = 11;
export const STANDBY_W = 12;
export const PING_WHEN = 13;
/** The fade (ms) of the next change a Write to /3311/0 makes, then FADE_MS again: how a command's
 * transition travels (LwM2M has no fade argument on 5850/5851). Write-only. */
export const NEXT_FADE_MS = 14;

/** Longest string a lamp accepts for a String resource (so any of its answers fits one datagram). */
export const MAX_STRING = 160;

/** One row per resource: object, resource, type, operations, then the valid range of a number (NaN
 * bounds: none beyond the type's). Names and units are in the comments. */
const U = NaN;
export const RESOURCES: number[][] = [
  [SERVER, SHORT_SERVER_ID, INTEGER, R, 1, 65534],
  [SERVER, LIFETIME, INTEGER, RW, 60, 86400], // s (Integer in Server object 1.1; lampnet's bounds)
  [SERVER, NOTIFICATION_STORING, BOOLEAN, RW, U, U],
  [SERVER, BINDING, STRING, RW, U, U], // "U"
  [SERVER, UPDATE_TRIGGER, NONE, E, U, U],
  [DEVICE, MANUFACTURER, STRING, R, U, U],
  [DEVICE, MODEL, STRING, R, U, U],
  [DEVICE, SERIAL, STRING, R, U, U],
  [DEVICE, FIRMWARE_VERSION, STRING, R, U, U],
  [DEVICE, REBOOT, NONE, E, U, U],
  [DEVICE, MEMORY_FREE, INTEGER, R, 0, U], // kB by the registry (1 kB = 1000 bytes)
  [DEVICE, ERROR_CODE, INTEGER, R | MULTIPLE, 0, 32], // 0 none, 8 peripheral malfunction (driver fault)
  [DEVICE, BINDINGS_SUPPORTED, STRING, R, U, U],
  [POWER_MEASUREMENT, ACTIVE_POWER, FLOAT, R, U, U], // W
  [LIGHT_CONTROL, ON_OFF, BOOLEAN, RW, U, U],
  [LIGHT_CONTROL, DIMMER, INTEGER, RW, 0, 100], // %
  [LIGHT_CONTROL, ON_TIME, INTEGER, RW, 0, U], // s; writing 0 resets it
  [LIGHT_CONTROL, CUMULATIVE_ENERGY, FLOAT, R, U, U], // Wh ("cumulative active power")
  [LIGHT_CONTROL, POWER_FACTOR, FLOAT, R, 0, 1],
  [LAMPNET_CONFIG, GROUPS, STRING, RW, U, U], // comma-separated group names
  [LAMPNET_CONFIG, LATITUDE, FLOAT, RW, -90, 90], // degrees; absent while no position is set
  [LAMPNET_CONFIG, LONGITUDE, FLOAT, RW, -180, 180], // degrees
  [LAMPNET_CONFIG, SCHEDULE, BOOLEAN, RW, U, U], // dusk-to-dawn by position; false clears the position
  [LAMPNET_CONFIG, UTC_OFFSET_MIN, INTEGER, RW, -840, 840], // minutes east of UTC, for the night window
  [LAMPNET_CONFIG, DEFAULT_LEVEL, INTEGER, RW, 0, 100], // %, level when switched on by the schedule
  [LAMPNET_CONFIG, NIGHT_LEVEL, INTEGER, RW, 0, 100], // %, 0 = no night profile
  [LAMPNET_CONFIG, NIGHT_FROM, INTEGER, RW, 0, 1439], // minute of the local day
  [LAMPNET_CONFIG, NIGHT_TO, INTEGER, RW, 0, 1439],
  [LAMPNET_CONFIG, POWER_ON, INTEGER, RW, 0, 2], // 0 off, 1 on at default level, 2 as before
  [LAMPNET_CONFIG, FADE_MS, INTEGER, RW, 0, 3600000], // ms, default fade of commands
  [LAMPNET_CONFIG, RATED_W, FLOAT, RW, 0, 1e6], // W at 100 %
  [LAMPNET_CONFIG, STANDBY_W, FLOAT, RW, 0, 1e6], // W while off
  [LAMPNET_CONFIG, PING_WHEN, INTEGER, RW, 0, 1], // 0 answer ping while powered, 1 only while lit
  [LAMPNET_CONFIG, NEXT_FADE_MS, INTEGER, W, 0, 3600000], // ms, fade of the next Write to /3311/0 only
];

/** The table row of /obj/x/res, or null when lampnet does not know it. */
export function resourceRow(obj: number, res: number): number[] | null {
  for (let i = 0; i < RESOURCES.length; i++) if (RESOURCES[i][0] === obj && RESOURCES[i][1] === res) return RESOURCES[i];
  return null;
}

/** The data type of /obj/x/res, -1 when unknown. */
export function resourceType(obj: number, res: number): number {
  const row = resourceRow(obj, res);
  return row ? row[2] : -1;
}

/** The operation bits of /obj/x/res (R, W, E, MULTIPLE), 0 when unknown. */
export function resourceOps(obj: number, res: number): number {
  const row = resourceRow(obj, res);
  return row ? row[3] : 0;
}

/** Whether `v` stands for a boolean: true/false, or 1/0 (see the file comment). */
export function isBool(v: Lwm2mValue): boolean {
  return typeof v === 'boolean' || v === 0 || v === 1;
}

/** Whether `n` is a whole number (Number.isInteger is missing on Espruino). */
export function isWhole(n: number): boolean {
  return typeof n === 'number' && isFinite(n) && Math.floor(n) === n;
}

/** Why `value` is not a valid value of `type` ('' when it is), within [min, max] for a number (in
 * the board's bundle one letter: t type, r range). */
export function checkValue(type: number, value: Lwm2mValue, min: number, max: number): string {
  const t = typeof value;
  let ok = false;
  if (type === STRING || type === OPAQUE) ok = t === 'string';
  else if (type === BOOLEAN) ok = isBool(value);
  else if (type === OBJLNK) ok = t === 'string' && parseObjlnk(value as string) !== null;
  else if (type === FLOAT) ok = t === 'number' && isFinite(value as number);
  else if (type === INTEGER || type === TIME) ok = isWhole(value as number);
  else if (type === UNSIGNED) ok = isWhole(value as number) && (value as number) >= 0;
  if (!ok) return BRIEF ? 't' : 'value ' + JSON.stringify(value) + ' is not of type ' + TYPE_NAMES[type];
  if (t === 'number' && type !== BOOLEAN && ((value as number) < min || (value as number) > max)) return BRIEF ? 'r' : 'value ' + value + ' is outside ' + min + '..' + max;
  return '';
}

/** Registry names of the types, for messages. */
export const TYPE_NAMES = ['none', 'String', 'Integer', 'Unsigned Integer', 'Float', 'Boolean', 'Opaque', 'Time', 'Objlnk'];

/** Why `value` may not be written to /obj/x/res ('' when it may): unknown resource, not writable,
 * wrong type or out of range. */
export function checkWrite(obj: number, res: number, value: Lwm2mValue): string {
  const row = resourceRow(obj, res);
  if (!row) return BRIEF ? 'n' : 'no resource /' + obj + '/x/' + res;
  if (!(row[3] & W)) return BRIEF ? 'w' : 'resource /' + obj + '/x/' + res + ' is not writable';
  const e = checkValue(row[2], value, row[4], row[5]);
  return BRIEF ? e : e && '/' + obj + '/x/' + res + ': ' + e;
}

/** An Objlnk "obj:inst" as [obj, inst], null when malformed (each part 0..65535). */
export function parseObjlnk(s: string): number[] | null {
  const colon = s.indexOf(':');
  const a = colon < 0 ? -1 : parseId(s.substring(0, colon), 65535);
  const b = colon < 0 ? -1 : parseId(s.substring(colon + 1), 65535);
  return a < 0 || b < 0 ? null : [a, b];
}

/** A decimal id of at most `max` without sign or leading zeros, or -1. */
export function parseId(s: string, max: number): number {
  let ok = s.length > 0 && s.length < 6 && (s.length === 1 || s.charCodeAt(0) !== 48);
  for (let k = 0; k < s.length; k++) ok = ok && s.charCodeAt(k) >= 48 && s.charCodeAt(k) <= 57;
  return ok && +s <= max ? +s : -1;
}

/** An LwM2M path "/obj[/inst[/res[/ri]]]" as its ids, or null when malformed: ids are decimal
 * 0..65535 without leading zeros, an instance is never 65535 (LwM2M 1.1 §7.2, MAX_ID is reserved),
 * "/" alone is the root (no ids). */
export function parsePath(path: string): number[] | null {
  if (path === '/') return [];
  if (path.charAt(0) !== '/') return null;
  const parts = path.substring(1).split('/');
  if (parts.length > 4) return null;
  const ids: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const id = parseId(parts[i], i === 1 ? 65534 : 65535);
    if (id < 0) return null;
    ids.push(id);
  }
  return ids;
}
