/**
 * The lamp <-> gateway wire protocol: the constants and tiny pure helpers both sides share.
 *
 * Registration and updates are LwM2M-style CoAP requests from the lamp (CONTRACT.md):
 *   POST /rd?ep=<id>&lt=<lifetimeS>   {"g":"<groups>","s":<state>}   → 2.01, Location-Path rd/<id>
 *   POST /rd/<id>?lt=<lifetimeS>      {"s":<state>}                   → 2.04, or 4.04 = re-register
 * with <state> = {"on":0|1,"level":0-100,"w":watts,"wh":energyWh,"t":onTimeS,"f":0|1}.
 * Commands go the other way as PUTs on the IPSO Light Control resources (see core.ts).
 */
import type { LampSnapshot } from './lamp.js';

export const COAP_PORT = 5683;
export const RD_PATH = 'rd';
export const LIGHT_PATH = '3311/0';
export const ON_PATH = '3311/0/5850';
export const DIMMER_PATH = '3311/0/5851';
export const ON_TIME_PATH = '3311/0/5852';
export const POWER_PATH = '3311/0/5800';
export const ENERGY_PATH = '3311/0/5805';
export const CONFIG_PATH = 'cfg';
export const DISCOVERY_PATH = '.well-known/core';

/** Rounds for the wire: watts to 0.01 W, energy to 0.001 Wh. */
export function roundTo(v: number, scale: number): number {
  return Math.round(v * scale) / scale;
}

/** The `<state>` JSON of a snapshot. */
export function stateJson(s: LampSnapshot): string {
  return JSON.stringify({ on: s.on ? 1 : 0, level: s.level, w: roundTo(s.watts, 100), wh: roundTo(s.energyWh, 1000), t: s.onTimeS, f: s.fault ? 1 : 0 });
}

/** The registration payload, around a `<state>` JSON. */
export function registrationJson(groups: string, state: string): string {
  return '{"g":' + JSON.stringify(groups) + ',"s":' + state + '}';
}

/** The update payload, around a `<state>` JSON. */
export function updateJson(state: string): string {
  return '{"s":' + state + '}';
}

/** FNV-1a, 32 bits, over the name's 8-bit char codes. */
export function fnv1a32(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i) & 255;
    // h * 16777619 without losing bits beyond 2^53: split the prime into 2^24 + 403.
    h = ((h << 24) + h * 403) >>> 0;
  }
  return h >>> 0;
}

/** The multicast address of group `name`: ff15::1:<hi16>:<lo16> of its FNV-1a-32 hash. */
export function groupAddress(name: string): string {
  const h = fnv1a32(name);
  return 'ff15::1:' + (h >>> 16).toString(16) + ':' + (h & 0xffff).toString(16);
}

/** Group names of a comma-separated list, trimmed, empty ones dropped. */
export function groupNames(groups: string): string[] {
  const names: string[] = [];
  const parts = groups.split(',');
  for (let i = 0; i < parts.length; i++) {
    const g = parts[i].trim();
    if (g) names.push(g);
  }
  return names;
}
