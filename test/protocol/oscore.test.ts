/**
 * OSCORE (RFC 8613) as protocol/oscore does it, over Node's AES and SHA-256: Appendix C's vectors
 * byte for byte, the AEAD against Node's own AES-CCM, and every kind of bad input refused with the
 * security context left as it was.
 */
import { createCipheriv } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { coapReader, coapWriter, readCoap, writeBegin, writeEnd, writeOption, writePayload, CON, PUT, URI_PATH } from '../../protocol/coap.js';
import { ccmOpen, ccmSeal, hkdf, hmac, usePrimitives } from '../../protocol/oscore/crypto.js';
import { MAX_SEQUENCE, SEQUENCE_STEP, type SecurityContext } from '../../protocol/oscore/context.js';
import { oscore, protectRequest, protectResponse, unprotectRequest, unprotectResponse } from '../../protocol/oscore/message.js';
import { oscoreOption, oscoreOptionValue, readOscoreOption } from '../../protocol/oscore/option.js';
import { nodePrimitives } from '../../protocol/oscore/node-primitives.js';
import { C4_REQUEST, C7_RESPONSE, RFC8613_APPENDIX_C, SALT, bytes, hex, oscoreVectors, vectorContext } from './oscore-vectors.js';

beforeAll(() => usePrimitives(nodePrimitives));

const o = oscore();
const r = coapReader();
const out = new Uint8Array(2048);

/** The numbers of a context that a message may change. */
function state(c: SecurityContext): number[] {
  return [c.seq, c.seqBound, c.high, c.seen, c.replayFloor];
}

/** `b` read into the reader, without asserting it reads. */
function read2(b: Uint8Array): typeof r {
  readCoap(r, b, 0, b.length);
  return r;
}

function read(h: string | Uint8Array): typeof r {
  const b = typeof h === 'string' ? bytes(h) : h;
  expect(readCoap(r, b, 0, b.length), r.error).toBe(true);
  return r;
}

/** A CON PUT /3311/0/5850 with `payload`, unprotected. */
function put(payload: string, mid = 0x1234): Uint8Array {
  const w = coapWriter();
  const buf = new Uint8Array(512);
  writeBegin(w, buf, 0, CON, PUT, mid, new Uint8Array([1, 2, 3, 4]), 0, 4);
  for (const seg of ['3311', '0', '5850']) writeOption(w, URI_PATH, seg);
  writePayload(w, payload);
  return buf.slice(0, writeEnd(w));
}

/** The lamp's pair of contexts: the gateway (sender 0x00) and the lamp (sender 0x01). */
function pair(): { gw: SecurityContext; lamp: SecurityContext } {
  return { gw: vectorContext(SALT, '', '00', '01', 0), lamp: vectorContext(SALT, '', '01', '00', 0) };
}

function protect(c: SecurityContext, msg: Uint8Array): Uint8Array {
  const len = protectRequest(o, c, read(msg), out, 0);
  expect(len, o.error).toBeGreaterThan(0);
  return out.slice(0, len);
}

describe('RFC 8613 Appendix C', () => {
  it('derives the keys, Common IVs and nonces of C.1 to C.3 and protects and verifies the messages of C.4 to C.8 byte for byte', () => {
    expect(oscoreVectors()).toEqual(RFC8613_APPENDIX_C);
  });
});

describe('the primitives built from AES and SHA-256', () => {
  it('give RFC 4231 test case 2 for HMAC-SHA-256 and RFC 5869 test case 3 for HKDF', () => {
    expect(hex(hmac(new TextEncoder().encode('Jefe'), new TextEncoder().encode('what do ya want for nothing?')))).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
    expect(hex(hkdf(new Uint8Array(0), new Uint8Array(22).fill(0x0b), new Uint8Array(0), 32))).toBe('8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d');
  });

  it('seal as Node’s own AES-CCM does, for every length across block boundaries, and open what they sealed', () => {
    const key = bytes('000102030405060708090a0b0c0d0e0f');
    const n = bytes('101112131415161718191a1b1c');
    const aad = bytes('8368456e63727970743040498501810a4100411440');
    for (let len = 0; len <= 70; len++) {
      const plain = new Uint8Array(len).map((_, i) => i * 7 + len);
      const sealed = new Uint8Array(len + 8);
      ccmSeal(key, n, aad, plain, 0, len, sealed, 0);
      const c = createCipheriv('aes-128-ccm', key, n, { authTagLength: 8 });
      c.setAAD(aad, { plaintextLength: len });
      const ref = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
      expect(hex(sealed)).toBe(ref.toString('hex'));
      const back = new Uint8Array(len);
      expect(ccmOpen(key, n, aad, sealed, 0, len + 8, back, 0)).toBe(true);
      expect(hex(back)).toBe(hex(plain));
    }
  });
});

