/**
 * What the dashboard suites share: `lampnet up` as a real process (compiled dist/, as `npm start`
 * runs it) on ephemeral ports, the page in real headless Chromium, and the checks and screenshots
 * every fleet size gets.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { run, type RunningProcess } from './process.js';

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export const DESKTOP = { width: 1400, height: 900 };
export const PHONE = { width: 390, height: 844 };

export interface City {
  process: RunningProcess;
  dashboardUrl: string;
  mqttUrl: string;
}

/** `lampnet up --lamps <lamps>`, once it has printed `ready` and its URLs. */
export async function startCity(lamps: number, readyTimeoutMs: number): Promise<City> {
  for (const built of ['dist/cli/lampnet.js', 'dist/gateway/dashboard/index.html', 'dist/gateway/dashboard/vendor/mqtt.min.js']) {
    if (!existsSync(path.join(ROOT, built))) throw new Error(`${built} is missing: run npm run build first (npm test does)`);
  }
  const city = run(process.execPath, ['dist/cli/lampnet.js', 'up', '--lamps', String(lamps), '--mqtt-port', '0', '--ws-port', '0', '--metrics-port', 'off'], { cwd: ROOT });
  await city.waitForLine(/^ready$/, readyTimeoutMs);
  const dashboardUrl = (await city.waitForLine(/^dashboard\s+(http:\/\/\S+)/, 1000))[1];
  const mqttUrl = (await city.waitForLine(/^MQTT\s+(mqtt:\/\/\S+)/, 1000))[1];
  return { process: city, dashboardUrl, mqttUrl };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/** A new page of `browser` at `viewport` showing the dashboard, once its script has started. */
export async function openDashboard(browser: Browser, url: string, viewport: { width: number; height: number }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  await page.goto(url);
  await page.waitForFunction(() => typeof window.lampnet === 'object', null, { timeout: 30_000 }).catch((err: Error) => {
    throw new Error(`${err.message}; page errors: ${problems.join('; ') || 'none'}`);
  });
  return page;
}

/** Save a screenshot of `page` as test-artifacts/<name>.png (whole page: a phone scrolls). */
export async function screenshot(page: Page, name: string): Promise<Buffer> {
  mkdirSync(path.join(ROOT, 'test-artifacts'), { recursive: true });
  return page.screenshot({ path: path.join(ROOT, 'test-artifacts', `${name}.png`), fullPage: true });
}

/** Every counter shows its whole value: none is cut off or wider than its box. */
export async function expectCountersFit(page: Page): Promise<void> {
  const cut = await page.locator('.counter').evaluateAll((counters) => counters.flatMap((c) => {
    const value = c.querySelector('.value') as HTMLElement;
    const box = c.getBoundingClientRect();
    const card = (c.closest('.card') as HTMLElement).getBoundingClientRect();
    const over = value.scrollWidth > value.clientWidth || box.right > card.right || box.left < card.left;
    return over ? [`${c.textContent?.trim()} (${value.scrollWidth} px in ${value.clientWidth} px)`] : [];
  }));
  expect(cut, 'counters cut off').toEqual([]);
}

/** Nothing on the page is wider than the window (no sideways scrolling on a phone). */
export async function expectNoSidewaysScroll(page: Page): Promise<void> {
  const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, window: window.innerWidth }));
  expect(widths.page, 'page width').toBeLessThanOrEqual(widths.window);
}

/** Search for `query` with the search box; resolves with the card shown, once it names lamp `id`. */
export async function searchCard(page: Page, query: string, id: string): Promise<string> {
  await page.fill('#search-input', query);
  await page.press('#search-input', 'Enter');
  const tooltip = page.locator('#tooltip');
  let card = '';
  await expect.poll(async () => {
    card = (await tooltip.isVisible()) ? await tooltip.innerText() : '';
    return card.split('\n')[0];
  }, { timeout: 10_000, message: `the card of lamp ${id} after searching for ${query}` }).toBe(`Lamp ${id}`);
  return card;
}
