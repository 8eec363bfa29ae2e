/**
 * The lamp core's entry points: what every platform (the Espruino port, the simulator's fleet)
 * calls. Each entry point first makes its HAL, lamp and instant the context (context.ts) that the
 * rest of the core reads, and finishes by re-arming the lamp's single timer for the earliest of its
 * deadlines: schedule edge, fade end, retransmission or registration refresh, cache expiry.
 *
 * Platform contract (hal.ts): one HAL for many lamps, every call names the lamp; the core never
 * keeps a timer, socket or closure per lamp.
 */
import { enter, gateway, hal as current, lamp as active, peer, peerPort, time } from './context.js';
import { ACK, CON, EMPTY, NON, RST, UNAUTHORIZED, readCoap, writeBegin } from '../protocol/coap.js';
import { BRIEF } from '../protocol/diagnostics.js';
import { applyCommand, applyFault, applyPowerOff, applyPowerOn, applySchedule } from './control.js';
import { joinGroups, nextMid, reader, sendBuf, sendWritten, writer } from './exchange.js';
import type { Addr, Hal } from './hal.js';
import { integrate, lit, snapshot, type LampState } from './lamp.js';
import type { LampSnapshot } from '../protocol/lamp.js';
import { dropObservations, observeDue, observeWake, observerReset, publish } from './observe.js';
import { deregister, registrationDue, registrationReply, registrationUnreachable, registrationWake, startRegistration } from './registration.js';
import { expireCache, handleRequest } from './server.js';
import { endRequest, verifyRequest } from './security.js';

/** A command given at the lamp itself (a button, the simulator's console), not over the network;
 * absent fields stay as they are. */
export interface LocalCommand {
  on?: boolean;
  level?: number;
  fadeMs?: number;
}

/** Ends an entry point: arms the platform timer for the lamp's earliest deadline (only if it moved),
 * after releasing an emptied transient record (expireCache). */
function arm(): void {
  const lamp = active;
  const next = lamp.up ? Math.min(lamp.edge, registrationWake(), expireCache(), observeWake(), lamp.t1 > lamp.t0 ? lamp.t1 : Infinity) : Infinity;
  if (next !== lamp.wake) current.wakeAt(lamp, (lamp.wake = next));
}

/** Power-on (or a reboot, hal.reboot): light per the schedule or cfg.powerOn, join the groups,
 * register after the jitter. Observations and attributes of a previous life are gone. */
export function boot(hal: Hal, lamp: LampState): void {
  enter(hal, lamp);
  lamp.ex = null;
  lamp.nextFade = -1;
  dropObservations();
  lamp.mid = Math.floor(hal.random() * 65536);
  applyPowerOn();
  joinGroups('');
  startRegistration();
  lamp.wake = NaN;
  arm();
}

/** Sends the peer an empty message of `type` (RST, or ACK) for the message id in `reader`. */
function sendEmpty(type: number): void {
  writeBegin(writer, sendBuf, 0, type, EMPTY, reader.mid, null, 0, 0);
  sendWritten(peer, peerPort);
}

/** One UDP datagram to the lamp's CoAP port. `multicast`: it was sent to one of the lamp's groups
 * (executed, never answered). Returns null when handled, or why it was dropped. */
export function receive(hal: Hal, lamp: LampState, from: Addr, port: number, data: Uint8Array, len: number, multicast?: boolean): string | null {
  if (!lamp.up) return BRIEF ? 'd' : 'lamp ' + lamp.n + ' is not powered';
  enter(hal, lamp, from, port);
  const r = reader;
  const ok = readCoap(r, data, 0, len);
  const fromGateway = from === gateway;
  let dropped: string | null = null;
  // An RST answers a confirmable message the lamp cannot take (RFC 7252 §4.2): a malformed one
  // whose header can be trusted that far, a CoAP ping (empty CON), or a stray response.
  let rejected = false;
  if (!ok) {
    dropped = r.error;
    rejected = len >= 4 && data[0] >> 6 === 1;
  } else if (r.type >= ACK) {
    if (!(fromGateway && registrationReply()) && !(r.type === RST && observerReset(r.mid))) dropped = BRIEF ? 'u' : 'CoAP ' + (r.type === ACK ? 'ACK' : 'RST') + ' ' + r.mid + ' matches no exchange';
  } else if (r.code === EMPTY) rejected = true;
  else if (r.code < 32) {
    dropped = verifyRequest(r);
    if (dropped === null) handleRequest(!!multicast);
    else if (!multicast) {
      // RFC 8613 §8.2: a request that fails to verify is answered 4.01, unprotected.
      writeBegin(writer, sendBuf, 0, r.type === CON ? ACK : NON, UNAUTHORIZED, r.type === CON ? r.mid : nextMid(), r.buf, r.tokenOff, r.tokenLen);
      sendWritten(peer, peerPort);
    }
    endRequest();
  }
  else if (fromGateway && registrationReply()) {
    // A separate response to the lamp's request: acknowledge it if it is confirmable.
    if (r.type === CON) sendEmpty(ACK);
  } else {
    dropped = BRIEF ? 'u' : 'CoAP response ' + r.code + ' matches no request';
    rejected = true;
  }
  if (rejected && r.type === CON && !multicast) sendEmpty(RST);
  arm();
  return dropped;
}

