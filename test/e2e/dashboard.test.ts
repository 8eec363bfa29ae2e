/**
 * The dashboard end to end: `lampnet up --lamps 1000` as a real process (compiled dist/, as
 * `npm start` runs it), the page in real headless Chromium, and a real mqtt.js client watching
 * the same broker. What the page shows must come from MQTT, and what it does must reach the lamps.
 *
 * Writes test-artifacts/dashboard.png; with LAMPNET_UPDATE_DOCS=1 also docs/dashboard.png (the
 * README's screenshot).
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { watch, type Watcher } from '../gateway/helpers/mqtt-watch.js';
import { run, type RunningProcess } from './helpers/process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const LAMPS = 1000;

interface LampState {
  on: boolean;
  level: number;
  watts: number;
}

let city: RunningProcess;
let dashboardUrl: string;
let watcher: Watcher;
let browser: Browser;
let page: Page;

const stateOf = (id: number): LampState | undefined => {
  const text = watcher.last.get(`lampnet/lamps/${id}/state`);
  return text === undefined ? undefined : (JSON.parse(text) as LampState);
};

/** Lamps numbered first..last (a street of the default layout: street-k is 100k-99..100k). */
const range = (first: number, last: number): number[] => Array.from({ length: last - first + 1 }, (_, i) => first + i);

/** Wait until `n` more fleet stats messages have arrived (the gateway publishes one per second). */
async function statsRounds(n: number): Promise<void> {
  const count = (): number => watcher.log.filter((m) => m.topic === 'lampnet/stats').length;
  const target = count() + n;
  await watcher.until(`${n} more lampnet/stats messages`, () => count() >= target, 30_000);
}

/** Move the mouse onto lamp `id`'s cell; returns the page coordinates. */
async function pointAtLamp(id: string): Promise<{ x: number; y: number }> {
  const cell = await page.evaluate((lamp) => window.lampnet.cellCenter(lamp), id);
  expect(cell, `lamp ${id} has a cell on the map`).not.toBeNull();
  const box = await page.locator('#map').boundingBox();
  const at = { x: box!.x + cell!.x, y: box!.y + cell!.y };
  // The hover card is drawn on mouse moves: arrive from a neighbouring pixel so there is one.
  await page.mouse.move(at.x - 1, at.y - 1);
  await page.mouse.move(at.x, at.y);
  return at;
}

/** The hover card's text with the mouse on lamp `id`. The map lays itself out again as lamps and
 * streets arrive (and the side panel's scrollbar comes and goes), so a cell can move between
 * asking for its position and pointing at it: point again until the card names the lamp asked. */
async function hoverCard(id: string): Promise<string> {
  const tooltip = page.locator('#tooltip');
  let card = '';
  await expect.poll(async () => {
    await pointAtLamp(id);
    await tooltip.waitFor({ state: 'visible', timeout: 10_000 });
    card = await tooltip.innerText();
    return card.split('\n')[0];
  }, { timeout: 10_000, message: `the hover card of lamp ${id}` }).toBe(`Lamp ${id}`);
  return card;
}

