/**
 * The simulated fleet: N lamps, each running the real firmware core, behind one HAL and one
 * scheduler, answering for the /64 through the userspace IPv6 host (sim/host.ts).
 *
 * Memory is what decides the shape (DESIGN.md: ≤ 400 B per lamp at 1,000,000 lamps):
 * - a lamp is the core's flat record; lamps of one street share one config object (the core copies
 *   it on first write), and the endpoint name is derived from the lamp number, not stored;
 * - one HAL object serves every lamp (it takes the lamp), one WakeHeap holds every lamp's single
 *   timer (16 B per lamp), there is no closure, socket or Node timer per lamp;
 * - addresses are bytes: peers are interned once into small numbers (the core's opaque `Addr`), so
 *   a datagram costs no string.
 *
 * In a storm of the fleet's own making, what the network asks comes first: what a lamp sends from
 * its timer (registrations, retransmissions, notifications) is paid from the scheduler's pace
 * (`sendRate`), what it sends in answer is not; an ICMPv6 Destination Unreachable about a lamp's
 * datagram reaches the lamp's core, which backs off (firmware/registration.ts).
 *
 * Dense fleets (`lamps: N`) map lamp n ↔ interface identifier n arithmetically. The sparse fleet
 * (`lamps: 'all'`) makes every interface identifier of the /64 a lamp: its state is created on its
 * first packet (an open-addressing table maps identifier → index) and it never registers with the
 * gateway, since 2^64 lamps cannot; memory grows with lamps touched, up to `maxTouched` (a sender
 * walking the /64 would otherwise grow it without bound).
 *
 * Beside this file: hal.ts (the one HAL), peers.ts (interned peer addresses), groups.ts (multicast
 * membership), sparse.ts (the sparse fleet's identifier table).
 */
import { answersPing, boot, halt, readState, receive, setFault, unreachable, wake } from '../../firmware/core.js';
import { COAP_PORT, type LampSnapshot } from '../../protocol/lamp.js';
import { createLamp, defaultConfig, type LampConfig, type LampState } from '../../firmware/lamp.js';
import type { LampDirectory, Ipv6Host } from '../host.js';
import { inPrefix } from '../../ipv6/wire/address.js';
import { read32, write32 } from '../../ipv6/wire/bytes.js';
import { Prng } from '../random.js';
import { FleetScheduler, type FleetClock } from '../scheduler.js';
import { TokenBucket } from '../token-bucket.js';
import { GroupTable } from './groups.js';
import { FleetHal, ImpairedPath } from './hal.js';
import { PeerTable } from './peers.js';
import { SparseIds } from './sparse.js';

export const MAX_DENSE_LAMPS = 1_000_000;
/** Default bound on the sparse fleet's lamps (about 300 B each: ~600 MB of heap at the bound). */
export const DEFAULT_MAX_TOUCHED = 2_000_000;
/** Default pace of the lamps' own datagrams, per second: far below what a TUN device and the
 * kernel take on the team's 2-core machine (about 300,000 UDP datagrams a second both ways), so the
 * link always has room for the answers, and above what a million lamps registering in 30 s need. */
