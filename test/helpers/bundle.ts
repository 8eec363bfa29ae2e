/**
 * Turn a TypeScript entry (a helper process for a test) into one runnable .mjs under
 * test-artifacts/, so child processes run the same sources the tests import, without a prior build.
 * The output stays inside the repository, so the TUN link still finds the addon in build/Release.
 */
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export async function bundleScript(entryFromRoot: string): Promise<string> {
  const dir = join(ROOT, 'test-artifacts');
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, `${basename(entryFromRoot, '.ts')}-${process.pid}.mjs`);
  await build({
    entryPoints: [join(ROOT, entryFromRoot)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'error',
  });
  return outfile;
}
