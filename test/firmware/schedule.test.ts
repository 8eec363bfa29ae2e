import { describe, expect, it } from 'vitest';
import * as SunCalc from 'suncalc';
import { boot, command, readState } from '../../firmware/core.js';
import { createLamp, defaultConfig, type LampConfig, type LampState } from '../../firmware/lamp.js';
import { POLAR_DAY, POLAR_NIGHT, sunEvent } from '../../firmware/sun.js';
import { FakeHal } from './fake-hal.js';

const DAY = 86400_000;
const MINUTE = 60_000;
const YEAR_START = Date.UTC(2026, 0, 1);

const places: [string, number, number][] = [
  ['Quito', -0.18, -78.47],
  ['Madrid', 40.42, -3.7],
  ['Berlin', 52.52, 13.4],
  ['Helsinki', 60.17, 24.94],
  ['Reykjavik', 64.15, -21.94],
  ['Sydney', -33.87, 151.21],
  ['Auckland', -36.85, 174.76],
  ['Tromsø', 69.65, 18.96],
];

/** suncalc's sunrise and sunset for the solar day centred on UTC day `day` (null: polar). */
function reference(day: number, lat: number, lon: number): [number, number] | null {
  const noon = day * DAY + DAY / 2 - (lon / 360) * DAY;
  const t = SunCalc.getTimes(new Date(noon), lat, lon);
  return t.sunrise && t.sunset ? [t.sunrise.getTime(), t.sunset.getTime()] : null;
}

const isPolar = (t: number) => t === POLAR_DAY || t === POLAR_NIGHT;

describe('sunrise and sunset', () => {
  for (const [name, lat, lon] of places) {
    it(`agree with suncalc within 2 minutes on every day of a year in ${name}`, () => {
      let compared = 0;
      let polarDisagreements = 0;
      for (let day = YEAR_START / DAY; day < YEAR_START / DAY + 365; day++) {
        const ref = reference(day, lat, lon);
        const rise = sunEvent(day, lat, lon, true);
        const set = sunEvent(day, lat, lon, false);
        if (!ref || isPolar(rise)) {
          // Polar day or night: skipped, but both must say so (a day of slack at the boundary).
          if (!ref !== isPolar(rise)) polarDisagreements++;
          continue;
        }
        expect(Math.abs(rise - ref[0]), `sunrise on day ${day}`).toBeLessThan(2 * MINUTE);
        expect(Math.abs(set - ref[1]), `sunset on day ${day}`).toBeLessThan(2 * MINUTE);
        compared++;
      }
      expect(polarDisagreements).toBeLessThanOrEqual(4);
      expect(compared).toBeGreaterThan(name === 'Tromsø' ? 240 : 364);
    });
  }

  it('says polar night and polar day where the sun does not cross the horizon', () => {
    const midsummer = Date.UTC(2026, 5, 21) / DAY;
    const midwinter = Date.UTC(2026, 11, 21) / DAY;
    expect(sunEvent(midsummer, 69.65, 18.96, true)).toBe(POLAR_DAY);
    expect(sunEvent(midwinter, 69.65, 18.96, false)).toBe(POLAR_NIGHT);
    expect(sunEvent(midsummer, -75, 0, true)).toBe(POLAR_NIGHT);
  });
});

function lampAt(config: Partial<LampConfig>, t = YEAR_START): { hal: FakeHal; lamp: LampState } {
  const hal = new FakeHal();
  hal.gatewayAddr = null;
  hal.t = t;
  const lamp = createLamp({ ...defaultConfig('s'), ...config }, 1);
  boot(hal, lamp);
  return { hal, lamp };
}

/** The light's on/off switchings as [time, level]. */
function switchings(hal: FakeHal): [number, number][] {
  const out: [number, number][] = [];
  let level = -1;
  for (const l of hal.lights) {
    if ((l.level > 0) !== (level > 0)) out.push([l.at, l.level]);
    level = l.level;
  }
  return out;
}

