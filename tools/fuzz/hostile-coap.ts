/**
 * Hostile CoAP messages: a third are requests a lamp serves (so that what is damaged in them
 * reaches deep), the rest oversized and repeated options, reserved nibbles, token lengths over 8,
 * reserved codes and types, every CON/NON/ACK/RST mix, empty and huge payloads.
 */
import {
  BAD_REQUEST, CHANGED, CON, CONTENT, CREATED, DELETE, DELETED, EMPTY, GET, INTERNAL_SERVER_ERROR, NON, NOT_FOUND, POST, PUT,
  VALID,
} from '../../protocol/coap.js';
import type { Prng } from '../../sim/random.js';

/** A length that is usually small, sometimes medium, rarely up to `max`. */
export function skewedLength(rng: Prng, small: number, medium: number, max: number): number {
  const r = rng.below(100);
  if (r < 85) return rng.below(small + 1);
  if (r < 98) return rng.below(medium + 1);
  return rng.below(max + 1);
}

const REQUEST_CODES = [GET, GET, PUT, PUT, PUT, POST, DELETE];
const OTHER_CODES = [EMPTY, 5, 6, 7, 31, CREATED, DELETED, VALID, CHANGED, CONTENT, BAD_REQUEST, NOT_FOUND,
  INTERNAL_SERVER_ERROR, 32 | 1, 64 | 31, 96, 192, 224 | 31, 255];
const PATHS = [
  ['3311', '0', '5850'], ['3311', '0', '5851'], ['3311', '0'], ['32311', '0'], ['.well-known', 'core'],
  ['3311', '0', '5852'], ['3305', '0', '5800'], ['3311', '0', '5805'], ['rd'], ['rd', '42'], [],
  ['3311'], ['3311', '1'], ['3311', '0', '5850', 'x'], [''], ['..'], ['3311', '', '5850'], ['1', '0', '8'],
  ['3', '0', '11'], ['3', '0', '11', '0'], ['3', '0', '11', '1'], ['3', '0', '4'], ['1', '0', '1'], ['32311', '0', '14'],
  ['32311', '0', '0'], ['65535', '0'], ['3311', '65535'], ['3311', '00'], ['3', '0', '10'],
];
const BODIES = [
  '0', '1', '50', '100', '101', '-1', '1.5', ' 1', '01', '007', 'on', '1e2', '0x10', 'null', '[]', '[1]', '{}',
  '{"on":1}', '{"on":0}', '{"on":1,"level":30,"fade":500}', '{"level":101}', '{"on":2}', '{"on":true}',
  '{"on":0.5}', '{"fade":1e99}', '{"fade":-1}', '{"level":"50"}', '{"level":null}', '{"on":1', '{"on":1}}',
  '{"__proto__":{"on":1}}', '{"constructor":1}', '{"toString":"x"}', '{"groups":"street-1,lampnet-a,b"}',
  '{"groups":""}', '{"groups":5}', '{"lifetimeS":60}', '{"lifetimeS":0}', '{"lifetimeS":1e9}', '{"id":""}',
  '{"id":"fuzz"}', '{"pingWhen":1}', '{"pingWhen":0}', '{"lat":null,"lon":null}',
  '{"lat":52.5,"lon":13.4,"nightLevel":30,"nightFrom":0,"nightTo":300}', '{"lat":91}', '{"fadeMs":3600000}',
  '{"powerOn":2,"defaultLevel":70}', '{"tzMin":840}', '{"ratedW":100000,"standbyW":1000}', '{"bootJitterMs":3600000}',
  '{"nightFrom":1440}', `{"id":"${'i'.repeat(700)}"}`, `{"groups":"${'g,'.repeat(300)}"}`, '{"defaultLevel":0.5}', '{"on":1,"on":0}', '{"level":1e-400}', '"1"', 'true',
  // SenML JSON (LwM2M), right and wrong.
  '[{"bn":"/3311/0/","n":"5850","vb":true},{"n":"5851","v":30}]', '[{"bn":"/3311/0/","n":"5851","v":101}]',
  '[{"bn":"/3311/0/","n":"5851","vs":"30"}]', '[{"n":"/3311/0/5851","v":30,"vb":true}]', '[{"bn":"/3311/0/","n":"5805","v":1}]',
  '[{"bn":"/32311/0/","n":"14","v":2000}]', '[{"bn":"/32311/0/","n":"0","vs":"street-1,b"},{"n":"1","v":52.5},{"n":"2","v":13.4}]',
  '[{"bn":"/32311/0/","n":"3","vb":false}]', '[{"bn":"/1/0/","n":"1","v":60}]', '[{"bn":"/3/0/","n":"11/0","v":0}]',
  '[{"bn_":"x"}]', '[]', `[${'{"n":"/3311/0/5851","v":1},'.repeat(70)}{}]`, '[{"bn":"/3311/0/","n":"5850","vd":"AQ"}]',
  // TLV: 5850 true, 5851 30, a multiple resource, an overrun.
  '\xc1\x00\x01', '\xe1\x16\xdb\x1e', '\x88\x0b\x03\x41\x00\x00', '\xc8\x00\x10\x01', '\x08\x00\x03\xe1\x16\xda\x01',
];
/** Option numbers beyond the ones the lamp reads: critical (odd) and elective (even), known and not. */
const OTHER_OPTIONS = [1, 3, 4, 5, 7, 8, 9, 14, 20, 23, 27, 28, 35, 39, 60, 258, 2048, 2049, 65000, 65001, 65804];

