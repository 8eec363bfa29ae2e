/**
 * The fleets under fuzz: each one started by `startSim` on the memory link and the run's virtual
 * clock (so the ICMPv6 error rate limit replays too), with the checks of what it sends and, for a
 * dense fleet, the real gateway directory at the gateway's address.
 */
import { groupAddress } from '../../protocol/lamp.js';
import type { Fleet } from '../../sim/fleet/fleet.js';
import type { MemoryLink } from '../../ipv6/link/memory.js';
import type { HostCounters, Ipv6Host } from '../../sim/host.js';
import { parseIpv6 } from '../../ipv6/wire/address.js';
import { DROP_REASON_SLOTS } from '../../ipv6/wire/drop.js';
import { Prng } from '../../sim/random.js';
import type { ManualClock } from '../../sim/scheduler.js';
import { startSim, type Sim } from '../../sim/sim.js';
import { FuzzGateway } from './gateway.js';
import { OutputCheck } from './output-check.js';

const STREET_SIZE = 100;

export interface FuzzTarget {
  name: string;
  sim: Sim;
  fleet: Fleet;
  host: Ipv6Host;
  link: MemoryLink;
  prefix: Uint8Array;
  gateway: Uint8Array;
  /** Addresses of the multicast groups lamps joined, and of some no lamp joined. */
  groups: Uint8Array[];
  output: OutputCheck;
  /** The gateway at the gateway's address (dense fleets; sparse lamps never register). */
  directory: FuzzGateway | null;
  injected: number;
}

export async function createTarget(name: string, lamps: number | 'all', clock: ManualClock, seed: number): Promise<FuzzTarget> {
  const sim = await startSim({
    lamps, link: 'memory', clock, seed,
    streetSize: STREET_SIZE,
    bootJitterMs: 1000,
    pingWhen: lamps === 'all' ? 'lit' : 'powered',
  });
  const link = sim.link as MemoryLink;
  const prefix = parseIpv6(sim.prefix)!;
  const gateway = parseIpv6(sim.gateway)!;
  const output = new OutputCheck(prefix);
  link.onTransmit(output.onPacket);
  const directory = sim.fleet.sparse ? null
    : new FuzzGateway(sim.gatewayEndpoint(), gateway, prefix, output, new Prng(seed ^ 0x5eed), clock);
  const streets = lamps === 'all' ? 1 : Math.ceil(lamps / STREET_SIZE) + 1;
  const groups: Uint8Array[] = [];
  for (let k = 1; k <= streets; k++) groups.push(parseIpv6(groupAddress(`street-${k}`))!);
  for (const text of ['ff02::1', 'ff02::2', 'ff05::fb', 'ff15::1:0:0', groupAddress('lampnet-a')]) groups.push(parseIpv6(text)!);
  return { name, sim, fleet: sim.fleet, host: sim.host, link, prefix, gateway, groups, output, directory, injected: 0 };
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
  return drops + c.echoReplies + c.pingsIgnored + c.udpDelivered + c.unreachablesDelivered + c.icmpErrorsSent + c.icmpErrorsRateLimited +
    c.txRefused - c.multicastCopies + c.multicastPackets;
}

/** Packets the gateway of `target` has sent the lamps so far. */
export function gatewayAnswers(target: FuzzTarget): number {
  return target.directory?.answers ?? 0;
}

/** Packets the host sent (its counters' view of what `OutputCheck` saw). */
export function sentByCounters(c: HostCounters): number {
  return c.echoReplies + c.icmpErrorsSent + c.udpSent;
}
