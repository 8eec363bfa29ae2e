/**
 * Builds the firmware bundle dist/firmware/lampnet.js (run by `npm run build`; Node-side, never
 * bundled itself).
 *
 * Three steps, because no single tool does all of them for Espruino (shared/ESPRUINO.md):
 * esbuild joins the entry and the core into one script (it cannot emit ES5); SWC lowers it to ES5
 * (TypeScript 7 no longer can) in loose mode with array-only assumptions so no Symbol.iterator
 * helpers appear; terser minifies at ecma 5 so nothing newer comes back. The result is then held to
 * the interpreter's rules (espruino-compat.ts), to the size budget, and to the wire contract (run on
 * the stand-in interpreter against the gateway's decoders, wire-check.ts), or the build fails.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { transform } from '@swc/core';
import { minify } from 'terser';
import { ESPRUINO_MODULES, espruinoProblems } from './espruino-compat.js';
import { wireProblems } from './wire-check.js';
import { FIRMWARE_BUNDLE, FIRMWARE_ENTRY } from './paths.js';

/** Bytes are the second limit of a board: what limits it first is its JsVar pool, budgeted on the
 * real interpreter (bench/figures/firmware.ts). LwM2M (its objects, SenML JSON, TLV, link format,
 * notification attributes) took the bundle from 14 KB to 28 KB; measured on the real interpreter
 * (test/firmware/espruino-lwm2m.test.ts), flashed as in the field it uses 1,760 JsVars after boot and
 * 1,811 registered and observed (target 2,000), uploaded to RAM 2,815 after 300 commands: the pool
 * still limits first. OSCORE (protocol/oscore: HMAC, HKDF and AES-CCM over the board's AES and
 * SHA-256, the context, the option, protect and verify; firmware/security.ts) took it from 29.3 KB to
 * 35.9 KB, so the byte budget is 36 KB. */
export const MAX_BUNDLE_BYTES = 36864;

/** Property names that never leave the bundle, so terser may shorten them: fields and methods of the
 * core's own records (LampState, LampExtra and its entries, the CoAP view and writer, the TLV
 * reader, the snapshot) and the HAL methods no Espruino object shares a name with. Opt-in on purpose:
 * a name missing here only costs bytes, a name wrongly here breaks the board. Never listed: LampConfig
 * and BoardConfig fields (stored in flash as JSON, written through /32311/0 by name), keys read from
 * SenML JSON (`bn`, `n`, `v`, `vb`, `vs`, `vd`, `vlo`), and anything an Espruino API reads or returns (`send`, `port`, `address`, `log`,
 * `now`, `random`, `gateway`...). A name may be both a field here and a key on the wire: protocol/lwm2m
 * writes wire keys as text, never as property names, and the wire check fails the build
 * for any message the gateway would no longer accept. */
export const INTERNAL_PROPERTIES = [
  // CoapReader / CoapWriter
  'buf', 'type', 'code', 'mid', 'tokenOff', 'tokenLen', 'optCount', 'optNum', 'optOff', 'optLen', 'payloadOff', 'payloadLen',
  'error',
  'start', 'pos', 'lastOpt', 'num', 'bytes',
  // LampState, LampExtra, Observer, Outbound, CachedResponse
  'up', 'own', 'fault', 'out0', 'out1', 't0', 't1', 'wh', 'onMs', 'edge', 'reg', 'loc', 'regAt', 'fails', 'dirty', 'obs', 'nextFade', 'wake', 'cfg', 'ex',
  'cache', 'pending', 'token', 'tries', 'timeout', 'at', 'register', 'acked', 'from', 'expires',
  // TlvReader
  'count', 'inst', 'ri', 'off', 'len',
  // Hal
  'wakeAt', 'light', 'setGroups', 'saveConfig', 'trusted', 'reboot', 'memoryFree', 'security', 'saveSecurity',
  // OSCORE: SecurityContext, Oscore, OscoreOption, Primitives
  'senderId', 'recipientId', 'idContext', 'kidContext', 'senderKey', 'recipientKey', 'commonIv', 'seq', 'seqBound', 'high', 'seen', 'replayFloor',
  'piv', 'opt', 'plain', 'inner', 'kidOff', 'kidLen', 'ctxOff', 'ctxLen', 'aes', 'sha256',
];

/** One script holding the entry and everything it imports, in modern syntax. esbuild marks each
 * module's part with a `// path` line (used by moduleSizes). */
