/**
 * `npm run fuzz`: hostile IPv6 packets through real simulated fleets and their CoAP payloads through
 * the CoAP codec, with exact accounting of where every packet went (issue 8, "Hostile input").
 *
 * Packets come from one seeded PRNG: random bytes; valid Echo Requests, UDP datagrams and CoAP
 * requests (from outsiders, from the gateway's trusted address, from lamps, to lamps, to street
 * groups, to the gateway and the router address), behind extension-header chains up to 64 long,
 * then left intact or broken: bit flips, byte sets, inserts, deletes, splices with earlier packets,
 * truncation, trailing bytes, bad checksums, bad Payload Length and UDP Length. CoAP is built the
 * same way: oversized and repeated options, reserved nibbles, token lengths over 8, reserved codes
 * and types, every CON/NON/ACK/RST mix, empty and huge payloads, answers to what the lamps sent.
 * Fleet state, clocks and time steps depend only on the seed, so `--seed N --count M` reproduces a
 * run exactly (the ICMPv6 error rate limit runs on the same virtual clock).
 *
 * Two fleets take the packets, each a real `Fleet` on the firmware core behind an `Ipv6Host` on a
 * `MemoryLink`, wired as `startSim` wires them: a dense fleet (1,000 lamps, streets of 100 that
 * join their street's multicast group) and the sparse fleet (`lamps: 'all'`, a lamp per address).
 * The dense fleet's gateway address is an endpoint of the link, as the in-process gateway uses it,
 * with a stand-in that answers the lamps' registrations and updates (see `GatewayStandIn`).
 * (The parts are wired here rather than by `startSim` only because the host's ICMPv6 rate limiter
 * must run on the virtual clock for a run to replay exactly.)
 *
 * Checked for every packet; the first violation stops the run with the seed, the packet's index
 * and its bytes:
 * - nothing throws (host, link, fleet, lamp core, CoAP codec);
 * - the packet has exactly one disposition in the host's counters (see `dispositions`);
 * - the packets sent while it was handled are exactly the replies the counters name, and every
 *   packet a fleet sends is well-formed: an IPv6 packet from inside the prefix to a unicast
 *   address, checksum valid, an Echo Reply, a Destination Unreachable or a lamp's CoAP message;
 * - a confirmable CoAP message that reached a live lamp by unicast is answered with an ACK or RST
 *   carrying its message id (RFC 7252 §4.2), whatever else is wrong with it;
 * - the CoAP codec agrees with itself: every rejection names its reason, and what the reader
 *   accepted, written back by the writer, gives back the message byte for byte (RFC 7252's encoding
 *   is canonical).
 */
import { pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import {
  ACK, BAD_REQUEST, CHANGED, codeString, CON, CONTENT, CREATED, DELETED, EMPTY, GET, INTERNAL_SERVER_ERROR, NON, NOT_FOUND,
  POST, PUT, DELETE, RST, VALID, coapReader, coapWriter, optionUint, payloadOf, readCoap, uriPath, uriPathEquals, uriQuery,
  writeBegin, writeEnd, writeOption, writePayload, type CoapReader,
} from '../protocol/coap.js';
import { COAP_PORT, groupAddress } from '../protocol/registration.js';
import { Fleet } from './fleet.js';
import type { DatagramEndpoint } from '../protocol/datagram.js';
import { MemoryLink } from './link/memory.js';
import { HostCounters, Ipv6Host } from './net/host.js';
import { addressEquals, formatIpv6, isMulticast, isUnspecified, parseIpv6, writeIpv6 } from './net/wire/address.js';
import { sumVerifies, sumWords, pseudoHeaderSum } from './net/wire/checksum.js';
import { DROP_REASON_SLOTS, OK } from './net/wire/drop.js';
import { fillIcmpv6Checksum, Icmpv6Type } from './net/wire/icmpv6.js';
import { IPV6_HEADER_LEN, Ipv6Packet, NextHeader } from './net/wire/ipv6.js';
import { ExtensionHeaderWalk } from './net/wire/ipv6ext.js';
import { fillUdpChecksum, UDP_HEADER_LEN, UdpPacket } from './net/wire/udp.js';
import { ManualClock } from './scheduler.js';
import { DEFAULT_PREFIX, GATEWAY_IID, parseFleetPrefix } from './sim.js';

export const DEFAULT_SEED = 1;
export const DEFAULT_COUNT = 100_000;
export const DEFAULT_LAMPS = 1000;

/** The largest IPv6 packet (Payload Length 65535). Larger than the link MTU on purpose: replies to
 * such packets cannot be sent, which the host must count (txRefused), not throw on. */
const MAX_PACKET = IPV6_HEADER_LEN + 0xffff;
/** Packets between two turns of the event loop (timers fire, the link flushes, progress reports). */
const CHUNK = 4096;
const STREET_SIZE = 100;

// ---------------------------------------------------------------------------------------------
// Randomness

/** mulberry32 with integer outputs: small, fast and deterministic per seed. */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  u32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }

  chance(p: number): boolean {
    return this.u32() < p * 4294967296;
  }

  pick<T>(list: readonly T[]): T {
    return list[this.below(list.length)];
  }

  fill(out: Uint8Array, off: number, len: number): void {
    let i = 0;
    for (; i + 4 <= len; i += 4) {
      const v = this.u32();
      out[off + i] = v & 255;
      out[off + i + 1] = (v >>> 8) & 255;
      out[off + i + 2] = (v >>> 16) & 255;
      out[off + i + 3] = v >>> 24;
    }
    for (; i < len; i++) out[off + i] = this.u32() & 255;
  }

  /** A length that is usually small, sometimes medium, rarely up to `max`. */
  length(small: number, medium: number, max: number): number {
    const r = this.below(100);
    if (r < 85) return this.below(small + 1);
    if (r < 98) return this.below(medium + 1);
    return this.below(max + 1);
  }
}

// ---------------------------------------------------------------------------------------------
// Hostile CoAP

const REQUEST_CODES = [GET, GET, PUT, PUT, PUT, POST, DELETE];
const OTHER_CODES = [EMPTY, 5, 6, 7, 31, CREATED, DELETED, VALID, CHANGED, CONTENT, BAD_REQUEST, NOT_FOUND,
  INTERNAL_SERVER_ERROR, 32 | 1, 64 | 31, 96, 192, 224 | 31, 255];
const PATHS = [
  ['3311', '0', '5850'], ['3311', '0', '5851'], ['3311', '0'], ['cfg'], ['.well-known', 'core'],
  ['3311', '0', '5852'], ['3311', '0', '5800'], ['3311', '0', '5805'], ['rd'], ['rd', '42'], [],
  ['3311'], ['3311', '1'], ['3311', '0', '5850', 'x'], [''], ['..'], ['3311', '', '5850'],
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
  const path = rng.chance(0.9) ? rng.pick(PATHS) : ['x'.repeat(rng.length(20, 300, 1000))];
  for (const segment of path) add(11, latin1(segment));
  if (rng.chance(0.25)) add(6, uintBytes(rng.chance(0.7) ? rng.below(2) : rng.u32(), rng.chance(0.9) ? rng.below(4) : 5));
  if (rng.chance(0.3)) add(12, uintBytes(rng.pick([0, 0, 50, 50, 40, 60, 11542, rng.u32()]), rng.below(5)));
  if (rng.chance(0.1)) add(17, uintBytes(rng.pick([0, 50, 40, 9999]), rng.below(3)));
  if (rng.chance(0.15)) add(15, latin1(rng.pick(['ep=42', 'lt=300', 'lt=', 'ep', '', 'lt=-1', '='.repeat(rng.below(300))])));
  if (rng.chance(0.1)) {
    const extra = rng.chance(0.9) ? 1 + rng.below(3) : 20 + rng.below(10);
    for (let i = 0; i < extra; i++) add(rng.pick(OTHER_OPTIONS), new Uint8Array(rng.length(4, 300, 1200)));
  }
  if (rng.chance(0.05)) for (let i = 0; i < 25; i++) add(11, latin1('a'));
  // Stable sort: repeated options keep their order, as on the wire.
  return options.sort((a, b) => a.num - b.num);
}

