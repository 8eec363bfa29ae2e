/**
 * The LwM2M registration interface (protocol/lwm2m/registration.ts): the requests a lamp writes,
 * read back with the CoAP codec and with coap-packet (an independent CoAP implementation), the
 * location it keeps, and the server's checks of Register and Update queries.
 */
import { parse } from 'coap-packet';
import { describe, expect, it } from 'vitest';
import { BAD_REQUEST, CON, CREATED, DELETE, LOCATION_PATH, POST, PRECONDITION_FAILED, coapReader, coapWriter, readCoap, uriPath, uriQueries, writeBegin, writeEnd, writeOption, writePayload } from '../../protocol/coap.js';
import { link } from '../../protocol/lwm2m/link.js';
import { DEFAULT_LIFETIME_S, locationOf, parseRegisterQuery, parseUpdateQuery, writeLocation, writeRegisterOptions } from '../../protocol/lwm2m/registration.js';

function written(build: (w: ReturnType<typeof coapWriter>) => void, code: number): Uint8Array {
  const buf = new Uint8Array(512);
  const w = coapWriter();
  writeBegin(w, buf, 0, CON, code, 7, null, 0, 0);
  build(w);
  const len = writeEnd(w);
  expect(w.error).toBe('');
  return buf.subarray(0, len);
}

const latin1 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');

describe('the requests a client writes', () => {
  it('writes Register as POST /rd?ep=..&lt=..&lwm2m=1.1&b=U with a link-format payload', () => {
    const bytes = written((w) => {
      writeRegisterOptions(w, 'lamp-42', 300);
      writePayload(w, link('/1/0', '') + ',' + link('/3311/0', ''));
    }, POST);
    const p = parse(Buffer.from(bytes));
    expect(p.options.filter((o) => o.name === 'Uri-Path').map((o) => o.value.toString())).toEqual(['rd']);
    expect(p.options.filter((o) => o.name === 'Uri-Query').map((o) => o.value.toString())).toEqual(['ep=lamp-42', 'lt=300', 'lwm2m=1.1', 'b=U']);
    expect(p.options.find((o) => o.name === 'Content-Format')!.value).toEqual(Buffer.from([40]));
    expect(p.payload.toString()).toBe('</1/0>,</3311/0>');
    const r = coapReader();
    expect(readCoap(r, bytes, 0, bytes.length)).toBe(true);
    expect(parseRegisterQuery(uriQueries(r))).toEqual({ ep: 'lamp-42', lifetimeS: 300, version: '1.1', binding: 'U', queue: false, sms: null });
  });

  it('keeps the Location-Path of the 2.01 and writes Update and De-register there', () => {
    const created = written((w) => {
      writeOption(w, LOCATION_PATH, 'rd');
      writeOption(w, LOCATION_PATH, 'Straße7');
    }, CREATED);
    const r = coapReader();
    expect(readCoap(r, created, 0, created.length)).toBe(true);
    const location = locationOf(r)!;
    expect(location).toBe('rd/Straße7');
    const del = written((w) => writeLocation(w, location), DELETE);
    expect(readCoap(r, del, 0, del.length)).toBe(true);
    expect(parse(Buffer.from(del)).options.map((o) => o.value.toString())).toEqual(['rd', 'Straße7']);
    expect(uriPath(r)).toBe(latin1('rd/Straße7'));
  });

  it('finds no location in an answer without one, or with an empty or non-UTF-8 segment', () => {
    const r = coapReader();
    for (const segments of [[], ['rd', ''], ['rd', Buffer.from([0xff])]]) {
      const bytes = written((w) => segments.forEach((s) => writeOption(w, LOCATION_PATH, typeof s === 'string' ? s : new Uint8Array(s))), CREATED);
      expect(readCoap(r, bytes, 0, bytes.length)).toBe(true);
      expect(locationOf(r)).toBeNull();
    }
  });
});

describe('the server reading a Register query', () => {
  it('takes the defaults of what a 1.0 client leaves out', () => {
    expect(parseRegisterQuery(['ep=urn:dev:mac:0024befffe804ff1'])).toEqual({ ep: 'urn:dev:mac:0024befffe804ff1', lifetimeS: DEFAULT_LIFETIME_S, version: '1.0', binding: 'U', queue: false, sms: null });
  });

  it('reads queue mode from Q or from a 1.0 binding, and a UTF-8 endpoint name', () => {
    expect(parseRegisterQuery([latin1('ep=Straße-1'), 'b=UQ', 'sms=4912345'])).toMatchObject({ ep: 'Straße-1', binding: 'UQ', queue: true, sms: '4912345' });
    expect(parseRegisterQuery(['ep=a', 'Q'])).toMatchObject({ queue: true, binding: 'U' });
  });

  it.each([
    ['no endpoint name', ['lt=300'], BAD_REQUEST, 'no endpoint name'],
    ['an empty endpoint name', ['ep='], BAD_REQUEST, 'no endpoint name'],
    ['an endpoint name of 256 bytes', ['ep=' + 'x'.repeat(256)], BAD_REQUEST, 'longer than 255 bytes'],
    ['an endpoint name that is not UTF-8', ['ep=\xff'], BAD_REQUEST, 'not UTF-8'],
    ['a lifetime of 0', ['ep=a', 'lt=0'], BAD_REQUEST, 'lifetime "0"'],
    ['a fractional lifetime', ['ep=a', 'lt=1.5'], BAD_REQUEST, 'lifetime "1.5"'],
    ['a lifetime past 32 bits', ['ep=a', 'lt=4294967296'], BAD_REQUEST, 'lifetime'],
    ['an unknown binding', ['ep=a', 'b=X'], BAD_REQUEST, 'binding "X"'],
    ['a binding letter twice', ['ep=a', 'b=UU'], BAD_REQUEST, 'binding "UU"'],
    ['an unknown parameter', ['ep=a', 'et=lamp'], BAD_REQUEST, 'unknown parameter "et"'],
    ['a parameter twice', ['ep=a', 'ep=b'], BAD_REQUEST, '"ep" given twice'],
    ['a parameter without a value', ['ep'], BAD_REQUEST, '"ep" has no value'],
    ['Q with a value', ['ep=a', 'Q=1'], BAD_REQUEST, '"Q" takes no value'],
    ['LwM2M 1.2', ['ep=a', 'lwm2m=1.2'], PRECONDITION_FAILED, 'version "1.2"'],
    ['LwM2M 2.0', ['ep=a', 'lwm2m=2.0'], PRECONDITION_FAILED, 'version "2.0"'],
  ])('refuses %s', (_what, queries, code, reason) => {
    const result = parseRegisterQuery(queries);
    expect(result).toMatchObject({ code: code });
    expect((result as { error: string }).error).toContain(reason);
  });
});

describe('the server reading an Update query', () => {
  it('reads what changed and leaves the rest unchanged', () => {
    expect(parseUpdateQuery([])).toEqual({ lifetimeS: -1, binding: null, queue: false, sms: null });
    expect(parseUpdateQuery(['lt=600', 'b=U'])).toEqual({ lifetimeS: 600, binding: 'U', queue: false, sms: null });
  });

  it('refuses an endpoint name (Update has none) and a bad lifetime', () => {
    expect(parseUpdateQuery(['ep=a'])).toMatchObject({ code: BAD_REQUEST });
    expect(parseUpdateQuery(['lt=x'])).toMatchObject({ code: BAD_REQUEST });
  });
});
