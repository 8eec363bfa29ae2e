/**
 * Builds the firmware bundle dist/firmware/lampnet.js (run by `npm run build`; Node-side, never
 * bundled itself).
 *
 * Three steps, because no single tool does all of them for Espruino (shared/ESPRUINO.md):
 * esbuild joins the entry and the core into one script (it cannot emit ES5); SWC lowers it to ES5
 * (TypeScript 7 no longer can) in loose mode with array-only assumptions so no Symbol.iterator
 * helpers appear; terser minifies at ecma 5 so nothing newer comes back. The result is then held to
 * the interpreter's rules (espruino-compat.ts) and to the size budget, or the build fails.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { transform } from '@swc/core';
import { minify } from 'terser';
import { ESPRUINO_MODULES, espruinoProblems } from './espruino-compat.js';
import { FIRMWARE_BUNDLE, FIRMWARE_ENTRY } from './paths.js';

/** The bundle must leave most of a board's flash and JsVar pool to the running lamp (issue 3). */
export const MAX_BUNDLE_BYTES = 12288;

/** Bundles, lowers and minifies the firmware entry; returns the ES5 source. */
export async function bundleFirmware(entry: string = FIRMWARE_ENTRY): Promise<string> {
  const bundled = await build({
    entryPoints: [entry],
    bundle: true,
    // CommonJS output leaves `require("dgram")` as written; the iife format would route it
    // through a helper that probes for Proxy. The entry exports nothing, so no CJS glue appears.
    format: 'cjs',
    platform: 'neutral',
    // Leave syntax (class fields included) to SWC: esbuild would lower fields to a defineProperty
    // helper that tests for Symbol.
    target: 'esnext',
    external: ESPRUINO_MODULES,
    write: false,
    logLevel: 'silent',
  });
  const lowered = await transform(bundled.outputFiles[0].text, {
    isModule: false,
    // IE 11 is SWC's ES5 engine: everything newer is lowered. Its typeof/instanceof rewrites are
    // excluded: they only matter for Symbols, and their helpers reference the missing `Symbol`.
    env: { targets: { ie: '11' }, loose: true, exclude: ['transform-typeof-symbol'] },
    jsc: {
      parser: { syntax: 'ecmascript' },
      loose: true,
      externalHelpers: false,
      assumptions: {
        iterableIsArray: true,
        arrayLikeIsIterable: false,
        skipForOfIteratorClosing: true,
        noClassCalls: true,
        setClassMethods: true,
        setPublicClassFields: true,
        setSpreadProperties: true,
        objectRestNoSymbols: true,
        ignoreFunctionLength: true,
        ignoreToPrimitiveHint: true,
        noDocumentAll: true,
        noNewArrows: true,
        constantSuper: true,
        superIsCallableConstructor: true,
      },
    },
  });
  // A closure keeps the firmware's names (SWC's helpers included) out of Espruino's global scope,
  // where a minified one-letter top-level function could replace a built-in such as `E`.
  const script = '(function(){\n' + lowered.code + '\n})();\n';
  const minified = await minify(script, {
    ecma: 5,
    compress: { ecma: 5, passes: 2 },
    mangle: true,
    format: { ecma: 5, comments: false },
  });
  if (minified.code === undefined) throw new Error('terser returned no code for the firmware bundle');
  return minified.code;
}

/** Why the bundle cannot be flashed (too big, or something Espruino cannot run); empty if it can. */
export function bundleProblems(code: string): string[] {
  const problems = espruinoProblems(code);
  const bytes = Buffer.byteLength(code);
  if (bytes > MAX_BUNDLE_BYTES) problems.unshift(`${bytes} bytes exceeds the ${MAX_BUNDLE_BYTES}-byte budget`);
  return problems;
}

async function main(): Promise<void> {
  const code = await bundleFirmware();
  const problems = bundleProblems(code);
  if (problems.length > 0) {
    console.error(`firmware bundle rejected:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  mkdirSync(dirname(FIRMWARE_BUNDLE), { recursive: true });
  writeFileSync(FIRMWARE_BUNDLE, code);
  console.log(`firmware: ${FIRMWARE_BUNDLE} ${Buffer.byteLength(code)} bytes (budget ${MAX_BUNDLE_BYTES})`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(`firmware build failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
