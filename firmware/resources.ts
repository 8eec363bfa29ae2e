/**
 * The lamp's CoAP resources as one table of small handlers (IPSO Light Control 3311, instance 0,
 * plus /cfg and RFC 6690 discovery). Reading an entry tells all of that resource's behaviour; the
 * server (server.ts) does the protocol around it: methods, formats, trust, Observe, errors.
 *
 * A handler's `get` renders the representation; `put` applies a body and returns the CoAP code.
 * State changes are published by the server after a successful PUT, not here.
 */
import { BAD_REQUEST, CHANGED, FORMAT_JSON, FORMAT_LINK, FORMAT_TEXT } from '../protocol/coap.js';
import { applyCommand, applySchedule, noteChange, saveConfig } from './control.js';
import { scheduleNow } from './schedule.js';
import { lamp } from './context.js';
import { defaultConfig, integrate, ownConfig, snapshot } from './lamp.js';
import { CONFIG_PATH, DIMMER_PATH, DISCOVERY_PATH, ENERGY_PATH, LIGHT_PATH, ON_PATH, ON_TIME_PATH, POWER_PATH, roundTo, stateJson } from '../protocol/registration.js';
import { asciiJson, utf8Json } from '../protocol/text.js';
import { joinGroups } from './exchange.js';
import { reregister } from './registration.js';

export interface Resource {
  path: string;
  format: number;
  observable: boolean;
  /** RFC 6690 resource type (rt) and CoRE interface (if="core.<iface>"). */
  rt: string;
  iface: string;
  /** Renders the representation of the context's lamp (context.ts). */
  get: () => string;
  /** Applies a body to the context's lamp; returns the CoAP code. */
  put: ((body: string) => number) | null;
}

/** Longest accepted fade (ms): one hour. */
const MAX_FADE_MS = 3600000;

