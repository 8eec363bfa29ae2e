/**
 * The build's wire check: the minified bundle, run on the stand-in interpreter, talks LwM2M to a
 * scripted gateway, and every kind of message it sends must be accepted by the decoders an LwM2M
 * server uses (protocol/lwm2m: registration queries, link format, SenML JSON, TLV, text/plain), with
 * the values the lamp really has; every kind of request the gateway sends (read in each format,
 * write, write-attributes, observe, execute) must be obeyed. The bundler shortens property names
 * (build.ts), and a name that reaches the wire must never be one of them: this check finds any that
 * does, whatever it is called, before a board gets it. Node-side only; nothing here is bundled.
 *
 * Text crosses the wire as UTF-8 in both directions, so the lamp's id and groups are not ASCII here.
 */
import {
  ACCEPT, ACK, CHANGED, CON, CONTENT, CONTENT_FORMAT, CREATED, FORBIDDEN, FORMAT_LINK, FORMAT_TEXT, GET, LOCATION_PATH, NON, NOT_ACCEPTABLE, OBSERVE,
  POST, PUT, URI_PATH, URI_QUERY, codeString, coapReader, coapWriter, optionUint, readCoap, writeBegin, writeEnd, writeOption, writePayload,
  type CoapReader,
} from '../../protocol/coap.js';
import { COAP_PORT } from '../../protocol/lamp.js';
import { FORMAT_SENML_JSON, FORMAT_TLV } from '../../protocol/lwm2m/formats.js';
import { registrationObjects } from '../../protocol/lwm2m/link.js';
import { DIMMER, GROUPS, LAMPNET_CONFIG, LIGHT_CONTROL, ON_OFF, STRING, BOOLEAN, INTEGER } from '../../protocol/lwm2m/objects.js';
import { RD_PATH, parseRegisterQuery, parseUpdateQuery } from '../../protocol/lwm2m/registration.js';
import { readSenml, senmlRecord } from '../../protocol/lwm2m/senml.js';
import { readTlv, tlvReader, tlvValue, writeTlv, TLV_RESOURCE } from '../../protocol/lwm2m/tlv.js';
import { CONFIG_FILE, type BoardConfig } from '../../firmware/espruino/board-config.js';
import { loadOnEmulatedEspruino, type StandInNetwork } from './emulated-espruino.js';

