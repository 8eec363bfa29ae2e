/**
 * Figures 1 and 2: ICMPv6 echo and CoAP round trips through TUN, the simulator beside its references,
 * all driven by the same load (bench/driver/load.c). Each responder owns the /64 2001:db8::/64 in a
 * namespace of its own, so all three stay up and the measurements interleave:
 *   - the C reference responder (bench/reference/tun-responder.c) on its TUN device;
 *   - the kernel's AnyIP (`ip -6 route add local <prefix>/64 dev lo`), echo only;
 *   - the simulator (`startSim`, in a probe process) on its TUN device.
 * Every round measures each responder once per load, in turn, and the figure is the median over
 * rounds: on a shared machine a burst of someone else's work then lands on one sample of each, not
 * on all samples of one.
 *
 * Echo is driven two ways. The load program walks every lamp of the /64 (destinations spread over
 * all lamps, as the figure asks); `ping -f -l 8` cannot, since each ping has one destination, so
 * parallel pings to as many distinct lamps are reported beside it for comparison with the usual tool.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { type Probe, startProbe } from '../child.js';
import { BENCH_PREFIX, benchNamespace, lampAddress, LOAD_SOURCE, type Netns } from '../netns.js';
import type { NativePrograms } from '../native.js';
import { count, type Figure, mib, perSecond, Report } from '../report.js';

export interface NetworkSettings {
  /** Lamps in the simulator (and the range every load walks). */
  lamps: number;
  /** Seconds per measurement, and interleaved rounds. */
  seconds: number;
  rounds: number;
  /** Parallel load processes and the requests each keeps in flight, for echo. */
  echoLoads: number;
  echoWindow: number;
  /** Parallel `ping -f -l 8` processes. */
  pings: number;
  /** CoAP requests in flight (one load process). */
  coapWindow: number;
  /** Node flags for the simulator probe (e.g. --cpu-prof). */
  simNodeFlags: string[];
}

interface LoadResult {
  sent: number;
  /** Confirmed answers only (bench/driver/load.c says what confirms one). */
  answered: number;
  /** Wrong answers: an error code, another source address, another id or sequence number. */
  errors: number;
  lost: number;
  seconds: number;
  rate: number;
  /** Latency percentiles of the confirmed answers; null without one. */
  p50Us: number | null;
  p99Us: number | null;
  /** Mean UDP payload of the confirmed answers (CoAP loads). */
  answerBytes?: number;
}

type Responder = 'simulator' | 'C reference' | 'kernel AnyIP';
type Load = 'echo' | 'ping' | 'get' | 'put';

const ROUTE = `${BENCH_PREFIX}/64`;
const LOADS: Load[] = ['echo', 'ping', 'get', 'put'];
/** A responder answers every request right: no wrong answer, and at most 1% lost (a 200 ms
 * timeout on a machine whose cores the load, the kernel and the responder share). */
const ANSWER_BOUND = { errors: 0, lost: 0.01 };
/** Requests each `ping -f -l 8` may still have in flight when its deadline ends it. */
const PING_PRELOAD = 8;

/** Samples by load and responder. */
class Samples {
  private readonly by = new Map<string, LoadResult[]>();
  add(load: Load, who: Responder, r: LoadResult): void {
    const key = `${load}/${who}`;
    this.by.set(key, [...(this.by.get(key) ?? []), r]);
  }
  /** The sample with the median rate, or undefined. */
  median(load: Load, who: Responder): LoadResult | undefined {
    const list = (this.by.get(`${load}/${who}`) ?? []).slice().sort((a, b) => a.rate - b.rate);
    return list[Math.floor(list.length / 2)];
  }
  /** Every sample's counts added up. */
  total(load: Load, who: Responder): { sent: number; answered: number; errors: number; lost: number } | undefined {
    const list = this.by.get(`${load}/${who}`);
    if (!list) return undefined;
    const sum = (key: 'sent' | 'answered' | 'errors' | 'lost'): number => list.reduce((a, r) => a + r[key], 0);
    return { sent: sum('sent'), answered: sum('answered'), errors: sum('errors'), lost: sum('lost') };
  }
  rates(load: Load, who: Responder): string {
    return (this.by.get(`${load}/${who}`) ?? []).map((r) => count(r.rate)).join(', ');
  }
}

