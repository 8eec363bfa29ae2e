/**
 * Hostile clients of the embedded broker's ports: garbage instead of MQTT, broken WebSocket frames,
 * half-open connections. The gateway keeps serving.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startGateway, type GatewayHandle } from '../../gateway/gateway.js';
import { EPHEMERAL } from './helpers/gateway-fixture.js';
import { watch } from './helpers/mqtt-watch.js';

let gateway: GatewayHandle | null = null;
afterEach(async () => {
  await gateway?.close();
  gateway = null;
});

function sendRaw(port: number, data: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(data));
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
    socket.resume();
  });
}

async function stillServing(g: GatewayHandle): Promise<void> {
  const client = await watch(g.mqttUrl, ['lampnet/gateway/status']);
  try {
    await client.until('status online', () => client.last.get('lampnet/gateway/status') === 'online');
  } finally {
    await client.close();
  }
}

describe('hostile broker clients', () => {
  it('survives garbage on the MQTT port', async () => {
    gateway = await startGateway({ ...EPHEMERAL });
    await sendRaw(gateway.mqttPort!, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await sendRaw(gateway.mqttPort!, Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x7f]));
    await sendRaw(gateway.mqttPort!, Buffer.from([0x30, 0x05, 0x00]));
    await stillServing(gateway);
  });

  it('survives broken frames and garbage on the WebSocket port', async () => {
    gateway = await startGateway({ ...EPHEMERAL, wsPort: 0 });
    const port = gateway.wsPort!;
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
    await stillServing(gateway);
    expect(gateway.wsPort).toBe(port);
  });
});
