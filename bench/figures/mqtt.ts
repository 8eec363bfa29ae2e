/** Figure 4: MQTT `set` → lamp → retained state latency, and the MQTT 5 request/response round trip
 * (command with a Response Topic → the gateway's answer), beside MQTT alone on the same broker. */
import { runProbe } from '../child.js';
import { count, Report } from '../report.js';

/** One rate's round of the probe (bench/probes/mqtt-latency.ts), as it replies. */
export interface RunResult {
  rate: number;
  sent: number;
  matched: number;
  achievedRate: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** In one process over loopback nothing should go missing; one in a thousand is the most tolerated. */
const MQTT_BOUND = { errors: 0, lost: 0.001 };

export interface MqttSettings {
  lamps: number;
  rates: number[];
  seconds: number;
}

export async function measureMqtt(report: Report, s: MqttSettings, nodeFlags: string[]): Promise<void> {
  const f = report.figure('mqtt', `MQTT set → lamp → retained state latency (${count(s.lamps)} lamps, in-process)`, 'p99 ≤ 20 ms at 10k commands/s');
  try {
    const r = await runProbe<{ runs: { lamp: RunResult; reply: RunResult; echo: RunResult }[]; gauges: Record<string, number> }>('mqtt-latency',
      ['--lamps', String(s.lamps), '--rates', s.rates.join(','), '--seconds', String(s.seconds)], 300_000,
      { nodeFlags: ['--max-old-space-size=8192', ...nodeFlags] });
    let verdict: boolean | null = null;
    for (const { lamp, reply, echo } of r.runs) {
      for (const [what, run] of [['set → state', lamp], ['request → response (MQTT 5)', reply]] as const) {
        Report.row(f, {
          label: `${count(run.rate)} commands/s for ${s.seconds} s: ${what} (answered ${count(run.matched)}/${count(run.sent)})`,
          value: `p50 ${run.p50Ms.toFixed(2)} ms, p99 ${run.p99Ms.toFixed(2)} ms, max ${run.maxMs.toFixed(1)} ms`,
          reference: `MQTT alone p50 ${echo.p50Ms.toFixed(2)} ms, p99 ${echo.p99Ms.toFixed(2)} ms`,
          ratio: run.p99Ms / echo.p99Ms,
        });
        if (run.achievedRate < 0.95 * run.rate) Report.note(f, `${what} at ${count(run.rate)}/s: the client published only ${count(run.achievedRate)}/s (the process was saturated)`);
      }
      for (const [what, run] of [['commands', lamp], ['requests', reply], ['MQTT alone', echo]] as const) {
        Report.answers(f, { what: what === 'commands'
          ? `${count(run.rate)} commands/s, each confirmed by the lamp's retained state showing the level asked`
          : what === 'requests'
            ? `${count(run.rate)} commands/s with a Response Topic, each answered with the lamp's confirmed state at the level asked`
            : `${count(run.rate)} messages/s through the broker alone, each received back`,
        sent: run.sent, confirmed: run.matched, errors: 0, lost: run.sent - run.matched, bound: MQTT_BOUND });
      }
      if (lamp.rate >= 10_000) verdict = lamp.p99Ms <= 20 && lamp.matched === lamp.sent;
    }
    if (verdict !== null) Report.verdict(f, verdict);
    Report.note(f, 'Fleet (memory link), gateway, embedded aedes 2 (TCP on 127.0.0.1) and the mqtt.js client (MQTT 5) share one process, as `lampnet up` does; ' +
      'a command counts when the lamp\'s retained state shows its level (the lamp obeyed and reported), a request when the gateway\'s answer carries that level. ' +
      'The reference messages are commands to a group no lamp is in (clients may publish only commands), so the gateway also refuses each. Ratio is p99 over the reference p99.');
  } catch (err) {
    Report.failed(f, err);
  }
}
