/**
 * The object table and single values (protocol/lwm2m/objects.ts, formats.ts): what lampnet serves,
 * the checks of writes, LwM2M paths, and text/plain values both ways.
 */
import { describe, expect, it } from 'vitest';
import { formatText, parseText } from '../../protocol/lwm2m/formats.js';
import {
  BOOLEAN, DEVICE, DIMMER, E, FLOAT, INTEGER, LAMPNET_CONFIG, LIGHT_CONTROL, MULTIPLE, NONE, OBJLNK, ON_OFF, OPAQUE, POWER_MEASUREMENT, R, RESOURCES, RW, SERVER, STRING, TIME, UNSIGNED,
  checkWrite, parsePath, resourceOps, resourceType,
} from '../../protocol/lwm2m/objects.js';

describe('the object table', () => {
  it('has the registry types and operations of the resources the issue names', () => {
    expect([resourceType(LIGHT_CONTROL, ON_OFF), resourceOps(LIGHT_CONTROL, ON_OFF)]).toEqual([BOOLEAN, RW]);
    expect([resourceType(LIGHT_CONTROL, 5805), resourceOps(LIGHT_CONTROL, 5805)]).toEqual([FLOAT, R]);
    expect([resourceType(POWER_MEASUREMENT, 5800), resourceOps(POWER_MEASUREMENT, 5800)]).toEqual([FLOAT, R]);
    expect([resourceType(DEVICE, 4), resourceOps(DEVICE, 4)]).toEqual([NONE, E]);
    expect(resourceOps(DEVICE, 11)).toBe(R | MULTIPLE);
    expect([resourceType(SERVER, 8), resourceOps(SERVER, 8)]).toEqual([NONE, E]);
    expect(resourceType(LIGHT_CONTROL, 5800)).toBe(-1);
    expect(resourceOps(9999, 0)).toBe(0);
  });

  it('lists each resource once, the vendor object in the private range 26241-32768', () => {
    const keys = RESOURCES.map((r) => r[0] + '/' + r[1]);
    expect(new Set(keys).size).toBe(keys.length);
    expect(LAMPNET_CONFIG).toBeGreaterThanOrEqual(26241);
    expect(LAMPNET_CONFIG).toBeLessThanOrEqual(32768);
  });

  it.each([
    ['a dimmer level', LIGHT_CONTROL, DIMMER, 80, ''],
    ['a dimmer level above 100', LIGHT_CONTROL, DIMMER, 101, 'outside 0..100'],
    ['a fractional dimmer level', LIGHT_CONTROL, DIMMER, 50.5, 'not of type Integer'],
    ['1 as on/off', LIGHT_CONTROL, ON_OFF, 1, ''],
    ['2 as on/off', LIGHT_CONTROL, ON_OFF, 2, 'not of type Boolean'],
    ['the read-only energy', LIGHT_CONTROL, 5805, 1, 'not writable'],
    ['an executable', DEVICE, 4, '', 'not writable'],
    ['an unknown resource', LIGHT_CONTROL, 5706, 'red', 'no resource'],
    ['a latitude', LAMPNET_CONFIG, 1, 48.1, ''],
    ['a latitude past the pole', LAMPNET_CONFIG, 1, 90.5, 'outside -90..90'],
    ['groups', LAMPNET_CONFIG, 0, 'street-1,park', ''],
    ['a lifetime under a minute', SERVER, 1, 30, 'outside 60..86400'],
  ])('checks a write of %s', (_what, obj, res, value, error) => {
    if (error) expect(checkWrite(obj, res, value)).toContain(error);
    else expect(checkWrite(obj, res, value)).toBe('');
  });

  it.each([
    ['/', []],
    ['/3311', [3311]],
    ['/3311/0/5850', [3311, 0, 5850]],
    ['/3/0/11/0', [3, 0, 11, 0]],
    ['/3/65534', [3, 65534]],
    ['/3/65535', null],
    ['/65536', null],
    ['/3/00', null],
    ['/3/0/', null],
    ['3/0', null],
    ['/3/0/1/2/3', null],
    ['/-1', null],
    ['/1e3', null],
  ])('reads path %s', (path, ids) => {
    expect(parsePath(path)).toEqual(ids);
  });
});

describe('text/plain values', () => {
  it.each([
    [INTEGER, -42, '-42'],
    [INTEGER, -9007199254740991, '-9007199254740991'],
    [TIME, 1367491215, '1367491215'],
    [UNSIGNED, 7, '7'],
    [FLOAT, 12.5, '12.5'],
    [FLOAT, 1e-7, '1e-7'],
    [BOOLEAN, true, '1'],
    [BOOLEAN, false, '0'],
    [STRING, 'Straße', 'Straße'],
    [OBJLNK, '3311:0', '3311:0'],
  ])('writes %s %s as %s and reads it back', (type, value, text) => {
    expect(formatText(type, value)).toBe(text);
    expect(parseText(type, Buffer.from(text, 'utf8').toString('latin1'))).toBe(value);
  });

  it.each([
    [INTEGER, 1.5],
    [INTEGER, 2 ** 70],
    [UNSIGNED, -1],
    [FLOAT, Infinity],
    [BOOLEAN, 2],
    [OBJLNK, '3311'],
    [OPAQUE, 'x'],
    [STRING, 5],
  ])('has no text for %s %s', (type, value) => {
    expect(formatText(type, value)).toBeNull();
  });

  it.each([
    [INTEGER, '1.0'], [INTEGER, '+1'], [INTEGER, ' 1'], [INTEGER, '0x10'], [INTEGER, ''], [INTEGER, '9007199254740993'], [INTEGER, '1e3'],
    [FLOAT, '.5'], [FLOAT, '5.'], [FLOAT, '1e'], [FLOAT, 'NaN'], [FLOAT, 'Infinity'], [FLOAT, '1e999'],
    [BOOLEAN, 'true'], [BOOLEAN, '01'], [UNSIGNED, '-1'], [OBJLNK, '1:65536'], [STRING, '\xc3\x28'], [OPAQUE, 'x'],
  ])('refuses %s text %j', (type, text) => {
    expect(parseText(type, text)).toBeNull();
  });
});