beforeAll(async () => {
  for (const built of ['dist/cli/lampnet.js', 'dist/gateway/dashboard/index.html', 'dist/gateway/dashboard/vendor/mqtt.min.js']) {
    if (!existsSync(path.join(ROOT, built))) throw new Error(`${built} is missing: run npm run build first (npm test does)`);
  }
  city = run(process.execPath, ['dist/cli/lampnet.js', 'up', '--lamps', String(LAMPS), '--mqtt-port', '0', '--ws-port', '0', '--metrics-port', 'off'], { cwd: ROOT });
  await city.waitForLine(/^ready$/, 60_000);
  dashboardUrl = (await city.waitForLine(/^dashboard\s+(http:\/\/\S+)/, 1000))[1];
  const mqttUrl = (await city.waitForLine(/^MQTT\s+(mqtt:\/\/\S+)/, 1000))[1];
  watcher = await watch(mqttUrl, ['lampnet/lamps/+/state', 'lampnet/stats']);
  await watcher.json<{ online: number }>('lampnet/stats', (s) => s.online === LAMPS, 60_000);

  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  await page.goto(dashboardUrl);
  await page.waitForFunction(() => typeof window.lampnet === 'object', null, { timeout: 30_000 }).catch((err: Error) => {
    throw new Error(`${err.message}; page errors: ${problems.join('; ') || 'none'}`);
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await watcher?.close();
  await city?.kill();
});

describe('the dashboard of lampnet up --lamps 1000', () => {
  test('shows all 1,000 lamps on the map and the fleet stats', async () => {
    await page.locator('#map-caption[data-value="1000"]').waitFor({ timeout: 30_000 });
    await page.locator('#stat-lamps[data-value="1000"]').waitFor({ timeout: 30_000 });
    await page.locator('#stat-online[data-value="1000"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('#map-caption').textContent()).toContain('1,000 lamps');
    expect(await page.locator('#stat-lamps').textContent()).toBe('1,000');
    expect(await page.locator('#conn').textContent()).toBe('connected');
    expect(await page.locator('#gateway').textContent()).toBe('gateway online');
  });

  test('hovering a lamp shows its id, address, state and watts', async () => {
    const { watts } = await watcher.json<LampState>('lampnet/lamps/7/state');
    const card = await hoverCard('7');
    expect(card).toContain('Lamp 7');
    expect(card).toContain('fd6c:616d:706e::7');
    expect(card).toContain('ON · 100 %');
    expect(card).toContain(`${watts.toFixed(1)} W`);
  });

  test('a click on lamp 42 turns it on, as an MQTT subscriber sees in its retained state', async () => {
    await watcher.publish('lampnet/lamps/42/set', 'OFF');
    await watcher.json<LampState>('lampnet/lamps/42/state', (s) => s.on === false);
    await expect.poll(() => hoverCard('42'), { timeout: 10_000 }).toContain('OFF');

    const at = await pointAtLamp('42');
    await page.mouse.click(at.x, at.y);

    const state = await watcher.json<LampState>('lampnet/lamps/42/state', (s) => s.on === true);
    expect(state.level).toBe(100);
    await expect.poll(() => hoverCard('42'), { timeout: 10_000 }).toContain('ON · 100 %');
    expect(await page.locator('#activity').innerText()).toContain('TOGGLE → lamp 42');
    for (const other of [41, 43]) expect(stateOf(other)?.on, `lamp ${other} untouched`).toBe(true);
  });

  test('a group selected on the page is dimmed by the group card', async () => {
    await page.selectOption('#group', 'street-3');
    await page.locator('#group-level').fill('40');
    await page.click('#group-dim');
    await watcher.until('every lamp of street-3 at level 40', () => range(201, 300).every((id) => stateOf(id)?.level === 40), 30_000);
    expect(stateOf(200)?.level).toBe(100);
    expect(stateOf(301)?.level).toBe(100);
    await page.locator('#group-stats', { hasText: '100 lamps' }).waitFor({ timeout: 10_000 });
  });

  test('the page follows group commands from other clients and is captured as a screenshot', async () => {
    // An evening in the city: a few streets dimmed or dark, so the map and the charts show it.
    await statsRounds(3);
    for (const [street, payload] of [['street-5', '20'], ['street-6', '60'], ['street-8', 'OFF']] as const) {
      await watcher.publish(`lampnet/groups/${street}/set`, payload);
    }
    await watcher.until('street-8 dark', () => range(701, 800).every((id) => stateOf(id)?.on === false), 30_000);
    await statsRounds(3);
    await watcher.publish('lampnet/groups/street-10/set', 'OFF');
    await watcher.until('street-10 dark', () => range(901, 1000).every((id) => stateOf(id)?.on === false), 30_000);
    await statsRounds(3);
    await page.locator('#stat-off[data-value="200"]').waitFor({ timeout: 30_000 });

    // The map itself, lamp by lamp (its cards come from lamp states, not from the stats).
    for (const [id, shown] of [['262', 'ON · 40 %'], ['450', 'ON · 20 %'], ['550', 'ON · 60 %'], ['750', 'OFF'], ['950', 'OFF'], ['150', 'ON · 100 %']] as const) {
      await expect.poll(() => hoverCard(id), { timeout: 10_000, message: `lamp ${id} shown ${shown}` }).toContain(shown);
    }
    await page.locator('aside').evaluate((aside) => aside.scrollTo(0, 0));
    mkdirSync(path.join(ROOT, 'test-artifacts'), { recursive: true });
    const png = await page.screenshot({ path: path.join(ROOT, 'test-artifacts', 'dashboard.png') });
    if (process.env.LAMPNET_UPDATE_DOCS === '1') await page.screenshot({ path: path.join(ROOT, 'docs', 'dashboard.png') });
    // PNG header: the whole 1440×900 viewport was captured.
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1440, 900]);
  }, 120_000);

  test('SIGTERM stops lampnet up with exit code 0, and the page notices the broker is gone', async () => {
    city.signal('SIGTERM');
    expect(await city.exited).toEqual({ code: 0, signal: null });
    await city.waitForLine(/^lampnet up: stopped$/, 1000);
    await expect.poll(() => page.locator('#conn').textContent(), { timeout: 30_000 }).not.toBe('connected');
  });
});
