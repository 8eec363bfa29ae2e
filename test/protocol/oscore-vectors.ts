/**
 * RFC 8613 Appendix C's test vectors run through protocol/oscore, as one list of hex strings: run in
 * Node by oscore.test.ts, and bundled by the board's build (oscore-board-entry.ts) onto the real
 * Espruino interpreter, whose AES and SHA-256 must give the same list. Firmware rule: ES5-lowerable.
 *
 * The inputs are Appendix C's: Master Secret 0x0102…10, Master Salt 0x9e7ca92223786340, ID Context
 * 0x37cbf3210017a2d3, IDs 0x (empty), 0x00, 0x01, Sender Sequence Numbers 20 (requests) and 0
 * (the response of C.8).
 */
import { coapReader, readCoap } from '../../protocol/coap.js';
import { type SecurityContext, deriveContext, nonce } from '../../protocol/oscore/context.js';
import { oscore, protectRequest, protectResponse, unprotectRequest, unprotectResponse } from '../../protocol/oscore/message.js';

export function hex(buf: Uint8Array, len?: number): string {
  let s = '';
  for (let k = 0; k < (len === undefined ? buf.length : len); k++) s += (buf[k] < 16 ? '0' : '') + buf[k].toString(16);
  return s;
}

export function bytes(h: string): Uint8Array {
  const out = new Uint8Array(h.length / 2);
  for (let k = 0; k < out.length; k++) out[k] = parseInt(h.substring(2 * k, 2 * k + 2), 16);
  return out;
}

export const SECRET = '0102030405060708090a0b0c0d0e0f10';
export const SALT = '9e7ca92223786340';
export const ID_CONTEXT = '37cbf3210017a2d3';

/** The context of an Appendix C endpoint: `salt` and `idContext` as hex ('' for none). */
export function vectorContext(salt: string, idContext: string, sender: string, recipient: string, seq: number): SecurityContext {
  return deriveContext(bytes(SECRET), bytes(salt), bytes(sender), bytes(recipient), idContext ? bytes(idContext) : null, seq, 0);
}

/** Sender Key, Recipient Key, Common IV, and the sender's and recipient's nonces for Partial IV 0. */
function keys(c: SecurityContext): string[] {
  return [hex(c.senderKey), hex(c.recipientKey), hex(c.commonIv), hex(nonce(c, c.senderId, 0)), hex(nonce(c, c.recipientId, 0))];
}

/** The unprotected requests of C.4, C.5 and C.6 and the response of C.7/C.8. */
export const C4_REQUEST = '44015d1f00003974396c6f63616c686f737483747631';
export const C5_REQUEST = '440171c30000b932396c6f63616c686f737483747631';
export const C6_REQUEST = '44012f8eef9bbf7a396c6f63616c686f737483747631';
export const C7_RESPONSE = '64455d1f00003974ff48656c6c6f20576f726c6421';

/** Every result, in order: C.1–C.3 key derivation (client then server), C.4–C.6 protected
 * requests, C.4's request verified by the server, C.7 and C.8 protected responses, and each
 * verified by the client. */
export function oscoreVectors(): string[] {
  const out: string[] = [];
  out.push.apply(out, keys(vectorContext(SALT, '', '', '01', 0)));
  out.push.apply(out, keys(vectorContext(SALT, '', '01', '', 0)));
  out.push.apply(out, keys(vectorContext('', '', '00', '01', 0)));
  out.push.apply(out, keys(vectorContext('', '', '01', '00', 0)));
  out.push.apply(out, keys(vectorContext(SALT, ID_CONTEXT, '', '01', 0)));
  out.push.apply(out, keys(vectorContext(SALT, ID_CONTEXT, '01', '', 0)));
  const o = oscore();
  const r = coapReader();
  const buf = new Uint8Array(256);
  const protect = (c: SecurityContext, msg: string): string => {
    readCoap(r, bytes(msg), 0, msg.length / 2);
    return hex(buf, protectRequest(o, c, r, buf, 0));
  };
  const client = vectorContext(SALT, '', '', '01', 20);
  const c4 = protect(client, C4_REQUEST);
  out.push(c4, protect(vectorContext('', '', '00', '01', 20), C5_REQUEST), protect(vectorContext(SALT, ID_CONTEXT, '', '01', 20), C6_REQUEST));
  // The server's side: verify C.4's request, answer it (C.7), and again with a Partial IV (C.8).
  const server = vectorContext(SALT, '', '01', '', 0);
  readCoap(r, bytes(c4), 0, c4.length / 2);
  out.push(hex(buf, unprotectRequest(o, server, r, buf, 0)));
  readCoap(r, bytes(C7_RESPONSE), 0, C7_RESPONSE.length / 2);
  const c7 = hex(buf, protectResponse(o, server, r, 20, false, buf, 0));
  const c8 = hex(buf, protectResponse(o, server, r, 20, true, buf, 0));
  out.push(c7, c8);
  // The client's side: both responses verify into C.7's plain response.
  readCoap(r, bytes(c7), 0, c7.length / 2);
  out.push(hex(buf, unprotectResponse(o, client, r, 20, buf, 0)));
  readCoap(r, bytes(c8), 0, c8.length / 2);
  out.push(hex(buf, unprotectResponse(o, client, r, 20, buf, 0)));
  return out;
}

