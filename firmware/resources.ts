/**
 * The lamp's CoAP resources as one table of small handlers (IPSO Light Control 3311, instance 0,
 * plus /cfg and RFC 6690 discovery). Reading an entry tells all of that resource's behaviour; the
 * server (server.ts) does the protocol around it: methods, formats, trust, Observe, errors.
 *
 * A handler's `get` renders the representation; `put` applies a body and returns the CoAP code.
 * State changes are published by the server after a successful PUT, not here.
 */
import { BAD_REQUEST, CHANGED, FORMAT_JSON, FORMAT_LINK, FORMAT_TEXT } from './coap.js';
import { applyCommand, applySchedule, noteChange } from './control.js';
import type { Hal } from './hal.js';
import { integrate, ownConfig, snapshot, type LampState } from './lamp.js';
import { CONFIG_PATH, DIMMER_PATH, DISCOVERY_PATH, ENERGY_PATH, LIGHT_PATH, ON_PATH, ON_TIME_PATH, POWER_PATH, groupNames, roundTo, stateJson } from './protocol.js';
import { reregister } from './registration.js';

export interface Resource {
  path: string;
  format: number;
  observable: boolean;
  /** RFC 6690 attributes besides ct and obs. */
  attrs: string;
  get: (hal: Hal, lamp: LampState) => string;
  put: ((hal: Hal, lamp: LampState, body: string) => number) | null;
}

/** Longest accepted fade (ms): one hour. */
const MAX_FADE_MS = 3600000;

/** A decimal integer of 1–3 digits in 0..100, or -1. */
function parseLevel(s: string): number {
  if (s.length < 1 || s.length > 3) return -1;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 48 || s.charCodeAt(i) > 57) return -1;
  const v = parseInt(s, 10);
  return v <= 100 ? v : -1;
}

/** A JSON object body, or null when the body is not one. */
function parseObject(body: string): Record<string, unknown> | null {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch (e) {
    return null;
  }
  return v !== null && typeof v === 'object' && !(v instanceof Array) ? (v as Record<string, unknown>) : null;
}

/** A number field within [min, max]; `absent` when missing, NaN when present but invalid. */
function numberField(o: Record<string, unknown>, name: string, min: number, max: number, absent: number): number {
  const v = o[name];
  if (v === undefined) return absent;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return typeof v === 'number' && v >= min && v <= max ? v : NaN;
}

/** PUT /3311/0 {"on":0|1,"level":0-100,"fade":ms}, any subset. */
function putLight(hal: Hal, lamp: LampState, body: string): number {
  const o = parseObject(body);
  if (!o) return BAD_REQUEST;
  const on = numberField(o, 'on', 0, 1, -1);
  const level = numberField(o, 'level', 0, 100, -1);
  const fade = numberField(o, 'fade', 0, MAX_FADE_MS, -1);
  if (on !== on || level !== level || fade !== fade || (on >= 0 && on !== Math.floor(on))) return BAD_REQUEST;
  applyCommand(hal, lamp, on, level, fade, true);
  return CHANGED;
}

/** Settable config fields and their ranges; integers unless the third number is 0. */
const CONFIG_LIMITS: { [name: string]: number[] } = {
  ratedW: [0, 100000, 0],
  standbyW: [0, 1000, 0],
  powerOn: [0, 2, 1],
  defaultLevel: [0, 100, 1],
  lat: [-90, 90, 0],
  lon: [-180, 180, 0],
  tzMin: [-840, 840, 1],
  nightLevel: [0, 100, 1],
  nightFrom: [0, 1439, 1],
  nightTo: [0, 1439, 1],
  lifetimeS: [60, 86400, 1],
  pingWhen: [0, 1, 1],
  fadeMs: [0, MAX_FADE_MS, 1],
  bootJitterMs: [0, 3600000, 1],
};

/** Config fields the schedule depends on: changing one re-applies the schedule at once. */
const SCHEDULE_FIELDS = ' lat lon tzMin nightLevel nightFrom nightTo defaultLevel ';

