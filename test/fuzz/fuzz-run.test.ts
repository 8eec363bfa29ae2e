/**
 * `npm run fuzz` as a specification: the bounded CI run (100,000 hostile packets, fixed seed)
 * throws nothing and accounts for every packet, and a seed and a count replay a run exactly, in
 * process and from the command line.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatReport } from '../../tools/fuzz/report.js';
import { DEFAULT_COUNT, DEFAULT_SEED, runFuzz, type FuzzReport } from '../../tools/fuzz/run.js';
import { bundleScript } from '../helpers/bundle.js';

/** A report without its wall-clock time and heap size, the things a replay may change. */
function replayable(report: FuzzReport): Omit<FuzzReport, 'seconds' | 'heapMB'> {
  const { seconds: _seconds, heapMB: _heapMB, ...rest } = report;
  return rest;
}

describe('the fuzzer in process', () => {
  it('runs the CI run (100,000 packets, fixed seed) with no exception and every packet accounted for', async () => {
    const report = await runFuzz({ seed: DEFAULT_SEED, count: DEFAULT_COUNT });
    expect(report.failure, report.failure ? formatReport(report) : '').toBeNull();
    expect(report.packets).toBe(DEFAULT_COUNT);
    expect(report.targets.reduce((sum, t) => sum + t.injected, 0)).toBe(DEFAULT_COUNT);
    for (const t of report.targets) {
      expect(t.host.received).toBe(t.injected + t.gatewayAnswers);
      expect(t.dispositions).toBe(t.injected + t.gatewayAnswers);
      // What the lamps were sent reached them: answers, errors and the lamps' own CoAP all occur.
      expect(t.sent.echoReplies).toBeGreaterThan(0);
      expect(t.sent.unreachables).toBeGreaterThan(0);
      expect(t.sent.lampDatagrams).toBeGreaterThan(0);
    }
    expect(report.codec.wellFormed).toBeGreaterThan(0);
    expect(report.codec.checked).toBeGreaterThan(report.codec.wellFormed);
  }, 600_000);

  it('sends the dense fleet\'s registrations through the real gateway directory, which registers the lamps', async () => {
    const report = await runFuzz({ seed: DEFAULT_SEED, count: 10_000 });
    expect(report.failure, report.failure ? formatReport(report) : '').toBeNull();
    const [dense, sparse] = report.targets;
    expect(dense.gateway).not.toBeNull();
    // Nearly all of the 1,000 lamps: some registrations are lost, some lamps powered down.
    expect(dense.gateway!.lamps).toBeGreaterThan(900);
    expect(dense.gateway!.registered).toBeGreaterThanOrEqual(dense.gateway!.lamps);
    expect(dense.gateway!.updated + dense.gateway!.lost).toBeGreaterThan(0);
    expect(dense.gatewayAnswers).toBeGreaterThanOrEqual(dense.gateway!.registered);
    expect(dense.lampCoapCodes['0.02']).toBeGreaterThanOrEqual(dense.gateway!.registered);
    expect(sparse.gateway).toBeNull();
  }, 600_000);

  it('replays the same counters from the same seed and count', async () => {
    const first = await runFuzz({ seed: 42, count: 20_000 });
    const second = await runFuzz({ seed: 42, count: 20_000 });
    expect(first.failure).toBeNull();
    expect(replayable(second)).toEqual(replayable(first));
  }, 600_000);

  it('gives different packets for a different seed', async () => {
    const a = await runFuzz({ seed: 1, count: 5_000 });
    const b = await runFuzz({ seed: 2, count: 5_000 });
    expect(replayable(b).targets).not.toEqual(replayable(a).targets);
  }, 600_000);

  it('names the seed, the packet, its bytes and the command that replays it when a run fails', () => {
    const text = formatReport({
      seed: 7, count: 10, packets: 4, seconds: 0.1, heapMB: { start: 20, end: 21 }, targets: [], codec: { checked: 0, wellFormed: 0, rejected: {} },
      failure: { kind: 'exception', message: 'TypeError: boom', seed: 7, index: 3, target: 'dense', hex: '6000000000083a40' },
    });
    expect(text).toContain('FAILED (exception) at packet 3 for the dense fleet, seed 7: TypeError: boom');
    expect(text).toContain('packet (hex): 6000000000083a40');
    expect(text).toContain('reproduce: npm run fuzz -- --seed 7 --count 4');
  });
});

describe('the fuzz command line', () => {
  let script = '';
  beforeAll(async () => {
    script = await bundleScript('tools/fuzz/cli.ts');
  });
  afterAll(() => {
    if (script) rmSync(script, { force: true });
  });

  const fuzz = (...args: string[]) => spawnSync('node', [script, ...args], { encoding: 'utf8', timeout: 300_000 });

  it('prints the same counters for --seed N --count M twice, and exits 0', () => {
    const runs = [fuzz('--seed', '9', '--count', '3000', '--json'), fuzz('--seed', '9', '--count', '3000', '--json')];
    for (const run of runs) expect(run.status, run.stderr).toBe(0);
    const [first, second] = runs.map((run) => replayable(JSON.parse(run.stdout) as FuzzReport));
    expect(first.packets).toBe(3000);
    expect(second).toEqual(first);
  }, 600_000);

  it('prints a table of counters that ends in OK', () => {
    const run = fuzz('--seed', '3', '--count', '2000');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^seed 3: 2000 packets in /);
    expect(run.stdout).toContain('drop.payloadLengthExceedsFrame');
    expect(run.stdout).toContain('(equals packets injected + answers)');
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('OK: no exception, every packet accounted for, every packet sent well-formed');
  }, 600_000);

  it('says it checked nothing for --count 0, and exits 1', () => {
    const run = fuzz('--count', '0');
    expect(run.status, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/^seed 1: 0 packets in /);
    expect(run.stdout).not.toContain('OK');
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('NOTHING CHECKED: no packet was sent (--count 0), so this run says nothing about the code');
  }, 600_000);

  it('explains its options with --help', () => {
    const run = fuzz('--help');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('--seed <n>');
    expect(run.stdout).toContain('--count <n>');
  });

  it('refuses a count that is not a number, naming the option and the input', () => {
    const run = fuzz('--count', 'many');
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('--count must be a non-negative integer, got "many"');
  });
});
