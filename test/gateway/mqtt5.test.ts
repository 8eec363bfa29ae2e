/**
 * MQTT 5 on the embedded broker, with real MQTT 5 clients (mqtt.js `protocolVersion: 5`, Mosquitto's
 * mosquitto_rr and mosquitto_sub -V mqttv5): a command published with a Response Topic is answered
 * there with its Correlation Data and the lamp's confirmed state or the reason it failed; a refused
 * publish gets PUBACK 0x87 with a reason string and the connection stays up; a lamp's retained state
 * carries a Message Expiry tied to its lifetime.
 */
import { spawn } from 'node:child_process';
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import type { CommandResponseDocument } from '../../protocol/mqtt-topics.js';
import { type Fixture, metricValue, startFixture } from './helpers/gateway-fixture.js';

let fixture: Fixture | null = null;
const clients: MqttClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true);
  await fixture?.close();
  fixture = null;
});

async function mqtt5(url: string): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
  clients.push(client);
  return client;
}

/** Publish `payload` on `topic` with a Response Topic and Correlation Data; resolves with the
 * answer (its document and packet). */
async function request(client: MqttClient, topic: string, payload: string, correlation: string): Promise<{ doc: CommandResponseDocument; packet: IPublishPacket }> {
  const responseTopic = `lampnet/replies/${client.options.clientId}/${correlation}`;
  await client.subscribeAsync(responseTopic, { qos: 1 });
  const answered = new Promise<{ doc: CommandResponseDocument; packet: IPublishPacket }>((resolve) => {
    client.on('message', (t, body, packet) => {
      if (t === responseTopic) resolve({ doc: JSON.parse(body.toString()) as CommandResponseDocument, packet });
    });
  });
  await client.publishAsync(topic, payload, { qos: 1, properties: { responseTopic, correlationData: Buffer.from(correlation) } });
  return answered;
}

