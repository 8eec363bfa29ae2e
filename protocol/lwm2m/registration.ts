/**
 * The LwM2M registration interface (1.1 Core §6.2 operations, §8.2 their CoAP form), both sides:
 *
 *   Register     POST /rd?ep={name}&lt={s}&lwm2m=1.1&b=U  (link format: link.ts)  → 2.01 Created,
 *                Location-Path rd/{id} (the server's choice: the client keeps it as given)
 *   Update       POST /rd/{id}[?lt={s}][&b=U]  (payload only when the objects changed) → 2.04, or
 *                4.04 when the server no longer knows it: register again
 *   De-register  DELETE /rd/{id} → 2.02
 *
 * The lamp writes these requests' options with `writeRegisterOptions`/`writeLocation` into its
 * CoAP writer (coap.ts) and keeps `locationOf` its 2.01. The gateway checks the queries with
 * `parseRegisterQuery`/`parseUpdateQuery`, which refuse with the code the TS gives: 4.00 for a
 * missing, malformed, repeated or unknown parameter, 4.12 for an LwM2M version it does not speak.
 * Queries are the Uri-Query options as 8-bit strings (coap.ts `uriQueries`); nothing here throws.
 *
 * Firmware rule (writeRegisterOptions, writeLocation, locationOf): ES5-lowerable.
 */
import { BAD_REQUEST, CONTENT_FORMAT, FORMAT_LINK, LOCATION_PATH, PRECONDITION_FAILED, URI_PATH, URI_QUERY, optionString, writeOption, type CoapReader, type CoapWriter } from '../coap.js';
import { utf8Text, writeUtf8 } from '../text.js';
import { parseText } from './formats.js';
import { INTEGER } from './objects.js';

/** The path of the registration interface ("resource directory"). */
export const RD_PATH = 'rd';
/** The version a lampnet client registers with; the server accepts these. */
export const LWM2M_VERSION = '1.1';
export const LWM2M_VERSIONS = ['1.0', '1.1'];
/** The lifetime a server assumes when a Register has no `lt` (s). */
export const DEFAULT_LIFETIME_S = 86400;
/** Longest endpoint name the server accepts (bytes of UTF-8). */
export const MAX_ENDPOINT_BYTES = 255;

/** Writes a Register request's options (after coap.ts writeBegin with POST): Uri-Path rd,
 * Content-Format 40, Uri-Query ep, lt, lwm2m=1.1, b=U. The link-format payload follows. */
export function writeRegisterOptions(w: CoapWriter, ep: string, lifetimeS: number): void {
  writeOption(w, URI_PATH, RD_PATH);
  writeOption(w, CONTENT_FORMAT, FORMAT_LINK);
  writeOption(w, URI_QUERY, 'ep=' + ep);
  writeOption(w, URI_QUERY, 'lt=' + lifetimeS);
  writeOption(w, URI_QUERY, 'lwm2m=' + LWM2M_VERSION);
  writeOption(w, URI_QUERY, 'b=U');
}

/** Writes the Uri-Path options of a registration's location ("rd/5a3f"): an Update (POST, then
 * Uri-Query lt when it changed, Content-Format 40 and the objects when they changed) or a
 * De-register (DELETE) goes there. */
export function writeLocation(w: CoapWriter, location: string): void {
  let from = 0;
  for (let k = 0; k <= location.length; k++) {
    if (k < location.length && location.charAt(k) !== '/') continue;
    writeOption(w, URI_PATH, location.substring(from, k));
    from = k + 1;
  }
}

/** The Location-Path of a 2.01 answering Register, as the text `writeLocation` takes ("rd/5a3f"),
 * or null when it has none, or a segment that is empty, holds '/' or is not UTF-8. */
export function locationOf(r: CoapReader): string | null {
  let s: string | null = null;
  for (let i = 0; i < r.optCount; i++) {
    if (r.optNum[i] !== LOCATION_PATH) continue;
    const seg = utf8Text(optionString(r, i));
    if (!seg || seg.indexOf('/') >= 0) return null;
    s = s === null ? seg : s + '/' + seg;
  }
  return s;
}

/** A Register request's parameters as the server reads them. */
export interface RegisterQuery {
  ep: string;
  lifetimeS: number;
  /** "1.0" or "1.1" ("1.0" when the client sent none). */
  version: string;
  /** Binding letters ("U"; a 1.0 client may write queue mode into it: "UQ"). */
  binding: string;
  /** Queue mode: `Q` given, or a 'Q' in the binding. */
  queue: boolean;
  sms: string | null;
}

/** An Update request's parameters; -1 / null for those it leaves unchanged. */
export interface UpdateQuery {
  lifetimeS: number;
  binding: string | null;
  queue: boolean;
  sms: string | null;
}