describe('a protected exchange between the gateway and a lamp', () => {
  it('carries a PUT and its response with their options and payloads intact', () => {
    const { gw, lamp } = pair();
    const plain = put('1'.repeat(100));
    const sent = protect(gw, plain);
    expect(sent.length).toBeGreaterThan(plain.length);
    // Uri-Path is inside: the protected message shows no path.
    expect(Buffer.from(sent).includes(Buffer.from('5850'))).toBe(false);
    const len = unprotectRequest(o, lamp, read(sent), out, 0);
    expect(hex(out, len)).toBe(hex(plain));
    const requestPiv = o.piv;
    const answer = bytes('64445d1f01020304');
    const sealedAnswer = out.slice(0, protectResponse(o, lamp, read(answer), requestPiv, false, out, 0));
    expect(hex(out, unprotectResponse(o, gw, read(sealedAnswer), requestPiv, out, 0))).toBe(hex(answer));
  });

  it('accepts sequence numbers out of order within the window, and refuses each one twice and those below the window', () => {
    const { gw, lamp } = pair();
    const sent: Uint8Array[] = [];
    for (let i = 0; i < 45; i++) sent.push(protect(gw, put(String(i))));
    const verdict = (seq: number): string => (unprotectRequest(o, lamp, read(sent[seq]), out, 0) < 0 ? o.error : 'ok');
    expect([5, 3, 4, 3, 5].map(verdict)).toEqual(['ok', 'ok', 'ok', expect.stringMatching(/replayed/), expect.stringMatching(/replayed/)]);
    expect(verdict(40)).toBe('ok');
    expect(verdict(8)).toMatch(/below the replay window/);
    expect(verdict(9)).toBe('ok');
    expect(verdict(9)).toMatch(/replayed/);
  });

  it('moves the persisted sequence bound ahead before using a number at it, so a restart from it reuses none', () => {
    const { gw } = pair();
    let persisted = 0;
    const used: number[] = [];
    for (let i = 0; i < SEQUENCE_STEP * 2 + 5; i++) {
      protect(gw, put('1'));
      used.push(o.piv);
      // The platform stores the bound when it moved, before the message goes out.
      if (gw.seqBound !== persisted) persisted = gw.seqBound;
      expect(o.piv).toBeLessThan(persisted);
    }
    expect(persisted).toBe(SEQUENCE_STEP * 3);
    const restarted = vectorContext(SALT, '', '00', '01', persisted);
    protect(restarted, put('1'));
    expect(o.piv).toBeGreaterThan(Math.max(...used));
  });

  it('refuses to protect once the sequence numbers are used up', () => {
    const { gw } = pair();
    gw.seq = MAX_SEQUENCE - 1;
    expect(protectRequest(o, gw, read(put('1')), out, 0)).toBe(-1);
    expect(o.error).toMatch(/used up/);
    expect(gw.seq).toBe(MAX_SEQUENCE - 1);
  });
});

