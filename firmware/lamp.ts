/**
 * The lamp record and its electrical model: what a lamp is, independent of any network.
 *
 * A lamp is a flat record of numbers plus a shared config and an `ex` slot for transient CoAP state,
 * so that a million idle lamps stay small (DESIGN.md: ≤ 400 B per lamp) and the simulator could back
 * the numbers with typed arrays. Lamps built from one config object share it until one of them
 * changes its config (copy-on-write, see `ownConfig`).
 *
 * Energy is exact for the model: the light output follows a piecewise-linear trajectory (steady, or
 * a linear fade), power is affine in the output, so the trapezoid rule integrates it without error.
 * Integration is lazy: it runs only when the output changes or someone reads the meters.
 */
import { lamp, time } from './context.js';
import type { Addr } from './hal.js';
import type { LampSnapshot } from '../protocol/lamp.js';

/** Persisted configuration (hal.saveConfig). */
export interface LampConfig {
  /** Endpoint name at the gateway (sim lamp 42 → "42"). */
  id: string;
  ratedW: number;
  standbyW: number;
  /** Light after power-up: 0 off, 1 on at defaultLevel, 2 restore lastOn/lastLevel. */
  powerOn: number;
  defaultLevel: number;
  /** Position for the dusk-to-dawn schedule; NaN = no schedule. */
  lat: number;
  lon: number;
  /** Local time offset (minutes east of UTC) for the night profile window. */
  tzMin: number;
  /** Night dim profile: level (0 = none) between nightFrom and nightTo, minutes of local day. */
  nightLevel: number;
  nightFrom: number;
  nightTo: number;
  /** Multicast groups, comma-separated names. */
  groups: string;
  /** Registration lifetime at the gateway (s): LwM2M /1/0/1. */
  lifetimeS: number;
  /** Ping policy: 0 answer while powered, 1 only while the light is lit. */
  pingWhen: number;
  /** Default fade of commands (ms). */
  fadeMs: number;
  /** First registration is delayed by random() * bootJitterMs, so a fleet powering up together
   * does not register in one burst. */
  bootJitterMs: number;
  lastOn: number;
  lastLevel: number;
}

/** A recent response to a confirmable request, resent when the request is retransmitted. */
export interface CachedResponse {
  from: Addr;
  port: number;
  mid: number;
  expires: number;
  /** The response code; the response has no options or payload (only a GET's has, and GETs are
   * not cached), so code, message id and the retransmission's token rebuild it exactly. */
  code: number;
}

/** The one confirmable request the lamp has in flight to its gateway. */
export interface Outbound {
  mid: number;
  /** A random 4-byte token (RFC 7252 §5.3.1: hard to guess for an off-path attacker). */
  token: Uint8Array;
  bytes: Uint8Array;
  /** Retransmissions done so far. */
  tries: number;
  /** Current retransmission timeout (ms); doubles on each retransmission. */
  timeout: number;
  /** When to retransmit or give up. */
  at: number;
  /** REGISTER (POST /rd), UPDATE (POST /rd/<location>) or DEREGISTER (DELETE), registration.ts. */
  register: number;
  /** 1 after an empty ACK: the response will come separately, stop retransmitting. */
  acked: number;
}

/** Transient per-lamp CoAP state; exists only while non-empty. Observations and notification
 * attributes are not here but in observe.ts's columns, so that a lamp the gateway observes for good
 * costs a few dozen bytes, not an object graph. */
export interface LampExtra {
  cache: CachedResponse[];
  pending: Outbound | null;
}

export interface LampState {
  /** Platform index (the simulator's lamp number). */
  n: number;
  /** 1 while powered and running. */
  up: number;
  /** 1 when `cfg` belongs to this lamp alone; 0 while it may be shared with other lamps. */
  own: number;
  /** Commanded state: on/off and dim level 0–100 (kept while off). */
  on: number;
  level: number;
  /** Driver fault: the light will not turn on whatever is commanded. */
  fault: number;
  /** Light output (0–100) at time t0, heading linearly for out1, reached at t1. */
  out0: number;
  out1: number;
  /** Energy and on-time are integrated up to t0 (ms). */
  t0: number;
  t1: number;
  wh: number;
  onMs: number;
  /** Next schedule edge (ms); Infinity without a schedule. */
  edge: number;
  /** 1 while registered with the gateway (its LwM2M server). */
  reg: number;
  /** The Location-Path the server gave the registration ("rd/5a3f"), '' before one. */
  loc: string;
  /** When to register, refresh or retry (ms); Infinity when standalone. */
  regAt: number;
  /** Consecutive failed exchanges with the gateway (exponent of the retry backoff). */
  fails: number;
  /** An Update is owed once the exchange in flight ends: 1, or 2 with the lifetime (it changed). */
  dirty: number;
  /** First of the lamp's observations and attributes in observe.ts's columns, -1 when none. */
  obs: number;
  /** Fade (ms) for the next Write to /3311/0 (/32311/0/14), -1 when none. */
  nextFade: number;
  /** Next outgoing CoAP message id. */
  mid: number;
  /** Time the platform timer is armed for (Infinity = disarmed). */
  wake: number;
  cfg: LampConfig;
  ex: LampExtra | null;
}

