/**
 * The gateway's in-process connection to the embedded broker (broker.ts `connectGateway`): under a
 * burst of QoS 1 publications, on MQTT 5 and on 3.1.1, the broker keeps the connection and every
 * message reaches a TCP subscriber. aedes 2 reads its clients' packets in a loop; a stream that
 * delivered a write synchronously inside that loop re-entered the parser, and aedes then dropped the
 * gateway's connection: lamp states stopped while commands still ran (bench/ANALYSIS.md).
 */
import mqtt, { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../gateway/broker/broker.js';

let broker: EmbeddedBroker | null = null;
const clients: MqttClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true);
  await broker?.close();
  broker = null;
});

describe('the gateway\'s in-process broker connection', () => {
  for (const protocolVersion of [5, 4] as const) {
    it(`answers a burst of 20,000 QoS 1 commands with 20,000 states on MQTT ${protocolVersion === 5 ? '5' : '3.1.1'}`, async () => {
      broker = await startEmbeddedBroker({ host: '127.0.0.1', mqttPort: 0, wsPort: null });
      const b = broker;
      const subscriber = await mqtt.connectAsync(`mqtt://127.0.0.1:${b.mqttPort}`, { reconnectPeriod: 0, protocolVersion });
      clients.push(subscriber);
      const total = 20_000;
      const seen = new Set<string>();
      const all = new Promise<void>((resolve) => subscriber.on('message', (topic) => {
        seen.add(topic);
        if (seen.size === total) resolve();
      }));
      await subscriber.subscribeAsync('lampnet/lamps/+/state', { qos: 1 });

      const gateway = new MqttClient(() => b.connectGateway(), { clientId: 'lampnet-gateway', reconnectPeriod: 0, protocolVersion });
      clients.push(gateway);
      let closed = 0;
      gateway.on('close', () => closed++);
      await new Promise<void>((resolve, reject) => { gateway.once('connect', () => resolve()); gateway.once('error', reject); });
      // As the gateway does: each command received is answered with a state, while commands keep coming.
      // States go at QoS 0, at most 16 waiting for their write callbacks, as gateway/mqtt/publisher.ts sends them.
      const pending: string[] = [];
      let inFlight = 0;
      const state = `{"on":true,"pad":"${'x'.repeat(240)}"}`;
      const pump = (): void => {
        while (inFlight < 16 && pending.length > 0) {
          inFlight++;
          gateway.publish(pending.shift() as string, state, { qos: 0, retain: true }, () => { inFlight--; pump(); });
        }
      };
      gateway.on('message', (topic) => {
        pending.push(topic.replace(/set$/, 'state'));
        pump();
      });
      await gateway.subscribeAsync('lampnet/lamps/+/set', { qos: 1 });
      const commander = await mqtt.connectAsync(`mqtt://127.0.0.1:${b.mqttPort}`, { reconnectPeriod: 0, protocolVersion });
      clients.push(commander);
      for (let n = 1; n <= total; n++) void commander.publishAsync(`lampnet/lamps/${n}/set`, 'ON', { qos: 1 });
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${seen.size} of ${total} messages arrived in 60 s; the gateway's connection closed ${closed} times`)), 60_000));
      await Promise.race([all, timeout]);
      expect(seen.size).toBe(total);
      expect(closed).toBe(0);
      expect(gateway.connected).toBe(true);
    }, 90_000);
  }
});
