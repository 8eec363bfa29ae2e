/**
 * The lamp's LwM2M objects (protocol/lwm2m/objects.ts has their ids, types and ranges): what each
 * resource reads as, what a Write of it does, what an Execute does, and the representations of a
 * path in each content format the lamp serves (text/plain, SenML JSON, TLV, link format). The
 * server (server.ts) does the protocol around it: methods, trust, Observe, errors.
 *
 * One instance (0) of each object: /1/0 Server, /3/0 Device, /3305/0 Power Measurement, /3311/0
 * Light Control, /32311/0 lampnet config (the old /cfg). A path is its ids as parsePath gives them.
 */
import { BAD_REQUEST, CHANGED, FORMAT_TEXT, METHOD_NOT_ALLOWED, NOT_ACCEPTABLE, UNSUPPORTED_CONTENT_FORMAT, writePayload } from '../protocol/coap.js';
import { FORMAT_SENML_JSON, FORMAT_TLV, formatText, parseText } from '../protocol/lwm2m/formats.js';
import { ROOT_LINK, link } from '../protocol/lwm2m/link.js';
import {
  ACTIVE_POWER, BINDING, BINDINGS_SUPPORTED, CUMULATIVE_ENERGY, DEVICE, DIMMER, E, ERROR_CODE, FIRMWARE_VERSION,
  LAMPNET_CONFIG, LIFETIME, LIGHT_CONTROL, MANUFACTURER, MAX_STRING, MEMORY_FREE, MODEL, MULTIPLE, NEXT_FADE_MS, NOTIFICATION_STORING,
  ON_OFF, ON_TIME, POWER_FACTOR, POWER_MEASUREMENT, R, REBOOT, RESOURCES, SCHEDULE, SERIAL, SERVER, SHORT_SERVER_ID, UPDATE_TRIGGER,
  W, checkWrite, type Lwm2mValue,
} from '../protocol/lwm2m/objects.js';
import { readSenml, senmlRecord } from '../protocol/lwm2m/senml.js';
import { TLV_MULTIPLE_RESOURCE, TLV_OBJECT_INSTANCE, TLV_RESOURCE, TLV_RESOURCE_INSTANCE, closeTlv, openTlv, readTlv, tlvReader, tlvValue, writeTlv } from '../protocol/lwm2m/tlv.js';
import { roundTo } from '../protocol/lamp.js';
import { applyCommand, applySchedule, changes, noteChange, saveConfig } from './control.js';
import { hal, lamp } from './context.js';
import { joinGroups, reader, writer } from './exchange.js';
import { endpointName, integrate, ownConfig, snapshot } from './lamp.js';
import { scheduleNow } from './schedule.js';
import { updateNow } from './registration.js';

/** The objects the lamp serves, each with instance 0 only. */
export const OBJECTS = [SERVER, DEVICE, POWER_MEASUREMENT, LIGHT_CONTROL, LAMPNET_CONFIG];
/** What Device /3/0/1 and /3/0/3 say. */
export const MODEL_NAME = 'lampnet street lamp';
/** The firmware's own version (Device /3/0/3; Home Assistant shows it as the device's software
 * version), bumped when its wire changes (2: LwM2M 1.1 client). */
export const FIRMWARE_VERSION_TEXT = '2.0';
/** Error code 8 of Device /3/0/11: peripheral malfunction (the driver fault). */
export const DRIVER_FAULT = 8;
/** Scratch for TLV payloads, read and written: one datagram's worth. */
const tlvBuf = new Uint8Array(512);
const tlv = tlvReader(32);

/** The config field each /32311/0 resource is (by resource id; '' where it is not a field). */
const CONFIG_KEYS = ['groups', 'lat', 'lon', '', 'tzMin', 'defaultLevel', 'nightLevel', 'nightFrom', 'nightTo', 'powerOn', 'fadeMs', 'ratedW', 'standbyW', 'pingWhen'];

/** Whether the lamp serves /obj/0/res (Power factor 5820 is not modelled). */
function served(row: number[]): boolean {
  return row[1] !== POWER_FACTOR;
}

/** The present value of readable /obj/0/res, or null when it has none now (a position not set) or
 * cannot be read. */
