/**
 * What every probe (a child process of the bench, see bench/child.ts) shares: its JSON-line replies,
 * a heap measurement after full collections, and its command-line options as numbers.
 */
import { createInterface } from 'node:readline';

export function reply(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

export function progress(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Heap in use after collecting everything collectable (the probe runs with --expose-gc). */
export function settledHeap(): number {
  return settledMemory().heapUsed;
}

/** After collecting everything collectable: the JS heap in use, and the memory of ArrayBuffers
 * (typed-array columns live there, outside the heap), and their sum. */
export function settledMemory(): { heapUsed: number; arrayBuffers: number; bytes: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('probe needs node --expose-gc to measure the heap');
  for (let i = 0; i < 3; i++) gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return { heapUsed, arrayBuffers, bytes: heapUsed + arrayBuffers };
}

/** Option `--name value` from argv as a number, or `fallback`. */
export function numberArg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const v = Number(process.argv[at + 1]);
  if (!Number.isFinite(v)) throw new Error(`--${name} must be a number, got "${process.argv[at + 1]}"`);
  return v;
}

export function stringArg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : (process.argv[at + 1] ?? fallback);
}

/** Run `main`, reporting a failure as `{"error"}` and exiting either way. */
export function runMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      reply({ error: err instanceof Error ? err.stack ?? err.message : String(err) });
      process.exit(1);
    },
  );
}

/** Lines of commands on stdin; `onEnd` when stdin closes. */
export function commands(onLine: (line: string) => void, onEnd: () => void): void {
  createInterface({ input: process.stdin }).on('line', onLine).on('close', onEnd);
}
