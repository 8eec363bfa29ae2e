import { describe, expect, it } from 'vitest';
import { generate, parse } from 'coap-packet';
import {
  ACK, CON, CONTENT, GET, NON, PUT, codeString, coapReader, coapWriter, optionUint, payloadOf, readCoap, uriPath, uriPathEquals, uriQuery,
  writeBegin, writeEnd, writeOption, writePayload,
} from '../../protocol/coap.js';
import { emitCoap, parseCoap, coapError, type CoapMessage } from '../helpers/coap-message.js';
import { prng } from './fake-hal.js';

const enc = new TextEncoder();
const bytes = (...b: number[]) => Uint8Array.from(b);

function sample(): CoapMessage {
  return {
    type: CON,
    code: PUT,
    mid: 0xbeef,
    token: bytes(1, 2, 3, 4, 5, 6, 7, 8),
    options: [
      { num: 11, value: enc.encode('3311') },
      { num: 11, value: enc.encode('0') },
      { num: 11, value: enc.encode('5851') },
      { num: 12, value: bytes() },
      { num: 15, value: enc.encode('x'.repeat(300)) },
      { num: 60, value: bytes(1, 0) },
      { num: 2048, value: enc.encode('far') },
    ],
    payload: enc.encode('42'),
  };
}

describe('CoAP codec', () => {
  it('round-trips a message with extended option deltas and lengths', () => {
    const msg = sample();
    expect(parseCoap(emitCoap(msg))).toEqual(msg);
  });

  it('emits the RFC 7252 header, token, option and payload bytes', () => {
    const wire = emitCoap({ type: NON, code: GET, mid: 0x1234, token: bytes(0x77), options: [{ num: 11, value: enc.encode('a') }], payload: bytes(9) });
    expect([...wire]).toEqual([0x51, 0x01, 0x12, 0x34, 0x77, 0xb1, 0x61, 0xff, 9]);
  });

  it('writes numeric options as minimal unsigned integers', () => {
    const buf = new Uint8Array(32);
    const w = coapWriter();
    writeBegin(w, buf, 0, ACK, CONTENT, 1, null, 0, 0);
    writeOption(w, 6, 0);
    writeOption(w, 12, 50);
    writeOption(w, 14, 0x10000);
    const r = coapReader();
    expect(readCoap(r, buf, 0, writeEnd(w))).toBe(true);
    expect([r.optLen[0], r.optLen[1], r.optLen[2]]).toEqual([0, 1, 3]);
    expect([optionUint(r, 6), optionUint(r, 12), optionUint(r, 14), optionUint(r, 17)]).toEqual([0, 50, 0x10000, -1]);
  });

  it('reads Uri-Path and Uri-Query through the reader helpers', () => {
    const wire = emitCoap({ type: CON, code: 2, mid: 1, token: bytes(), options: [{ num: 11, value: enc.encode('rd') }, { num: 11, value: enc.encode('42') }, { num: 15, value: enc.encode('lt=300') }, { num: 15, value: enc.encode('b') }], payload: bytes() });
    const r = coapReader();
    expect(readCoap(r, wire, 0, wire.length)).toBe(true);
    expect(uriPath(r)).toBe('rd/42');
    expect(uriPathEquals(r, 'rd/42')).toBe(true);
    expect(uriPathEquals(r, 'rd/4')).toBe(false);
    expect(uriPathEquals(r, 'rd')).toBe(false);
    expect(uriQuery(r, 'lt')).toBe('300');
    expect(uriQuery(r, 'b')).toBe('');
    expect(uriQuery(r, 'ep')).toBeNull();
  });

  it('reads a message inside a larger buffer at an offset', () => {
    const wire = emitCoap(sample());
    const big = new Uint8Array(wire.length + 20);
    big.set(wire, 7);
    const r = coapReader();
    expect(readCoap(r, big, 7, wire.length)).toBe(true);
    expect(r.mid).toBe(0xbeef);
    expect(payloadOf(r)).toBe('42');
  });

  it('refuses out-of-order options and overflow with -1 and a reason instead of throwing', () => {
    const w = coapWriter();
    writeBegin(w, new Uint8Array(64), 0, CON, GET, 1, null, 0, 0);
    writeOption(w, 12, 0);
    writeOption(w, 11, 'a');
    expect(writeEnd(w)).toBe(-1);
    expect(w.error).toMatch(/option 11 of 1 bytes written after option 12/);
    writeBegin(w, new Uint8Array(8), 0, CON, GET, 1, null, 0, 0);
    writePayload(w, 'too long a payload');
    expect(writeEnd(w)).toBe(-1);
    expect(w.error).toMatch(/message of 23 bytes does not fit the 8 bytes left/);
    writeBegin(w, new Uint8Array(64), 0, CON, GET, 1, new Uint8Array(9), 0, 9);
    expect(writeEnd(w)).toBe(-1);
    expect(w.error).toMatch(/token length 9 exceeds 8/);
  });

  it('starts every message afresh: a refused one leaves no reason behind', () => {
    const w = coapWriter();
    const buf = new Uint8Array(8);
    writeBegin(w, buf, 0, CON, GET, 1, null, 0, 0);
    writePayload(w, 'too long a payload');
    expect(writeEnd(w)).toBe(-1);
    writeBegin(w, buf, 0, CON, GET, 2, null, 0, 0);
    expect(writeEnd(w)).toBe(4);
    expect(w.error).toBe('');
  });

  it('prints codes as class.detail', () => {
    expect(codeString(CONTENT)).toBe('2.05');
    expect(codeString(132)).toBe('4.04');
  });

  const hostile: [string, Uint8Array, RegExp][] = [
    ['a message shorter than the header', bytes(0x40, 1, 0), /shorter than the 4-byte header/],
    ['version 2', bytes(0x80, 1, 0, 1), /version 2, expected 1/],
    ['token length 9', bytes(0x49, 1, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9), /token length 9 exceeds 8/],
    ['a token longer than the message', bytes(0x44, 1, 0, 1, 1, 2), /token length 4 exceeds 8 or the 6-byte message/],
    ['option delta nibble 15', bytes(0x40, 1, 0, 1, 0xf1, 0), /reserved nibble 15/],
    ['option length nibble 15', bytes(0x40, 1, 0, 1, 0x1f, 0), /reserved nibble 15/],
    ['a delta extension past the end', bytes(0x40, 1, 0, 1, 0xe0, 1), /option at byte 4 overruns the 6-byte message/],
    ['a length extension past the end', bytes(0x40, 1, 0, 1, 0x1d), /option at byte 4 overruns the 5-byte message/],
    ['an option value past the end', bytes(0x40, 1, 0, 1, 0xb5, 0x61), /option at byte 4 overruns the 6-byte message/],
    ['a payload marker with no payload', bytes(0x40, 1, 0, 1, 0xff), /payload marker at byte 4 with empty payload/],
    ['an empty message with a token', bytes(0x41, 0, 0, 1, 9), /empty message/],
    ['more than 24 options', Uint8Array.from([0x40, 1, 0, 1, ...new Array(25).fill(0x10)]), /more than 24 options/],
  ];
  for (const [what, input, why] of hostile) {
    it(`rejects ${what} and names the problem`, () => {
      expect(parseCoap(input)).toBeNull();
      expect(coapError(input)).toMatch(why);
    });
  }

  it('parses what coap-packet generates', () => {
    const wire = generate({
      code: '0.03',
      messageId: 4242,
      token: Buffer.from([9, 8, 7]),
      confirmable: true,
      options: [
        { name: 'Uri-Path', value: Buffer.from('3311') },
        { name: 'Uri-Path', value: Buffer.from('0') },
        { name: 'Content-Format', value: Buffer.from([50]) },
        { name: 'Uri-Query', value: Buffer.from('q'.repeat(20)) },
        { name: 'Proxy-Uri', value: Buffer.from('p'.repeat(400)) },
      ],
      payload: Buffer.from('{"on":1}'),
    });
    const msg = parseCoap(new Uint8Array(wire));
    expect(msg).not.toBeNull();
    expect(msg!.type).toBe(CON);
    expect(msg!.code).toBe(PUT);
    expect(msg!.mid).toBe(4242);
    expect([...msg!.token]).toEqual([9, 8, 7]);
    expect(msg!.options.map((o) => [o.num, o.value.length])).toEqual([[11, 4], [11, 1], [12, 1], [15, 20], [35, 400]]);
    expect(new TextDecoder().decode(msg!.payload)).toBe('{"on":1}');
  });

  it('emits what coap-packet parses', () => {
    const msg = sample();
    const theirs = parse(Buffer.from(emitCoap(msg)));
    expect(theirs.confirmable).toBe(true);
    expect(theirs.code).toBe('0.03');
    expect(theirs.messageId).toBe(0xbeef);
    expect([...theirs.token]).toEqual([...msg.token]);
    expect(theirs.options.map((o) => o.value.length)).toEqual(msg.options.map((o) => o.value.length));
    expect(theirs.payload.toString()).toBe('42');
  });

  it('agrees with coap-packet on random well-formed messages both ways', () => {
    const rnd = prng(7);
    const int = (n: number) => Math.floor(rnd() * n);
    for (let i = 0; i < 1000; i++) {
      const options: CoapMessage['options'] = [];
      let num = 0;
      for (let k = int(6); k > 0; k--) {
        num += [0, 1, 12, 13, 268, 269, 1000][int(7)];
        options.push({ num: num || 1, value: Uint8Array.from({ length: [0, 1, 12, 13, 268, 269, 300][int(7)] }, () => int(256)) });
      }
      const msg: CoapMessage = {
        type: int(4),
        code: [1, 2, 3, 4, 65, 69, 132][int(7)],
        mid: int(65536),
        token: Uint8Array.from({ length: int(9) }, () => int(256)),
        options,
        payload: Uint8Array.from({ length: int(3) * int(40) }, () => int(256)),
      };
      const ours = emitCoap(msg);
      const theirs = parse(Buffer.from(ours));
      expect(theirs.messageId).toBe(msg.mid);
      expect(theirs.options.length).toBe(options.length);
      expect(theirs.payload.length).toBe(msg.payload.length);
      const back = parseCoap(new Uint8Array(generate({ ...theirs, options: theirs.options.map((o, j) => ({ name: options[j].num, value: o.value })) } as never, 4096)));
      expect(back).toEqual(parseCoap(ours));
    }
  });

  it('never throws on 100,000 random and mutated inputs', () => {
    const rnd = prng(12345);
    const int = (n: number) => Math.floor(rnd() * n);
    const seeds = [emitCoap(sample()), ...hostile.map((h) => h[1])];
    const r = coapReader();
    let accepted = 0;
    for (let i = 0; i < 100_000; i++) {
      let input: Uint8Array;
      if (i % 2) {
        input = Uint8Array.from({ length: int(64) }, () => int(256));
        if (input.length) input[0] = (input[0] & 0x3f) | 0x40;
      } else {
        input = seeds[int(seeds.length)].slice();
        for (let k = 1 + int(4); k > 0 && input.length; k--) input[int(input.length)] = int(256);
        if (int(4) === 0) input = input.subarray(0, int(input.length + 1));
      }
      const ok = readCoap(r, input, 0, input.length);
      if (ok) {
        accepted++;
        expect(r.payloadOff + r.payloadLen).toBeLessThanOrEqual(input.length);
        for (let k = 0; k < r.optCount; k++) expect(r.optOff[k] + r.optLen[k]).toBeLessThanOrEqual(input.length);
        uriPath(r);
        uriQuery(r, 'x');
        parseCoap(input);
      } else expect(r.error).toMatch(/^CoAP /);
    }
    expect(accepted).toBeGreaterThan(1000);
  });
});
