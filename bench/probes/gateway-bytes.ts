/**
 * The gateway's bytes per lamp (issue 15): `startGateway` in a process of its own, on its udp6
 * socket (port 5683 of every address) and an external broker (`--mqtt-url`, Mosquitto), so the
 * process holds the gateway's state and not the broker's retained messages. An MQTT client
 * subscribed to every lamp's availability and state (first-seen.ts) tells when the fleet (a
 * simulator behind TUN in the same namespace, started once this probe is ready) is online with
 * its first states; then the probe waits until nothing is in flight or waiting to be published and
 * measures the heap and ArrayBuffers after full collections.
 *
 *   node --expose-gc gateway-bytes.js --lamps N --mqtt-url mqtt://127.0.0.1:PORT
 *
 * Replies `{"ready": {base}}` once the gateway serves (base: settledMemory with the gateway, the
 * client and the client's bitmaps up and no lamp yet), then `{"result": …}` (times from `ready`).
 */
import mqtt from 'mqtt';
import { startGateway } from '../../gateway/gateway.js';
import { FIRST_SEEN_TOPICS, FirstSeen } from './first-seen.js';
import { gatewayGauges, until } from './fleet-gateway.js';
import { numberArg, progress, reply, runMain, settledMemory, stringArg } from './probe.js';

runMain(async () => {
  const lamps = numberArg('lamps', 10_000);
  const url = stringArg('mqtt-url', '');
  if (!url) throw new Error('--mqtt-url is required');
  const seen = new FirstSeen(lamps);
  const gateway = await startGateway({ mqttUrl: url, wsPort: null, metricsPort: null, dashboardDir: null, clientId: 'lampnet-bench-gateway', commandHoldMs: 0 });
  const client = mqtt.connect(url, { clientId: `lampnet-bench-${process.pid}`, reconnectPeriod: 0 });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  client.on('message', (topic, payload) => seen.take(topic, payload));
  await client.subscribeAsync(FIRST_SEEN_TOPICS, { qos: 0 });
  const base = settledMemory();
  const started = performance.now();
  reply({ ready: { base } });
  const finished = await until(() => seen.done, 900_000,
    () => `${gateway.registry.onlineCount} registered; on MQTT ${seen.onlineCount} online, ${seen.stateCount} first states of ${lamps}`, 10_000).then(() => true, () => false);
  // Quiet: no exchange in flight, nothing waiting to be published (a setup still running would
  // be measured half-way).
  let gauges = await gatewayGauges(gateway);
  const quiet = (): boolean => (gauges.lampnet_gateway_coap_in_flight ?? 0) === 0 && (gauges.lampnet_gateway_publish_backlog ?? 0) === 0;
  const deadline = performance.now() + 60_000;
  while (!quiet() && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    gauges = await gatewayGauges(gateway);
  }
  if (!quiet()) progress(`not quiet: ${JSON.stringify(gauges)}`);
  const after = settledMemory();
  const at = (t: number): number => (t - started) / 1000;
  reply({ result: {
    lamps, finished, registered: gateway.registry.onlineCount, online: seen.onlineCount, states: seen.stateCount, incomplete: seen.incomplete, lacking: seen.lacking,
    onlineS: at(seen.allOnlineAt), statesS: at(seen.allStatesAt), base, after, rss: process.memoryUsage().rss, gauges,
  } });
  await client.endAsync(true);
  await gateway.close();
});
