/**
 * The fuzz report as text: per fleet, where every packet went (the host's counters, which must add
 * up to the packets injected), what the lamps and the gateway made of them, and the verdict.
 */
import type { FuzzReport } from './run.js';

/** A run passes when it checked at least one packet and found nothing wrong: a run of no packets
 * proves nothing, so it must not read as a pass. */
export function passed(report: FuzzReport): boolean {
  return report.failure === null && report.packets > 0;
}

export function formatReport(report: FuzzReport): string {
  const lines: string[] = [];
  const row = (name: string, value: number) => lines.push(`  ${name.padEnd(64)} ${String(value).padStart(10)}`);
  lines.push(`seed ${report.seed}: ${report.packets} packets in ${report.seconds.toFixed(1)} s (${Math.round(report.packets / Math.max(report.seconds, 1e-9))}/s), heap ${report.heapMB.start} MB after boot, ${report.heapMB.end} MB at the end`);
  for (const t of report.targets) {
    lines.push('', `${t.name}: ${t.injected} packets injected, ${t.gatewayAnswers} answers from the gateway's endpoint`);
    for (const [name, value] of Object.entries(t.host)) if (value !== 0 || !name.startsWith('drop.')) row(name, value);
    lines.push(`  dispositions ${t.dispositions} = drops + echoReplies + pingsIgnored + udpDelivered + unreachablesDelivered + icmpErrorsSent`);
    lines.push(`    + icmpErrorsRateLimited + txRefused - multicastCopies + multicastPackets  (${t.dispositions === t.injected + t.gatewayAnswers ? 'equals' : 'DIFFERS FROM'} packets injected + answers)`);
    for (const [name, value] of Object.entries(t.fleet)) row(`fleet.${name}`, value);
    for (const [name, value] of Object.entries(t.sent)) row(`sent.${name}`, value);
    for (const [code, value] of Object.entries(t.lampCoapCodes)) row(`sent.coap.${code}`, value);
    if (t.gateway) {
      const { refused, ...counts } = t.gateway;
      for (const [name, value] of Object.entries(counts)) row(`gateway.${name}`, value);
      for (const [kind, value] of Object.entries(refused)) row(`gateway.refused.${kind}`, value);
    }
  }
  lines.push('', `CoAP codec: ${report.codec.checked} messages, ${report.codec.wellFormed} well-formed (parse, emit and re-parse agree byte for byte)`);
  for (const [reason, value] of Object.entries(report.codec.rejected)) row(reason, value);
  if (report.failure) {
    const f = report.failure;
    lines.push('', `FAILED (${f.kind}) at packet ${f.index} for the ${f.target} fleet, seed ${f.seed}: ${f.message}`);
    if (f.hex) lines.push(`${f.kind === 'codec' ? 'CoAP message' : 'packet'} (hex): ${f.hex}`);
    lines.push(`reproduce: npm run fuzz -- --seed ${f.seed} --count ${f.index + 1}`);
  } else if (!passed(report)) {
    lines.push('', 'NOTHING CHECKED: no packet was sent (--count 0), so this run says nothing about the code');
  } else lines.push('', 'OK: no exception, every packet accounted for, every packet sent well-formed');
  return lines.join('\n');
}