async function bundleSource(entry: string): Promise<string> {
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
    // The board build: diagnostics shrink to short codes (see protocol/diagnostics.ts).
    define: { LAMPNET_BOARD: 'true' },
    // Espruino has no strict mode: the "use strict" that tsconfig's strict would add is dead weight.
    tsconfigRaw: { compilerOptions: { alwaysStrict: false } },
    external: ESPRUINO_MODULES,
    write: false,
    logLevel: 'silent',
  });
  return bundled.outputFiles[0].text;
}

async function lowerToEs5(code: string): Promise<string> {
  const lowered = await transform(code, {
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
  // SWC marks each lowered class body "use strict"; Espruino has no strict mode, so it is dead weight.
  return lowered.code.replace(/^\s*"use strict";$/gm, '');
}

/** `isolated`: `code` is one module cut out of the bundle, so nothing in it may be dropped as unused,
 * and its top-level names are mangled as the bundle's closure would mangle them. */
async function minifyEs5(code: string, isolated: boolean): Promise<string> {
  const minified = await minify(code, {
    ecma: 5,
    // `unsafe` here only means assumptions that hold for this code (no getters with side effects,
    // no user-defined valueOf/toString on the values compared); it never emits newer syntax.
    // booleans_as_integers: no boolean the firmware makes leaves it as a boolean (its JSON is built
    // from numbers, and a flag passed to Espruino is only tested for truth).
    compress: { ecma: 5, passes: 5, unused: !isolated, unsafe: true, unsafe_comps: true, unsafe_math: true, pure_getters: true, hoist_props: true, booleans_as_integers: true },
    mangle: { properties: { builtins: true, regex: new RegExp('^(' + INTERNAL_PROPERTIES.join('|') + ')$') } },
    toplevel: isolated,
    format: { ecma: 5, comments: false },
  });
  if (minified.code === undefined) throw new Error('terser returned no code for the firmware bundle');
  return minified.code;
}

/** Bundles, lowers and minifies the firmware entry; returns the ES5 source. */
export async function bundleFirmware(entry: string = FIRMWARE_ENTRY): Promise<string> {
  const lowered = await lowerToEs5(await bundleSource(entry));
  // A closure keeps the firmware's names (SWC's helpers included) out of Espruino's global scope,
  // where a minified one-letter top-level function could replace a built-in such as `E`.
  return minifyEs5('(function(){\n' + lowered + '\n})();\n', false);
}

/** Approximate minified bytes of each module in the bundle, largest first: each module's part is
 * lowered and minified on its own (nothing dropped, nothing inlined across modules), so the figures
 * add up to somewhat more than the bundle. For deciding what to slim when over budget. */
export async function moduleSizes(entry: string = FIRMWARE_ENTRY): Promise<{ module: string; bytes: number }[]> {
  const parts = (await bundleSource(entry)).split(/\n(?=\/\/ [^\n]+\.ts\n)/);
  const sizes: { module: string; bytes: number }[] = [];
  for (const part of parts) {
    const header = /^\/\/ ([^\n]+\.ts)\n/.exec(part);
    if (header) sizes.push({ module: header[1], bytes: Buffer.byteLength(await minifyEs5(await lowerToEs5(part), true)) });
  }
  return sizes.sort((x, y) => y.bytes - x.bytes);
}

/** Why the bundle cannot be flashed (too big, something Espruino cannot run, or messages the gateway
 * would refuse); empty if it can. */
export async function bundleProblems(code: string): Promise<string[]> {
  const problems = espruinoProblems(code);
  const bytes = Buffer.byteLength(code);
  if (bytes > MAX_BUNDLE_BYTES) problems.unshift(`${bytes} bytes exceeds the ${MAX_BUNDLE_BYTES}-byte budget`);
  // The wire check runs the code, so only code that passed the static checks.
  if (problems.length === 0) problems.push(...(await wireProblems(code)));
  return problems;
}

async function main(): Promise<void> {
  const code = await bundleFirmware();
  const problems = await bundleProblems(code);
  if (problems.length > 0) {
    console.error(`firmware bundle rejected:\n  ${problems.join('\n  ')}`);
    if (Buffer.byteLength(code) > MAX_BUNDLE_BYTES) {
      const sizes = await moduleSizes();
      console.error(`approximate minified bytes per module:\n${sizes.map((s) => `  ${String(s.bytes).padStart(6)}  ${s.module}`).join('\n')}`);
    }
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