/** One option of a semantic CoAP message before encoding. */
interface PlannedOption {
  num: number;
  value: Uint8Array;
}

const latin1 = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 255);

function uintBytes(v: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--, v = Math.floor(v / 256)) out[i] = v & 255;
  return out;
}

/** Writes an option header (delta, length with their extensions, RFC 7252 §3.1) at out[pos];
 * returns the position after it. */
function optionHeader(out: Uint8Array, pos: number, delta: number, len: number): number {
  const dn = delta < 13 ? delta : delta < 269 ? 13 : 14;
  const ln = len < 13 ? len : len < 269 ? 13 : 14;
  out[pos++] = (dn << 4) | ln;
  if (dn === 13) out[pos++] = delta - 13;
  if (dn === 14) { out[pos++] = (delta - 269) >> 8; out[pos++] = (delta - 269) & 255; }
  if (ln === 13) out[pos++] = len - 13;
  if (ln === 14) { out[pos++] = (len - 269) >> 8; out[pos++] = (len - 269) & 255; }
  return pos;
}

/** The options of a request a lamp could understand, some of them wrong: paths, queries, formats,
 * Observe, critical options it does not know, repeats and long values. */
function plannedOptions(rng: Prng): PlannedOption[] {
  const options: PlannedOption[] = [];
  const add = (num: number, value: Uint8Array) => options.push({ num, value });
  const path = rng.chance(0.9) ? rng.pick(PATHS) : ['x'.repeat(skewedLength(rng, 20, 300, 1000))];
  for (const segment of path) add(11, latin1(segment));
  if (rng.chance(0.25)) add(6, uintBytes(rng.chance(0.7) ? rng.below(2) : rng.u32(), rng.chance(0.9) ? rng.below(4) : 5));
  if (rng.chance(0.3)) add(12, uintBytes(rng.pick([0, 0, 50, 50, 40, 60, 11542, rng.u32()]), rng.below(5)));
  if (rng.chance(0.1)) add(17, uintBytes(rng.pick([0, 50, 40, 9999]), rng.below(3)));
  if (rng.chance(0.15)) add(15, latin1(rng.pick(['ep=42', 'lt=300', 'lt=', 'ep', '', 'lt=-1', '='.repeat(rng.below(300))])));
  if (rng.chance(0.1)) {
    const extra = rng.chance(0.9) ? 1 + rng.below(3) : 20 + rng.below(10);
    for (let i = 0; i < extra; i++) add(rng.pick(OTHER_OPTIONS), new Uint8Array(skewedLength(rng, 4, 300, 1200)));
  }
  if (rng.chance(0.05)) for (let i = 0; i < 25; i++) add(11, latin1('a'));
  // Stable sort: repeated options keep their order, as on the wire.
  return options.sort((a, b) => a.num - b.num);
}

