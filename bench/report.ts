/**
 * The bench's results: figures made of rows (a measurement, its value, the reference measured in the
 * same run and the ratio between them), each printed the moment it is measured and written together
 * into bench/RESULTS.md (and optionally JSON) at the end, with the machine and the date.
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { Machine } from './machine.js';

export interface Row {
  label: string;
  value: string;
  reference?: string;
  /** value / reference, when both are rates or sizes of the same kind. */
  ratio?: number;
}

/** `failed`: the measurement's own answers were wrong or missing beyond their bound, so its speed
 * or size says nothing about the system; this verdict outranks met, missed and shown. `shown`: a
 * figure with no target, measured and shown beside its reference. */
export type Verdict = 'met' | 'missed' | 'shown' | 'failed' | 'not measured';

/**
 * How the requests behind a measurement were answered, counted by what sent them. A figure counts
 * only confirmed answers (from the party asked, with the answer asked for), so a system that answers
 * with errors, from the wrong address, or not at all cannot pass by being fast.
 */
export interface Answers {
  /** What was sent and what counts as its confirmed answer. */
  what: string;
  sent: number;
  confirmed: number;
  /** Answers that came back wrong (an error code, another source, other content). */
  errors: number;
  /** Requests never answered. */
  lost: number;
  /** Most errors and losses tolerated, each as a share of `sent`. */
  bound: { errors: number; lost: number };
  /** Whether at least one answer was confirmed, every count is finite and within its bound. */
  passed: boolean;
}

export interface Figure {
  /** Stable key (`echo`, `coap`, `boot`, `mqtt`, `staleness`, `firmware`, `sparse`, `dashboard`, `soak`). */
  key: string;
  title: string;
  target: string;
  rows: Row[];
  verdict: Verdict;
  answers: Answers[];
  notes: string[];
}

export class Report {
  readonly figures: Figure[] = [];
  readonly startedAt = new Date();
  private readonly startedMs = performance.now();
  /** The 1-minute load average when the run began: other work on the machine skews every figure. */
  readonly loadAtStart = loadavg()[0];

  constructor(readonly machine: Machine, readonly mode: string, readonly command: string) {}

  /** Begin a figure; its rows print as they are added. */
  figure(key: string, title: string, target: string): Figure {
    const figure: Figure = { key, title, target, rows: [], verdict: 'not measured', answers: [], notes: [] };
    this.figures.push(figure);
    console.log(`\n== ${title}  (target: ${target})`);
    return figure;
  }

  static row(figure: Figure, row: Row): void {
    figure.rows.push(row);
    const ref = row.reference === undefined ? '' : `   reference ${row.reference}`;
    const ratio = row.ratio === undefined ? '' : `   ratio ${row.ratio.toFixed(2)}×`;
    console.log(`  ${row.label.padEnd(58)} ${row.value}${ref}${ratio}`);
  }

  static note(figure: Figure, text: string): void {
    figure.notes.push(text);
    console.log(`  note: ${text}`);
  }

  static verdict(figure: Figure, met: boolean): void {
    if (figure.verdict === 'failed') return;
    figure.verdict = met ? 'met' : 'missed';
    console.log(`  => target ${figure.verdict}`);
  }

  /** A figure without a target was measured: shown beside its reference, judged by nothing. */
  static shown(figure: Figure): void {
    if (figure.verdict === 'failed') return;
    figure.verdict = 'shown';
    console.log('  => shown (no target)');
  }

  /** Record how a measurement's requests were answered; beyond the bound the figure has failed. */
  static answers(figure: Figure, a: Omit<Answers, 'passed'>): void {
    const counts = [a.sent, a.confirmed, a.errors, a.lost];
    const passed = counts.every(Number.isFinite) && a.confirmed >= 1 && a.errors <= a.bound.errors * a.sent && a.lost <= a.bound.lost * a.sent;
    figure.answers.push({ ...a, passed });
    console.log(`  answers: ${describeAnswers({ ...a, passed })}`);
    if (!passed) {
      figure.verdict = 'failed';
      console.log(`  => failed: answers beyond their bound`);
    }
  }

