/**
 * `lampnet sim`: run a fleet on a TUN device (or the in-memory link) until interrupted, with a
 * line-based control console on stdin (kill/revive/fault/status) for fault experiments.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULT_MAX_TOUCHED, DEFAULT_SEND_RATE, MAX_DENSE_LAMPS } from '../sim/fleet/fleet.js';
import { defaultBootSpreadMs, startSim, DEFAULT_PREFIX, type Sim, type SimOptions } from '../sim/sim.js';
import { parseCount, parseFraction, parseNumber } from './options.js';
import { withConfig } from './config.js';
import { serveUntilSignal } from './run.js';

/** Options shared by `lampnet sim` and `lampnet up`, with the same names. */
export function addSimOptions(cmd: Command, defaults: { lamps: string; link: string }): Command {
  return cmd
    .option('--lamps <n|all>', `number of lamps (1-${MAX_DENSE_LAMPS}), or "all" for every address of the /64`, defaults.lamps)
    .option('--prefix <prefix>', 'the fleet\'s /64 (lamp n is <prefix>::n)', DEFAULT_PREFIX)
    .option('--link <tun|memory>', 'tun: a TUN device reachable from the host (needs CAP_NET_ADMIN); memory: in-process only', defaults.link)
    .option('--tun <name>', 'TUN device name', 'lampnet0')
    .option('--gateway <addr>', 'gateway address the lamps register with ("none": standalone lamps)', '<prefix>:ffff:0:0:1')
    .option('--ping-when <powered|lit>', 'lit: a lamp answers ping only while its light is on', 'powered')
    .option('--speed <n>', 'run the simulated clock n times faster than real time', '1')
    .option('--fail-rate <fraction>', 'fraction of lamps that boot with a driver fault', '0')
    .option('--loss <fraction>', 'drop this fraction of the lamps\' UDP datagrams (each direction)', '0')
    .option('--latency <ms>', 'add this one-way latency to the lamps\' UDP datagrams', '0')
    .option('--street-size <n>', 'lamps per default group street-<k> (0: no groups)', '100')
    .option('--lifetime <s>', 'registration lifetime the lamps ask for', '300')
    .option('--boot-spread <s|auto>', 'spread the first registrations of the fleet over this many seconds (auto: 0.02 ms per lamp, 1 to 60 s)', 'auto')
    .option('--send-rate <n>', 'most datagrams a second the lamps send on their own (registrations, retransmissions, notifications); answers are never held back', String(DEFAULT_SEND_RATE))
    .option('--max-touched <n>', 'with --lamps all: most lamps created on demand; further new addresses are unreachable', String(DEFAULT_MAX_TOUCHED))
    .option('--trust <prefix...>', 'prefixes besides the gateway allowed to command lamps')
    .option('--seed <n>', 'seed for jitter, faults and loss', '1');
}

/** Turn commander's text options into SimOptions, with errors that name the option. */
export function simOptionsFrom(o: Record<string, string | string[] | undefined>): SimOptions {
  const lampsText = String(o.lamps);
  const lamps = lampsText === 'all' ? 'all' : parseCount(lampsText, '--lamps', 1, MAX_DENSE_LAMPS);
  const link = String(o.link);
  if (link !== 'tun' && link !== 'memory') throw new InvalidArgumentError(`--link must be tun or memory, got "${link}"`);
  const pingWhen = String(o.pingWhen);
  if (pingWhen !== 'powered' && pingWhen !== 'lit') throw new InvalidArgumentError(`--ping-when must be powered or lit, got "${pingWhen}"`);
  const gateway = String(o.gateway);
  const speed = parseNumber(String(o.speed), '--speed', { min: 1e-6 });
  const spread = String(o.bootSpread);
  return {
    lamps,
    prefix: String(o.prefix),
    link,
    tun: String(o.tun),
    gateway: gateway === '<prefix>:ffff:0:0:1' ? undefined : gateway,
    pingWhen,
    speed,
    failRate: parseFraction(String(o.failRate), '--fail-rate'),
    lossRate: parseFraction(String(o.loss), '--loss'),
    latencyMs: parseNumber(String(o.latency), '--latency', { min: 0, max: 60_000 }),
    streetSize: parseCount(String(o.streetSize), '--street-size', 0),
    lifetimeS: parseNumber(String(o.lifetime), '--lifetime', { min: 10, max: 86_400 }),
    // Seconds of wall-clock time; the lamps count them on the simulated clock.
    bootJitterMs: spread === 'auto' ? undefined : parseNumber(spread, '--boot-spread', { min: 0, max: 3600 }) * 1000 * speed,
    sendRate: parseNumber(String(o.sendRate), '--send-rate', { min: 1, max: 10_000_000 }),
    trust: o.trust as string[] | undefined,
    seed: parseCount(String(o.seed), '--seed', 0),
    maxTouched: parseCount(String(o.maxTouched), '--max-touched', 1, 100_000_000),
  };
}

/** What the fleet does against a storm of its own: how its first registrations spread and the pace
 * of what the lamps send on their own, for the banner. */
export function describeStorm(options: SimOptions): string {
  if (options.lamps === 'all' || options.gateway === 'none') return '';
  const speed = options.speed ?? 1;
  const spreadS = (options.bootJitterMs === undefined ? defaultBootSpreadMs(options.lamps) : options.bootJitterMs / speed) / 1000;
  const rate = options.sendRate ?? DEFAULT_SEND_RATE;
  return `first registrations spread over ${spreadS.toLocaleString('en-US', { maximumFractionDigits: 1 })} s (--boot-spread), `
    + `lamps send at most ${rate.toLocaleString('en-US')} datagrams/s on their own (--send-rate)`;
}

