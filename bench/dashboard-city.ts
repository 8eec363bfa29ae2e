/**
 * The dashboard as people see it, for the bench's `dashboard` figure and the dashboard suites alike:
 * `lampnet up` as a real process (compiled dist/, as `npm start` runs it) on ephemeral ports, waited
 * on until the fleet has settled, and the page in real headless Chromium (playwright-core).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { chromium, type Browser, type Page } from 'playwright-core';
import { FLEET_STATS_TOPIC, lampStateTopic } from '../protocol/mqtt-topics.js';
import { PROJECT_ROOT } from '../tools/espruino/paths.js';
import { run, type RunningProcess } from './process.js';

const CHROMIUM = '/usr/bin/chromium';
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
    if (!existsSync(join(PROJECT_ROOT, built))) throw new Error(`${built} is missing: run npm run build first`);
  }
  const city = run(process.execPath, ['dist/cli/lampnet.js', 'up', '--lamps', String(lamps), '--mqtt-port', '0', '--ws-port', '0', '--metrics-port', 'off'], { cwd: PROJECT_ROOT });
  try {
    await city.waitForLine(/^ready$/, readyTimeoutMs);
    const dashboardUrl = (await city.waitForLine(/^dashboard\s+(http:\/\/\S+)/, 1000))[1];
    const mqttUrl = (await city.waitForLine(/^MQTT\s+(mqtt:\/\/\S+)/, 1000))[1];
    return { process: city, dashboardUrl, mqttUrl };
  } catch (err) {
    await city.kill();
    throw err;
  }
}

/**
 * Resolves once every lamp is online in `lampnet/stats` and the last lamp's state is published. The
 * gateway publishes 2 messages per lamp at start-up, in registration order, and that burst keeps its
 * event loop (which also serves the page) busy for some seconds: a page loaded before it ends measures
 * the burst, not the dashboard.
 */
export async function settleCity(city: City, lamps: number, timeoutMs: number): Promise<void> {
  const lastState = lampStateTopic(String(lamps));
  // A loaded machine may take the first states' burst before it reads a new connection, and the
  // broker drops one whose CONNECT it did not read within its connect timeout: reconnect, as any
  // MQTT client would, until the deadline.
  const client = mqtt.connect(city.mqttUrl, { reconnectPeriod: 1000 });
  let online = 0;
  let lastStateSeen = false;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the city of ${lamps} lamps did not settle within ${timeoutMs / 1000} s ` +
        `(MQTT ${client.connected ? 'connected' : 'not connected'}; online in ${FLEET_STATS_TOPIC}: ${online}; ` +
        `state of lamp ${lamps}: ${lastStateSeen ? 'seen' : 'not seen'})`)), timeoutMs);
      client.on('message', (topic, payload) => {
        if (topic === lastState) lastStateSeen = true;
        else if (topic === FLEET_STATS_TOPIC) online = onlineOf(payload.toString('utf8'));
        if (online === lamps && lastStateSeen) {
          clearTimeout(timer);
          resolve();
        }
      });
      client.on('connect', () => client.subscribe([FLEET_STATS_TOPIC, lastState], { qos: 1 }));
      client.on('error', () => {}); // refused or reset while loaded: the client reconnects
    });
  } finally {
    await client.endAsync(true);
  }
}

/** The `online` count of a fleet stats document, or -1 if it is not one. */
function onlineOf(text: string): number {
  try {
    const online = (JSON.parse(text) as { online?: unknown }).online;
    return typeof online === 'number' ? online : -1;
  } catch {
    return -1;
  }
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** A new page of `browser` at `viewport` showing the dashboard at `url`, once its script has started;
 * `problems` collects the page's uncaught errors from then on. */
export async function openDashboard(browser: Browser, url: string, viewport: { width: number; height: number }, problems: string[] = []): Promise<Page> {
  const page = await browser.newPage({ viewport });
  page.on('pageerror', (err) => problems.push(err.message));
  await page.goto(url);
  await page.waitForFunction(() => typeof window.lampnet === 'object', null, { timeout: 30_000 }).catch((err: Error) => {
    throw new Error(`${err.message}; page errors: ${problems.join('; ') || 'none'}`);
  });
  return page;
}

/** Milliseconds from the page's navigation until the page's fleet snapshot was all on the map. */
export async function fleetDrawnMs(page: Page, timeoutMs: number): Promise<number> {
  await page.waitForFunction(() => window.lampnet.fleetDrawnMs() !== null, null, { timeout: timeoutMs });
  return (await page.evaluate(() => window.lampnet.fleetDrawnMs())) as number;
}

/** Milliseconds from the page's navigation until `lamps` lamps were on the map, however they came
 * (read in the page at the first animation frame that shows them, as the page times its snapshot). */
export async function lampsDrawnMs(page: Page, lamps: number, timeoutMs: number): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the page did not show ${lamps} lamps within ${timeoutMs / 1000} s`)), timeoutMs);
  });
  const drawn = page.evaluate((n) => new Promise<number>((resolve) => {
    const frame = (): void => {
      if (window.lampnet.lampsOnMap() >= n) resolve(performance.now());
      else requestAnimationFrame(frame);
    };
    frame();
  }), lamps);
  try {
    return await Promise.race([drawn, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
