/**
 * Serving a directory of static files over HTTP (the dashboard, from gateway/dashboard/), for the
 * same HTTP server that carries MQTT over WebSocket: the browser loads the page and connects back to
 * the origin it came from. Only GET/HEAD, only files inside the directory, no listings.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
};

/** The built dashboard (index.html with its compiled app.js, see gateway/dashboard/build.ts):
 * dist/gateway/dashboard, found from this module's place in dist/gateway/broker/ when it runs
 * compiled, or in gateway/broker/ when it runs from the source tree (vitest). Null when it has not
 * been built. */
export function defaultDashboardDir(): string | null {
  const gateway = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
  const candidates = [path.join(gateway, 'dashboard'), path.join(gateway, '..', 'dist', 'gateway', 'dashboard')];
  return candidates.find((dir) => existsSync(path.join(dir, 'index.html')) && existsSync(path.join(dir, 'app.js'))) ?? null;
}

/** Answer `req` from `root` (index.html for directories). */
export function serveStatic(root: string | null, req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('only GET and HEAD\n');
    return;
  }
  if (root === null) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('no dashboard installed (gateway/dashboard/); MQTT over WebSocket is served here\n');
    return;
  }
  let relative: string;
  try {
    relative = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  } catch {
    res.writeHead(400, { 'content-type': 'text/plain' }).end('bad URL encoding\n');
    return;
  }
  let file = path.resolve(root, `.${relative}`);
  if (file !== root && !file.startsWith(root + path.sep)) {
    res.writeHead(403, { 'content-type': 'text/plain' }).end('outside the dashboard directory\n');
    return;
  }
  if (existsSync(file) && statSync(file).isDirectory()) file = path.join(file, 'index.html');
  if (!existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${relative}\n`);
    return;
  }
  res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
  if (req.method === 'HEAD') res.end();
  else createReadStream(file).pipe(res);
}
