/**
 * Hostile clients of the embedded broker's ports: garbage instead of MQTT, broken WebSocket frames,
 * half-open connections. The gateway keeps serving: its status and the lamps' retained state are
 * intact, a lamp still takes a command, and what the packet guard refuses is counted.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type Fixture, metricValue, startFixture } from './helpers/gateway-fixture.js';
import { watch } from './helpers/mqtt-watch.js';

let fixture: Fixture | null = null;
afterEach(async () => {
  await fixture?.close();
  fixture = null;
});

function sendRaw(port: number, data: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(data));
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
    socket.resume();
  });
}

/** One lamp online, and its retained state as a subscriber sees it before the attack. */
async function onlineLamp(options: { wsPort?: number }): Promise<{ f: Fixture; state: string }> {
  const f = await startFixture(1, { gateway: options });
  fixture = f;
  await f.allOnline();
  await f.watcher.until('the lamp state', () => f.watcher.last.has('lampnet/lamps/1/state'));
  return { f, state: f.watcher.last.get('lampnet/lamps/1/state')! };
}

/** A new client sees the gateway online and the lamp's state as before, and its command reaches the lamp. */
async function stillServing(f: Fixture, stateBefore: string): Promise<void> {
  const client = await watch(f.gateway.mqttUrl, ['lampnet/gateway/status', 'lampnet/lamps/1/state']);
  try {
    await client.until('status and state', () => client.last.has('lampnet/gateway/status') && client.last.has('lampnet/lamps/1/state'));
    expect(client.last.get('lampnet/gateway/status')).toBe('online');
    expect(client.last.get('lampnet/lamps/1/state')).toBe(stateBefore);
    expect(f.lamps.state(1).on).toBe(false);
    await client.publish('lampnet/lamps/1/set', 'ON');
    await client.json<{ on: boolean }>('lampnet/lamps/1/state', (s) => s.on);
    expect(f.lamps.state(1).on).toBe(true);
  } finally {
    await client.close();
  }
}

describe('hostile broker clients', () => {
  it('survives garbage on the MQTT port, and counts the packet headers it refuses', async () => {
    const { f, state } = await onlineLamp({});
    const port = f.gateway.mqttPort!;
    await sendRaw(port, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    // A Remaining Length past the limit by its third digit.
    await sendRaw(port, Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x7f]));
    // A Remaining Length of zeros that goes on past its 4th byte.
    await sendRaw(port, Buffer.from([0x10, 0x80, 0x80, 0x80, 0x80, 0x01]));
    // A PUBLISH cut short, then the connection half-closed.
    await sendRaw(port, Buffer.from([0x30, 0x05, 0x00]));
    await stillServing(f, state);
    const text = await f.metrics();
    expect(metricValue(text, 'lampnet_gateway_mqtt_packets_refused_total{reason="malformed"}')).toBe(1);
    expect(metricValue(text, 'lampnet_gateway_mqtt_packets_refused_total{reason="too-large"}')).toBe(1);
  });

  it('survives broken frames and garbage on the WebSocket port', async () => {
    const { f, state } = await onlineLamp({ wsPort: 0 });
    const port = f.gateway.wsPort!;
    await sendRaw(port, Buffer.from('\x00\x01garbage\r\n\r\n'));
    await new Promise<void>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}`, 'mqtt');
      ws.on('open', () => {
        ws.send(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
        // An invalid frame at the WebSocket level: reserved opcode 0x3.
        (ws as unknown as { _socket: net.Socket })._socket.write(Buffer.from([0x83, 0x80, 0, 0, 0, 0]));
      });
      ws.on('error', () => resolve());
      ws.on('close', () => resolve());
    });
    await stillServing(f, state);
    expect(f.gateway.wsPort).toBe(port);
    // The dashboard's side of the port still speaks MQTT over WebSocket.
    const browser = await watch(`ws://127.0.0.1:${port}`, ['lampnet/gateway/status']);
    try {
      await browser.until('status over WebSocket', () => browser.last.get('lampnet/gateway/status') === 'online');
    } finally {
      await browser.close();
    }
  });
});