export const DEFAULT_SEND_RATE = 50_000;

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
  /** Most datagrams a second the lamps send on their own, from their timers: registrations,
   * retransmissions, notifications (default DEFAULT_SEND_RATE). What they send in answer to a
   * datagram is never held back. */
  sendRate?: number;
  /** The clock of that pace: the link's, so real milliseconds (default performance.now). */
  linkNow?: () => number;
  /** Seed of the fleet's PRNG (jitter, faults, loss), for reproducible runs. */
  seed?: number;
  /** Fleet-wide config overrides (lat/lon, night profile, ...). */
  config?: Partial<LampConfig>;
  /** OSCORE (`--security oscore`): each lamp's context derives from this fleet secret and its id
   * (protocol/oscore/fleet.ts), and lamps obey only protected state changes. Absent: address trust. */
  fleetSecret?: Uint8Array;
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
  /** Exchanges with the gateway ended at once by an ICMPv6 Destination Unreachable quoting them. */
  exchangesUnreachable = 0;
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
  readonly hal: FleetHal;
  private host: Ipv6Host | null = null;
  private readonly rng: Prng;
  private readonly path: ImpairedPath;
  private readonly gatewayBytes: Uint8Array | null;
  private readonly pingWhen: number;
  private readonly sparseIds = new SparseIds();
  /** The core's ping policy (`answersPing`) per lamp index, 1 or 0, refreshed after every core
   * entry for that lamp (`settle`): a lamp's state changes only inside those. An Echo Request reads
   * this byte instead of the lamp's record: at 1,000,000 lamps that record is two or three cache
   * misses away, which cost 10–15% of echo throughput through TUN (bench/ANALYSIS.md). */
  private pingable: Uint8Array;
  private readonly streetConfigs: LampConfig[] = [];
  private readonly baseConfig: LampConfig;
  /** True while the host hands a multicast datagram to each member (the core must not answer it). */
  private inMulticast = false;
  /** True while a lamp's timer runs: what it sends then is chatter, paid from the scheduler's pace. */
  private onTimer = false;

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
    this.rng = new Prng(options.seed ?? 1);
    this.path = new ImpairedPath(this.counters, options.clock, options.seed ?? 1, options.lossRate ?? 0, options.latencyMs ?? 0);
    this.pingWhen = options.pingWhen === 'lit' ? 1 : 0;
    this.gatewayBytes = options.gateway;
    const trusted = options.trusted ?? [];
    this.peers = new PeerTable((addr, off) =>
      (this.gatewayBytes !== null && inPrefix(addr, off, this.gatewayBytes, 128)) ||
      trusted.some((p) => inPrefix(addr, off, p.addr, p.bits)));
    const sendRate = options.sendRate ?? DEFAULT_SEND_RATE;
    if (!(sendRate > 0)) throw new Error(`the lamps' send rate must be above 0 datagrams a second, got ${sendRate}`);
    // A tenth of a second's worth may leave at once: slices of the scheduler stay short.
    const pace = new TokenBucket(options.linkNow ?? (() => performance.now()), sendRate, Math.max(1, sendRate / 10));
    this.scheduler = new FleetScheduler(options.clock, (index) => {
      const lamp = this.lamps[index];
      if (!lamp) return;
      this.onTimer = true;
      try {
        wake(this.hal, lamp);
      } finally {
        this.onTimer = false;
      }
      this.settle(lamp);
    }, pace);
    this.baseConfig = {
      ...defaultConfig(''),
      lifetimeS: options.lifetimeS ?? 300,
      bootJitterMs: options.bootJitterMs ?? 0,
      pingWhen: this.pingWhen,
      ...options.config,
    };
    this.hal = new FleetHal({
      fleetSecret: options.fleetSecret ?? null,
      clock: options.clock,
      scheduler: this.scheduler,
      peers: this.peers,
      groups: this.groups,
      rng: this.rng,
      path: this.path,
      counters: this.counters,
      // Sparse lamps never register: the gateway cannot hold 2^64 lamps.
      gatewayPeer: () => (this.gatewayBytes === null || this.sparse ? null : this.peers.intern(this.gatewayBytes, 0)),
      // A reboot is a new boot of a lamp that stays powered, once the core has answered.
      reboot: (n) => setImmediate(() => {
        const lamp = this.lamps[n];
        if (!lamp || !lamp.up) return;
        this.groups.leaveAll(n);
        boot(this.hal, lamp);
        this.settle(lamp);
      }),
      // Before `attach` there is no host: the lamp's datagram is lost like one to an expired peer.
      transmit: (n, addrs, at, port, data, len) => {
        if (this.onTimer) this.scheduler.pace!.spend(1);
        if (this.host) this.host.sendUdp(n, addrs, at, port, COAP_PORT, data, 0, len);
        else this.counters.stalePeer++;
      },
    });
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
    write32(out, off, this.sparse ? this.sparseIds.hi(index) : 0);
    write32(out, off + 4, this.sparse ? this.sparseIds.lo(index) : index);
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
    if (this.path.loses(index, 0)) return;
    const from = this.peers.intern(srcBuf, srcOff);
    if (this.path.latencyMs) {
      const copy = buf.slice(off, off + len);
      const multicast = this.inMulticast;
      this.path.later(() => {
        if (!lamp.up) return;
        receive(this.hal, lamp, from, srcPort, copy, copy.length, multicast);
        this.settle(lamp);
      });
      return;
    }
    receive(this.hal, lamp, from, srcPort, off === 0 ? buf : buf.subarray(off), len, this.inMulticast);
    this.settle(lamp);
  }

  deliverUnreachable(index: number, dstBuf: Uint8Array, dstOff: number, dstPort: number,
    buf: Uint8Array, off: number, len: number): void {
    const lamp = this.lamps[index];
    if (!lamp || !lamp.up) {
      this.counters.toDeadLamp++;
      return;
    }
    if (unreachable(this.hal, lamp, this.peers.intern(dstBuf, dstOff), dstPort, off === 0 ? buf : buf.subarray(off), len)) this.counters.exchangesUnreachable++;
    this.settle(lamp);
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
    if (this.options.failRate && this.rng.float() < this.options.failRate) setFault(this.hal, lamp, true);
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
    const index = this.sparseIds.add(hi, lo);
    this.counters.touched++;
    this.bootLamp(index);
    return index;
  }

  private isGatewayIid(hi: number, lo: number): boolean {
    const g = this.gatewayBytes;
    return g !== null && read32(g, 8) === hi && read32(g, 12) === lo;
  }
}
