/**
 * Figure (issue 15): bytes per lamp of the gateway (registered and observed) and of the simulator
 * (observed by the gateway), each in a process of its own so that neither's memory hides in the
 * other's: in one namespace the simulator's lamps behind TUN register with `startGateway` on its
 * udp6 socket (bench/probes/gateway-bytes.ts), which publishes to Mosquitto (the broker's retained
 * messages are not the gateway's). Memory is the JS heap plus ArrayBuffers (the typed-array
 * columns), after full collections, once every lamp's first state is on MQTT and nothing is in
 * flight; per lamp over the fleet, against each process's own memory before the lamps.
 */
import { type Probe, startProbe } from '../child.js';
import { BENCH_PREFIX, benchNamespace, LOAD_SOURCE, type Netns } from '../netns.js';
import { count, mib, Report } from '../report.js';
import { INCOMPLETE_BOUND, lackingText } from './register.js';

/** DESIGN.md: a lamp's state is ≤ 400 B (a million lamps well under 1 GiB); held to the gateway too. */
export const BYTES_PER_LAMP_TARGET = 400;

const MQTT_PORT = 18_883;

interface Memory {
  heapUsed: number;
  arrayBuffers: number;
  bytes: number;
}

interface GatewayBytes {
  lamps: number;
  finished: boolean;
  registered: number;
  online: number;
  states: number;
  incomplete: number;
  lacking: Record<string, number>;
  onlineS: number | null;
  statesS: number | null;
  base: Memory;
  after: Memory;
  rss: number;
}

interface Run {
  gateway: GatewayBytes;
  simBase: Memory;
  simBooted: Memory;
  simObserved: Memory & { rss: number };
}

export async function measureBytes(report: Report, s: { lamps: number; runs: number }): Promise<void> {
  const f = report.figure('bytes', `Bytes per lamp with ${count(s.lamps)} lamps registered and observed: the LwM2M gateway and the simulator, each in its own process (${s.runs} run${s.runs > 1 ? 's' : ''})`,
    `≤ ${BYTES_PER_LAMP_TARGET} B per lamp (DESIGN.md), gateway and simulator each`);
  try {
    const runs: Run[] = [];
    for (let k = 0; k < s.runs; k++) runs.push(await oneRun(s.lamps, k));
    const perLamp = (m: (r: Run) => number): number[] => runs.map((r) => m(r) / s.lamps).sort((a, b) => a - b);
    const med = (v: number[]): number => v[Math.floor(v.length / 2)];
    const worst = (v: number[]): number => v[v.length - 1];
    const b = (v: number): string => `${v.toFixed(0)} B`;
    const gw = perLamp((r) => r.gateway.after.bytes - r.gateway.base.bytes);
    const gwHeap = perLamp((r) => r.gateway.after.heapUsed - r.gateway.base.heapUsed);
    const simObserved = perLamp((r) => r.simObserved.bytes - r.simBase.bytes);
    const simHeap = perLamp((r) => r.simObserved.heapUsed - r.simBase.heapUsed);
    const simBooted = perLamp((r) => r.simBooted.bytes - r.simBase.bytes);
    Report.row(f, { label: 'gateway: lamps registered and observed (heap + ArrayBuffers per lamp)', value: `median ${b(med(gw))}, worst ${b(worst(gw))} (heap alone median ${b(med(gwHeap))})`,
      reference: `target ${BYTES_PER_LAMP_TARGET} B`, ratio: worst(gw) / BYTES_PER_LAMP_TARGET });
    Report.row(f, { label: 'simulator: lamps booted, registered and observed by the gateway (heap + ArrayBuffers per lamp)', value: `median ${b(med(simObserved))}, worst ${b(worst(simObserved))} (heap alone median ${b(med(simHeap))})`,
      reference: `target ${BYTES_PER_LAMP_TARGET} B; booted alone median ${b(med(simBooted))}`, ratio: worst(simObserved) / BYTES_PER_LAMP_TARGET });
    Report.row(f, { label: 'simulator: what observation and registration add (observed − booted, per lamp)', value: `median ${b(med(perLamp((r) => r.simObserved.bytes - r.simBooted.bytes)))}` });
    const last = runs[runs.length - 1];
    const statesS = runs.map((r) => r.gateway.statesS ?? Infinity).sort((x, y) => x - y);
    Report.row(f, { label: 'through TUN: every lamp online on MQTT with its first state, from the gateway\'s start', value: `median ${Number.isFinite(med(statesS)) ? `${med(statesS).toFixed(1)} s` : 'not all shown'}` });
    Report.row(f, { label: 'processes after the last run', value: `gateway RSS ${mib(last.gateway.rss)} (heap ${mib(last.gateway.after.heapUsed)}, ArrayBuffers ${mib(last.gateway.after.arrayBuffers)}); simulator RSS ${mib(last.simObserved.rss)} (heap ${mib(last.simObserved.heapUsed)}, ArrayBuffers ${mib(last.simObserved.arrayBuffers)})` });
    const sum = (pick: (g: GatewayBytes) => number): number => runs.reduce((a, r) => a + pick(r.gateway), 0);
    const sent = s.lamps * s.runs;
    Report.answers(f, { what: 'lamps booted, each confirmed by its first complete state on MQTT (what the gateway\'s setup fetches); incomplete first states are errors',
      sent, confirmed: sum((g) => g.states), errors: sum((g) => g.incomplete), lost: sent - sum((g) => g.states) - sum((g) => g.incomplete), bound: INCOMPLETE_BOUND });
    if (runs.some((r) => r.gateway.incomplete > 0)) Report.note(f, `Incomplete first states lacked (lamps, all runs): ${lackingText(runs.map((r) => r.gateway.lacking))}.`);
    Report.verdict(f, worst(gw) <= BYTES_PER_LAMP_TARGET && worst(simObserved) <= BYTES_PER_LAMP_TARGET);
    Report.note(f, 'Each process measures itself after full collections (`node --expose-gc`): the gateway from when it serves with no lamp (its MQTT client and the probe\'s one byte per lamp and kind already counted out), the simulator from before its boot. ' +
      'Heap + ArrayBuffers: the typed-array columns of the registry, the observer and the fleet live in ArrayBuffers, outside `heapUsed` (the boot and sparse figures count heapUsed alone). ' +
      'Columns grow by doubling, so the bytes per lamp depend on where the fleet falls between powers of two. The gateway has every lamp in its registry with its observations of /3311/0, /3305/0, /3/0/11 established and its groups read; ' +
      'the broker\'s retained states live in Mosquitto. The simulator holds each lamp\'s three observations by the gateway and the attributes written on /3311/0.');
  } catch (err) {
    Report.failed(f, err);
  }
}

