/**
 * Hostile LwM2M clients at a running gateway, byte by byte from a raw UDP socket: bad link format,
 * a huge payload, unknown objects, a registration flood from one address, stale locations and
 * notifications. Each gets an error, is counted, and costs bounded memory.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ACK, BAD_REQUEST, CHANGED, CON, CONTENT, CONTENT_FORMAT, CREATED, FORMAT_LINK, LOCATION_PATH, MAX_AGE, NON, NOT_FOUND, OBSERVE, POST,
  REQUEST_ENTITY_TOO_LARGE, RST, SERVICE_UNAVAILABLE, UNSUPPORTED_CONTENT_FORMAT, URI_PATH, URI_QUERY,
} from '../../protocol/coap.js';
import { startGateway, type GatewayHandle } from '../../gateway/gateway.js';
import { emitCoap } from '../helpers/coap-message.js';
import { EPHEMERAL, metricValue } from './helpers/gateway-fixture.js';
import { rawCoap, type RawCoap } from './helpers/raw-coap.js';

let gateway: GatewayHandle | null = null;
let client: RawCoap | null = null;
afterEach(async () => {
  await client?.close();
  await gateway?.close();
  client = gateway = null;
});

const bytes = (s: string): Uint8Array => Buffer.from(s, 'latin1');

/** A Register request: CON POST /rd?ep=..&lt=60&lwm2m=1.1 with a link-format payload. */
function register(mid: number, ep: string, payload: string, format = FORMAT_LINK): Uint8Array {
  return emitCoap({
    type: CON, code: POST, mid, token: new Uint8Array([mid >> 8, mid & 255]),
    options: [
      { num: URI_PATH, value: bytes('rd') }, { num: CONTENT_FORMAT, value: new Uint8Array([format]) },
      { num: URI_QUERY, value: bytes(`ep=${ep}`) }, { num: URI_QUERY, value: bytes('lt=60') }, { num: URI_QUERY, value: bytes('lwm2m=1.1') },
    ],
    payload: bytes(payload),
  });
}

function update(mid: number, location: string): Uint8Array {
  return emitCoap({ type: CON, code: POST, mid, token: new Uint8Array([1]), options: location.split('/').map((s) => ({ num: URI_PATH, value: bytes(s) })), payload: new Uint8Array(0) });
}

async function setUp(options = {}) {
  gateway = await startGateway({ ...EPHEMERAL, ...options });
  client = await rawCoap('127.0.0.1');
  const port = gateway.coapPort!;
  const c = client;
  /** The answer to `data` (requests the gateway sends meanwhile, e.g. its Observe, are skipped). */
  const exchange = async (data: Uint8Array) => {
    c.send(data, port);
    for (;;) {
      const d = await c.next();
      if (d.msg && d.msg.type === ACK) return d.msg;
    }
  };
  const metrics = async () => (await fetch(`http://127.0.0.1:${gateway!.metricsPort}/metrics`)).text();
  const drops = async (reason: string) => metricValue(await metrics(), `lampnet_gateway_coap_dropped_total{reason="${reason}"}`);
  return { gateway, client, port, exchange, drops };
}

const location = (m: { options: { num: number; value: Uint8Array }[] }): string => m.options.filter((o) => o.num === LOCATION_PATH).map((o) => Buffer.from(o.value).toString()).join('/');

