/**
 * The CoAP server side (RFC 7252 §5, §8) as the LwM2M device management and information reporting
 * interfaces use it (1.1 Core §5.4, §5.5, §8.3): one request in `reader` → one response, around the
 * objects of resources.ts and the observations of observe.ts.
 *
 *   GET  (Accept 0 text, 110 SenML JSON, 11542 TLV)   Read; with Observe 0/1 Observe/Cancel
 *   GET  Accept 40                                      Discover
 *   PUT  with a payload                                 Write (replace; on a resource, its value)
 *   PUT  with Uri-Query only                            Write-Attributes (pmin, pmax, gt, lt, st)
 *   POST on an object instance / an E resource          Write (partial update) / Execute
 *   GET  /.well-known/core                              RFC 6690: the object instances
 *
 * Reads from anyone; what changes state (Write, Execute, Write-Attributes) only when OSCORE-protected
 * under the lamp's context (4.01 otherwise), or, on a lamp without one, from a trusted peer
 * (hal.trusted, 4.03 otherwise): security.ts. No Accept: text/plain for a single resource, SenML JSON otherwise;
 * an Accept the path cannot be served in: 4.06; a payload in a format it cannot take: 4.15.
 *
 * CON requests get a piggybacked ACK, NON requests a NON response; requests that came to a
 * multicast group are executed but never answered (RFC 7252 §8.2: a group of a million lamps must
 * not answer at once). Responses to CON requests that change state are kept for DEDUP_MS
 * (protocol/coap.ts) per (peer, port, message id), so a retransmitted request is answered again
 * without being executed twice. A retransmitted GET is served afresh (RFC 7252 §4.5 allows it).
 */
import {
  ACCEPT, ACK, BAD_OPTION, BAD_REQUEST, CHANGED, CON, CONTENT, CONTENT_FORMAT, DEDUP_MS, FORMAT_LINK, FORMAT_TEXT, GET, METHOD_NOT_ALLOWED, NON,
  NOT_ACCEPTABLE, NOT_FOUND, OBSERVE, POST, PUT, SERVICE_UNAVAILABLE, URI_HOST, URI_PATH, URI_PORT, URI_QUERY, optionUint, payloadOf, uriPath,
  uriQueries, writeBegin, writeOption, writePayload,
} from '../protocol/coap.js';
import { FORMAT_SENML_JSON, FORMAT_TLV } from '../protocol/lwm2m/formats.js';
import { MULTIPLE, parsePath } from '../protocol/lwm2m/objects.js';
import { changes } from './control.js';
import { extra, nextMid, peekExtra, reader, releaseExtra, sendBuf, sendWritten, writer } from './exchange.js';
import { peer, peerPort, time } from './context.js';
import type { CachedResponse } from './lamp.js';
import { attachedParams, observeRequest, observeStarted, publish, writeAttributes } from './observe.js';
import { discover, execute, exists, objectLinks, render, row, write } from './resources.js';
import { changeAccepted, changeRefusal } from './security.js';

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

/** Critical options the lamp understands: Uri-Host, Uri-Port, Uri-Path, Uri-Query, Accept (and
 * Observe, which is elective). */
const KNOWN_CRITICAL = [URI_HOST, URI_PORT, URI_PATH, URI_QUERY, ACCEPT];

/** The attributes attached to a path, for Discover. */
function params(obj: number, inst: number, res: number): string {
  return attachedParams(obj, inst, res);
}

/** Executes a request that is not a read; returns the response code. */
function change(ids: number[]): number {
  const r = reader;
  const refusal = changeRefusal();
  if (refusal) return refusal;
  const cf = optionUint(r, CONTENT_FORMAT);
  const queries = uriQueries(r);
  if (r.code === PUT && queries.length && !r.payloadLen) {
    const e = writeAttributes(ids[0], ids.length > 1 ? 0 : -1, ids.length > 2 ? ids[2] : -1, queries);
    return e === 'n' ? SERVICE_UNAVAILABLE : e ? BAD_REQUEST : CHANGED;
  }
  // POST on a resource can only be an Execute (its payload, if any, is arguments the lamp takes none of;
  // some servers, lwm2m-node-lib's, send a Content-Format with it).
  if (r.code === POST && ids.length === 3) return execute(ids);
  if (r.code === PUT || (r.code === POST && ids.length === 2)) return write(ids, cf < 0 ? (ids.length > 2 ? FORMAT_TEXT : -1) : cf, payloadOf(r));
  return METHOD_NOT_ALLOWED;
}

/** Handles the request in `reader` from the context's peer. */
export function handleRequest(multicast: boolean): void {
  const r = reader;
  const con = r.type === CON;
  if (con && replayCached()) return;
  const changesBefore = changes;
  const path = uriPath(r);
  const ids = path === '.well-known/core' ? null : parsePath('/' + path);
  let code = 0;
  for (let i = 0; i < r.optCount; i++) if (r.optNum[i] & 1 && KNOWN_CRITICAL.indexOf(r.optNum[i]) < 0) code = BAD_OPTION;
  if (!code && (ids ? !exists(ids) : path !== '.well-known/core')) code = NOT_FOUND;
  if (!code && r.code !== GET) {
    code = ids ? change(ids) : METHOD_NOT_ALLOWED;
    if (code < BAD_REQUEST) changeAccepted();
  }
  // A read: its format, then the answer is written below.
  const accept = optionUint(r, ACCEPT);
  // text/plain carries a single value: a resource that is not a multiple one, or an instance of one.
  const single = !code && ids && ids.length > 2 && (ids.length > 3 || !(row(ids[0], ids[2])![3] & MULTIPLE));
  const format = !ids ? FORMAT_LINK : accept >= 0 ? accept : single ? FORMAT_TEXT : FORMAT_SENML_JSON;
  if (!code && format !== FORMAT_TEXT && format !== FORMAT_LINK && format !== FORMAT_SENML_JSON && format !== FORMAT_TLV) code = NOT_ACCEPTABLE;
  if (!code && !ids && accept >= 0 && accept !== FORMAT_LINK) code = NOT_ACCEPTABLE;
  if (multicast) {
    if (changes !== changesBefore) publish();
    return;
  }
  const mid = con ? r.mid : nextMid();
  writeBegin(writer, sendBuf, 0, con ? ACK : NON, code || CONTENT, mid, r.buf, r.tokenOff, r.tokenLen);
  if (!code) {
    const observe = ids && format !== FORMAT_LINK ? optionUint(r, OBSERVE) : -1;
    if (observe >= 0) observeRequest(ids!, format, observe);
    writeOption(writer, CONTENT_FORMAT, format);
    const from = writer.pos;
    if (ids && format !== FORMAT_LINK) code = render(ids, format);
    else writePayload(writer, ids ? discover(ids, params) : objectLinks());
    observeStarted(from, !code);
    if (code) {
      // Not readable as asked: the answer is the error alone.
      writeBegin(writer, sendBuf, 0, con ? ACK : NON, code, mid, r.buf, r.tokenOff, r.tokenLen);
    }
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
  if (changes !== changesBefore) publish();
}