interface Target {
  who: Responder;
  ns: Netns;
  loads: Load[];
}

export async function measureNetwork(native: NativePrograms, s: NetworkSettings, report: Report): Promise<void> {
  const echo = report.figure('echo', `ICMPv6 echo replies/s, simulator with ${count(s.lamps)} lamps through TUN`, '≥ 0.9× the C responder');
  const coap = report.figure('coap', 'CoAP GET and PUT round trips/s to distinct lamps through TUN, 64 in flight', '≥ 0.6× the C responder');
  const samples = new Samples();
  const namespaces: Netns[] = [];
  let sim: Probe | null = null;
  try {
    const cNs = await benchNamespace('c');
    namespaces.push(cNs);
    const device = await readyLine(cNs.spawn(native.responder, ['lampnet-bc0']), 'C reference responder', 10_000);
    await cNs.ip('link', 'set', 'dev', device, 'mtu', '1500', 'txqueuelen', '4096', 'up');
    await cNs.ip('-6', 'route', 'add', ROUTE, 'dev', device);

    const anyNs = await benchNamespace('anyip');
    namespaces.push(anyNs);
    await anyNs.ip('-6', 'route', 'add', 'local', ROUTE, 'dev', 'lo');

    const simNs = await benchNamespace('sim');
    namespaces.push(simNs);
    sim = startProbe('tun-sim', ['--tun', 'lampnet-bs0', '--prefix', BENCH_PREFIX, '--lamps', String(s.lamps), '--trust', `${LOAD_SOURCE}/64`],
      { netns: simNs, nodeFlags: ['--expose-gc', ...s.simNodeFlags] });
    const ready = await sim.next<{ bootS: number; heapUsed: number; rss: number }>('ready', 180_000);
    Report.note(echo, `simulator booted ${count(s.lamps)} lamps on TUN in ${ready.bootS.toFixed(1)} s (heap ${mib(ready.heapUsed)}, RSS ${mib(ready.rss)})`);

    const targets: Target[] = [
      { who: 'simulator', ns: simNs, loads: LOADS },
      { who: 'C reference', ns: cNs, loads: LOADS },
      { who: 'kernel AnyIP', ns: anyNs, loads: ['echo', 'ping'] },
    ];
    for (let round = 1; round <= s.rounds; round++) {
      console.log(`  round ${round} of ${s.rounds}:`);
      for (const load of LOADS) {
        for (const t of targets) {
          if (t.loads.includes(load)) samples.add(load, t.who, await measure(t, load, native, s));
        }
      }
    }
    sim.send('counters');
    const c = await sim.next<Record<string, number>>('counters', 10_000);
    Report.note(echo, `simulator counters after the network figures: received ${count(c.received)}, echo replies ${count(c.echoReplies)}, ` +
      `UDP delivered ${count(c.udpDelivered)}, UDP sent ${count(c.udpSent)}, tx refused ${count(c.txRefused)}, heap ${mib(c.heapUsed)}, RSS ${mib(c.rss)}`);
  } catch (err) {
    Report.failed(echo, err);
    Report.failed(coap, err);
  } finally {
    await sim?.stop();
    for (const ns of namespaces) await ns.delete();
  }
  reportEcho(echo, s, samples);
  reportCoap(coap, s, samples);
}

const CONFIRMED: Record<Load, string> = {
  echo: 'Echo Requests (load), Echo Reply from the lamp asked with its identifier, sequence number and data',
  ping: 'Echo Requests (ping -f), replies as ping counts them, which does not check their source (errors: ICMPv6 errors and duplicates)',
  get: 'CoAP CON GET /3311/0, ACK 2.05 with its message id and token from the lamp asked',
  put: 'CoAP CON PUT /3311/0/5851, ACK 2.04 with its message id and token from the lamp asked',
};

/** One Answers record per responder and load, over all rounds. */
function checkAnswers(f: Figure, m: Samples, loads: Load[]): void {
  for (const load of loads) {
    for (const who of ['simulator', 'C reference', 'kernel AnyIP'] as const) {
      const t = m.total(load, who);
      if (t) Report.answers(f, { what: `${who}, ${CONFIRMED[load]}`, sent: t.sent, confirmed: t.answered, errors: t.errors, lost: t.lost, bound: ANSWER_BOUND });
    }
  }
}

