/**
 * What every side knows about a lamp beyond LwM2M (protocol/lwm2m/): the CoAP port it listens on,
 * the snapshot of its light and meters that the gateway keeps and publishes, and the multicast
 * address of each of its street groups. Imported by the lamp (bundled, ES5-safe) and the gateway.
 */
import { utf8Bytes } from './text.js';

export const COAP_PORT = 5683;

/** A lamp's state and meters as read at one instant (the lamp's snapshot, the gateway's last report
 * of it). */
export interface LampSnapshot {
  on: boolean;
  level: number;
  watts: number;
  energyWh: number;
  onTimeS: number;
  fault: boolean;
}

/** Rounds for the wire: watts to 0.01 W, energy to 0.001 Wh. */
export function roundTo(v: number, scale: number): number {
  return Math.round(v * scale) / scale;
}

/** FNV-1a, 32 bits, over the name's UTF-8 bytes. */
export function fnv1a32(name: string): number {
  let h = 0x811c9dc5;
  const bytes = utf8Bytes(name);
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
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
