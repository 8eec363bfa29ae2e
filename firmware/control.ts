/**
 * How the lamp's commanded state changes: commands (local, CoAP, group), schedule edges, driver
 * faults and power-up. Each returns whether anything changed; the caller then publishes the change
 * (observers and gateway, see observe.ts), so this file stays free of networking.
 */
import { hal, lamp, time } from './context.js';
import { integrate, ownConfig, steer, targetOutput } from './lamp.js';
import { scheduleNow } from './schedule.js';

/** Counts changes of the lamp's published state, so a caller can tell whether a request changed
 * anything (a repeated command does not) before telling observers and the gateway. */
export let changes = 0;

export function noteChange(): void {
  changes++;
}

/** Drives the light towards what the commanded state asks for. */
function updateOutput(fadeMs: number): boolean {
  const target = targetOutput();
  if (!steer(target, fadeMs)) return false;
  hal.light(lamp, target, lamp.t1 - time);
  return true;
}

/** Sets on (0/1, or -1 to keep) and level (0–100, or -1 to keep), fading over fadeMs (-1: the
 * configured default). The schedule acts only at its edges, so a command holds until the next one. */
export function applyCommand(on: number, level: number, fadeMs: number): boolean {
  const cfg = lamp.cfg;
  const wasOn = lamp.on;
  const wasLevel = lamp.level;
  if (on >= 0) lamp.on = on ? 1 : 0;
  if (level >= 0) lamp.level = Math.round(Math.min(100, level));
  const changed = updateOutput(fadeMs < 0 ? cfg.fadeMs : fadeMs) || wasOn !== lamp.on || wasLevel !== lamp.level;
  if (changed) changes++;
  if (changed && cfg.powerOn === 2 && (cfg.lastOn !== lamp.on || cfg.lastLevel !== lamp.level)) saveConfig();
  return changed;
}

/** Persists the lamp's own config with the present state as its last state (for powerOn=2). */
export function saveConfig(): void {
  const own = ownConfig(lamp);
  own.lastOn = lamp.on;
  own.lastLevel = lamp.level;
  hal.saveConfig(lamp, own);
}

/** A schedule edge (or a schedule change): apply what the schedule asks for now, ending any manual
 * override, and find the next edge. */
export function applySchedule(): boolean {
  const level = scheduleNow();
  return level >= 0 && applyCommand(level > 0 ? 1 : 0, level > 0 ? level : -1, -1);
}

export function applyFault(fault: boolean): boolean {
  if (lamp.fault === +fault) return false;
  lamp.fault = +fault;
  updateOutput(0);
  changes++;
  return true;
}

/** Power-up: the light as the schedule says when one is configured, else as cfg.powerOn says. */
export function applyPowerOn(): void {
  const cfg = lamp.cfg;
  const restore = cfg.powerOn === 2;
  const level = scheduleNow();
  // A reboot without a power cut: meter up to now before the output restarts.
  if (lamp.up) integrate();
  lamp.up = 1;
  lamp.t0 = lamp.t1 = time;
  lamp.out0 = lamp.out1 = 0;
  lamp.on = level < 0 ? (restore ? cfg.lastOn : cfg.powerOn) : level > 0 ? 1 : 0;
  lamp.level = level > 0 ? level : restore ? cfg.lastLevel : cfg.defaultLevel;
  updateOutput(0);
}

/** Power cut: the light goes dark and the meters stop. */
export function applyPowerOff(): void {
  steer(0, 0);
  lamp.up = 0;
  lamp.edge = Infinity;
  hal.light(lamp, 0, 0);
}
