/**
 * What a board stores in its flash (Storage file `lampnet.json`): the lamp's own persisted
 * configuration plus the few settings only a real board has (Wifi, PWM pin, clock source).
 *
 * Shared by the bundled port (which reads and rewrites it) and the Node-side `lampnet firmware`
 * command (which writes it with the code it uploads), so both agree on one shape.
 */
import type { LampConfig } from '../lamp.js';

export const CONFIG_FILE = 'lampnet.json';

export interface BoardConfig {
  /** Wifi network to join; absent when the board has no Wifi (Espruino for Linux) or already joins
   * one on its own. */
  wifi?: string;
  password?: string;
  /** The gateway's IPv4 address ("192.168.1.10"): Espruino's network layer is IPv4-only. */
  gateway?: string;
  /** IPv4 prefixes ("10.77.1.0/24") whose hosts may change the lamp's state besides the gateway,
   * such as IPv6 clients that reach the board through the gateway's translator (the board sees
   * their embedded IPv4 address). Absent: the gateway only. */
  trust?: string[];
  /** The PWM pin that drives the lamp's driver (Espruino pin name such as "D2", or a number). */
  pin?: string | number;
  /** SNTP server: the schedule and the energy meter need wall-clock time, which a board lacks at
   * power-up. */
  ntp?: string;
  /** The lamp's OSCORE Master Secret in hex (protocol/oscore/fleet.ts: derived from the fleet
   * secret and the lamp id by `lampnet firmware flash --key`, never the fleet secret itself). With
   * it the lamp obeys only OSCORE-protected state changes (`--security oscore`); without it, its
   * gateway and `trust` prefixes (`--security none`). */
  key?: string;
  /** LampConfig fields; missing ones (and nulls: JSON turns NaN into null) take the defaults. */
  lamp: Partial<LampConfig>;
}
