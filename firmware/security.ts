/**
 * OSCORE (RFC 8613) on the lamp: what decides who may change its state. With a security context
 * (hal.security: `--security oscore`), a state-changing request is executed only when it verified
 * under the lamp's context, and its response goes back protected; a request that fails to verify
 * (malformed option, wrong kid, wrong tag, replayed or below the window) is answered 4.01 and
 * dropped, its reason returned to the platform, which counts it. Without one (`--security none`),
 * the source address decides (hal.trusted), as before. Reads are served either way; a protected
 * read gets a protected answer.
 *
 * The lamp's replay floor survives a reboot: after each state change it accepted, the platform
 * persists the context (hal.saveSecurity), and boots the lamp with nothing at or below the highest
 * sequence number it had accepted. Notifications and the lamp's own registration are not protected
 * yet (the gateway takes them unprotected).
 *
 * Module state, like context.ts: valid during one entry point of core.ts.
 */
import { FORBIDDEN, UNAUTHORIZED, coapReader, readCoap, tokenEquals, type CoapReader } from '../protocol/coap.js';
import type { SecurityContext } from '../protocol/oscore/context.js';
import { MAX_PLAIN, type Oscore, isProtected, oscore, protectResponse, unprotectRequest } from '../protocol/oscore/message.js';
import type { Addr } from './hal.js';
import { hal, lamp, peer } from './context.js';

/** The context the request being handled verified under; null when it came unprotected. */
let secured: SecurityContext | null = null;
let requestPiv = 0;
/** The protected request's token: only the message carrying it answers the request (a notification
 * the request's change sets off, to the same peer, is not its answer). */
const token = new Uint8Array(8);
let tokenLen = 0;
/** OSCORE's scratch space, allocated for the first protected request: a lamp without a context
 * keeps its JsVars. */
let osc: Oscore | null = null;
const reply = coapReader();
/** The verified request, which the core then handles as if it had come so; once it is handled,
 * the protected reply (see `protectReply`: nothing reads the request after its answer is written). */
export let sealedReply: Uint8Array = new Uint8Array(0);

function context(): SecurityContext | null {
  return hal.security ? hal.security(lamp) : null;
}

/** Verifies the request in `r` when the lamp has a context and the request is protected: then `r`
 * holds the plain request. Returns null to handle it, or why it was refused (`r` unchanged). */
export function verifyRequest(r: CoapReader): string | null {
  secured = null;
  const ctx = context();
  if (!ctx || !isProtected(r)) return null;
  if (!osc) {
    osc = oscore();
    sealedReply = new Uint8Array(MAX_PLAIN + 64);
  }
  const len = unprotectRequest(osc, ctx, r, sealedReply, 0);
  if (len < 0) return osc.error;
  readCoap(r, sealedReply, 0, len);
  secured = ctx;
  requestPiv = osc.piv;
  tokenLen = r.tokenLen;
  for (let k = 0; k < tokenLen; k++) token[k] = r.buf[r.tokenOff + k];
  return null;
}

/** The response code that refuses a state change by the current request, 0 when it may go ahead. */
export function changeRefusal(): number {
  if (secured) return 0;
  if (context()) return UNAUTHORIZED;
  return hal.trusted(lamp, peer) ? 0 : FORBIDDEN;
}

/** A protected request changed the lamp's state: its sequence number must never be accepted again,
 * not even after a reboot. */
export function changeAccepted(): void {
  if (secured && hal.saveSecurity) hal.saveSecurity(lamp, secured);
}

/** The request is handled: nothing sent later is an answer to it. */
export function endRequest(): void {
  secured = null;
}

/** The message buf[0..len) to `to` protected into `sealedReply` when it answers the protected
 * request being handled: returns its length there (0 when it cannot be protected and must not go),
 * or -1 when it goes as it is (no protected request, an empty ACK or RST, another peer). */
export function protectReply(buf: Uint8Array, len: number, to: Addr): number {
  if (!secured || to !== peer || buf[1] < 64 || !readCoap(reply, buf, 0, len) || !tokenEquals(reply, token.subarray(0, tokenLen))) return -1;
  const n = protectResponse(osc!, secured, reply, requestPiv, false, sealedReply, 0);
  return n < 0 ? 0 : n;
}