export function valueOf(obj: number, res: number): Lwm2mValue | null {
  const c = lamp.cfg;
  if (obj === SERVER) return res === SHORT_SERVER_ID ? 1 : res === LIFETIME ? c.lifetimeS : res === NOTIFICATION_STORING ? false : res === BINDING ? 'U' : null;
  if (obj === DEVICE) {
    if (res === MANUFACTURER) return 'lampnet';
    if (res === MODEL) return MODEL_NAME;
    if (res === SERIAL) return endpointName(lamp);
    if (res === FIRMWARE_VERSION) return FIRMWARE_VERSION_TEXT;
    if (res === MEMORY_FREE) return Math.floor(hal.memoryFree(lamp));
    if (res === ERROR_CODE) return lamp.fault ? DRIVER_FAULT : 0;
    return res === BINDINGS_SUPPORTED ? 'U' : null;
  }
  if (obj === POWER_MEASUREMENT) return res === ACTIVE_POWER ? roundTo(snapshot().watts, 100) : null;
  if (obj === LIGHT_CONTROL) {
    if (res === ON_OFF) return lamp.on === 1;
    if (res === DIMMER) return lamp.level;
    if (res === ON_TIME) return snapshot().onTimeS;
    return res === CUMULATIVE_ENERGY ? roundTo(snapshot().energyWh, 1000) : null;
  }
  if (obj === LAMPNET_CONFIG) {
    if (res === SCHEDULE) return c.lat === c.lat && c.lon === c.lon;
    const v = (c as unknown as Record<string, Lwm2mValue>)[CONFIG_KEYS[res] || '-'];
    // NaN (no position) is absent; a resource that is no field (NEXT_FADE_MS) too.
    return v === undefined || v !== v ? null : v;
  }
  return null;
}

/** The row of /obj/x/res if the lamp serves it, else null. */
export function row(obj: number, res: number): number[] | null {
  for (let i = 0; i < RESOURCES.length; i++) if (RESOURCES[i][0] === obj && RESOURCES[i][1] === res && served(RESOURCES[i])) return RESOURCES[i];
  return null;
}

/** Whether `ids` (parsePath's) names something the lamp has: an object it serves, instance 0, a
 * resource of it, instance 0 of a multiple resource. */
export function exists(ids: number[]): boolean {
  if (ids.length < 1 || OBJECTS.indexOf(ids[0]) < 0 || (ids.length > 1 && ids[1] !== 0)) return false;
  const r = ids.length > 2 ? row(ids[0], ids[2]) : null;
  return ids.length < 3 || (!!r && (ids.length < 4 || (!!(r[3] & MULTIPLE) && ids[3] === 0)));
}

/** The Register payload and /.well-known/core: the root link, then every object instance. */
export function objectLinks(): string {
  let s = ROOT_LINK;
  for (let i = 0; i < OBJECTS.length; i++) s += ',' + link('/' + OBJECTS[i] + '/0', '');
  return s;
}

/** One readable value as a SenML record (base name `bn`, '' after the first) or a TLV entry;
 * returns the TLV position after it. */
function put(format: number, bn: string, obj: number, r: number[], v: Lwm2mValue, pos: number): number {
  const multiple = r[3] & MULTIPLE;
  if (format === FORMAT_SENML_JSON) {
    senml += (senml ? ',' : '') + senmlRecord(bn, r[1] + (multiple ? '/0' : ''), r[2], v);
    return pos;
  }
  if (!multiple) return writeTlv(tlvBuf, pos, TLV_RESOURCE, r[1], r[2], v);
  const start = openTlv(tlvBuf, pos, TLV_MULTIPLE_RESOURCE, r[1]);
  return closeTlv(tlvBuf, pos, writeTlv(tlvBuf, start, TLV_RESOURCE_INSTANCE, 0, r[2], v));
}

let senml = '';

/** Writes the payload of a Read of `ids` in `format` (after the options) and returns 0, or returns
 * the code refusing it: 4.06 for a format the path cannot be read in, 4.05 for nothing readable. */