describe('dusk-to-dawn schedule', () => {
  for (const [name, lat, lon] of places) {
    it(`switches on at sunset and off at sunrise through a simulated year in ${name}`, () => {
      const { hal, lamp } = lampAt({ lat, lon });
      hal.advance(lamp, 365 * DAY);
      const events = switchings(hal).slice(1);
      let checked = 0;
      for (const [at, level] of events) {
        const day = Math.floor((at + (lon / 360) * DAY) / DAY);
        const around = [day - 1, day, day + 1].map((d) => reference(d, lat, lon));
        // Next to a polar day or night the reference has no event to compare with: skipped.
        if (around.includes(null)) continue;
        const candidates = around as [number, number][];
        const nearest = Math.min(...candidates.map((r) => Math.abs(at - r[level > 0 ? 1 : 0])));
        expect(nearest, `${level > 0 ? 'on' : 'off'} at ${new Date(at).toISOString()}`).toBeLessThan(2 * MINUTE);
        checked++;
      }
      expect(checked).toBeGreaterThan(name === 'Tromsø' ? 440 : 720);
    });
  }

  it('stays lit through the polar night and dark through the midnight sun', () => {
    const { hal, lamp } = lampAt({ lat: 69.65, lon: 18.96 });
    hal.advanceTo(lamp, Date.UTC(2026, 0, 5, 12));
    expect(readState(hal, lamp).on).toBe(true);
    hal.advanceTo(lamp, Date.UTC(2026, 5, 21, 0));
    expect(readState(hal, lamp).on).toBe(false);
  });

  it('follows the schedule from power-up, whatever powerOn says', () => {
    const { hal, lamp } = lampAt({ lat: 52.52, lon: 13.4, powerOn: 0 }, Date.UTC(2026, 0, 10, 22));
    expect(readState(hal, lamp).on).toBe(true);
    expect(hal.lights.at(-1)!.level).toBe(100);
  });

  it('dims to the night level inside the local night window', () => {
    // Berlin in January, CET (UTC+1): 50 % from 00:00 to 05:00 local time.
    const { hal, lamp } = lampAt({ lat: 52.52, lon: 13.4, tzMin: 60, nightLevel: 50, nightFrom: 0, nightTo: 300 }, Date.UTC(2026, 0, 10, 20));
    hal.advanceTo(lamp, Date.UTC(2026, 0, 11, 12));
    const levels = hal.lights.map((l) => [new Date(l.at).toISOString(), l.level]);
    expect(levels).toEqual([
      ['2026-01-10T20:00:00.000Z', 100],
      ['2026-01-10T23:00:00.000Z', 50],
      ['2026-01-11T04:00:00.000Z', 100],
      [expect.stringMatching(/^2026-01-11T07:/), 0],
    ]);
  });

  it('keeps a manual command until the next schedule edge, then follows the schedule again', () => {
    const { hal, lamp } = lampAt({ lat: 52.52, lon: 13.4 }, Date.UTC(2026, 0, 10, 20));
    command(hal, lamp, { on: false });
    hal.advanceTo(lamp, Date.UTC(2026, 0, 11, 3));
    expect(readState(hal, lamp).on).toBe(false);
    hal.advanceTo(lamp, Date.UTC(2026, 0, 11, 12));
    expect(readState(hal, lamp).on).toBe(false);
    hal.advanceTo(lamp, Date.UTC(2026, 0, 11, 20));
    expect(readState(hal, lamp).on).toBe(true);
  });

  it('lets a daytime manual command run until sunset', () => {
    const { hal, lamp } = lampAt({ lat: 52.52, lon: 13.4 }, Date.UTC(2026, 0, 10, 10));
    command(hal, lamp, { on: true, level: 30 });
    hal.advanceTo(lamp, Date.UTC(2026, 0, 10, 14));
    expect(readState(hal, lamp)).toMatchObject({ on: true, level: 30 });
    hal.advanceTo(lamp, Date.UTC(2026, 0, 10, 20));
    expect(readState(hal, lamp)).toMatchObject({ on: true, level: 100 });
  });
});
