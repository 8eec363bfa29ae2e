/**
 * What the lamp's CoAP exchanges share: one reader and one writer over one send buffer for the whole
 * fleet (the core is single-threaded and every send is copied by the platform), message ids, and
 * the per-lamp `ex` record that exists only while a lamp has exchanges in flight (observations live
 * in observe.ts's columns).
 */
import { coapReader, coapWriter, writeEnd } from '../protocol/coap.js';
import { BRIEF } from '../protocol/diagnostics.js';
import { hal, lamp } from './context.js';
import type { Addr } from './hal.js';
import type { LampExtra } from './lamp.js';
import { groupNames } from '../protocol/lamp.js';
import { protectReply, sealedReply } from './security.js';

export const reader = coapReader();
export const writer = coapWriter();
/** Room for the largest message the lamp builds: a read of /32311 in SenML JSON with its group list
 * at its longest (MAX_STRING, protocol/lwm2m/objects.ts) stays under 900 bytes unless the list is
 * made of characters JSON escapes; a message that does not fit is not sent (see sendWritten). */
export const sendBuf = new Uint8Array(1024);

/** A copy of bytes[off..off+len), to keep after the buffer is reused. */
export function copyOf(bytes: Uint8Array, off: number, len: number): Uint8Array {
  return new Uint8Array(bytes.subarray(off, off + len));
}

/** A fresh message id for the lamp's next message (ids follow on from a random start, boot). */
export function nextMid(): number {
  return (lamp.mid = (lamp.mid + 1) & 0xffff);
}

function emptyExtra(): LampExtra {
  return { cache: [], pending: null };
}

/** The lamp's transient record, created on first need. */
export function extra(): LampExtra {
  return lamp.ex || (lamp.ex = emptyExtra());
}

/** What an idle lamp's transient record would hold, for reading without allocating. Never changed:
 * readers only search it. */
const IDLE = emptyExtra();

/** The lamp's transient record, or an empty one (not the lamp's) when it has none. */
export function peekExtra(): LampExtra {
  return lamp.ex || IDLE;
}

/** Drops the transient record once nothing is left in it, so idle lamps cost no more than their
 * numbers. Every entry point of core.ts ends with it (via its timer re-arming), so the code between
 * may leave the record empty. */
export function releaseExtra(): void {
  const ex = lamp.ex;
  if (ex && !ex.cache.length && !ex.pending) lamp.ex = null;
}

/** Finishes the message in the writer and sends it; returns its length (-1: it did not fit and
 * nothing was sent). */
export function sendWritten(to: Addr, port: number): number {
  const len = writeEnd(writer);
  // An answer to a protected request goes back protected (security.ts).
  const sealed = len >= 0 ? protectReply(sendBuf, len, to) : -1;
  if (sealed > 0) hal.send(lamp, to, port, sealedReply, sealed);
  else if (len >= 0 && sealed < 0) hal.send(lamp, to, port, sendBuf, len);
  else if (!BRIEF) hal.log(lamp, (sealed ? writer.error : 'OSCORE: the answer cannot be protected') + '; message to ' + to + ' dropped');
  return len;
}

/** Moves the lamp from the groups of `was` (a config's group list) to those of its config: at boot
 * (from none) and when a Write to /32311/0/0 changes them. */
export function joinGroups(was: string): void {
  hal.setGroups(lamp, groupNames(lamp.cfg.groups), groupNames(was));
}