/** A one-line progress bar on stderr while a large fleet boots (only on a terminal). */
export function progressBar(label: string): (done: number, total: number) => void {
  return (done, total) => {
    if (!process.stderr.isTTY || total < 50_000) return;
    const width = 30;
    const filled = Math.round((done / total) * width);
    process.stderr.write(`\r${label} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total}${done === total ? '\n' : ''}`);
  };
}

/** libcoap's CoAP client under the names distributions give it: Debian ships only the variants
 * named after their TLS library (`coap-client-notls`, ...). */
const COAP_CLIENTS = ['coap-client', 'coap-client-notls', 'coap-client-gnutls', 'coap-client-openssl', 'coap-client-mbedtls'];

/** The name of the CoAP client on this machine's PATH, or Debian's name when there is none. */
export function coapClientName(searchPath = process.env.PATH ?? ''): string {
  for (const name of COAP_CLIENTS) {
    for (const dir of searchPath.split(path.delimiter)) {
      if (dir === '') continue;
      try {
        accessSync(path.join(dir, name), constants.X_OK);
        return name;
      } catch {
        // not in this directory
      }
    }
  }
  return 'coap-client-notls';
}

/** Ready-to-paste lines for reaching lamp 1, whose address is a lamp in any fleet (also `all`). */
export function lampHints(sim: Sim): string[] {
  const a = sim.lampAddress(1);
  const coap = coapClientName();
  return [
    `  ping -6 -c 3 ${a}`,
    `  ${coap} -m get coap://[${a}]/3311/0/5850`,
    `  ${coap} -m put -e 1 coap://[${a}]/3311/0/5850`,
  ];
}

const HELP_CONSOLE = 'commands: status | state <n> | kill <n> | revive <n> | fault <n> on|off | help';

/** The stdin console: one command per line, one answer per line. */
function runConsole(sim: Sim): void {
  if (process.stdin.isTTY === undefined && process.stdin.readableEnded) return;
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const [cmd, arg, arg2] = line.trim().split(/\s+/);
    const n = Number(arg);
    const lamp = Number.isInteger(n) ? sim.fleet.lamp(n) : undefined;
    const needLamp = (): boolean => {
      if (lamp) return true;
      console.log(`error: no lamp "${arg ?? ''}"`);
      return false;
    };
    switch (cmd) {
      case undefined:
      case '':
        break;
      case 'status':
        console.log(JSON.stringify({ fleet: sim.fleet.counters, host: sim.host.counters.snapshot() }));
        break;
      case 'state':
        if (needLamp()) console.log(JSON.stringify({ lamp: n, up: lamp!.up === 1, ...sim.fleet.state(n) }));
        break;
      case 'kill':
        if (needLamp()) console.log(sim.fleet.kill(n) ? `ok: lamp ${n} killed` : `error: lamp ${n} is already down`);
        break;
      case 'revive':
        if (needLamp()) console.log(sim.fleet.revive(n) ? `ok: lamp ${n} revived` : `error: lamp ${n} is already up`);
        break;
      case 'fault':
        if (arg2 !== 'on' && arg2 !== 'off') console.log('error: fault <n> on|off');
        else if (needLamp()) console.log(sim.fleet.fault(n, arg2 === 'on') ? `ok: lamp ${n} fault ${arg2}` : 'error');
        break;
      case 'help':
        console.log(HELP_CONSOLE);
        break;
      default:
        console.log(`error: unknown command "${cmd}"; ${HELP_CONSOLE}`);
    }
  });
}

export function registerSimCommand(program: Command): void {
  const cmd = program
    .command('sim')
    .description('simulate a fleet of lamps, each at its own IPv6 address in one /64, on the real firmware core')
    .addHelpText('after', `
Examples:
  lampnet sim --lamps 10000 --link tun          then: ping -6 <prefix>::2a
  lampnet sim --lamps all --link tun --gateway none

On stdin: ${HELP_CONSOLE}`);
  withConfig(addSimOptions(cmd, { lamps: '1000', link: 'tun' }), (raw) => simOptionsFrom(raw as Record<string, string | string[] | undefined>)).action(async (o: Record<string, string>) => {
    const options = simOptionsFrom(o);
    const started = performance.now();
    const sim = await startSim({ ...options, onProgress: progressBar('booting lamps') });
    const secs = ((performance.now() - started) / 1000).toFixed(1);
    const count = options.lamps === 'all' ? 'every address' : `${options.lamps} lamps`;
    const banner = [
      `lampnet sim: ${count} of ${sim.prefix}/64 on ${options.link === 'tun' ? `TUN ${options.tun}` : 'the memory link'} (ready in ${secs} s)`,
      `gateway: ${sim.gateway || 'none (lamps run standalone)'}`,
    ];
    const storm = describeStorm(options);
    if (storm) banner.push(storm);
    if (options.link === 'tun') banner.push(['try:', ...lampHints(sim)].join('\n'));
    // Lines on stdin arrive asynchronously, so none is answered before serveUntilSignal prints `ready`.
    runConsole(sim);
    await serveUntilSignal('lampnet sim', sim, banner.join('\n'));
  });
}