describe('hostile LwM2M clients', () => {
  it('refuses a payload that is not link format with 4.00 and counts it', async () => {
    const { exchange, drops, gateway } = await setUp();
    for (const [k, bad] of ['</3311/0', '</3311/0>;;', '<3311/0>', '</3311/0>,</3311/0>', '</3311/x>'].entries()) {
      const a = await exchange(register(k + 1, `bad-${k}`, bad));
      expect(a.code, bad).toBe(BAD_REQUEST);
    }
    expect(await drops('bad-request')).toBe(5);
    expect(gateway.registry.size).toBe(0);
  });

  it('refuses a registration without Light Control /3311/0, and one in another content format', async () => {
    const { exchange, gateway } = await setUp();
    const a = await exchange(register(1, 'sensor', '</3303/0>,</3/0>'));
    expect(a.code).toBe(BAD_REQUEST);
    expect(Buffer.from(a.payload).toString()).toContain('3311');
    expect((await exchange(register(2, 'json', '</3311/0>', 50))).code).toBe(UNSUPPORTED_CONTENT_FORMAT);
    expect(gateway.registry.size).toBe(0);
  });

  it('takes a client with objects it does not know, and ignores them', async () => {
    const { exchange, gateway } = await setUp();
    const a = await exchange(register(1, 'odd', '</9999/0>,</3311/0>,</65000>,</1/0>'));
    expect(a.code).toBe(CREATED);
    expect(gateway.registry.online(gateway.registry.find('odd'))).toBe(true);
  });

  it('refuses a huge payload with 4.13 without parsing it', async () => {
    const { exchange, drops, gateway } = await setUp();
    const huge = '</3311/0>,' + Array.from({ length: 2000 }, (_, k) => `</${k + 10000}/0>`).join(',');
    const a = await exchange(register(1, 'huge', huge));
    expect(a.code).toBe(REQUEST_ENTITY_TOO_LARGE);
    expect(await drops('too-large')).toBe(1);
    expect(gateway.registry.size).toBe(0);
  });

  it('limits new endpoint names from one address: a flood gets 5.03 with Max-Age, counted, and the registry stays small', async () => {
    const { exchange, drops, gateway } = await setUp({ newEndpointsPerAddress: 20 });
    const answers = [];
    for (let k = 0; k < 200; k++) answers.push(await exchange(register(k + 1, `flood-${k}`, '</3311/0>')));
    const codes = answers.map((a) => a.code);
    expect(codes.filter((c) => c === CREATED)).toHaveLength(20);
    expect(codes.filter((c) => c === SERVICE_UNAVAILABLE)).toHaveLength(180);
    // Max-Age (RFC 7252 §5.9.3.4): the seconds until the address's minute is over.
    for (const a of answers.filter((x) => x.code === SERVICE_UNAVAILABLE)) {
      const maxAge = a.options.find((o) => o.num === MAX_AGE);
      expect(maxAge).toBeDefined();
      const s = maxAge!.value.reduce((n, b) => n * 256 + b, 0);
      expect(s).toBeGreaterThanOrEqual(1);
      expect(s).toBeLessThanOrEqual(60);
    }
    expect(await drops('registration-flood')).toBe(180);
    expect(gateway.registry.size).toBe(20);
    // A known endpoint registering again is not new: still accepted.
    expect((await exchange(register(1000, 'flood-3', '</3311/0>'))).code).toBe(CREATED);
  });

  it('takes one new name from each of 5,000 addresses, even at a limit of one new name per address', async () => {
    // A fleet is many addresses each registering its own name: none of them is a flood, however many
    // (the limit is exact per address: any fixed table of fewer slots than addresses would refuse some).
    const { gateway, port, drops } = await setUp({ newEndpointsPerAddress: 1 });
    const lamps = 5000;
    const codes: number[] = [];
    for (let batch = 0; batch < lamps; batch += 250) {
      await Promise.all(Array.from({ length: 250 }, async (_, j) => {
        const k = batch + j;
        const lamp = await rawCoap(`127.0.${1 + (k >> 8)}.${k & 255}`);
        try {
          lamp.send(register(1, `fleet-${k}`, '</3311/0>'), port);
          let a = await lamp.next();
          while (a.msg?.type !== ACK) a = await lamp.next();
          codes[k] = a.msg.code;
        } finally {
          await lamp.close();
        }
      }));
    }
    expect(codes.filter((c) => c === CREATED)).toHaveLength(lamps);
    expect(gateway.registry.size).toBe(lamps);
    expect(await drops('registration-flood')).toBe(0);
  }, 60_000);

  it('answers an Update of an unknown or earlier registration 4.04, and of the current one 2.04', async () => {
    const { exchange, drops } = await setUp();
    const first = location(await exchange(register(1, 'again', '</3311/0>')));
    const second = location(await exchange(register(2, 'again', '</3311/0>')));
    expect(second).not.toBe(first);
    expect((await exchange(update(3, first))).code).toBe(NOT_FOUND);
    expect((await exchange(update(4, 'rd/zzzzzz'))).code).toBe(NOT_FOUND);
    expect((await exchange(update(5, 'rd/-'))).code).toBe(NOT_FOUND);
    expect((await exchange(update(6, second))).code).toBe(CHANGED);
    expect(await drops('stale')).toBe(3);
  });

  it('resets a notification it did not ask for, and counts it', async () => {
    const { client, port, drops } = await setUp();
    const token = new Uint8Array([1, 2, 3, 4, 0, 0, 0, 5]);
    client.send(emitCoap({ type: NON, code: CONTENT, mid: 77, token, options: [{ num: OBSERVE, value: new Uint8Array([3]) }], payload: bytes('[{"n":"/3311/0/5850","vb":true}]') }), port);
    const answer = await client.next();
    expect(answer.msg).toMatchObject({ type: RST, mid: 77 });
    expect(await drops('stale')).toBe(1);
  });
});
