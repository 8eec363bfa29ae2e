/**
 * The dashboard's HTTP documents on the embedded broker's web port (protocol/dashboard-api.ts):
 * real firmware lamps on UDP register with a real gateway, and GET /api/fleet must say of each
 * what its retained MQTT state says; GET /api/stats-history must hold the fleet aggregates.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FLEET_SNAPSHOT_PATH, SNAPSHOT_ON, SNAPSHOT_ONLINE, SNAPSHOT_REPORTED, STATS_HISTORY_PATH, type FleetSnapshot, type StatsHistory,
} from '../../protocol/dashboard-api.js';
import type { LampStateDocument } from '../../protocol/mqtt-topics.js';
import { startFixture, type Fixture } from './helpers/gateway-fixture.js';

const LAMPS = 5;
let fixture: Fixture | null = null;
afterEach(async () => {
  await fixture?.close();
  fixture = null;
});

async function start(credentials: { username: string; password: string } | null = null): Promise<string> {
  fixture = await startFixture(LAMPS, { gateway: { wsPort: 0, brokerCredentials: credentials }, watchOptions: credentials ?? {} });
  await fixture.allOnline();
  return `http://127.0.0.1:${fixture.gateway.wsPort}`;
}

describe('the dashboard documents', () => {
  it('GET /api/fleet gives every lamp with the state, address and groups of its retained MQTT state', async () => {
    const base = await start();
    const f = fixture as Fixture;
    await f.watcher.publish('lampnet/lamps/3/set', '{"level":40}');
    await f.watcher.until('lamp 3 at 40 %', () => (JSON.parse(f.watcher.last.get('lampnet/lamps/3/state') ?? '{}') as LampStateDocument).level === 40);

    const res = await fetch(`${base}${FLEET_SNAPSHOT_PATH}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const { lamps, groupLists } = (await res.json()) as FleetSnapshot;
    expect([...lamps.id].sort()).toEqual(['1', '2', '3', '4', '5']);
    for (let k = 0; k < lamps.id.length; k++) {
      const retained = JSON.parse(f.watcher.last.get(`lampnet/lamps/${lamps.id[k]}/state`) as string) as LampStateDocument;
      expect(lamps.flags[k] & (SNAPSHOT_ONLINE | SNAPSHOT_REPORTED)).toBe(SNAPSHOT_ONLINE | SNAPSHOT_REPORTED);
      expect(Boolean(lamps.flags[k] & SNAPSHOT_ON)).toBe(retained.on);
      expect(lamps.level[k]).toBe(retained.level);
      expect(lamps.watts[k]).toBeCloseTo(retained.watts!, 2);
      expect(lamps.address[k]).toBe(retained.address);
      expect(groupLists[lamps.groups[k]]).toEqual(retained.groups);
      expect(lamps.reportedAt[k]).toBeGreaterThanOrEqual(Date.parse(retained.updatedAt));
    }
  });

  it('GET /api/stats-history starts with a sample of the fleet taken when the gateway started', async () => {
    const base = await start();
    const history = (await (await fetch(`${base}${STATS_HISTORY_PATH}`)).json()) as StatsHistory;
    expect(history.periodS).toBe(10);
    expect(history.spanS).toBe(3600);
    expect(history.samples.length).toBeGreaterThanOrEqual(1);
    const first = history.samples[0];
    expect(first.at).toBeLessThanOrEqual(Date.now());
    expect(first.at).toBeGreaterThan(Date.now() - 60_000);
    expect(Object.keys(first).sort()).toEqual(['at', 'energyWh', 'fault', 'lamps', 'off', 'offline', 'on', 'online', 'watts']);
  });

  it('asks for the broker credentials when the broker has them, and answers with them', async () => {
    const credentials = { username: 'city', password: 'lamp-secret' };
    const base = await start(credentials);
    for (const path of [FLEET_SNAPSHOT_PATH, STATS_HISTORY_PATH]) {
      const refused = await fetch(`${base}${path}`);
      expect(refused.status, path).toBe(403);
      // No Basic challenge: a browser would answer it with its own login dialog.
      expect(refused.headers.get('www-authenticate')).toBeNull();
      const wrong = await fetch(`${base}${path}`, { headers: { authorization: `Basic ${Buffer.from('city:nope').toString('base64')}` } });
      expect(wrong.status, path).toBe(403);
      const right = await fetch(`${base}${path}`, { headers: { authorization: `Basic ${Buffer.from('city:lamp-secret').toString('base64')}` } });
      expect(right.status, path).toBe(200);
    }
  });

  it('answers a request target that is not a URL, and goes on serving', async () => {
    const base = await start();
    const port = (fixture as Fixture).gateway.wsPort as number;
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write('GET http://[::1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      let text = '';
      socket.on('data', (d) => { text += d.toString(); });
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 4\d\d /);
    expect((await fetch(`${base}${STATS_HISTORY_PATH}`)).status).toBe(200);
  });

  it('refuses to change them', async () => {
    const base = await start();
    const res = await fetch(`${base}${FLEET_SNAPSHOT_PATH}`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(405);
    expect(await res.text()).toContain('only GET and HEAD');
  });
});
