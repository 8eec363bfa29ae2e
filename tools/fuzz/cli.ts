/**
 * `npm run fuzz` (node dist/tools/fuzz/cli.js): the fuzz run from the command line, its report on
 * stdout, exit status 0 only for a run that checked packets and found nothing wrong.
 */
import { pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { formatReport, passed } from './report.js';
import { DEFAULT_COUNT, DEFAULT_LAMPS, DEFAULT_SEED, runFuzz } from './run.js';

function wholeNumber(what: string) {
  return (text: string): number => {
    const v = Number(text);
    if (!Number.isSafeInteger(v) || v < 0) throw new InvalidArgumentError(`${what} must be a non-negative integer, got "${text}"`);
    return v;
  };
}

async function main(argv: string[]): Promise<number> {
  const program = new Command('fuzz')
    .description('Hostile IPv6 packets through simulated fleets (memory link) and the CoAP codec, with exact accounting')
    .option('--seed <n>', 'PRNG seed; the same seed and count replay the same run', wholeNumber('--seed'), DEFAULT_SEED)
    .option('--count <n>', 'packets to send', wholeNumber('--count'), DEFAULT_COUNT)
    .option('--lamps <n>', 'lamps in the dense fleet (a sparse fleet runs beside it)', wholeNumber('--lamps'), DEFAULT_LAMPS)
    .option('--json', 'print the report as JSON instead of a table')
    .parse(argv);
  const opts = program.opts<{ seed: number; count: number; lamps: number; json?: boolean }>();
  // A progress line rewritten in place on a terminal; a line every 10 s into a log.
  const tty = process.stderr.isTTY === true;
  let lastPrint = 0;
  const startedAt = performance.now();
  const report = await runFuzz({
    seed: opts.seed, count: opts.count, lamps: opts.lamps,
    onProgress: (done, count) => {
      const now = performance.now();
      if (now - lastPrint < (tty ? 1000 : 10_000)) return;
      lastPrint = now;
      const rate = done / ((now - startedAt) / 1000);
      const line = `${done}/${count} packets (${(100 * done / count).toFixed(1)}%), ${Math.round(rate)}/s`;
      process.stderr.write(tty ? `\r${line}   ` : `${line}\n`);
    },
  });
  if (lastPrint > 0 && tty) process.stderr.write('\n');
  process.stdout.write(`${opts.json ? JSON.stringify(report, null, 2) : formatReport(report)}\n`);
  return passed(report) ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv).then((code) => { process.exitCode = code; }, (e: Error) => {
    // Only setting up can fail here; the run itself reports its failures. A bad option is an Error
    // that names it; anything else (a TypeError in a fleet's boot) needs its stack.
    console.error(`fuzz: ${e.constructor === Error ? e.message : e.stack}`);
    process.exitCode = 1;
  });
}
