/**
 * Protecting and verifying CoAP messages with OSCORE (RFC 8613 §5, §8): the lamp and the gateway
 * both use these four functions, over the shared CoAP codec (../coap.ts).
 *
 * A protected message keeps the outer header (type, message id, token) and the options a proxy must
 * see (class U: Uri-Host, Uri-Port, Proxy-Uri, Proxy-Scheme; Observe both inside and out), carries
 * the OSCORE option, and as payload the COSE_Encrypt0 ciphertext of the real code, the class E
 * options (Uri-Path, Uri-Query, Content-Format, Accept...) and the payload. Its outer code is POST
 * (FETCH with Observe) for a request, 2.04 (2.05 with Observe) for a response (§4.2).
 *
 * A request carries the sender's sequence number as Partial IV and its Sender ID as kid. A response
 * reuses the request's nonce (no Partial IV) unless told to carry its own (`withPiv`, needed for
 * notifications, §8.3). Either way the AAD binds it to the request's kid and Partial IV (§7.1).
 *
 * Verifying never changes anything but the output buffer and the record's fields until the message
 * has authenticated: a refused message (malformed option, wrong kid, replayed or out-of-window
 * sequence number, wrong tag) leaves the context as it was; `error` says why.
 *
 * Firmware rule: ES5-lowerable. Nothing here throws on hostile bytes.
 */
import { type CoapReader, OBSERVE, PROXY_SCHEME, PROXY_URI, URI_HOST, URI_PORT, coapReader, coapWriter, readCoap, writeBegin, writeEnd, writeOption, writePayload } from '../coap.js';
import { BRIEF } from '../diagnostics.js';
import { TAG_LEN, ccmOpen, ccmSeal } from './crypto.js';
import { type SecurityContext, AES_CCM_16_64_128, cborBytes, fresh, markSeen, nonce, takeSequence } from './context.js';
import { OSCORE, type OscoreOption, oscoreOption, oscoreOptionValue, readOscoreOption, writePiv } from './option.js';

/** Outer codes of protected messages (§4.2): POST and FETCH requests, 2.04 and 2.05 responses. */
const POST = 2;
const FETCH = 5;
const CHANGED = 68;
const CONTENT = 69;

/** Largest plain message handled: the lamp's send buffer and a CoAP datagram on a small MTU. */
export const MAX_PLAIN = 1152;

/** Results and scratch space of the last protect/verify, reused by the caller (one per platform:
 * the core is not reentrant). */
export interface Oscore {
  /** Partial IV of the message just protected or verified: for a request, what binds its response. */
  piv: number;
  /** Why the last call returned -1 ('' after success). */
  error: string;
  /** The OSCORE option of the message being verified. */
  opt: OscoreOption;
  /** The plaintext: a fake 4-byte CoAP header, then code-less options and payload, so that the CoAP
   * reader and writer serve it (`plainHeader`). */
  plain: Uint8Array;
  inner: CoapReader;
}

export function oscore(): Oscore {
  return { piv: -1, error: '', opt: oscoreOption(), plain: new Uint8Array(MAX_PLAIN + 4), inner: coapReader() };
}

const w = coapWriter();
/** The ciphertext being sealed; allocated on first use, so that a lamp without OSCORE pays nothing
 * for it (JsVars on a board). */
let sealed: Uint8Array | null = null;

/** Whether option `num` stays outside, readable by proxies (class U, §4.1). */
function outer(num: number): boolean {
  return num === URI_HOST || num === URI_PORT || num === PROXY_URI || num === PROXY_SCHEME || num === OBSERVE;
}

/** Whether option `num` is protected (class E); Observe is both. */
function inner(num: number): boolean {
  return num !== OSCORE && (num === OBSERVE || !outer(num));
}

/** The AAD (§5.4): Enc_structure ["Encrypt0", h'', external_aad] with external_aad =
 * [1, [alg], request_kid, request_piv, h''] in CBOR. */
export function aad(kid: Uint8Array, piv: number): Uint8Array {
  const ext = new Uint8Array(24);
  ext[0] = 0x85;
  ext[1] = 1;
  ext[2] = 0x81;
  ext[3] = AES_CCM_16_64_128;
  let p = cborBytes(ext, 4, kid);
  const pivAt = p++;
  p = writePiv(ext, p, piv);
  ext[pivAt] = 0x40 | (p - pivAt - 1);
  ext[p++] = 0x40;
  const out = new Uint8Array(12 + p);
  // 0x83, "Encrypt0" as a text string, an empty protected header.
  out.set([0x83, 0x68, 69, 110, 99, 114, 121, 112, 116, 48, 0x40], 0);
  return out.subarray(0, cborBytes(out, 11, ext.subarray(0, p)));
}

/** Seals the plain message in `r` into out[off..): the outer header and class U options, the
 * OSCORE option `opt`, the ciphertext. Returns its length or -1. */
