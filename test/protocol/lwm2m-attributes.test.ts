/**
 * Notification attributes (protocol/lwm2m/attributes.ts): Write-Attributes items applied and
 * checked as LwM2M 1.1 §5.1.2 says, and the rule that decides when an observation is notified.
 */
import { describe, expect, it } from 'vitest';
import { GT, LT, PMAX, PMIN, ST, applyAttribute, attributeParams, attributes, attributesError, notifyDelay } from '../../protocol/lwm2m/attributes.js';

/** Attributes from Write-Attributes items; throws on a refused one (for building test cases). */
function attrs(...items: string[]): Float64Array {
  const a = attributes();
  for (const q of items) {
    const e = applyAttribute(a, q);
    if (e) throw new Error(e);
  }
  return a;
}

describe('Write-Attributes items', () => {
  it('sets, replaces and clears attributes and lists them for Discover', () => {
    const a = attrs('pmin=10', 'pmax=60', 'gt=50.5', 'lt=-3', 'st=2');
    expect(attributeParams(a)).toBe(';pmin=10;pmax=60;gt=50.5;lt=-3;st=2');
    expect(applyAttribute(a, 'pmax=120')).toBe('');
    expect(applyAttribute(a, 'gt')).toBe('');
    expect(attributeParams(a)).toBe(';pmin=10;pmax=120;lt=-3;st=2');
    expect(attributeParams(attributes())).toBe('');
  });

  it.each([
    ['an unknown attribute', 'dim=2', 'unknown attribute "dim"'],
    ['a fractional period', 'pmin=1.5', 'whole number of seconds'],
    ['a negative period', 'pmax=-1', 'whole number of seconds'],
    ['a period with a sign', 'pmax=+1', 'whole number of seconds'],
    ['an empty value', 'pmin=', 'whole number of seconds'],
    ['a threshold that is not a number', 'gt=abc', 'a number'],
    ['a threshold with a space', 'lt= 5', 'a number'],
    ['a negative step', 'st=-1', 'a number ≥ 0'],
  ])('refuses %s', (_what, item, reason) => {
    expect(applyAttribute(attributes(), item)).toContain(reason);
  });

  it.each([
    ['pmin above pmax', ['pmin=60', 'pmax=10'], 'pmin 60 exceeds pmax 10'],
    ['epmin above epmax', ['epmin=60', 'epmax=10'], 'epmin 60 exceeds epmax 10'],
    ['lt not below gt', ['lt=5', 'gt=5'], 'is not below gt'],
    ['lt + 2·st not below gt', ['lt=0', 'gt=10', 'st=5'], 'lt 0 + 2·st 10 is not below gt 10'],
  ])('refuses %s together', (_what, items, reason) => {
    expect(attributesError(attrs(...items))).toContain(reason);
  });

  it('accepts lt + 2·st just below gt, and any one threshold alone', () => {
    expect(attributesError(attrs('lt=0', 'gt=10', 'st=4.99'))).toBe('');
    expect(attributesError(attrs('gt=10', 'st=100'))).toBe('');
    expect(attributesError(attrs('pmin=10', 'pmax=10'))).toBe('');
  });
});

describe('when to notify', () => {
  it('notifies any change at once without attributes, and nothing while the value stays', () => {
    expect(notifyDelay(attributes(), 5, 4, 0)).toBe(0);
    expect(notifyDelay(attributes(), true, false, 0)).toBe(0);
    expect(notifyDelay(attributes(), 'a', 'a', 1e6)).toBe(Infinity);
  });

  it('holds a change until pmin has passed since the last notification', () => {
    const a = attrs('pmin=10');
    expect(notifyDelay(a, 5, 4, 3)).toBe(7);
    expect(notifyDelay(a, 5, 4, 10)).toBe(0);
  });

  it('notifies at pmax whether or not the value changed', () => {
    const a = attrs('pmin=10', 'pmax=60');
    expect(notifyDelay(a, 4, 4, 0)).toBe(60);
    expect(notifyDelay(a, 4, 4, 59.5)).toBe(0.5);
    expect(notifyDelay(a, 4, 4, 61)).toBe(0);
    expect(a[PMAX]).toBe(60);
    expect(notifyDelay(attrs('pmax=0'), 4, 4, 1e6)).toBe(Infinity);
  });

  it('with st, notifies only moves of st or more from the last notified value', () => {
    const a = attrs('st=2');
    expect(notifyDelay(a, 11.9, 10, 100)).toBe(Infinity);
    expect(notifyDelay(a, 12, 10, 100)).toBe(0);
    expect(notifyDelay(a, 8, 10, 100)).toBe(0);
  });

  it('with gt or lt, notifies crossing the threshold in either direction', () => {
    const a = attrs('gt=50', 'lt=10');
    expect([a[GT], a[LT], a[ST], a[PMIN]]).toEqual([50, 10, NaN, NaN]);
    expect(notifyDelay(a, 49, 20, 0)).toBe(Infinity);
    expect(notifyDelay(a, 51, 49, 0)).toBe(0);
    expect(notifyDelay(a, 49, 51, 0)).toBe(0);
    expect(notifyDelay(a, 9, 11, 0)).toBe(0);
    expect(notifyDelay(a, 11, 9, 0)).toBe(0);
  });

  it('applies gt/lt/st to numbers only: a boolean or string notifies on any change', () => {
    expect(notifyDelay(attrs('st=5'), true, false, 0)).toBe(0);
  });
});
