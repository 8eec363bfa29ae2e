/**
 * The lamp-facing side of a running gateway (the LwM2M registration interface), spoken to byte by
 * byte from a raw UDP socket: registration answers, duplicate CON retransmissions, unknown
 * registrations, refusals, and hostile datagrams that must be dropped and counted. More hostile
 * clients: lwm2m-hostile.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ACK, BAD_REQUEST, CHANGED, CON, CREATED, EMPTY, GET, LOCATION_PATH, NOT_FOUND, POST, RST } from '../../protocol/coap.js';
import { startGateway, type GatewayHandle } from '../../gateway/gateway.js';
import { EPHEMERAL, metricValue } from './helpers/gateway-fixture.js';
import { rawCoap, request, type RawCoap } from './helpers/raw-coap.js';

let gateway: GatewayHandle | null = null;
let lamp: RawCoap | null = null;
afterEach(async () => {
  await lamp?.close();
  await gateway?.close();
  lamp = null;
  gateway = null;
});

async function setUp() {
  gateway = await startGateway(EPHEMERAL);
  lamp = await rawCoap('::1');
  const port = gateway.coapPort!;
  /** The next datagram that is not a request of the gateway's own (its Observe after Register). */
  const next = async () => {
    for (;;) {
      const d = await lamp!.next();
      if (!(d.msg && d.msg.type === CON && d.msg.code >> 5 === 0)) return d;
    }
  };
  const exchange = async (data: Uint8Array) => {
    lamp!.send(data, port);
    return (await next()).msg!;
  };
  const metrics = async () => (await fetch(`http://127.0.0.1:${gateway!.metricsPort}/metrics`)).text();
  return { gateway, lamp, port, next, exchange, metrics };
}

const LINKS = '</>;rt="oma.lwm2m";ct=110,</3/0>,</3311/0>';
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');
const location = (m: { options: { num: number; value: Uint8Array }[] }): string[] => m.options.filter((o) => o.num === LOCATION_PATH).map((o) => text(o.value));

