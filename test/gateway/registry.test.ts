/** The lamp registry: registrations, lifetimes, groups, aggregates. */
import { describe, expect, it } from 'vitest';
import { LampRegistry } from '../../gateway/registry.js';

const usable = (): boolean => true;
const report = { on: true, level: 80, watts: 48, energyWh: 10, onTimeS: 100, fault: false };

describe('LampRegistry', () => {
  it('keeps one record per endpoint id across re-registrations', () => {
    const r = new LampRegistry();
    const a = r.register('7', '2001:db8::7', 5683, 300, '', usable, 0);
    const b = r.register('7', '2001:db8::77', 5684, 60, '', usable, 1000);
    expect(b).toBe(a);
    expect(r.size).toBe(1);
    expect(r.address(a)).toBe('2001:db8::77');
    expect(r.port(a)).toBe(5684);
    expect(r.lifetimeS(a)).toBe(60);
  });

  it('marks a lamp offline once its lifetime and the grace have passed, in one sweep', () => {
    const r = new LampRegistry({ graceMs: 500 });
    const i = r.register('1', '::1', 5683, 10, '', usable, 0);
    const lapsed: number[] = [];
    r.sweep(10_400, (k) => lapsed.push(k));
    expect(r.online(i)).toBe(true);
    r.sweep(10_501, (k) => lapsed.push(k));
    expect(lapsed).toEqual([i]);
    expect(r.online(i)).toBe(false);
    expect(r.onlineCount).toBe(0);
    r.sweep(20_000, (k) => lapsed.push(k));
    expect(lapsed).toEqual([i]);
  });

  it('brings a lapsed lamp back online when it registers again', () => {
    const r = new LampRegistry({ graceMs: 0 });
    const i = r.register('1', '::1', 5683, 1, '', usable, 0);
    r.sweep(2000, () => {});
    r.register('1', '::1', 5683, 1, '', usable, 3000);
    expect(r.online(i)).toBe(true);
    expect(r.onlineCount).toBe(1);
  });

  it('finds the members of a group and skips unusable group names', () => {
    const r = new LampRegistry();
    r.register('1', '::1', 1, 300, 'north, all', usable, 0);
    r.register('2', '::2', 1, 300, 'south,all,bad/name', (g) => !g.includes('/'), 0);
    r.register('3', '::3', 1, 300, 'north,all', usable, 0);
    const members = (g: string): string[] => {
      const ids: string[] = [];
      r.forEachMember(g, (i) => ids.push(r.id(i)));
      return ids;
    };
    expect(members('north')).toEqual(['1', '3']);
    expect(members('all')).toEqual(['1', '2', '3']);
    expect(members('bad/name')).toEqual([]);
    expect(r.groupsOf(1)).toEqual(['south', 'all']);
  });

  it('aggregates online lamps by state and every lamp\'s energy', () => {
    const r = new LampRegistry({ graceMs: 0 });
    const a = r.register('a', '::1', 1, 300, 'g', usable, 0);
    const b = r.register('b', '::2', 1, 10, 'g', usable, 0);
    r.register('c', '::3', 1, 300, '', usable, 0);
    r.setReport(a, report, 0);
    r.setReport(b, { ...report, fault: true }, 0);
    r.sweep(20_000, () => {});
    const { fleet, groups } = r.aggregate();
    expect(fleet).toEqual({ lamps: 3, online: 2, offline: 1, on: 1, off: 1, fault: 0, watts: 48, energyWh: 20 });
    expect(groups.get('g')).toEqual({ lamps: 2, online: 1, offline: 1, on: 1, off: 0, fault: 0, watts: 48, energyWh: 20 });
  });

  it('rounds the sums of many readings to 0.1 W and 0.001 Wh, for the fleet and its groups', () => {
    const r = new LampRegistry();
    // 0.1 and 0.7 have no exact binary form: summed 1,000 times they drift off the decimal.
    for (let n = 0; n < 1000; n++) {
      r.setReport(r.register(String(n), `::${n + 1}`, 1, 300, 'g', usable, 0), { ...report, watts: 0.7, energyWh: 0.1 }, 0);
    }
    let raw = 0;
    for (let n = 0; n < 1000; n++) raw += 0.7;
    expect(raw).not.toBe(700);
    const { fleet, groups } = r.aggregate();
    expect(fleet.watts).toBe(700);
    expect(fleet.energyWh).toBe(100);
    expect(groups.get('g')!.watts).toBe(700);
    expect(JSON.stringify(fleet)).toContain('"watts":700,"energyWh":100}');
  });

  it('refuses registrations beyond maxLamps', () => {
    const r = new LampRegistry({ maxLamps: 2 });
    expect(r.register('1', '::1', 1, 300, '', usable, 0)).toBe(0);
    expect(r.register('2', '::2', 1, 300, '', usable, 0)).toBe(1);
    expect(r.register('3', '::3', 1, 300, '', usable, 0)).toBe(-1);
    expect(r.register('1', '::1', 1, 300, '', usable, 0)).toBe(0);
  });

  it('holds a million lamps as flat records', () => {
    const r = new LampRegistry();
    for (let n = 1; n <= 1_000_000; n++) r.register(String(n), `fd6c:616d:706e::${n.toString(16)}`, 5683, 300, 'street-1,all', usable, 0);
    expect(r.size).toBe(1_000_000);
    expect(r.onlineCount).toBe(1_000_000);
    expect(r.find('654321')).toBe(654_320);
    expect(r.aggregate().groups.get('all')!.lamps).toBe(1_000_000);
  });
});