const GATEWAY = '10.0.0.1';
const STRANGER = '10.0.0.99';
const ID = 'wire-check-Straße-☃';
const GROUPS_TEXT = 'Hauptstraße-Nord,street-1';
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

  /** Sends a request from `from` (options besides Uri-Path in ascending order) and returns the
   * lamp's piggybacked answer. */
  async request(from: string, code: number, path: string, options: [number, number | string][] = [], payload: string | Uint8Array = ''): Promise<CoapReader> {
    const mid = ++this.mid;
    const buf = new Uint8Array(512);
    const w = this.writer;
    writeBegin(w, buf, 0, CON, code, mid, new Uint8Array([7, mid & 255]), 0, 2);
    const all: [number, number | string][] = [...path.split('/').map((s): [number, string] => [URI_PATH, s]), ...options];
    all.sort((x, y) => x[0] - y[0]);
    for (const [num, value] of all) writeOption(w, num, value);
    writePayload(w, payload);
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

const LOCATION = [RD_PATH, 'x7'];

/** Expects the lamp's next request to be a Register (or an Update at LOCATION), checks it with the
 * server's parsers and answers it. */
async function registration(gw: ScriptedGateway, what: string, update: boolean): Promise<void> {
  const d = await gw.next(what, (m) => m.msg.type === CON && m.msg.code === POST);
  if (d.to !== GATEWAY || d.port !== COAP_PORT) throw new WireProblem(`the ${what} went to ${d.to}:${d.port}, not the gateway ${GATEWAY}:${COAP_PORT}`);
  expectEqual(`the ${what}'s Uri-Path`, segments(d.msg, URI_PATH), update ? LOCATION : [RD_PATH]);
  // The server's parsers take the options' bytes as 8-bit strings (coap.ts uriQueries).
  const queries = segments(d.msg, URI_QUERY).map((q) => Buffer.from(q, 'utf8').toString('latin1'));
  if (update) {
    const q = parseUpdateQuery(queries);
    if ('code' in q) throw new WireProblem(`the server refuses the lamp's ${what}: ${q.error}`);
  } else {
    const q = parseRegisterQuery(queries);
    if ('code' in q) throw new WireProblem(`the server refuses the lamp's ${what}: ${q.error}`);
    expectEqual('the Register parameters', [q.ep, q.lifetimeS, q.version, q.binding], [ID, 600, '1.1', 'U']);
    expectEqual(`the ${what}'s Content-Format`, optionUint(d.msg, CONTENT_FORMAT), FORMAT_LINK);
    const objects = registrationObjects(payload(d.msg, `${what} payload`));
    if (typeof objects === 'string') throw new WireProblem(`the server refuses the lamp's ${what} payload: ${objects}`);
    expectEqual('the registered objects', objects.objects.map((o) => `${o.obj}/${o.inst}`), ['1/0', '3/0', '3305/0', '3311/0', '32311/0']);
    expectEqual('the registered formats', objects.formats, [FORMAT_SENML_JSON, FORMAT_TLV]);
  }
  gw.answer(d, update ? CHANGED : CREATED, update ? [] : LOCATION);
}

async function expectCode(answer: Promise<CoapReader>, code: number, what: string): Promise<CoapReader> {
  const msg = await answer;
  if (msg.code !== code) throw new WireProblem(`${what}: the lamp answered ${codeString(msg.code)}, expected ${codeString(code)}`);
  return msg;
}

function payload(msg: CoapReader, what: string): string {
  return text(msg.buf.subarray(msg.payloadOff, msg.payloadOff + msg.payloadLen), what);
}

/** A SenML answer as "path=value" strings. */
function senml(msg: CoapReader, what: string): Record<string, unknown> {
  const values = readSenml(Buffer.from(msg.buf.subarray(msg.payloadOff, msg.payloadOff + msg.payloadLen)).toString('latin1'));
  if (typeof values === 'string') throw new WireProblem(`the server refuses the lamp's ${what}: ${values}`);
  return Object.fromEntries(values.map((v) => [`/${v.obj}/${v.inst}/${v.res}${v.ri < 0 ? '' : '/' + v.ri}`, v.value]));
}

async function script(gw: ScriptedGateway): Promise<void> {
  await registration(gw, 'Register', false);
  const light = `${LIGHT_CONTROL}/0`;

  const read = senml(await expectCode(gw.request(GATEWAY, GET, light, [[ACCEPT, FORMAT_SENML_JSON]]), CONTENT, 'Read /3311/0 SenML'), 'SenML /3311/0');
  expectEqual('Read /3311/0 SenML (5850, 5851)', [read['/3311/0/5850'], read['/3311/0/5851']], [true, 80]);

  const tlvAnswer = await expectCode(gw.request(GATEWAY, GET, light, [[ACCEPT, FORMAT_TLV]]), CONTENT, 'Read /3311/0 TLV');
  const tlv = tlvReader(32);
  if (!readTlv(tlv, tlvAnswer.buf, tlvAnswer.payloadOff, tlvAnswer.payloadLen)) throw new WireProblem(`the server refuses the lamp's TLV: ${tlv.error}`);
  const byRes = (res: number, type: number) => {
    for (let i = 0; i < tlv.count; i++) if (tlv.res[i] === res) return tlvValue(tlv, i, type);
    return undefined;
  };
  expectEqual('Read /3311/0 TLV (5850, 5851)', [byRes(ON_OFF, BOOLEAN), byRes(DIMMER, INTEGER)], [true, 80]);

  const written = '[' + senmlRecord('/3311/0/', String(DIMMER), INTEGER, 37) + ']';
  await expectCode(gw.request(GATEWAY, POST, light, [[CONTENT_FORMAT, FORMAT_SENML_JSON]], written), CHANGED, 'Write (partial update) /3311/0 SenML');
  const level = await expectCode(gw.request(GATEWAY, GET, `${light}/${DIMMER}`, [[ACCEPT, FORMAT_TEXT]]), CONTENT, 'Read /3311/0/5851 text');
  expectEqual('Read /3311/0/5851 after the write', payload(level, 'text'), '37');

  const off = new Uint8Array(8);
  await expectCode(gw.request(GATEWAY, PUT, `${light}/${ON_OFF}`, [[CONTENT_FORMAT, FORMAT_TLV]], off.subarray(0, writeTlv(off, 0, TLV_RESOURCE, ON_OFF, BOOLEAN, false))), CHANGED, 'Write /3311/0/5850 TLV false');

  await expectCode(gw.request(GATEWAY, PUT, `${light}/${DIMMER}`, [[URI_QUERY, 'pmin=0'], [URI_QUERY, 'pmax=60']]), CHANGED, 'Write-Attributes /3311/0/5851');
  const observed = await expectCode(gw.request(GATEWAY, GET, `${light}/${DIMMER}`, [[OBSERVE, 0], [ACCEPT, FORMAT_TEXT]]), CONTENT, 'Observe /3311/0/5851');
  if (optionUint(observed, OBSERVE) < 0) throw new WireProblem('the answer to Observe /3311/0/5851 has no Observe option');
  await expectCode(gw.request(GATEWAY, PUT, `${light}/${DIMMER}`, [[CONTENT_FORMAT, FORMAT_TEXT]], '55'), CHANGED, 'Write /3311/0/5851 text');
  const note = await gw.next('notification of /3311/0/5851', (d) => d.msg.type === NON && optionUint(d.msg, OBSERVE) > optionUint(observed, OBSERVE));
  expectEqual('the notification of /3311/0/5851', payload(note.msg, 'notification'), '55');

  const discovered = payload(await expectCode(gw.request(GATEWAY, GET, light, [[ACCEPT, FORMAT_LINK]]), CONTENT, 'Discover /3311/0'), 'Discover');
  if (!discovered.includes('</3311/0/5851>;pmin=0;pmax=60')) throw new WireProblem(`Discover /3311/0 does not show the attributes of 5851: ${discovered}`);

  const cfg = `${LAMPNET_CONFIG}/0`;
  expectEqual('Read /32311/0/0 (groups)', senml(await expectCode(gw.request(GATEWAY, GET, `${cfg}/${GROUPS}`, [[ACCEPT, FORMAT_SENML_JSON]]), CONTENT, 'Read /32311/0/0'), 'SenML')[`/${cfg}/${GROUPS}`], GROUPS_TEXT);
  await expectCode(gw.request(GATEWAY, POST, cfg, [[CONTENT_FORMAT, FORMAT_SENML_JSON]], Buffer.from('[' + senmlRecord(`/${cfg}/`, '0', STRING, NEW_GROUPS) + ']').toString('latin1')), CHANGED, 'Write /32311/0 groups');
  expectEqual('Read /32311/0/0 after the write', payload(await expectCode(gw.request(GATEWAY, GET, `${cfg}/${GROUPS}`), CONTENT, 'Read /32311/0/0 text'), 'text'), NEW_GROUPS);

  await expectCode(gw.request(GATEWAY, POST, '1/0/8'), CHANGED, 'Execute /1/0/8');
  await registration(gw, 'Update after the Registration Update Trigger', true);

  await expectCode(gw.request(GATEWAY, GET, light, [[ACCEPT, FORMAT_TEXT]]), NOT_ACCEPTABLE, 'Read /3311/0 as text/plain');
  await expectCode(gw.request(STRANGER, PUT, `${light}/${ON_OFF}`, [[CONTENT_FORMAT, FORMAT_TEXT]], '1'), FORBIDDEN, 'Write /3311/0/5850 from a stranger');
}

/** Why `bundle` would not work with the gateway, or an empty list. */
export async function wireProblems(bundle: string): Promise<string[]> {
  const gw = new ScriptedGateway();
  const config: BoardConfig = {
    gateway: GATEWAY,
    lamp: { id: ID, groups: GROUPS_TEXT, bootJitterMs: 0, powerOn: 1, defaultLevel: 80, lifetimeS: 600 },
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
