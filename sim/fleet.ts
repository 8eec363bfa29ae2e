/**
 * The simulated fleet: N lamps, each running the real firmware core, behind one HAL and one
 * scheduler, answering for the /64 through the userspace IPv6 host (sim/net/host.ts).
 *
 * Memory is what decides the shape (DESIGN.md: ≤ 400 B per lamp at 1,000,000 lamps):
 * - a lamp is the core's flat record; lamps of one street share one config object (the core copies
 *   it on first write), and the endpoint name is derived from the lamp number, not stored;
 * - one HAL object serves every lamp (it takes the lamp), one WakeHeap holds every lamp's single
 *   timer (16 B per lamp), there is no closure, socket or Node timer per lamp;
 * - addresses are bytes: peers are interned once into small numbers (the core's opaque `Addr`), so
 *   a datagram costs no string.
 *
 * Dense fleets (`lamps: N`) map lamp n ↔ interface identifier n arithmetically. The sparse fleet
 * (`lamps: 'all'`) makes every interface identifier of the /64 a lamp: its state is created on its
 * first packet (an open-addressing table maps identifier → index) and it never registers with the
 * gateway, since 2^64 lamps cannot; memory grows with lamps touched, up to `maxTouched` (a sender
 * walking the /64 would otherwise grow it without bound).
 */
import { answersPing, boot, halt, readState, receive, setFault, wake } from '../firmware/core.js';
import type { Addr, Hal } from '../firmware/hal.js';
import { createLamp, defaultConfig, type LampConfig, type LampSnapshot, type LampState } from '../firmware/lamp.js';
import { COAP_PORT, groupAddress } from '../firmware/protocol.js';
import type { LampDirectory, Ipv6Host } from './net/host.js';
import { parseIpv6 } from './net/wire/address.js';
import { FleetScheduler, type FleetClock } from './scheduler.js';

export const MAX_DENSE_LAMPS = 1_000_000;
/** Default bound on the sparse fleet's lamps (about 300 B each: ~600 MB of heap at the bound). */
export const DEFAULT_MAX_TOUCHED = 2_000_000;

export interface FleetOptions {
  /** Number of lamps (1 … 1,000,000), or 'all' for the sparse fleet over the whole /64. */
  lamps: number | 'all';
  /** The fleet's /64 as 16 bytes (only the first 8 matter). */
  prefix: Uint8Array;
  /** The gateway's address (16 bytes), or null for lamps that run standalone. */
  gateway: Uint8Array | null;
  clock: FleetClock;
  /** 'lit': a lamp answers ping only while its light is on. */
  pingWhen?: 'powered' | 'lit';
  /** Fraction (0–1) of lamps that boot with a driver fault. */
  failRate?: number;
  /** Lamps per default group `street-<k>` (0 = no groups). */
  streetSize?: number;
  /** Registration spread: lamp boot registrations are jittered over this many ms. */
  bootJitterMs?: number;
  /** Registration lifetime (s). */
  lifetimeS?: number;
  /** Prefixes (16-byte address + length) besides the gateway whose packets may change lamp state. */
  trusted?: Array<{ addr: Uint8Array; bits: number }>;
  /** Datagram impairment on the lamps' UDP: loss fraction and added one-way latency (ms). */
  lossRate?: number;
  latencyMs?: number;
  /** Sparse fleet only: most lamps created on demand; packets to further new addresses are answered
   * as if no lamp were there (address unreachable) and counted in `sparseFull`. */
  maxTouched?: number;
  /** Seed of the fleet's PRNG (jitter, faults, loss), for reproducible runs. */
  seed?: number;
  /** Fleet-wide config overrides (lat/lon, night profile, ...). */
  config?: Partial<LampConfig>;
}

const MULBERRY_STEP = 0x6d2b79f5;

/** mulberry32's output in [0, 1) for its (already advanced) state `a`. */
function mulberryOutput(a: number): number {
  let t = a;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** A small fast PRNG (mulberry32): deterministic per seed, no allocation. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + MULBERRY_STEP) >>> 0;
    return mulberryOutput(a);
  };
}

