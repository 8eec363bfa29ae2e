/**
 * Starts a simulator: fleet + userspace IPv6 host + link, from options a user (CLI, `lampnet up`,
 * a test) gives in text form. The one place that validates those options and wires the parts.
 */
import { Ipv6Host } from './host.js';
import { formatIpv6, parseIpv6 } from '../ipv6/wire/address.js';
import { Fleet, type FleetOptions } from './fleet/fleet.js';
import type { Link } from '../ipv6/link/link.js';
import type { DatagramEndpoint } from '../protocol/datagram.js';
import { MemoryLink } from '../ipv6/link/memory.js';
import { realClock, type FleetClock } from './scheduler.js';

export const DEFAULT_PREFIX = 'fd6c:616d:706e::/64';
/** Interface identifier of the gateway (and of the host side of a TUN device): never a lamp. */
const GATEWAY_IID = [0xff, 0xff, 0, 0, 0, 0, 0, 1];

export interface SimOptions {
  lamps: number | 'all';
  /** The fleet's /64, `2001:db8::/64` or `2001:db8::`. */
  prefix?: string;
  link?: 'memory' | 'tun';
  /** TUN device name. */
  tun?: string;
  /** Gateway address; default `<prefix>:ffff:0:0:1`; 'none' = lamps run standalone. */
  gateway?: string;
  pingWhen?: 'powered' | 'lit';
  speed?: number;
  failRate?: number;
  lossRate?: number;
  latencyMs?: number;
  streetSize?: number;
  lifetimeS?: number;
  /** First registrations spread over this many simulated ms (default: defaultBootSpreadMs × speed). */
  bootJitterMs?: number;
  /** Most datagrams a second the lamps send on their own (default DEFAULT_SEND_RATE). */
  sendRate?: number;
  /** Extra prefixes (`addr/len`) allowed to command lamps besides the gateway. */
  trust?: string[];
  seed?: number;
  /** Sparse fleet: most lamps created on demand (default DEFAULT_MAX_TOUCHED). */
  maxTouched?: number;
  /** The simulator's clock, for the lamps' timers and the ICMPv6 error rate limit alike (a
   * ManualClock makes a run replay exactly). Default: real time × `speed` for the lamps, and real
   * time for the rate limit, which RFC 4443 sets per real second whatever the speed. */
  clock?: FleetClock;
  config?: FleetOptions['config'];
  onProgress?: (booted: number, total: number) => void;
  /** OSCORE's fleet secret (`--security oscore`); absent: `--security none`. */
  fleetSecret?: Uint8Array;
}

export interface Sim {
  fleet: Fleet;
  host: Ipv6Host;
  link: Link;
  /** The fleet's /64 as text (`2001:db8::`), and the gateway's address ('' when none). */
  prefix: string;
  gateway: string;
  /** Address of lamp n (dense fleets). */
  lampAddress(n: number): string;
  /** For the memory link: a datagram endpoint at the gateway's address (what the gateway uses). */
  gatewayEndpoint(port?: number): DatagramEndpoint;
  close(): Promise<void>;
}

/** Wall-clock ms over which a fleet booting at once spreads its first registrations, unless told:
 * 0.02 ms per lamp (50,000 registrations a second, what the default send rate carries), 1 to 60 s
 * (none for a sparse fleet, which never registers). A million lamps powering up together (a feeder
 * cabinet at dusk) take 20 s to reach the gateway, not one. */
export function defaultBootSpreadMs(lamps: number | 'all'): number {
  return lamps === 'all' ? 0 : Math.min(60_000, Math.max(1000, lamps * 0.02));
}

/** Parse `addr/len` (len defaults to 128) into bytes; throws with the input named. */
export function parsePrefix(text: string, what: string): { addr: Uint8Array; bits: number } {
  const [a, l] = text.split('/');
  const addr = parseIpv6(a ?? '');
  const bits = l === undefined ? 128 : Number(l);
  if (!addr || !Number.isInteger(bits) || bits < 0 || bits > 128) {
    throw new Error(`${what} "${text}" is not an IPv6 address or prefix (expected e.g. 2001:db8::/64)`);
  }
  return { addr, bits };
}

