/**
 * Observe (RFC 7641) and publishing state changes.
 *
 * Notifications are non-confirmable: the lamp keeps its one confirmable slot for the gateway
 * (registration.ts), and a lost notification is repaired by the next one. An observer is dropped
 * when it deregisters (Observe: 1), answers a notification with RST, or is the oldest when a new
 * observer needs its place (at most MAX_OBSERVERS, so a forgotten observer cannot pin memory).
 * Each observer hears only when its resource's representation changed.
 */
import { CONTENT, CONTENT_FORMAT, NON, OBSERVE, tokenEquals, writeBegin, writeOption, writePayload } from '../protocol/coap.js';
import { peer, peerPort } from './context.js';
import { copyOf, extra, nextMid, peekExtra, reader, sendBuf, sendWritten, writer } from './exchange.js';
import { reportState } from './registration.js';
import { resources } from './resources.js';

export const MAX_OBSERVERS = 4;


/** Registers (Observe: 0) or deregisters (Observe: 1) the requester (the context's peer) of the GET
 * in `reader` for
 * resource `res`, which it receives as `body` in this response; returns the Observe sequence number
 * to send, or -1 when nothing is observed. */
export function observeRequest(res: number, body: string, observe: number): number {
  const add = observe === 0 && resources[res].observable;
  if (!add && observe !== 1) return -1;
  const ex = extra();
  for (let i = 0; i < ex.observers.length; i++) {
    const o = ex.observers[i];
    // The same observer (endpoint and token) registers afresh or leaves.
    if (o.to === peer && o.port === peerPort && tokenEquals(reader, o.token)) ex.observers.splice(i--, 1);
  }
  if (!add) return -1;
  if (ex.observers.length >= MAX_OBSERVERS) ex.observers.shift();
  ex.observers.push({ to: peer, port: peerPort, token: copyOf(reader.buf, reader.tokenOff, reader.tokenLen), res: res, mid: -1, last: body });
  return ex.seq;
}

/** An RST from the context's peer for `mid`: if it answers a notification, that observer is gone. */
export function observerReset(mid: number): boolean {
  const list = peekExtra().observers;
  for (let i = 0; i < list.length; i++) {
    if (list[i].mid === mid && list[i].to === peer) {
      list.splice(i, 1);
      return true;
    }
  }
  return false;
}

/** The lamp's state changed: each observer hears its resource's representation if that changed
 * since the last one it got, and the gateway gets a report. */
export function publish(): void {
  const ex = peekExtra();
  for (let i = 0; i < ex.observers.length; i++) {
    const o = ex.observers[i];
    const r = resources[o.res];
    const body = r.get();
    if (body === o.last) continue;
    o.last = body;
    writeBegin(writer, sendBuf, 0, NON, CONTENT, (o.mid = nextMid()), o.token, 0, o.token.length);
    // Each notification sent takes the next sequence number (RFC 7641 §4.4: increasing).
    writeOption(writer, OBSERVE, (ex.seq = (ex.seq + 1) & 0xffffff));
    writeOption(writer, CONTENT_FORMAT, r.format);
    writePayload(writer, body);
    sendWritten(o.to, o.port);
  }
  reportState();
}
