/** Figure: round trips to a real board (the bundle on the Espruino interpreter) through the gateway's
 * translator (gateway/siit/) against the same traffic straight to the board's IPv4 address, from
 * the same client, in the same run (siit-lab.ts builds the three namespaces). */
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../tools/espruino/paths.js';
import { bundleFirmware } from '../../tools/espruino/build.js';
import { BOARD_IPV4, boardsUnavailable, GATEWAY_IPV4 } from '../espruino-board.js';
import { count, type Figure, perSecond, Report } from '../report.js';
import { BOARD_IPV6, SiitLab } from '../siit-lab.js';

/** Translated round trips per second, as a share of the untranslated ones (issue 21). */
export const SIIT_TARGET = 0.8;

interface Trips {
  perSecond: number;
  sent: number;
  confirmed: number;
  errors: number;
  lost: number;
}

export async function measureSiit(report: Report, options: { pings: number; gets: number; rounds: number }): Promise<void> {
  const f = report.figure('siit', `Round trips to a real board through the SIIT translator vs straight over IPv4 (best of ${options.rounds} alternating rounds)`, `≥ ${SIIT_TARGET}× the untranslated rate`);
  const unavailable = boardsUnavailable();
  if (unavailable !== null) return Report.failed(f, unavailable);
  let lab: SiitLab | null = null;
  try {
    const bundle = await bundleFirmware();
    lab = await SiitLab.create('siit');
    await lab.startGateway();
    const echoRows: Row[] = [
      ['echo', `ping -f -l ${ECHO_WINDOW} -c ${count(options.pings)}, ${ECHO_WINDOW} in flight (the board's kernel answers)`, true,
        (target) => floodPing(lab as SiitLab, target, options.pings, ECHO_WINDOW)],
      ['echo latency', `ping -f -c ${count(options.pings)}, one in flight, as 1 / mean rtt`, false,
        (target) => floodPing(lab as SiitLab, target, options.pings, 1)],
    ];
    // Echo first: the interpreter for Linux spins a core at 100 % while it runs (a board is its own
    // CPU), and the board's kernel answers echo without it.
    let met = await measureRows(f, echoRows, options.rounds);
    lab.boards.startBoard({ gateway: GATEWAY_IPV4, lamp: { id: 'bench-siit' } }, bundle);
    await lab.boards.mqttUntil('lampnet/lamps/bench-siit/availability', (p) => p === 'online', 30);
    met = await measureRows(f, [['CoAP GET', `${count(options.gets)} confirmable GETs of /3311/0/5851, one at a time (the interpreter answers)`, true,
      (target) => gets(lab as SiitLab, target, options.gets)]], options.rounds) && met;
    Report.verdict(f, met);
    Report.note(f, 'Both paths cross the gateway namespace: straight, its kernel forwards IPv4; translated, its kernel routes the board prefix into the TUN device, lampnet rewrites each packet (RFC 7915) and the kernel forwards the result. ' +
      'The target is judged on what a board is asked in practice: echo with several in flight (rate = answers / ping\'s elapsed time) and CoAP GETs. One echo in flight is shown for the latency it adds: straight, the round trip never leaves the kernel (microseconds); translated, each packet crosses into the gateway process and back twice. ' +
      'Echo is measured before the interpreter starts: the interpreter for Linux spins one of the machine\'s cores at 100 % (a board is its own CPU), and the board\'s kernel answers echo without it.');
  } catch (err) {
    Report.failed(f, err);
  } finally {
    await lab?.delete();
  }
}

/** What is measured, how, whether the target judges it, and the measurement for one address. */
type Row = [string, string, boolean, (target: string) => Promise<Trips>];

/** Each row straight and translated, in alternating rounds, the best of each kept (the machine's
 * other load only ever slows a round); whether every judged row met the target. */
async function measureRows(f: Figure, rows: Row[], rounds: number): Promise<boolean> {
  let met = true;
  for (const [what, how, judged, measure] of rows) {
    let straight: Trips | null = null, translated: Trips | null = null;
    for (let round = 0; round < rounds; round++) {
      straight = best(straight, await measure(BOARD_IPV4));
      translated = best(translated, await measure(BOARD_IPV6));
    }
    if (straight === null || translated === null) throw new Error('no rounds measured');
    const ratio = translated.perSecond / straight.perSecond;
    if (judged) met &&= ratio >= SIIT_TARGET;
    Report.row(f, { label: `${what} through the translator, ${how}${judged ? '' : ' (shown, not judged)'}`, value: perSecond(translated.perSecond), reference: `straight to ${BOARD_IPV4}: ${perSecond(straight.perSecond)}`, ratio });
    for (const [path, t] of [['translated', translated], ['straight', straight]] as const) {
      Report.answers(f, { what: `${what} (${path}): answered by the board`, sent: t.sent, confirmed: t.confirmed, errors: t.errors, lost: t.lost, bound: { errors: 0, lost: 0.01 } });
    }
  }
  return met;
}

/** The faster round, with the answers of both added up (every request sent is accounted for). */
function best(a: Trips | null, b: Trips): Trips {
  if (a === null) return b;
  return {
    perSecond: Math.max(a.perSecond, b.perSecond),
    sent: a.sent + b.sent, confirmed: a.confirmed + b.confirmed, errors: a.errors + b.errors, lost: a.lost + b.lost,
  };
}

/** Echo requests in flight at once for the judged echo row. */
const ECHO_WINDOW = 32;

/** `ping -f -l window`: a request leaves as each reply comes, `window` in flight. The rate is answers
 * per elapsed second; with one in flight, 1000 / mean rtt (ping's elapsed time includes its start). */
async function floodPing(lab: SiitLab, target: string, pings: number, window: number): Promise<Trips> {
  const r = await lab.client('ping', ['-f', '-q', '-n', '-l', String(window), '-c', String(pings), '-W', '1', target], 120_000);
  const sentReceived = r.stdout.match(/(\d+) packets transmitted, (\d+) received(?:, \+(\d+) errors)?/);
  const elapsed = r.stdout.match(/received.*, time (\d+)ms/);
  const rtt = r.stdout.match(/rtt min\/avg\/max\/mdev = [\d.]+\/([\d.]+)\//);
  if (sentReceived === null || rtt === null || elapsed === null) throw new Error(`ping -f ${target} printed no summary: ${r.stdout}${r.stderr}`);
  const sent = Number(sentReceived[1]), received = Number(sentReceived[2]), errors = Number(sentReceived[3] ?? 0);
  const rate = window === 1 ? 1000 / Number(rtt[1]) : received / (Math.max(Number(elapsed[1]), 1) / 1000);
  return { perSecond: rate, sent, confirmed: received, errors, lost: sent - received - errors };
}

async function gets(lab: SiitLab, target: string, n: number): Promise<Trips> {
  const r = await lab.client(process.execPath, [join(PROJECT_ROOT, 'dist', 'bench', 'probes', 'board-gets.js'), target, String(n)], 300_000);
  if (r.code !== 0) throw new Error(`board-gets ${target} failed (${r.code}): ${r.stderr.trim()}`);
  const t = JSON.parse(r.stdout) as { sent: number; confirmed: number; errors: number; lost: number; seconds: number };
  return { perSecond: t.confirmed / t.seconds, sent: t.sent, confirmed: t.confirmed, errors: t.errors, lost: t.lost };
}