/** The fleet prefix: must be a /64 (the lamp's number is its interface identifier). */
function parseFleetPrefix(text: string): Uint8Array {
  const { addr, bits } = parsePrefix(text, '--prefix');
  if (text.includes('/') && bits !== 64) throw new Error(`--prefix must be a /64, got /${bits}`);
  const prefix = new Uint8Array(16);
  prefix.set(addr.subarray(0, 8));
  if (prefix[0] === 0xff) throw new Error(`--prefix ${text} is a multicast prefix`);
  return prefix;
}

export async function startSim(options: SimOptions): Promise<Sim> {
  const prefix = parseFleetPrefix(options.prefix ?? DEFAULT_PREFIX);
  let gateway: Uint8Array | null;
  if (options.gateway === 'none') gateway = null;
  else if (options.gateway) gateway = parsePrefix(options.gateway, '--gateway').addr;
  else {
    gateway = new Uint8Array(16);
    gateway.set(prefix.subarray(0, 8));
    gateway.set(GATEWAY_IID, 8);
  }
  const speed = options.speed ?? 1;
  if (!(speed > 0)) throw new Error(`--speed must be a positive number, got ${options.speed}`);
  for (const [name, v] of [['--fail-rate', options.failRate], ['--loss', options.lossRate]] as const) {
    if (v !== undefined && !(v >= 0 && v <= 1)) throw new Error(`${name} must be between 0 and 1, got ${v}`);
  }
  const lamps = options.lamps;
  const clock = options.clock ?? realClock(speed);
  const fleet = new Fleet({
    lamps,
    prefix,
    gateway,
    clock,
    pingWhen: options.pingWhen,
    failRate: options.failRate,
    lossRate: options.lossRate,
    latencyMs: options.latencyMs,
    streetSize: options.streetSize ?? 100,
    lifetimeS: options.lifetimeS,
    // The spread is for the gateway, which takes registrations in wall-clock time: at --speed 60 a
    // simulated spread would be 60 times shorter, and a million lamps would register (and, before a
    // gateway is attached, retransmit) all at once. So it scales with the speed.
    bootJitterMs: options.bootJitterMs ?? defaultBootSpreadMs(lamps) * speed,
    sendRate: options.sendRate,
    // The pace is the link's, in its time: the real one, or the given clock that replays a run.
    linkNow: options.clock ? () => options.clock!.now() : undefined,
    trusted: (options.trust ?? []).map((t) => parsePrefix(t, '--trust')),
    seed: options.seed,
    maxTouched: options.maxTouched,
    config: options.config,
    fleetSecret: options.fleetSecret,
  });

  let link: Link;
  let memory: MemoryLink | null = null;
  if ((options.link ?? 'memory') === 'memory') {
    memory = new MemoryLink();
    link = memory;
  } else {
    const { openTunLink } = await import('../ipv6/link/tun.js');
    link = await openTunLink({ name: options.tun ?? 'lampnet0', prefix, hostAddress: gateway });
  }
  const given = options.clock;
  const host = new Ipv6Host({ prefix, link, directory: fleet, now: given ? () => given.now() : undefined });
  fleet.attach(host);
  host.start();
  await fleet.boot(options.onProgress);

  const prefixText = formatIpv6(prefix);
  const gatewayText = gateway ? formatIpv6(gateway) : '';
  const addr = new Uint8Array(16);
  return {
    fleet,
    host,
    link,
    prefix: prefixText,
    gateway: gatewayText,
    lampAddress(n: number) {
      host.lampAddress(n, addr, 0);
      return formatIpv6(addr);
    },
    gatewayEndpoint(port = 5683) {
      if (!memory) throw new Error('the gateway endpoint exists only on the memory link; with --link tun the gateway uses a udp6 socket');
      if (!gateway) throw new Error('this fleet has no gateway (--gateway none)');
      return memory.endpoint(gatewayText, port);
    },
    async close() {
      fleet.stop();
      await link.close();
    },
  };
}
