/**
 * The embedded broker's WebSocket port: MQTT over WebSocket for browsers, and the dashboard's
 * static files over plain HTTP on the same origin.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type GatewayHandle } from '../../gateway/gateway.js';
import { EPHEMERAL } from './helpers/gateway-fixture.js';
import { watch } from './helpers/mqtt-watch.js';

let gateway: GatewayHandle | null = null;
let dir: string | null = null;
afterEach(async () => {
  await gateway?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  gateway = null;
  dir = null;
});

function dashboard(): string {
  dir = mkdtempSync(path.join(tmpdir(), 'lampnet-dashboard-'));
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>lamps</title>');
  mkdirSync(path.join(dir, 'js'));
  writeFileSync(path.join(dir, 'js', 'app.js'), 'console.log(1)');
  return dir;
}

describe('WebSocket port', () => {
  it('carries MQTT over WebSocket', async () => {
    gateway = await startGateway({ ...EPHEMERAL, wsPort: 0 });
    const browser = await watch(`ws://127.0.0.1:${gateway.wsPort}`, ['lampnet/gateway/status']);
    try {
      await browser.until('status online', () => browser.last.get('lampnet/gateway/status') === 'online');
    } finally {
      await browser.close();
    }
  });

  it('serves the dashboard directory over HTTP', async () => {
    gateway = await startGateway({ ...EPHEMERAL, wsPort: 0, dashboardDir: dashboard() });
    const base = `http://127.0.0.1:${gateway.wsPort}`;
    const index = await fetch(`${base}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/text\/html/);
    expect(await index.text()).toContain('<title>lamps</title>');
    const script = await fetch(`${base}/js/app.js`);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${base}/missing.js`)).status).toBe(404);
  });

  it('serves nothing outside the dashboard directory', async () => {
    gateway = await startGateway({ ...EPHEMERAL, wsPort: 0, dashboardDir: dashboard() });
    const res = await fetch(`http://127.0.0.1:${gateway.wsPort}/..%2f..%2fetc%2fpasswd`);
    expect([403, 404]).toContain(res.status);
    expect(await res.text()).not.toContain('root:');
  });

  it('says so when no dashboard is installed', async () => {
    gateway = await startGateway({ ...EPHEMERAL, wsPort: 0, dashboardDir: null });
    const res = await fetch(`http://127.0.0.1:${gateway.wsPort}/`);
    expect(res.status).toBe(404);
    expect(await res.text()).toMatch(/no dashboard/);
  });
});