/** The network could not deliver a datagram the lamp sent to `to`, port `port` (an ICMPv6
 * Destination Unreachable, whose quoted copy of the datagram's UDP payload is `data[0..len)`). A
 * request in flight to the gateway then counts as failed and backs off. Espruino's sockets never
 * see ICMP, so a board learns the same from its timeouts only. Returns whether an exchange ended. */
export function unreachable(hal: Hal, lamp: LampState, to: Addr, port: number, data: Uint8Array, len: number): boolean {
  if (!lamp.up) return false;
  enter(hal, lamp);
  const ended = registrationUnreachable(to, port, data, len);
  arm();
  return ended;
}

/** The lamp's timer fired: schedule edge, fade end, retransmission, refresh, cache expiry. */
export function wake(hal: Hal, lamp: LampState): void {
  lamp.wake = NaN;
  if (!lamp.up) return;
  enter(hal, lamp);
  let changed = false;
  if (time >= lamp.edge) changed = applySchedule();
  if (lamp.t1 > lamp.t0 && time >= lamp.t1) {
    // The fade ended: the power reading moved, report it.
    integrate();
    changed = true;
  }
  if (changed) publish();
  observeDue();
  registrationDue();
  arm();
}

/** Whether the lamp answers ICMPv6 echo: while powered, or with pingWhen=1 only while lit. */
export function answersPing(lamp: LampState): boolean {
  return lamp.up === 1 && (lamp.cfg.pingWhen === 0 || lit(lamp));
}

/** The state and meters now. */
export function readState(hal: Hal, lamp: LampState): LampSnapshot {
  enter(hal, lamp);
  return snapshot();
}

/** Local control (a button, the simulator's console): overrides the schedule until its next edge. */
export function command(hal: Hal, lamp: LampState, cmd: LocalCommand): void {
  if (!lamp.up) return;
  enter(hal, lamp);
  if (applyCommand(cmd.on === undefined ? -1 : +cmd.on, cmd.level === undefined ? -1 : cmd.level, cmd.fadeMs === undefined ? -1 : cmd.fadeMs)) publish();
  arm();
}

/** The driver fails (the light will not turn on) or is repaired. */
export function setFault(hal: Hal, lamp: LampState, fault: boolean): void {
  if (!lamp.up) {
    lamp.fault = +fault;
    return;
  }
  enter(hal, lamp);
  if (applyFault(fault)) publish();
  arm();
}

/** Shutdown of the lamp's program: De-register from the gateway (one DELETE, LwM2M 1.1 §6.2.3).
 * The light stays as it is (a board saving its code keeps its level); `halt` is the power cut. */
export function shutdown(hal: Hal, lamp: LampState): void {
  if (!lamp.up) return;
  enter(hal, lamp);
  deregister();
  arm();
}

/** Power cut: the lamp stops (meters kept), forgets its exchanges, observations and registration. */
export function halt(hal: Hal, lamp: LampState): void {
  if (!lamp.up) return;
  enter(hal, lamp);
  applyPowerOff();
  dropObservations();
  lamp.ex = null;
  lamp.reg = 0;
  lamp.loc = '';
  lamp.regAt = Infinity;
  lamp.wake = Infinity;
  hal.wakeAt(lamp, Infinity);
}
