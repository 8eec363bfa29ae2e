/**
 * The build's wire check: the minified bundle, run on the stand-in interpreter, talks to a scripted
 * gateway, and every kind of message it sends must be accepted by the decoders the gateway uses
 * (protocol/registration.ts), with the values the lamp really has; every kind of request the gateway
 * sends must be obeyed. The bundler shortens property names (build.ts), and a name that reaches the
 * wire must never be one of them: this check finds any that does, whatever it is called, before a
 * board gets it. Node-side only; nothing here is bundled.
 *
 * Text crosses the wire as UTF-8 in both directions, so the lamp's id and groups are not ASCII here.
 */
import { defaultConfig } from '../../firmware/lamp.js';
import {
  ACK, CHANGED, CON, CONTENT, CONTENT_FORMAT, CREATED, FORBIDDEN, FORMAT_JSON, FORMAT_TEXT, GET, LOCATION_PATH,
  POST, PUT, URI_PATH, URI_QUERY, codeString, coapReader, coapWriter, readCoap, writeBegin, writeEnd, writeOption, writePayload,
  type CoapReader,
} from '../../protocol/coap.js';
import {
  COAP_PORT, CONFIG_PATH, DIMMER_PATH, DISCOVERY_PATH, LIGHT_PATH, ON_PATH, RD_PATH, commandJson, parseReportBody, parseState, type ReportBody,
} from '../../protocol/registration.js';
import { CONFIG_FILE, type BoardConfig } from '../../firmware/espruino/board-config.js';
import { loadOnEmulatedEspruino, type StandInNetwork } from './emulated-espruino.js';

const GATEWAY = '10.0.0.1';
const STRANGER = '10.0.0.99';
const ID = 'wire-check-Straße-☃';
const GROUPS = 'Hauptstraße-Nord,street-1';
const NEW_GROUPS = 'Hauptstraße-Süd';
/** Longest wait for one message: the lamp answers at once, so this only bounds a broken bundle. */
const WAIT_MS = 5000;

const utf8 = new TextDecoder('utf-8', { fatal: true });

interface Datagram {
  msg: CoapReader;
  to: string;
  port: number;
}

/** What went wrong, in words a build log can show. */
class WireProblem extends Error {}

function text(bytes: Uint8Array, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new WireProblem(`${what} is not UTF-8: ${Buffer.from(bytes).toString('hex')}`);
  }
}

/** The registration or update body as the gateway decodes it. */
function reportBody(d: Datagram, what: string): ReportBody {
  const body = parseReportBody(text(d.msg.buf.subarray(d.msg.payloadOff, d.msg.payloadOff + d.msg.payloadLen), `${what} payload`));
  if (typeof body === 'string') throw new WireProblem(`the gateway refuses the lamp's ${what}: ${body}`);
  return body;
}

function segments(msg: CoapReader, num: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < msg.optCount; i++) {
    if (msg.optNum[i] === num) out.push(text(msg.buf.subarray(msg.optOff[i], msg.optOff[i] + msg.optLen[i]), `option ${num}`));
  }
  return out;
}

