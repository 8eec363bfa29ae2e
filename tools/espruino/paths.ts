/**
 * Where the project and the firmware's sources and build output are, for the Node-side tools
 * (build.ts, the `lampnet` command, tests and benches), which run from their sources under vitest
 * and from dist/ once compiled (dist/tools/espruino/, dist/cli/): all find the project root above
 * them, so the paths below are the same from either.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'lampnet') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no lampnet package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

export const PROJECT_ROOT = projectRoot();
/** The bundled entry (TypeScript source; the bundler compiles it with the core). */
export const FIRMWARE_ENTRY = join(PROJECT_ROOT, 'firmware', 'espruino', 'main.ts');
/** What `npm run build` writes and `lampnet firmware` sends. */
export const FIRMWARE_BUNDLE = join(PROJECT_ROOT, 'dist', 'firmware', 'lampnet.js');
