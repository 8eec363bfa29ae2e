/**
 * The LwM2M registration interface, client side (1.1 Core §6.2; protocol/lwm2m/registration.ts):
 * the lamp registers with its gateway (its LwM2M server), keeps the Location-Path the 2.01 gives,
 * refreshes with an Update there when REFRESH_FRACTION of its lifetime has passed (or at once when
 * the server Executes /1/0/8, or its lifetime /1/0/1 was written), registers afresh when an Update
 * gets 4.04, and de-registers on shutdown (core.ts). State no longer travels here: servers observe it
 * (observe.ts).
 *
 * One confirmable request in flight at a time; an Update asked for meanwhile is sent when it ends.
 * Retransmission follows RFC 7252 §4.2 (firstAckTimeout, doubled per retry, give up after
 * MAX_RETRANSMIT retries). A failed exchange drops the registration and retries the Register after a
 * jittered, doubling backoff (so a fleet powering up together spreads out); the lamp keeps running its
 * schedule meanwhile. An exchange also fails at once when the network says the request could not
 * be delivered (ICMPv6 Destination Unreachable quoting it, `registrationUnreachable`; a platform
 * that cannot see ICMP, like Espruino's IPv4 sockets, falls back on the timeouts). A gateway under
 * load that answers 5.03 Service Unavailable is asked again after the Max-Age it gives (RFC 7252
 * §5.9.3.4), jittered, with the registration left as it was.
 */
import { ACK, ACK_RANDOM_FACTOR, ACK_TIMEOUT, CON, CREATED, DELETE, EMPTY, EXCHANGE_LIFETIME, MAX_AGE, MAX_RETRANSMIT, NOT_FOUND, POST, RST, SERVICE_UNAVAILABLE, URI_QUERY, firstAckTimeout, optionUint, tokenEquals, writeBegin, writeOption, writePayload } from '../protocol/coap.js';
import { locationOf, writeLocation, writeRegisterOptions } from '../protocol/lwm2m/registration.js';
import { COAP_PORT } from '../protocol/lamp.js';
import { copyOf, extra, nextMid, peekExtra, reader, sendBuf, sendWritten, writer } from './exchange.js';
import { gateway, hal, lamp, time } from './context.js';
import type { Addr } from './hal.js';
import { endpointName } from './lamp.js';
import { objectLinks } from './resources.js';

/** Refresh when this fraction of the registration lifetime has passed. */
export const REFRESH_FRACTION = 0.85;
/** Retry delay after the first failed exchange; doubles per further failure up to RETRY_MAX_MS. */
export const RETRY_BASE_MS = 10000;
export const RETRY_MAX_MS = 600000;
/** Max-Age of a 5.03 that gives none (RFC 7252 §5.10.5), and the least wait one can ask for. */
export const MAX_AGE_DEFAULT_S = 60;
export const MAX_AGE_MIN_S = 1;

/** What the exchange in flight is (Outbound.register). */
export const UPDATE = 0;
export const REGISTER = 1;
export const DEREGISTER = 2;

/** Sends a Register, an Update (with lt when lamp.dirty is 2) or a De-register to the gateway. */
function sendToGateway(kind: number): void {
  const cfg = lamp.cfg;
  if (gateway === null) {
    lamp.regAt = Infinity;
    return;
  }
  const token = new Uint8Array(4);
  const mid = nextMid();
  for (let k = 0; k < 4; k++) token[k] = hal.random() * 256;
  writeBegin(writer, sendBuf, 0, CON, kind === DEREGISTER ? DELETE : POST, mid, token, 0, 4);
  if (kind === REGISTER) {
    writeRegisterOptions(writer, endpointName(lamp), cfg.lifetimeS);
    writePayload(writer, objectLinks());
  } else {
    writeLocation(writer, lamp.loc);
    if (lamp.dirty === 2 && kind === UPDATE) writeOption(writer, URI_QUERY, 'lt=' + cfg.lifetimeS);
  }
  const len = sendWritten(gateway, COAP_PORT);
  lamp.dirty = 0;
  if (len < 0) return giveUp();
  const timeout = firstAckTimeout(hal.random(), ACK_TIMEOUT, ACK_RANDOM_FACTOR);
  extra().pending = { mid: mid, token: token, bytes: copyOf(sendBuf, 0, len), tries: 0, timeout: timeout, at: time + timeout, register: kind, acked: 0 };
}