/** PUT /cfg: a JSON subset of the config. All fields are checked before any is applied. */
function putConfig(hal: Hal, lamp: LampState, body: string): number {
  const o = parseObject(body);
  if (!o) return BAD_REQUEST;
  for (const k in o) {
    const v = o[k];
    const lim = CONFIG_LIMITS[k];
    if (k === 'id' || k === 'groups') {
      if (typeof v !== 'string' || (k === 'id' && !v)) return BAD_REQUEST;
    } else if (!lim) return BAD_REQUEST;
    else if (v === null ? k !== 'lat' && k !== 'lon' : typeof v !== 'number' || !(v >= lim[0] && v <= lim[1]) || (lim[2] && v !== Math.floor(v))) return BAD_REQUEST;
  }
  const t = hal.now();
  integrate(lamp, t);
  const cfg = ownConfig(lamp);
  const id = cfg.id;
  const groups = cfg.groups;
  let reschedule = false;
  const settable = cfg as unknown as Record<string, unknown>;
  for (const k in o) {
    settable[k] = o[k] === null ? NaN : o[k];
    if (SCHEDULE_FIELDS.indexOf(' ' + k + ' ') >= 0) reschedule = true;
  }
  cfg.lastOn = lamp.on;
  cfg.lastLevel = lamp.level;
  hal.saveConfig(lamp, cfg);
  noteChange();
  if (cfg.groups !== groups) {
    const names = groupNames(cfg.groups);
    for (let i = 0; i < names.length; i++) hal.joinGroup(lamp, names[i]);
  }
  if (cfg.id !== id || cfg.groups !== groups) reregister(hal, lamp);
  if (reschedule) applySchedule(hal, lamp, t);
  return CHANGED;
}

function stateOf(hal: Hal, lamp: LampState): string {
  return stateJson(snapshot(lamp, hal.now()));
}

/** The resource table; an Observe registration names its resource by index here. */
export const resources: Resource[] = [
  {
    path: LIGHT_PATH,
    format: FORMAT_JSON,
    observable: true,
    attrs: ';rt="oma.lwm2m.3311";if="core.b"',
    get: stateOf,
    put: putLight,
  },
  {
    path: ON_PATH,
    format: FORMAT_TEXT,
    observable: true,
    attrs: ';rt="ipso.5850";if="core.a"',
    get: (hal, lamp) => '' + lamp.on,
    put: (hal, lamp, body) => {
      if (body !== '0' && body !== '1') return BAD_REQUEST;
      applyCommand(hal, lamp, +body, -1, -1, true);
      return CHANGED;
    },
  },
  {
    path: DIMMER_PATH,
    format: FORMAT_TEXT,
    observable: true,
    attrs: ';rt="ipso.5851";if="core.a"',
    get: (hal, lamp) => '' + lamp.level,
    put: (hal, lamp, body) => {
      const level = parseLevel(body);
      if (level < 0) return BAD_REQUEST;
      applyCommand(hal, lamp, -1, level, -1, true);
      return CHANGED;
    },
  },
  {
    path: ON_TIME_PATH,
    format: FORMAT_TEXT,
    observable: false,
    attrs: ';rt="ipso.5852";if="core.s"',
    get: (hal, lamp) => '' + snapshot(lamp, hal.now()).onTimeS,
    put: null,
  },
  {
    path: POWER_PATH,
    format: FORMAT_TEXT,
    observable: false,
    attrs: ';rt="ipso.5800";if="core.s"',
    get: (hal, lamp) => '' + roundTo(snapshot(lamp, hal.now()).watts, 100),
    put: null,
  },
  {
    path: ENERGY_PATH,
    format: FORMAT_TEXT,
    observable: false,
    attrs: ';rt="ipso.5805";if="core.s"',
    get: (hal, lamp) => '' + roundTo(snapshot(lamp, hal.now()).energyWh, 1000),
    put: null,
  },
  {
    path: CONFIG_PATH,
    format: FORMAT_JSON,
    observable: false,
    attrs: ';rt="lampnet.cfg";if="core.p"',
    get: (hal, lamp) => JSON.stringify(lamp.cfg),
    put: putConfig,
  },
  {
    path: DISCOVERY_PATH,
    format: FORMAT_LINK,
    observable: false,
    attrs: '',
    get: () => {
      let links = '';
      for (let i = 0; i < resources.length - 1; i++) {
        const r = resources[i];
        links += (i ? ',</' : '</') + r.path + '>' + r.attrs + ';ct=' + r.format + (r.observable ? ';obs' : '');
      }
      return links;
    },
    put: null,
  },
];
