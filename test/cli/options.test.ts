/** The option parsers every command uses: what each accepts, and refusals that name the option. */
import { describe, expect, it } from 'vitest';
import { parseCount, parseFraction, parseNumber, parsePort, parsePortOrOff, parseSecondsAsMs } from '../../cli/options.js';

describe('option parsers', () => {
  it('take a number within its range, and name the option, the range and the input when it is not', () => {
    expect(parseNumber('0.5', '--speed', { min: 1e-6 })).toBe(0.5);
    expect(() => parseNumber('91', '--lat', { min: -90, max: 90 })).toThrow('--lat must be a number from -90 to 90, got "91"');
    expect(() => parseNumber('', '--speed', { min: 1 })).toThrow('--speed must be a number from 1, got ""');
    expect(() => parseNumber('Infinity', '--speed', { min: 1 })).toThrow('--speed must be a number from 1, got "Infinity"');
  });

  it('take counts as whole numbers only', () => {
    expect(parseCount('100', '--street-size', 0)).toBe(100);
    expect(() => parseCount('1.5', '--lamps', 1, 1000)).toThrow('--lamps must be a whole number from 1 to 1000, got "1.5"');
  });

  it('take fractions from 0 to 1', () => {
    expect(parseFraction('0.25', '--loss')).toBe(0.25);
    expect(() => parseFraction('1.1', '--loss')).toThrow('--loss must be a number from 0 to 1, got "1.1"');
  });

  it('take durations in seconds and give milliseconds, checking the range in seconds', () => {
    expect(parseSecondsAsMs('0.1', '--ack-timeout', 0.01, 60)).toBe(100);
    expect(() => parseSecondsAsMs('61', '--ack-timeout', 0.01, 60)).toThrow('--ack-timeout must be a number from 0.01 to 60, got "61"');
  });

  it('take ports 0-65535, and "off" only where a service may be turned off', () => {
    expect(parsePort('0', '--mqtt-port')).toBe(0);
    expect(parsePortOrOff('off', '--ws-port')).toBeNull();
    expect(parsePortOrOff('9001', '--ws-port')).toBe(9001);
    expect(() => parsePort('off', '--mqtt-port')).toThrow('--mqtt-port must be a whole port number 0-65535, got "off"');
    expect(() => parsePortOrOff('65536', '--ws-port')).toThrow('--ws-port must be a whole port number 0-65535 or "off", got "65536"');
  });
});
