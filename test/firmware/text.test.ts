/**
 * Text on the wire: the lamp writes UTF-8 whatever its platform's strings are, reads UTF-8 JSON
 * strictly, and sends ASCII JSON (protocol/text.ts; the group hashes of protocol/lamp.ts).
 */
import { describe, expect, it } from 'vitest';
import { CON, PUT, URI_QUERY, coapReader, coapWriter, readCoap, writeBegin, writeEnd, writeOption } from '../../protocol/coap.js';
import { fnv1a32, groupAddress } from '../../protocol/lamp.js';
import { asciiJson, utf8Bytes, utf8Json, writeUtf8 } from '../../protocol/text.js';

const latin1 = (bytes: number[]): string => String.fromCharCode(...bytes);

describe('writeUtf8', () => {
  it.each([
    ['ASCII', 'lamp-7', [0x6c, 0x61, 0x6d, 0x70, 0x2d, 0x37]],
    ['a two-byte character', 'ß', [0xc3, 0x9f]],
    ['a three-byte character', '北', [0xe5, 0x8c, 0x97]],
    ['a surrogate pair as one four-byte character', '😀', [0xf0, 0x9f, 0x98, 0x80]],
    ['a lone surrogate as U+FFFD', '\ud800x', [0xef, 0xbf, 0xbd, 0x78]],
  ])('writes %s as UTF-8, and counts what it writes', (_what, text, expected) => {
    expect([...utf8Bytes(text)]).toEqual(expected);
    expect(writeUtf8(null, 0, text)).toBe(expected.length);
    expect(Buffer.from(utf8Bytes(text)).equals(Buffer.from(text.replace('\ud800', '\ufffd'), 'utf8'))).toBe(true);
  });

  it('gives an option the length of its UTF-8 bytes', () => {
    const buf = new Uint8Array(64);
    const w = coapWriter();
    writeBegin(w, buf, 0, CON, PUT, 1, null, 0, 0);
    writeOption(w, URI_QUERY, 'ep=Straße-北');
    const r = coapReader();
    expect(readCoap(r, buf, 0, writeEnd(w))).toBe(true);
    expect(new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(r.optOff[0], r.optOff[0] + r.optLen[0]))).toBe('ep=Straße-北');
  });
});

describe('utf8Json', () => {
  it('turns UTF-8 bytes into ASCII JSON text that parses to the same strings', () => {
    const bytes = [...Buffer.from('{"groups":"Hauptstraße-北😀"}', 'utf8')];
    const text = utf8Json(latin1(bytes))!;
    expect(text).toMatch(/^[\x00-\x7f]*$/);
    expect(JSON.parse(text)).toEqual({ groups: 'Hauptstraße-北😀' });
  });

  it.each([
    ['an overlong form', [0x22, 0xc0, 0x80, 0x22]],
    ['an encoded surrogate', [0x22, 0xed, 0xa0, 0x80, 0x22]],
    ['a code point past U+10FFFF', [0x22, 0xf4, 0x90, 0x80, 0x80, 0x22]],
    ['a lead byte past F4', [0x22, 0xf5, 0x80, 0x80, 0x80, 0x22]],
    ['a stray continuation byte', [0x22, 0x80, 0x22]],
    ['a character cut off at the end', [0x22, 0xe5, 0x8c]],
    ['a lead byte followed by ASCII', [0x22, 0xc3, 0x41, 0x22]],
  ])('refuses %s', (_what, bytes) => {
    expect(utf8Json(latin1(bytes))).toBeNull();
  });
});

describe('asciiJson', () => {
  it('escapes every character from U+007F up as Espruino\'s JSON.stringify does (upper-case hex, surrogate pairs)', () => {
    expect(asciiJson(JSON.stringify('aß\u007f北😀'))).toBe('"a\\u00DF\\u007F\\u5317\\uD83D\\uDE00"');
    expect(JSON.parse(asciiJson(JSON.stringify({ g: 'Hauptstraße-北' })))).toEqual({ g: 'Hauptstraße-北' });
  });
});

describe('group addresses', () => {
  it('hash the UTF-8 bytes of the name, so a board and the simulator agree on any name', () => {
    // FNV-1a-32 of the UTF-8 bytes, computed here independently.
    const reference = (name: string): number => {
      let h = 0x811c9dc5;
      for (const b of Buffer.from(name, 'utf8')) h = Math.imul(h ^ b, 16777619) >>> 0;
      return h;
    };
    for (const name of ['street-1', 'Hauptstraße-Nord', '北区']) expect(fnv1a32(name)).toBe(reference(name));
    expect(groupAddress('street-1')).toBe(`ff15::1:${(reference('street-1') >>> 16).toString(16)}:${(reference('street-1') & 0xffff).toString(16)}`);
  });
});
