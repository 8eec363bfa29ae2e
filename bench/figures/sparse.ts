/** Figure 7: the sparse fleet (`--lamps all`), heap per lamp touched by random addresses. */
import { runProbe } from '../child.js';
import { count, mib, Report } from '../report.js';

interface SparseResult {
  touches: number;
  touched: number;
  replies: number;
  seconds: number;
  heapBytes: number;
  bytesPerLamp: number;
  rss: number;
}

export async function measureSparse(report: Report, touches: number): Promise<void> {
  const f = report.figure('sparse', `Sparse --lamps all: memory per touched lamp after ${count(touches)} random addresses`, '≤ 400 B per touched lamp');
  try {
    const r = await runProbe<SparseResult>('sparse', ['--touches', String(touches)], 300_000, { nodeFlags: ['--expose-gc', '--max-old-space-size=8192'] });
    Report.row(f, { label: `${count(r.touched)} lamps touched (${count(r.replies)} echo replies)`, value: `${r.bytesPerLamp.toFixed(0)} B heap/lamp (${mib(r.heapBytes)}), RSS ${mib(r.rss)}` });
    Report.row(f, { label: 'touch rate (Echo Request to a new address, memory link)', value: `${count(r.touched / r.seconds)}/s` });
    if (touches >= 1_000_000) Report.verdict(f, r.bytesPerLamp <= 400);
  } catch (err) {
    Report.failed(f, err);
  }
}
