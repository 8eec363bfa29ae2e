/**
 * `--mqtt-max-packet`: the embedded broker closes a client whose packet header announces more than
 * the limit, over TCP and WebSocket, before the body arrives; other clients keep working. An MQTT 5
 * client is told why first (DISCONNECT 0x95 Packet too large).
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startGateway, type GatewayHandle } from '../../gateway/gateway.js';
import { EPHEMERAL, metricValue } from './helpers/gateway-fixture.js';
import { watch } from './helpers/mqtt-watch.js';

const CONNECT = Buffer.from([0x10, 15, 0, 4, ...Buffer.from('MQTT'), 4, 0x02, 0, 60, 0, 3, ...Buffer.from('raw')]);
const CONNACK_ACCEPTED = Buffer.from([0x20, 2, 0, 0]);
/** A QoS 0 PUBLISH fixed header announcing a 100,000,000-byte Remaining Length, and no body. */
const PUBLISH_100_MB_HEADER = Buffer.from([0x30, 0x80, 0xc2, 0xd7, 0x2f]);

let gateway: GatewayHandle | null = null;
afterEach(async () => {
  await gateway?.close();
  gateway = null;
});

async function refusals(g: GatewayHandle, reason: string): Promise<number> {
  return metricValue(await g.metrics.text(), `lampnet_gateway_mqtt_packets_refused_total{reason="${reason}"}`);
}

/** Resolves when `what` happens, rejects naming it after `ms`. */
function within<T>(ms: number, what: string, executor: (resolve: (value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
    executor((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/** A raw TCP client that connects with MQTT, then sends `afterConnack`; resolves once the broker
 * closes the connection, with the bytes it received. */
function rawTcpClient(port: number, afterConnack: Buffer): Promise<Buffer> {
  return within(5000, 'the broker closing the raw TCP client', (resolve) => {
    const received: Buffer[] = [];
    const socket = net.connect(port, '127.0.0.1', () => socket.write(CONNECT));
    socket.on('data', (data) => {
      received.push(data);
      if (Buffer.concat(received).equals(CONNACK_ACCEPTED)) socket.write(afterConnack);
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve(Buffer.concat(received)));
  });
}

/** The same over MQTT-over-WebSocket; resolves with the close code once the broker closes. */
function rawWebSocketClient(port: number, afterConnack: Buffer): Promise<number> {
  return within(5000, 'the broker closing the WebSocket client', (resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, 'mqtt');
    ws.on('open', () => ws.send(CONNECT));
    ws.on('message', (data: Buffer) => {
      if (data.equals(CONNACK_ACCEPTED)) ws.send(afterConnack);
    });
    ws.on('error', () => {});
    ws.on('close', (code) => resolve(code));
  });
}

/** A normal mqtt.js client still gets its commands through: one for an unknown lamp is reported. */
async function commandsStillWork(url: string, lamp: number): Promise<void> {
  const client = await watch(url, ['lampnet/gateway/errors']);
  try {
    await client.publish(`lampnet/lamps/${lamp}/set`, 'ON');
    await client.json<{ topic: string; kind: string }>('lampnet/gateway/errors', (e) => e.topic === `lampnet/lamps/${lamp}/set` && e.kind === 'unknown-lamp');
  } finally {
    await client.close();
  }
}

describe('MQTT packet size limit of the embedded broker', () => {
  it('closes a TCP client at the header of a 100 MB PUBLISH and keeps serving others', async () => {
    gateway = await startGateway({ ...EPHEMERAL });
    const bystander = await watch(gateway.mqttUrl, ['lampnet/gateway/errors']);
    try {
      const received = await rawTcpClient(gateway.mqttPort!, PUBLISH_100_MB_HEADER);
      expect(received.equals(CONNACK_ACCEPTED)).toBe(true);
      expect(await refusals(gateway, 'too-large')).toBe(1);
      expect(bystander.client.connected).toBe(true);
      await commandsStillWork(gateway.mqttUrl, 7);
    } finally {
      await bystander.close();
    }
  });

  it('lets packets up to the limit through and counts a malformed length separately', async () => {
    gateway = await startGateway({ ...EPHEMERAL, mqttMaxPacketBytes: 4096 });
    const client = await watch(gateway.mqttUrl, ['lampnet/gateway/errors']);
    try {
      // Over the gateway's 1024-byte command limit but within the broker's: the gateway refuses it.
      await client.publish('lampnet/lamps/7/set', 'x'.repeat(3000));
      await client.json<{ kind: string }>('lampnet/gateway/errors', (e) => e.kind === 'payload');
      await rawTcpClient(gateway.mqttPort!, Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff]));
      await rawTcpClient(gateway.mqttPort!, Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80]));
      expect(await refusals(gateway, 'too-large')).toBe(1);
      expect(await refusals(gateway, 'malformed')).toBe(1);
    } finally {
      await client.close();
    }
  });

  it('tells an MQTT 5 client (mqtt.js) its packet is too large with DISCONNECT 0x95, then closes', async () => {
    gateway = await startGateway({ ...EPHEMERAL, mqttMaxPacketBytes: 4096 });
    const client = await mqtt.connectAsync(gateway.mqttUrl, { protocolVersion: 5, reconnectPeriod: 0 });
    try {
      const disconnected = within<number | undefined>(5000, 'a DISCONNECT from the broker', (resolve) => client.once('disconnect', (packet) => resolve(packet.reasonCode)));
      const closed = within<void>(5000, 'the connection closing', (resolve) => client.once('close', () => resolve()));
      client.publish('lampnet/lamps/7/set', 'x'.repeat(10_000), { qos: 0 });
      expect(await disconnected).toBe(0x95);
      await closed;
      expect(await refusals(gateway, 'too-large')).toBe(1);
    } finally {
      client.end(true);
    }
    await commandsStillWork(gateway.mqttUrl, 7);
  });

  it('makes mosquitto_pub -V mqttv5 fail on a too-large packet instead of exiting 0', async () => {
    gateway = await startGateway({ ...EPHEMERAL, mqttMaxPacketBytes: 4096 });
    const pub = spawn('mosquitto_pub', ['-V', 'mqttv5', '-h', '127.0.0.1', '-p', String(gateway.mqttPort), '-q', '1', '-t', 'lampnet/lamps/7/set', '-m', 'x'.repeat(10_000)]);
    let stderr = '';
    pub.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const code = await within<number | null>(10_000, 'mosquitto_pub exiting', (resolve) => pub.once('exit', (c) => resolve(c)));
    expect(code, stderr).not.toBe(0);
    expect(await refusals(gateway, 'too-large')).toBe(1);
  });

  it('closes a WebSocket client at the header of a 100 MB PUBLISH and keeps serving others', async () => {
    gateway = await startGateway({ ...EPHEMERAL, wsPort: 0 });
    await rawWebSocketClient(gateway.wsPort!, PUBLISH_100_MB_HEADER);
    expect(await refusals(gateway, 'too-large')).toBe(1);
    await commandsStillWork(`ws://127.0.0.1:${gateway.wsPort}`, 8);
  });

  it('closes a WebSocket client whose message is larger than the limit, from its frame header', async () => {
    gateway = await startGateway({ ...EPHEMERAL, wsPort: 0, mqttMaxPacketBytes: 4096 });
    const code = await rawWebSocketClient(gateway.wsPort!, Buffer.alloc(4096 + 6));
    expect(code).toBe(1009); // Message Too Big
    expect(await refusals(gateway, 'too-large')).toBe(1);
  });
});
