/**
 * The benchmark suite must not rot: CI runs its bounded smoke run (`--quick`) and checks that it
 * completes and writes every figure, each with confirmed answers within its bound and finite numbers
 * (a figure measured on a system that answers nothing, or wrongly, must fail, not show `NaN`). Never
 * a speed threshold — speed belongs to the full run and bench/RESULTS.md. Needs the built tree
 * (`npm test` builds first), root for the namespaces and cc (test/requirements.ts).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const FIGURES = ['echo', 'coap', 'formats', 'boot', 'mqtt', 'firmware', 'jsvars', 'siit', 'sparse', 'dashboard', 'staleness', 'bytes', 'register'];

interface Answers {
  what: string;
  sent: number;
  confirmed: number;
  errors: number;
  lost: number;
  passed: boolean;
}

interface Results {
  figures: { key: string; rows: { label: string; value: string; reference?: string; ratio?: number | null }[]; verdict: string; answers: Answers[]; notes: string[] }[];
}

/** Text that shows a number that was never measured. */
const NOT_A_NUMBER = /\b(NaN|Infinity|undefined|null)\b/;

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

  it('measures every figure (issues 7 and 15), each with at least one row and no failure note', async () => {
    await quickRun();
    const results = JSON.parse(readFileSync(json, 'utf8')) as Results;
    expect(results.figures.map((f) => f.key)).toEqual(FIGURES);
    for (const figure of results.figures) {
      expect(figure.notes.filter((n) => n.startsWith('not measured')), figure.key).toEqual([]);
      expect(figure.rows.length, figure.key).toBeGreaterThan(0);
    }
  }, 180_000);

  it('has every figure confirm at least one answer, with its errors and losses within its bound', async () => {
    await quickRun();
    const results = JSON.parse(readFileSync(json, 'utf8')) as Results;
    for (const figure of results.figures) {
      expect(figure.answers.length, `${figure.key} counts no answers`).toBeGreaterThan(0);
      for (const a of figure.answers) {
        for (const n of [a.sent, a.confirmed, a.errors, a.lost]) expect(Number.isFinite(n), `${figure.key}: ${a.what}`).toBe(true);
        expect(a.confirmed, `${figure.key}: ${a.what}`).toBeGreaterThan(0);
        expect(a.passed, `${figure.key}: ${a.what}: ${a.confirmed} confirmed of ${a.sent}, ${a.errors} errors, ${a.lost} lost`).toBe(true);
      }
      expect(figure.verdict, figure.key).not.toBe('failed');
    }
  }, 180_000);

  it('shows only finite numbers in every row', async () => {
    await quickRun();
    const results = JSON.parse(readFileSync(json, 'utf8')) as Results;
    for (const figure of results.figures) {
      for (const row of figure.rows) {
        expect(`${row.label} ${row.value} ${row.reference ?? ''}`, figure.key).not.toMatch(NOT_A_NUMBER);
        // JSON writes a NaN or infinite ratio as null.
        if ('ratio' in row) expect(Number.isFinite(row.ratio), `${figure.key}: ${row.label} ratio`).toBe(true);
      }
    }
  }, 180_000);

  it('writes the machine and the date beside the figures', async () => {
    await quickRun();
    const text = readFileSync(markdown, 'utf8');
    expect(text).toMatch(/^- Date: \d{4}-\d\d-\d\dT/m);
    expect(text).toMatch(/^- CPU: .+, \d+ cores$/m);
    expect(text).toMatch(/^- Node: v\d+/m);
    const summaryRows = text.split('\n').filter((line) => /^\| .+ \| (met|missed|shown|failed|not measured) \|$/.test(line));
    expect(summaryRows).toHaveLength(FIGURES.length);
  }, 180_000);
});
