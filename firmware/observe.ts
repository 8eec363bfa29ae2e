/**
 * Observe (RFC 7641) as LwM2M uses it (1.1 Core §5.5.1), the notification attributes servers
 * attach with Write-Attributes (§5.1.2, protocol/lwm2m/attributes.ts), and publishing state changes.
 *
 * Memory: a gateway observes every lamp for good (3311, 3305, the error code), so per-observation
 * state is columns of typed arrays shared by the whole fleet, one entry per observation or attached
 * attribute set, chained per lamp from `lamp.obs` (34 bytes an entry; no object, closure or string
 * per observation). What many entries share is interned: attribute sets (a million lamps with
 * pmax=60 share one), peers with their ports (a fleet has one or a few observers) and content
 * formats, each entry naming them by a small number. Times are whole milliseconds in 32 bits from a
 * base that moves on as time passes; the last value notified is a 32-bit number (a hash, or a whole
 * number) kept apart only when it is not one. The columns grow by a quarter; freed entries are reused.
 *
 * When a notification goes (attributes.ts notifyDelay decides): on a state change (`publish`), and
 * at the observation's due time: pmin passed with a change pending, pmax passed. A resource whose
 * value drifts between events (energy, on-time) is also checked every max(pmin, CHECK_S) s while it
 * has gt/lt/st. A change is judged on the number for a numeric resource, on a hash of the
 * representation otherwise. Notifications are non-confirmable (the lamp keeps its one confirmable
 * slot for registration), so a lost one is repaired by the next. An observation ends with a Cancel
 * (Observe: 1), an RST to its notification, a reboot, or as the oldest of MAX_OBSERVERS.
 */
import { CONTENT, CONTENT_FORMAT, NON, OBSERVE, writeBegin, writeOption } from '../protocol/coap.js';
import { GT, LT, PMIN, ST, applyAttribute, attributeParams, attributes, attributesError, notifyDelay } from '../protocol/lwm2m/attributes.js';
import { BOOLEAN, STRING, type Lwm2mValue } from '../protocol/lwm2m/objects.js';
import { lamp, peer, peerPort, time } from './context.js';
import type { Addr } from './hal.js';
import { reader, sendBuf, sendWritten, writer } from './exchange.js';
import { OBJECTS, render, row, valueOf } from './resources.js';

/** Observations a lamp keeps; a new one beyond replaces the oldest. */
export const MAX_OBSERVERS = 6;
/** Attribute sets a lamp keeps (one per path); Write-Attributes beyond is refused. */
export const MAX_ATTRIBUTED = 8;
/** Distinct attribute sets in the whole fleet; a new one beyond is refused. */
export const MAX_SETS = 64;
/** Seconds between checks of a drifting value with a threshold (gt/lt/st). */
export const CHECK_S = 5;

const ATTR = 9;
/** `peer` of an entry whose peer did not fit the peer table: its address and port are in `far`. */
const FAR = 255;
/** `due` of an entry that needs no check. */
const NEVER = 0xffffffff;
/** `flags`: the last value is in `wide`, not `last`; `mid` holds the last notification's id. */
const WIDE = 1;
const NOTIFIED = 2;
/** How far back and forth of now ticks reach after a move of the base (ms). */
const SPAN = 1073741824;

// The columns (entry i): next entry of its lamp, path code, kind (token length 0-8, ATTR), flags,
// token bytes (8 each), peer (index of `peers`), content format (index of `formats`), message id of
// its last notification (ATTR entries: the attribute set), last notification's tick, the value it
// carried and the tick of the next check.
let cap = 0;
let free = -1;
let next = new Int32Array(0);
let path = new Int32Array(0);
let kind = new Uint8Array(0);
let flags = new Uint8Array(0);
let tok = new Uint8Array(0);
let peerOf = new Uint8Array(0);
let fmt = new Uint8Array(0);
let mid = new Uint16Array(0);
let at = new Uint32Array(0);
let last = new Uint32Array(0);
let due = new Uint32Array(0);
/** Last values that are no 32-bit whole number, and peers beyond the table, by entry. */
const wide: { [i: number]: number } = {};
const far: { [i: number]: Addr } = {};
const farPort: { [i: number]: number } = {};

