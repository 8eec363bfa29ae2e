/** Figure 7: the sparse fleet (`--lamps all`), heap per lamp touched by random addresses. */
import { runProbe } from '../child.js';
import type { EchoCounts } from '../probes/echo-check.js';
import { count, mib, Report } from '../report.js';

interface SparseResult {
  touches: number;
  touched: number;
  echo: EchoCounts;
  seconds: number;
  heapBytes: number;
  bytesPerLamp: number;
  rss: number;
}

export async function measureSparse(report: Report, touches: number): Promise<void> {
  const f = report.figure('sparse', `Sparse --lamps all: memory per touched lamp after ${count(touches)} random addresses`, '≤ 400 B per touched lamp');
  try {
    const r = await runProbe<SparseResult>('sparse', ['--touches', String(touches)], 300_000, { nodeFlags: ['--expose-gc', '--max-old-space-size=8192'] });
    Report.row(f, { label: `${count(r.touched)} lamps touched (${count(r.echo.confirmed)} echo replies confirmed)`, value: `${r.bytesPerLamp.toFixed(0)} B heap/lamp (${mib(r.heapBytes)}), RSS ${mib(r.rss)}` });
    Report.row(f, { label: 'touch rate (Echo Request to a new address, memory link)', value: `${count(r.touched / r.seconds)}/s` });
    // Every touched address is a lamp that answers: the memory link loses nothing, so no bound but zero.
    Report.answers(f, { what: 'Echo Requests to random addresses, Echo Reply from the address asked with its identifier and sequence number',
      sent: r.echo.sent, confirmed: r.echo.confirmed, errors: r.echo.errors, lost: r.echo.lost, bound: { errors: 0, lost: 0 } });
    if (touches >= 1_000_000) Report.verdict(f, r.bytesPerLamp <= 400);
  } catch (err) {
    Report.failed(f, err);
  }
}
