/**
 * A lamp that refuses a command: the gateway reports `lamp-refused` on lampnet/gateway/errors with
 * the lamp's answer, counts the delivery as refused, and keeps the lamp's state as the lamp reported it.
 * The lamp is a raw UDP socket, so it can answer exactly what a real board may answer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ACK, BAD_REQUEST, CON, FORBIDDEN, POST, PUT } from '../../protocol/coap.js';
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

const STATE = '{"on":0,"level":100,"w":0.5,"wh":0,"t":0,"f":0}';

describe('a lamp that refuses a command', () => {
  it.each([
    ['4.03 Forbidden', FORBIDDEN, ''],
    ['4.00 Bad Request', BAD_REQUEST, 'level out of range'],
  ])('with %s is reported as lamp-refused on the errors topic', async (name, code, diagnostic) => {
    gateway = await startGateway(EPHEMERAL);
    lamp = await rawCoap('::1');
    watcher = await watch(gateway.mqttUrl, ['lampnet/#']);
    const w = watcher;
    lamp.send(request(CON, POST, 1, ['rd'], ['ep=stubborn', 'lt=60'], `{"g":"","s":${STATE}}`), gateway.coapPort!);
    await lamp.next();
    await w.until('the lamp online', () => w.last.get('lampnet/lamps/stubborn/availability') === 'online');

    await w.publish('lampnet/lamps/stubborn/set', 'ON');
    const put = (await lamp.next()).msg!;
    expect(put).toMatchObject({ type: CON, code: PUT });
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
