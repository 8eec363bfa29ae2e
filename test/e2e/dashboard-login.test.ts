/**
 * The dashboard on an embedded broker with client credentials (`--broker-user/--broker-password`):
 * opened without them it asks for them instead of sitting at "disconnected", and with them in the
 * URL it connects at once. The built page (dist/) in real headless Chromium, the gateway in process.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startGateway, type GatewayHandle } from '../../gateway/gateway.js';
import { defaultDashboardDir } from '../../gateway/broker/static-files.js';
import { EPHEMERAL } from '../gateway/helpers/gateway-fixture.js';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const credentials = { username: 'operator', password: 's3cret' };

let gateway: GatewayHandle;
let browser: Browser;
let pageUrl: string;

beforeAll(async () => {
  const dashboardDir = defaultDashboardDir();
  if (dashboardDir === null || !existsSync(dashboardDir)) throw new Error('the dashboard is not built: run npm run build first (npm test does)');
  gateway = await startGateway({ ...EPHEMERAL, wsPort: 0, dashboardDir, brokerCredentials: credentials });
  pageUrl = `http://127.0.0.1:${gateway.wsPort}/`;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.close();
});

describe('dashboard with broker credentials', () => {
  test('asks for the credentials, refuses wrong ones, and connects with the right ones', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(pageUrl);
      const login = page.locator('#login');
      await login.waitFor({ state: 'visible', timeout: 20_000 });
      await expect.poll(() => page.locator('#conn').innerText()).toBe('log in');
      await page.fill('#login-user', credentials.username);
      await page.fill('#login-password', 'guess');
      await page.click('#login button');
      await login.waitFor({ state: 'visible', timeout: 20_000 });
      await page.fill('#login-password', credentials.password);
      await page.click('#login button');
      await expect.poll(() => page.locator('#conn').innerText(), { timeout: 20_000 }).toBe('connected');
      await expect.poll(() => page.locator('#gateway').innerText(), { timeout: 20_000 }).toBe('gateway online');
      expect(await login.isHidden()).toBe(true);
    } finally {
      await page.close();
    }
  });

  test('connects with the credentials in the URL without asking', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${pageUrl}?username=${credentials.username}&password=${credentials.password}`);
      await expect.poll(() => page.locator('#gateway').innerText(), { timeout: 20_000 }).toBe('gateway online');
      expect(await page.locator('#login').isHidden()).toBe(true);
    } finally {
      await page.close();
    }
  });
});