/** A uint option value's bytes (minimal, RFC 7252 §3.2). */
function bytesOf(n: number): number[] {
  const out: number[] = [];
  for (; n > 0; n = Math.floor(n / 256)) out.unshift(n & 255);
  return out;
}

/** Requests a lamp carries out, when they come from a trusted address: resource, format, bodies. */
const COMMANDS = [
  { path: ['3311', '0', '5850'], format: 0, bodies: ['0', '1'] },
  { path: ['3311', '0', '5851'], format: 0, bodies: ['0', '30', '100'] },
  { path: ['3311', '0'], format: 110, bodies: ['[{"bn":"/3311/0/","n":"5850","vb":true},{"n":"5851","v":40}]', '[{"bn":"/3311/0/","n":"5850","vb":false}]', '[{"bn":"/3311/0/","n":"5851","v":80}]'] },
  { path: ['3311', '0'], format: 11542, bodies: ['\xc1\x00\x01\xe1\x16\xdb\x28', '\xc1\x00\x00'] },
  { path: ['32311', '0'], format: 110, bodies: ['[{"bn":"/32311/0/","n":"5","v":70}]', '[{"bn":"/32311/0/","n":"13","v":1}]', '[{"bn":"/32311/0/","n":"13","v":0}]',
    '[{"bn":"/32311/0/","n":"0","vs":"street-1,lampnet-a"}]', '[{"bn":"/32311/0/","n":"1","v":52.5},{"n":"2","v":13.4}]', '[{"bn":"/32311/0/","n":"3","vb":false}]',
    '[{"bn":"/32311/0/","n":"1","v":90},{"n":"2","v":180},{"n":"4","v":-840}]', '[{"bn":"/32311/0/","n":"1","v":78.2},{"n":"2","v":15.6},{"n":"6","v":20},{"n":"7","v":1439},{"n":"8","v":0}]',
    '[{"bn":"/32311/0/","n":"9","v":2}]', '[{"bn":"/32311/0/","n":"10","v":500}]', '[{"bn":"/32311/0/","n":"14","v":500}]'] },
  { path: ['1', '0', '1'], format: 0, bodies: ['60', '300'] },
  // Write-Attributes: a PUT with queries only (the generator adds them to PUTs without a body sometimes).
  { path: ['3311', '0'], format: 0, bodies: [''] },
];

/** Options of a well-formed GET or PUT the lamp serves (Observe registrations and
 * deregistrations included), and its body. */
function plausibleRequest(rng: Prng, code: number): { options: PlannedOption[]; body: string } {
  const command = rng.pick(COMMANDS);
  const options: PlannedOption[] = [];
  if (code === GET) {
    const path = rng.chance(0.7) ? command.path : rng.pick(PATHS);
    if (rng.chance(0.4)) options.push({ num: 6, value: uintBytes(rng.below(2), rng.below(2)) });
    for (const segment of path) options.push({ num: 11, value: latin1(segment) });
    // Accept: the LwM2M formats, Discover's, and ones a lamp refuses (4.06).
    if (rng.chance(0.5)) options.push({ num: 17, value: Uint8Array.from(bytesOf(rng.pick([0, 40, 110, 11542, 11543, 50, 60])))});
    return { options, body: '' };
  }
  for (const segment of command.path) options.push({ num: 11, value: latin1(segment) });
  const body = rng.pick(command.bodies);
  if (body === '') {
    // Write-Attributes: notification attributes, right and wrong.
    for (let i = rng.below(4); i > 0; i--) options.push({ num: 15, value: latin1(rng.pick(['pmin=0', 'pmin=10', 'pmax=60', 'pmax=1', 'gt=50', 'lt=10', 'st=1', 'pmin', 'pmax=-1', 'pmin=x', 'epmin=5', 'bogus=1'])) });
    return { options, body };
  }
  if (rng.chance(0.8)) options.push({ num: 12, value: Uint8Array.from(bytesOf(command.format)) });
  return { options, body };
}