/** Interned peers (address and port) and how many entries use each; interned content formats. */
const peers: Addr[] = [];
const ports: number[] = [];
const peerRefs: number[] = [];
const formats: number[] = [];

/** Interned attribute sets and how many entries use each. */
const sets: Float64Array[] = [];
const refs: number[] = [];

/** Observe sequence number of the last notification, one counter for all (RFC 7641 §4.4 asks only
 * that each observation's numbers increase). */
let seq = 0;

/** Time of tick 0 (ms). */
let base = 0;

/** `t` (ms) as a tick: whole ms from `base`. When `t` comes near either end of 32 bits, the base
 * moves to SPAN before `t` and every tick with it; a last notification older than SPAN (12 days)
 * then counts as SPAN old, which only a pmin or pmax of more than 12 days would notice. */
function tick(t: number): number {
  if (t < base || t - base >= 3 * SPAN) {
    const b = Math.floor(t) - SPAN;
    const shift = b - base;
    for (let i = 0; i < cap; i++) {
      at[i] = Math.min(Math.max(at[i] - shift, 0), NEVER - 1);
      if (due[i] !== NEVER) due[i] = Math.min(Math.max(due[i] - shift, 0), NEVER - 1);
    }
    base = b;
  }
  return Math.floor(t - base);
}

/** Seconds from entry i's last notification to now. */
function since(i: number): number {
  return (tick(time) - at[i]) / 1000;
}

/** `b` with `a` copied to its start. */
function grown<T extends Int32Array | Uint8Array | Uint16Array | Uint32Array>(b: T, a: T): T {
  b.set(a);
  return b;
}

/** A free entry (the columns grow by a quarter when none is left). */
function allocate(): number {
  if (free < 0) {
    const size = cap + (cap >> 2) + 4;
    next = grown(new Int32Array(size), next);
    path = grown(new Int32Array(size), path);
    kind = grown(new Uint8Array(size), kind);
    flags = grown(new Uint8Array(size), flags);
    tok = grown(new Uint8Array(size * 8), tok);
    peerOf = grown(new Uint8Array(size), peerOf);
    fmt = grown(new Uint8Array(size), fmt);
    mid = grown(new Uint16Array(size), mid);
    at = grown(new Uint32Array(size), at);
    last = grown(new Uint32Array(size), last);
    due = grown(new Uint32Array(size), due);
    for (let i = size - 1; i >= cap; i--) {
      next[i] = free;
      free = i;
    }
    cap = size;
  }
  const i = free;
  free = next[i];
  flags[i] = 0;
  return i;
}

/** Entry i's peer is the context's: interned (a free slot of the table reused), or kept apart. */
function setPeer(i: number): void {
  let p = -1;
  for (let k = 0; k < peers.length && p < 0; k++) if (peers[k] === peer && ports[k] === peerPort) p = k;
  for (let k = 0; k < peers.length && p < 0; k++) if (!peerRefs[k]) p = k;
  if (p < 0 && peers.length < FAR) p = peers.length;
  if (p < 0) {
    far[i] = peer;
    farPort[i] = peerPort;
    p = FAR;
  } else {
    if (peers[p] !== peer || ports[p] !== peerPort) peerRefs[p] = 0;
    peers[p] = peer;
    ports[p] = peerPort;
    peerRefs[p]++;
  }
  peerOf[i] = p;
}

/** Entry i's peer address, and its port. */
function addrOf(i: number): Addr {
  return peerOf[i] === FAR ? far[i] : peers[peerOf[i]];
}
function portOf(i: number): number {
  return peerOf[i] === FAR ? farPort[i] : ports[peerOf[i]];
}

/** The value entry i last notified. */
function lastOf(i: number): number {
  return flags[i] & WIDE ? wide[i] : last[i];
}

/** Unlinks entry i (after `prev`, -1 for the head) from the lamp and frees it. */
function remove(i: number, prev: number): void {
  if (prev < 0) lamp.obs = next[i];
  else next[prev] = next[i];
  if (kind[i] === ATTR) refs[mid[i]]--;
  else if (peerOf[i] === FAR) {
    delete far[i];
    delete farPort[i];
  } else peerRefs[peerOf[i]]--;
  if (flags[i] & WIDE) delete wide[i];
  next[i] = free;
  free = i;
}