/** A refused registration request: the CoAP code to answer with, and why. */
export interface RegistrationRefusal {
  code: number;
  error: string;
}

function refuse(code: number, error: string): RegistrationRefusal {
  return { code: code, error: 'registration: ' + error };
}

/** Parameters of a query list by name (value '' for a bare name), or a refusal for a parameter not
 * in `allowed`, one given twice, or one whose bytes are not UTF-8. */
function queryParams(queries: string[], allowed: string[]): Record<string, string> | RegistrationRefusal {
  const params: Record<string, string> = Object.create(null);
  for (let i = 0; i < queries.length; i++) {
    const eq = queries[i].indexOf('=');
    const name = eq < 0 ? queries[i] : queries[i].substring(0, eq);
    const value = utf8Text(eq < 0 ? '' : queries[i].substring(eq + 1));
    if (allowed.indexOf(name) < 0) return refuse(BAD_REQUEST, 'unknown parameter "' + name.slice(0, 40) + '"');
    if (name in params) return refuse(BAD_REQUEST, 'parameter "' + name + '" given twice');
    if (value === null) return refuse(BAD_REQUEST, 'parameter "' + name + '" is not UTF-8');
    if ((name === 'Q') !== (eq < 0)) return refuse(BAD_REQUEST, name === 'Q' ? '"Q" takes no value' : 'parameter "' + name + '" has no value');
    params[name] = value;
  }
  return params;
}

/** The lifetime, binding and sms checks Register and Update share; '' or why they are refused. */
function checkCommon(params: Record<string, string>): string {
  const lt = params.lt;
  const b = params.b;
  if (lt !== undefined && !((parseText(INTEGER, lt) as number) >= 1 && +lt <= 4294967295)) return 'lifetime "' + lt.slice(0, 20) + '" is not a whole number of seconds 1-4294967295';
  if (b !== undefined) {
    let ok = b.length > 0;
    for (let k = 0; k < b.length; k++) ok = ok && 'UTSNQ'.indexOf(b.charAt(k)) >= 0 && b.indexOf(b.charAt(k)) === k;
    if (!ok) return 'binding "' + b.slice(0, 20) + '" is not a set of U, T, S, N, Q';
  }
  if (params.sms === '') return 'empty sms number';
  return '';
}

/** The Uri-Query items of a Register request (POST /rd) as its parameters, or the refusal to send. */
export function parseRegisterQuery(queries: string[]): RegisterQuery | RegistrationRefusal {
  const params = queryParams(queries, ['ep', 'lt', 'lwm2m', 'b', 'sms', 'Q']);
  if ('code' in params) return params as RegistrationRefusal;
  const ep = params.ep;
  const version = params.lwm2m === undefined ? '1.0' : params.lwm2m;
  const common = checkCommon(params);
  if (!ep) return refuse(BAD_REQUEST, 'no endpoint name "ep"');
  if (writeUtf8(null, 0, ep) > MAX_ENDPOINT_BYTES) return refuse(BAD_REQUEST, 'endpoint name longer than ' + MAX_ENDPOINT_BYTES + ' bytes');
  if (common) return refuse(BAD_REQUEST, common);
  if (LWM2M_VERSIONS.indexOf(version) < 0) return refuse(PRECONDITION_FAILED, 'LwM2M version "' + version.slice(0, 20) + '" is not one of ' + LWM2M_VERSIONS.join(', '));
  const binding = params.b === undefined ? 'U' : params.b;
  return {
    ep: ep,
    lifetimeS: params.lt === undefined ? DEFAULT_LIFETIME_S : +params.lt,
    version: version,
    binding: binding,
    queue: 'Q' in params || binding.indexOf('Q') >= 0,
    sms: params.sms === undefined ? null : params.sms,
  };
}

/** The Uri-Query items of an Update request (POST /rd/{id}) as its parameters, or the refusal. */
export function parseUpdateQuery(queries: string[]): UpdateQuery | RegistrationRefusal {
  // `lwm2m` does not belong in an Update, but LwM2M 1.0 clients (lwm2m-node-lib) repeat it there:
  // tolerated and ignored.
  const params = queryParams(queries, ['lt', 'b', 'sms', 'Q', 'lwm2m']);
  if ('code' in params) return params as RegistrationRefusal;
  const common = checkCommon(params);
  if (common) return refuse(BAD_REQUEST, common);
  return {
    lifetimeS: params.lt === undefined ? -1 : +params.lt,
    binding: params.b === undefined ? null : params.b,
    queue: 'Q' in params || (params.b !== undefined && params.b.indexOf('Q') >= 0),
    sms: params.sms === undefined ? null : params.sms,
  };
}
