/**
 * The benchmark suite must not rot: CI runs its bounded smoke run (`--quick`) and checks that it
 * completes and writes every figure. Never a speed threshold — speed belongs to the full run and
 * bench/RESULTS.md. Needs the built tree (`npm test` builds first) and root for the namespaces.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const FIGURES = ['echo', 'coap', 'boot', 'mqtt', 'firmware', 'jsvars', 'sparse', 'staleness'];

interface Results {
  figures: { key: string; rows: { value: string }[]; verdict: string; notes: string[] }[];
}

describe('npm run bench -- --quick', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lampnet-bench-test-'));
  const markdown = join(dir, 'RESULTS.md');
  const json = join(dir, 'results.json');
  let run: Promise<{ code: number; output: string }> | null = null;
  const quickRun = (): Promise<{ code: number; output: string }> => {
    run ??= new Promise((resolve) => {
      execFile(process.execPath, ['dist/bench/run.js', '--quick', '--out', markdown, '--json', json], { timeout: 170_000, maxBuffer: 16 << 20 },
        (err, stdout, stderr) => resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, output: stdout + stderr }));
    });
    return run;
  };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('completes within its bound and writes the results as markdown and JSON', async () => {
    const { code, output } = await quickRun();
    expect(code, output).toBe(0);
    expect(existsSync(markdown)).toBe(true);
    expect(existsSync(json)).toBe(true);
  }, 180_000);

  it('measures every figure of issue 7, each with at least one row and no failure note', async () => {
    await quickRun();
    const results = JSON.parse(readFileSync(json, 'utf8')) as Results;
    expect(results.figures.map((f) => f.key)).toEqual(FIGURES);
    for (const figure of results.figures) {
      expect(figure.notes.filter((n) => n.startsWith('not measured')), figure.key).toEqual([]);
      expect(figure.rows.length, figure.key).toBeGreaterThan(0);
    }
  }, 180_000);

  it('writes the machine and the date beside the figures', async () => {
    await quickRun();
    const text = readFileSync(markdown, 'utf8');
    expect(text).toMatch(/^- Date: \d{4}-\d\d-\d\dT/m);
    expect(text).toMatch(/^- CPU: .+, \d+ cores$/m);
    expect(text).toMatch(/^- Node: v\d+/m);
    const summaryRows = text.split('\n').filter((line) => /^\| .+ \| (met|missed|not measured) \|$/.test(line));
    expect(summaryRows).toHaveLength(FIGURES.length);
  }, 180_000);
});