/** Requests a lamp carries out, when they come from a trusted address: resource, format, bodies. */
const COMMANDS = [
  { path: ['3311', '0', '5850'], format: 0, bodies: ['0', '1'] },
  { path: ['3311', '0', '5851'], format: 0, bodies: ['0', '30', '100'] },
  { path: ['3311', '0'], format: 50, bodies: ['{"on":1,"level":40}', '{"on":0}', '{"level":80,"fade":2000}', '{"on":1,"fade":0}'] },
  { path: ['cfg'], format: 50, bodies: ['{"defaultLevel":70}', '{"pingWhen":1}', '{"pingWhen":0}', '{"groups":"street-1,lampnet-a"}',
    '{"lat":52.5,"lon":13.4}', '{"lat":null,"lon":null}', '{"lat":90,"lon":180,"tzMin":-840}', '{"lat":-90,"lon":-180}',
    '{"lat":78.2,"lon":15.6,"nightLevel":20,"nightFrom":1439,"nightTo":0}', '{"lat":0,"lon":0,"tzMin":840}', '{"powerOn":2}', '{"lifetimeS":60}', '{"id":"fuzz"}', '{"fadeMs":500}'] },
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
    return { options, body: '' };
  }
  for (const segment of command.path) options.push({ num: 11, value: latin1(segment) });
  if (rng.chance(0.5)) options.push({ num: 12, value: uintBytes(command.format, command.format ? 1 : 0) });
  return { options, body: rng.pick(command.bodies) };
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
    len = Math.min(rng.length(100, 2000, 60000), room);
    const c = rng.pick([91, 123, 57, 34]);
    for (let i = 0; i < len; i++) out[pos + i] = c;
  } else {
    len = Math.min(rng.length(16, 1200, 65000), room);
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
    const count = rng.length(6, 30, 40);
    for (let i = 0; i < count && pos < end - 16; i++) {
      out[pos++] = rng.chance(0.7) ? rng.u32() & 0xee : rng.u32() & 255;
      const extension = rng.below(3);
      rng.fill(out, pos, extension);
      pos += extension;
      const value = Math.min(rng.length(8, 40, 300), end - 16 - pos);
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

// ---------------------------------------------------------------------------------------------
// The codec's own consistency

const codecReader = coapReader();
const codecWriter = coapWriter();
/** Where accepted messages are written back; grown to the longest seen. */
let codecOut = new Uint8Array(2048);

export class CodecStats {
  checked = 0;
  wellFormed = 0;
  /** Rejections by the reader's reason, numbers replaced by N (e.g. "CoAP token length N is reserved (at most N)"). */
  readonly rejected = new Map<string, number>();
}

/** Runs `data[off..off+len)` through the reader and, when it is accepted, writes what was read back
 * with the writer; returns what disagrees, or null. Throws only if the codec does. */
export function checkCoapCodec(data: Uint8Array, off: number, len: number, stats: CodecStats): string | null {
  stats.checked++;
  const r = codecReader;
  if (!readCoap(r, data, off, len)) {
    if (r.error === '') return 'the reader rejects the message without a reason';
    const kind = r.error.replace(/0x[0-9a-f]+|\d+/g, 'N');
    stats.rejected.set(kind, (stats.rejected.get(kind) ?? 0) + 1);
    return null;
  }
  stats.wellFormed++;
  // The accessors the lamp uses must work on anything the reader accepted.
  uriPath(r);
  uriQuery(r, 'ep');
  optionUint(r, 12);
  payloadOf(r);
  // RFC 7252's encoding is canonical: writing back what was read gives the same bytes.
  const w = codecWriter;
  if (codecOut.length < len) codecOut = new Uint8Array(len);
  writeBegin(w, codecOut, 0, r.type, r.code, r.mid, data, r.tokenOff, r.tokenLen);
  for (let i = 0; i < r.optCount; i++) writeOption(w, r.optNum[i], data.subarray(r.optOff[i], r.optOff[i] + r.optLen[i]));
  writePayload(w, data.subarray(r.payloadOff, r.payloadOff + r.payloadLen));
  const again = writeEnd(w);
  if (again !== len) return `the message written back from what was read is ${again} bytes (${w.error || 'written'}), the message ${len}`;
  for (let i = 0; i < len; i++) {
    if (codecOut[i] !== data[off + i]) return `the message written back from what was read differs at byte ${i}`;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// The fleets under test

/** Answers a lamp's recent CoAP message can be built from: who it went to, its id and token. */
class RecentMessages {
  static readonly SIZE = 32;
  readonly lamp = new Uint8Array(RecentMessages.SIZE * 16);
  readonly peer = new Uint8Array(RecentMessages.SIZE * 16);
  readonly token = new Uint8Array(RecentMessages.SIZE * 8);
  readonly tokenLen = new Uint8Array(RecentMessages.SIZE);
  readonly peerPort = new Uint16Array(RecentMessages.SIZE);
  readonly mid = new Uint16Array(RecentMessages.SIZE);
  count = 0;
  private next = 0;

  remember(buf: Uint8Array, ip: Ipv6Packet, udp: UdpPacket, reader: CoapReader): void {
    const i = this.next;
    this.next = (i + 1) % RecentMessages.SIZE;
    if (this.count < RecentMessages.SIZE) this.count++;
    this.lamp.set(buf.subarray(ip.srcOff, ip.srcOff + 16), i * 16);
    this.peer.set(buf.subarray(ip.dstOff, ip.dstOff + 16), i * 16);
    this.peerPort[i] = udp.dstPort;
    this.mid[i] = reader.mid;
    this.tokenLen[i] = reader.tokenLen;
    this.token.set(buf.subarray(reader.tokenOff, reader.tokenOff + reader.tokenLen), i * 8);
  }
}

/** Whether the address at `buf[off]` is inside the /64 `prefix`. */
function inPrefix64(buf: Uint8Array, off: number, prefix: Uint8Array): boolean {
  for (let i = 0; i < 8; i++) if (buf[off + i] !== prefix[i]) return false;
  return true;
}

/** What a fleet sent, checked packet by packet (see the file header). */
class OutputCheck {
  echoReplies = 0;
  unreachables = 0;
  lampDatagrams = 0;
  /** Lamps' CoAP messages by code: how deep into the lamps the hostile requests got. */
  readonly coapCodes = new Float64Array(256);
  /** The first malformed packet sent, described, or null. */
  violation: string | null = null;
  /** The unicast confirmable CoAP message being injected (its message id, or -1 for none), whose
   * sender must get an ACK or RST with that id (RFC 7252 §4.2), and whether it did. */
  expectMid = -1;
  expectPort = 0;
  readonly expectPeer = new Uint8Array(16);
  acknowledged = false;
  /** Confirmable messages delivered to a live lamp and answered with an ACK or RST. */
  confirmablesAnswered = 0;
  readonly recent = new RecentMessages();
  private readonly ip = new Ipv6Packet();
  private readonly udp = new UdpPacket();
  private readonly reader = coapReader();

  constructor(private readonly prefix: Uint8Array) {}

  get total(): number {
    return this.echoReplies + this.unreachables + this.lampDatagrams;
  }

  readonly onPacket = (buf: Uint8Array, off: number, len: number): void => {
    const problem = this.problem(buf, off, len);
    if (problem !== null && this.violation === null) this.violation = `${problem}: ${hex(buf, off, len)}`;
  };

  private problem(buf: Uint8Array, off: number, len: number): string | null {
    const ip = this.ip;
    if (ip.check(buf, off, len) !== OK || ip.len !== len) return 'sent a packet whose IPv6 header does not match its length';
    if (!inPrefix64(buf, ip.srcOff, this.prefix)) return 'sent a packet from outside the prefix';
    if (isMulticast(buf, ip.dstOff) || isUnspecified(buf, ip.dstOff)) return 'sent a packet to a multicast or unspecified address';
    const upperOff = ip.payloadOff;
    const upperLen = len - IPV6_HEADER_LEN;
    const sum = sumWords(buf, upperOff, upperLen, pseudoHeaderSum(buf, ip.srcOff, buf, ip.dstOff, upperLen, ip.nextHeader));
    if (!sumVerifies(sum)) return 'sent a packet with a bad checksum';
    if (ip.nextHeader === NextHeader.icmpv6) {
      const type = buf[upperOff], code = buf[upperOff + 1];
      if (type === Icmpv6Type.echoReply && code === 0) this.echoReplies++;
      else if (type === Icmpv6Type.destinationUnreachable && (code === 3 || code === 4)) this.unreachables++;
      else return `sent ICMPv6 type ${type} code ${code}`;
      return this.answersRequest(buf, ip, upperOff, upperLen, type);
    }
    if (ip.nextHeader !== NextHeader.udp) return `sent next header ${ip.nextHeader}`;
    const udp = this.udp;
    if (udp.check(buf, upperOff, upperLen) !== OK || udp.srcPort !== COAP_PORT) return 'sent a UDP datagram with a bad length or source port';
    if (!readCoap(this.reader, buf, udp.payloadOff, udp.payloadLen)) return `a lamp sent malformed CoAP (${this.reader.error})`;
    this.lampMessage(this.reader, buf, ip.dstOff, udp.dstPort);
    this.recent.remember(buf, ip, udp, this.reader);
    return null;
  }

  /** An Echo Reply or Destination Unreachable is about the packet being injected: it goes back to
   * its source; a reply carries the request's identifier, sequence and data; an error quotes the
   * packet from its first byte, as much as fits 1280 bytes (RFC 4443 §3.1, §4.2). */
  private answersRequest(buf: Uint8Array, ip: Ipv6Packet, upperOff: number, upperLen: number, type: number): string | null {
    const request = this.request;
    if (request === null) return 'sent ICMPv6 while no packet was being handled';
    if (!addressEquals(buf, ip.dstOff, request, this.requestOff + 8)) return 'sent ICMPv6 to an address other than the source of the packet it answers';
    if (type === Icmpv6Type.echoReply) {
      const body = this.requestIcmpLen - 4;
      if (this.requestIcmpOff < 0 || upperLen !== this.requestIcmpLen) return 'sent an Echo Reply whose length differs from the request';
      for (let i = 0; i < body; i++) {
        if (buf[upperOff + 4 + i] !== request[this.requestIcmpOff + 4 + i]) return `Echo Reply differs from the request at byte ${4 + i} of the message`;
      }
      return null;
    }
    const quoted = upperLen - 8;
    if (IPV6_HEADER_LEN + upperLen > 1280 || quoted !== Math.min(this.requestLen, 1280 - 48)) return `Destination Unreachable quotes ${quoted} bytes of a ${this.requestLen}-byte packet`;
    for (let i = 0; i < quoted; i++) {
      if (buf[upperOff + 8 + i] !== request[this.requestOff + i]) return `Destination Unreachable misquotes the packet at byte ${i}`;
    }
    return null;
  }

  /** The packet being injected (its IPv6 length without trailing bytes, and where its ICMPv6
   * message is, -1 if it has none), for `answersRequest`; null between packets. */
  request: Uint8Array | null = null;
  requestOff = 0;
  requestLen = 0;
  requestIcmpOff = -1;
  requestIcmpLen = 0;

  /** A well-formed CoAP message a lamp sent to the address at `dstBuf[dstOff]`, port `dstPort`
   * (through the link's listeners, or to the gateway's endpoint). */
  lampMessage(reader: CoapReader, dstBuf: Uint8Array, dstOff: number, dstPort: number): void {
    this.lampDatagrams++;
    this.coapCodes[reader.code]++;
    if (reader.type >= ACK && reader.mid === this.expectMid && dstPort === this.expectPort &&
      addressEquals(dstBuf, dstOff, this.expectPeer, 0)) this.acknowledged = true;
  }

  /** Records the first problem of a message that reached the gateway's endpoint. */
  gatewayProblem(problem: string, data: Uint8Array): void {
    this.violation ??= `${problem}: ${hex(data, 0, data.length)}`;
  }
}

/**
 * The gateway's side of the memory link, attached as the real gateway attaches (`link.endpoint`):
 * it takes what the lamps send it (registrations, updates, answers to its requests), checks that
 * each is well-formed CoAP from inside the prefix, and answers most registrations and updates with
 * 2.01/2.04, sometimes 4.04 (the lamp registers again) or RST. It answers from inside the link's
 * delivery, so its packets take the link's backlog: the host never runs inside itself.
 */
class GatewayStandIn {
  /** Packets the stand-in injected (each one more packet the host receives). */
  answers = 0;
  private readonly reader = coapReader();
  private readonly writer = coapWriter();
  private readonly out = new Uint8Array(64);
  private readonly from = new Uint8Array(16);

  constructor(
    private readonly endpoint: DatagramEndpoint,
    private readonly address: Uint8Array,
    private readonly prefix: Uint8Array,
    private readonly output: OutputCheck,
    private readonly rng: Prng,
  ) {
    endpoint.onMessage(this.onMessage);
  }

  private readonly onMessage = (from: string, port: number, data: Uint8Array): void => {
    const r = this.reader;
    if (!readCoap(r, data, 0, data.length)) return this.output.gatewayProblem(`a lamp sent the gateway malformed CoAP (${r.error})`, data);
    if (!writeIpv6(from, this.from, 0) || !inPrefix64(this.from, 0, this.prefix)) {
      return this.output.gatewayProblem(`a lamp at ${from} outside the prefix sent the gateway a message`, data);
    }
    this.output.lampMessage(r, this.address, 0, COAP_PORT);
    if (r.type !== CON || r.code !== POST || !this.rng.chance(0.9)) return;
    const choice = this.rng.below(10);
    const type = choice < 9 ? ACK : RST;
    const code = type === RST ? EMPTY : choice < 7 ? (r.optCount > 0 && uriPathEquals(r, 'rd') ? CREATED : CHANGED) : NOT_FOUND;
    writeBegin(this.writer, this.out, 0, type, code, r.mid, data, r.tokenOff, type === RST ? 0 : r.tokenLen);
    const len = writeEnd(this.writer);
    this.answers++;
    this.endpoint.send(from, port, this.out.subarray(0, len));
  };
}

/** One fleet behind its own host and link, as startSim wires them, on the run's virtual clock. */
export interface FuzzTarget {
  name: string;
  fleet: Fleet;
  host: Ipv6Host;
  link: MemoryLink;
  prefix: Uint8Array;
  gateway: Uint8Array;
  /** Addresses of the multicast groups lamps joined, and of some no lamp joined. */
  groups: Uint8Array[];
  output: OutputCheck;
  /** The gateway's endpoint (dense fleets; sparse lamps never register). */
  gatewayStandIn: GatewayStandIn | null;
  injected: number;
}

export async function createTarget(name: string, lamps: number | 'all', clock: ManualClock, seed: number): Promise<FuzzTarget> {
  const prefix = parseFleetPrefix(DEFAULT_PREFIX);
  const gateway = new Uint8Array(16);
  gateway.set(prefix.subarray(0, 8));
  gateway.set(GATEWAY_IID, 8);
  const fleet = new Fleet({
    lamps, prefix, gateway, clock, seed,
    streetSize: STREET_SIZE,
    bootJitterMs: 1000,
    pingWhen: lamps === 'all' ? 'lit' : 'powered',
  });
  const link = new MemoryLink();
  // The host's ICMPv6 rate limit runs on the virtual clock, so runs are reproducible.
  const host = new Ipv6Host({ prefix, link, directory: fleet, now: () => clock.now() });
  fleet.attach(host);
  host.start();
  await fleet.boot();
  const output = new OutputCheck(prefix);
  link.onTransmit(output.onPacket);
  const gatewayStandIn = fleet.sparse ? null
    : new GatewayStandIn(link.endpoint(formatIpv6(gateway), COAP_PORT), gateway, prefix, output, new Prng(seed ^ 0x5eed));
  const streets = lamps === 'all' ? 1 : Math.ceil(lamps / STREET_SIZE) + 1;
  const groups: Uint8Array[] = [];
  for (let k = 1; k <= streets; k++) groups.push(parseIpv6(groupAddress(`street-${k}`))!);
  for (const text of ['ff02::1', 'ff02::2', 'ff05::fb', 'ff15::1:0:0', groupAddress('lampnet-a')]) groups.push(parseIpv6(text)!);
  return { name, fleet, host, link, prefix, gateway, groups, output, gatewayStandIn, injected: 0 };
}

/**
 * The number of packets the host has given a disposition, from its counters. Every packet it
 * received ends in exactly one of: a drop (by reason), an Echo Reply, an ignored ping, a UDP
 * delivery to a lamp, an ICMPv6 error sent or rate-limited, a reply refused by the link; or a
 * multicast fan-out, whose per-member echo replies, ignored pings and deliveries are counted above
 * too, hence the correction.
 */
export function dispositions(c: HostCounters): number {
  let drops = 0;
  for (let reason = 1; reason < DROP_REASON_SLOTS; reason++) drops += c.drops[reason];
  return drops + c.echoReplies + c.pingsIgnored + c.udpDelivered + c.icmpErrorsSent + c.icmpErrorsRateLimited +
    c.txRefused - c.multicastCopies + c.multicastPackets;
}

/** Packets the gateway stand-in of `target` has injected so far. */
function gatewayAnswers(target: FuzzTarget): number {
  return target.gatewayStandIn?.answers ?? 0;
}

/** Packets the host sent (its counters' view of what `OutputCheck` saw). */
function sentByCounters(c: HostCounters): number {
  return c.echoReplies + c.icmpErrorsSent + c.udpSent;
}

// ---------------------------------------------------------------------------------------------
// Hostile IPv6 packets

const UPPER_ECHO = 0;
const UPPER_ICMP_OTHER = 1;
const UPPER_COAP = 2;
const UPPER_UDP_OTHER_PORT = 3;
const UPPER_UNKNOWN = 4;

const ICMP_OTHER_TYPES = [1, 2, 3, 4, 100, 127, 129, 130, 131, 132, 133, 134, 135, 136, 137, 143, 200, 255];
const UNKNOWN_PROTOCOLS = [6, 50, 51, 135, 139, 140, 253, 254, 255, 41, 4];
const UDP_PORTS = [7, 53, 5684, 1, 65535, 0];
const HOP_BY_HOP_OPTION_TYPES = [0x05, 0x1e, 0x3f, 0x40, 0x7f, 0x80, 0xbf, 0xc2, 0xff, 0x26, 0x6d];

/** Makes the packets (see the file header) in one reusable buffer. */
export class PacketGenerator {
  readonly buf = new Uint8Array(MAX_PACKET + 256);
  /** Where the CoAP message of the last packet was written and how long it was (0: none); damage
   * to the packet may have changed those bytes since, which the codec check takes as they are. */
  coapOff = 0;
  coapLen = 0;
  private readonly corpus: Uint8Array[] = [];
  private corpusNext = 0;
  private readonly walk = new ExtensionHeaderWalk();
  private readonly ip = new Ipv6Packet();
  readonly udp = new UdpPacket();
  private readonly peerPool: Uint8Array;
  private readonly sparseIids: Uint8Array;

  constructor(private readonly rng: Prng) {
    // Outsiders: a few thousand addresses, so the fleet's peer table (4096) sometimes starts anew.
    this.peerPool = new Uint8Array(6000 * 16);
    for (let i = 0; i < 6000; i++) {
      this.peerPool.set(parseIpv6('2001:db8:1::')!, i * 16);
      this.peerPool[i * 16 + 14] = i >> 8;
      this.peerPool[i * 16 + 15] = i & 255;
    }
    this.sparseIids = new Uint8Array(5000 * 8);
    rng.fill(this.sparseIids, 0, this.sparseIids.length);
  }

  /** Writes the next packet for `target` into `buf`; returns its length. */
  next(target: FuzzTarget): number {
    const rng = this.rng;
    this.coapLen = 0;
    const r = rng.below(1000);
    let len: number;
    if (r < 30) len = this.randomBytes();
    else if (r < 50 && this.corpus.length > 0) {
      // A packet seen before, again: retransmissions and duplicates (CoAP dedup).
      const old = rng.pick(this.corpus);
      this.buf.set(old);
      len = old.length;
    } else if (r < 110 && target.output.recent.count > 0) len = this.answer(target);
    else len = this.structured(target);
    if (r >= 50) len = this.damage(len);
    if (rng.chance(1 / 16)) this.keep(len);
    return len;
  }

  private keep(len: number): void {
    if (len > 2048) return;
    const copy = this.buf.slice(0, len);
    if (this.corpus.length < 64) this.corpus.push(copy);
    else this.corpus[this.corpusNext++ % 64] = copy;
  }

  private randomBytes(): number {
    const rng = this.rng, b = this.buf;
    const len = rng.length(80, 400, 1500);
    rng.fill(b, 0, len);
    if (len > 0 && rng.chance(0.7)) b[0] = 0x60 | (b[0] & 15);
    if (len > 6 && rng.chance(0.5)) {
      const payload = Math.max(0, len - IPV6_HEADER_LEN);
      b[4] = payload >> 8;
      b[5] = payload & 255;
    }
    return len;
  }

  private source(target: FuzzTarget, out: Uint8Array, off: number): void {
    const rng = this.rng;
    const r = rng.below(100);
    if (r < 45) {
      const at = rng.below(6000) * 16;
      out.set(this.peerPool.subarray(at, at + 16), off);
    } else if (r < 70) out.set(target.gateway, off);
    else if (r < 76) this.lampAddress(target, out, off);
    else if (r < 80) out.set(parseIpv6('::ffff:192.0.2.1')!, off), (out[off + 15] = rng.u32() & 255);
    else if (r < 84) out.set(parseIpv6('fe80::1')!, off), rng.fill(out, off + 8, 8);
    else if (r < 88) out.set(rng.pick(target.groups), off);
    else if (r < 91) out.fill(0, off, off + 16);
    else if (r < 94) out.set(target.prefix.subarray(0, 8), off), out.fill(0, off + 8, off + 16);
    else rng.fill(out, off, 16);
  }

  private lampAddress(target: FuzzTarget, out: Uint8Array, off: number): void {
    const rng = this.rng;
    out.set(target.prefix.subarray(0, 8), off);
    if (target.fleet.sparse) {
      // Mostly lamps touched before; now and then a new one (each costs the fleet a lamp).
      const at = rng.below(5000) * 8;
      if (rng.chance(0.995)) out.set(this.sparseIids.subarray(at, at + 8), off + 8);
      else rng.fill(out, off + 8, 8);
      return;
    }
    const n = rng.chance(0.97) ? 1 + rng.below(target.fleet.size) : rng.pick([0, target.fleet.size + 1, 0xffff, 0x10000, rng.u32()]);
    out.fill(0, off + 8, off + 12);
    out[off + 12] = n >>> 24;
    out[off + 13] = (n >>> 16) & 255;
    out[off + 14] = (n >>> 8) & 255;
    out[off + 15] = n & 255;
  }

  private destination(target: FuzzTarget, out: Uint8Array, off: number): void {
    const rng = this.rng;
    const r = rng.below(100);
    if (r < 82) this.lampAddress(target, out, off);
    else if (r < 86) out.set(rng.pick(target.groups), off);
    else if (r < 90) out.set(target.gateway, off);
    else if (r < 93) out.set(target.prefix.subarray(0, 8), off), out.fill(0, off + 8, off + 16);
    else if (r < 97) out.set(parseIpv6('2001:db8:ffff::1')!, off);
    else rng.fill(out, off, 16);
  }

  /** A well-formed packet (an extension chain, then Echo, other ICMPv6, CoAP, other UDP or an
   * unknown protocol), checksums right. */
  private structured(target: FuzzTarget): number {
    const rng = this.rng, b = this.buf;
    b[0] = 0x60 | (rng.chance(0.1) ? rng.below(16) : 0);
    if (rng.chance(0.1)) rng.fill(b, 1, 3);
    else b.fill(0, 1, 4);
    b[7] = rng.chance(0.9) ? 64 : rng.pick([0, 1, 255]);
    this.source(target, b, 8);
    this.destination(target, b, 24);
    let nextHeaderAt = 6;
    let off = IPV6_HEADER_LEN;
    const chain = rng.chance(0.8) ? 0 : rng.chance(0.8) ? 1 + rng.below(3) : rng.below(65);
    for (let i = 0; i < chain && off < 16384; i++) {
      const type = i === 0 && rng.chance(0.4) ? NextHeader.hopByHop
        : rng.pick([NextHeader.destinationOptions, NextHeader.destinationOptions, NextHeader.routing, NextHeader.routing,
          NextHeader.fragment, NextHeader.hopByHop, NextHeader.noNextHeader]);
      b[nextHeaderAt] = type;
      nextHeaderAt = off;
      off = this.extensionHeader(type, off);
    }
    const r = rng.below(100);
    const upper = r < 35 ? UPPER_ECHO : r < 42 ? UPPER_ICMP_OTHER : r < 85 ? UPPER_COAP : r < 95 ? UPPER_UDP_OTHER_PORT : UPPER_UNKNOWN;
    const protocol = upper <= UPPER_ICMP_OTHER ? NextHeader.icmpv6 : upper === UPPER_UNKNOWN ? rng.pick(UNKNOWN_PROTOCOLS) : NextHeader.udp;
    b[nextHeaderAt] = protocol;
    const upperOff = off;
    const room = MAX_PACKET - off;
    if (upper === UPPER_ECHO || upper === UPPER_ICMP_OTHER) {
      b[off] = upper === UPPER_ECHO ? Icmpv6Type.echoRequest : rng.pick(ICMP_OTHER_TYPES);
      b[off + 1] = rng.chance(0.95) ? 0 : rng.u32() & 255;
      rng.fill(b, off + 4, 4);
      const data = Math.min(rng.length(64, 1400, 65000), room - 8);
      rng.fill(b, off + 8, data);
      off += 8 + data;
    } else if (upper === UPPER_UNKNOWN) {
      const data = Math.min(rng.length(40, 1000, 2000), room);
      rng.fill(b, off, data);
      off += data;
    } else {
      const srcPort = rng.chance(0.8) ? rng.pick([COAP_PORT, 40000, 40001, 61616]) : rng.u32() & 0xffff;
      const dstPort = upper === UPPER_COAP ? COAP_PORT : rng.pick(UDP_PORTS);
      b[off] = srcPort >> 8;
      b[off + 1] = srcPort & 255;
      b[off + 2] = dstPort >> 8;
      b[off + 3] = dstPort & 255;
      let data: number;
      if (upper === UPPER_COAP) {
        this.coapOff = off + UDP_HEADER_LEN;
        data = writeHostileCoap(rng, b, this.coapOff, Math.max(64, room - UDP_HEADER_LEN));
        this.coapLen = data;
      } else {
        data = Math.min(rng.length(40, 1000, 4000), room - UDP_HEADER_LEN);
        rng.fill(b, off + UDP_HEADER_LEN, data);
      }
      off += UDP_HEADER_LEN + data;
    }
    this.finish(upperOff, off, protocol);
    if (protocol !== NextHeader.udp && protocol !== NextHeader.icmpv6 || !rng.chance(0.02)) return off;
    // Make the checksum come out as zero, which is sent as 0xffff (UDP must, ICMPv6 may use either
    // form): one's-complement add the checksum to a covered word (the ICMPv6 identifier or the UDP
    // source port), so the sum of everything else becomes all ones.
    const word = upperOff + (protocol === NextHeader.udp ? 0 : 4);
    const at = upperOff + (protocol === NextHeader.udp ? 6 : 2);
    let v = ((b[word] << 8) | b[word + 1]) + ((b[at] << 8) | b[at + 1]);
    v = (v & 0xffff) + (v >>> 16);
    b[word] = v >> 8;
    b[word + 1] = v & 255;
    const zero = protocol === NextHeader.udp || rng.chance(0.5) ? 0xffff : 0;
    b[at] = zero >> 8;
    b[at + 1] = zero & 255;
    return off;
  }

  /** Payload Length, UDP Length and the checksum for a packet whose upper layer is at
   * buf[upperOff..end). */
  private finish(upperOff: number, end: number, protocol: number): number {
    const b = this.buf;
    const payload = end - IPV6_HEADER_LEN;
    b[4] = payload >> 8;
    b[5] = payload & 255;
    const len = end - upperOff;
    if (protocol === NextHeader.udp) {
      b[upperOff + 4] = len >> 8;
      b[upperOff + 5] = len & 255;
    }
    this.fillChecksum(upperOff, end, protocol);
    return end;
  }

  /** Writes an extension header of `type` at `off` (its Next Header byte left for the caller);
   * returns the offset after it. */
  private extensionHeader(type: number, off: number): number {
    const rng = this.rng, b = this.buf;
    let size: number;
    if (type === NextHeader.fragment) {
      size = 8;
      b[off + 1] = 0;
      rng.fill(b, off + 2, 6);
      if (rng.chance(0.5)) { b[off + 2] = 0; b[off + 3] = rng.below(2); }
    } else if (type === NextHeader.noNextHeader) {
      size = 0;
    } else {
      const units = rng.chance(0.9) ? rng.below(3) : rng.below(256);
      size = (units + 1) * 8;
      b[off + 1] = units;
      if (type === NextHeader.routing) {
        b[off + 2] = rng.pick([0, 2, 3, 4, rng.u32() & 255]);
        b[off + 3] = rng.chance(0.7) ? 0 : 1 + rng.below(255);
        rng.fill(b, off + 4, size - 4);
      } else this.options(off + 2, off + size);
    }
    return off + size;
  }

  /** Fills b[off..end) with Hop-by-Hop / Destination options: padding, options to skip, options
   * that must not be skipped, and sometimes an option that runs past the header. */
  private options(off: number, end: number): void {
    const rng = this.rng, b = this.buf;
    while (off < end) {
      const left = end - off;
      if (left === 1 || rng.chance(0.2)) { b[off++] = 0; continue; }
      const len = rng.chance(0.95) ? Math.min(rng.below(6), left - 2) : rng.u32() & 255;
      b[off] = rng.chance(0.6) ? 1 : rng.pick(HOP_BY_HOP_OPTION_TYPES);
      b[off + 1] = len;
      const fill = Math.min(len, left - 2);
      rng.fill(b, off + 2, fill);
      off += 2 + fill;
    }
  }

  /** An answer to a message a lamp sent recently (registration, response, notification): from the
   * address it went to, with its message id or token, as ACK, RST, CON or NON, any code. */
  private answer(target: FuzzTarget): number {
    const rng = this.rng, b = this.buf, recent = target.output.recent;
    const i = rng.below(recent.count);
    b[0] = 0x60; b[1] = 0; b[2] = 0; b[3] = 0;
    b[6] = NextHeader.udp;
    b[7] = 64;
    b.set(recent.peer.subarray(i * 16, i * 16 + 16), 8);
    b.set(recent.lamp.subarray(i * 16, i * 16 + 16), 24);
    const u = IPV6_HEADER_LEN;
    const peerPort = recent.peerPort[i];
    b[u] = peerPort >> 8; b[u + 1] = peerPort & 255; b[u + 2] = COAP_PORT >> 8; b[u + 3] = COAP_PORT & 255;
    let pos = u + UDP_HEADER_LEN;
    const type = rng.pick([ACK, ACK, ACK, RST, CON, NON]);
    const piggybacked = type === ACK || type === RST;
    const tkl = piggybacked && rng.chance(0.5) ? 0 : recent.tokenLen[i];
    b[pos] = 0x40 | (type << 4) | tkl;
    b[pos + 1] = type === RST ? EMPTY : rng.pick([EMPTY, CREATED, CHANGED, CHANGED, NOT_FOUND, BAD_REQUEST, INTERNAL_SERVER_ERROR, CONTENT]);
    const mid = piggybacked ? recent.mid[i] : rng.u32() & 0xffff;
    b[pos + 2] = mid >> 8;
    b[pos + 3] = mid & 255;
    b.set(recent.token.subarray(i * 8, i * 8 + tkl), pos + 4);
    this.coapOff = pos;
    pos += 4 + tkl;
    if (b[this.coapOff + 1] !== EMPTY && rng.chance(0.3)) {
      b[pos++] = 0x82; b[pos++] = 0x72; b[pos++] = 0x64; // Location-Path "rd"
      b[pos++] = 0x02; b[pos++] = 0x34; b[pos++] = 0x32; // Location-Path "42"
    }
    this.coapLen = pos - this.coapOff;
    return this.finish(u, pos, NextHeader.udp);
  }

  /** Leaves the packet as it is, or damages it (see the file header). */
  private damage(len: number): number {
    const rng = this.rng, b = this.buf;
    const r = rng.below(100);
    if (r < 45) return len;
    if (r < 55) return rng.below(len);
    if (r < 60) {
      const extra = 1 + rng.below(64);
      rng.fill(b, len, extra);
      return len + extra;
    }
    if (r < 65) {
      // Payload Length off by a little or anything.
      const v = rng.chance(0.5) ? Math.max(0, ((b[4] << 8) | b[5]) + rng.below(17) - 8) : rng.u32() & 0xffff;
      b[4] = v >> 8;
      b[5] = v & 255;
      return len;
    }
    if (r < 72 && len > IPV6_HEADER_LEN + 8) {
      // A checksum or UDP Length byte (wherever the upper layer is, the last two bytes of its
      // first 8 are one or the other).
      const at = this.upperOffset(len);
      if (at >= 0 && at + 8 <= len) b[at + rng.pick([2, 3, 4, 5, 6, 7])] ^= 1 << rng.below(8);
      return len;
    }
    let n = len;
    const ops = 1 + rng.below(rng.chance(0.8) ? 4 : 32);
    for (let k = 0; k < ops; k++) n = this.mutate(n);
    // Mostly repair the checksum, so the damage reaches the layers behind it.
    if (rng.chance(0.75)) this.repairChecksum(n);
    return n;
  }

  private mutate(len: number): number {
    const rng = this.rng, b = this.buf;
    const op = rng.below(6);
    const at = len === 0 ? 0 : rng.below(len);
    if (op === 0 && len > 0) b[at] ^= 1 << rng.below(8);
    else if (op === 1 && len > 0) b[at] = rng.pick([0, 1, 0x7f, 0x80, 0xff, 13, 14, 15, 0x0d, 0xe0, 0xff, rng.u32() & 255]);
    else if (op === 2 && len < MAX_PACKET) {
      const count = Math.min(1 + rng.below(16), MAX_PACKET - len);
      b.copyWithin(at + count, at, len);
      rng.fill(b, at, count);
      return len + count;
    } else if (op === 3 && len > 0) {
      const count = Math.min(1 + rng.below(16), len - at);
      b.copyWithin(at, at + count, len);
      return len - count;
    } else if (op === 4 && this.corpus.length > 0) {
      const other = rng.pick(this.corpus);
      const from = rng.below(other.length + 1);
      const count = Math.min(other.length - from, MAX_PACKET - at);
      b.set(other.subarray(from, from + count), at);
      return at + count;
    } else if (op === 5 && len >= 8) {
      // A 16-bit field set to an edge value.
      const v = rng.pick([0, 1, 0xffff, 0x7fff, 0x8000, len, len - 40, len - 48]);
      b[at - (at & 1)] = (v >> 8) & 255;
      b[at - (at & 1) + 1] = v & 255;
    }
    return len;
  }

  /** The message id of the packet in buf[0..len) if it is a UDP datagram to the CoAP port carrying
   * a confirmable CoAP message (version 1, a whole header), else -1; `udp` then points at it. */
  confirmableMid(len: number): number {
    const at = this.upperOffset(len);
    if (at < 0 || this.walk.protocol !== NextHeader.udp) return -1;
    const udp = this.udp, b = this.buf;
    if (udp.check(b, at, this.ip.len - at) !== OK || udp.dstPort !== COAP_PORT || udp.payloadLen < 4) return -1;
    const p = udp.payloadOff;
    return b[p] >> 6 === 1 && ((b[p] >> 4) & 3) === CON ? (b[p + 2] << 8) | b[p + 3] : -1;
  }

  /** Length of the ICMPv6 message `icmpOffset` found last. */
  icmpLen = 0;

  /** The offset of the ICMPv6 message in buf[0..len) (its length in `icmpLen`), or -1. */
  icmpOffset(len: number): number {
    const at = this.upperOffset(len);
    if (at < 0 || this.walk.protocol !== NextHeader.icmpv6) return -1;
    this.icmpLen = this.ip.len - at;
    return at;
  }

  /** Where the upper layer of buf[0..len) starts, or -1 when the header or chain is broken. */
  private upperOffset(len: number): number {
    const ip = this.ip;
    if (ip.check(this.buf, 0, len) !== OK) return -1;
    if (this.walk.walk(this.buf, ip.payloadOff, ip.len, ip.nextHeader) !== OK) return -1;
    return this.walk.offset;
  }

  private repairChecksum(len: number): void {
    const at = this.upperOffset(len);
    if (at >= 0) this.fillChecksum(at, this.ip.len, this.walk.protocol);
  }

  /** The ICMPv6 or UDP checksum of the upper layer at buf[upperOff..end), as the lengths say. */
  private fillChecksum(upperOff: number, end: number, protocol: number): void {
    const b = this.buf;
    const len = end - upperOff;
    if (protocol === NextHeader.icmpv6 && len >= 8) {
      b[upperOff + 2] = 0;
      b[upperOff + 3] = 0;
      fillIcmpv6Checksum(b, upperOff, len, b, 8, b, 24);
    } else if (protocol === NextHeader.udp && len >= 8) {
      b[upperOff + 6] = 0;
      b[upperOff + 7] = 0;
      fillUdpChecksum(b, upperOff, len, b, 8, b, 24);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The run

export interface FuzzOptions {
  seed?: number;
  count?: number;
  /** Lamps in the dense fleet. */
  lamps?: number;
  /** Called between chunks with the packets done so far. */
  onProgress?: (done: number, count: number) => void;
}

export interface FuzzFailure {
  kind: 'exception' | 'accounting' | 'output' | 'codec' | 'timers';
  message: string;
  seed: number;
  /** Index of the packet (0-based) during or after which the problem showed. */
  index: number;
  target: string;
  /** The packet (or, for the codec, the CoAP message), in hex. */
  hex: string;
}

export interface TargetReport {
  name: string;
  /** Packets the fuzzer injected, and answers the gateway stand-in injected to lamps. */
  injected: number;
  gatewayAnswers: number;
  host: Record<string, number>;
  dispositions: number;
  fleet: Record<string, number>;
  sent: { echoReplies: number; unreachables: number; lampDatagrams: number; confirmablesAnswered: number };
  /** The lamps' CoAP messages by code ("2.05", "4.03", "0.02" for their own POSTs...). */
  lampCoapCodes: Record<string, number>;
}

export interface FuzzReport {
  seed: number;
  count: number;
  packets: number;
  seconds: number;
  /** Heap in use (MB) after the fleets booted and at the end: hostile traffic must not pile up state. */
  heapMB: { start: number; end: number };
  failure: FuzzFailure | null;
  targets: TargetReport[];
  codec: { checked: number; wellFormed: number; rejected: Record<string, number> };
}

export function hex(buf: Uint8Array, off: number, len: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + off, len).toString('hex');
}

export async function runFuzz(options: FuzzOptions = {}): Promise<FuzzReport> {
  const seed = options.seed ?? DEFAULT_SEED;
  const count = options.count ?? DEFAULT_COUNT;
  const rng = new Prng(seed);
  const clock = new ManualClock();
  const targets = [
    await createTarget('dense', options.lamps ?? DEFAULT_LAMPS, clock, seed),
    await createTarget('sparse', 'all', clock, seed),
  ];
  const generator = new PacketGenerator(rng);
  /** Where packets are injected from, at an offset. */
  const injectBuf = new Uint8Array(generator.buf.length + 64);
  const codec = new CodecStats();
  const started = performance.now();
  const heapStart = heapMB();
  let failure: FuzzFailure | null = null;
  let index = 0;
  /** Chance per packet that virtual time moves on; 0 for a whole chunk makes a burst that meets
   * the ICMPv6 error rate limit. */
  let timeStep = 0.25;
  /** Lamps of the dense fleet powered down now. */
  const dead: number[] = [];
  const fail = (kind: FuzzFailure['kind'], message: string, target: FuzzTarget, data: Uint8Array, off: number, len: number) => {
    failure = { kind, message, seed, index, target: target.name, hex: hex(data, off, len) };
  };
  /** Fires what is due; a problem is reported against packet `at` (the last one sent before). */
  const runTimers = async (at: number) => {
    for (const t of targets) {
      // Each lamp re-arms its one timer past now when it fires, so a pass fires each due lamp about
      // once; a lamp that keeps re-arming for now would spin here forever.
      const limit = 4 * (t.fleet.lamps.length + 1000);
      let fired: number;
      try {
        fired = t.fleet.scheduler.runDue(limit);
      } catch (e) {
        failure ??= { kind: 'exception', message: `a lamp's timer threw: ${(e as Error).stack ?? e}`, seed, index: at, target: t.name, hex: '' };
        return;
      }
      if (fired === limit) {
        failure ??= { kind: 'timers', message: `more than ${limit} timer firings without virtual time moving: a lamp re-arms its timer for now`, seed, index: at, target: t.name, hex: '' };
      }
    }
    // One turn of the event loop: the link sends what the timers queued.
    await new Promise<void>((resolve) => setImmediate(resolve));
  };

  for (; index < count && failure === null; index++) {
    if (index % CHUNK === 0 && index > 0) {
      await runTimers(index - 1);
      if (failure !== null) break;
      options.onProgress?.(index, count);
      if (rng.chance(0.3)) powerCycle(rng, targets[0], dead);
      timeStep = rng.pick([0, 0.01, 0.25, 0.25, 1]);
    }
    // Virtual time: mostly standing still (bursts that meet the ICMPv6 rate limit), sometimes a
    // step, rarely minutes (retransmissions give up, caches expire, registrations refresh).
    if (rng.chance(timeStep)) clock.time += rng.chance(0.999) ? rng.below(4) : rng.below(600_000);
    const target = targets[rng.chance(0.75) ? 0 : 1];
    const buf = generator.buf;
    const len = generator.next(target);
    if (generator.coapLen > 0) {
      let problem: string | null;
      try {
        problem = checkCoapCodec(buf, generator.coapOff, generator.coapLen, codec);
      } catch (e) {
        problem = `the codec threw: ${(e as Error).stack ?? e}`;
      }
      if (problem !== null) {
        fail('codec', problem, target, buf, generator.coapOff, generator.coapLen);
        break;
      }
    }
    const c = target.host.counters;
    const receivedBefore = c.received;
    const dispositionsBefore = dispositions(c);
    const sentBefore = sentByCounters(c);
    const outputsBefore = target.output.total;
    const fleetBefore = target.fleet.counters.toDeadLamp + target.fleet.counters.stalePeer;
    const deliveredBefore = c.udpDelivered, multicastBefore = c.multicastPackets;
    const answersBefore = gatewayAnswers(target);
    const output = target.output;
    output.expectMid = generator.confirmableMid(len);
    if (output.expectMid >= 0) {
      output.expectPort = generator.udp.srcPort;
      output.expectPeer.set(buf.subarray(8, 24));
      output.acknowledged = false;
    }
    // Links hand packets at any offset of their receive buffer, with other bytes around them.
    const at = rng.below(64);
    injectBuf.set(buf.subarray(0, len), at);
    output.request = injectBuf;
    output.requestOff = at;
    output.requestLen = len >= IPV6_HEADER_LEN ? Math.min(len, IPV6_HEADER_LEN + ((buf[4] << 8) | buf[5])) : len;
    output.requestIcmpOff = generator.icmpOffset(len);
    if (output.requestIcmpOff >= 0) output.requestIcmpOff += at;
    output.requestIcmpLen = generator.icmpLen;
    try {
      target.link.inject(injectBuf, at, len);
    } catch (e) {
      fail('exception', `${(e as Error).stack ?? e}`, target, buf, 0, len);
      break;
    } finally {
      output.request = null;
    }
    target.injected++;
    // The packet, and the answers the gateway stand-in injected while it was handled.
    const inputs = 1 + gatewayAnswers(target) - answersBefore;
    if (c.received - receivedBefore !== inputs || dispositions(c) - dispositionsBefore !== inputs) {
      fail('accounting', `the host counted ${c.received - receivedBefore} received and ${dispositions(c) - dispositionsBefore} dispositions for ${inputs} packets`, target, buf, 0, len);
      break;
    }
    if (target.output.violation !== null) {
      fail('output', target.output.violation, target, buf, 0, len);
      break;
    }
    const sent = sentByCounters(c) - sentBefore, seen = target.output.total - outputsBefore;
    if (sent !== seen) {
      fail('accounting', `the counters say ${sent} packets were sent for this packet, the link carried ${seen}`, target, buf, 0, len);
      break;
    }
    const deliveredToLiveLamp = c.udpDelivered - deliveredBefore === inputs && c.multicastPackets === multicastBefore &&
      target.fleet.counters.toDeadLamp + target.fleet.counters.stalePeer === fleetBefore;
    if (output.expectMid >= 0 && deliveredToLiveLamp && !output.acknowledged) {
      fail('output', `a lamp left confirmable message ${output.expectMid} unanswered (no ACK or RST with its message id)`, target, buf, 0, len);
      break;
    }
    if (output.expectMid >= 0 && deliveredToLiveLamp) output.confirmablesAnswered++;
  }
  const last = Math.max(0, index - 1);
  if (failure === null) await runTimers(last);
  if (failure === null) {
    for (const t of targets) {
      const c = t.host.counters;
      const inputs = t.injected + gatewayAnswers(t);
      const problem = c.received !== inputs ? `received ${c.received} of ${inputs} packets injected`
        : dispositions(c) !== inputs ? `${dispositions(c)} dispositions for ${inputs} packets`
          : sentByCounters(c) !== t.output.total ? `counters say ${sentByCounters(c)} packets sent, the link carried ${t.output.total}`
            : t.output.violation;
      if (problem) {
        failure = { kind: 'accounting', message: `at the end: ${problem}`, seed, index: last, target: t.name, hex: '' };
        break;
      }
    }
  }
  const seconds = (performance.now() - started) / 1000;
  for (const t of targets) await t.link.close(), t.fleet.stop();
  return {
    seed, count, packets: index, seconds, failure, heapMB: { start: heapStart, end: heapMB() },
    targets: targets.map((t) => ({
      name: `${t.name} (${t.fleet.sparse ? `sparse, ${t.fleet.counters.touched} lamps touched` : `${t.fleet.size} lamps`})`,
      injected: t.injected,
      gatewayAnswers: gatewayAnswers(t),
      host: t.host.counters.snapshot(),
      dispositions: dispositions(t.host.counters),
      fleet: { ...t.fleet.counters, peerTableResets: t.fleet.peers.resets },
      sent: {
        echoReplies: t.output.echoReplies, unreachables: t.output.unreachables, lampDatagrams: t.output.lampDatagrams,
        confirmablesAnswered: t.output.confirmablesAnswered,
      },
      lampCoapCodes: codeCounts(t.output.coapCodes),
    })),
    codec: { checked: codec.checked, wellFormed: codec.wellFormed, rejected: Object.fromEntries([...codec.rejected].sort((a, b) => b[1] - a[1])) },
  };
}

/** Heap in use, MB; collected first when node runs with --expose-gc, so it measures live state. */
function heapMB(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return Math.round(process.memoryUsage().heapUsed / 2 ** 20);
}

function codeCounts(counts: Float64Array): Record<string, number> {
  const out: Record<string, number> = {};
  for (let code = 0; code < 256; code++) if (counts[code] !== 0) out[codeString(code)] = counts[code];
  return out;
}

/** Powers a random lamp of a dense fleet down (datagrams to dead lamps, pings unanswered) or one
 * of the `dead` back up (it reboots and registers again); at most 1% of the lamps are down. */
function powerCycle(rng: Prng, target: FuzzTarget, dead: number[]): void {
  const fleet = target.fleet;
  if (dead.length > 0 && (dead.length >= fleet.size / 100 || rng.chance(0.5))) {
    fleet.revive(dead.splice(rng.below(dead.length), 1)[0]);
    return;
  }
  const n = 1 + rng.below(fleet.size);
  if (fleet.kill(n)) dead.push(n);
  if (rng.chance(0.2)) fleet.fault(n, rng.chance(0.5));
}

// ---------------------------------------------------------------------------------------------
// The command line

export function formatReport(report: FuzzReport): string {
  const lines: string[] = [];
  const row = (name: string, value: number) => lines.push(`  ${name.padEnd(64)} ${String(value).padStart(10)}`);
  lines.push(`seed ${report.seed}: ${report.packets} packets in ${report.seconds.toFixed(1)} s (${Math.round(report.packets / Math.max(report.seconds, 1e-9))}/s), heap ${report.heapMB.start} MB after boot, ${report.heapMB.end} MB at the end`);
  for (const t of report.targets) {
    lines.push('', `${t.name}: ${t.injected} packets injected, ${t.gatewayAnswers} answers from the gateway's endpoint`);
    for (const [name, value] of Object.entries(t.host)) if (value !== 0 || !name.startsWith('drop.')) row(name, value);
    lines.push(`  dispositions ${t.dispositions} = drops + echoReplies + pingsIgnored + udpDelivered + icmpErrorsSent`);
    lines.push(`    + icmpErrorsRateLimited + txRefused - multicastCopies + multicastPackets  (${t.dispositions === t.injected + t.gatewayAnswers ? 'equals' : 'DIFFERS FROM'} packets injected + answers)`);
    for (const [name, value] of Object.entries(t.fleet)) row(`fleet.${name}`, value);
    for (const [name, value] of Object.entries(t.sent)) row(`sent.${name}`, value);
    for (const [code, value] of Object.entries(t.lampCoapCodes)) row(`sent.coap.${code}`, value);
  }
  lines.push('', `CoAP codec: ${report.codec.checked} messages, ${report.codec.wellFormed} well-formed (parse, emit and re-parse agree byte for byte)`);
  for (const [reason, value] of Object.entries(report.codec.rejected)) row(reason, value);
  if (report.failure) {
    const f = report.failure;
    lines.push('', `FAILED (${f.kind}) at packet ${f.index} for the ${f.target} fleet, seed ${f.seed}: ${f.message}`);
    if (f.hex) lines.push(`${f.kind === 'codec' ? 'CoAP message' : 'packet'} (hex): ${f.hex}`);
    lines.push(`reproduce: npm run fuzz -- --seed ${f.seed} --count ${f.index + 1}`);
  } else lines.push('', 'OK: no exception, every packet accounted for, every packet sent well-formed');
  return lines.join('\n');
}

function wholeNumber(what: string) {
  return (text: string): number => {
    const v = Number(text);
    if (!Number.isSafeInteger(v) || v < 0) throw new InvalidArgumentError(`${what} must be a non-negative integer, got "${text}"`);
    return v;
  };
}

async function main(argv: string[]): Promise<number> {
  const program = new Command('fuzz')
    .description('Hostile IPv6 packets through simulated fleets (memory link) and the CoAP codec, with exact accounting')
    .option('--seed <n>', 'PRNG seed; the same seed and count replay the same run', wholeNumber('--seed'), DEFAULT_SEED)
    .option('--count <n>', 'packets to send', wholeNumber('--count'), DEFAULT_COUNT)
    .option('--lamps <n>', 'lamps in the dense fleet (a sparse fleet runs beside it)', wholeNumber('--lamps'), DEFAULT_LAMPS)
    .option('--json', 'print the report as JSON instead of a table')
    .parse(argv);
  const opts = program.opts<{ seed: number; count: number; lamps: number; json?: boolean }>();
  // A progress line rewritten in place on a terminal; a line every 10 s into a log.
  const tty = process.stderr.isTTY === true;
  let lastPrint = 0;
  const startedAt = performance.now();
  const report = await runFuzz({
    seed: opts.seed, count: opts.count, lamps: opts.lamps,
    onProgress: (done, count) => {
      const now = performance.now();
      if (now - lastPrint < (tty ? 1000 : 10_000)) return;
      lastPrint = now;
      const rate = done / ((now - startedAt) / 1000);
      const line = `${done}/${count} packets (${(100 * done / count).toFixed(1)}%), ${Math.round(rate)}/s`;
      process.stderr.write(tty ? `\r${line}   ` : `${line}\n`);
    },
  });
  if (lastPrint > 0 && tty) process.stderr.write('\n');
  process.stdout.write(`${opts.json ? JSON.stringify(report, null, 2) : formatReport(report)}\n`);
  return report.failure ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv).then((code) => { process.exitCode = code; }, (e: Error) => {
    // Only setting up can fail here; the run itself reports its failures. A bad option is an Error
    // that names it; anything else (a TypeError in a fleet's boot) needs its stack.
    console.error(`fuzz: ${e.constructor === Error ? e.message : e.stack}`);
    process.exitCode = 1;
  });
}
