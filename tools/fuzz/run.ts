/**
 * The fuzz run (`npm run fuzz`): hostile IPv6 packets (hostile-packets.ts, with CoAP payloads from
 * hostile-coap.ts) through real simulated fleets, and their CoAP payloads through the CoAP codec
 * (codec-check.ts), with exact accounting of where every packet went. Fleet state, clocks and time
 * steps depend only on the seed, so `--seed N --count M` reproduces a run exactly.
 *
 * Two fleets take the packets (target.ts), each started by `startSim` on a memory link and the
 * run's virtual clock: a dense fleet (1,000 lamps, streets of 100 that join their street's
 * multicast group) whose gateway address is the real gateway directory (gateway.ts), and the
 * sparse fleet (`lamps: 'all'`, a lamp per address).
 *
 * Checked for every packet; the first violation stops the run with the seed, the packet's index
 * and its bytes:
 * - nothing throws (host, link, fleet, lamp core, gateway directory, CoAP codec);
 * - the packet has exactly one disposition in the host's counters (see `dispositions`);
 * - the packets sent while it was handled are exactly the replies the counters name, and every
 *   packet a fleet sends is well-formed (output-check.ts);
 * - a confirmable CoAP message that reached a live lamp by unicast is answered with an ACK or RST
 *   carrying its message id (RFC 7252 §4.2), whatever else is wrong with it;
 * - the CoAP codec agrees with itself.
 */
import { codeString } from '../../protocol/coap.js';
import { IPV6_HEADER_LEN } from '../../ipv6/wire/ipv6.js';
import { Prng } from '../../sim/random.js';
import { ManualClock } from '../../sim/scheduler.js';
import { checkCoapCodec, CodecStats } from './codec-check.js';
import type { FuzzGatewayReport } from './gateway.js';
import { PacketGenerator } from './hostile-packets.js';
import { hex } from './output-check.js';
import { createTarget, dispositions, gatewayAnswers, sentByCounters, type FuzzTarget } from './target.js';

export const DEFAULT_SEED = 1;
export const DEFAULT_COUNT = 100_000;
export const DEFAULT_LAMPS = 1000;
/** Packets between two turns of the event loop (timers fire, the link flushes, progress reports). */
const CHUNK = 4096;

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
  /** Packets the fuzzer injected, and answers the gateway sent to lamps. */
  injected: number;
  gatewayAnswers: number;
  /** What the gateway's directory made of the lamps' registrations (dense fleets). */
  gateway: FuzzGatewayReport | null;
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
      try {
        t.directory?.sweep(clock.now());
      } catch (e) {
        failure ??= { kind: 'exception', message: `the gateway's registry sweep threw: ${(e as Error).stack ?? e}`, seed, index: at, target: t.name, hex: '' };
        return;
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
    // The packet, and the answers the gateway sent while it was handled.
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
  for (const t of targets) await t.sim.close();
  return {
    seed, count, packets: index, seconds, failure, heapMB: { start: heapStart, end: heapMB() },
    targets: targets.map((t) => ({
      name: `${t.name} (${t.fleet.sparse ? `sparse, ${t.fleet.counters.touched} lamps touched` : `${t.fleet.size} lamps`})`,
      injected: t.injected,
      gatewayAnswers: gatewayAnswers(t),
      gateway: t.directory?.report() ?? null,
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