function measure(t: Target, load: Load, native: NativePrograms, s: NetworkSettings): Promise<LoadResult> {
  const label = `${load.padEnd(5)} ${t.who.padEnd(13)}`;
  switch (load) {
    case 'echo': return parallelLoad(t.ns, native, label, 'echo', s.lamps, s.echoWindow, s.seconds, s.echoLoads);
    case 'ping': return pingFlood(t.ns, label, s);
    default: return parallelLoad(t.ns, native, label, load, s.lamps, s.coapWindow, s.seconds, 1);
  }
}

function reportEcho(f: Figure, s: NetworkSettings, m: Samples): void {
  const c = m.median('echo', 'C reference');
  const sim = m.median('echo', 'simulator');
  const drive = `${s.echoLoads} × load, ${s.echoWindow} in flight each, all lamps`;
  for (const who of ['simulator', 'C reference', 'kernel AnyIP'] as const) {
    const r = m.median('echo', who);
    if (r) {
      Report.row(f, { label: `${who} (${drive})`, value: `${perSecond(r.rate)} (${latency(r)}, lost ${r.lost}; rounds ${m.rates('echo', who)})`,
        ...(who === 'simulator' && c ? { reference: `C ${perSecond(c.rate)}`, ratio: r.rate / c.rate } : {}) });
    }
  }
  const anyIp = m.median('echo', 'kernel AnyIP');
  if (sim && anyIp) Report.row(f, { label: 'simulator vs kernel AnyIP (same load)', value: perSecond(sim.rate), reference: `AnyIP ${perSecond(anyIp.rate)}`, ratio: sim.rate / anyIp.rate });
  const pc = m.median('ping', 'C reference');
  for (const who of ['simulator', 'C reference', 'kernel AnyIP'] as const) {
    const r = m.median('ping', who);
    if (r) {
      Report.row(f, { label: `${who} (${s.pings} × ping -f -l 8, ${s.pings} lamps)`, value: `${perSecond(r.rate)} (rounds ${m.rates('ping', who)})`,
        ...(who === 'simulator' && pc ? { reference: `C ${perSecond(pc.rate)}`, ratio: r.rate / pc.rate } : {}) });
    }
  }
  checkAnswers(f, m, ['echo', 'ping']);
  if (sim && c) Report.verdict(f, sim.rate >= 0.9 * c.rate);
  Report.note(f, `Median of ${s.rounds} interleaved rounds of ${s.seconds} s. Whole-machine figures: load, kernel and responder share the cores. ` +
    'Rates count confirmed answers only (an Echo Reply from the lamp asked, with the request\'s identifier, sequence number and data). ' +
    'The load program (bench/driver/load.c) sends through a ping socket to lamps in a stride order that covers the /64\'s lamps; ' +
    '`ping -f -l 8` has one destination per process, so it cannot spread over the lamps and is shown only beside it.');
}

function reportCoap(f: Figure, s: NetworkSettings, m: Samples): void {
  let met = true;
  let measured = false;
  for (const [method, load] of [['GET /3311/0', 'get'], ['PUT /3311/0/5851', 'put']] as const) {
    const c = m.median(load, 'C reference');
    const sim = m.median(load, 'simulator');
    if (sim) {
      Report.row(f, { label: `simulator, ${method}`, value: `${perSecond(sim.rate)} (${latency(sim)}, errors ${sim.errors}, lost ${sim.lost}; rounds ${m.rates(load, 'simulator')})`,
        ...(c ? { reference: `C ${perSecond(c.rate)}`, ratio: sim.rate / c.rate } : {}) });
    }
    if (c) Report.row(f, { label: `C reference, ${method}`, value: `${perSecond(c.rate)} (${latency(c)}, errors ${c.errors}, lost ${c.lost}; rounds ${m.rates(load, 'C reference')})` });
    if (sim && c) {
      measured = true;
      met &&= sim.rate >= 0.6 * c.rate;
    }
  }
  checkAnswers(f, m, ['get', 'put']);
  if (measured) Report.verdict(f, met);
  Report.note(f, `Rates count confirmed answers only: an ACK from the lamp asked, with the request's message id and token, 2.05 for GET and 2.04 for PUT; any other answer is an error. ` +
    `Closed loop: one load process keeps ${s.coapWindow} CON requests in flight; each answer sends the next request to the next lamp (all ${count(s.lamps)} in turn). ` +
    'The simulator runs the firmware core per request (parse, resource table, de-duplication state, piggybacked ACK); the C reference swaps addresses and writes a fixed ACK of the same size.');
}

