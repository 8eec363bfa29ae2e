/**
 * The dashboard's lamp store (gateway/dashboard/lamp-store.ts): the fleet snapshot and the MQTT
 * messages describe the same lamps and arrive in either order, so whichever report is newer must
 * win; and the search box finds a lamp by id or by any spelling of its address.
 */
import { describe, expect, test } from 'vitest';
import { SNAPSHOT_ON, SNAPSHOT_ONLINE, SNAPSHOT_REPORTED, type FleetSnapshot } from '../../protocol/dashboard-api.js';
import { lampStateDocument } from '../../protocol/mqtt-topics.js';
import { KNOWN, LampStore, ON, ONLINE } from '../../gateway/dashboard/lamp-store.js';

const T0 = Date.UTC(2026, 11, 7, 18, 0, 0);

/** A snapshot of lamps 1..n, all online and on at `level`, reported at `at`. */
function snapshot(n: number, level: number, at: number): FleetSnapshot {
  const ids = Array.from({ length: n }, (_, k) => String(k + 1));
  return {
    at,
    groupLists: [['street-1']],
    lamps: {
      id: ids,
      address: ids.map((id) => `fd6c:616d:706e::${Number(id).toString(16)}`),
      flags: ids.map(() => SNAPSHOT_ONLINE | SNAPSHOT_REPORTED | SNAPSHOT_ON),
      level: ids.map(() => level),
      watts: ids.map(() => 60),
      energyWh: ids.map(() => 1.5),
      groups: ids.map(() => 0),
      reportedAt: ids.map(() => at),
    },
  };
}

const stateMessage = (level: number, at: number): string =>
  JSON.stringify(lampStateDocument({ on: true, level, watts: 60, energyWh: 1.5, onTimeS: 0, fault: false }, 'fd6c:616d:706e::1', ['street-1'], at));

describe('the dashboard lamp store', () => {
  test('a snapshot puts every lamp on the map, online, with its state, groups and address', () => {
    const store = new LampStore();
    expect(store.applySnapshot(snapshot(250, 70, T0))).toBe(250);
    expect(store.reported).toBe(250);
    expect(store.places).toBe(250);
    const lamp = store.details(store.slotOf('42') as number);
    expect(lamp).toMatchObject({ id: '42', address: 'fd6c:616d:706e::2a', level: 70, watts: 60, energyWh: 1.5, groups: ['street-1'], reportedAt: T0 });
    expect(lamp.flags & (KNOWN | ONLINE | ON)).toBe(KNOWN | ONLINE | ON);
    expect(store.takeDirty()).toHaveLength(250);
  });

  test('a retained message older than the snapshot changes nothing; a newer one wins', () => {
    const store = new LampStore();
    store.applySnapshot(snapshot(1, 70, T0));
    store.takeDirty();
    expect(store.applyState('1', stateMessage(20, T0 - 1000))).toBe(true);
    expect(store.details(0).level).toBe(70);
    expect(store.takeDirty()).toEqual([]);
    store.applyState('1', stateMessage(20, T0 + 1000));
    expect(store.details(0).level).toBe(20);
    expect(store.takeDirty()).toEqual([0]);
  });

  test('a snapshot older than what MQTT already said keeps the newer state', () => {
    const store = new LampStore();
    store.applyState('1', stateMessage(20, T0 + 1000));
    store.applySnapshot(snapshot(1, 70, T0));
    expect(store.details(0).level).toBe(20);
    expect(store.reported).toBe(1);
  });

  test('finds a lamp by id, or by its address in any spelling, and nothing else', () => {
    const store = new LampStore();
    store.applySnapshot(snapshot(300, 100, T0));
    expect(store.find('257')).toBe(store.slotOf('257'));
    expect(store.find('  fd6c:616d:706e::101 ')).toBe(store.slotOf('257'));
    expect(store.find('FD6C:616D:706E:0000:0000:0000:0000:0101')).toBe(store.slotOf('257'));
    expect(store.find('301')).toBeUndefined();
    expect(store.find('fd6c:616d:706e::12d')).toBeUndefined();
    expect(store.find('not:an:address:::')).toBeUndefined();
  });

  test('a payload that is not a state document is refused and changes nothing', () => {
    const store = new LampStore();
    for (const bad of ['', 'ON', 'null', '42', '{"level":']) expect(store.applyState('1', bad), bad).toBe(false);
    expect(store.reported).toBe(0);
  });
});