export function render(ids: number[], format: number): number {
  const obj = ids[0];
  if (ids.length > 2) {
    const r = row(obj, ids[2])!;
    const v = r[3] & R ? valueOf(obj, ids[2]) : null;
    if (v === null) return METHOD_NOT_ALLOWED;
    // text/plain carries one value: a single resource or one instance of a multiple one.
    if (format === FORMAT_TEXT && (!(r[3] & MULTIPLE) || ids.length > 3)) {
      writePayload(writer, formatText(r[2], v) || '');
      return 0;
    }
    if (format !== FORMAT_SENML_JSON && format !== FORMAT_TLV) return NOT_ACCEPTABLE;
    senml = '';
    const end = put(format, '/' + obj + '/0/', obj, r, v, 0);
    writePayload(writer, format === FORMAT_TLV ? tlvBuf.subarray(0, end) : '[' + senml + ']');
    return 0;
  }
  if (format !== FORMAT_SENML_JSON && format !== FORMAT_TLV) return NOT_ACCEPTABLE;
  senml = '';
  // An object's read wraps its instance in TLV; an instance's lists the resources alone.
  let pos = ids.length === 1 && format === FORMAT_TLV ? openTlv(tlvBuf, 0, TLV_OBJECT_INSTANCE, 0) : 0;
  const from = pos;
  let bn = '/' + obj + '/0/';
  for (let i = 0; i < RESOURCES.length; i++) {
    const r = RESOURCES[i];
    const v = r[0] === obj && r[3] & R && served(r) ? valueOf(obj, r[1]) : null;
    if (v === null) continue;
    pos = put(format, bn, obj, r, v, pos);
    bn = '';
  }
  if (ids.length === 1 && format === FORMAT_TLV) pos = closeTlv(tlvBuf, 0, pos);
  writePayload(writer, format === FORMAT_TLV ? tlvBuf.subarray(0, from > pos ? 0 : pos) : '[' + senml + ']');
  return 0;
}

/** The Discover answer of `ids` (LwM2M 1.1 §5.4.2): the object or instance and its resources, or
 * the resource, each with the attributes attached to it (`attrs` of a path's ids). */
export function discover(ids: number[], attrs: (obj: number, inst: number, res: number) => string): string {
  const obj = ids[0];
  let s = '';
  if (ids.length < 3) {
    s = link('/' + obj, attrs(obj, -1, -1)) + ',' + link('/' + obj + '/0', attrs(obj, 0, -1));
    if (ids.length > 1) s = s.substring(s.indexOf(',') + 1);
  }
  for (let i = 0; i < RESOURCES.length; i++) {
    const r = RESOURCES[i];
    if (r[0] !== obj || !served(r) || (ids.length > 2 && r[1] !== ids[2])) continue;
    s += (s ? ',' : '') + link('/' + obj + '/0/' + r[1], (r[3] & MULTIPLE ? ';dim=1' : '') + attrs(obj, 0, r[1]));
  }
  return s;
}

/** Values of the Write being checked, then applied: resource ids and values. (Arrays made afresh
 * per write: Espruino refuses `a.length = 0` on a module's const array, "Assignment to a constant".) */
let wRes: number[] = [];
let wVal: Lwm2mValue[] = [];

/** Why value `v` may not be written to /obj/0/res beyond what checkWrite checks, '' when it may. */
function refusal(obj: number, res: number, v: Lwm2mValue): string {
  const e = checkWrite(obj, res, v);
  if (e) return e;
  if (typeof v === 'string' && v.length > MAX_STRING) return 'l';
  // Only what the lamp can do: U binding, no stored notifications, on-time reset to 0 only, a
  // schedule switched off (it switches on by writing a position).
  if ((obj === SERVER && ((res === BINDING && v !== 'U') || (res === NOTIFICATION_STORING && v))) || (obj === LIGHT_CONTROL && res === ON_TIME && v !== 0) || (obj === LAMPNET_CONFIG && res === SCHEDULE && v && !valueOf(obj, res))) return 'v';
  return '';
}

/** Collects the values of a Write payload for `ids` into wRes/wVal: '' or why it is refused. */
function collect(ids: number[], format: number, payload: string): string {
  const obj = ids[0];
  const res = ids.length > 2 ? ids[2] : -1;
  wRes = [];
  wVal = [];
  if (ids.length > 3) return 'p';
  if (format === FORMAT_TEXT) {
    const r = res < 0 ? null : row(obj, res);
    const v = r ? parseText(r[2], payload) : null;
    if (v === null) return 'v';
    wRes.push(res);
    wVal.push(v);
    return '';
  }
  if (format === FORMAT_SENML_JSON) {
    const values = readSenml(payload);
    if (typeof values === 'string') return values;
    for (let i = 0; i < values.length; i++) {
      const x = values[i];
      if (x.obj !== obj || x.inst !== 0 || x.ri >= 0 || (res >= 0 && x.res !== res)) return 'p';
      wRes.push(x.res);
      wVal.push(x.value);
    }
    return '';
  }
  const buf = reader.buf;
  if (!readTlv(tlv, buf, reader.payloadOff, reader.payloadLen)) return tlv.error;
  for (let i = 0; i < tlv.count; i++) {
    const r = row(obj, tlv.res[i]);
    const v = r && tlv.ri[i] < 0 && tlv.inst[i] <= 0 && (res < 0 || tlv.res[i] === res) ? tlvValue(tlv, i, r[2]) : null;
    if (v === null) return 'v';
    wRes.push(tlv.res[i]);
    wVal.push(v);
  }
  return '';
}

