/**
 * The soak's probe: a fleet at `--speed` (simulated time runs that much faster, so lamps
 * refresh registrations, fade and retransmit sixty times as often) with the gateway and broker in
 * process, under a steady stream of MQTT commands to random lamps, for `--minutes` of wall time.
 * Every sample records the heap after full collections, RSS, the gateway's backlog and in-flight
 * gauges, the scheduler's armed timers, the link's refusals and what became of the commands: accepted
 * by the gateway, and confirmed by the lamps (2.04), refused or timed out. After the last command the
 * probe waits for the deliveries to finish, so the last sample accounts for every command sent; the
 * last line is the whole series.
 *
 *   node --expose-gc soak.js --lamps N --minutes M --speed 60 --rate 200 --lifetime 86400
 *
 * The lamps' registration lifetime is LwM2M's default day unless `--lifetime` says otherwise: each
 * lamp refreshes once per lifetime of simulated time, so the gateway sees lamps × speed ÷ lifetime
 * refreshes per second — with the simulator's 300 s and a million lamps at speed 60, 200,000/s,
 * far beyond what the publish path carries (bench/ANALYSIS.md); with a day, about 700/s.
 */
import { Prng } from '../../sim/random.js';
import { numberArg, progress, reply, runMain, settledHeap } from './probe.js';
import { type CommandCounts, commandCounts, gatewayGauges, startSystem } from './fleet-gateway.js';

export interface SoakSample {
  minute: number;
  heapUsed: number;
  rss: number;
  online: number;
  scheduled: number;
  txRefused: number;
  commandsSent: number;
  commands: CommandCounts;
  gauges: Record<string, number>;
}

/** How long the last deliveries may take to finish: a CON's whole retransmission span at the soak's
 * speed is under two seconds of wall time, so this is reached only if the gateway has stalled. */
const SETTLE_MS = 60_000;

runMain(async () => {
  const lamps = numberArg('lamps', 1_000_000);
  const minutes = numberArg('minutes', 30);
  const speed = numberArg('speed', 60);
  const rate = numberArg('rate', 200);
  const lifetimeS = numberArg('lifetime', 86_400);
  // Registrations spread over two real minutes: lamps that register before the gateway is attached
  // retransmit every few tens of real milliseconds at this speed, so few may start that early.
  const system = await startSystem({ lamps, speed, lifetimeS, bootJitterMs: 120_000 * speed, registerTimeoutMs: 900_000 });
  const { client, gateway, sim } = system;
  const rng = new Prng(11);
  let commandsSent = 0;
  const sample = async (minute: number): Promise<SoakSample> => {
    const s: SoakSample = {
      minute, heapUsed: settledHeap(), rss: process.memoryUsage().rss, online: gateway.registry.onlineCount,
      scheduled: sim.fleet.scheduler.heap.pending, txRefused: sim.host.counters.txRefused, commandsSent,
      commands: await commandCounts(gateway), gauges: await gatewayGauges(gateway),
    };
    progress(`soak ${minute.toFixed(1)} min: heap ${(s.heapUsed / 2 ** 20).toFixed(0)} MiB, RSS ${(s.rss / 2 ** 20).toFixed(0)} MiB, ` +
      `online ${s.online}, armed ${s.scheduled}, commands sent ${commandsSent} ${JSON.stringify(s.commands)}, gauges ${JSON.stringify(s.gauges)}`);
    return s;
  };
  const samples: SoakSample[] = [await sample(0)];
  const started = performance.now();
  const end = started + minutes * 60_000;
  const every = Math.min(60_000, (minutes * 60_000) / 10);
  let nextSample = started + every;
  while (performance.now() < end) {
    const due = Math.floor(((performance.now() - started) / 1000) * rate);
    for (; commandsSent < due; commandsSent++) {
      const lamp = 1 + Math.floor(rng.float() * lamps);
      client.publish(`lampnet/lamps/${lamp}/set`, commandsSent % 3 === 0 ? 'OFF' : String(1 + Math.floor(rng.float() * 100)), { qos: 0 });
    }
    if (performance.now() >= nextSample) {
      samples.push(await sample((performance.now() - started) / 60_000));
      nextSample += every;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  // Settled: no lamp has a command waiting or in flight, and the gateway accepts no more (QoS 0
  // commands still on their way from the broker would arrive within that second).
  const settleBy = performance.now() + SETTLE_MS;
  let accepted = (await commandCounts(gateway)).accepted;
  let acceptedAt = performance.now();
  let backlog = Infinity;
  while (backlog > 0 || performance.now() - acceptedAt < 1000) {
    if (performance.now() > settleBy) {
      progress(`deliveries still unfinished after ${SETTLE_MS / 1000} s: command backlog ${backlog}`);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = (await commandCounts(gateway)).accepted;
    if (now !== accepted) acceptedAt = performance.now();
    accepted = now;
    backlog = (await gatewayGauges(gateway)).lampnet_gateway_command_backlog ?? 0;
  }
  samples.push(await sample((performance.now() - started) / 60_000));
  reply({ result: { lamps, minutes, speed, rate, lifetimeS, samples } });
  await system.close();
});