  /** A figure that could not be measured: the reason is recorded, the run goes on. */
  static failed(figure: Figure, err: unknown): void {
    if (figure.verdict !== 'failed') figure.verdict = 'not measured';
    Report.note(figure, `not measured: ${err instanceof Error ? err.message : String(err)}`);
  }

  /** Titles of the figures whose answers failed their bound. */
  failures(): string[] {
    return this.figures.filter((f) => f.verdict === 'failed').map((f) => f.title);
  }

  markdown(): string {
    const m = this.machine;
    const lines = [
      '# lampnet benchmark results',
      '',
      `Written by \`${this.command}\` (${this.mode}) — rewritten by every run of that mode. Each figure is measured beside its reference in the same run on the same machine; ratios are A/B.`,
      '',
      `- Date: ${this.startedAt.toISOString()} (run took ${Math.round((performance.now() - this.startedMs) / 1000)} s)`,
      `- CPU: ${m.cpu}, ${m.cores} cores`,
      `- Memory: ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB`,
      `- Node: ${m.node}; kernel: ${m.kernel}`,
      `- Tree: ${m.tree}`,
      `- Load average (1 min) at start ${this.loadAtStart.toFixed(1)}, at end ${loadavg()[0].toFixed(1)}: anything above 0 is other work sharing the cores with the bench`,
      '',
      '## Summary',
      '',
      '| figure | target | verdict |',
      '|---|---|---|',
      ...this.figures.map((f) => `| ${f.title} | ${f.target} | ${f.verdict} |`),
      '',
      'Causes of the misses, found with profiles, and the fixes made: [ANALYSIS.md](ANALYSIS.md).',
      '',
      'Every figure counts only confirmed answers (from the lamp or party asked, with the answer asked for) and states how many errors and losses it tolerates; ' +
        'beyond that bound, or with no confirmed answer, its verdict is **failed** whatever its speed, and the run exits with status 1.',
    ];
    for (const f of this.figures) {
      lines.push('', `## ${f.title}`, '', `Target: ${f.target}. Verdict: **${f.verdict}**.`, '');
      if (f.rows.length > 0) {
        lines.push('| measurement | value | reference (same run) | ratio |', '|---|---|---|---|');
        for (const r of f.rows) lines.push(`| ${r.label} | ${r.value} | ${r.reference ?? ''} | ${r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}×`} |`);
      }
      if (f.answers.length > 0) lines.push('', ...f.answers.map((a) => `- Answers: ${describeAnswers(a)}`));
      if (f.notes.length > 0) lines.push('', ...f.notes.map((n) => `- ${n}`));
    }
    return `${lines.join('\n')}\n`;
  }

  write(markdownPath: string, jsonPath: string | null): void {
    writeFileSync(markdownPath, this.markdown());
    if (jsonPath !== null) {
      writeFileSync(jsonPath, `${JSON.stringify({ machine: this.machine, mode: this.mode, startedAt: this.startedAt, figures: this.figures }, null, 2)}\n`);
    }
  }
}

function describeAnswers(a: Answers): string {
  const share = (x: number): string => (x === 0 ? 'none' : `≤ ${+(x * 100).toFixed(2)}%`);
  return `${a.what}: ${count(a.confirmed)} confirmed of ${count(a.sent)} sent, ${count(a.errors)} errors, ${count(a.lost)} lost ` +
    `(bound: errors ${share(a.bound.errors)}, lost ${share(a.bound.lost)}) — ${a.passed ? 'within bound' : 'FAILED'}`;
}

/** `1234567` → `1,234,567`. */
export function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function perSecond(n: number): string {
  return `${count(n)}/s`;
}

export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}
