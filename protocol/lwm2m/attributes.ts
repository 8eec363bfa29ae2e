/**
 * LwM2M notification attributes (1.1 Core §5.1.2): what a server sets with Write-Attributes
 * (Uri-Query `pmin=10`, `pmax=60`, `gt=`, `lt=`, `st=`, `epmin=`, `epmax=`; a bare name clears one)
 * and reads back in Discover (`</3311/0/5805>;pmax=60`), and the one rule deciding when an observed
 * value is notified, which the lamp follows and the tests check.
 *
 * Attributes are a Float64Array indexed by PMIN..EPMAX, NaN where unset: a few bytes, no property
 * names, and one set can be shared by every observation that has the same.
 *
 * Firmware rule: ES5-lowerable, no RegExp.
 */
import { BRIEF } from '../diagnostics.js';
import { parseText } from './formats.js';
import { FLOAT, INTEGER } from './objects.js';

export const PMIN = 0;
export const PMAX = 1;
export const GT = 2;
export const LT = 3;
export const ST = 4;
export const EPMIN = 5;
export const EPMAX = 6;
/** Attribute names by index. */
export const ATTRIBUTE_NAMES = ['pmin', 'pmax', 'gt', 'lt', 'st', 'epmin', 'epmax'];

/** A set of attributes, all unset. */
export function attributes(): Float64Array {
  const a = new Float64Array(7);
  for (let i = 0; i < 7; i++) a[i] = NaN;
  return a;
}

/** Applies one Write-Attributes Uri-Query item (an 8-bit string) to `a`: `name=value` sets it,
 * `name` alone clears it. Returns '' or why it is refused (the request then gets 4.00 and `a` must
 * be discarded): an unknown name, periods that are not whole seconds ≥ 0, gt/lt/st that are not
 * numbers, st < 0. In the board's bundle one letter: a attribute, v value. */
export function applyAttribute(a: Float64Array, query: string): string {
  const eq = query.indexOf('=');
  const name = eq < 0 ? query : query.substring(0, eq);
  const i = ATTRIBUTE_NAMES.indexOf(name);
  if (i < 0) return BRIEF ? 'a' : 'unknown attribute "' + name + '"';
  if (eq < 0) {
    a[i] = NaN;
    return '';
  }
  const text = query.substring(eq + 1);
  const period = i === PMIN || i === PMAX || i === EPMIN || i === EPMAX;
  const v = parseText(period ? INTEGER : FLOAT, text) as number | null;
  if (v === null || ((period || i === ST) && v < 0)) return BRIEF ? 'v' : 'attribute ' + name + '=' + text + ' is not ' + (period ? 'a whole number of seconds' : i === ST ? 'a number ≥ 0' : 'a number');
  a[i] = v;
  return '';
}

/** Why the attributes cannot stand together ('' when they can): pmin > pmax, epmin > epmax,
 * lt ≥ gt, or lt + 2·st ≥ gt (LwM2M 1.1 §5.1.2: with all three, lt + 2·st < gt). Checked after
 * all items of a request are applied, on the attributes that result. In the board's bundle 'c'. */
export function attributesError(a: Float64Array): string {
  const st = a[ST] === a[ST] ? a[ST] : 0;
  if (a[PMIN] > a[PMAX]) return BRIEF ? 'c' : 'pmin ' + a[PMIN] + ' exceeds pmax ' + a[PMAX];
  if (a[EPMIN] > a[EPMAX]) return BRIEF ? 'c' : 'epmin ' + a[EPMIN] + ' exceeds epmax ' + a[EPMAX];
  if (!(a[LT] + 2 * st < a[GT]) && a[LT] === a[LT] && a[GT] === a[GT]) return BRIEF ? 'c' : 'lt ' + a[LT] + (st ? ' + 2·st ' + 2 * st : '') + ' is not below gt ' + a[GT];
  return '';
}

/** Whether `value` has changed from `last` enough to notify: any change when no gt/lt/st is set;
 * with them (numbers only), crossing gt or lt in either direction, or moving by st or more. */
function changedEnough(a: Float64Array, value: number | boolean | string, last: number | boolean | string): boolean {
  if (value === last) return false;
  if (typeof value !== 'number' || typeof last !== 'number' || (a[GT] !== a[GT] && a[LT] !== a[LT] && a[ST] !== a[ST])) return true;
  return (last > a[GT]) !== (value > a[GT]) || (last < a[LT]) !== (value < a[LT]) || Math.abs(value - last) >= a[ST];
}

/** Seconds from now until an observation must be notified, given its attributes, the value now,
 * the value last notified and the seconds since that notification: 0 = notify now; Infinity = not
 * until the value changes. A change that qualifies (see changedEnough) is notified once pmin has
 * passed since the last notification; pmax, when set, forces a notification that long after the
 * last one, changed or not. The caller schedules its next check at this delay (and again whenever
 * the value changes). epmin/epmax are carried but not evaluated here. */
export function notifyDelay(a: Float64Array, value: number | boolean | string, last: number | boolean | string, sinceS: number): number {
  let due = a[PMAX] > 0 ? a[PMAX] - sinceS : Infinity;
  if (changedEnough(a, value, last)) due = Math.min(due, a[PMIN] === a[PMIN] ? a[PMIN] - sinceS : 0);
  return due > 0 ? due : 0;
}

/** The set attributes as link-format parameters (`;pmin=10;pmax=60`), for a Discover answer or a
 * Write-Attributes request's Uri-Query items (split at ';'). */
export function attributeParams(a: Float64Array): string {
  let s = '';
  for (let i = 0; i < 7; i++) if (a[i] === a[i]) s += ';' + ATTRIBUTE_NAMES[i] + '=' + a[i];
  return s;
}