/** Ends the exchange in flight (if any); returns its kind (UPDATE when none). */
function endExchange(): number {
  const p = peekExtra().pending;
  if (lamp.ex) lamp.ex.pending = null;
  return p ? p.register : UPDATE;
}

/** The exchange failed: forget the registration and register again after a backoff. */
function giveUp(): void {
  endExchange();
  lamp.reg = 0;
  retryIn(Math.min(RETRY_MAX_MS, RETRY_BASE_MS * Math.pow(2, lamp.fails++)));
}

/** The next Register or Update goes out after `ms` to 1.5 × `ms`, so that lamps failing together
 * do not come back together. */
function retryIn(ms: number): void {
  lamp.regAt = time + Math.floor(ms * (1 + hal.random() / 2));
}

/** The registration request in flight was answered with `code`. */
function answered(code: number): void {
  const kind = endExchange();
  const loc = kind === REGISTER && code === CREATED ? locationOf(reader) : '';
  if (kind === DEREGISTER) return;
  if (code >> 5 === 2 && loc !== null) {
    if (loc) lamp.loc = loc;
    lamp.reg = 1;
    lamp.fails = 0;
    lamp.regAt = time + Math.floor(lamp.cfg.lifetimeS * 1000 * REFRESH_FRACTION);
    if (lamp.dirty) sendToGateway(UPDATE);
  } else if (code === SERVICE_UNAVAILABLE) {
    // The gateway is loaded and says when to come back; the registration, if any, stands.
    const age = optionUint(reader, MAX_AGE);
    retryIn(Math.max(MAX_AGE_MIN_S, age < 0 ? MAX_AGE_DEFAULT_S : age) * 1000);
  } else if (code === NOT_FOUND && kind === UPDATE) {
    // The server forgot us (restart, lapsed lifetime): register afresh, at once.
    lamp.reg = 0;
    sendToGateway(REGISTER);
  } else giveUp();
}

/** Sends an Update (`lt` 2: with the lifetime) right after the request being answered, or when the
 * exchange in flight ends; a Register when not registered. The Registration Update Trigger /1/0/8
 * and a new lifetime come here. */
export function updateNow(lt: number): void {
  if (gateway === null) return;
  lamp.dirty = Math.max(lamp.dirty, lt);
  // The timer fires at once (core.ts arm), after the answer has gone.
  if (!peekExtra().pending) lamp.regAt = time;
}

/** Timer work: retransmit or give up on the request in flight, or register/refresh when due. */
export function registrationDue(): void {
  const p = peekExtra().pending;
  if (!p) {
    if (time >= lamp.regAt) sendToGateway(lamp.reg ? UPDATE : REGISTER);
  } else if (time >= p.at) {
    if (p.acked || p.tries >= MAX_RETRANSMIT || gateway === null) return giveUp();
    p.tries++;
    p.at = time + (p.timeout *= 2);
    hal.send(lamp, gateway, COAP_PORT, p.bytes, p.bytes.length);
  }
}

/** The lamp's datagram to `to`, port `port`, was not delivered: an ICMPv6 Destination Unreachable
 * quoting its first `len` bytes `data`. When it is the request in flight to the gateway (its message
 * id, so an error about an older datagram or a forged one does not end a live exchange), that
 * exchange failed, as a timeout would have said later. Returns whether it was. */
export function registrationUnreachable(to: Addr, port: number, data: Uint8Array, len: number): boolean {
  const p = peekExtra().pending;
  if (!p || p.acked || to !== gateway || port !== COAP_PORT || len < 4 || ((data[2] << 8) | data[3]) !== p.mid) return false;
  giveUp();
  return true;
}

/** When the registration side next needs the timer. */
export function registrationWake(): number {
  const p = peekExtra().pending;
  return p ? p.at : lamp.regAt;
}

/** Starts registration after the boot jitter (standalone when no gateway is configured). */
export function startRegistration(): void {
  lamp.reg = lamp.fails = lamp.dirty = 0;
  lamp.loc = '';
  lamp.regAt = gateway === null ? Infinity : time + Math.floor(hal.random() * lamp.cfg.bootJitterMs);
}

/** De-register (shutdown): one DELETE of the registration, not retransmitted (the lamp is going
 * down), and the lamp is no longer registered. */
export function deregister(): void {
  if (lamp.reg && lamp.loc) {
    endExchange();
    sendToGateway(DEREGISTER);
    endExchange();
  }
  lamp.reg = 0;
  lamp.loc = '';
  lamp.regAt = Infinity;
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