/** What RFC 8613 Appendix C gives for each result of `oscoreVectors`. */
export const RFC8613_APPENDIX_C: string[] = [
  // C.1.1 / C.1.2: with Master Salt.
  'f0910ed7295e6ad4b54fc793154302ff', 'ffb14e093c94c9cac9471648b4f98710', '4622d4dd6d944168eefb54987c', '4622d4dd6d944168eefb54987c', '4722d4dd6d944169eefb54987c',
  'ffb14e093c94c9cac9471648b4f98710', 'f0910ed7295e6ad4b54fc793154302ff', '4622d4dd6d944168eefb54987c', '4722d4dd6d944169eefb54987c', '4622d4dd6d944168eefb54987c',
  // C.2.1 / C.2.2: without Master Salt.
  '321b26943253c7ffb6003b0b64d74041', 'e57b5635815177cd679ab4bcec9d7dda', 'be35ae297d2dace910c52e99f9', 'bf35ae297d2dace910c52e99f9', 'bf35ae297d2dace810c52e99f9',
  'e57b5635815177cd679ab4bcec9d7dda', '321b26943253c7ffb6003b0b64d74041', 'be35ae297d2dace910c52e99f9', 'bf35ae297d2dace810c52e99f9', 'bf35ae297d2dace910c52e99f9',
  // C.3.1 / C.3.2: with ID Context.
  'af2a1300a5e95788b356336eeecd2b92', 'e39a0c7c77b43f03b4b39ab9a268699f', '2ca58fb85ff1b81c0b7181b85e', '2ca58fb85ff1b81c0b7181b85e', '2da58fb85ff1b81d0b7181b85e',
  'e39a0c7c77b43f03b4b39ab9a268699f', 'af2a1300a5e95788b356336eeecd2b92', '2ca58fb85ff1b81c0b7181b85e', '2da58fb85ff1b81d0b7181b85e', '2ca58fb85ff1b81c0b7181b85e',
  // C.4, C.5, C.6: protected requests.
  '44025d1f00003974396c6f63616c686f7374620914ff612f1092f1776f1c1668b3825e',
  '440271c30000b932396c6f63616c686f737463091400ff4ed339a5a379b0b8bc731fffb0',
  '44022f8eef9bbf7a396c6f63616c686f73746b19140837cbf3210017a2d3ff72cd7273fd331ac45cffbe55c3',
  // C.4's request as the server verifies it.
  C4_REQUEST,
  // C.7, C.8: protected responses.
  '64445d1f0000397490ffdbaad1e9a7e7b2a813d3c31524378303cdafae119106',
  '64445d1f00003974920100ff4d4c13669384b67354b2b6175ff4b8658c666a6cf88e',
  // Both as the client verifies them.
  C7_RESPONSE,
  C7_RESPONSE,
];

/** Why the server refuses C.4's request replayed, with a wrong tag, with a wrong kid, and with a
 * 6-byte Partial IV: long reasons in Node, one letter each on the board. */
export function oscoreRefusals(): string[] {
  const o = oscore();
  const r = coapReader();
  const buf = new Uint8Array(256);
  const server = vectorContext(SALT, '', '01', '', 0);
  const head = '44025d1f00003974396c6f63616c686f7374';
  const body = '612f1092f1776f1c1668b3825e';
  const errors: string[] = [];
  const refuse = (msg: string): void => {
    readCoap(r, bytes(msg), 0, msg.length / 2);
    errors.push(unprotectRequest(o, server, r, buf, 0) < 0 ? o.error : '');
  };
  refuse(head + '620914ff' + body);
  refuse(head + '620914ff' + body);
  refuse(head + '620915ff' + body);
  refuse(head + '63091405ff' + body);
  refuse(head + '670e010203040506ff' + body);
  return errors;
}