/** Appends entry i to the lamp's chain. */
function append(i: number): void {
  next[i] = -1;
  let j = lamp.obs;
  if (j < 0) lamp.obs = i;
  else {
    while (next[j] >= 0) j = next[j];
    next[j] = i;
  }
}

/** Frees every entry of the lamp (boot, halt). */
export function dropObservations(): void {
  while (lamp.obs >= 0) remove(lamp.obs, -1);
}

/** A path (ids of an object the lamp serves, instance 0) as one number. */
export function pathCode(obj: number, inst: number, res: number): number {
  return OBJECTS.indexOf(obj) * 262144 + (inst + 1) * 131072 + res + 1;
}

/** The entry of the lamp's attributes for `code`, -1 when none. */
function attributed(code: number): number {
  for (let i = lamp.obs; i >= 0; i = next[i]) if (kind[i] === ATTR && path[i] === code) return i;
  return -1;
}

/** The attributes in force for an observation of /obj/inst/res: each one from the most specific
 * level that sets it (resource, then instance, then object; LwM2M 1.1 §5.1.2). */
const eff = attributes();
function effective(obj: number, inst: number, res: number): Float64Array {
  for (let k = 0; k < 7; k++) eff[k] = NaN;
  for (let level = 0; level < 3; level++) {
    const i = attributed(pathCode(obj, level > 1 ? -1 : inst, level > 0 ? -1 : res));
    const a = i < 0 || (level === 0 && res < 0) || (level === 1 && inst < 0) ? null : sets[mid[i]];
    for (let k = 0; a && k < 7; k++) if (eff[k] !== eff[k]) eff[k] = a[k];
  }
  return eff;
}

/** The attributes attached to exactly /obj[/inst[/res]] as link parameters (Discover). */
export function attachedParams(obj: number, inst: number, res: number): string {
  const i = attributed(pathCode(obj, inst, res));
  return i < 0 ? '' : attributeParams(sets[mid[i]]);
}

/** Write-Attributes: applies the Uri-Query items to the attributes of /obj[/inst[/res]]. Returns
 * '' or why they are refused (the request then gets 4.00; 'n' no room: 5.03). */
export function writeAttributes(obj: number, inst: number, res: number, queries: string[]): string {
  const code = pathCode(obj, inst, res);
  const i = attributed(code);
  const a = attributes();
  if (i >= 0) a.set(sets[mid[i]]);
  for (let k = 0; k < queries.length; k++) {
    const e = applyAttribute(a, queries[k]);
    if (e) return e;
  }
  const e = attributesError(a);
  // gt, lt and st compare numbers: only a numeric resource has them.
  const r = res >= 0 ? row(obj, res) : null;
  if (e || (a[GT] === a[GT] || a[LT] === a[LT] || a[ST] === a[ST]) && !(r && r[2] !== STRING && r[2] !== BOOLEAN)) return e || 'g';
  let id = -1;
  let unused = -1;
  let empty = true;
  for (let k = 0; k < 7; k++) empty = empty && a[k] !== a[k];
  for (let s = 0; s < sets.length && id < 0; s++) {
    let same = true;
    for (let k = 0; k < 7; k++) same = same && (sets[s][k] === a[k] || (a[k] !== a[k] && sets[s][k] !== sets[s][k]));
    if (same) id = s;
    else if (unused < 0 && !refs[s]) unused = s;
  }
  if (!empty && id < 0) {
    if (unused < 0 && sets.length >= MAX_SETS) return 'n';
    id = unused < 0 ? sets.length : unused;
    sets[id] = a;
    refs[id] = 0;
  }
  let count = 0;
  for (let j = lamp.obs; j >= 0; j = next[j]) count += kind[j] === ATTR ? 1 : 0;
  if (i < 0 && !empty && count >= MAX_ATTRIBUTED) return 'n';
  let prev = -1;
  for (let j = lamp.obs; j >= 0 && j !== i; j = next[j]) prev = j;
  if (i >= 0) remove(i, prev);
  if (!empty) {
    const j = allocate();
    kind[j] = ATTR;
    path[j] = code;
    mid[j] = id;
    refs[id]++;
    append(j);
  }
  // New periods take effect from the last notification on (a pmax already passed: at once).
  for (let j = lamp.obs; j >= 0; j = next[j]) {
    if (kind[j] === ATTR) continue;
    const ids = idsOf(path[j]);
    const e = effective(ids[0], ids.length > 1 ? 0 : -1, ids.length > 2 ? ids[2] : -1);
    schedule(j, e, notifyDelay(e, 0, 0, since(j)));
  }
  return '';
}

