/**
 * OSCORE as the lamp runs it: protocol/oscore built as the board's bundle is built (ES5, minified,
 * short diagnostics) and run on the real Espruino interpreter (../shared/espruino/espruino) over the
 * board's own AES-128 and SHA-256 (firmware/espruino/primitives.ts) gives RFC 8613 Appendix C byte
 * for byte, and refuses what Node refuses, with one letter per reason.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ESPRUINO } from '../../bench/espruino-board.js';
import { bundleFirmware } from '../../tools/espruino/build.js';
import { espruinoProblems } from '../../tools/espruino/espruino-compat.js';
import { usePrimitives } from '../../protocol/oscore/crypto.js';
import { nodePrimitives } from '../../protocol/oscore/node-primitives.js';
import { RFC8613_APPENDIX_C, oscoreRefusals } from './oscore-vectors.js';

const ENTRY = fileURLToPath(new URL('./oscore-board-entry.ts', import.meta.url));
let dir = '';
let bundle = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lampnet-oscore-'));
  bundle = await bundleFirmware(ENTRY);
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('OSCORE on the Espruino interpreter', () => {
  it('bundles into code Espruino can run', () => {
    expect(espruinoProblems(bundle)).toEqual([]);
  });

  it('gives RFC 8613 Appendix C byte for byte and refuses what Node refuses', () => {
    writeFileSync(join(dir, 'vectors.js'), bundle);
    // The interpreter ignores SIGTERM: only SIGKILL ends it (../shared/espruino/README.md).
    const run = spawnSync(ESPRUINO, ['vectors.js'], { cwd: dir, encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });
    const line = run.stdout.split('\n').find((l) => l.startsWith('OSCORE '));
    expect(line, run.stdout + run.stderr).toBeDefined();
    const board = JSON.parse(line!.slice(7)) as { vectors: string[]; refusals: string[] };
    expect(board.vectors).toEqual(RFC8613_APPENDIX_C);
    usePrimitives(nodePrimitives);
    const node = oscoreRefusals();
    expect(node[0]).toBe('');
    expect(node.slice(1).every((e) => e.length > 1)).toBe(true);
    expect(board.refusals).toEqual(['', 'r', 'a', 'k', 'f']);
  });
});
