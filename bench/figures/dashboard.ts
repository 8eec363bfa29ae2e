/**
 * The dashboard's draw time — `lampnet up --lamps N` settled, the page loaded in headless
 * Chromium, and the time from the page's navigation until the whole fleet is on the map.
 *
 * Reference: the same page on the same city with the snapshot path switched off (`?mqtt=` naming the
 * broker, so the page has no gateway behind its origin and draws from the lamps' retained MQTT
 * messages alone). That is the only other way the page can get the fleet, so the ratio is what
 * GET /api/fleet buys; a reference that stops at the first MQTT message would time a partial map.
 * The city and Chromium are processes of their own, so this runs in the bench's process.
 */
import type { Browser, Page } from 'playwright-core';
import { DESKTOP, fleetDrawnMs, launchChromium, lampsDrawnMs, openDashboard, settleCity, startCity, type City } from '../dashboard-city.js';
import { count, Report } from '../report.js';

const TARGET_MS = 2000;
/** A load whose fleet is not all on the map by then is lost. */
const DRAWN_BOUND_MS = 60_000;
/** The MQTT-only reference takes tens of seconds at 100,000 lamps. */
const REFERENCE_BOUND_MS = 180_000;

interface Load {
  /** From navigation until every lamp was on the map; null if not within the bound. */
  drawnMs: number | null;
  /** Lamps on the map once drawn (or when given up). */
  onMap: number;
  pageErrors: string[];
}

export async function measureDashboard(report: Report, s: { lamps: number; loads: number }): Promise<void> {
  const f = report.figure('dashboard', `Dashboard: ${count(s.lamps)} lamps drawn from one page load`, `100,000 lamps on the map ≤ ${TARGET_MS / 1000} s after load`);
  let city: City | null = null;
  let browser: Browser | null = null;
  try {
    city = await startCity(s.lamps, 300_000);
    await settleCity(city, s.lamps, 300_000);
    browser = await launchChromium();
    const loads: Load[] = [];
    for (let i = 0; i < s.loads; i++) loads.push(await load(browser, city.dashboardUrl, s.lamps, false));
    const reference = await load(browser, mqttOnlyUrl(city.dashboardUrl), s.lamps, true);

    const drawn = loads.flatMap((l) => (l.drawnMs !== null && l.onMap === s.lamps && l.pageErrors.length === 0 ? [l.drawnMs] : [])).sort((a, b) => a - b);
    const median = drawn.length > 0 ? drawn[Math.floor((drawn.length - 1) / 2)] : NaN;
    const worst = drawn.length > 0 ? drawn[drawn.length - 1] : NaN;
    const refText = reference.drawnMs === null ? `not drawn within ${REFERENCE_BOUND_MS / 1000} s (${count(reference.onMap)} lamps on the map)` : `${ms(reference.drawnMs)} from MQTT alone`;
    const ratio = reference.drawnMs === null || drawn.length === 0 ? {} : { ratio: median / reference.drawnMs };
    Report.row(f, { label: `fleet on the map after navigation, median of ${drawn.length} loads (snapshot)`, value: drawn.length > 0 ? ms(median) : 'none drawn', reference: refText, ...ratio });
    Report.row(f, { label: `fleet on the map after navigation, worst of ${drawn.length} loads (snapshot)`, value: drawn.length > 0 ? ms(worst) : 'none drawn' });
    for (const l of [...loads, reference]) if (l.pageErrors.length > 0) Report.note(f, `page errors: ${l.pageErrors.join('; ')}`);
    // A load counts only if the page drew exactly the fleet, with no page error.
    const errors = loads.filter((l) => l.drawnMs !== null && (l.onMap !== s.lamps || l.pageErrors.length > 0)).length;
    const lost = loads.filter((l) => l.drawnMs === null).length;
    Report.answers(f, { what: `page loads at ${DESKTOP.width}×${DESKTOP.height}, every one of ${count(s.lamps)} lamps of the fleet snapshot on the map within ${DRAWN_BOUND_MS / 1000} s, no page error`,
      sent: loads.length, confirmed: drawn.length, errors, lost, bound: { errors: 0, lost: 0 } });
    if (s.lamps >= 100_000) Report.verdict(f, drawn.length === loads.length && worst <= TARGET_MS);
    Report.note(f, 'lampnet up (compiled dist/) on ephemeral ports, loaded once every lamp is online and the start-up publish burst has ended; ' +
      'one headless Chromium, a fresh page per load; drawn time is the page\'s own window.lampnet.fleetDrawnMs(). ' +
      'Reference, loaded once: the same page with ?mqtt= naming the same broker, so it has no snapshot and draws from the lamps\' retained messages alone. ' +
      'The verdict is on the worst load.');
  } catch (err) {
    Report.failed(f, err);
  } finally {
    await browser?.close();
    await city?.process.kill();
  }
}

/** One load of the page: with the snapshot, timed by the page itself; without, at the first frame
 * showing every lamp. Never throws: a load that fails shows as not drawn. */
async function load(browser: Browser, url: string, lamps: number, mqttOnly: boolean): Promise<Load> {
  const pageErrors: string[] = [];
  let page: Page;
  try {
    page = await openDashboard(browser, url, DESKTOP, pageErrors);
  } catch (err) {
    // A page whose script never starts draws nothing: a lost load, not a figure left unmeasured.
    return { drawnMs: null, onMap: 0, pageErrors: [...pageErrors, (err as Error).message] };
  }
  try {
    const drawnMs = await (mqttOnly ? lampsDrawnMs(page, lamps, REFERENCE_BOUND_MS) : fleetDrawnMs(page, DRAWN_BOUND_MS)).catch(() => null);
    return { drawnMs, onMap: await page.evaluate(() => window.lampnet.lampsOnMap()), pageErrors };
  } finally {
    await page.close();
  }
}

/** The dashboard at `url` told to use its broker as if no gateway served the page: no snapshot. */
function mqttOnlyUrl(url: string): string {
  const page = new URL(url);
  const broker = new URL('/mqtt', page);
  broker.protocol = page.protocol === 'https:' ? 'wss:' : 'ws:';
  page.searchParams.set('mqtt', broker.href);
  return page.href;
}

function ms(value: number): string {
  return `${Math.round(value)} ms`;
}