async function oneRun(lamps: number, run: number): Promise<Run> {
  let ns: Netns | null = null;
  let gateway: Probe | null = null;
  let sim: Probe | null = null;
  try {
    ns = await benchNamespace(`bytes${run}`);
    // Mosquitto on the namespace's loopback: without a configuration file it listens there only
    // and takes anonymous clients.
    ns.spawn('mosquitto', ['-p', String(MQTT_PORT)]);
    const url = `mqtt://127.0.0.1:${MQTT_PORT}`;
    await waitForBroker(ns);
    gateway = startProbe('gateway-bytes', ['--lamps', String(lamps), '--mqtt-url', url], { netns: ns, nodeFlags: ['--expose-gc', '--max-old-space-size=8192'] });
    await gateway.next('ready', 60_000);
    sim = startProbe('tun-sim', ['--tun', `lampnet-bb${run}`, '--prefix', BENCH_PREFIX, '--lamps', String(lamps), '--trust', `${LOAD_SOURCE}/64`, '--gateway', 'default'],
      { netns: ns, nodeFlags: ['--expose-gc', '--max-old-space-size=8192'] });
    const ready = await sim.next<{ base: Memory; booted: Memory }>('ready', 180_000);
    const result = await gateway.next<GatewayBytes>('result', 1_200_000);
    sim.send('memory');
    const simObserved = await sim.next<Memory & { rss: number }>('memory', 60_000);
    return { gateway: result, simBase: ready.base, simBooted: ready.booted, simObserved };
  } finally {
    await sim?.stop();
    await gateway?.stop();
    await ns?.delete();
  }
}

/** Mosquitto accepts connections (bounded wait). */
async function waitForBroker(ns: Netns): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await ns.run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(MQTT_PORT), '-t', 'bench/ping', '-m', 'x'], 5000);
    if (r.code === 0) return;
    if (Date.now() > deadline) throw new Error(`mosquitto did not accept connections within 10 s: ${r.stderr.trim()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