export function defaultConfig(id: string): LampConfig {
  return {
    id: id,
    ratedW: 60,
    standbyW: 0.5,
    powerOn: 1,
    defaultLevel: 100,
    lat: NaN,
    lon: NaN,
    tzMin: 0,
    nightLevel: 0,
    nightFrom: 0,
    nightTo: 300,
    groups: '',
    lifetimeS: 300,
    pingWhen: 0,
    fadeMs: 0,
    bootJitterMs: 0,
    lastOn: 0,
    lastLevel: 100,
  };
}

/** A powered-down lamp; `boot` (core.ts) starts it. */
export function createLamp(config: LampConfig, n: number): LampState {
  return {
    n: n,
    up: 0,
    own: 0,
    on: 0,
    level: config.defaultLevel,
    fault: 0,
    out0: 0,
    out1: 0,
    t0: 0,
    t1: 0,
    wh: 0,
    onMs: 0,
    edge: Infinity,
    reg: 0,
    loc: '',
    regAt: Infinity,
    fails: 0,
    dirty: 0,
    obs: -1,
    nextFade: -1,
    mid: 0,
    wake: Infinity,
    cfg: config,
    ex: null,
  };
}

/** The lamp's endpoint name at the gateway: its configured id, else its platform number (the
 * simulator leaves ids empty so that lamps of one street can share one config object). */
export function endpointName(lamp: LampState): string {
  return lamp.cfg.id || String(lamp.n);
}

/** A config of the defaults overlaid with `stored`'s fields, nulls skipped (JSON stores NaN as
 * null): restores a persisted config, or copies one. */
export function configFrom(stored: Partial<LampConfig>): LampConfig {
  const config = defaultConfig('') as unknown as Record<string, unknown>;
  const src = stored as Record<string, unknown>;
  for (const k in src) if (src[k] !== null) config[k] = src[k];
  return config as unknown as LampConfig;
}

/** The lamp's config, copied first if it may be shared, so it can be changed for this lamp only. */
export function ownConfig(lamp: LampState): LampConfig {
  if (!lamp.own) {
    lamp.cfg = configFrom(lamp.cfg);
    lamp.own = 1;
  }
  return lamp.cfg;
}

/** Light output (0–100) of the context's lamp (context.ts) at time t ≥ t0. */
function outputAt(t: number): number {
  return t >= lamp.t1 ? lamp.out1 : lamp.out0 + ((lamp.out1 - lamp.out0) * (t - lamp.t0)) / (lamp.t1 - lamp.t0);
}

/** Electrical power at a light output: standby plus the driver's share, linear in the output, so
 * that 0 % draws standbyW and 100 % draws ratedW. Nothing while unpowered. */
function wattsAt(output: number): number {
  const c = lamp.cfg;
  return lamp.up ? c.standbyW + ((c.ratedW - c.standbyW) * output) / 100 : 0;
}

/** Brings the context lamp's energy and on-time up to the context's time: a fading part (power is
 * affine in the output, so the mean output's power is the mean power) then a steady part. */
export function integrate(): void {
  const t = time;
  const t0 = lamp.t0;
  if (t <= t0) return;
  // The fade ends at `a` (t0 when the output is steady already).
  const a = Math.max(t0, Math.min(lamp.t1, t));
  const outA = outputAt(a);
  lamp.wh += (wattsAt((lamp.out0 + outA) / 2) * (a - t0) + wattsAt(lamp.out1) * (t - a)) / 3600000;
  // Output is strictly positive inside a fade that starts or ends lit.
  if (lamp.up) lamp.onMs += (lamp.out0 > 0 || outA > 0 ? a - t0 : 0) + (lamp.out1 > 0 ? t - a : 0);
  lamp.out0 = outputAt(t);
  lamp.t0 = t;
}

/** The output the commanded state asks for: nothing while off, faulty or unpowered. */
export function targetOutput(): number {
  return lamp.up && lamp.on && !lamp.fault ? lamp.level : 0;
}

/** Starts a linear fade (or a step when fadeMs is 0) of the context's lamp from its present output
 * to `target`. Returns whether the trajectory changed. */
export function steer(target: number, fadeMs: number): boolean {
  const t = time;
  integrate();
  if (target === lamp.out1 && (t >= lamp.t1 || fadeMs > 0)) return false;
  lamp.out1 = target;
  lamp.t1 = fadeMs > 0 && target !== lamp.out0 ? t + fadeMs : t;
  if (lamp.t1 === t) lamp.out0 = target;
  return true;
}

/** Whether the light gives light now (or is fading towards it). */
export function lit(l: LampState): boolean {
  return l.out1 > 0 || l.out0 > 0;
}

/** The context lamp's state, with its meters brought up to the context's time. */
export function snapshot(): LampSnapshot {
  integrate();
  return {
    on: lamp.on === 1,
    level: lamp.level,
    watts: wattsAt(lamp.out0),
    energyWh: lamp.wh,
    onTimeS: Math.floor(lamp.onMs / 1000),
    fault: lamp.fault === 1,
  };
}
