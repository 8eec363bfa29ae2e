/**
 * Registration and telemetry: the lamp as a CoAP client of its gateway (protocol.ts).
 *
 * One confirmable request in flight at a time. A state change while one is in flight only marks the
 * report as owed (`dirty`); when the exchange ends a fresh update carries the latest state, so a
 * burst of changes costs at most two messages (latest wins). Retransmission follows RFC 7252 §4.2:
 * first timeout random in [ACK_TIMEOUT, ACK_TIMEOUT * ACK_RANDOM_FACTOR], doubled per retry, give up
 * after MAX_RETRANSMIT retries. A failed exchange drops the registration and retries the full
 * POST /rd after a jittered, doubling backoff; the lamp keeps running its schedule meanwhile.
 */
import { ACK, ACK_RANDOM_FACTOR, ACK_TIMEOUT, CON, CONTENT_FORMAT, EMPTY, EXCHANGE_LIFETIME, FORMAT_JSON, MAX_RETRANSMIT, NOT_FOUND, POST, RST, URI_PATH, URI_QUERY } from './coap.js';
import { extra, nextMid, peekExtra, reader, sendBuf, sendWritten, writer } from './exchange.js';
import type { Hal } from './hal.js';
import { endpointName, snapshot, type LampState } from './lamp.js';
import { COAP_PORT, RD_PATH, registrationJson, stateJson, updateJson } from './protocol.js';

/** Refresh when this fraction of the registration lifetime has passed. */
export const REFRESH_FRACTION = 0.85;
/** Retry delay after the first failed exchange; doubles per further failure up to RETRY_MAX_MS. */
export const RETRY_BASE_MS = 10000;
export const RETRY_MAX_MS = 600000;

/** Sends POST /rd (register) or POST /rd/<id> (update) with the present state. */
function sendToGateway(hal: Hal, lamp: LampState, register: number): void {
  const gw = hal.gateway(lamp);
  const cfg = lamp.cfg;
  const t = hal.now();
  if (gw === null) {
    lamp.regAt = Infinity;
    return;
  }
  const token = new Uint8Array(4);
  const mid = nextMid(lamp);
  const state = stateJson(snapshot(lamp, t));
  for (let k = 0; k < 4; k++) token[k] = hal.random() * 256;
  writer.begin(sendBuf, 0, CON, POST, mid, token, 0, 4).option(URI_PATH, RD_PATH);
  if (!register) writer.option(URI_PATH, endpointName(lamp));
  writer.option(CONTENT_FORMAT, FORMAT_JSON);
  if (register) writer.option(URI_QUERY, 'ep=' + endpointName(lamp));
  writer.option(URI_QUERY, 'lt=' + cfg.lifetimeS).payload(register ? registrationJson(cfg.groups, state) : updateJson(state));
  const len = sendWritten(hal, lamp, gw, COAP_PORT);
  lamp.dirty = 0;
  if (len < 0) return giveUp(hal, lamp, t);
  const timeout = Math.floor(ACK_TIMEOUT * (1 + hal.random() * (ACK_RANDOM_FACTOR - 1)));
  extra(lamp).pending = { mid: mid, token: token, bytes: new Uint8Array(sendBuf.subarray(0, len)), tries: 0, timeout: timeout, at: t + timeout, register: register, acked: 0 };
}

/** Ends the exchange in flight (if any) as not registered; returns whether it was a registration. */
function endExchange(lamp: LampState): number {
  const p = peekExtra(lamp).pending;
  if (lamp.ex) lamp.ex.pending = null;
  lamp.reg = 0;
  return p ? p.register : 0;
}

/** The exchange failed: forget the registration and retry it after a backoff. */
function giveUp(hal: Hal, lamp: LampState, t: number): void {
  endExchange(lamp);
  const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * Math.pow(2, lamp.fails++));
  lamp.regAt = t + Math.floor(delay * (1 + hal.random() / 2));
}

/** The registration or update was answered with `code`. */
function answered(hal: Hal, lamp: LampState, code: number, t: number): void {
  const register = endExchange(lamp);
  if (code >> 5 === 2) {
    lamp.reg = 1;
    lamp.fails = 0;
    lamp.regAt = t + Math.floor(lamp.cfg.lifetimeS * 1000 * REFRESH_FRACTION);
    if (lamp.dirty) sendToGateway(hal, lamp, 0);
  } else if (code === NOT_FOUND && !register) {
    // The gateway forgot us (restart, lapsed lifetime): register afresh, at once.
    sendToGateway(hal, lamp, 1);
  } else giveUp(hal, lamp, t);
}

/** A state change: report it now, or as soon as the exchange in flight ends. */
export function reportState(hal: Hal, lamp: LampState): void {
  lamp.dirty = 1;
  if (lamp.reg && !peekExtra(lamp).pending) sendToGateway(hal, lamp, 0);
}

/** Timer work: retransmit or give up on the request in flight, or register/refresh when due. */
export function registrationDue(hal: Hal, lamp: LampState, t: number): void {
  const p = peekExtra(lamp).pending;
  const gw = hal.gateway(lamp);
  if (!p) {
    if (t >= lamp.regAt) sendToGateway(hal, lamp, lamp.reg ? 0 : 1);
  } else if (t >= p.at) {
    if (p.acked || p.tries >= MAX_RETRANSMIT || gw === null) return giveUp(hal, lamp, t);
    p.tries++;
    p.at = t + (p.timeout *= 2);
    hal.send(lamp, gw, COAP_PORT, p.bytes, p.bytes.length);
  }
}

/** When the registration side next needs the timer. */
export function registrationWake(lamp: LampState): number {
  const p = peekExtra(lamp).pending;
  return p ? p.at : lamp.regAt;
}

/** Starts registration after the boot jitter (standalone when no gateway is configured). */
export function startRegistration(hal: Hal, lamp: LampState, t: number): void {
  lamp.reg = lamp.fails = lamp.dirty = 0;
  lamp.regAt = hal.gateway(lamp) === null ? Infinity : t + Math.floor(hal.random() * lamp.cfg.bootJitterMs);
}

/** Registers afresh at once (the endpoint name or groups changed), abandoning any request in
 * flight (a late answer to it no longer matches). */
export function reregister(hal: Hal, lamp: LampState): void {
  endExchange(lamp);
  sendToGateway(hal, lamp, 1);
}

/** Offers the message in `reader` (an ACK or RST, or a separate response) to the request in flight.
 * Returns whether it belonged to it. */
export function registrationReply(hal: Hal, lamp: LampState, t: number): boolean {
  const p = peekExtra(lamp).pending;
  const r = reader;
  if (!p || (r.type >= ACK ? r.mid !== p.mid : r.code < 64 || !r.tokenEquals(p.token, 0, 4))) return false;
  if (r.type === RST) giveUp(hal, lamp, t);
  else if (r.type === ACK && r.code === EMPTY) {
    // Empty ACK: the answer comes as a separate response; stop retransmitting and wait for it.
    p.acked = 1;
    p.at = t + EXCHANGE_LIFETIME;
  } else answered(hal, lamp, r.code, t);
  return true;
}
