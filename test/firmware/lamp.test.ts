import { beforeEach, describe, expect, it } from 'vitest';
import { PUT } from '../../protocol/coap.js';
import { answersPing, boot, command, halt, readState, setFault } from '../../firmware/core.js';
import { createLamp, defaultConfig, type LampConfig, type LampState } from '../../firmware/lamp.js';
import { fnv1a32, groupAddress } from '../../protocol/lamp.js';
import { FakeHal, ask } from './fake-hal.js';

const HOUR = 3600_000;
let hal: FakeHal;
let lamp: LampState;

function start(config: Partial<LampConfig> = {}): void {
  hal = new FakeHal();
  hal.gatewayAddr = null;
  lamp = createLamp({ ...defaultConfig('1'), ...config }, 1);
  boot(hal, lamp);
}

beforeEach(() => start());

describe('energy', () => {
  const cases: [number, number][] = [
    [100, 600],
    [75, 10 * (0.5 + 59.5 * 0.75)],
    [50, 302.5],
    [10, 10 * (0.5 + 5.95)],
  ];
  for (const [level, wh] of cases) {
    it(`meters ${wh} Wh over 10 hours at ${level}%`, () => {
      command(hal, lamp, { level });
      hal.advance(lamp, 10 * HOUR);
      const s = readState(hal, lamp);
      expect(s.energyWh).toBeCloseTo(wh, 9);
      expect(s.onTimeS).toBe(36000);
    });
  }

  it('meters standby power only while off, and no on-time', () => {
    command(hal, lamp, { on: false });
    hal.advance(lamp, 10 * HOUR);
    expect(readState(hal, lamp)).toMatchObject({ on: false, watts: 0.5, energyWh: 5, onTimeS: 0 });
  });

  it('gives the same exact total whether read every minute or once', () => {
    const exact = 10 * (0.5 + 59.5 * 0.33) + ((1234 / HOUR) * (59.5 * 0.67)) / 2;
    command(hal, lamp, { level: 33, fadeMs: 1234 });
    for (let i = 0; i < 600; i++) {
      hal.advance(lamp, 60_000);
      readState(hal, lamp);
    }
    expect(readState(hal, lamp).energyWh).toBeCloseTo(exact, 9);
    start();
    command(hal, lamp, { level: 33, fadeMs: 1234 });
    hal.advance(lamp, 10 * HOUR);
    expect(readState(hal, lamp).energyWh).toBeCloseTo(exact, 9);
  });

  it('keeps its meters across a power cut', () => {
    hal.advance(lamp, HOUR);
    halt(hal, lamp);
    boot(hal, lamp);
    hal.advance(lamp, HOUR);
    expect(readState(hal, lamp)).toMatchObject({ energyWh: 120, onTimeS: 7200 });
  });

  it('stops metering while unpowered', () => {
    hal.advance(lamp, HOUR);
    halt(hal, lamp);
    hal.advance(lamp, HOUR);
    expect(readState(hal, lamp).energyWh).toBeCloseTo(60, 9);
    expect(answersPing(lamp)).toBe(false);
  });
});

describe('fades', () => {
  it('hands the fade to the light output and meters its trapezoid exactly', () => {
    command(hal, lamp, { level: 0, fadeMs: 10_000 });
    expect(hal.lights.at(-1)).toMatchObject({ level: 0, fadeMs: 10_000 });
    hal.advance(lamp, 5_000);
    expect(readState(hal, lamp).watts).toBeCloseTo(0.5 + 59.5 / 2, 9);
    hal.advance(lamp, 5_000);
    // Half of the ramp from 60 W down to 0.5 W, over 10 s.
    expect(readState(hal, lamp).energyWh).toBeCloseTo(((60 + 0.5) / 2) * (10 / 3600), 12);
    expect(readState(hal, lamp).onTimeS).toBe(10);
  });

  it('starts a new fade from wherever the previous one had got to', () => {
    command(hal, lamp, { level: 0, fadeMs: 10_000 });
    hal.advance(lamp, 2_500);
    command(hal, lamp, { level: 100, fadeMs: 1_000 });
    hal.advance(lamp, 500);
    expect(readState(hal, lamp).watts).toBeCloseTo(0.5 + 59.5 * (0.75 + 0.25 / 2), 9);
  });

  it('uses the configured default fade for commands that name none', () => {
    start({ fadeMs: 700 });
    command(hal, lamp, { level: 20 });
    expect(hal.lights.at(-1)).toMatchObject({ level: 20, fadeMs: 700 });
  });

  it('reports the end of a fade, when the power reading settles', () => {
    command(hal, lamp, { level: 50, fadeMs: 3_000 });
    expect(hal.timer.get(lamp)).toBe(hal.t + 3_000);
  });
});

