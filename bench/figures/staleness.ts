/** Figure 5: fleet aggregate staleness — a change to `lampnet/stats` showing it. */
import { runProbe } from '../child.js';
import { count, mib, Report } from '../report.js';

interface StalenessResult {
  lamps: number;
  samples: number;
  /** Samples whose change stats did not show within `boundMs`. */
  unshown: number;
  boundMs: number;
  backlogAtStart: number;
  registerS: number;
  aggregateMs: number;
  statsIntervalMs: number;
  p50Ms: number;
  maxMs: number;
  heapUsed: number;
  rss: number;
}

export async function measureStaleness(report: Report, s: { lamps: number; samples: number }, nodeFlags: string[]): Promise<void> {
  const f = report.figure('staleness', `Fleet aggregate staleness with ${count(s.lamps)} lamps`, '≤ 1 s');
  try {
    const r = await runProbe<StalenessResult>('staleness', ['--lamps', String(s.lamps), '--samples', String(s.samples)], 900_000,
      { nodeFlags: ['--max-old-space-size=12288', ...nodeFlags] });
    const max = r.unshown > 0 ? `${r.unshown} not shown within ${r.boundMs / 1000} s` : `max ${r.maxMs.toFixed(0)} ms`;
    Report.row(f, { label: `fault on a lamp → lampnet/stats counts it (${r.samples} samples)`, value: `p50 ${r.p50Ms.toFixed(0)} ms, ${max}`, reference: `stats period ${r.statsIntervalMs} ms` });
    Report.row(f, { label: 'one aggregation pass over the registry', value: `${r.aggregateMs.toFixed(1)} ms` });
    Report.row(f, { label: `boot + registration of ${count(r.lamps)} lamps through the gateway`, value: `${r.registerS.toFixed(1)} s (heap ${mib(r.heapUsed)}, RSS ${mib(r.rss)})` });
    Report.row(f, { label: 'gateway publish backlog when sampling began (lamps not yet published)', value: count(r.backlogAtStart) });
    Report.answers(f, { what: `driver faults given to random lamps, counted by a lampnet/stats message within ${r.boundMs / 1000} s`,
      sent: r.samples, confirmed: r.samples - r.unshown, errors: 0, lost: r.unshown, bound: { errors: 0, lost: 0 } });
    Report.verdict(f, r.unshown === 0 && r.maxMs <= 1000);
    Report.note(f, 'Fleet, gateway and embedded broker in one process; samples start at random phases of the stats period, so the figure spans the period plus the report and publish path.');
  } catch (err) {
    Report.failed(f, err);
  }
}