describe('resource directory', () => {
  it('answers a registration with 2.01 and Location-Path rd/<location>, and records the lamp', async () => {
    const { gateway, exchange } = await setUp();
    const answer = await exchange(request(CON, POST, 1, ['rd'], ['ep=lamp-a', 'lt=60', 'lwm2m=1.1', 'b=U'], LINKS));
    expect(answer).toMatchObject({ type: ACK, code: CREATED, mid: 1 });
    expect([...answer.token]).toEqual([1, 2, 3, 4]);
    const [rd, loc] = location(answer);
    expect(rd).toBe('rd');
    expect(loc).toMatch(/^[0-9a-z]+$/);
    const i = gateway.registry.find('lamp-a');
    expect(gateway.registry.address(i)).toBe('::1');
    expect(gateway.registry.lifetimeS(i)).toBe(60);
    expect(gateway.registry.online(i)).toBe(true);
  });

  it('answers an update at the location it gave with 2.04', async () => {
    const { exchange } = await setUp();
    const at = location(await exchange(request(CON, POST, 1, ['rd'], ['ep=a', 'lt=60'], LINKS)));
    const answer = await exchange(request(CON, POST, 2, at, ['lt=90']));
    expect(answer).toMatchObject({ type: ACK, code: CHANGED, mid: 2 });
  });

  it('answers an update at an unknown location with 4.04 so the lamp registers again', async () => {
    const { exchange } = await setUp();
    const answer = await exchange(request(CON, POST, 3, ['rd', 'ghost'], ['lt=60']));
    expect(answer).toMatchObject({ type: ACK, code: NOT_FOUND, mid: 3 });
  });

  it('refuses an LwM2M version it does not speak with 4.12', async () => {
    const { exchange } = await setUp();
    expect((await exchange(request(CON, POST, 4, ['rd'], ['ep=v2', 'lwm2m=2.0'], LINKS))).code).toBe(140);
  });

  it('answers a retransmitted registration with the same bytes and registers once', async () => {
    const { lamp, port, next, metrics } = await setUp();
    const registration = request(CON, POST, 77, ['rd'], ['ep=twice', 'lt=60'], LINKS);
    lamp.send(registration, port);
    const first = await next();
    lamp.send(registration, port);
    const second = await next();
    expect(second.data).toEqual(first.data);
    const m = await metrics();
    expect(metricValue(m, 'lampnet_gateway_registrations_total')).toBe(1);
    expect(metricValue(m, 'lampnet_gateway_coap_dropped_total{reason="duplicate"}')).toBe(1);
  });

  it('answers a retransmitted update with the same bytes and takes it once; a new message id is a new update', async () => {
    const { lamp, port, next, exchange, metrics } = await setUp();
    const at = location(await exchange(request(CON, POST, 1, ['rd'], ['ep=u', 'lt=60'], LINKS)));
    const update = request(CON, POST, 2, at, ['lt=60']);
    lamp.send(update, port);
    const first = await next();
    lamp.send(update, port);
    const second = await next();
    expect(first.msg).toMatchObject({ type: ACK, code: CHANGED, mid: 2 });
    expect(second.data).toEqual(first.data);
    expect(await exchange(request(CON, POST, 3, at, ['lt=60']))).toMatchObject({ code: CHANGED, mid: 3 });
    const m = await metrics();
    expect(metricValue(m, 'lampnet_gateway_updates_total')).toBe(2);
    expect(metricValue(m, 'lampnet_gateway_coap_dropped_total{reason="duplicate"}')).toBe(1);
  });

  it('takes the same message id from another port of the lamp\'s address as a new request', async () => {
    const { gateway, lamp, port, exchange, metrics } = await setUp();
    await exchange(request(CON, POST, 1, ['rd'], ['ep=moved', 'lt=60'], LINKS));
    const other = await rawCoap('::1');
    try {
      other.send(request(CON, POST, 1, ['rd'], ['ep=moved', 'lt=60'], LINKS), port);
      expect((await other.next()).msg).toMatchObject({ type: ACK, code: CREATED, mid: 1 });
      expect(gateway.registry.port(gateway.registry.find('moved'))).toBe(other.port);
    } finally {
      await other.close();
    }
    expect(lamp.port).not.toBe(other.port);
    const m = await metrics();
    expect(metricValue(m, 'lampnet_gateway_registrations_total')).toBe(2);
    expect(metricValue(m, 'lampnet_gateway_coap_dropped_total{reason="duplicate"}')).toBe(0);
  });

  it('refuses a retransmitted bad request again, with the same answer', async () => {
    const { lamp, port, metrics } = await setUp();
    const bad = request(CON, POST, 5, ['rd'], ['lt=60'], LINKS);
    lamp.send(bad, port);
    const first = await lamp.next();
    lamp.send(bad, port);
    const second = await lamp.next();
    expect(first.msg).toMatchObject({ code: BAD_REQUEST });
    expect(second.data).toEqual(first.data);
    expect(metricValue(await metrics(), 'lampnet_gateway_coap_dropped_total{reason="bad-request"}')).toBe(2);
  });

  it.each([
    ['no endpoint name', request(CON, POST, 4, ['rd'], ['lt=60'], LINKS), /no endpoint name/],
    ['an endpoint name with a slash', request(CON, POST, 4, ['rd'], ['ep=a/b'], LINKS), /contains '\/'/],
    ['an empty endpoint name', request(CON, POST, 4, ['rd'], ['ep='], LINKS), /no endpoint name/],
    ['a bad lifetime', request(CON, POST, 4, ['rd'], ['ep=x', 'lt=soon'], LINKS), /lifetime "soon"/],
    ['an unknown parameter', request(CON, POST, 4, ['rd'], ['ep=x', 'colour=red'], LINKS), /unknown parameter "colour"/],
    ['a payload that is not link format', request(CON, POST, 4, ['rd'], ['ep=x'], '{"s":'), /link format/],
    ['no Light Control object', request(CON, POST, 4, ['rd'], ['ep=x'], '</3/0>'), /3311/],
  ])('refuses a registration with %s with 4.00 and a diagnostic', async (_what, data, reason) => {
    const { gateway, exchange } = await setUp();
    const answer = await exchange(data);
    expect(answer.code).toBe(BAD_REQUEST);
    expect(text(answer.payload)).toMatch(reason);
    expect(gateway.registry.size).toBe(0);
  });

  it('answers a request for another resource with 4.04', async () => {
    const { exchange } = await setUp();
    expect((await exchange(request(CON, GET, 5, ['3311', '0']))).code).toBe(NOT_FOUND);
  });

  it('answers a CoAP ping with RST', async () => {
    const { exchange } = await setUp();
    const answer = await exchange(new Uint8Array([0x40, EMPTY, 0x12, 0x34]));
    expect(answer).toMatchObject({ type: RST, code: EMPTY, mid: 0x1234 });
  });

  it('drops and counts datagrams that are not CoAP, and keeps serving', async () => {
    const { lamp, port, exchange, metrics } = await setUp();
    const junk = [new Uint8Array([]), new Uint8Array([0xff]), new Uint8Array([0x48, 1, 0, 0]), Buffer.from('GET / HTTP/1.1\r\n\r\n'), new Uint8Array([0x40, 2, 0, 1, 0xdd])];
    for (const data of junk) lamp.send(data, port);
    const answer = await exchange(request(CON, POST, 9, ['rd'], ['ep=after'], LINKS));
    expect(answer.code).toBe(CREATED);
    expect(metricValue(await metrics(), 'lampnet_gateway_coap_dropped_total{reason="malformed"}')).toBe(junk.length);
  });
});

