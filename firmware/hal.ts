/**
 * The one interface the lamp core sees of the world (RIOT-style narrow HAL).
 *
 * One HAL object serves a whole fleet: every call names the lamp it is about, so the simulator keeps
 * a single HAL for a million lamps and the Espruino port (one lamp) simply ignores the argument.
 * Addresses are opaque to the core (`Addr`): it stores them and compares them with `===`, nothing
 * else. The Espruino port uses IPv4 strings ("192.168.1.20"), the simulator small interned numbers.
 *
 * The core is not reentrant (one parse buffer and one send buffer serve the whole fleet): no HAL call
 * may call back into core.ts synchronously. A platform that loops datagrams back in-process delivers
 * them later (a queue, setImmediate), as a network would.
 *
 * Firmware rule: no Node or Espruino imports anywhere in firmware/ except firmware/espruino/.
 */
import type { LampConfig, LampState } from './lamp.js';
import type { SecurityContext } from '../protocol/oscore/context.js';

export type Addr = string | number;

export interface Hal {
  /** Wall-clock milliseconds since the Unix epoch (virtual in the simulator). */
  now(): number;
  /** Arm the lamp's single wake-up timer for `atMs` (replaces any earlier one); the platform then
   * calls `wake(hal, lamp)` from core.ts at or after that time. `atMs` = Infinity disarms it. */
  wakeAt(lamp: LampState, atMs: number): void;
  /** Drive the light output to `level` (0–100) over `fadeMs` (0 = at once). The core already
   * accounts energy for the fade; the platform only animates the PWM. */
  light(lamp: LampState, level: number, fadeMs: number): void;
  /** Send one UDP datagram from the lamp's port 5683: `data[0..len)`. The platform copies the bytes
   * before returning (the core reuses its buffer). */
  send(lamp: LampState, to: Addr, port: number, data: Uint8Array, len: number): void;
  /** The lamp's multicast groups changed: leave every group of `left`, then join every group of
   * `joined` (a group in both stays joined). The platform maps each name to its address. */
  setGroups(lamp: LampState, joined: string[], left: string[]): void;
  /** Persist the configuration (survives reboot). */
  saveConfig(lamp: LampState, config: LampConfig): void;
  /** The gateway's address, or null when none is configured (the lamp then runs standalone). */
  gateway(lamp: LampState): Addr | null;
  /** Whether `from` may change the lamp's state (the gateway, or an address in a trusted prefix);
   * asked only when the lamp has no security context. */
  trusted(lamp: LampState, from: Addr): boolean;
  /** The lamp's OSCORE context with its gateway (RFC 8613, `--security oscore`), or null/absent
   * for `--security none`. The platform keeps it for the lamp's life; the core moves its numbers
   * (firmware/security.ts). */
  security?(lamp: LampState): SecurityContext | null;
  /** Persist the context's numbers: `seqBound` and, as the floor to boot with, `high + 1` (no
   * request accepted before a reboot is accepted after it). Called after each state change a
   * protected request made (the lamp sends no sequence number of its own yet: its answers reuse
   * the request's nonce). */
  saveSecurity?(lamp: LampState, ctx: SecurityContext): void;
  /** A uniform random number in [0, 1), for CoAP jitter and boot spreading. */
  random(): number;
  /** Restart the lamp (LwM2M Execute /3/0/4): later, never from inside this call, the platform
   * calls `boot(hal, lamp)` again (after its own restart, on a board). */
  reboot(lamp: LampState): void;
  /** Free memory in kB (1000 bytes) for Device /3/0/10: the interpreter's free JsVars on a board,
   * the process's free heap in the simulator (one number for the whole fleet). */
  memoryFree(lamp: LampState): number;
  /** Diagnostics; the simulator may drop them. */
  log(lamp: LampState, message: string): void;
}
