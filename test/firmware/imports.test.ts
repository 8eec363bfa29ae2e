/**
 * firmware/ is the lamp core and the board's code only: every import in it stays inside firmware/
 * or the shared contracts in protocol/, so nothing of Node, the simulator, the gateway or the
 * Node-side tools (tools/espruino/) can reach the bundle or the board.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ALLOWED_TREES = ['firmware/', 'protocol/'];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

it('imports nothing from outside firmware/ and protocol/ anywhere in firmware/', () => {
  const outside: string[] = [];
  for (const file of sources(join(ROOT, 'firmware'))) {
    for (const [, specifier] of readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)\b\s*(?:[^'"]*?from\s+)?['"]([^'"]+)['"]/gm)) {
      const target = specifier.startsWith('.') ? relative(ROOT, resolve(dirname(file), specifier)) : specifier;
      if (!ALLOWED_TREES.some((tree) => target.startsWith(tree))) outside.push(`${relative(ROOT, file)} imports ${specifier}`);
    }
  }
  expect(outside).toEqual([]);
});