describe('resource directory and real CoAP tools', () => {
  it('refuses a request with an unrecognized critical option with 4.02', async () => {
    const { exchange } = await setUp();
    const { URI_PATH, URI_QUERY } = await import('../../protocol/coap.js');
    const { emitCoap } = await import('../helpers/coap-message.js');
    const data = emitCoap({
      type: CON, code: POST, mid: 11, token: new Uint8Array([7]),
      options: [{ num: URI_PATH, value: Buffer.from('rd') }, { num: URI_QUERY, value: Buffer.from('ep=x') }, { num: 2049, value: new Uint8Array([1]) }],
      payload: new Uint8Array(0),
    });
    const answer = await exchange(data);
    expect(answer.code).toBe(130);
    expect(text(answer.payload)).toMatch(/critical option 2049/);
  });

  it("accepts a registration sent by libcoap's coap-client and publishes the lamp online", async () => {
    const { execFile } = await import('node:child_process');
    const { watch } = await import('./helpers/mqtt-watch.js');
    const { gateway, port } = await setUp();
    const watcher = await watch(gateway.mqttUrl, ['lampnet/lamps/#']);
    try {
      const output = await new Promise<string>((resolve, reject) => {
        execFile('coap-client-notls', ['-m', 'post', '-t', '40', '-e', LINKS, '-B', '10', `coap://[::1]:${port}/rd?ep=libcoap&lt=60&lwm2m=1.1`],
          { timeout: 20_000 }, (err, stdout, stderr) => (err ? reject(new Error(`coap-client failed: ${err.message} ${stderr}`)) : resolve(stdout + stderr)));
      });
      expect(output).not.toMatch(/4\.\d\d|5\.\d\d/);
      await watcher.until('libcoap online', () => watcher.last.get('lampnet/lamps/libcoap/availability') === 'online');
      expect(output).toMatch(/rd\/[0-9a-z]+|^$/);
    } finally {
      await watcher.close();
    }
  });
});