function expectEqual(what: string, actual: unknown, expected: unknown): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) throw new WireProblem(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

/** A scripted gateway on an in-memory network with one lamp on it. */
class ScriptedGateway {
  private readonly inbox: Datagram[] = [];
  private wakeUp: (() => void) | null = null;
  private deliver: ((data: Uint8Array, address: string, port: number) => void) | null = null;
  private readonly writer = coapWriter();
  private mid = 0x4000;

  readonly network: StandInNetwork = (onMessage, onBound) => {
    this.deliver = onMessage;
    setImmediate(() => onBound(COAP_PORT));
    return {
      send: (data, port, to) => {
        const msg = coapReader();
        if (!readCoap(msg, new Uint8Array(data), 0, data.length)) throw new WireProblem(`the lamp sent malformed CoAP (${msg.error})`);
        this.inbox.push({ msg, to, port });
        this.wakeUp?.();
      },
      close: () => (this.deliver = null),
    };
  };

  /** The first message the lamp sent, or will send, that `match` accepts (the lamp may send a
   * request of its own before it answers one). */
  async next(what: string, match: (d: Datagram) => boolean = () => true): Promise<Datagram> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const i = this.inbox.findIndex(match);
      if (i >= 0) return this.inbox.splice(i, 1)[0];
      if (Date.now() > deadline) throw new WireProblem(`no ${what} from the lamp within ${WAIT_MS} ms`);
      await new Promise<void>((resolve) => {
        this.wakeUp = resolve;
        setTimeout(resolve, 50);
      });
    }
  }

  /** Sends a request from `from` and returns the lamp's piggybacked answer. */
  async request(from: string, code: number, path: string, format: number, payload: string): Promise<CoapReader> {
    const mid = ++this.mid;
    const buf = new Uint8Array(512);
    const w = this.writer;
    writeBegin(w, buf, 0, CON, code, mid, new Uint8Array([7, mid & 255]), 0, 2);
    for (const segment of path.split('/')) writeOption(w, URI_PATH, segment);
    if (payload !== '') {
      writeOption(w, CONTENT_FORMAT, format);
      writePayload(w, payload);
    }
    this.send(from, buf.subarray(0, writeEnd(w)));
    return (await this.next(`ACK to ${codeString(code)} /${path}`, (d) => d.msg.type === ACK && d.msg.mid === mid)).msg;
  }

  /** Answers the lamp's confirmable request `d` with `code` and Location-Path segments. */
  answer(d: Datagram, code: number, location: string[] = []): void {
    const buf = new Uint8Array(256);
    const w = this.writer;
    writeBegin(w, buf, 0, ACK, code, d.msg.mid, d.msg.buf, d.msg.tokenOff, d.msg.tokenLen);
    for (const segment of location) writeOption(w, LOCATION_PATH, segment);
    this.send(GATEWAY, buf.subarray(0, writeEnd(w)));
  }

  private send(from: string, data: Uint8Array): void {
    if (!this.deliver) throw new WireProblem('the lamp closed its socket');
    this.deliver(data, from, COAP_PORT);
  }
}

/** Expects the lamp's next request to be a registration (or an update) and returns its body as the
 * gateway decodes it, after answering it. */
async function report(gw: ScriptedGateway, what: string, update: boolean): Promise<ReportBody> {
  const d = await gw.next(what, (m) => m.msg.type === CON);
  if (d.to !== GATEWAY || d.port !== COAP_PORT) throw new WireProblem(`the ${what} went to ${d.to}:${d.port}, not the gateway ${GATEWAY}:${COAP_PORT}`);
  if (d.msg.type !== CON || d.msg.code !== POST) throw new WireProblem(`the ${what} is not a confirmable POST (${codeString(d.msg.code)})`);
  expectEqual(`the ${what}'s Uri-Path`, segments(d.msg, URI_PATH), update ? [RD_PATH, ID] : [RD_PATH]);
  const query = segments(d.msg, URI_QUERY);
  if (!update) expectEqual(`the registration's endpoint name`, query.filter((q) => q.startsWith('ep=')), ['ep=' + ID]);
  if (!query.some((q) => /^lt=\d+$/.test(q))) throw new WireProblem(`the ${what} has no lt=<seconds> query: ${JSON.stringify(query)}`);
  const body = reportBody(d, what);
  gw.answer(d, update ? CHANGED : CREATED, update ? [] : [RD_PATH, ID]);
  return body;
}

async function expectCode(answer: Promise<CoapReader>, code: number, what: string): Promise<CoapReader> {
  const msg = await answer;
  if (msg.code !== code) throw new WireProblem(`${what}: the lamp answered ${codeString(msg.code)}, expected ${codeString(code)}`);
  return msg;
}

function payload(msg: CoapReader, what: string): string {
  return text(msg.buf.subarray(msg.payloadOff, msg.payloadOff + msg.payloadLen), what);
}

