/**
 * A minimal LwM2M 1.1 client built from the protocol's codecs (protocol/lwm2m/), speaking SenML
 * JSON as the lampnet firmware does, on a real UDP socket: it registers (Register, Update,
 * De-register), takes Write-Attributes, serves Observe on /3311/0, /3305/0 and /3/0/11 with
 * notifications at pmax (and after a write), answers the read of /32311/0/0, and takes writes of
 * /3311/0 and /32311/0. Its light draws `ratedW` × level while on and meters the energy itself, so a
 * test can compare what it notified with what the gateway publishes. Every request it got is kept,
 * also those it was told to ignore (`ignoreObserves`: a lamp too busy to answer).
 */
import dgram from 'node:dgram';
import {
  ACK, CHANGED, CON, CONTENT, CONTENT_FORMAT, CREATED, DELETE, DELETED, EMPTY, FORMAT_LINK, GET, LOCATION_PATH, NON, NOT_FOUND, OBSERVE, POST, PUT,
  URI_PATH, URI_QUERY,
} from '../../../protocol/coap.js';
import { FORMAT_SENML_JSON, FORMAT_TEXT } from '../../../protocol/lwm2m/formats.js';
import { ROOT_LINK } from '../../../protocol/lwm2m/link.js';
import { BOOLEAN, FLOAT, INTEGER } from '../../../protocol/lwm2m/objects.js';
import { readSenml, senmlRecord } from '../../../protocol/lwm2m/senml.js';
import { emitCoap, parseCoap, type CoapMessage, type CoapOption } from '../../helpers/coap-message.js';

export interface Lwm2mTestClient {
  readonly ep: string;
  /** Requests from the gateway, in order: method, path, query, payload text. */
  readonly requests: { code: number; path: string; query: string[]; payload: string }[];
  /** pmax the gateway wrote on /3311/0 (s), NaN until it did. */
  readonly pmaxS: number;
  readonly on: boolean;
  readonly level: number;
  /** The fade (ms) the last /32311/0/14 write set, -1 for none. */
  readonly nextFadeMs: number;
  /** The energy it has metered now (Wh). */
  energyWh(): number;
  /** Every notification of /3311/0 it sent: when (ms) and the energy in it. */
  readonly notified: { at: number; energyWh: number }[];
  location: string;
  register(): Promise<CoapMessage>;
  deregister(): Promise<CoapMessage>;
  close(): Promise<void>;
}

const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');
const opt = (num: number, value: string | number[]): CoapOption => ({ num, value: typeof value === 'string' ? Buffer.from(value, 'latin1') : new Uint8Array(value) });
const uint = (n: number): number[] => (n === 0 ? [] : n < 256 ? [n] : [n >> 8, n & 255]);

export interface Lwm2mClientOptions {
  ratedW?: number;
  groups?: string;
  lifetimeS?: number;
  /** Leave the first n Observe requests of /3311/0 (retransmissions included) unanswered. */
  ignoreObserves?: number;
  /** Answer each request this long after it came (a slow lamp). */
  answerDelayMs?: number;
  /** Requests received and not answered yet, shared by clients: now, and the most at once. */
  outstanding?: { now: number; most: number };
}

