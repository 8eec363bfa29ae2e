/**
 * The bench's C programs (bench/reference/tun-responder.c, bench/driver/load.c), compiled with `cc`
 * at run time into a temporary directory that `dispose()` removes.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativePrograms {
  /** The reference TUN responder (echo and CoAP). */
  responder: string;
  /** The load generator every responder is driven with. */
  load: string;
  dispose(): void;
}

/** bench/ in the source tree, from dist/bench/ or from bench/ itself. */
export function benchSourceDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return here.includes(`${join('dist', 'bench')}`) ? join(here, '..', '..', 'bench') : here;
}

export async function buildNative(): Promise<NativePrograms> {
  const dir = mkdtempSync(join(tmpdir(), 'lampnet-bench-'));
  const src = benchSourceDir();
  const programs = { responder: join(dir, 'tun-responder'), load: join(dir, 'load') };
  try {
    await cc(join(src, 'reference', 'tun-responder.c'), programs.responder);
    await cc(join(src, 'driver', 'load.c'), programs.load);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return { ...programs, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

function cc(source: string, output: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('cc', ['-O2', '-Wall', '-o', output, source], (err, _stdout, stderr) => {
      if (err === null) return resolve();
      reject(new Error(`compiling ${source} with cc failed: ${(stderr || err.message).trim()}`));
    });
  });
}
