/**
 * A lamp that refuses a command: the gateway reports `lamp-refused` on lampnet/gateway/errors with
 * the lamp's answer, counts the delivery as refused, and keeps the lamp's state as the lamp reported it.
 * The lamp is a raw UDP socket, so it can answer exactly what a real board may answer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ACK, BAD_REQUEST, CHANGED, CON, CONTENT, CONTENT_FORMAT, FORBIDDEN, GET, OBSERVE, POST, PUT, URI_PATH } from '../../protocol/coap.js';
import { FORMAT_SENML_JSON } from '../../protocol/lwm2m/formats.js';
import type { CoapMessage } from '../helpers/coap-message.js';
import { emitCoap } from '../helpers/coap-message.js';
import { startGateway, type GatewayHandle } from '../../gateway/gateway.js';
import { EPHEMERAL, metricValue } from './helpers/gateway-fixture.js';
import { watch, type Watcher } from './helpers/mqtt-watch.js';
import { rawCoap, request, type RawCoap } from './helpers/raw-coap.js';

let gateway: GatewayHandle | null = null;
let lamp: RawCoap | null = null;
let watcher: Watcher | null = null;
afterEach(async () => {
  await watcher?.close();
  await lamp?.close();
  await gateway?.close();
  watcher = lamp = gateway = null;
});

const STATE = '[{"bn":"/3311/0/","n":"5850","vb":false},{"n":"5851","v":100}]';
const path = (m: CoapMessage): string => m.options.filter((o) => o.num === URI_PATH).map((o) => Buffer.from(o.value).toString()).join('/');

/** Answers the gateway's setup after Register (Write-Attributes 2.04, Observe 2.05 with the state)
 * and returns its first other request: the command. */
async function command(lamp: RawCoap, port: number): Promise<CoapMessage> {
  for (;;) {
    const m = (await lamp.next()).msg!;
    if (m.code === PUT && path(m) === '3311/0') lamp.send(emitCoap({ type: ACK, code: CHANGED, mid: m.mid, token: m.token, options: [], payload: new Uint8Array(0) }), port);
    else if (m.code === GET) {
      const options = [{ num: OBSERVE, value: new Uint8Array([2]) }, { num: CONTENT_FORMAT, value: new Uint8Array([FORMAT_SENML_JSON]) }];
      lamp.send(emitCoap({ type: ACK, code: CONTENT, mid: m.mid, token: m.token, options, payload: Buffer.from(STATE) }), port);
    } else return m;
  }
}

describe('a lamp that refuses a command', () => {
  it.each([
    ['4.03 Forbidden', FORBIDDEN, ''],
    ['4.00 Bad Request', BAD_REQUEST, 'level out of range'],
  ])('with %s is reported as lamp-refused on the errors topic', async (name, code, diagnostic) => {
    gateway = await startGateway(EPHEMERAL);
    lamp = await rawCoap('::1');
    watcher = await watch(gateway.mqttUrl, ['lampnet/#']);
    const w = watcher;
    lamp.send(request(CON, POST, 1, ['rd'], ['ep=stubborn', 'lt=60'], '</>;rt="oma.lwm2m";ct=110,</3311/0>'), gateway.coapPort!);
    await lamp.next();
    // The command goes once the setup is done (its first state published), as for a lamp in service.
    const next = command(lamp, gateway.coapPort!);
    await w.json('lampnet/lamps/stubborn/state');
    await w.publish('lampnet/lamps/stubborn/set', 'ON');
    const put = await next;
    expect(put).toMatchObject({ type: CON, code: POST });
    expect(path(put)).toBe('3311/0');
    lamp.send(emitCoap({ type: ACK, code, mid: put.mid, token: put.token, options: [], payload: Buffer.from(diagnostic) }), gateway.coapPort!);

    const report = await w.json<{ topic: string; kind: string; lamp: string; reason: string }>('lampnet/gateway/errors');
    expect(report).toMatchObject({ topic: 'lampnet/lamps/stubborn/set', kind: 'lamp-refused', lamp: 'stubborn' });
    expect(report.reason).toContain(name.slice(0, 4));
    if (diagnostic) expect(report.reason).toContain(diagnostic);
    const text = await (await fetch(`http://127.0.0.1:${gateway.metricsPort}/metrics`)).text();
    expect(metricValue(text, 'lampnet_gateway_errors_total{kind="lamp-refused"}')).toBe(1);
    expect(metricValue(text, 'lampnet_gateway_command_deliveries_total{result="refused"}')).toBe(1);
    expect(metricValue(text, 'lampnet_gateway_command_deliveries_total{result="confirmed"}')).toBe(0);
    expect(JSON.parse(w.last.get('lampnet/lamps/stubborn/state')!).on).toBe(false);
  });
});