/** A Write (PUT replace, POST partial update on an instance; PUT on a resource) of `payload` in
 * `format` to `ids`: every value is checked before any is applied. Returns the CoAP code. For the
 * single-instance resources of these objects a replace is a partial update: nothing is deleted. */
export function write(ids: number[], format: number, payload: string): number {
  const obj = ids[0];
  if (ids.length < 2) return METHOD_NOT_ALLOWED;
  if (format !== FORMAT_SENML_JSON && format !== FORMAT_TLV && !(format === FORMAT_TEXT && ids.length === 3)) return UNSUPPORTED_CONTENT_FORMAT;
  if (ids.length > 2 && !(row(obj, ids[2])![3] & W)) return METHOD_NOT_ALLOWED;
  if (collect(ids, format, payload) || !wRes.length) return BAD_REQUEST;
  for (let i = 0; i < wRes.length; i++) {
    const r = row(obj, wRes[i]);
    if (!r || !(r[3] & W)) return r ? METHOD_NOT_ALLOWED : BAD_REQUEST;
    if (refusal(obj, wRes[i], wVal[i])) return BAD_REQUEST;
  }
  if (obj === LIGHT_CONTROL) writeLight();
  else if (obj === SERVER) writeServer();
  else writeConfig();
  return CHANGED;
}

/** The value written to `res` in wRes/wVal, or undefined. */
function written(res: number): Lwm2mValue | undefined {
  const i = wRes.indexOf(res);
  return i < 0 ? undefined : wVal[i];
}

function writeLight(): void {
  const on = written(ON_OFF);
  const level = written(DIMMER);
  if (written(ON_TIME) === 0) {
    integrate();
    lamp.onMs = 0;
    noteChange();
  }
  if (on !== undefined || level !== undefined) {
    // The one-shot fade of /32311/0/14 applies to this change only.
    applyCommand(on === undefined ? -1 : on ? 1 : 0, level === undefined ? -1 : (level as number), lamp.nextFade);
    lamp.nextFade = -1;
  }
}

function writeServer(): void {
  const lt = written(LIFETIME);
  if (lt !== undefined && lt !== lamp.cfg.lifetimeS) {
    ownConfig(lamp).lifetimeS = lt as number;
    saveConfig();
    // The server learns the new lifetime from an Update carrying it.
    updateNow(2);
  }
}

function writeConfig(): void {
  integrate();
  const fade = written(NEXT_FADE_MS);
  if (fade !== undefined) lamp.nextFade = fade as number;
  if (wRes.length === (fade === undefined ? 0 : 1)) return;
  const own = ownConfig(lamp);
  const groups = own.groups;
  const edge = lamp.edge;
  const level = scheduleNow();
  const before = changes;
  for (let i = 0; i < wRes.length; i++) {
    const key = CONFIG_KEYS[wRes[i]];
    if (key) (own as unknown as Record<string, Lwm2mValue>)[key] = wVal[i];
    else if (wRes[i] === SCHEDULE && !wVal[i]) own.lat = own.lon = NaN;
  }
  saveConfig();
  if (changes === before) noteChange();
  if (own.groups !== groups) joinGroups(groups);
  // A schedule that now asks for another level or moved its next edge takes over at once.
  if (scheduleNow() !== level || lamp.edge !== edge) applySchedule();
}

/** Execute on /obj/0/res: 2.04, or 4.05 for a resource that is not executable. The reboot happens
 * after the answer (the platform reboots later, hal.ts). */
export function execute(ids: number[]): number {
  const r = ids.length === 3 ? row(ids[0], ids[2]) : null;
  if (!r || !(r[3] & E)) return METHOD_NOT_ALLOWED;
  if (ids[0] === SERVER && ids[2] === UPDATE_TRIGGER) updateNow(1);
  if (ids[0] === DEVICE && ids[2] === REBOOT) hal.reboot(lamp);
  return CHANGED;
}
