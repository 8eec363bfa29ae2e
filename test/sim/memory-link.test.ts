import { describe, expect, it } from 'vitest';
import { MemoryLink } from '../../ipv6/link/memory.js';
import { Ipv6Host } from '../../sim/host.js';
import { RangeDirectory } from '../helpers/range-directory.js';
import { hostOnMemoryLink, REQUESTER } from './fixture.js';
import { addr, echoRequest } from './packets.js';

const GATEWAY = '2001:db8::ffff:0:0:1';

function nextMessage(endpoint: { onMessage(cb: (from: string, port: number, data: Uint8Array) => void): void }) {
  return new Promise<{ from: string; port: number; data: Uint8Array }>((resolve) => {
    endpoint.onMessage((from, port, data) => resolve({ from, port, data }));
  });
}

describe('MemoryLink datagram endpoint', () => {
  it('carries a datagram from the endpoint to a lamp with the endpoint\'s address and port', () => {
    const { link, directory } = hostOnMemoryLink(100);
    directory.echoUdp = false;
    link.endpoint(GATEWAY, 5683).send('2001:db8::2a', 5683, Uint8Array.from([1, 2, 3]));
    expect(directory.delivered).toEqual([{ index: 42, from: GATEWAY, port: 5683, payload: Uint8Array.from([1, 2, 3]) }]);
  });

  it('brings a lamp\'s reply back to the endpoint\'s onMessage, named by the lamp\'s address', async () => {
    const { link } = hostOnMemoryLink(100);
    const gateway = link.endpoint(GATEWAY, 5683);
    const reply = nextMessage(gateway);
    gateway.send('2001:db8::2a', 5683, Uint8Array.from([7]));
    expect(await reply).toEqual({ from: '2001:db8::2a', port: 5683, data: Uint8Array.from([7]) });
  });

  it('keeps datagrams for the endpoint away from the host-side listeners', () => {
    const { link, sent } = hostOnMemoryLink(100);
    link.endpoint(GATEWAY, 5683).send('2001:db8::2a', 5683, Uint8Array.from([7]));
    expect(sent).toHaveLength(0);
  });

  it('lets an endpoint answer from inside onMessage, handling that packet after the delivery', () => {
    const { link, directory } = hostOnMemoryLink(100);
    const gateway = link.endpoint(GATEWAY, 5683);
    let exchanges = 0;
    gateway.onMessage((from, port, data) => {
      if (++exchanges < 3) gateway.send(from, port, Uint8Array.from([data[0] + 1]));
    });
    gateway.send('2001:db8::2a', 5683, Uint8Array.from([0]));
    expect(directory.delivered.map((d) => d.payload[0])).toEqual([0, 1, 2]);
    expect(exchanges).toBe(3);
  });

  it('stops delivering to an endpoint once it is closed', async () => {
    const { link, directory, sent } = hostOnMemoryLink(100);
    const gateway = link.endpoint(GATEWAY, 5683);
    let received = 0;
    gateway.onMessage(() => received++);
    await gateway.close();
    link.inject(echoRequest({ src: REQUESTER, dst: '2001:db8::2a' }));
    directory.host!.sendUdp(42, new Uint8Array(16).fill(0x20, 0, 1), 0, 5683, 5683, Uint8Array.from([1]), 0, 1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(received).toBe(0);
    expect(sent).toHaveLength(2);
  });

  it('names the input when the endpoint address is not IPv6', () => {
    const { link } = hostOnMemoryLink(100);
    expect(() => link.endpoint('gateway.local', 5683)).toThrow(/"gateway.local" is not an IPv6 address/);
  });
});

describe('MemoryLink batches', () => {
  it('delivers every reply to a multicast ping even when they overflow the outgoing batch', () => {
    const link = new MemoryLink({ txPackets: 4 });
    const directory = new RangeDirectory(100);
    directory.join(addr('ff15::1:2:3'), Array.from({ length: 50 }, (_, i) => i + 1));
    new Ipv6Host({ prefix: addr('2001:db8::'), link, directory }).start();
    let replies = 0;
    link.onTransmit(() => replies++);
    link.inject(echoRequest({ src: REQUESTER, dst: 'ff15::1:2:3' }));
    expect(replies).toBe(50);
  });
});
