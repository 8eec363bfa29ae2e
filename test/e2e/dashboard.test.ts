/**
 * The dashboard end to end: `lampnet up --lamps 1000` as a real process (compiled dist/, as
 * `npm start` runs it), the page in real headless Chromium, and a real mqtt.js client watching
 * the same broker. What the page shows must come from the gateway, and what it does must reach
 * the lamps. (test/e2e/dashboard-scale.test.ts does the same at 100,000 lamps.)
 *
 * Writes test-artifacts/dashboard-1000-{desktop,phone}.png; with LAMPNET_UPDATE_DOCS=1 also
 * docs/dashboard.png (the README's screenshot).
 */
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { watch, type Watcher } from '../gateway/helpers/mqtt-watch.js';
import { DESKTOP, PHONE, launchChromium, openDashboard, startCity, type City } from '../../bench/dashboard-city.js';
import { PROJECT_ROOT } from '../../tools/espruino/paths.js';
import { expectCountersFit, expectNoSidewaysScroll, screenshot, searchCard } from './helpers/dashboard.js';

const LAMPS = 1000;

interface LampState {
  on: boolean;
  level: number;
  watts: number;
}

let city: City;
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
  city = await startCity(LAMPS, 60_000);
  watcher = await watch(city.mqttUrl, ['lampnet/lamps/+/state', 'lampnet/stats']);
  await watcher.json<{ online: number }>('lampnet/stats', (s) => s.online === LAMPS, 60_000);
  browser = await launchChromium();
  page = await openDashboard(browser, city.dashboardUrl, DESKTOP);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await watcher?.close();
  await city?.process.kill();
});

describe('the dashboard of lampnet up --lamps 1000', () => {
  test('shows all 1,000 lamps on the map and the fleet stats', async () => {
    await page.locator('#map-caption[data-value="1000"]').waitFor({ timeout: 30_000 });
    await page.locator('#stat-lamps[data-value="1000"]').waitFor({ timeout: 30_000 });
    await page.locator('#stat-online[data-value="1000"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('#map-caption').textContent()).toBe('1,000 lamps on the map · 10 streets of 100');
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

  test('the search box finds a lamp by id and by address, zooms to it and shows its card', async () => {
    const before = await page.evaluate(() => window.lampnet.cellOnScreen());
    const byId = await searchCard(page, '742', '742');
    expect(byId).toContain('fd6c:616d:706e::2e6');
    expect(byId).toContain('street-8');
    expect(await page.evaluate(() => window.lampnet.cellOnScreen())).toBeGreaterThanOrEqual(Math.min(24, before));
    // The lamp is on screen, inside the map's box.
    const at = await page.evaluate(() => window.lampnet.cellCenter('742'));
    const box = (await page.locator('#map-wrap').boundingBox())!;
    expect(at!.x).toBeGreaterThan(0);
    expect(at!.x).toBeLessThan(box.width);
    expect(at!.y).toBeGreaterThan(0);
    expect(at!.y).toBeLessThan(box.height);

    // Any spelling of the address: leading zeros and an uncompressed group.
    await searchCard(page, 'FD6C:616D:706E:0:0:0:0:0019', '25');
    await page.fill('#search-input', '99999');
    await page.press('#search-input', 'Enter');
    await expect.poll(() => page.locator('#search-result').textContent()).toBe('no lamp with id or address “99999”');
    await page.fill('#search-input', '');
    expect(await page.locator('#search-result').textContent()).toBe('');
    await page.keyboard.press('Escape');
    await page.click('#zoom-fit');
  });

  test('zooming in makes lamps bigger and keeps streets named; Fit shows the whole city again', async () => {
    await page.click('#zoom-fit');
    const fitted = await page.evaluate(() => window.lampnet.cellOnScreen());
    await page.click('#zoom-in');
    await expect.poll(() => page.evaluate(() => window.lampnet.cellOnScreen())).toBeCloseTo(2 * fitted, 5);
    const box = (await page.locator('#map').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, -400);
    await expect.poll(() => page.evaluate(() => window.lampnet.cellOnScreen())).toBeGreaterThan(2 * fitted);
    await page.click('#zoom-fit');
    await expect.poll(() => page.evaluate(() => window.lampnet.cellOnScreen())).toBeCloseTo(fitted, 5);
  });

  test('the charts start with the gateway\'s history and label their time axis as a clock', async () => {
    // A new page gets every sample so far at once, before the next live one.
    const history = await (await fetch(new URL('api/stats-history', city.dashboardUrl))).json() as { samples: unknown[] };
    const fresh = await openDashboard(browser, city.dashboardUrl, DESKTOP);
    try {
      await expect.poll(() => fresh.evaluate(() => window.lampnet.chartPoints()), { timeout: 10_000 }).toBeGreaterThanOrEqual(history.samples.length);
      // The page's own module, as it labels the axis: minute ticks read 17:21, not ":21".
      const labels = (splits: number[]): Promise<string[]> => fresh.evaluate(`import('./charts.js').then((charts) => charts.timeLabels(${JSON.stringify(splits)}))`);
      for (const label of await labels([Date.UTC(2026, 11, 7, 17, 21) / 1000, Date.UTC(2026, 11, 7, 17, 22) / 1000])) expect(label).toMatch(/^\d\d:\d\d$/);
      for (const label of await labels([1000, 1010])) expect(label).toMatch(/^\d\d:\d\d:\d\d$/);
    } finally {
      await fresh.close();
    }
  });

  test('at 390 px wide nothing is cut off, and the phone screenshot is saved', async () => {
    const phone = await openDashboard(browser, city.dashboardUrl, PHONE);
    try {
      await phone.locator('#map-caption[data-value="1000"]').waitFor({ timeout: 30_000 });
      await phone.locator('#stat-lamps[data-value="1000"]').waitFor({ timeout: 30_000 });
      await expectCountersFit(phone);
      await expectNoSidewaysScroll(phone);
      await screenshot(phone, 'dashboard-1000-phone');
    } finally {
      await phone.close();
    }
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
    // The activity log is on screen without scrolling, with room for several lines.
    const activity = (await page.locator('#activity').boundingBox())!;
    expect(activity.y + 100).toBeLessThanOrEqual(DESKTOP.height);
    await expectCountersFit(page);
    await page.mouse.move(0, 0);
    const png = await screenshot(page, 'dashboard-1000-desktop');
    if (process.env.LAMPNET_UPDATE_DOCS === '1') await page.screenshot({ path: path.join(PROJECT_ROOT, 'docs', 'dashboard.png') });
    // PNG header: the whole 1400×900 viewport was captured.
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([DESKTOP.width, DESKTOP.height]);
  }, 120_000);

  test('SIGTERM stops lampnet up with exit code 0, and the page notices the broker is gone', async () => {
    city.process.signal('SIGTERM');
    expect(await city.process.exited).toEqual({ code: 0, signal: null });
    await city.process.waitForLine(/^lampnet up: stopped$/, 1000);
    await expect.poll(() => page.locator('#conn').textContent(), { timeout: 30_000 }).not.toBe('connected');
  });
});
