/** Figures 6 and 7: the firmware bundle's minified size, built the way `npm run build` builds it,
 * and its JsVars in use on the real interpreter. */
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PROJECT_ROOT } from '../../tools/espruino/paths.js';
import { BOARD_IPV4, BoardLab, boardsUnavailable, GATEWAY_IPV4 } from '../espruino-board.js';
import { bundleFirmware, bundleProblems, MAX_BUNDLE_BYTES, moduleSizes } from '../../tools/espruino/build.js';
import { count, Report } from '../report.js';

/** JsVars a board may use at steady state with LwM2M and OSCORE together (issue 19: 3,000 at most of
 * an ESP32-C3's pool of 4,095, the rest for the console). Before OSCORE the board used about 1,800
 * against 2,000; the OSCORE code is in the bundle whether or not the board has a key. */
export const JSVAR_TARGET = 3000;

export async function measureFirmware(report: Report): Promise<void> {
  const f = report.figure('firmware', 'Firmware bundle bytes, minified', `≤ ${MAX_BUNDLE_BYTES / 1024} KB (${count(MAX_BUNDLE_BYTES)} B)`);
  try {
    const code = await bundleFirmware();
    const bytes = Buffer.byteLength(code);
    Report.row(f, { label: 'bundle as npm run build writes dist/firmware/lampnet.js (esbuild, SWC to ES5, terser)', value: `${count(bytes)} B`, reference: `budget ${count(MAX_BUNDLE_BYTES)} B`, ratio: bytes / MAX_BUNDLE_BYTES });
    Report.row(f, { label: 'gzip -9 of the same (for scale only; Espruino stores it raw)', value: `${count(gzipSync(code, { level: 9 }).length)} B` });
    // The size of a bundle that does not work says nothing: its build checks are its answers.
    const problems = (await bundleProblems(code)).filter((p) => !p.includes('budget'));
    Report.answers(f, { what: 'the bundle\'s build checks (ES5 and Espruino globals; the wire check: the bundle on the stand-in interpreter answering the gateway\'s requests)',
      sent: 1, confirmed: problems.length === 0 ? 1 : 0, errors: problems.length === 0 ? 0 : 1, lost: 0, bound: { errors: 0, lost: 0 } });
    if (problems.length > 0) Report.note(f, `build problems: ${problems.join('; ')}`);
    Report.verdict(f, bytes <= MAX_BUNDLE_BYTES);
    if (bytes > MAX_BUNDLE_BYTES) {
      const largest = (await moduleSizes()).slice(0, 5).map((m) => `${m.module} ${count(m.bytes)} B`).join(', ');
      Report.note(f, `over budget by ${count(bytes - MAX_BUNDLE_BYTES)} B; largest modules (minified alone): ${largest}`);
    }
  } catch (err) {
    Report.failed(f, err);
  }
}

interface JsVarRun {
  boot: number;
  registered: number;
  commanded: number;
  /** The board's answers to the commands (bench/probes/board-commands.ts). */
  commands: { sent: number; changed: number; refused: number; timeouts: number };
  /** Whether the gateway's MQTT state showed the last command's level: the board, observed, notified it. */
  notified: boolean;
}

/** Figure 7: what limits a board first, its JsVar pool, on the real interpreter: the bundle as a
 * board behind the real gateway (espruino-board.ts), flashed as `lampnet firmware flash` stores it
 * and powered up from flash: JsVars in use after boot, after its LwM2M registration with the
 * gateway and the gateway's setup (observations of /3311/0, /3305/0 and /3/0/11, attributes, the
 * groups read: the first state on MQTT), and after `commands` CoAP commands, in `runs` fresh boards. */
