/** Figure 3: boot of dense fleets — seconds, heap bytes per lamp, RSS — each in a fresh process. */
import { runProbe } from '../child.js';
import { count, mib, Report } from '../report.js';

interface BootResult {
  lamps: number;
  seconds: number;
  heapBytes: number;
  bytesPerLamp: number;
  rss: number;
}

export async function measureBoot(report: Report, sizes: number[]): Promise<void> {
  const f = report.figure('boot', `Boot of ${sizes.map(count).join(' / ')} lamps`, '1M lamps: ≤ 5 s, ≤ 400 B heap per lamp');
  try {
    let last: BootResult | null = null;
    for (const lamps of sizes) {
      last = await runProbe<BootResult>('boot', ['--lamps', String(lamps)], 300_000, { nodeFlags: ['--expose-gc', '--max-old-space-size=8192'] });
      Report.row(f, { label: `${count(lamps)} lamps`, value: `${last.seconds.toFixed(2)} s, ${last.bytesPerLamp.toFixed(0)} B heap/lamp (${mib(last.heapBytes)}), RSS ${mib(last.rss)}` });
    }
    if (last !== null && last.lamps >= 1_000_000) Report.verdict(f, last.seconds <= 5 && last.bytesPerLamp <= 400);
    Report.note(f, 'startSim on the memory link in a fresh `node --expose-gc` process; heap is heapUsed after full collections, after boot minus before; ' +
      'the clock is frozen so no registration is in flight (see bench/probes/boot.ts).');
  } catch (err) {
    Report.failed(f, err);
  }
}