function seal(r: CoapReader, code: number, opt: Uint8Array, key: Uint8Array, n: Uint8Array, a: Uint8Array, plain: Uint8Array, out: Uint8Array, off: number): number {
  // The plaintext: the real code, the class E options, the payload (§5.3).
  writeBegin(w, plain, 0, 0, r.code, 0, null, 0, 0);
  for (let i = 0; i < r.optCount; i++) if (inner(r.optNum[i])) writeOption(w, r.optNum[i], r.buf.subarray(r.optOff[i], r.optOff[i] + r.optLen[i]));
  writePayload(w, r.buf.subarray(r.payloadOff, r.payloadOff + r.payloadLen));
  const len = writeEnd(w) - 3;
  if (len < 1) return -1;
  plain[3] = r.code;
  if (!sealed) sealed = new Uint8Array(MAX_PLAIN + TAG_LEN);
  ccmSeal(key, n, a, plain, 3, len, sealed, 0);
  writeBegin(w, out, off, r.type, code, r.mid, r.buf, r.tokenOff, r.tokenLen);
  let written = false;
  for (let i = 0; i < r.optCount; i++) {
    const num = r.optNum[i];
    if (!written && num > OSCORE) {
      writeOption(w, OSCORE, opt);
      written = true;
    }
    if (outer(num)) writeOption(w, num, r.buf.subarray(r.optOff[i], r.optOff[i] + r.optLen[i]));
  }
  if (!written) writeOption(w, OSCORE, opt);
  writePayload(w, sealed.subarray(0, len + TAG_LEN));
  return writeEnd(w);
}

/** Opens the protected message in `r` (its OSCORE option already read into o.opt) into out[off..):
 * the outer header, class U options and the decrypted ones, the real code and payload. Returns its
 * length or -1 with o.error; `request`: whether the inner code must be a request's. */
function open(o: Oscore, r: CoapReader, key: Uint8Array, n: Uint8Array, a: Uint8Array, request: boolean, out: Uint8Array, off: number): number {
  const plain = o.plain;
  const len = r.payloadLen - TAG_LEN;
  if (len < 1 || len > MAX_PLAIN) return fail(o, BRIEF ? 'x' : 'ciphertext of ' + r.payloadLen + ' bytes (' + (TAG_LEN + 1) + ' to ' + (MAX_PLAIN + TAG_LEN) + ')');
  if (!ccmOpen(key, n, a, r.buf, r.payloadOff, r.payloadLen, plain, 3)) return fail(o, BRIEF ? 'a' : 'authentication failed (wrong key, nonce, AAD or tag)');
  const code = plain[3];
  plain[0] = 0x40;
  plain[1] = code;
  plain[2] = plain[3] = 0;
  const x = o.inner;
  if (!readCoap(x, plain, 0, len + 3) || (request ? code < 1 || code > 31 : code < 64)) return fail(o, BRIEF ? 'x' : 'the protected message is not a CoAP ' + (request ? 'request' : 'response') + ': ' + (x.error || 'code ' + code));
  writeBegin(w, out, off, r.type, code, r.mid, r.buf, r.tokenOff, r.tokenLen);
  // Merge the class U options outside with the class E ones inside, in option order; anything else
  // found outside or inside is not part of the message (§8.2 step 3).
  let j = 0;
  for (let i = 0; i <= r.optCount; i++) {
    const num = i < r.optCount ? r.optNum[i] : 65536;
    for (; j < x.optCount && x.optNum[j] <= num; j++) if (inner(x.optNum[j])) writeOption(w, x.optNum[j], plain.subarray(x.optOff[j], x.optOff[j] + x.optLen[j]));
    if (num < 65536 && outer(num) && num !== OBSERVE) writeOption(w, num, r.buf.subarray(r.optOff[i], r.optOff[i] + r.optLen[i]));
  }
  writePayload(w, plain.subarray(x.payloadOff, x.payloadOff + x.payloadLen));
  const total = writeEnd(w);
  return total < 0 ? fail(o, w.error) : total;
}

function fail(o: Oscore, e: string): number {
  o.error = BRIEF ? e : e && 'OSCORE ' + e;
  return -1;
}

/** Finds and reads the OSCORE option of `r` into o.opt; false (with o.error) when it is absent,
 * repeated or malformed. */
export function readOscore(o: Oscore, r: CoapReader): boolean {
  let at = -1;
  for (let i = 0; i < r.optCount; i++) {
    if (r.optNum[i] !== OSCORE) continue;
    if (at >= 0) return fail(o, BRIEF ? 'f' : 'option repeated') >= 0;
    at = i;
  }
  if (at < 0) return fail(o, BRIEF ? 'x' : 'option absent') >= 0;
  if (!readOscoreOption(o.opt, r.buf, r.optOff[at], r.optLen[at])) return fail(o, o.opt.error) >= 0;
  o.error = '';
  return true;
}

/** Whether the CoAP message in `r` carries an OSCORE option. */
export function isProtected(r: CoapReader): boolean {
  for (let i = 0; i < r.optCount; i++) if (r.optNum[i] === OSCORE) return true;
  return false;
}

function same(a: Uint8Array | null, buf: Uint8Array, off: number, len: number): boolean {
  if (!a || a.length !== len) return false;
  let d = 0;
  for (let k = 0; k < len; k++) d |= a[k] ^ buf[off + k];
  return d === 0;
}