/** A body for the payload: the commands and configs a lamp parses, wrong in every way, or bytes. */
function body(rng: Prng, out: Uint8Array, pos: number, room: number): number {
  const r = rng.below(100);
  let len: number;
  if (r < 70) {
    const text = rng.pick(BODIES);
    len = Math.min(text.length, room);
    for (let i = 0; i < len; i++) out[pos + i] = text.charCodeAt(i);
  } else if (r < 80) {
    // Deep nesting or a long number: the JSON parser's worst inputs a datagram can carry.
    len = Math.min(skewedLength(rng, 100, 2000, 60000), room);
    const c = rng.pick([91, 123, 57, 34]);
    for (let i = 0; i < len; i++) out[pos + i] = c;
  } else {
    len = Math.min(skewedLength(rng, 16, 1200, 65000), room);
    rng.fill(out, pos, len);
  }
  return pos + len;
}

/**
 * Writes one hostile CoAP message at out[off..) within `room` bytes (at least 64) and returns its
 * length. Used for the packets' UDP payloads, and by the codec tests on their own.
 */
export function writeHostileCoap(rng: Prng, out: Uint8Array, off: number, room: number): number {
  const end = off + room;
  let pos = off;
  // A third are requests a lamp serves, so that what damage is done to them reaches deep.
  const plausible = rng.chance(0.3);
  const tkl = plausible || rng.chance(0.95) ? rng.below(9) : 9 + rng.below(7);
  const version = plausible || rng.chance(0.97) ? 1 : rng.below(4);
  const type = plausible || rng.chance(0.6) ? rng.pick([CON, NON]) : rng.below(4);
  const code = plausible ? rng.pick([GET, PUT]) : rng.chance(0.75) ? rng.pick(REQUEST_CODES) : rng.pick(OTHER_CODES);
  out[pos++] = (version << 6) | (type << 4) | tkl;
  out[pos++] = code;
  out[pos++] = rng.u32() & 255;
  out[pos++] = rng.u32() & 255;
  const tokenBytes = tkl <= 8 ? tkl : rng.below(tkl + 1);
  rng.fill(out, pos, tokenBytes);
  pos += tokenBytes;
  if (code === EMPTY && rng.chance(0.7)) return pos - off;
  const request = plausible ? plausibleRequest(rng, code) : null;
  if (request !== null || rng.chance(0.8)) {
    let last = 0;
    for (const option of request ? request.options : plannedOptions(rng)) {
      if (pos + 5 + option.value.length > end - 8) break;
      pos = optionHeader(out, pos, option.num - last, option.value.length);
      out.set(option.value, pos);
      pos += option.value.length;
      last = option.num;
    }
  } else {
    // Raw option headers: any nibble (13 and 14 with extensions that may run off the end, 15
    // reserved), lengths that may claim more than is there.
    const count = skewedLength(rng, 6, 30, 40);
    for (let i = 0; i < count && pos < end - 16; i++) {
      out[pos++] = rng.chance(0.7) ? rng.u32() & 0xee : rng.u32() & 255;
      const extension = rng.below(3);
      rng.fill(out, pos, extension);
      pos += extension;
      const value = Math.min(skewedLength(rng, 8, 40, 300), end - 16 - pos);
      rng.fill(out, pos, value);
      pos += value;
    }
  }
  if (request !== null) {
    if (request.body !== '') {
      out[pos++] = 0xff;
      for (let i = 0; i < request.body.length; i++) out[pos++] = request.body.charCodeAt(i);
    }
  } else if (rng.chance(0.6)) {
    out[pos++] = 0xff;
    if (rng.chance(0.97)) pos = body(rng, out, pos, end - pos);
  }
  return pos - off;
}