/** Whether an observation of `code` judges changes on a number (a numeric resource). */
function numeric(code: number): number[] | null {
  const res = (code & 131071) - 1;
  const r = res >= 0 ? row(OBJECTS[code >> 18], res) : null;
  return r && r[2] !== STRING ? r : null;
}

/** Ids of a path code. */
function idsOf(code: number): number[] {
  const ids = [OBJECTS[code >> 18]];
  if (code & 131072) ids.push(0);
  if (code & 131071) ids.push((code & 131071) - 1);
  return ids;
}

/** The value of observation i now: its number, or the FNV-1a hash of the representation in
 * sendBuf[from..writer.pos). */
function valueNow(i: number, from: number): number {
  const r = numeric(path[i]);
  if (r) return +(valueOf(r[0], r[1]) as Lwm2mValue);
  let h = 0x811c9dc5;
  for (let k = from; k < writer.pos && k < sendBuf.length; k++) {
    h ^= sendBuf[k];
    // h * 16777619 mod 2^32, exact in doubles (as protocol/lamp.ts fnv1a32).
    h = ((h << 24) + h * 403) >>> 0;
  }
  return h;
}

/** Starts the message of observation i (header, Observe, Content-Format) and renders its
 * representation; returns where the payload starts. The message id and sequence number written
 * are the next ones, taken only if it is sent. */
function renderNotification(i: number): number {
  writeBegin(writer, sendBuf, 0, NON, CONTENT, (lamp.mid + 1) & 0xffff, tok, i * 8, kind[i]);
  writeOption(writer, OBSERVE, (seq + 1) & 0xffffff);
  writeOption(writer, CONTENT_FORMAT, formats[fmt[i]]);
  const from = writer.pos;
  render(idsOf(path[i]), formats[fmt[i]]);
  return from;
}

/** Decides for observation i now: notifies it when due, and sets when to check it next. */
function check(i: number): void {
  const ids = idsOf(path[i]);
  const a = effective(ids[0], ids.length > 1 ? 0 : -1, ids.length > 2 ? ids[2] : -1);
  const v = valueNow(i, renderNotification(i));
  const s = since(i);
  // A hash is compared for equality only: as text, so no threshold applies to it.
  const d = numeric(path[i]) ? notifyDelay(a, v, lastOf(i), s) : notifyDelay(a, '' + v, '' + lastOf(i), s);
  if (d > 0) return schedule(i, a, d);
  lamp.mid = (lamp.mid + 1) & 0xffff;
  seq = (seq + 1) & 0xffffff;
  mid[i] = lamp.mid;
  flags[i] |= NOTIFIED;
  sendWritten(addrOf(i), portOf(i));
  notified(i, a, v);
}

/** Observation i carried value `v` now: its next check is at pmax (or never, or sooner, below). */
function notified(i: number, a: Float64Array, v: number): void {
  at[i] = tick(time);
  if (flags[i] & WIDE) delete wide[i];
  flags[i] &= ~WIDE;
  // A whole number of 32 bits (a hash, a level, an error code) fits the column; others go apart.
  if (v >>> 0 === v) last[i] = v;
  else {
    wide[i] = v;
    flags[i] |= WIDE;
  }
  schedule(i, a, notifyDelay(a, 0, 0, 0));
}

/** Checks observation i again in `d` s, or sooner when it is a drifting number with a threshold. */
function schedule(i: number, a: Float64Array, d: number): void {
  if (numeric(path[i]) && (a[GT] === a[GT] || a[LT] === a[LT] || a[ST] === a[ST])) d = Math.min(d, Math.max(a[PMIN] === a[PMIN] ? a[PMIN] : 0, CHECK_S));
  // Whole ms, never early (a check before its time would find it not yet due, and again at the
  // same instant); the float error of d·1000 is not a millisecond.
  const t = tick(time) + (d > 0 ? Math.max(1, Math.ceil(d * 1000 - 1e-6)) : 0);
  due[i] = t < NEVER ? t : d === Infinity ? NEVER : NEVER - 1;
}

