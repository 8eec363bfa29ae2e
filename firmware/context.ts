/**
 * The lamp an entry point of core.ts is working on, the fleet's HAL and the instant the event
 * happened: module state that server.ts, resources.ts, control.ts and the rest read instead of
 * taking it as arguments.
 *
 * Why module state and not a context passed down: on the board every argument of every call costs
 * bundle bytes and a JsVar per call while it runs (shared/ESPRUINO.md), and the core is not
 * reentrant anyway: it has one parse buffer and one send buffer for the whole
 * fleet (exchange.ts), so only one entry point can run at a time. One instant per event also means
 * everything an event does (meters, deadlines, reports) agrees on its time.
 *
 * The rule:
 * - Only the entry points of core.ts call `enter`, first thing, before any of these is read; nothing
 *   else assigns them.
 * - They are valid until that entry point returns: nothing keeps them for later (no closure, timer
 *   or promise of the core reads them), and the platform must not call an entry point from inside a
 *   HAL call (a send, a log, wakeAt) — the simulator's link defers what a send causes for this reason.
 * - `peer` and `peerPort` are set by `receive` only; read them only on its path (server.ts,
 *   observe.ts registering an observer).
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