describe('MQTT 5 on the embedded broker', () => {
  it('answers a lamp command on its Response Topic with the Correlation Data and the confirmed state', async () => {
    fixture = await startFixture(1);
    await fixture.allOnline();
    const client = await mqtt5(fixture.gateway.mqttUrl);
    const { doc, packet } = await request(client, 'lampnet/lamps/1/set', '{"level":40}', 'req-1');
    expect(packet.properties?.correlationData?.toString()).toBe('req-1');
    expect(doc).toMatchObject({ topic: 'lampnet/lamps/1/set', ok: true, state: { on: true, level: 40 } });
    expect(fixture.lamps.state(1).level).toBe(40);
  });

  it('answers a refused command with its kind and reason', async () => {
    fixture = await startFixture(1);
    await fixture.allOnline();
    const client = await mqtt5(fixture.gateway.mqttUrl);
    const unknown = await request(client, 'lampnet/lamps/99/set', 'ON', 'req-2');
    expect(unknown.packet.properties?.correlationData?.toString()).toBe('req-2');
    expect(unknown.doc).toMatchObject({ topic: 'lampnet/lamps/99/set', ok: false, kind: 'unknown-lamp' });
    const bad = await request(client, 'lampnet/lamps/1/set', '{"level":150}', 'req-3');
    expect(bad.doc).toMatchObject({ ok: false, kind: 'payload' });
    expect((bad.doc as { reason: string }).reason).toMatch(/150/);
  });

  it('answers a group command with the number of online members it went to', async () => {
    fixture = await startFixture(3, { configure: (config) => { config.groups = 'street-1'; } });
    await fixture.allOnline();
    const client = await mqtt5(fixture.gateway.mqttUrl);
    const { doc } = await request(client, 'lampnet/groups/street-1/set', 'ON', 'req-4');
    expect(doc).toEqual({ topic: 'lampnet/groups/street-1/set', ok: true, group: 'street-1', members: 3 });
  });

  it('refuses a command whose Response Topic is one of the gateway\'s own topics, and publishes nothing there', async () => {
    fixture = await startFixture(1);
    const { watcher } = fixture;
    await fixture.allOnline();
    const client = await mqtt5(fixture.gateway.mqttUrl);
    const statusBefore = watcher.count('lampnet/gateway/status');
    await client.publishAsync('lampnet/lamps/1/set', 'ON', { qos: 1, properties: { responseTopic: 'lampnet/gateway/status' } });
    const report = await watcher.json<{ kind: string; reason: string }>('lampnet/gateway/errors', (e) => e.kind === 'response-topic');
    expect(report.reason).toMatch(/lampnet\/gateway\/status/);
    expect(watcher.count('lampnet/gateway/status')).toBe(statusBefore);
    expect(fixture.lamps.state(1).on).toBe(false);
  });

  it('answers mosquitto_rr (MQTT 5 request/response) with the confirmed state', async () => {
    fixture = await startFixture(1);
    await fixture.allOnline();
    const port = new URL(fixture.gateway.mqttUrl).port;
    const rr = spawn('mosquitto_rr', ['-h', '127.0.0.1', '-p', port, '-t', 'lampnet/lamps/1/set', '-e', 'replies/rr', '-m', 'ON', '-W', '20']);
    let out = '';
    rr.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    const code = await new Promise<number | null>((resolve) => rr.once('exit', resolve));
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ topic: 'lampnet/lamps/1/set', ok: true, state: { on: true } });
  });

  it('refuses a QoS 1 publish of an MQTT 5 client with PUBACK 0x87 and a reason string, and keeps the connection', async () => {
    fixture = await startFixture(1);
    await fixture.allOnline();
    const client = await mqtt5(fixture.gateway.mqttUrl);
    const puback = new Promise<{ reasonCode?: number; properties?: { reasonString?: string } }>((resolve) => {
      client.on('packetreceive', (packet) => {
        if (packet.cmd === 'puback') resolve(packet as never);
      });
    });
    await expect(client.publishAsync('lampnet/lamps/1/state', '{"on":true}', { qos: 1, retain: true })).rejects.toThrow();
    const ack = await puback;
    expect(ack.reasonCode).toBe(0x87);
    expect(ack.properties?.reasonString).toMatch(/may publish only \.\.\.\/set commands/);
    expect(client.connected).toBe(true);
    await client.publishAsync('lampnet/lamps/1/set', 'ON', { qos: 1 });
    await fixture.watcher.json<{ on: boolean }>('lampnet/lamps/1/state', (s) => s.on);
    expect(metricValue(await fixture.metrics(), 'lampnet_gateway_mqtt_publishes_refused_total{reason="not-a-command"}')).toBe(1);
  });

  it('gives a lamp\'s retained state a Message Expiry of its lifetime, seen by mosquitto_sub -V mqttv5', async () => {
    fixture = await startFixture(1, { configure: (config) => { config.lifetimeS = 60; } });
    await fixture.allOnline();
    const port = new URL(fixture.gateway.mqttUrl).port;
    const sub = spawn('mosquitto_sub', ['-V', 'mqttv5', '-h', '127.0.0.1', '-p', port, '-t', 'lampnet/lamps/1/state', '-C', '1', '-W', '20', '-F', '%r %E %p']);
    let out = '';
    sub.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    const code = await new Promise<number | null>((resolve) => sub.once('exit', resolve));
    expect(code).toBe(0);
    const [retained, expiry, ...payload] = out.trim().split(' ');
    expect(retained).toBe('1');
    // The lifetime plus the gateway's one-second grace, less what has passed since it was published.
    expect(Number(expiry)).toBeGreaterThan(50);
    expect(Number(expiry)).toBeLessThanOrEqual(61);
    expect(JSON.parse(payload.join(' '))).toMatchObject({ on: false });
  });

  it('still serves MQTT 3.1.1 clients beside MQTT 5 ones: both see the state and both command', async () => {
    fixture = await startFixture(2);
    await fixture.allOnline();
    const v311 = await mqtt.connectAsync(fixture.gateway.mqttUrl, { protocolVersion: 4, reconnectPeriod: 0 });
    clients.push(v311);
    const v5 = await mqtt5(fixture.gateway.mqttUrl);
    const seen = (client: MqttClient, level: number): Promise<void> => new Promise((resolve) => {
      client.on('message', (topic, payload) => {
        if (topic === 'lampnet/lamps/1/state' && (JSON.parse(payload.toString()) as { level: number }).level === level) resolve();
      });
    });
    await v311.subscribeAsync('lampnet/lamps/1/state', { qos: 1 });
    await v5.subscribeAsync('lampnet/lamps/1/state', { qos: 1 });
    const both30 = Promise.all([seen(v311, 30), seen(v5, 30)]);
    await v311.publishAsync('lampnet/lamps/1/set', '30', { qos: 1 });
    await both30;
    const both60 = Promise.all([seen(v311, 60), seen(v5, 60)]);
    await v5.publishAsync('lampnet/lamps/1/set', '60', { qos: 1 });
    await both60;
    const port = new URL(fixture.gateway.mqttUrl).port;
    const sub = spawn('mosquitto_sub', ['-V', 'mqttv311', '-h', '127.0.0.1', '-p', port, '-t', 'lampnet/lamps/1/state', '-C', '1', '-W', '20']);
    let out = '';
    sub.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    expect(await new Promise<number | null>((resolve) => sub.once('exit', resolve))).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ level: 60 });
  });
});
