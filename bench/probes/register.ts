/**
 * The registration figure's probe (issue 15): a fleet of `--lamps N` boots on the memory link and
 * registers with the gateway (LwM2M Register, then the gateway's setup: Write-Attributes, Observe
 * of /3311/0, /3305/0 and /3/0/11, read of the groups), and an MQTT client subscribed before the
 * first registration times three moments from the start of the boot: every Register answered (the
 * gateway's registry counts every lamp), every lamp `online` on MQTT, every lamp's first complete
 * state on MQTT (first-seen.ts). Fleet, gateway, embedded broker and client share the process, as
 * in `lampnet up`.
 *
 *   node register.js --lamps N
 */
import { numberArg, progress, reply, runMain } from './probe.js';
import { gatewayCounters, gatewayGauges, startSystem, until } from './fleet-gateway.js';
import { FIRST_SEEN_TOPICS, FirstSeen } from './first-seen.js';

/** How long the lamps' first states may take after the last Register was answered. */
const STATES_BOUND_MS = 600_000;

runMain(async () => {
  const lamps = numberArg('lamps', 10_000);
  const seen = new FirstSeen(lamps);
  const started = performance.now();
  const system = await startSystem({ lamps, registerTimeoutMs: 600_000, subscribe: FIRST_SEEN_TOPICS, onMessage: (topic, payload) => seen.take(topic, payload) });
  const registeredS = (performance.now() - started) / 1000;
  const statesAtRegistered = seen.stateCount;
  let closed = false;
  system.client.on('close', () => { closed = true; });
  const finished = await until(() => seen.done || closed, STATES_BOUND_MS,
    () => `${((performance.now() - started) / 1000).toFixed(0)} s: on MQTT ${seen.onlineCount} online, ${seen.stateCount} first states (${seen.incomplete} incomplete) of ${lamps}; ` +
      `gateway publish backlog ${system.gateway.backlog().publish}`, 10_000).then(() => true, () => false);
  if (closed) throw new Error(`the MQTT client lost its connection to the broker after ${seen.onlineCount} lamps online and ${seen.stateCount} first states`);
  if (!finished) progress(`not every lamp showed within ${STATES_BOUND_MS / 1000} s of registration`);
  const at = (t: number): number => (t - started) / 1000;
  const gauges = await gatewayGauges(system.gateway);
  const counters = await gatewayCounters(system.gateway);
  progress(`gateway counters: ${JSON.stringify(counters)}`);
  reply({ result: {
    lamps, bootS: system.bootS, jitterS: system.jitterS, registeredS, onlineS: at(seen.allOnlineAt), statesS: at(seen.allStatesAt),
    lacking: seen.lacking, online: seen.onlineCount, states: seen.stateCount, statesAtRegistered, statesAtOnline: seen.statesAtAllOnline, incomplete: seen.incomplete,
    heapUsed: process.memoryUsage().heapUsed, rss: process.memoryUsage().rss, gauges, counters,
  } });
  await system.close();
});
