/**
 * `npm run bench`: the benchmark suite — every figure measured beside its reference in the
 * same run, printed as it goes, and written with the machine and the date into bench/RESULTS.md.
 *
 *   node dist/bench/run.js             full run (≤ 15 min), rewrites bench/RESULTS.md
 *   node dist/bench/run.js --quick     bounded smoke run (≤ 2 min) of every figure at small scale
 *   node dist/bench/run.js --soak      the soak: 1,000,000 lamps at --speed 60 under commands
 *
 * Network figures run inside a namespace the bench creates and deletes (bench/netns.ts); figures
 * that need a clean heap or a profile run in probe processes (bench/child.ts). A figure that fails is
 * recorded as not measured, with the reason, and the run goes on. A figure whose answers fail their
 * bound (report.ts, Answers) is recorded as failed, and the run exits with status 1.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { measureBoot } from './figures/boot.js';
import { measureBytes } from './figures/bytes.js';
import { measureDashboard } from './figures/dashboard.js';
import { measureFirmware, measureJsVars } from './figures/firmware.js';
import { measureMqtt } from './figures/mqtt.js';
import { measureFormats, measureNetwork } from './figures/network.js';
import { measureRegister } from './figures/register.js';
import { measureSoak } from './figures/soak.js';
import { measureSparse } from './figures/sparse.js';
import { measureStaleness } from './figures/staleness.js';
import { measureSiit } from './figures/siit.js';
import { describeMachine } from './machine.js';
import { benchSourceDir, buildNative } from './native.js';
import { Report } from './report.js';

const FIGURES = ['echo', 'coap', 'formats', 'boot', 'mqtt', 'firmware', 'jsvars', 'siit', 'sparse', 'dashboard', 'staleness', 'bytes', 'register'] as const;

const HELP = `Usage: npm run bench -- [options]

Measures lampnet against references in the same run and writes the figures with the machine and date.

  --quick              bounded smoke run (≤ 2 min): every figure at small scale; writes to
                       ${join(tmpdir(), 'lampnet-bench-quick.md')} unless --out is given
  --soak               soak: 1,000,000 lamps at --speed 60 with steady MQTT commands;
                       reports heap at start and end and every queue's size (not part of a full run)
  --soak-minutes <n>   soak duration in wall-clock minutes (default 30)
  --soak-lamps <n>     soak fleet size (default 1000000)
  --soak-lifetime <s>  the lamps' registration lifetime in simulated seconds (default 86400, LwM2M's
                       day; each lamp refreshes once per lifetime, 60 times faster at --speed 60)
  --only <list>        measure only these figures, comma-separated: ${FIGURES.join(', ')}
  --profile <dir>      run the simulator and MQTT probes under node --cpu-prof, profiles into <dir>
  --out <file>         markdown results (default bench/RESULTS.md for a full run)
  --json <file>        also write the results as JSON
  -h, --help           this text

Every figure counts only confirmed answers (the right address, code and content) against a stated
bound of errors and losses; beyond it the figure is 'failed' whatever its speed, and the run exits 1.

Needs root (network namespaces, TUN), cc, ping (iputils), /usr/bin/chromium (the dashboard figure) and a
built tree (npm run build).
Every network figure runs inside namespaces lampnet-bench-<pid>-<responder>, deleted at the end.`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      soak: { type: 'boolean', default: false },
      'soak-minutes': { type: 'string', default: '30' },
      'soak-lamps': { type: 'string', default: '1000000' },
      'soak-lifetime': { type: 'string', default: '86400' },
      only: { type: 'string' },
      profile: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  if (values.quick && values.soak) throw new Error('--quick and --soak are different runs; give one');
  const only = values.only === undefined ? [...FIGURES] : values.only.split(',').map((f) => f.trim());
  for (const f of only) if (!(FIGURES as readonly string[]).includes(f)) throw new Error(`--only: unknown figure "${f}" (expected some of ${FIGURES.join(', ')})`);
  const mode = values.soak ? 'soak' : values.quick ? 'quick' : 'full';
  const out = values.out ?? (mode === 'full' && values.only === undefined ? join(benchSourceDir(), 'RESULTS.md') : join(tmpdir(), `lampnet-bench-${mode}.md`));
  const cpuProf = values.profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${values.profile}`];
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const report = new Report(describeMachine(), mode, command);
  const m = report.machine;
  console.log(`lampnet bench (${mode}) on ${m.cpu}, ${m.cores} cores, ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB, Node ${m.node}, ${m.kernel}`);

  if (mode === 'soak') {
    await measureSoak(report, {
      lamps: positive(values['soak-lamps'], '--soak-lamps'),
      minutes: positive(values['soak-minutes'], '--soak-minutes'),
      lifetimeS: positive(values['soak-lifetime'], '--soak-lifetime'),
      nodeFlags: cpuProf,
    });
  } else {
    await measureSuite(report, mode === 'quick', new Set(only), cpuProf);
  }
  report.write(out, values.json ?? null);
  console.log(`\nresults written to ${out}${values.json ? ` and ${values.json}` : ''}`);
  const failures = report.failures();
  if (failures.length > 0) {
    console.error(`bench: ${failures.length} figure(s) failed their answer checks: ${failures.join('; ')}`);
    process.exitCode = 1;
  }
}

async function measureSuite(report: Report, quick: boolean, only: Set<string>, cpuProf: string[]): Promise<void> {
  if (only.has('echo') || only.has('coap') || only.has('formats')) {
    const native = await buildNative();
    try {
      if (only.has('echo') || only.has('coap')) {
        await measureNetwork(native, quick
          ? { lamps: 10_000, seconds: 1, rounds: 1, echoLoads: 2, echoWindow: 8, pings: 2, coapWindow: 64, simNodeFlags: cpuProf }
          : { lamps: 1_000_000, seconds: 4, rounds: 5, echoLoads: 4, echoWindow: 8, pings: 8, coapWindow: 64, simNodeFlags: cpuProf }, report);
      }
      if (only.has('formats')) {
        await measureFormats(native, quick
          ? { lamps: 10_000, seconds: 1, rounds: 1, window: 64, simNodeFlags: cpuProf }
          : { lamps: 1_000_000, seconds: 4, rounds: 5, window: 64, simNodeFlags: cpuProf }, report);
      }
    } finally {
      native.dispose();
    }
  }
  if (only.has('boot')) await measureBoot(report, quick ? [10_000] : [10_000, 100_000, 1_000_000]);
  if (only.has('mqtt')) await measureMqtt(report, quick ? { lamps: 5000, rates: [1000, 10_000], seconds: 0.5 } : { lamps: 10_000, rates: [1000, 10_000], seconds: 5 }, cpuProf);
  if (only.has('firmware')) await measureFirmware(report);
  if (only.has('jsvars')) await measureJsVars(report, quick ? 1 : 5, quick ? 100 : 1000);
  if (only.has('siit')) await measureSiit(report, quick ? { pings: 5000, gets: 100, rounds: 1 } : { pings: 20_000, gets: 500, rounds: 3 });
  if (only.has('sparse')) await measureSparse(report, quick ? 10_000 : 1_000_000);
  if (only.has('dashboard')) await measureDashboard(report, quick ? { lamps: 5000, loads: 3 } : { lamps: 100_000, loads: 5 });
  // Last: a million lamps registering through the gateway are the longest steps of the run.
  if (only.has('staleness')) await measureStaleness(report, quick ? { lamps: 10_000, samples: 3 } : { lamps: 1_000_000, samples: 10 }, cpuProf);
  if (only.has('bytes')) await measureBytes(report, quick ? { lamps: 5000, runs: 1 } : { lamps: 100_000, runs: 3 });
  if (only.has('register')) await measureRegister(report, quick ? { lamps: 5000, runs: 1 } : { lamps: 1_000_000, runs: 1 });
}

function positive(text: string | undefined, name: string): number {
  const v = Number(text);
  if (!(v > 0)) throw new Error(`${name} must be a positive number, got "${text}"`);
  return v;
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
