/**
 * Registration and telemetry: the lamp as a CoAP client of its gateway (protocol/registration.ts).
 *
 * One confirmable request in flight at a time. A state change while one is in flight only marks the
 * report as owed (`dirty`); when the exchange ends a fresh update carries the latest state, so a
 * burst of changes costs at most two messages (latest wins). Retransmission follows RFC 7252 §4.2
 * (firstAckTimeout, doubled per retry, give up after MAX_RETRANSMIT retries). A failed exchange drops the registration and retries the full
 * POST /rd after a jittered, doubling backoff; the lamp keeps running its schedule meanwhile.
 */
import { ACK, ACK_RANDOM_FACTOR, ACK_TIMEOUT, CON, CONTENT_FORMAT, EMPTY, EXCHANGE_LIFETIME, FORMAT_JSON, MAX_RETRANSMIT, NOT_FOUND, POST, RST, URI_PATH, URI_QUERY, firstAckTimeout, tokenEquals, writeBegin, writeOption, writePayload } from '../protocol/coap.js';
import { copyOf, extra, nextMid, peekExtra, reader, sendBuf, sendWritten, writer } from './exchange.js';
import { gateway, hal, lamp, time } from './context.js';
import { endpointName, snapshot } from './lamp.js';
import { COAP_PORT, RD_PATH, registrationJson, stateJson, updateJson } from '../protocol/registration.js';

/** Refresh when this fraction of the registration lifetime has passed. */
export const REFRESH_FRACTION = 0.85;
/** Retry delay after the first failed exchange; doubles per further failure up to RETRY_MAX_MS. */
export const RETRY_BASE_MS = 10000;
export const RETRY_MAX_MS = 600000;

/** Sends POST /rd (register) or POST /rd/<id> (update) with the present state. */
function sendToGateway(register: number): void {
  const cfg = lamp.cfg;
  if (gateway === null) {
    lamp.regAt = Infinity;
    return;
  }
  const token = new Uint8Array(4);
  const ep = endpointName(lamp);
  const mid = nextMid();
  const state = stateJson(snapshot());
  for (let k = 0; k < 4; k++) token[k] = hal.random() * 256;
  writeBegin(writer, sendBuf, 0, CON, POST, mid, token, 0, 4);
  writeOption(writer, URI_PATH, RD_PATH);
  if (!register) writeOption(writer, URI_PATH, ep);
  writeOption(writer, CONTENT_FORMAT, FORMAT_JSON);
  if (register) writeOption(writer, URI_QUERY, 'ep=' + ep);
  writeOption(writer, URI_QUERY, 'lt=' + cfg.lifetimeS);
  writePayload(writer, register ? registrationJson(cfg.groups, state) : updateJson(state));
  const len = sendWritten(gateway, COAP_PORT);
  lamp.dirty = 0;
  if (len < 0) return giveUp();
  const timeout = firstAckTimeout(hal.random(), ACK_TIMEOUT, ACK_RANDOM_FACTOR);
  extra().pending = { mid: mid, token: token, bytes: copyOf(sendBuf, 0, len), tries: 0, timeout: timeout, at: time + timeout, register: register, acked: 0 };
}

/** Ends the exchange in flight (if any) as not registered; returns whether it was a registration. */
function endExchange(): number {
  const p = peekExtra().pending;
  if (lamp.ex) lamp.ex.pending = null;
  lamp.reg = 0;
  return p ? p.register : 0;
}

/** The exchange failed: forget the registration and retry it after a backoff. */
function giveUp(): void {
  endExchange();
  const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * Math.pow(2, lamp.fails++));
  lamp.regAt = time + Math.floor(delay * (1 + hal.random() / 2));
}

/** The registration or update was answered with `code`. */
function answered(code: number): void {
  const register = endExchange();
  if (code >> 5 === 2) {
    lamp.reg = 1;
    lamp.fails = 0;
    lamp.regAt = time + Math.floor(lamp.cfg.lifetimeS * 1000 * REFRESH_FRACTION);
    if (lamp.dirty) sendToGateway(0);
  } else if (code === NOT_FOUND && !register) {
    // The gateway forgot us (restart, lapsed lifetime): register afresh, at once.
    sendToGateway(1);
  } else giveUp();
}

/** A state change: report it now, or as soon as the exchange in flight ends. */
export function reportState(): void {
  lamp.dirty = 1;
  if (lamp.reg && !peekExtra().pending) sendToGateway(0);
}

/** Timer work: retransmit or give up on the request in flight, or register/refresh when due. */
export function registrationDue(): void {
  const p = peekExtra().pending;
  if (!p) {
    if (time >= lamp.regAt) sendToGateway(lamp.reg ? 0 : 1);
  } else if (time >= p.at) {
    if (p.acked || p.tries >= MAX_RETRANSMIT || gateway === null) return giveUp();
    p.tries++;
    p.at = time + (p.timeout *= 2);
    hal.send(lamp, gateway, COAP_PORT, p.bytes, p.bytes.length);
  }
}

/** When the registration side next needs the timer. */
export function registrationWake(): number {
  const p = peekExtra().pending;
  return p ? p.at : lamp.regAt;
}

/** Starts registration after the boot jitter (standalone when no gateway is configured). */
export function startRegistration(): void {
  lamp.reg = lamp.fails = lamp.dirty = 0;
  lamp.regAt = gateway === null ? Infinity : time + Math.floor(hal.random() * lamp.cfg.bootJitterMs);
}

/** Registers afresh at once (the endpoint name or groups changed), abandoning any request in
 * flight (a late answer to it no longer matches). */
export function reregister(): void {
  endExchange();
  sendToGateway(1);
}

/** Offers the message in `reader` (an ACK or RST, or a separate response) to the request in flight.
 * Returns whether it belonged to it. */
export function registrationReply(): boolean {
  const p = peekExtra().pending;
  const r = reader;
  if (!p || (r.type >= ACK ? r.mid !== p.mid : r.code < 64 || !tokenEquals(r, p.token))) return false;
  if (r.type === RST) giveUp();
  else if (r.type === ACK && r.code === EMPTY) {
    // Empty ACK: the answer comes as a separate response; stop retransmitting and wait for it.
    p.acked = 1;
    p.at = time + EXCHANGE_LIFETIME;
  } else answered(r.code);
  return true;
}
