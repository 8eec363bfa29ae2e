/**
 * The simulator's HAL: one object for the whole fleet that takes the lamp as its argument (DESIGN.md:
 * never an object, closure, socket or Node timer per lamp). Time is the fleet's clock, the lamp's
 * one timer is a slot of the fleet's scheduler, the light is the lamp's record, addresses are
 * interned peers and datagrams go out through the userspace IPv6 host.
 */
import { getHeapStatistics } from 'node:v8';
import type { Addr, Hal } from '../../firmware/hal.js';
import { endpointName, type LampState } from '../../firmware/lamp.js';
import type { SecurityContext } from '../../protocol/oscore/context.js';
import { usePrimitives } from '../../protocol/oscore/crypto.js';
import { lampContext, lampSecret } from '../../protocol/oscore/fleet.js';
import { nodePrimitives } from '../../protocol/oscore/node-primitives.js';
import { KeyedStreams, type Prng } from '../random.js';
import type { FleetClock, FleetScheduler } from '../scheduler.js';
import type { FleetCounters } from './fleet.js';
import type { GroupTable } from './groups.js';
import type { PeerTable } from './peers.js';

/** Datagram impairment on the lamps' UDP, both directions: a loss fraction and a one-way latency. */
export class ImpairedPath {
  /** One loss stream per lamp and direction (2n: to lamp n, 2n + 1: from it). */
  private readonly losses: KeyedStreams;

  constructor(
    private readonly counters: { impairedLoss: number },
    private readonly clock: FleetClock,
    seed: number,
    readonly lossRate: number,
    readonly latencyMs: number,
  ) {
    this.losses = new KeyedStreams(seed);
  }

  /** Whether the next datagram to (`fromLamp` 0) or from (1) lamp `n` is lost (and counted). */
  loses(n: number, fromLamp: 0 | 1): boolean {
    if (this.lossRate === 0 || this.losses.float(2 * n + fromLamp) >= this.lossRate) return false;
    this.counters.impairedLoss++;
    return true;
  }

  /** Run `fn` after the one-way latency (simulated ms, scaled to real time). */
  later(fn: () => void): void {
    const delay = this.clock.realDelay(this.clock.now() + this.latencyMs);
    setTimeout(fn, Number.isFinite(delay) ? Math.max(0, delay) : 0);
  }
}

/** What the HAL needs of its fleet. */
export interface FleetHalParts {
  /** OSCORE's fleet secret, or null for `--security none`. */
  fleetSecret: Uint8Array | null;
  clock: FleetClock;
  scheduler: FleetScheduler;
  peers: PeerTable;
  groups: GroupTable;
  rng: Prng;
  path: ImpairedPath;
  counters: FleetCounters;
  /** The gateway as an interned peer, or null when lamps run standalone. */
  gatewayPeer(): number | null;
  /** Boots lamp n again (LwM2M Execute /3/0/4), after the current entry point has returned. */
  reboot(n: number): void;
  /** Sends lamp n's datagram from port 5683 to `port` at the address `addrs[at..at+16)`. */
  transmit(n: number, addrs: Uint8Array, at: number, port: number, data: Uint8Array, len: number): void;
}

export class FleetHal implements Hal {
  /** Lamps' OSCORE contexts, derived on a lamp's first use of one and kept for the fleet's life (a
   * simulated lamp's persisted numbers survive its reboots with its record). About 1 kB each: a
   * fleet of a million protected lamps does not fit yet (columns of numbers, keys derived on
   * demand, would). */
  private readonly contexts = new Map<number, SecurityContext>();

  constructor(private readonly parts: FleetHalParts) {
    if (parts.fleetSecret) usePrimitives(nodePrimitives);
  }

  security(lamp: LampState): SecurityContext | null {
    const secret = this.parts.fleetSecret;
    if (secret === null) return null;
    let ctx = this.contexts.get(lamp.n);
    if (ctx === undefined) {
      const id = endpointName(lamp);
      ctx = lampContext(lampSecret(secret, id), id, 0, 0);
      this.contexts.set(lamp.n, ctx);
    }
    return ctx;
  }

  /** The context lives in memory for the fleet's life: nothing to persist. */
  saveSecurity(): void {}

  now(): number {
    return this.parts.clock.now();
  }

  wakeAt(lamp: LampState, atMs: number): void {
    this.parts.scheduler.set(lamp.n, atMs);
  }

  /** The light's level is the lamp's record itself; there is no output to drive. */
  light(): void {}

  send(lamp: LampState, to: Addr, port: number, data: Uint8Array, len: number): void {
    const path = this.parts.path;
    if (path.loses(lamp.n, 1)) return;
    if (path.latencyMs) {
      // The core reuses its buffer after this returns.
      const copy = data.slice(0, len);
      path.later(() => this.transmit(lamp, to, port, copy, len));
      return;
    }
    this.transmit(lamp, to, port, data, len);
  }

  setGroups(lamp: LampState, joined: string[], left: string[]): void {
    for (const name of left) this.parts.groups.leave(name, lamp.n);
    for (const name of joined) this.parts.groups.join(name, lamp.n);
  }

  /** A simulated lamp's config lives in its record, which survives its reboots. */
  saveConfig(): void {}

  gateway(): Addr | null {
    return this.parts.gatewayPeer();
  }

  trusted(_lamp: LampState, from: Addr): boolean {
    return this.parts.peers.isTrustedPeer(from as number);
  }

  random(): number {
    return this.parts.rng.float();
  }

  reboot(lamp: LampState): void {
    this.parts.reboot(lamp.n);
  }

  /** The process's heap left to grow into (V8's total_available_size): shared by the whole fleet,
   * which is what a simulated lamp runs on. */
  memoryFree(): number {
    return getHeapStatistics().total_available_size / 1000;
  }

  log(): void {}

  private transmit(lamp: LampState, to: Addr, port: number, data: Uint8Array, len: number): void {
    const peers = this.parts.peers;
    const at = peers.resolve(to as number);
    if (at < 0) {
      this.parts.counters.stalePeer++;
      return;
    }
    this.parts.transmit(lamp.n, peers.addrs, at, port, data, len);
  }
}
