/**
 * The lamp an entry point of core.ts is working on, the fleet's HAL and the instant the event
 * happened. The core is not reentrant (hal.ts: one parse buffer, one send buffer), so one entry point
 * runs at a time, and the functions it calls read these instead of passing them down through every
 * call: on the board each argument of each call is flash spent. One instant per event also means
 * everything an event does (meters, deadlines, reports) agrees on its time.
 *
 * Imported by core.ts before anything else, so that the bundle declares these first and the
 * minifier gives them its shortest names.
 */
import type { Addr, Hal } from './hal.js';
import type { LampState } from './lamp.js';

export let hal: Hal;
export let lamp: LampState;
/** hal.now() when the entry point was called. */
export let time: number;
/** hal.gateway(lamp) then. */
export let gateway: Addr | null;

/** Where the datagram being received came from (set by `receive` only). */
export let peer: Addr;
export let peerPort: number;

/** Makes `h` and `l` (and, receiving a datagram, its sender) the context of the entry point being
 * run. */
export function enter(h: Hal, l: LampState, from?: Addr, port?: number): void {
  hal = h;
  lamp = l;
  time = h.now();
  gateway = h.gateway(l);
  peer = from!;
  peerPort = port!;
}