async function script(gw: ScriptedGateway): Promise<void> {
  const registered = await report(gw, 'registration', false);
  expectEqual('the registered groups', registered.groups, GROUPS);
  expectEqual('the registered state (on, level)', [registered.state?.on, registered.state?.level], [true, 80]);

  await expectCode(gw.request(GATEWAY, PUT, LIGHT_PATH, FORMAT_JSON, commandJson(true, 37, 0)), CHANGED, 'PUT /3311/0 from the gateway');
  const dimmed = await report(gw, 'update after a dim command', true);
  expectEqual('the reported state after {"on":1,"level":37}', [dimmed.state?.on, dimmed.state?.level], [true, 37]);

  await expectCode(gw.request(GATEWAY, PUT, ON_PATH, FORMAT_TEXT, '0'), CHANGED, 'PUT /3311/0/5850 0');
  const off = await report(gw, 'update after an off command', true);
  expectEqual('the reported state after 5850 = 0', [off.state?.on, off.state?.level], [false, 37]);

  await expectCode(gw.request(GATEWAY, PUT, DIMMER_PATH, FORMAT_TEXT, '55'), CHANGED, 'PUT /3311/0/5851 55');
  await report(gw, 'update after a level command', true);

  const light = await expectCode(gw.request(GATEWAY, GET, LIGHT_PATH, FORMAT_JSON, ''), CONTENT, 'GET /3311/0');
  const state = parseState(JSON.parse(payload(light, 'GET /3311/0')));
  if (typeof state === 'string') throw new WireProblem(`the gateway refuses the lamp's /3311/0: ${state}`);
  expectEqual('GET /3311/0 (on, level)', [state.on, state.level], [false, 55]);
  const level = await expectCode(gw.request(GATEWAY, GET, DIMMER_PATH, FORMAT_TEXT, ''), CONTENT, 'GET /3311/0/5851');
  expectEqual('GET /3311/0/5851', payload(level, 'GET /3311/0/5851'), '55');

  const cfg = await expectCode(gw.request(GATEWAY, GET, CONFIG_PATH, FORMAT_JSON, ''), CONTENT, 'GET /cfg');
  const config = JSON.parse(payload(cfg, 'GET /cfg')) as Record<string, unknown>;
  expectEqual('the keys of GET /cfg', Object.keys(config).sort(), Object.keys(defaultConfig('')).sort());
  expectEqual('GET /cfg id and groups', [config.id, config.groups], [ID, GROUPS]);

  await expectCode(gw.request(GATEWAY, PUT, CONFIG_PATH, FORMAT_JSON, JSON.stringify({ groups: NEW_GROUPS })), CHANGED, 'PUT /cfg groups');
  const moved = await report(gw, 'registration after new groups', false);
  expectEqual('the groups registered after PUT /cfg', moved.groups, NEW_GROUPS);

  const links = await expectCode(gw.request(GATEWAY, GET, DISCOVERY_PATH, FORMAT_TEXT, ''), CONTENT, 'GET /.well-known/core');
  for (const path of [LIGHT_PATH, ON_PATH, DIMMER_PATH, CONFIG_PATH]) {
    if (!payload(links, 'GET /.well-known/core').includes(`</${path}>`)) throw new WireProblem(`/.well-known/core does not list /${path}`);
  }

  await expectCode(gw.request(STRANGER, PUT, ON_PATH, FORMAT_TEXT, '1'), FORBIDDEN, 'PUT /3311/0/5850 from a stranger');
}

/** Why `bundle` would not work with the gateway, or an empty list. */
export async function wireProblems(bundle: string): Promise<string[]> {
  const gw = new ScriptedGateway();
  const config: BoardConfig = {
    gateway: GATEWAY,
    lamp: { id: ID, groups: GROUPS, bootJitterMs: 0, powerOn: 1, defaultLevel: 80, lifetimeS: 600 },
  };
  let board: ReturnType<typeof loadOnEmulatedEspruino> | null = null;
  try {
    board = loadOnEmulatedEspruino(bundle, { storage: { [CONFIG_FILE]: JSON.stringify(config) }, network: gw.network });
    await script(gw);
    return [];
  } catch (err) {
    if (err instanceof WireProblem) return [err.message];
    return [`the bundle failed on the stand-in interpreter: ${err instanceof Error ? err.stack ?? err.message : String(err)}`];
  } finally {
    board?.emit('kill');
    board?.close();
  }
}
