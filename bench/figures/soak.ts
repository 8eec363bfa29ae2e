/** The soak: heap at start and end and every queue's size over a long run under load. */
import { runProbe } from '../child.js';
import type { SoakSample } from '../probes/soak.js';
import { count, mib, Report } from '../report.js';

export interface SoakSettings {
  lamps: number;
  minutes: number;
  /** Registration lifetime of the lamps, simulated seconds. */
  lifetimeS: number;
  nodeFlags: string[];
}

/** Commands are QoS 0 to random lamps: none may be refused, and at most 1% go unconfirmed (a second
 * command for a lamp whose first is still in flight merges into it, which is rare at this rate). */
const COMMAND_BOUND = { errors: 0, lost: 0.01 };

export async function measureSoak(report: Report, s: SoakSettings): Promise<void> {
  const f = report.figure('soak', `Soak: ${count(s.lamps)} lamps at --speed 60 for ${s.minutes} min under steady commands`, 'heap flat, no queue growth, commands confirmed');
  try {
    const r = await runProbe<{ rate: number; samples: SoakSample[] }>('soak', ['--lamps', String(s.lamps), '--minutes', String(s.minutes), '--speed', '60', '--lifetime', String(s.lifetimeS)],
      (s.minutes + 20) * 60_000, { nodeFlags: ['--expose-gc', '--max-old-space-size=12288', ...s.nodeFlags] });
    const first = r.samples[0];
    const last = r.samples[r.samples.length - 1];
    for (const x of r.samples) {
      Report.row(f, { label: `minute ${x.minute.toFixed(1)}`, value: `heap ${mib(x.heapUsed)}, RSS ${mib(x.rss)}, online ${count(x.online)}, armed timers ${count(x.scheduled)}, tx refused ${count(x.txRefused)}, ` +
        `commands sent ${count(x.commandsSent)}, accepted ${count(x.commands.accepted)}, confirmed ${count(x.commands.confirmed)}, refused ${count(x.commands.refused)}, timed out ${count(x.commands.timeout)}, ` +
        `${Object.entries(x.gauges).filter(([k]) => /backlog|in_flight/.test(k)).map(([k, v]) => `${k.replace('lampnet_gateway_', '')} ${count(v)}`).join(', ')}` });
    }
    // Flatness is judged from the second sample on: the first is taken while the fleet's first
    // registrations are still being published, before the gateway holds its steady state.
    const warm = r.samples[Math.min(1, r.samples.length - 1)];
    const growth = (last.heapUsed - warm.heapUsed) / warm.heapUsed;
    Report.row(f, { label: 'heap end vs start', value: mib(last.heapUsed), reference: `start ${mib(first.heapUsed)}`, ratio: last.heapUsed / first.heapUsed });
    Report.row(f, { label: `heap end vs minute ${warm.minute.toFixed(1)} (warm)`, value: mib(last.heapUsed), reference: mib(warm.heapUsed), ratio: last.heapUsed / warm.heapUsed });
    const queues = Object.keys(last.gauges).filter((k) => /backlog|in_flight/.test(k));
    const grown = queues.filter((k) => last.gauges[k] > Math.max(1000, 2 * Math.max(...r.samples.map((x) => x.gauges[k] ?? 0).slice(0, Math.ceil(r.samples.length / 2)))));
    const c = last.commands;
    Report.answers(f, { what: 'MQTT commands to random lamps, confirmed by the lamp\'s 2.04 to the gateway (refused: another code)', sent: last.commandsSent,
      confirmed: c.confirmed, errors: c.refused, lost: last.commandsSent - c.confirmed - c.refused, bound: COMMAND_BOUND });
    Report.verdict(f, growth < 0.1 && grown.length === 0);
    Report.note(f, `${count(r.rate)} commands/s to random lamps (levels and OFF); registration lifetime ${count(s.lifetimeS)} s (simulated). Heap is after full collections; flat means < 10% growth from the warm sample. Queue growth means the last sample above twice the largest of the first half${grown.length > 0 ? `; grown: ${grown.join(', ')}` : ''}.`);
  } catch (err) {
    Report.failed(f, err);
  }
}