/** GET with Observe 0 on `ids` from the context's peer, answered in `format`: adds the
 * observation (replacing the peer's own of the same path) and writes the Observe option of the
 * answer. Call `observeStarted` with the position the answer's payload starts at once it is
 * rendered. Observe 1 (Cancel) removes the peer's observation with the request's token. */
let started = -1;
export function observeRequest(ids: number[], format: number, observe: number): void {
  const code = pathCode(ids[0], ids.length > 1 ? 0 : -1, ids.length > 2 ? ids[2] : -1);
  started = -1;
  let count = 0;
  let oldest = -1;
  let prev = -1;
  for (let i = lamp.obs; i >= 0; ) {
    const n = next[i];
    let same = kind[i] !== ATTR && addrOf(i) === peer && portOf(i) === peerPort;
    if (same && observe === 1) {
      same = kind[i] === reader.tokenLen;
      for (let k = 0; same && k < kind[i]; k++) same = tok[i * 8 + k] === reader.buf[reader.tokenOff + k];
    } else same = same && path[i] === code;
    if (same) remove(i, prev);
    else {
      if (kind[i] !== ATTR && count++ === 0) oldest = i;
      prev = i;
    }
    i = n;
  }
  if (observe !== 0 || ids.length > 3) return;
  if (count >= MAX_OBSERVERS) {
    prev = -1;
    for (let j = lamp.obs; j !== oldest; j = next[j]) prev = j;
    remove(oldest, prev);
  }
  const i = allocate();
  kind[i] = reader.tokenLen;
  for (let k = 0; k < reader.tokenLen; k++) tok[i * 8 + k] = reader.buf[reader.tokenOff + k];
  setPeer(i);
  path[i] = code;
  let f = formats.indexOf(format);
  if (f < 0) f = formats.push(format) - 1;
  fmt[i] = f;
  at[i] = tick(time);
  append(i);
  started = i;
  writeOption(writer, OBSERVE, (seq = (seq + 1) & 0xffffff));
}

/** The answer to an Observe 0 is rendered from `from` on: it is the observation's first value. */
export function observeStarted(from: number, ok: boolean): void {
  const i = started;
  started = -1;
  if (i < 0) return;
  let prev = -1;
  for (let j = lamp.obs; j !== i; j = next[j]) prev = j;
  if (!ok) return remove(i, prev);
  notified(i, effective(OBJECTS[path[i] >> 18], path[i] & 131072 ? 0 : -1, (path[i] & 131071) - 1), valueNow(i, from));
}

/** An RST from the context's peer for `mid`: if it answers a notification, that observation ends. */
export function observerReset(id: number): boolean {
  let prev = -1;
  for (let i = lamp.obs; i >= 0; i = next[i]) {
    if (kind[i] !== ATTR && flags[i] & NOTIFIED && mid[i] === id && addrOf(i) === peer) {
      remove(i, prev);
      return true;
    }
    prev = i;
  }
  return false;
}

/** The lamp's state changed: every observation is judged now. */
export function publish(): void {
  for (let i = lamp.obs; i >= 0; i = next[i]) if (kind[i] !== ATTR) check(i);
}

/** Timer work: observations whose time has come. */
export function observeDue(): void {
  const now = tick(time);
  for (let i = lamp.obs; i >= 0; i = next[i]) if (kind[i] !== ATTR && due[i] <= now) check(i);
}

/** When the observations next need the timer. */
export function observeWake(): number {
  let t = NEVER;
  for (let i = lamp.obs; i >= 0; i = next[i]) if (kind[i] !== ATTR && due[i] < t) t = due[i];
  return t === NEVER ? Infinity : base + t;
}

/** The observations of the lamp, for tests and diagnostics: peer, path ids and format of each. */
export function observations(): { to: Addr; ids: number[]; format: number }[] {
  const out: { to: Addr; ids: number[]; format: number }[] = [];
  for (let i = lamp.obs; i >= 0; i = next[i]) if (kind[i] !== ATTR) out.push({ to: addrOf(i), ids: idsOf(path[i]), format: formats[fmt[i]] });
  return out;
}
