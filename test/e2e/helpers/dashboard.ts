/**
 * The checks and screenshots every fleet size of the dashboard suites gets. The city and the page
 * themselves (lampnet up, Chromium) come from bench/dashboard-city.ts, which the bench shares.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { PROJECT_ROOT } from '../../../tools/espruino/paths.js';

/** Save a screenshot of `page` as test-artifacts/<name>.png (whole page: a phone scrolls). */
export async function screenshot(page: Page, name: string): Promise<Buffer> {
  mkdirSync(path.join(PROJECT_ROOT, 'test-artifacts'), { recursive: true });
  return page.screenshot({ path: path.join(PROJECT_ROOT, 'test-artifacts', `${name}.png`), fullPage: true });
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
