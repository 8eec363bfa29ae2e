/**
 * A HAL for driving the firmware core in tests: a manual clock, the lamp's single timer fired by
 * `advance`, and records of everything the core does to the world (datagrams, light output, saved
 * configs, groups joined). A test fixture of the real hal.ts interface, nothing is mocked away: the
 * core under test is the real one.
 */
import { ACK, CON, NON } from '../../protocol/coap.js';
import { emitCoap, parseCoap, type CoapMessage, type CoapOption } from '../helpers/coap-message.js';
import { receive, wake } from '../../firmware/core.js';
import type { Addr, Hal } from '../../firmware/hal.js';
import type { LampConfig, LampState } from '../../firmware/lamp.js';
import { Prng } from '../../sim/random.js';

export const GATEWAY: Addr = 'gateway';
export const CLIENT: Addr = 'client';
export const STRANGER: Addr = 'stranger';
export const T0 = Date.UTC(2026, 2, 1, 12, 0, 0);

export interface Sent {
  at: number;
  to: Addr;
  port: number;
  msg: CoapMessage;
}

/** The simulator's PRNG as a function, so jitter is reproducible. */
export function prng(seed: number): () => number {
  const rng = new Prng(seed);
  return () => rng.float();
}

export class FakeHal implements Hal {
  t = T0;
  timer = new Map<LampState, number>();
  sent: Sent[] = [];
  lights: { at: number; level: number; fadeMs: number }[] = [];
  saved: LampConfig[] = [];
  /** The groups the lamp is a member of now. */
  joined: string[] = [];
  logs: string[] = [];
  gatewayAddr: Addr | null = GATEWAY;
  trustedAddrs: Addr[] = [GATEWAY, CLIENT];
  /** Overrides random() when set (e.g. 0 for the shortest RFC 7252 timeout). */
  fixedRandom: number | null = null;
  rng = prng(42);

  now(): number {
    return this.t;
  }
  wakeAt(lamp: LampState, atMs: number): void {
    this.timer.set(lamp, atMs);
  }
  light(lamp: LampState, level: number, fadeMs: number): void {
    this.lights.push({ at: this.t, level, fadeMs });
  }
  send(lamp: LampState, to: Addr, port: number, data: Uint8Array, len: number): void {
    const msg = parseCoap(data.slice(0, len));
    if (!msg) throw new Error(`lamp sent malformed CoAP to ${to}`);
    this.sent.push({ at: this.t, to, port, msg });
  }
  setGroups(lamp: LampState, joined: string[], left: string[]): void {
    this.joined = this.joined.filter((group) => !left.includes(group));
    for (const group of joined) if (!this.joined.includes(group)) this.joined.push(group);
  }
  saveConfig(lamp: LampState, config: LampConfig): void {
    this.saved.push({ ...config });
  }
  gateway(): Addr | null {
    return this.gatewayAddr;
  }
  trusted(lamp: LampState, from: Addr): boolean {
    return this.trustedAddrs.includes(from);
  }
  random(): number {
    return this.fixedRandom ?? this.rng();
  }
  log(lamp: LampState, message: string): void {
    this.logs.push(message);
  }
  /** Reboots asked for (Execute /3/0/4); the test boots the lamp again when it wants to. */
  reboots: number[] = [];
  reboot(): void {
    this.reboots.push(this.t);
  }
  memoryFreeKb = 123;
  memoryFree(): number {
    return this.memoryFreeKb;
  }

  /** Runs the clock forward by `ms`, firing the lamp's timer at each deadline on the way. */
  advance(lamp: LampState, ms: number): void {
    this.advanceTo(lamp, this.t + ms);
  }

  advanceTo(lamp: LampState, end: number): void {
    for (let guard = 0; guard < 1_000_000; guard++) {
      const due = this.timer.get(lamp) ?? Infinity;
      if (due > end) break;
      this.t = Math.max(this.t, due);
      this.timer.set(lamp, Infinity);
      wake(this, lamp);
    }
    this.t = end;
  }

  /** Messages sent since index `from` (default: all). */
  sentSince(from = 0): Sent[] {
    return this.sent.slice(from);
  }
}

export interface Request {
  type?: number;
  code: number;
  mid?: number;
  token?: number[];
  path?: string;
  query?: string[];
  options?: CoapOption[];
  /** Text (sent as UTF-8) or bytes. */
  payload?: string | Uint8Array;
  from?: Addr;
  port?: number;
  multicast?: boolean;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function text(bytes: Uint8Array): string {
  return dec.decode(bytes);
}

export function optionValues(msg: CoapMessage, num: number): string[] {
  return msg.options.filter((o) => o.num === num).map((o) => text(o.value));
}

export function optionUint(msg: CoapMessage, num: number): number | undefined {
  const o = msg.options.find((x) => x.num === num);
  return o ? o.value.reduce((v, b) => v * 256 + b, 0) : undefined;
}

export function uintBytes(v: number): Uint8Array {
  const out: number[] = [];
  for (; v > 0; v = Math.floor(v / 256)) out.unshift(v & 255);
  return Uint8Array.from(out);
}

let nextMid = 1000;

/** Builds a request message. */
export function requestMessage(req: Request): CoapMessage {
  const options: CoapOption[] = [...(req.options ?? [])];
  if (req.path) for (const seg of req.path.split('/')) options.push({ num: 11, value: enc.encode(seg) });
  for (const q of req.query ?? []) options.push({ num: 15, value: enc.encode(q) });
  return {
    type: req.type ?? CON,
    code: req.code,
    mid: req.mid ?? nextMid++,
    token: Uint8Array.from(req.token ?? [0xab, 0xcd]),
    options,
    payload: typeof req.payload === 'string' || req.payload === undefined ? enc.encode(req.payload ?? '') : req.payload,
  };
}

/** Delivers a request to the lamp and returns what the lamp sent in reply (and the drop reason). */
export function deliver(hal: FakeHal, lamp: LampState, req: Request): { replies: Sent[]; dropped: string | null } {
  const bytes = emitCoap(requestMessage(req));
  const before = hal.sent.length;
  const dropped = receive(hal, lamp, req.from ?? CLIENT, req.port ?? 40000, bytes, bytes.length, req.multicast);
  return { replies: hal.sentSince(before), dropped };
}

/** Delivers a request and returns the single reply the lamp sent to the requester. */
export function ask(hal: FakeHal, lamp: LampState, req: Request): CoapMessage {
  const { replies } = deliver(hal, lamp, req);
  const mine = replies.filter((s) => s.to === (req.from ?? CLIENT));
  if (mine.length !== 1) throw new Error(`expected one reply, got ${mine.length}`);
  return mine[0].msg;
}

/** Delivers raw bytes to the lamp. */
export function deliverBytes(hal: FakeHal, lamp: LampState, bytes: Uint8Array, from: Addr = CLIENT, port = 40000): string | null {
  return receive(hal, lamp, from, port, bytes, bytes.length);
}

/** The gateway's answer to the lamp's message `to`: a piggybacked ACK with `code`. */
export function gatewayAnswer(hal: FakeHal, lamp: LampState, to: CoapMessage, code: number, options: CoapOption[] = []): string | null {
  const bytes = emitCoap({ type: ACK, code, mid: to.mid, token: to.token, options, payload: new Uint8Array(0) });
  return receive(hal, lamp, GATEWAY, 5683, bytes, bytes.length);
}

export { ACK, CON, NON };
