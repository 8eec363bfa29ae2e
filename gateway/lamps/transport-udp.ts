/**
 * The gateway's real-network transport: one dual-stack `udp6` socket (IPV6_V6ONLY off), bound to
 * [::]:5683 by default, so IPv6 lamps and IPv4-only boards (Espruino's network layer) share one
 * socket and one address type — an IPv4 lamp appears as `::ffff:a.b.c.d` (RFC 4291 §2.5.5.2).
 *
 * Multicast: a datagram to a group address (ff15::…) needs an outgoing interface, which only the
 * operator knows (`--multicast-interface eth0`). With one, group commands go by multicast (and one
 * by one to IPv4 members, whom IPv6 multicast cannot reach); without, every group command goes one
 * by one to each member.
 */
import dgram from 'node:dgram';
import { isIPv4 } from 'node:net';
import { COAP_PORT } from '../../protocol/lamp.js';
import type { DatagramEndpoint } from '../../protocol/datagram.js';
import { isIpv4Mapped } from './transport.js';

export interface UdpTransportOptions {
  port?: number;
  host?: string;
  /** Interface name for multicast sends; multicast is off without it. */
  multicastInterface?: string;
}

export interface UdpTransport extends DatagramEndpoint {
  /** The bound port (useful with port 0). */
  readonly port: number;
}

export async function openUdpTransport(options: UdpTransportOptions = {}): Promise<UdpTransport> {
  const host = options.host ?? '::';
  const port = options.port ?? COAP_PORT;
  // An IPv4 bind address (for hosts without IPv6) gets a udp4 socket; its peers are still named
  // by their IPv4-mapped addresses, so the rest of the gateway sees one address type.
  const v4 = isIPv4(host);
  const socket = v4 ? dgram.createSocket('udp4') : dgram.createSocket({ type: 'udp6', ipv6Only: false });
  await new Promise<void>((resolve, reject) => {
    const failed = (err: Error): void => reject(new Error(`cannot bind the CoAP socket to [${host}]:${port}: ${err.message}`));
    socket.once('error', failed);
    socket.bind(port, host, () => {
      socket.off('error', failed);
      resolve();
    });
  });
  if (options.multicastInterface !== undefined) {
    if (v4) {
      socket.close();
      throw new Error(`--multicast-interface needs an IPv6 CoAP socket; --coap-host ${host} is IPv4`);
    }
    try {
      socket.setMulticastInterface(`::%${options.multicastInterface}`);
    } catch (err) {
      socket.close();
      throw new Error(`cannot send multicast on interface '${options.multicastInterface}': ${(err as Error).message}`);
    }
  }
  // A send the kernel refuses (no route, buffer full) and errors after binding (an ICMP port
  // unreachable surfacing as ECONNREFUSED) must not kill the process: UDP promises no delivery,
  // and the CoAP client retransmits what needs an answer.
  socket.on('error', () => {});
  let closed = false;
  return {
    port: socket.address().port,
    multicast: options.multicastInterface !== undefined,
    send(addr, toPort, data) {
      if (!closed) socket.send(data, toPort, v4 && isIpv4Mapped(addr) ? addr.slice(7) : addr);
    },
    onMessage(cb) {
      socket.on('message', (msg, rinfo) => cb(v4 ? `::ffff:${rinfo.address}` : rinfo.address, rinfo.port, msg));
    },
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      return new Promise((resolve) => socket.close(() => resolve()));
    },
  };
}