export async function startLwm2mClient(ep: string, gatewayPort: number, options: Lwm2mClientOptions = {}): Promise<Lwm2mTestClient> {
  let ignoreObserves = options.ignoreObserves ?? 0;
  const ratedW = options.ratedW ?? 60;
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  let mid = 1;
  let observeSeq = 2;
  const waiting = new Map<number, (m: CoapMessage) => void>();
  /** Observations by path: the token to notify with. */
  const observers = new Map<string, Uint8Array>();
  let timer: NodeJS.Timeout | null = null;
  // Energy is metered from these: Wh at `since`, drawing `watts` from then on.
  let meteredWh = 0;
  let since = Date.now();
  const watts = (): number => (c.on ? (ratedW * c.level) / 100 : 0);
  const energyWh = (): number => meteredWh + (watts() * (Date.now() - since)) / 3_600_000;
  const meter = (): void => {
    meteredWh = energyWh();
    since = Date.now();
  };

  const send = (m: Partial<CoapMessage> & { type: number; code: number }): void => {
    socket.send(emitCoap({ mid: mid++ & 0xffff, token: new Uint8Array(0), options: [], payload: new Uint8Array(0), ...m }), gatewayPort, '127.0.0.1');
  };
  const request = (code: number, options: CoapOption[], payload = ''): Promise<CoapMessage> => {
    const id = mid & 0xffff;
    const answer = new Promise<CoapMessage>((resolve) => waiting.set(id, resolve));
    send({ type: CON, code, mid: id, token: new Uint8Array([9, 9, id >> 8, id & 255]), options, payload: Buffer.from(payload) });
    return answer;
  };

  const body = (path: string, e = Math.round(energyWh() * 1e6) / 1e6): string | null => {
    if (path === '3311/0') return `[${senmlRecord('/3311/0/', '5850', BOOLEAN, c.on)},${senmlRecord('', '5851', INTEGER, c.level)},${senmlRecord('', '5805', FLOAT, e)},${senmlRecord('', '5852', INTEGER, 0)}]`;
    if (path === '3305/0') return `[${senmlRecord('/3305/0/', '5800', FLOAT, watts())}]`;
    if (path === '3/0/11') return `[${senmlRecord('/3/0/11/', '0', INTEGER, 0)}]`;
    return null;
  };
  const notify = (path: string): void => {
    const token = observers.get(path);
    if (token === undefined) return;
    const e = Math.round(energyWh() * 1e6) / 1e6;
    const payload = body(path, e)!;
    if (path === '3311/0') c.notified.push({ at: Date.now(), energyWh: e });
    send({ type: NON, code: CONTENT, token, options: [opt(OBSERVE, uint(observeSeq++ & 0xffffff)), opt(CONTENT_FORMAT, [FORMAT_SENML_JSON])], payload: Buffer.from(payload) });
  };
  const schedule = (): void => {
    if (timer) clearTimeout(timer);
    if (c.pmaxS === c.pmaxS) timer = setTimeout(() => { notify('3311/0'); schedule(); }, c.pmaxS * 1000);
  };

  const serve = (m: CoapMessage): void => {
    const delay = options.answerDelayMs ?? 0;
    const o = options.outstanding;
    if (delay === 0) return answerRequest(m);
    if (o) o.most = Math.max(o.most, ++o.now);
    setTimeout(() => {
      if (o) o.now--;
      answerRequest(m);
    }, delay);
  };
  const answerRequest = (m: CoapMessage): void => {
    const path = m.options.filter((o) => o.num === URI_PATH).map((o) => text(o.value)).join('/');
    const query = m.options.filter((o) => o.num === URI_QUERY).map((o) => text(o.value));
    const payload = text(m.payload);
    c.requests.push({ code: m.code, path, query, payload });
    const answer = (code: number, options: CoapOption[] = [], out = ''): void => {
      send({ type: ACK, code, mid: m.mid, token: m.token, options, payload: Buffer.from(out) });
    };
    const observe = m.options.find((o) => o.num === OBSERVE);
    if (m.code === GET && observe !== undefined && path === '3311/0' && ignoreObserves > 0) {
      ignoreObserves--;
      return;
    }
    if (m.code === PUT && query.length > 0 && path === '3311/0') {
      c.pmaxS = Number(query.find((q) => q.startsWith('pmax='))?.slice(5));
      schedule();
      return answer(CHANGED);
    }
    if (m.code === GET && path === '32311/0/0') return answer(CONTENT, [opt(CONTENT_FORMAT, [FORMAT_TEXT])], options.groups ?? '');
    if (m.code === GET) {
      const out = body(path);
      if (out === null) return answer(NOT_FOUND);
      if (observe !== undefined) observers.set(path, m.token);
      return answer(CONTENT, [...(observe ? [opt(OBSERVE, uint(observeSeq++))] : []), opt(CONTENT_FORMAT, [FORMAT_SENML_JSON])], out);
    }
    if (m.code === POST && (path === '3311/0' || path === '32311/0')) {
      const values = readSenml(payload);
      if (typeof values === 'string') return answer(128);
      meter();
      for (const v of values) {
        if (v.obj === 3311 && v.res === 5850) c.on = v.value === true;
        else if (v.obj === 3311 && v.res === 5851) c.level = v.value as number;
        else if (v.obj === 32311 && v.res === 14) c.nextFadeMs = v.value as number;
      }
      answer(CHANGED);
      if (path === '3311/0') {
        notify('3311/0');
        notify('3305/0');
        schedule();
      }
      return;
    }
    answer(NOT_FOUND);
  };

  socket.on('message', (data) => {
    const m = parseCoap(data);
    if (m === null) return;
    if (m.code === EMPTY) return; // ACK/RST of a notification
    if (m.code >> 5 === 0) return serve(m);
    const done = waiting.get(m.mid);
    waiting.delete(m.mid);
    done?.(m);
  });

  const c = {
    ep,
    requests: [] as Lwm2mTestClient['requests'],
    pmaxS: NaN,
    on: false,
    level: 100,
    nextFadeMs: -1,
    energyWh,
    notified: [] as Lwm2mTestClient['notified'],
    location: '',
    async register() {
      const payload = `${ROOT_LINK},</1/0>,</3/0>,</3305/0>,</3311/0>,</32311/0>`;
      const a = await request(POST, [opt(URI_PATH, 'rd'), opt(CONTENT_FORMAT, [FORMAT_LINK]), opt(URI_QUERY, `ep=${ep}`), opt(URI_QUERY, `lt=${options.lifetimeS ?? 300}`), opt(URI_QUERY, 'lwm2m=1.1'), opt(URI_QUERY, 'b=U')], payload);
      if (a.code === CREATED) c.location = a.options.filter((o) => o.num === LOCATION_PATH).map((o) => text(o.value)).join('/');
      return a;
    },
    async deregister() {
      const a = await request(DELETE, c.location.split('/').map((s) => opt(URI_PATH, s)));
      if (a.code === DELETED) c.location = '';
      return a;
    },
    async close() {
      if (timer) clearTimeout(timer);
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
  return c;
}
