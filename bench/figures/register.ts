/** Figure (issue 15): registration plus first observation of a large fleet through the LwM2M
 * gateway — time until every lamp is online on MQTT with its first state — beside the same fleet's
 * registration alone (every Register answered), in the same runs. */
import { runProbe } from '../child.js';
import { count, mib, Report } from '../report.js';

interface RegisterResult {
  lamps: number;
  bootS: number;
  jitterS: number;
  registeredS: number;
  /** null when not every lamp showed within the probe's bound. */
  onlineS: number | null;
  statesS: number | null;
  online: number;
  states: number;
  incomplete: number;
  lacking: Record<string, number>;
  /** Lamps with their first state when every lamp was online on MQTT. */
  statesAtOnline: number;
  counters: Record<string, number>;
  heapUsed: number;
  rss: number;
}

/** A first state may lack what a setup step that failed all its tries under the registration storm
 * did not fetch (the gateway publishes it anyway, and sets the lamp up again at its next Update): at
 * most 1% of the lamps, each counted as an error; every lamp must show. */
export const INCOMPLETE_BOUND = { errors: 0.01, lost: 0 };

/** `watts 12, fault 3` from per-run counts of lacking fields. */
export function lackingText(runs: Record<string, number>[]): string {
  const total: Record<string, number> = {};
  for (const r of runs) for (const [k, v] of Object.entries(r)) total[k] = (total[k] ?? 0) + v;
  return Object.entries(total).map(([k, v]) => `${k} ${count(v)}`).join(', ');
}

export async function measureRegister(report: Report, s: { lamps: number; runs: number }): Promise<void> {
  const f = report.figure('register', `Registration plus first observation of ${count(s.lamps)} lamps through the LwM2M gateway (${s.runs} run${s.runs > 1 ? 's' : ''})`,
    'none in issue 15: shown beside the registration alone');
  try {
    const results: RegisterResult[] = [];
    for (let run = 0; run < s.runs; run++) {
      results.push(await runProbe<RegisterResult>('register', ['--lamps', String(s.lamps)], 1_500_000, { nodeFlags: ['--max-old-space-size=12288'] }));
    }
    // A run in which some lamp never showed has no time: it sorts last (worst) and is shown as such.
    const seconds = (pick: (r: RegisterResult) => number | null): number[] => results.map((r) => pick(r) ?? Infinity).sort((a, b) => a - b);
    const median = (v: number[]): number => v[Math.floor(v.length / 2)];
    const worst = (v: number[]): number => v[v.length - 1];
    const show = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(1)} s` : 'not all shown');
    const registered = seconds((r) => r.registeredS);
    for (const [label, pick] of [
      ['every lamp online on MQTT with its first complete state (LwM2M setup done)', (r: RegisterResult) => r.statesS],
      ['every lamp online on MQTT (availability, published at registration)', (r: RegisterResult) => r.onlineS],
    ] as const) {
      const v = seconds(pick);
      Report.row(f, { label: `${label}, from boot`, value: `median ${show(median(v))}, worst ${show(worst(v))}`,
        reference: `registration alone: median ${show(median(registered))}, worst ${show(worst(registered))}`,
        ...(Number.isFinite(median(v)) ? { ratio: median(v) / median(registered) } : {}) });
    }
    Report.row(f, { label: 'every Register answered (the gateway\'s registry counts every lamp), from boot', value: `median ${show(median(registered))}, worst ${show(worst(registered))}` });
    const last = results[results.length - 1];
    const shares = results.map((r) => r.statesAtOnline / r.lamps).sort((a, b) => a - b);
    Report.row(f, { label: 'lamps with their first state when every lamp was online on MQTT', value: `median ${(median(shares) * 100).toFixed(1)}%, worst ${(shares[0] * 100).toFixed(1)}%` });
    Report.row(f, { label: 'boot of the fleet (registrations start during it)', value: `median ${show(median(seconds((r) => r.bootS)))}; registrations spread over ${last.jitterS.toFixed(0)} s` });
    Report.row(f, { label: 'process after the last run (fleet, gateway, broker with retained states, client)', value: `heap ${mib(last.heapUsed)}, RSS ${mib(last.rss)}` });
    const sum = (pick: (r: RegisterResult) => number): number => results.reduce((a, r) => a + pick(r), 0);
    const sent = s.lamps * s.runs;
    Report.answers(f, { what: 'lamps booted, each confirmed by its first state on MQTT carrying what the setup fetches (level, on-time, energy, watts, fault, groups); incomplete first states are errors',
      sent, confirmed: sum((r) => r.states), errors: sum((r) => r.incomplete), lost: sent - sum((r) => r.states) - sum((r) => r.incomplete), bound: INCOMPLETE_BOUND });
    Report.answers(f, { what: 'lamps booted, each confirmed by `online` on its availability topic', sent, confirmed: sum((r) => r.online), errors: 0, lost: sent - sum((r) => r.online), bound: { errors: 0, lost: 0 } });
    Report.shown(f);
    if (results.some((r) => r.incomplete > 0)) Report.note(f, `Incomplete first states lacked (lamps, all runs): ${lackingText(results.map((r) => r.lacking))}.`);
    const c = last.counters;
    const pick = Object.entries(c).filter(([k]) => /registrations|updates|notifications|retransmissions|dropped/.test(k)).map(([k, v]) => `${k} ${count(v)}`).join(', ');
    Report.note(f, `The gateway's counters at the end of the last run: ${pick}.`);
    Report.note(f, 'Fleet (memory link), gateway, embedded aedes and an mqtt.js client subscribed to every lamp\'s availability and state share one process, as in `lampnet up`; each run in a fresh process. ' +
      `Times run from the start of the boot; the lamps' first Registers are spread over ${last.jitterS.toFixed(0)} s (the simulator's default), which bounds every time from below. ` +
      'After its 2.01 the gateway sends each lamp, one at a time: Write-Attributes pmax, Observe /3311/0 (SenML JSON), Observe /3305/0, Observe /3/0/11, read of /32311/0/0, at most 2,048 such requests out over all lamps, a step without answer tried again with backoff; the first state goes out when that is done. ' +
      'The reference is the same runs\' registration alone (every Register answered, the setup of the earlier lamps running beside it), not a run without observation. ' +
      'Before issue 15 (the JSON dialect, state carried in the Register) the staleness figure showed boot + registration of 1,000,000 lamps in 31.9 s (bench/RESULTS.md of that tree; another run, not comparable beyond its order).');
  } catch (err) {
    Report.failed(f, err);
  }
}
