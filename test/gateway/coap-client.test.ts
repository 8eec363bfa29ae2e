/**
 * The gateway's CoAP requests over real UDP sockets: piggybacked and separate responses, RFC 7252
 * retransmission of the same message until MAX_RETRANSMIT, RST, and answers that match nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ACK, CHANGED, CON, CONTENT, EMPTY, PUT, RST } from '../../protocol/coap.js';
import { emitCoap } from '../helpers/coap-message.js';
import { CoapClient, type CoapOutcome } from '../../gateway/lamps/coap-client.js';
import { coapReader, readCoap } from '../../protocol/coap.js';
import { openUdpTransport, type UdpTransport } from '../../gateway/lamps/transport-udp.js';
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
  const reader = coapReader();
  const unmatched: Uint8Array[] = [];
  transport.onMessage((from, port, data) => {
    if (readCoap(reader, data, 0, data.length) && !c.handle(reader, from, port)) unmatched.push(data);
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
    expect(await done).toEqual({ ok: true, code: CHANGED, payload: '', format: -1, observe: -1 });
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
    expect(await done).toEqual({ ok: true, code: CONTENT, payload: '{"on":1}', format: -1, observe: -1 });
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

  it('keeps thousands of exchanges apart that share one message id, answered in any order and any way', () => {
    // Per-lamp message ids make the same mid common across lamps (every lamp's k-th command).
    const sent: { addr: string; port: number; data: Uint8Array }[] = [];
    const c = new CoapClient((addr, port, data) => sent.push({ addr, port, data: data.slice() }), { random: () => 0.5 });
    client = c;
    const lamps = 3000;
    const outcomes: (CoapOutcome | undefined)[] = [];
    const addr = (n: number): string => `2001:db8::${n.toString(16)}`;
    for (let n = 0; n < lamps; n++) {
      c.request({ addr: addr(n), port: 5683, mid: 7, code: PUT, path: '3311/0', payload: `{"level":${n % 100}}` }, (o) => { outcomes[n] = o; });
    }
    // Another request with that mid to the same lamp is refused; to another port of it, it is not.
    let refused: CoapOutcome | undefined;
    c.request({ addr: addr(5), port: 5683, mid: 7, code: PUT, path: '3311/0' }, (o) => { refused = o; });
    expect(refused).toMatchObject({ ok: false, reason: expect.stringMatching(/already in flight/) });
    c.request({ addr: addr(5), port: 5684, mid: 7, code: PUT, path: '3311/0' }, () => {});
    expect(c.inFlight).toBe(lamps + 1);

    const reader = coapReader();
    const offer = (from: string, data: Uint8Array): boolean => {
      expect(readCoap(reader, data, 0, data.length)).toBe(true);
      return c.handle(reader, from, 5683);
    };
    const requests = sent.slice(0, lamps).map((s, n) => {
      expect(readCoap(reader, s.data, 0, s.data.length)).toBe(true);
      return { n, token: reader.buf.slice(reader.tokenOff, reader.tokenOff + reader.tokenLen) };
    });
    // Answer in a scrambled order: a piggybacked 2.04, an empty ACK then a separate 2.05, or an RST.
    const order = requests.map((r, k) => ({ r, key: (k * 7919) % lamps })).sort((a, b) => a.key - b.key).map((x) => x.r);
    const separate: typeof requests = [];
    for (const { n, token } of order) {
      if (n % 3 === 0) {
        expect(offer(addr(n), reply(ACK, EMPTY, 7, new Uint8Array(0)))).toBe(true);
        separate.push({ n, token });
      } else if (n % 5 === 0) {
        expect(offer(addr(n), reply(RST, EMPTY, 7, new Uint8Array(0)))).toBe(true);
      } else {
        expect(offer(addr(n), reply(ACK, CHANGED, 7, token))).toBe(true);
      }
    }
    for (const { n, token } of separate.reverse()) expect(offer(addr(n), reply(CON, CONTENT, 40_000 + n, token, `{"level":${n % 100}}`))).toBe(true);

    for (let n = 0; n < lamps; n++) {
      if (n % 3 === 0) expect(outcomes[n]).toEqual({ ok: true, code: CONTENT, payload: `{"level":${n % 100}}`, format: -1, observe: -1 });
      else if (n % 5 === 0) expect(outcomes[n]).toMatchObject({ ok: false, timedOut: false, reason: expect.stringMatching(/reset/) });
      else expect(outcomes[n]).toEqual({ ok: true, code: CHANGED, payload: '', format: -1, observe: -1 });
    }
    expect(c.inFlight).toBe(1);
    // A late duplicate of an answer matches nothing now, and its lamp's slot serves a new exchange.
    expect(offer(addr(1), reply(ACK, CHANGED, 7, requests[1].token))).toBe(false);
    let again: CoapOutcome | undefined;
    c.request({ addr: addr(1), port: 5683, mid: 8, code: PUT, path: '3311/0' }, (o) => { again = o; });
    readCoap(reader, sent[sent.length - 1].data, 0, sent[sent.length - 1].data.length);
    const token = reader.buf.slice(reader.tokenOff, reader.tokenOff + 4);
    expect([...token]).not.toEqual([...requests[1].token]);
    expect(offer(addr(1), reply(ACK, CHANGED, 8, token))).toBe(true);
    expect(again).toMatchObject({ ok: true });
  });
});