function read32(b: Uint8Array, off: number): number {
  return ((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0;
}

function write32(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 24;
  b[off + 1] = (v >>> 16) & 255;
  b[off + 2] = (v >>> 8) & 255;
  b[off + 3] = v & 255;
}

/** Does `addr` fall inside `prefix`/`bits`? */
export function inPrefix(addr: Uint8Array, off: number, prefix: Uint8Array, bits: number): boolean {
  let i = 0;
  for (; bits >= 8; bits -= 8, i++) if (addr[off + i] !== prefix[i]) return false;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return (addr[off + i] & mask) === (prefix[i] & mask);
}

/**
 * Interns peer addresses (16 bytes) into small numbers: the core's opaque `Addr` in the simulator.
 * Bounded: when the table is full it starts a new epoch; numbers from an old epoch no longer resolve
 * (a lamp's reply to such a peer is dropped and counted), which only a flood of distinct sources
 * can cause.
 */
export class PeerTable {
  static readonly CAPACITY = 4096;
  readonly addrs = new Uint8Array(PeerTable.CAPACITY * 16);
  readonly trusted = new Uint8Array(PeerTable.CAPACITY);
  private readonly slots = new Int32Array(PeerTable.CAPACITY * 2).fill(-1);
  private count = 0;
  private epoch = 0;
  resets = 0;

  constructor(private readonly isTrusted: (addr: Uint8Array, off: number) => boolean) {}

  intern(buf: Uint8Array, off: number): number {
    const mask = this.slots.length - 1;
    let h = (read32(buf, off) ^ Math.imul(read32(buf, off + 4), 0x9e3779b1) ^ Math.imul(read32(buf, off + 8), 0x85ebca6b) ^ Math.imul(read32(buf, off + 12), 0xc2b2ae35)) >>> 0;
    for (;;) {
      h &= mask;
      const e = this.slots[h];
      if (e < 0) break;
      if (this.equals(e, buf, off)) return this.epoch * PeerTable.CAPACITY + e;
      h++;
    }
    if (this.count === PeerTable.CAPACITY) {
      this.slots.fill(-1);
      this.count = 0;
      this.epoch++;
      this.resets++;
      return this.intern(buf, off);
    }
    const e = this.count++;
    this.addrs.set(buf.subarray(off, off + 16), e * 16);
    this.trusted[e] = this.isTrusted(buf, off) ? 1 : 0;
    this.slots[h] = e;
    return this.epoch * PeerTable.CAPACITY + e;
  }

  /** Byte offset of `peer`'s address in `addrs`, or -1 for a peer of an older epoch. */
  resolve(peer: number): number {
    const e = peer - this.epoch * PeerTable.CAPACITY;
    return e >= 0 && e < this.count ? e * 16 : -1;
  }

  private equals(e: number, buf: Uint8Array, off: number): boolean {
    const a = this.addrs;
    const base = e * 16;
    for (let i = 0; i < 16; i++) if (a[base + i] !== buf[off + i]) return false;
    return true;
  }
}

/** Multicast groups the lamps joined: group address → member lamp indices. */
class GroupTable {
  /** Keyed by the low 32 bits of the group address (a hash of the name, see groupAddress). */
  private readonly byLow = new Map<number, Array<{ addr: Uint8Array; members: number[] }>>();
  private readonly byName = new Map<string, { addr: Uint8Array; members: number[] }>();

  join(name: string, index: number): void {
    let group = this.byName.get(name);
    if (!group) {
      const addr = parseIpv6(groupAddress(name))!;
      group = { addr, members: [] };
      this.byName.set(name, group);
      const low = read32(addr, 12);
      const list = this.byLow.get(low);
      if (list) list.push(group);
      else this.byLow.set(low, [group]);
    }
    if (!group.members.includes(index)) group.members.push(index);
  }

  leave(name: string, index: number): void {
    const members = this.byName.get(name)?.members;
    const at = members ? members.indexOf(index) : -1;
    if (at >= 0) members!.splice(at, 1);
  }

  leaveAll(index: number): void {
    for (const group of this.byName.values()) {
      const at = group.members.indexOf(index);
      if (at >= 0) group.members.splice(at, 1);
    }
  }

  forEachMember(buf: Uint8Array, off: number, fn: (index: number) => void): void {
    const list = this.byLow.get(read32(buf, off + 12));
    if (!list) return;
    for (const group of list) {
      let same = true;
      for (let i = 0; i < 16 && same; i++) same = group.addr[i] === buf[off + i];
      if (same) for (let i = 0; i < group.members.length; i++) fn(group.members[i]);
    }
  }

  members(name: string): readonly number[] {
    return this.byName.get(name)?.members ?? [];
  }

  get size(): number {
    return this.byName.size;
  }
}

/** Interface identifier → lamp index for the sparse fleet: open addressing over typed arrays. */
class IidTable {
  private keysHi = new Uint32Array(1 << 16);
  private keysLo = new Uint32Array(1 << 16);
  private values = new Int32Array(1 << 16).fill(-1);
  size = 0;

  get(hi: number, lo: number): number {
    const mask = this.values.length - 1;
    for (let h = this.hash(hi, lo) & mask; ; h = (h + 1) & mask) {
      const v = this.values[h];
      if (v < 0 || (this.keysHi[h] === hi && this.keysLo[h] === lo)) return v;
    }
  }

  set(hi: number, lo: number, value: number): void {
    if ((this.size + 1) * 2 > this.values.length) this.grow();
    const mask = this.values.length - 1;
    let h = this.hash(hi, lo) & mask;
    while (this.values[h] >= 0) h = (h + 1) & mask;
    this.keysHi[h] = hi;
    this.keysLo[h] = lo;
    this.values[h] = value;
    this.size++;
  }

  private hash(hi: number, lo: number): number {
    return (Math.imul(hi ^ (lo >>> 16), 0x45d9f3b) ^ Math.imul(lo, 0x9e3779b1)) >>> 0;
  }

  private grow(): void {
    const { keysHi, keysLo, values } = this;
    this.keysHi = new Uint32Array(values.length * 2);
    this.keysLo = new Uint32Array(values.length * 2);
    this.values = new Int32Array(values.length * 2).fill(-1);
    this.size = 0;
    for (let i = 0; i < values.length; i++) if (values[i] >= 0) this.set(keysHi[i], keysLo[i], values[i]);
  }
}

/** What the fleet itself did, beside the host's packet counters. */
export class FleetCounters {
  booted = 0;
  /** Datagrams for a lamp that is powered down. */
  toDeadLamp = 0;
  /** Lamp replies to a peer whose interned number expired (see PeerTable). */
  stalePeer = 0;
  /** Datagrams dropped by the configured loss rate. */
  impairedLoss = 0;
  /** Sparse lamps created on their first packet. */
  touched = 0;
  /** Packets to a new address of the sparse fleet refused because `maxTouched` lamps exist. */
  sparseFull = 0;
}

export class Fleet implements LampDirectory {
  readonly counters = new FleetCounters();
  readonly scheduler: FleetScheduler;
  readonly sparse: boolean;
  readonly size: number;
  /** Lamp by index; dense fleets use index = lamp number (1-based), so slot 0 is empty. */
  readonly lamps: LampState[] = [];
  readonly peers: PeerTable;
  readonly groups = new GroupTable();
  readonly hal: Hal;
  private host: Ipv6Host | null = null;
  private readonly random: () => number;
  /** The mulberry32 state of one loss stream per lamp and direction (2n: to lamp n, 2n + 1: from
   * it), so a lamp's losses follow from the seed and its own traffic alone, not from how that
   * interleaves with other lamps' traffic or with the jitter and faults drawn from `random`. */
  private readonly lossStreams: number[] = [];
  private readonly gatewayBytes: Uint8Array | null;
  private readonly pingWhen: number;
  private readonly sparseIds = new IidTable();
  private readonly sparseHi: number[] = [0];
  private readonly sparseLo: number[] = [0];
  /** The core's ping policy (`answersPing`) per lamp index, 1 or 0, refreshed after every core
   * entry for that lamp (`settle`): a lamp's state changes only inside those. An Echo Request reads
   * this byte instead of the lamp's record: at 1,000,000 lamps that record is two or three cache
   * misses away, which cost 10–15% of echo throughput through TUN (bench/ANALYSIS.md). */
  private pingable: Uint8Array;
  private readonly streetConfigs: LampConfig[] = [];
  private readonly baseConfig: LampConfig;
  /** True while the host hands a multicast datagram to each member (the core must not answer it). */
  private inMulticast = false;

  constructor(private readonly options: FleetOptions) {
    this.sparse = options.lamps === 'all';
    if (!this.sparse) {
      const n = options.lamps as number;
      if (!Number.isInteger(n) || n < 1 || n > MAX_DENSE_LAMPS) {
        throw new Error(`--lamps must be an integer from 1 to ${MAX_DENSE_LAMPS} or "all", got ${String(options.lamps)}`);
      }
    }
    this.size = this.sparse ? 0 : (options.lamps as number);
    this.pingable = new Uint8Array(this.sparse ? 1024 : this.size + 1);
    this.random = mulberry32(options.seed ?? 1);
    this.pingWhen = options.pingWhen === 'lit' ? 1 : 0;
    this.gatewayBytes = options.gateway;
    const trusted = options.trusted ?? [];
    this.peers = new PeerTable((addr, off) =>
      (this.gatewayBytes !== null && inPrefix(addr, off, this.gatewayBytes, 128)) ||
      trusted.some((p) => inPrefix(addr, off, p.addr, p.bits)));
    this.scheduler = new FleetScheduler(options.clock, (index) => {
      const lamp = this.lamps[index];
      if (!lamp) return;
      wake(this.hal, lamp);
      this.settle(lamp);
    });
    this.baseConfig = {
      ...defaultConfig(''),
      lifetimeS: options.lifetimeS ?? 300,
      bootJitterMs: options.bootJitterMs ?? 0,
      pingWhen: this.pingWhen,
      ...options.config,
    };
    this.hal = this.createHal();
  }

  /** Connect the fleet to the IPv6 host it answers through (the host consults the fleet back). */
  attach(host: Ipv6Host): void {
    this.host = host;
  }

  /** Create and boot every lamp of a dense fleet, yielding to I/O between slices. */
  async boot(onProgress?: (booted: number, total: number) => void): Promise<void> {
    const slice = 25_000;
    for (let n = 1; n <= this.size; n++) {
      this.bootLamp(n);
      if (n % slice === 0) {
        onProgress?.(n, this.size);
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    onProgress?.(this.size, this.size);
  }

  /** The lamp with number n (dense) or index n (sparse), if it exists. */
  lamp(n: number): LampState | undefined {
    return this.lamps[n];
  }

  /** Power a lamp down: it stops answering anything and its timer stops. */
  kill(n: number): boolean {
    const lamp = this.lamps[n];
    if (!lamp || !lamp.up) return false;
    halt(this.hal, lamp);
    this.settle(lamp);
    this.scheduler.set(n, Infinity);
    return true;
  }

  /** Power a lamp back up: it reboots from its persisted config and registers again. */
  revive(n: number): boolean {
    const lamp = this.lamps[n];
    if (!lamp || lamp.up) return false;
    this.groups.leaveAll(n);
    boot(this.hal, lamp);
    this.settle(lamp);
    return true;
  }

  /** Set or clear a lamp's driver fault. */
  fault(n: number, on: boolean): boolean {
    const lamp = this.lamps[n];
    if (!lamp) return false;
    setFault(this.hal, lamp, on);
    this.settle(lamp);
    return true;
  }

  /** Lamp n's state and meters now (the core brings its meters and fade up to the present). */
  state(n: number): LampSnapshot | undefined {
    const lamp = this.lamps[n];
    if (!lamp) return undefined;
    const snapshot = readState(this.hal, lamp);
    this.settle(lamp);
    return snapshot;
  }

  /** Members (lamp indices) of a multicast group, for tests and the dashboard. */
  groupMembers(name: string): readonly number[] {
    return this.groups.members(name);
  }

  stop(): void {
    this.scheduler.stop();
  }

  // ---- LampDirectory: called by the IPv6 host on the packet path ----

  lookup(iidHi: number, iidLo: number): number {
    if (!this.sparse) return iidHi === 0 && iidLo >= 1 && iidLo <= this.size ? iidLo : -1;
    const known = this.sparseIds.get(iidHi, iidLo);
    if (known >= 0) return known;
    // Every identifier is a lamp except the Subnet-Router anycast (0) and the gateway's own.
    if ((iidHi === 0 && iidLo === 0) || this.isGatewayIid(iidHi, iidLo)) return -1;
    if (this.counters.touched >= (this.options.maxTouched ?? DEFAULT_MAX_TOUCHED)) {
      this.counters.sparseFull++;
      return -1;
    }
    return this.touch(iidHi, iidLo);
  }

  writeIid(index: number, out: Uint8Array, off: number): void {
    write32(out, off, this.sparse ? this.sparseHi[index] : 0);
    write32(out, off + 4, this.sparse ? this.sparseLo[index] : index);
  }

  answersPing(index: number): boolean {
    return this.pingable[index] === 1;
  }

  deliverUdp(index: number, srcBuf: Uint8Array, srcOff: number, srcPort: number,
    buf: Uint8Array, off: number, len: number): void {
    const lamp = this.lamps[index];
    if (!lamp || !lamp.up) {
      this.counters.toDeadLamp++;
      return;
    }
    if (this.lost(index, 0)) return;
    const from = this.peers.intern(srcBuf, srcOff);
    if (this.options.latencyMs) {
      const copy = buf.slice(off, off + len);
      const multicast = this.inMulticast;
      this.later(() => {
        if (!lamp.up) return;
        receive(this.hal, lamp, from, srcPort, copy, copy.length, multicast);
        this.settle(lamp);
      });
      return;
    }
    receive(this.hal, lamp, from, srcPort, off === 0 ? buf : buf.subarray(off), len, this.inMulticast);
    this.settle(lamp);
  }

  /** Whether the next datagram to (`fromLamp` 0) or from (1) lamp `index` is lost (`lossRate`), counted. */
  private lost(index: number, fromLamp: 0 | 1): boolean {
    const rate = this.options.lossRate;
    if (!rate) return false;
    const k = 2 * index + fromLamp;
    const previous = this.lossStreams[k] ?? (mulberryOutput(((this.options.seed ?? 1) ^ Math.imul(k, 0x9e3779b1)) >>> 0) * 4294967296) >>> 0;
    const state = (previous + MULBERRY_STEP) >>> 0;
    this.lossStreams[k] = state;
    if (mulberryOutput(state) >= rate) return false;
    this.counters.impairedLoss++;
    return true;
  }

  forEachMember(groupBuf: Uint8Array, groupOff: number, fn: (index: number) => void): void {
    this.inMulticast = true;
    try {
      this.groups.forEachMember(groupBuf, groupOff, fn);
    } finally {
      this.inMulticast = false;
    }
  }

  // ---- internals ----

  private bootLamp(n: number): LampState {
    const lamp = createLamp(this.configFor(n), n);
    this.lamps[n] = lamp;
    if (n >= this.pingable.length) {
      const grown = new Uint8Array(this.pingable.length * 2);
      grown.set(this.pingable);
      this.pingable = grown;
    }
    boot(this.hal, lamp);
    if (this.options.failRate && this.random() < this.options.failRate) setFault(this.hal, lamp, true);
    this.settle(lamp);
    this.counters.booted++;
    return lamp;
  }

  /** After every core entry for `lamp`: record its ping policy as the core now decides it. */
  private settle(lamp: LampState): void {
    this.pingable[lamp.n] = answersPing(lamp) ? 1 : 0;
  }

  /** Lamps of one street share a config (group `street-<k>`); the core copies it on first write. */
  private configFor(n: number): LampConfig {
    const street = this.options.streetSize ?? 0;
    if (this.sparse || street <= 0) return this.baseConfig;
    const k = Math.ceil(n / street);
    let cfg = this.streetConfigs[k];
    if (!cfg) {
      cfg = { ...this.baseConfig, groups: `street-${k}` };
      this.streetConfigs[k] = cfg;
    }
    return cfg;
  }

  private touch(hi: number, lo: number): number {
    const index = this.sparseHi.length;
    this.sparseHi.push(hi);
    this.sparseLo.push(lo);
    this.sparseIds.set(hi, lo, index);
    this.counters.touched++;
    this.bootLamp(index);
    return index;
  }

  private isGatewayIid(hi: number, lo: number): boolean {
    const g = this.gatewayBytes;
    return g !== null && read32(g, 8) === hi && read32(g, 12) === lo;
  }

  private gatewayPeer(): number {
    return this.peers.intern(this.gatewayBytes!, 0);
  }

  /** Run `fn` after the configured one-way latency (simulated ms, scaled to real time). */
  private later(fn: () => void): void {
    const clock = this.options.clock;
    const delay = clock.realDelay(clock.now() + (this.options.latencyMs ?? 0));
    setTimeout(fn, Number.isFinite(delay) ? Math.max(0, delay) : 0);
  }

  private createHal(): Hal {
    const fleet = this;
    const clock = this.options.clock;
    const scheduler = this.scheduler;
    const peers = this.peers;
    const send = (lamp: LampState, to: Addr, port: number, data: Uint8Array, len: number): void => {
      const at = peers.resolve(to as number);
      if (at < 0 || !fleet.host) {
        fleet.counters.stalePeer++;
        return;
      }
      fleet.host.sendUdp(lamp.n, peers.addrs, at, port, COAP_PORT, data, 0, len);
    };
    return {
      now: () => clock.now(),
      wakeAt: (lamp, atMs) => scheduler.set(lamp.n, atMs),
      light: () => {},
      send: (lamp, to, port, data, len) => {
        if (fleet.lost(lamp.n, 1)) return;
        if (fleet.options.latencyMs) {
          const copy = data.slice(0, len);
          fleet.later(() => send(lamp, to, port, copy, len));
          return;
        }
        send(lamp, to, port, data, len);
      },
      setGroups: (lamp, joined, left) => {
        for (const name of left) fleet.groups.leave(name, lamp.n);
        for (const name of joined) fleet.groups.join(name, lamp.n);
      },
      saveConfig: () => {},
      // Sparse lamps never register: the gateway cannot hold 2^64 lamps.
      gateway: () => (fleet.gatewayBytes === null || fleet.sparse ? null : fleet.gatewayPeer()),
      trusted: (_lamp, from) => {
        const at = peers.resolve(from as number);
        return at >= 0 && peers.trusted[at / 16] === 1;
      },
      random: this.random,
      log: () => {},
    };
  }
}
