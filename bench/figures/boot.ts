/** Figure 3: boot of dense fleets — seconds, heap bytes per lamp, RSS — each in a fresh process. */
import { runProbe } from '../child.js';
import type { EchoCounts } from '../probes/echo-check.js';
import { count, mib, Report } from '../report.js';

interface BootResult {
  lamps: number;
  seconds: number;
  heapBytes: number;
  bytesPerLamp: number;
  rss: number;
  /** Echo Requests to lamps spread over the booted fleet. */
  echo: EchoCounts;
}

export async function measureBoot(report: Report, sizes: number[]): Promise<void> {
  const f = report.figure('boot', `Boot of ${sizes.map(count).join(' / ')} lamps`, '1M lamps: ≤ 5 s, ≤ 400 B heap per lamp');
  try {
    let last: BootResult | null = null;
    for (const lamps of sizes) {
      last = await runProbe<BootResult>('boot', ['--lamps', String(lamps)], 300_000, { nodeFlags: ['--expose-gc', '--max-old-space-size=8192'] });
      Report.row(f, { label: `${count(lamps)} lamps`, value: `${last.seconds.toFixed(2)} s, ${last.bytesPerLamp.toFixed(0)} B heap/lamp (${mib(last.heapBytes)}), RSS ${mib(last.rss)}` });
      // On the memory link nothing is lost: every lamp pinged must answer.
      Report.answers(f, { what: `${count(lamps)} lamps booted: Echo Requests to lamps spread over the fleet, Echo Reply from the lamp asked`,
        sent: last.echo.sent, confirmed: last.echo.confirmed, errors: last.echo.errors, lost: last.echo.lost, bound: { errors: 0, lost: 0 } });
    }
    if (last !== null && last.lamps >= 1_000_000) Report.verdict(f, last.seconds <= 5 && last.bytesPerLamp <= 400);
    Report.note(f, 'startSim on the memory link in a fresh `node --expose-gc` process; heap is heapUsed after full collections, after boot minus before; ' +
      'the clock is frozen so no registration is in flight (see bench/probes/boot.ts).');
  } catch (err) {
    Report.failed(f, err);
  }
}