describe('bad input', () => {
  // C.4's protected request: header, Uri-Host, then the OSCORE option (delta 6) and the payload.
  const HEAD = '44025d1f00003974396c6f63616c686f7374';
  const CIPHERTEXT = '612f1092f1776f1c1668b3825e';
  const server = (): SecurityContext => vectorContext(SALT, '', '01', '', 0);
  const cases: [string, string, RegExp][] = [
    ['a truncated OSCORE option (a 1-byte Partial IV announced, none there)', HEAD + '6109ff' + CIPHERTEXT, /overruns/],
    ['a Partial IV of 6 bytes', HEAD + '670e010203040506ff' + CIPHERTEXT, /Partial IV of 6 bytes/],
    ['a huge Partial IV (2^40 - 1) with a tag that does not verify', HEAD + '660dffffffffffff' + CIPHERTEXT, /authentication failed/],
    ['a Partial IV with a leading zero byte', HEAD + '630a0014ff' + CIPHERTEXT, /leading zero/],
    ['reserved flag bits', HEAD + '622914ff' + CIPHERTEXT, /reserved flag/],
    ['a wrong kid', HEAD + '63091405ff' + CIPHERTEXT, /kid matches no/],
    ['a kid of 8 bytes', HEAD + '6a09140102030405060708ff' + CIPHERTEXT, /kid of 8 bytes/],
    ['a request without a Partial IV', HEAD + '6108ff' + CIPHERTEXT, /without a Partial IV/],
    ['a wrong tag', HEAD + '620914ff' + CIPHERTEXT.slice(0, -2) + '5f', /authentication failed/],
    ['a ciphertext shorter than the tag', HEAD + '620914ff' + CIPHERTEXT.slice(0, 14), /ciphertext of 7 bytes/],
    ['no payload at all', HEAD + '620914', /ciphertext of 0 bytes/],
    ['the OSCORE option twice', HEAD + '620914' + '020914ff' + CIPHERTEXT, /repeated/],
    ['no OSCORE option', HEAD + 'ff' + CIPHERTEXT, /absent/],
  ];
  for (const [what, msg, why] of cases) {
    it(`refuses ${what} and leaves the context as it was`, () => {
      const c = server();
      const before = state(c);
      expect(unprotectRequest(o, c, read(msg), out, 0)).toBe(-1);
      expect(o.error).toMatch(why);
      expect(state(c)).toEqual(before);
      // The genuine request still verifies afterwards: nothing was consumed.
      expect(hex(out, unprotectRequest(o, c, read(HEAD + '620914ff' + CIPHERTEXT), out, 0))).toBe(C4_REQUEST);
    });
  }

  it('refuses a replayed request and leaves the window as it was', () => {
    const c = server();
    expect(unprotectRequest(o, c, read(HEAD + '620914ff' + CIPHERTEXT), out, 0)).toBeGreaterThan(0);
    const before = state(c);
    expect(unprotectRequest(o, c, read(HEAD + '620914ff' + CIPHERTEXT), out, 0)).toBe(-1);
    expect(o.error).toMatch(/replayed/);
    expect(state(c)).toEqual(before);
  });

  it('refuses a response bound to another request', () => {
    const client = vectorContext(SALT, '', '', '01', 20);
    const protectedC7 = '64445d1f0000397490ffdbaad1e9a7e7b2a813d3c31524378303cdafae119106';
    expect(unprotectResponse(o, client, read(protectedC7), 21, out, 0)).toBe(-1);
    expect(o.error).toMatch(/authentication failed/);
    expect(hex(out, unprotectResponse(o, client, read(protectedC7), 20, out, 0))).toBe(C7_RESPONSE);
  });

  it('reads an option value back as it was written, and refuses every truncation of it', () => {
    const opt = oscoreOption();
    const value = oscoreOptionValue(0x123456, bytes('0102'), bytes('aabbcc'));
    expect(readOscoreOption(opt, value, 0, value.length)).toBe(true);
    expect([opt.piv, hex(value.subarray(opt.kidOff, opt.kidOff + opt.kidLen)), hex(value.subarray(opt.ctxOff, opt.ctxOff + opt.ctxLen))]).toEqual([0x123456, '0102', 'aabbcc']);
    // Cut inside the Partial IV or the kid context: refused (cut inside the kid is a shorter kid).
    for (const len of [1, 2, 3, 4, 5, 6]) expect(readOscoreOption(opt, value, 0, len), `${len} bytes`).toBe(false);
    expect(readOscoreOption(opt, new Uint8Array([0]), 0, 1)).toBe(false);
    expect(readOscoreOption(opt, new Uint8Array(0), 0, 0)).toBe(true);
    expect([opt.piv, opt.kidLen, opt.ctxLen]).toEqual([-1, -1, -1]);
  });

  // The header and token are not integrity-protected (RFC 8613 §5.4): mutations start after them.
  it('survives 20,000 protected requests mutated after the header: none throws, none verifies, the window stays where it was', () => {
    const { gw, lamp } = pair();
    const genuine = protect(gw, put('1'.repeat(40)));
    let seed = 1;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
    const before = state(lamp);
    let read = 0;
    for (let i = 0; i < 20_000; i++) {
      const m = genuine.slice(0, genuine.length - (i % 7 === 0 ? rand(genuine.length) : 0));
      for (let k = 1 + rand(3); k > 0 && m.length > 8; k--) m[8 + rand(m.length - 8)] ^= 1 + rand(255);
      if (m.length === genuine.length && m.every((b, j) => b === genuine[j])) continue;
      if (!readCoap(r, m, 0, m.length)) continue;
      read++;
      expect(unprotectRequest(o, lamp, r, out, 0)).toBe(-1);
    }
    expect(read).toBeGreaterThan(10_000);
    expect(state(lamp)).toEqual(before);
    expect(unprotectRequest(o, lamp, read2(genuine), out, 0)).toBeGreaterThan(0);
  });
});
