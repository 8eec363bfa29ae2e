/**
 * Parsers for the commands' option values. Commander hands options over as text; each parser checks
 * one kind of value and refuses it with an error that names the option, what was expected and what
 * was given, so that every command words a refusal the same way.
 */
import { InvalidArgumentError } from 'commander';

export interface NumberRange {
  min: number;
  max?: number;
  whole?: boolean;
}

/** A number within [min, max] (a whole one if `whole`). */
export function parseNumber(value: string, option: string, { min, max = Infinity, whole = false }: NumberRange): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max || (whole && !Number.isInteger(n))) {
    throw new InvalidArgumentError(`${option} must be a ${whole ? 'whole ' : ''}number from ${min}${max === Infinity ? '' : ` to ${max}`}, got "${value}"`);
  }
  return n;
}

/** A whole number of things (lamps, packets, bytes...) within [min, max]. */
export function parseCount(value: string, option: string, min: number, max = Infinity): number {
  return parseNumber(value, option, { min, max, whole: true });
}

/** A share from 0 to 1 (of lamps, of datagrams). */
export function parseFraction(value: string, option: string): number {
  return parseNumber(value, option, { min: 0, max: 1 });
}

/** A duration given in seconds on the command line, in milliseconds as the code keeps it. */
export function parseSecondsAsMs(value: string, option: string, minS: number, maxS: number): number {
  return parseNumber(value, option, { min: minS, max: maxS }) * 1000;
}

function port(value: string, option: string, allowOff: boolean): number | null {
  if (allowOff && value === 'off') return null;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new InvalidArgumentError(`${option} must be a whole port number 0-65535${allowOff ? ' or "off"' : ''}, got "${value}"`);
  }
  return n;
}

/** A TCP or UDP port; 0 asks the system for any free one. */
export function parsePort(value: string, option: string): number {
  return port(value, option, false) as number;
}

/** A port, or `off` (null) for a service that is not to run. */
export function parsePortOrOff(value: string, option: string): number | null {
  return port(value, option, true);
}