describe('driver fault', () => {
  it('keeps the light dark, draws standby and reports the fault', () => {
    setFault(hal, lamp, true);
    expect(hal.lights.at(-1)!.level).toBe(0);
    command(hal, lamp, { on: true, level: 80 });
    expect(hal.lights.at(-1)!.level).toBe(0);
    hal.advance(lamp, HOUR);
    expect(readState(hal, lamp)).toMatchObject({ on: true, level: 80, fault: true, watts: 0.5, energyWh: 0.5 });
    const read = (path: string) => new TextDecoder().decode(ask(hal, lamp, { code: 1, path }).payload);
    // LwM2M: the fault is Device error code 8, the power Power Measurement 5800.
    expect([read('3/0/11/0'), read('3305/0/5800')]).toEqual(['8', '0.5']);
  });

  it('lights again at the commanded level once repaired', () => {
    setFault(hal, lamp, true);
    command(hal, lamp, { level: 80 });
    setFault(hal, lamp, false);
    expect(hal.lights.at(-1)!.level).toBe(80);
  });
});

describe('power-on', () => {
  it('comes up on at the default level with powerOn=1', () => {
    start({ powerOn: 1, defaultLevel: 70 });
    expect(readState(hal, lamp)).toMatchObject({ on: true, level: 70 });
    expect(hal.lights.at(-1)!.level).toBe(70);
  });

  it('comes up dark with powerOn=0', () => {
    start({ powerOn: 0 });
    expect(readState(hal, lamp).on).toBe(false);
    expect(hal.lights).toEqual([]);
  });

  it('restores the last on state and level with powerOn=2, from the saved config', () => {
    start({ powerOn: 2 });
    command(hal, lamp, { level: 35 });
    command(hal, lamp, { on: false });
    const saved = hal.saved.at(-1)!;
    expect(saved).toMatchObject({ lastOn: 0, lastLevel: 35 });
    halt(hal, lamp);
    const rebooted = createLamp(saved, 1);
    boot(hal, rebooted);
    expect(readState(hal, rebooted)).toMatchObject({ on: false, level: 35 });
    command(hal, rebooted, { on: true });
    expect(hal.lights.at(-1)!.level).toBe(35);
  });

  it('persists the power-on state and default level set over CoAP', () => {
    const senml = '[{"bn":"/32311/0/","n":"9","v":0},{"n":"5","v":60}]';
    expect(ask(hal, lamp, { code: PUT, path: '32311/0', options: [{ num: 12, value: Uint8Array.of(110) }], payload: senml }).code).toBe(68);
    const rebooted = createLamp(hal.saved.at(-1)!, 1);
    boot(hal, rebooted);
    expect(readState(hal, rebooted)).toMatchObject({ on: false, level: 60 });
  });
});

describe('lamp record', () => {
  it('shares one config between lamps until one of them changes it', () => {
    const shared = defaultConfig('x');
    const a = createLamp(shared, 1);
    const b = createLamp(shared, 2);
    boot(hal, a);
    boot(hal, b);
    expect(ask(hal, a, { code: PUT, path: '32311/0/11', payload: '10' }).code).toBe(68);
    expect(a.cfg.ratedW).toBe(10);
    expect(b.cfg).toBe(shared);
    expect(shared.ratedW).toBe(60);
  });

  it('is a flat record of numbers plus the config, the registration location and an empty extra slot', () => {
    for (const [key, value] of Object.entries(lamp)) {
      if (key === 'cfg') continue;
      if (key === 'loc') expect(typeof value).toBe('string');
      else if (key === 'ex') expect(value).toBeNull();
      else expect(typeof value).toBe('number');
    }
  });
});

describe('ping policy', () => {
  it('answers ping while powered by default, lit or not', () => {
    command(hal, lamp, { on: false });
    expect(answersPing(lamp)).toBe(true);
  });

  it('answers ping only while lit with pingWhen=1', () => {
    start({ pingWhen: 1 });
    expect(answersPing(lamp)).toBe(true);
    command(hal, lamp, { on: false });
    expect(answersPing(lamp)).toBe(false);
    setFault(hal, lamp, true);
    command(hal, lamp, { on: true });
    expect(answersPing(lamp)).toBe(false);
  });
});

describe('group addresses', () => {
  it('hashes names with FNV-1a 32', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('maps a group name to ff15::1:<hi>:<lo>', () => {
    expect(groupAddress('a')).toBe('ff15::1:e40c:292c');
  });
});