/** The first stdout line of a starting responder, `ready <device>`; returns the device name. */
function readyLine(child: ChildProcess, what: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} not ready within ${timeoutMs / 1000} s`)), timeoutMs);
    child.once('exit', (code) => reject(new Error(`${what} exited (${code})`)));
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      const match = /^ready (\S+)$/.exec(line);
      if (match) resolve(match[1]);
      else reject(new Error(`${what} said "${line}" instead of ready`));
    });
  });
}

function latency(r: LoadResult): string {
  return r.p50Us === null || r.p99Us === null ? 'no confirmed answer' : `p50 ${r.p50Us} µs, p99 ${r.p99Us} µs`;
}

/** The largest of percentiles, null if any process had no confirmed answer. */
function worst(values: (number | null)[]): number | null {
  return values.some((v) => v === null) ? null : Math.max(...(values as number[]));
}

/** `processes` load processes at once: rates and counts summed, the worst percentiles. */
async function parallelLoad(ns: Netns, native: NativePrograms, label: string, mode: string, lamps: number, window: number, seconds: number, processes: number): Promise<LoadResult> {
  const max = String(Math.ceil(seconds * 2_000_000));
  const runs = await Promise.all(Array.from({ length: processes }, () =>
    ns.mustRun(native.load, [mode, BENCH_PREFIX, String(lamps), String(window), String(seconds), max, LOAD_SOURCE], (seconds + 30) * 1000)));
  const results = runs.map((out) => JSON.parse(out.trim()) as LoadResult & { wrongSource: number });
  const sum = (key: 'sent' | 'answered' | 'errors' | 'lost' | 'rate'): number => results.reduce((a, r) => a + r[key], 0);
  const total: LoadResult = {
    sent: sum('sent'), answered: sum('answered'), errors: sum('errors'), lost: sum('lost'), rate: sum('rate'), answerBytes: results[0].answerBytes,
    seconds: Math.max(...results.map((r) => r.seconds)),
    p50Us: worst(results.map((r) => r.p50Us)),
    p99Us: worst(results.map((r) => r.p99Us)),
  };
  const wrongSource = results.reduce((a, r) => a + r.wrongSource, 0);
  console.log(`    ${label} ${perSecond(total.rate).padStart(10)}  ${latency(total)}  lost ${total.lost}  errors ${total.errors}` +
    (wrongSource > 0 ? ` (${wrongSource} from another address)` : ''));
  return total;
}

/** `pings` parallel `ping -f -l 8` to lamps spread over the range; replies per second, summed. */
async function pingFlood(ns: Netns, label: string, s: NetworkSettings): Promise<LoadResult> {
  const seconds = Math.max(1, Math.round(s.seconds));
  const runs = await Promise.all(Array.from({ length: s.pings }, (_, k) => {
    const lamp = 1 + Math.floor((k * s.lamps) / s.pings);
    return ns.run('ping', ['-6', '-f', '-l', '8', '-q', '-w', String(seconds), '-I', LOAD_SOURCE, lampAddress(lamp)], (seconds + 30) * 1000);
  }));
  let sent = 0;
  let received = 0;
  let errors = 0;
  let lost = 0;
  for (const r of runs) {
    const match = /(\d+) packets transmitted, (\d+) received(?:, \+(\d+) duplicates)?(?:, \+(\d+) errors)?/.exec(r.stdout);
    if (!match) throw new Error(`ping -f gave no statistics: ${(r.stderr || r.stdout).trim()}`);
    sent += Number(match[1]);
    received += Number(match[2]);
    errors += Number(match[3] ?? 0) + Number(match[4] ?? 0);
    lost += Math.max(0, Number(match[1]) - Number(match[2]) - PING_PRELOAD);
  }
  console.log(`    ${label} ${perSecond(received / seconds).padStart(10)}  (${s.pings} × ping -f -l 8)  lost ${lost}  errors ${errors}`);
  return { sent, answered: received, errors, lost, seconds, rate: received / seconds, p50Us: null, p99Us: null };
}

/** The formats figure's settings: the simulator's lamps, seconds per measurement, alternating rounds
 * and CoAP requests in flight. */
export interface FormatSettings {
  lamps: number;
  seconds: number;
  rounds: number;
  window: number;
  simNodeFlags: string[];
}

/**
 * Figure (issue 15): CoAP GET round trips with SenML JSON against text/plain, on the simulator
 * through TUN in a namespace of its own, driven by the same load program as the coap figure: GET
 * /3311/0 with Accept 110 (the instance the gateway observes, every readable resource) against GET
 * /3311/0/5851 with Accept 0 (one resource, as a plain CoAP client reads it), in alternating rounds.
 */
export async function measureFormats(native: NativePrograms, s: FormatSettings, report: Report): Promise<void> {
  const f = report.figure('formats', `CoAP GET round trips/s with SenML JSON vs text/plain, simulator with ${count(s.lamps)} lamps through TUN, ${s.window} in flight`,
    'none in issue 15: SenML JSON shown beside text/plain');
  let sim: Probe | null = null;
  let ns: Netns | null = null;
  const runs: Record<'senml' | 'text', LoadResult[]> = { senml: [], text: [] };
  try {
    ns = await benchNamespace('formats');
    sim = startProbe('tun-sim', ['--tun', 'lampnet-bf0', '--prefix', BENCH_PREFIX, '--lamps', String(s.lamps), '--trust', `${LOAD_SOURCE}/64`],
      { netns: ns, nodeFlags: ['--expose-gc', ...s.simNodeFlags] });
    await sim.next('ready', 180_000);
    for (let round = 1; round <= s.rounds; round++) {
      console.log(`  round ${round} of ${s.rounds}:`);
      for (const mode of ['senml', 'text'] as const) {
        runs[mode].push(await parallelLoad(ns, native, `${mode.padEnd(5)} simulator    `, mode, s.lamps, s.window, s.seconds, 1));
      }
    }
    const sorted = (mode: 'senml' | 'text'): LoadResult[] => runs[mode].slice().sort((a, b) => a.rate - b.rate);
    const median = (mode: 'senml' | 'text'): LoadResult => sorted(mode)[Math.floor(runs[mode].length / 2)];
    const worst = (mode: 'senml' | 'text'): LoadResult => sorted(mode)[0];
    const text = median('text');
    for (const [mode, what] of [['senml', 'GET /3311/0, Accept 110 (SenML JSON)'], ['text', 'GET /3311/0/5851, Accept 0 (text/plain)']] as const) {
      const m = median(mode);
      Report.row(f, { label: `${what}: answer ${m.answerBytes?.toFixed(0)} B`, value: `median ${perSecond(m.rate)} (${latency(m)}), worst ${perSecond(worst(mode).rate)}`,
        ...(mode === 'senml' ? { reference: `text/plain ${perSecond(text.rate)}`, ratio: m.rate / text.rate } : {}) });
    }
    for (const [mode, what] of [['senml', 'GET /3311/0 Accept 110: ACK 2.05 with Content-Format 110'], ['text', 'GET /3311/0/5851 Accept 0: ACK 2.05 with Content-Format 0']] as const) {
      const sum = (key: 'sent' | 'answered' | 'errors' | 'lost'): number => runs[mode].reduce((a, r) => a + r[key], 0);
      Report.answers(f, { what: `${what}, its message id and token, from the lamp asked`, sent: sum('sent'), confirmed: sum('answered'), errors: sum('errors'), lost: sum('lost'), bound: ANSWER_BOUND });
    }
    Report.shown(f);
    Report.note(f, `Median and worst of ${s.rounds} alternating rounds of ${s.seconds} s; closed loop, one load process keeping ${s.window} CON GETs in flight to all ${count(s.lamps)} lamps in turn (bench/driver/load.c). ` +
      'The instance read carries every readable resource of /3311/0 (5850, 5851, 5852, 5805) as SenML JSON, the text read one number; both go through the same parse, resource table and de-duplication state.');
  } catch (err) {
    Report.failed(f, err);
  } finally {
    await sim?.stop();
    await ns?.delete();
  }
}
