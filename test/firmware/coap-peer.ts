/**
 * A CoAP peer for the firmware tests: a real UDP socket on 127.0.0.1 that records what it receives
 * (parsed by the independent coap-packet library) and waits for a packet by predicate.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { parse as parseCoap, type ParsedPacket } from 'coap-packet';

/** A UDP peer on 127.0.0.1 that collects what it receives. */
export class Peer {
  readonly socket: Socket = createSocket('udp4');
  readonly received: { packet: ParsedPacket; from: RemoteInfo }[] = [];
  private waiters: (() => void)[] = [];

  async open(): Promise<this> {
    this.socket.on('message', (data, from) => {
      this.received.push({ packet: parseCoap(data), from });
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.socket.bind(0, '127.0.0.1');
    await once(this.socket, 'listening');
    return this;
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** The first packet received (now or later) that satisfies `match`. */
  async next(match: (p: ParsedPacket) => boolean, what: string): Promise<{ packet: ParsedPacket; from: RemoteInfo }> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const found = this.received.find((r) => match(r.packet));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${what} within 20 s; received ${this.received.length} packets`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 500);
      });
    }
  }

  send(packet: Buffer, port: number): void {
    this.socket.send(packet, port, '127.0.0.1');
  }

  close(): void {
    this.socket.close();
  }
}

export function option(packet: ParsedPacket, name: string): string[] {
  return packet.options.filter((o) => o.name === name).map((o) => o.value.toString());
}

export function isRegistration(p: ParsedPacket): boolean {
  return p.code === '0.02' && option(p, 'Uri-Path').join('/') === 'rd' && option(p, 'Uri-Query').some((q) => q.startsWith('ep='));
}

export async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
