/**
 * The gateway's CoAP requests over real UDP sockets: piggybacked and separate responses, RFC 7252
 * retransmission of the same message until MAX_RETRANSMIT, RST, and answers that match nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ACK, CHANGED, CON, CONTENT, EMPTY, PUT, RST, emitCoap } from '../../firmware/coap.js';
import { CoapClient, type CoapOutcome } from '../../gateway/coap-client.js';
import { CoapReader } from '../../firmware/coap.js';
import { openUdpTransport, type UdpTransport } from '../../gateway/transport-udp.js';
import { rawCoap, type RawCoap } from './helpers/raw-coap.js';

let transport: UdpTransport | null = null;
let lamp: RawCoap | null = null;
let client: CoapClient | null = null;

afterEach(async () => {
  client?.close();
  await transport?.close();
  await lamp?.close();
  transport = null;
  lamp = null;
  client = null;
});

/** A client on a real dual-stack socket, talking to a raw socket that plays the lamp. */
async function setUp(options: ConstructorParameters<typeof CoapClient>[1] = {}) {
  transport = await openUdpTransport({ host: '::', port: 0 });
  lamp = await rawCoap('127.0.0.1');
  const c = new CoapClient((addr, port, data) => transport!.send(addr, port, data), { random: () => 0, ...options });
  client = c;
  const reader = new CoapReader();
  const unmatched: Uint8Array[] = [];
  transport.onMessage((from, port, data) => {
    if (reader.read(data, 0, data.length) && !c.handle(reader, from, port)) unmatched.push(data);
  });
  const outcome = (mid: number): Promise<CoapOutcome> =>
    new Promise((resolve) => c.request({ addr: '::ffff:127.0.0.1', port: lamp!.port, mid, code: PUT, path: '3311/0', format: 50, payload: '{"on":1}' }, resolve));
  return { lamp, transport, client: c, outcome, unmatched };
}

const reply = (type: number, code: number, mid: number, token: Uint8Array, payload = ''): Uint8Array =>
  emitCoap({ type, code, mid, token, options: [], payload: Buffer.from(payload) });

describe('CoapClient', () => {
  it('completes a confirmable request with the piggybacked response', async () => {
    const { lamp, transport, outcome } = await setUp();
    const done = outcome(100);
    const req = await lamp.next();
    expect(req.msg).toMatchObject({ type: CON, code: PUT, mid: 100 });
    lamp.send(reply(ACK, CHANGED, 100, req.msg!.token), transport.port);
    expect(await done).toEqual({ ok: true, code: CHANGED, payload: '' });
  });

  it('retransmits the identical message MAX_RETRANSMIT times with doubling timeouts, then reports a timeout', async () => {
    const { lamp, outcome } = await setUp({ ackTimeoutMs: 20, maxRetransmit: 4 });
    const result = await outcome(7);
    expect(result).toMatchObject({ ok: false, timedOut: true });
    expect(lamp.received).toHaveLength(5);
    expect(new Set(lamp.received.map((d) => d.data.toString('hex'))).size).toBe(1);
  });

  it('waits for a separate response after an empty ACK and acknowledges it', async () => {
    const { lamp, transport, outcome } = await setUp({ ackTimeoutMs: 50 });
    const done = outcome(200);
    const req = await lamp.next();
    lamp.send(reply(ACK, EMPTY, 200, new Uint8Array(0)), transport.port);
    lamp.send(reply(CON, CONTENT, 9000, req.msg!.token, '{"on":1}'), transport.port);
    expect(await done).toEqual({ ok: true, code: CONTENT, payload: '{"on":1}' });
    const ack = await lamp.next();
    expect(ack.msg).toMatchObject({ type: ACK, code: EMPTY, mid: 9000 });
  });

  it('fails a request the lamp resets', async () => {
    const { lamp, transport, outcome } = await setUp();
    const done = outcome(300);
    await lamp.next();
    lamp.send(reply(RST, EMPTY, 300, new Uint8Array(0)), transport.port);
    expect(await done).toMatchObject({ ok: false, timedOut: false, reason: expect.stringMatching(/reset/) });
  });

  it('reports a lamp error code as a refusal', async () => {
    const { lamp, transport, outcome } = await setUp();
    const done = outcome(400);
    const req = await lamp.next();
    lamp.send(reply(ACK, 128, 400, req.msg!.token, 'bad body'), transport.port);
    expect(await done).toMatchObject({ ok: false, timedOut: false, code: 128, reason: 'lamp answered 4.00 (bad body)' });
  });

  it('ignores an acknowledgement with the wrong token or message id', async () => {
    const { lamp, transport, outcome, unmatched, client } = await setUp();
    const done = outcome(500);
    const req = await lamp.next();
    lamp.send(reply(ACK, CHANGED, 500, new Uint8Array([9, 9, 9, 9])), transport.port);
    lamp.send(reply(ACK, CHANGED, 501, req.msg!.token), transport.port);
    lamp.send(reply(ACK, CHANGED, 500, req.msg!.token), transport.port);
    expect(await done).toMatchObject({ ok: true });
    expect(unmatched).toHaveLength(2);
    expect(client.inFlight).toBe(0);
  });
});
