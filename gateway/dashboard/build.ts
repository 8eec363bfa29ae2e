/**
 * Build step of the dashboard, run by `npm run build` after tsc: tsc has already compiled the
 * page's modules (app.ts and friends) next to this file in dist/gateway/dashboard/; this copies the
 * page itself and the two browser libraries beside them, so the directory is complete and is what
 * the gateway serves (gateway/broker/static-files.ts finds it). Nothing is built at run time.
 *
 * The page's one run-time import from protocol/ (the dashboard API's paths) is copied to
 * protocol/ inside the directory: the browser resolves app.js's `../../protocol/…` from the
 * site's root to `/protocol/…`, so the same import works compiled for Node and served to a page.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const out = path.dirname(fileURLToPath(import.meta.url));
const source = path.resolve(out, '..', '..', '..', 'gateway', 'dashboard');
const require = createRequire(import.meta.url);
const packageDir = (name: string): string => path.dirname(require.resolve(`${name}/package.json`));

const copies: [from: string, to: string][] = [
  [path.join(source, 'index.html'), path.join(out, 'index.html')],
  [path.join(source, 'style.css'), path.join(out, 'style.css')],
  [path.join(out, '..', '..', 'protocol', 'dashboard-api.js'), path.join(out, 'protocol', 'dashboard-api.js')],
  [path.join(packageDir('mqtt'), 'dist', 'mqtt.min.js'), path.join(out, 'vendor', 'mqtt.min.js')],
  [path.join(packageDir('uplot'), 'dist', 'uPlot.iife.min.js'), path.join(out, 'vendor', 'uPlot.iife.min.js')],
  [path.join(packageDir('uplot'), 'dist', 'uPlot.min.css'), path.join(out, 'vendor', 'uPlot.min.css')],
];

for (const [from, to] of copies) {
  if (!existsSync(from)) throw new Error(`dashboard build: ${from} is missing (expected from the source tree or node_modules)`);
  mkdirSync(path.dirname(to), { recursive: true });
  copyFileSync(from, to);
}
for (const module of ['app.js', 'vendor.js']) {
  if (!existsSync(path.join(out, module))) throw new Error(`dashboard build: ${module} is missing in ${out}; run tsc first (npm run build)`);
}