export async function measureJsVars(report: Report, runs: number, commands: number): Promise<void> {
  const f = report.figure('jsvars', `Firmware JsVars in use on the real Espruino interpreter (${runs} boards, ${count(commands)} commands each)`, `≤ ${count(JSVAR_TARGET)} JsVars at steady state (pool 4,096, an ESP32-C3's)`);
  const unavailable = boardsUnavailable();
  if (unavailable !== null) return Report.failed(f, unavailable);
  try {
    const bundle = await bundleFirmware();
    const results: JsVarRun[] = [];
    for (let run = 0; run < runs; run++) results.push(await oneBoard(bundle, commands, run));
    const median = (pick: (r: JsVarRun) => number): number => results.map(pick).sort((a, b) => a - b)[Math.floor(results.length / 2)];
    const worst = (pick: (r: JsVarRun) => number): number => Math.max(...results.map(pick));
    const rows: [string, (r: JsVarRun) => number][] = [['after boot', (r) => r.boot], ['after registration and the gateway\'s observation setup (first state on MQTT)', (r) => r.registered],
      [`after ${count(commands)} commands (each notified to the gateway)`, (r) => r.commanded]];
    for (const [label, pick] of rows) {
      Report.row(f, { label, value: `median ${count(median(pick))}, worst ${count(worst(pick))}`, reference: `target ${count(JSVAR_TARGET)}`, ratio: worst(pick) / JSVAR_TARGET });
    }
    const total = (pick: (c: JsVarRun['commands']) => number): number => results.reduce((a, r) => a + pick(r.commands), 0);
    Report.answers(f, { what: 'confirmable PUTs of /3311/0/5851 to the boards, ACK 2.04 (refused: another code; lost: unanswered after every retransmission)',
      sent: total((c) => c.sent), confirmed: total((c) => c.changed), errors: total((c) => c.refused), lost: total((c) => c.timeouts), bound: { errors: 0, lost: 0 } });
    const notified = results.filter((r) => r.notified).length;
    Report.answers(f, { what: 'boards observed by the gateway: the last command\'s level in the board\'s state on MQTT (the board notified the gateway)',
      sent: results.length, confirmed: notified, errors: 0, lost: results.length - notified, bound: { errors: 0, lost: 0 } });
    Report.verdict(f, worst((r) => r.commanded) <= JSVAR_TARGET && worst((r) => r.registered) <= JSVAR_TARGET);
    Report.note(f, 'process.memory().usage read at the board\'s console (it collects garbage first). The board registers with `lampnet gateway` as an LwM2M client; the gateway writes pmax on /3311/0, observes /3311/0, /3305/0 and /3/0/11 and reads the groups, and publishes the first state when that is done. ' +
      'Commands are confirmable PUTs of /3311/0/5851 from the gateway\'s address, each answered 2.04; the board notifies each change to the gateway\'s observation of /3311/0. ' +
      'The board is flashed (boot code in Storage) and powered up from flash, as in the field; the same bundle uploaded to RAM without flashing uses about 450 JsVars more.');
  } catch (err) {
    Report.failed(f, err);
  }
}

async function oneBoard(bundle: string, commands: number, run: number): Promise<JsVarRun> {
  const lab = await BoardLab.create(`jsvars${run}`);
  try {
    await lab.startGateway();
    await lab.flash({ gateway: GATEWAY_IPV4, lamp: { id: `bench-${run}` } }, bundle);
    const board = lab.powerUp();
    const boot = await board.bootJsVars();
    await lab.mqttUntil(`lampnet/lamps/bench-${run}/availability`, (p) => p === 'online', 30);
    // The first state goes out once the gateway's setup of the board is done.
    await lab.mqttUntil(`lampnet/lamps/bench-${run}/state`, (p) => p.startsWith('{'), 30);
    const registered = await board.jsVars();
    const burst = await lab.run(process.execPath, [join(PROJECT_ROOT, 'dist', 'bench', 'probes', 'board-commands.js'), GATEWAY_IPV4, BOARD_IPV4, String(commands)], 300_000);
    const result = JSON.parse(burst.stdout || 'null') as JsVarRun['commands'] | null;
    if (!result) throw new Error(`the command probe printed no result: ${burst.stderr}`);
    // board-commands.ts cycles levels 0..100: the last one sent.
    const lastLevel = (commands - 1) % 101;
    const notified = await lab.mqttUntil(`lampnet/lamps/bench-${run}/state`, (p) => (JSON.parse(p) as { level?: number }).level === lastLevel, 30).then(() => true, () => false);
    return { boot, registered, commanded: await board.jsVars(), commands: result, notified };
  } finally {
    await lab.delete();
  }
}
