/**
 * The same gateway against a real Mosquitto 2 instead of the embedded aedes: the basic loop,
 * a broker restart (the gateway reconnects and republishes), retained commands, and the documented
 * ACL (docs/mosquitto/lampnet.acl) with the gateway on MQTT 5.
 */
import path from 'node:path';
import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Fixture, metricValue, startFixture } from './helpers/gateway-fixture.js';
import { startMosquitto, type Mosquitto } from './helpers/mosquitto.js';
import { startGateway } from '../../gateway/gateway.js';
import { watch } from './helpers/mqtt-watch.js';

let broker: Mosquitto;
let fixture: Fixture | null = null;

beforeEach(async () => {
  broker = await startMosquitto();
});
afterEach(async () => {
  await fixture?.close();
  fixture = null;
  await broker.stop();
});

const onMosquitto = (count: number, configure?: (config: { groups: string }, n: number) => void) =>
  startFixture(count, { gateway: { mqttUrl: broker.url, clientId: `lampnet-test-${process.pid}-${Date.now()}`, statsIntervalMs: 100 }, configure });

describe('gateway on Mosquitto', () => {
  it('logs in with --mqtt-username/--mqtt-password, and a wrong password is a clear startup error', async () => {
    await broker.stop();
    const user = { username: 'lampnet', password: 'street-light' };
    broker = await startMosquitto(user);
    await expect(startGateway({ mqttUrl: broker.url, mqttUsername: 'lampnet', mqttPassword: 'wrong', clientId: 'bad-login', wsPort: null, metricsPort: null, coapPort: 0 }))
      .rejects.toThrow(/the MQTT broker mqtt:\/\/127\.0\.0\.1:\d+ refused the gateway: .*(Not authorized|Bad user)/i);
    fixture = await startFixture(1, {
      gateway: { mqttUrl: broker.url, mqttUsername: user.username, mqttPassword: user.password, clientId: 'good-login' },
      watchOptions: user,
    });
    await fixture.allOnline();
  });

  it('publishes lamps online with state, and turns on exactly the lamp commanded', async () => {
    fixture = await onMosquitto(3);
    const { watcher, lamps } = fixture;
    await fixture.allOnline();
    expect(watcher.last.get('lampnet/gateway/status')).toBe('online');
    await watcher.publish('lampnet/lamps/2/set', 'ON');
    await watcher.json<{ on: boolean }>('lampnet/lamps/2/state', (s) => s.on);
    expect([1, 2, 3].map((n) => lamps.state(n).on)).toEqual([false, true, false]);
  });

  it('sends a group command to the members only', async () => {
    fixture = await onMosquitto(3, (config, n) => { config.groups = n === 3 ? 'park' : 'road'; });
    const { watcher, lamps } = fixture;
    await fixture.allOnline();
    await watcher.publish('lampnet/groups/road/set', '{"on":true,"level":40}');
    await watcher.until('lamps 1 and 2 at 40', () => [1, 2].every((n) => JSON.parse(watcher.last.get(`lampnet/lamps/${n}/state`)!).level === 40));
    expect([1, 2, 3].map((n) => lamps.state(n).on)).toEqual([true, true, false]);
  });

  /** Two lamps online through Mosquitto, then Mosquitto restarted: a watcher connected after it. */
  async function twoLampsAcrossARestart(): Promise<Awaited<ReturnType<typeof watch>>> {
    fixture = await onMosquitto(2);
    await fixture.allOnline();
    await fixture.watcher.close();
    await broker.restart();
    const fresh = await watch(broker.url, ['lampnet/#']);
    fixture.watcher = fresh;
    return fresh;
  }

  it('reconnects after a Mosquitto restart and republishes status, availability and state', async () => {
    const fresh = await twoLampsAcrossARestart();
    // Mosquitto ran without persistence: everything retained now comes from the gateway again.
    await fresh.until('status, availability and state republished', () =>
      fresh.last.get('lampnet/gateway/status') === 'online' &&
      [1, 2].every((n) => fresh.last.get(`lampnet/lamps/${n}/availability`) === 'online' && fresh.last.has(`lampnet/lamps/${n}/state`)), 30_000);
  });

  it('executes a command sent after a Mosquitto restart (the gateway subscribed again)', async () => {
    const fresh = await twoLampsAcrossARestart();
    // The gateway subscribes before it announces itself online, so a command after that reaches it.
    await fresh.until('the gateway back online', () => fresh.last.get('lampnet/gateway/status') === 'online', 30_000);
    await fresh.publish('lampnet/lamps/2/set', 'ON', { qos: 1 });
    await fresh.json<{ on: boolean }>('lampnet/lamps/2/state', (s) => s.on);
    expect([1, 2].map((n) => fixture!.lamps.state(n).on)).toEqual([false, true]);
  });

  it('publishes offline on lampnet/gateway/status when a gateway stops', async () => {
    fixture = await onMosquitto(1);
    await fixture.allOnline();
    const other = await startGateway({ mqttUrl: broker.url, clientId: 'lampnet-vanishing', wsPort: null, metricsPort: null, coapPort: 0 });
    await fixture.watcher.until('online', () => fixture!.watcher.last.get('lampnet/gateway/status') === 'online');
    const before = fixture.watcher.log.length;
    await other.close();
    await fixture.watcher.until('offline', () => fixture!.watcher.log.slice(before).some((m) => m.topic === 'lampnet/gateway/status' && m.payload === 'offline'));
  });

  it('refuses a retained command replayed to a restarted gateway, though it holds commands for lamps not yet back', async () => {
    fixture = await onMosquitto(1);
    const { watcher, lamps } = fixture;
    await fixture.allOnline();
    const coapPort = fixture.gateway.coapPort!;
    await fixture.gateway.close();
    // Published while no gateway listens: only a replay can bring it to the next one.
    await watcher.publish('lampnet/lamps/1/set', 'ON', { retain: true, qos: 1 });
    const restarted = await startGateway({ mqttUrl: broker.url, clientId: 'lampnet-restarted', wsPort: null, metricsPort: 0, coapPort, commandHoldMs: 60_000 });
    try {
      const report = await watcher.json<{ kind: string; topic: string }>('lampnet/gateway/errors', (e) => e.kind === 'retained');
      expect(report.topic).toBe('lampnet/lamps/1/set');
      // The lamp comes back after the replay; a held ON would be delivered at its registration,
      // ahead of the live command below.
      const seen = watcher.log.length;
      lamps.kill(1);
      lamps.revive(1);
      await watcher.until('lamp 1 online on the restarted gateway', () =>
        watcher.log.slice(seen).some((m) => m.topic === 'lampnet/lamps/1/availability' && m.payload === 'online'));
      await watcher.publish('lampnet/lamps/1/set', 'OFF');
      await watcher.until('the live OFF confirmed', () => {
        const sent = watcher.log.findIndex((m, k) => k >= seen && m.topic === 'lampnet/lamps/1/set' && m.payload === 'OFF');
        return sent >= 0 && watcher.log.slice(sent).some((m) => m.topic === 'lampnet/lamps/1/state');
      });
      const text = await (await fetch(`http://127.0.0.1:${restarted.metricsPort}/metrics`)).text();
      expect(metricValue(text, 'lampnet_gateway_command_deliveries_total{result="confirmed"}')).toBe(1);
      expect(watcher.log.slice(seen).some((m) => m.topic === 'lampnet/lamps/1/state' && JSON.parse(m.payload).on === true)).toBe(false);
    } finally {
      await restarted.close();
      await watcher.publish('lampnet/lamps/1/set', '', { retain: true, qos: 1 });
    }
  });

  it('with the documented ACL: the gateway on MQTT 5 answers a command by request/response, and a client cannot forge state', async () => {
    await broker.stop();
    const gatewayUser = { username: 'lampnet-gateway', password: 'street-light' };
    broker = await startMosquitto(gatewayUser, path.resolve('docs/mosquitto/lampnet.acl'));
    fixture = await startFixture(1, {
      gateway: { mqttUrl: broker.url, mqttUsername: gatewayUser.username, mqttPassword: gatewayUser.password, clientId: `lampnet-acl-${process.pid}` },
    });
    await fixture.allOnline();

    // An anonymous MQTT 5 client: its command is executed and answered on its own replies topic (the
    // answer carries the correlation data only because the gateway's own connection is MQTT 5); its
    // forged state is refused by Mosquitto.
    const client = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0, clientId: 'acl-client' });
    try {
      const responseTopic = 'lampnet/replies/acl-client/1';
      await client.subscribeAsync(responseTopic, { qos: 1 });
      const answer = new Promise<{ doc: { ok: boolean; state?: { on: boolean } }; correlation?: string }>((resolve) => {
        client.on('message', (topic, payload, packet) => {
          if (topic === responseTopic) resolve({ doc: JSON.parse(payload.toString()), correlation: packet.properties?.correlationData?.toString() });
        });
      });
      await client.publishAsync('lampnet/lamps/1/set', 'ON', { qos: 1, properties: { responseTopic, correlationData: Buffer.from('acl-1') } });
      const { doc, correlation } = await answer;
      expect(correlation).toBe('acl-1');
      expect(doc).toMatchObject({ ok: true, state: { on: true } });
      // Acknowledged (with 0x87 Not authorized) once Mosquitto has judged it.
      await expect(client.publishAsync('lampnet/lamps/1/state', '{"forged":true}', { qos: 1, retain: true })).rejects.toThrow(/[Nn]ot authorized/);
    } finally {
      await client.endAsync(true);
    }
    const fresh = await watch(broker.url, ['lampnet/lamps/1/state']);
    try {
      await fresh.until('the retained state', () => fresh.last.has('lampnet/lamps/1/state'));
      expect(JSON.parse(fresh.last.get('lampnet/lamps/1/state')!)).toMatchObject({ on: true, address: expect.any(String) });
    } finally {
      await fresh.close();
    }
  });
});
