/**
 * Every lamp's OSCORE keys from one fleet secret, so that the gateway keeps no key table: it derives
 * a lamp's security context from the fleet secret and the lamp's id whenever it needs it, and a
 * board holds only its own Master Secret, never the fleet's.
 *
 *   Master Secret  HKDF-SHA-256(salt: none, IKM: fleet secret, info: "lampnet oscore " + lamp id), 16 B
 *   Master Salt    none
 *   ID Context     the lamp id (its LwM2M endpoint name) as UTF-8: keys differ per lamp even if
 *                  two Master Secrets did not, and a lamp's own requests carry it as kid context,
 *                  so that the gateway knows whose context to derive
 *   Sender IDs     the gateway h'' (commands carry no kid byte), the lamp h'01'
 *
 * A lamp's Master Secret reveals nothing of the fleet secret or of another lamp's (HKDF is one-way);
 * losing the fleet secret means re-keying the fleet. The lamp id is the same string the lamp
 * registers with (`LampConfig.id`), at most 255 bytes (the kid context's length is one byte), and
 * ASCII: received ids are 8-bit strings (one char per byte), which equal the id only then.
 *
 * Firmware rule: ES5-lowerable.
 */
import { bytesToString, utf8Bytes } from '../text.js';
import { KEY_LEN, hkdf } from './crypto.js';
import { type SecurityContext, deriveContext } from './context.js';
import type { OscoreOption } from './option.js';

export const GATEWAY_SENDER_ID = new Uint8Array(0);
export const LAMP_SENDER_ID = new Uint8Array([1]);

/** Shortest fleet secret accepted: 128 bits, as RFC 8613 §12.3 asks of a Master Secret. */
export const MIN_FLEET_SECRET = 16;

/** The lamp's Master Secret under `fleetSecret`. */
export function lampSecret(fleetSecret: Uint8Array, lampId: string): Uint8Array {
  return hkdf(new Uint8Array(0), fleetSecret, utf8Bytes('lampnet oscore ' + lampId), KEY_LEN);
}

/** The lamp's own context (its side: it sends as h'01', receives from the gateway as h''), from the
 * Master Secret it was given. `seq` and `floor` as for deriveContext. */
export function lampContext(secret: Uint8Array, lampId: string, seq: number, floor: number): SecurityContext {
  // A statement of its own: inlined into the call's arguments, utf8Bytes's locals were declared
  // after the return, and Espruino, which does not hoist, assigned the caller's variables instead.
  const idContext = utf8Bytes(lampId);
  return deriveContext(secret, new Uint8Array(0), LAMP_SENDER_ID, GATEWAY_SENDER_ID, idContext, seq, floor);
}

/** The gateway's context for one lamp, from the fleet secret. */
export function gatewayContext(fleetSecret: Uint8Array, lampId: string, seq: number, floor: number): SecurityContext {
  const c = deriveContext(lampSecret(fleetSecret, lampId), new Uint8Array(0), GATEWAY_SENDER_ID, LAMP_SENDER_ID, utf8Bytes(lampId), seq, floor);
  // The lamp has this one context: commands need not name it.
  c.kidContext = false;
  return c;
}

/** The lamp id a lamp's protected request names in its kid context (o.opt after readOscore), or
 * null when it names none. */
export function requestLampId(opt: OscoreOption, buf: Uint8Array): string | null {
  return opt.ctxLen < 0 ? null : bytesToString(buf, opt.ctxOff, opt.ctxLen);
}

/** A secret written as hex (32 hex digits or more, even length), or null when it is not one. */
export function parseSecret(text: string): Uint8Array | null {
  if (text.length < 2 * MIN_FLEET_SECRET || text.length % 2) return null;
  const out = new Uint8Array(text.length / 2);
  for (let k = 0; k < out.length; k++) {
    const b = parseInt(text.substring(2 * k, 2 * k + 2), 16);
    // parseInt reads "1g" as 1: check both digits.
    if (!(b >= 0) || (b < 16 ? '0' : '') + b.toString(16) !== text.substring(2 * k, 2 * k + 2).toLowerCase()) return null;
    out[k] = b;
  }
  return out;
}