/** A JSON object body (UTF-8 bytes as an 8-bit string), or null when the body is not one. */
function parseObject(body: string): Record<string, unknown> | null {
  let v: unknown = null;
  try {
    v = JSON.parse(utf8Json(body)!);
  } catch (e) {
    // Not UTF-8 (JSON.parse(null) gives null) or not JSON: the caller answers 4.00.
  }
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

/** A number (or boolean as 0/1) within [min, max]; -1 when absent, NaN when present but invalid. */
function numberField(v: unknown, min: number, max: number): number {
  if (v === undefined) return -1;
  const n = typeof v === 'boolean' ? +v : v;
  return typeof n === 'number' && n >= min && n <= max ? n : NaN;
}

/** Applies a command and answers 2.04, or 4.00 when a value is invalid (NaN; the others are finite). */
function commanded(on: number, level: number, fade: number): number {
  if (isNaN(on + level + fade)) return BAD_REQUEST;
  applyCommand(on, level, fade);
  return CHANGED;
}

/** PUT /3311/0 {"on":0|1,"level":0-100,"fade":ms}, any subset. */
function putLight(body: string): number {
  const o = parseObject(body);
  if (!o) return BAD_REQUEST;
  const on = numberField(o.on, 0, 1);
  // on is 0 or 1 (or -1, absent): a fraction in between is invalid.
  return commanded(on % 1 ? NaN : on, numberField(o.level, 0, 100), numberField(o.fade, 0, MAX_FADE_MS));
}

/** Whether `s` is 1–3 decimal digits (no RegExp: espruino-compat.ts). */
function digits(s: string): boolean {
  let ok = s.length > 0 && s.length < 4;
  for (let k = 0; k < s.length; k++) ok = ok && s.charCodeAt(k) >= 48 && s.charCodeAt(k) <= 57;
  return ok;
}

/** A level in plain text: 1–3 decimal digits, 0..100. */
function putLevel(body: string): number {
  return commanded(-1, digits(body) ? numberField(+body, 0, 100) : NaN, -1);
}

function putOn(body: string): number {
  return commanded(body === '0' || body === '1' ? +body : NaN, -1, -1);
}

/** Ranges of the config's numbers; unlisted numbers must be ≥ 0. Only lat/lon may be null (no
 * schedule). */
const CONFIG_LIMITS: { [name: string]: number[] } = {
  powerOn: [0, 2],
  pingWhen: [0, 1],
  defaultLevel: [0, 100],
  nightLevel: [0, 100],
  nightFrom: [0, 1439],
  nightTo: [0, 1439],
  lat: [-90, 90],
  lon: [-180, 180],
  tzMin: [-840, 840],
  lifetimeS: [60, 86400],
  fadeMs: [0, MAX_FADE_MS],
};

/** Longest id or group list accepted, so /cfg and the registration always fit one datagram. */
export const MAX_CONFIG_STRING = 160;

/** Field names and types of a config (a persisted one may hold null for a NaN). */
const CONFIG_TYPES = defaultConfig('') as unknown as Record<string, unknown>;

/** PUT /cfg: a JSON subset of the config, each field of the config's own type and range. All
 * fields are checked before any is applied. */
function putConfig(body: string): number {
  const o = parseObject(body);
  if (!o) return BAD_REQUEST;
  for (const k in o) {
    const lim = CONFIG_LIMITS[k] || [0, 1e9];
    const v = o[k];
    // null stands for NaN (JSON has no NaN): allowed where the default is NaN (lat, lon).
    const ok = v === null ? CONFIG_TYPES[k] !== CONFIG_TYPES[k] : typeof v === typeof CONFIG_TYPES[k] && (typeof v === 'number' ? v >= lim[0] && v <= lim[1] : (v as string).length <= MAX_CONFIG_STRING);
    if (!ok || !CONFIG_TYPES.hasOwnProperty(k)) return BAD_REQUEST;
  }
  integrate();
  const own = ownConfig(lamp);
  const id = own.id;
  const groups = own.groups;
  const edge = lamp.edge;
  const level = scheduleNow();
  for (const k in o) (own as unknown as Record<string, unknown>)[k] = o[k] === null ? NaN : o[k];
  saveConfig();
  noteChange();
  if (own.groups !== groups) joinGroups(groups);
  if (own.id !== id || own.groups !== groups) reregister();
  // A schedule that now asks for another level or moved its next edge takes over at once.
  if (scheduleNow() !== level || lamp.edge !== edge) applySchedule();
  return CHANGED;
}

/** A meter of the snapshot as plain text, rounded to 1/scale. */
function meter(name: 'onTimeS' | 'watts' | 'energyWh', scale: number) {
  return () => '' + roundTo(snapshot()[name], scale);
}

function resource(path: string, format: number, observable: boolean, rt: string, iface: string, get: Resource['get'], put: Resource['put']): Resource {
  return { path: path, format: format, observable: observable, rt: rt, iface: iface, get: get, put: put };
}

/** An IPSO single-value resource of 3311/0 in plain text: a writable one is an observable actuator
 * (core.a), a read-only one a sensor (core.s); its rt is ipso.<resource id>. */
function ipso(path: string, get: Resource['get'], put: Resource['put']): Resource {
  return resource(path, FORMAT_TEXT, !!put, 'ipso.' + path.slice(LIGHT_PATH.length + 1), put ? 'a' : 's', get, put);
}

/** Every resource's links for /.well-known/core (RFC 6690), itself excluded. */
function links(): string {
  let s = '';
  for (let i = 0; i < resources.length - 1; i++) {
    const r = resources[i];
    s += (i ? ',</' : '</') + r.path + '>;rt="' + r.rt + '";if="core.' + r.iface + '";ct=' + r.format + (r.observable ? ';obs' : '');
  }
  return s;
}

/** The resource table; an Observe registration names its resource by index here. */
export const resources: Resource[] = [
  resource(LIGHT_PATH, FORMAT_JSON, true, 'oma.lwm2m.3311', 'b', () => stateJson(snapshot()), putLight),
  ipso(ON_PATH, () => '' + lamp.on, putOn),
  ipso(DIMMER_PATH, () => '' + lamp.level, putLevel),
  ipso(ON_TIME_PATH, meter('onTimeS', 1), null),
  ipso(POWER_PATH, meter('watts', 100), null),
  ipso(ENERGY_PATH, meter('energyWh', 1000), null),
  resource(CONFIG_PATH, FORMAT_JSON, false, 'lampnet.cfg', 'p', () => asciiJson(JSON.stringify(lamp.cfg)), putConfig),
  resource(DISCOVERY_PATH, FORMAT_LINK, false, '', '', links, null),
];