/** Protects the plain request in `r` (checked by readCoap) into out[off..) under the next sender
 * sequence number (o.piv). Returns the length, or -1 when the sequence numbers are used up or the
 * message does not fit. The caller persists ctx.seqBound, if it moved, before sending. */
export function protectRequest(o: Oscore, ctx: SecurityContext, r: CoapReader, out: Uint8Array, off: number): number {
  const seq = takeSequence(ctx);
  if (seq < 0) return fail(o, BRIEF ? 's' : 'sender sequence numbers used up: the context must be renewed');
  o.piv = seq;
  const observe = isObserve(r);
  const len = seal(r, observe ? FETCH : POST, oscoreOptionValue(seq, ctx.senderId, ctx.kidContext ? ctx.idContext : null), ctx.senderKey, nonce(ctx, ctx.senderId, seq), aad(ctx.senderId, seq), o.plain, out, off);
  return len < 0 ? fail(o, BRIEF ? 'w' : 'protected request does not fit ' + (out.length - off) + ' bytes') : len;
}

function isObserve(r: CoapReader): boolean {
  for (let i = 0; i < r.optCount; i++) if (r.optNum[i] === OBSERVE) return true;
  return false;
}

/** Verifies the protected request in `r` for the context whose Recipient ID its kid must be, and
 * writes the plain request to out[off..). Returns its length, or -1 (o.error) with the context
 * unchanged. On success the sequence number is marked seen and o.piv binds the response. */
export function unprotectRequest(o: Oscore, ctx: SecurityContext, r: CoapReader, out: Uint8Array, off: number): number {
  if (!readOscore(o, r)) return -1;
  const opt = o.opt;
  if (opt.piv < 0) return fail(o, BRIEF ? 'p' : 'request without a Partial IV');
  if (!same(ctx.recipientId, r.buf, opt.kidOff, opt.kidLen)) return fail(o, BRIEF ? 'k' : 'kid matches no security context');
  if (opt.ctxLen >= 0 && !same(ctx.idContext, r.buf, opt.ctxOff, opt.ctxLen)) return fail(o, BRIEF ? 'k' : 'kid context matches no security context');
  if (!fresh(ctx, opt.piv)) return fail(o, BRIEF ? 'r' : 'sequence number ' + opt.piv + ' replayed or below the replay window (highest ' + ctx.high + ')');
  const len = open(o, r, ctx.recipientKey, nonce(ctx, ctx.recipientId, opt.piv), aad(ctx.recipientId, opt.piv), true, out, off);
  if (len < 0) return -1;
  markSeen(ctx, opt.piv);
  o.piv = opt.piv;
  o.error = '';
  return len;
}

/** Protects the plain response in `r` to the request whose Partial IV was `requestPiv` into
 * out[off..); with `withPiv` it carries a fresh sequence number of its own (notifications).
 * Returns the length or -1. */
export function protectResponse(o: Oscore, ctx: SecurityContext, r: CoapReader, requestPiv: number, withPiv: boolean, out: Uint8Array, off: number): number {
  const seq = withPiv ? takeSequence(ctx) : -1;
  if (withPiv && seq < 0) return fail(o, BRIEF ? 's' : 'sender sequence numbers used up: the context must be renewed');
  o.piv = seq;
  const n = withPiv ? nonce(ctx, ctx.senderId, seq) : nonce(ctx, ctx.recipientId, requestPiv);
  const len = seal(r, isObserve(r) ? CONTENT : CHANGED, oscoreOptionValue(seq, null, null), ctx.senderKey, n, aad(ctx.recipientId, requestPiv), o.plain, out, off);
  return len < 0 ? fail(o, BRIEF ? 'w' : 'protected response does not fit ' + (out.length - off) + ' bytes') : len;
}

/** Verifies the protected response in `r` to the request this side protected with Partial IV
 * `requestPiv`, and writes the plain response to out[off..). Returns its length or -1 (o.error);
 * a response with its own Partial IV goes through the replay window like a request. */
export function unprotectResponse(o: Oscore, ctx: SecurityContext, r: CoapReader, requestPiv: number, out: Uint8Array, off: number): number {
  if (!readOscore(o, r)) return -1;
  const opt = o.opt;
  if (opt.kidLen >= 0 && !same(ctx.recipientId, r.buf, opt.kidOff, opt.kidLen)) return fail(o, BRIEF ? 'k' : 'kid matches no security context');
  if (opt.piv >= 0 && !fresh(ctx, opt.piv)) return fail(o, BRIEF ? 'r' : 'sequence number ' + opt.piv + ' replayed or below the replay window (highest ' + ctx.high + ')');
  const n = opt.piv >= 0 ? nonce(ctx, ctx.recipientId, opt.piv) : nonce(ctx, ctx.senderId, requestPiv);
  const len = open(o, r, ctx.recipientKey, n, aad(ctx.senderId, requestPiv), false, out, off);
  if (len < 0) return -1;
  if (opt.piv >= 0) markSeen(ctx, opt.piv);
  o.piv = opt.piv;
  o.error = '';
  return len;
}
