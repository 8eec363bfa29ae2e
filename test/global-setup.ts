/**
 * Once per test run: before it, stop the run if a tool is missing under LAMPNET_REQUIRE_ALL=1
 * (test/requirements.ts; otherwise vitest.config.ts leaves out the suites that need it), and bring a
 * stale build up to date (the suites that run real processes run dist/, so `npx vitest` on an
 * edited tree would otherwise test old code in exactly those suites); after it, make sure no
 * Espruino interpreter the run started is left (it traps SIGTERM and spins a core).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ESPRUINO } from '../bench/espruino-board.js';
import { PROJECT_ROOT } from '../tools/espruino/paths.js';
import { describeMissing, missingRequirements, requireAll } from './requirements.js';

const SOURCE_TREES = ['protocol', 'firmware', 'tools', 'ipv6', 'sim', 'gateway', 'bench', 'cli'];

function sources(path: string): string[] {
  if (!statSync(path).isDirectory()) return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  return readdirSync(path).flatMap((name) => sources(join(path, name)));
}

/** Sources newer than what the build made of them (dist/<path>.js, and the firmware bundle). */
function staleOutputs(): string[] {
  const stale: string[] = [];
  const bundle = join(PROJECT_ROOT, 'dist', 'firmware', 'lampnet.js');
  for (const source of SOURCE_TREES.flatMap((tree) => sources(join(PROJECT_ROOT, tree)))) {
    const rel = relative(PROJECT_ROOT, source);
    const output = join(PROJECT_ROOT, 'dist', rel.replace(/\.ts$/, '.js'));
    // protocol/ is bundled into the firmware too.
    const outputs = rel.startsWith('firmware/') || rel.startsWith('protocol/') ? [output, bundle] : [output];
    for (const out of outputs) {
      if (!existsSync(out) || statSync(out).mtimeMs < statSync(source).mtimeMs) stale.push(`${relative(PROJECT_ROOT, out)} (from ${rel})`);
    }
  }
  return stale;
}

/** Marks the processes this run starts (children inherit it), so that a concurrent run's
 * interpreters on the same machine are not counted as this run's leaks. */
const RUN_MARK = `LAMPNET_TEST_RUN=${process.pid}`;
process.env.LAMPNET_TEST_RUN = String(process.pid);

/** PIDs of running Espruino interpreters from ../shared that this test run started. */
function interpreters(): number[] {
  if (!existsSync(ESPRUINO)) return [];
  const binary = realpathSync(ESPRUINO);
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/exe`) !== binary) continue;
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(RUN_MARK)) pids.push(Number(entry));
    } catch {
      // Gone already, or not ours to read.
    }
  }
  return pids;
}

let before = new Set<number>();

export function setup(): void {
  const missing = missingRequirements();
  if (missing.length > 0 && requireAll()) throw new Error(describeMissing(missing));
  const stale = staleOutputs();
  if (stale.length > 0) {
    console.log(`test setup: dist/ is older than its sources (${stale[0]}${stale.length > 1 ? ` and ${stale.length - 1} more` : ''}): npm run build`);
    // Under a lock: two test runs at once on one tree must not write dist/ at the same time.
    const build = spawnSync('flock', [join(tmpdir(), 'lampnet-build.lock'), 'npm', 'run', 'build', '--silent'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`npm run build failed (${build.status}), so dist/ would be stale:\n${build.stdout}${build.stderr}`);
    const still = staleOutputs();
    if (still.length > 0) throw new Error(`npm run build left dist/ older than its sources: ${still.slice(0, 5).join(', ')}`);
  }
  before = new Set(interpreters());
}

export function teardown(): void {
  const left = interpreters().filter((pid) => !before.has(pid));
  if (left.length === 0) return;
  const commands = left.map((pid) => {
    try {
      return `${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')}`;
    } catch {
      return String(pid);
    }
  });
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // It ended meanwhile.
    }
  }
  // vitest reports an error thrown here but exits 0: fail the run explicitly.
  process.exitCode = 1;
  throw new Error(`the test run left ${left.length} Espruino interpreter(s) running (now killed with SIGKILL): ${commands.join('; ')}`);
}
