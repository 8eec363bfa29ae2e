/**
 * The CoAP server side (RFC 7252 §5, §8): one request in `reader` → one response, around the
 * resource handlers of resources.ts.
 *
 * CON requests get a piggybacked ACK, NON requests a NON response; requests that came to a
 * multicast group are executed but never answered (RFC 7252 §8.2: a group of a million lamps must
 * not answer at once). Responses to CON requests that change state (PUT) are kept for DEDUP_MS (protocol/coap.ts) per
 * (peer, port, message id), so a retransmitted request is answered again without being executed
 * twice. A retransmitted GET is served afresh (RFC 7252 §4.5 allows it for safe requests): its
 * answer is the lamp's current state, and a lamp answering a million GETs keeps no state for them.
 */
import { ACCEPT, ACK, BAD_OPTION, CON, CONTENT, CONTENT_FORMAT, DEDUP_MS, FORBIDDEN, GET, METHOD_NOT_ALLOWED, NON, NOT_ACCEPTABLE, NOT_FOUND, OBSERVE, PUT, UNSUPPORTED_CONTENT_FORMAT, URI_HOST, URI_PATH, URI_PORT, URI_QUERY, optionUint, payloadOf, uriPath, writeBegin, writeOption, writePayload } from '../protocol/coap.js';
import { changes } from './control.js';
import { extra, nextMid, peekExtra, reader, releaseExtra, sendBuf, sendWritten, writer } from './exchange.js';
import { hal, lamp, peer, peerPort, time } from './context.js';
import type { CachedResponse } from './lamp.js';
import { observeRequest, publish } from './observe.js';
import { resources } from './resources.js';

/** Responses kept per lamp; the oldest goes first. */
export const DEDUP_ENTRIES = 4;

/** Answers a retransmitted CON request again from the cache; returns whether it was one. */
function replayCached(): boolean {
  const cache = peekExtra().cache;
  for (let i = 0; i < cache.length; i++) {
    const c = cache[i];
    if (c.mid === reader.mid && c.from === peer && c.port === peerPort) {
      writeBegin(writer, sendBuf, 0, ACK, c.code, c.mid, reader.buf, reader.tokenOff, reader.tokenLen);
      sendWritten(peer, peerPort);
      return true;
    }
  }
  return false;
}

/** Drops cached responses whose time has passed and releases an emptied transient record; returns
 * the earliest remaining expiry. */
export function expireCache(): number {
  const cache = peekExtra().cache;
  while (cache.length && cache[0].expires <= time) cache.shift();
  releaseExtra();
  return cache.length ? cache[0].expires : Infinity;
}

/** Critical options the lamp understands: Uri-Host, Uri-Port, Uri-Path, Uri-Query, Accept. */
const KNOWN_CRITICAL = [URI_HOST, URI_PORT, URI_PATH, URI_QUERY, ACCEPT];

/** The representation `serve` answers a GET with (2.05 Content only). */
let body = '';
let format = -1;
let observeSeq = -1;

/** Executes the request and returns the response code (filling body, format and observeSeq for a
 * 2.05 Content). */
function serve(): number {
  const r = reader;
  const path = uriPath(r);
  let res = -1;
  for (let i = 0; i < r.optCount; i++) if (r.optNum[i] & 1 && KNOWN_CRITICAL.indexOf(r.optNum[i]) < 0) return BAD_OPTION;
  for (let i = 0; i < resources.length; i++) if (resources[i].path === path) res = i;
  if (res < 0) return NOT_FOUND;
  const resource = resources[res];
  const put = r.code === PUT ? resource.put : null;
  if (!put && r.code !== GET) return METHOD_NOT_ALLOWED;
  if (put && !hal.trusted(lamp, peer)) return FORBIDDEN;
  // The body's Content-Format (PUT) or the format asked for (Accept, GET) must be the resource's.
  const cf = optionUint(r, put ? CONTENT_FORMAT : ACCEPT);
  if (cf >= 0 && cf !== resource.format) return put ? UNSUPPORTED_CONTENT_FORMAT : NOT_ACCEPTABLE;
  if (put) return put(payloadOf(r));
  body = resource.get();
  format = resource.format;
  observeSeq = observeRequest(res, body, optionUint(r, OBSERVE));
  return CONTENT;
}

/** Handles the request in `reader` from the context's peer. */
export function handleRequest(multicast: boolean): void {
  const r = reader;
  const con = r.type === CON;
  if (con && replayCached()) return;
  const changesBefore = changes;
  const code = serve();
  if (!multicast) {
    const mid = con ? r.mid : nextMid();
    const type = con ? ACK : NON;
    writeBegin(writer, sendBuf, 0, type, code, mid, r.buf, r.tokenOff, r.tokenLen);
    if (code === CONTENT) {
      if (observeSeq >= 0) writeOption(writer, OBSERVE, observeSeq);
      writeOption(writer, CONTENT_FORMAT, format);
      writePayload(writer, body);
    }
    if (sendWritten(peer, peerPort) > 0 && con && r.code !== GET) {
      // The oldest entry is reused when the cache is full: an entry lives for seconds, long
      // enough to reach the simulator's old generation, where each one dropped was collector work.
      const cache = extra().cache;
      const c = cache.length >= DEDUP_ENTRIES ? cache.shift()! : ({} as CachedResponse);
      c.from = peer;
      c.port = peerPort;
      c.mid = mid;
      c.expires = time + DEDUP_MS;
      c.code = code;
      cache.push(c);
    }
  }
  if (changes !== changesBefore) publish();
}
