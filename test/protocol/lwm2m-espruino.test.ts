/**
 * The parts of the LwM2M wire contract the lamp uses, built as the board's bundle is built
 * (tools/espruino/build.ts: ES5, minified, short diagnostics) and run on the real Espruino
 * interpreter (../shared/espruino/espruino), give what they give in Node: the same bytes, values
 * and strings, and a one-letter reason wherever Node gives a long one.
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
import { lwm2mVectors } from './lwm2m-vectors.js';

const ENTRY = fileURLToPath(new URL('./lwm2m-board-entry.ts', import.meta.url));
let dir = '';
let bundle = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lampnet-lwm2m-'));
  bundle = await bundleFirmware(ENTRY);
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the LwM2M codecs on the Espruino interpreter', () => {
  it('bundle into code Espruino can run', () => {
    expect(espruinoProblems(bundle)).toEqual([]);
  });

  it('give the results they give in Node', () => {
    writeFileSync(join(dir, 'vectors.js'), bundle);
    // The interpreter ignores SIGTERM: only SIGKILL ends it (../shared/espruino/README.md).
    const run = spawnSync(ESPRUINO, ['vectors.js'], { cwd: dir, encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' });
    const line = run.stdout.split('\n').find((l) => l.startsWith('LWM2M '));
    expect(line, run.stdout + run.stderr).toBeDefined();
    const board = JSON.parse(line!.slice(6)) as ReturnType<typeof lwm2mVectors>;
    const node = JSON.parse(JSON.stringify(lwm2mVectors())) as ReturnType<typeof lwm2mVectors>;
    expect(board.values).toEqual(node.values);
    expect(node.errors.every((e) => e.length > 1)).toBe(true);
    expect(board.errors).toEqual(['o', 'n', 'v', 'j', 'v', 'a', 'c', 'r', 'w', 't']);
  });
});
