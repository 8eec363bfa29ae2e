/**
 * The in-process link: the same `Link` as the TUN device, with the host side in this process
 * instead of the kernel. Tests and unprivileged machines use it; so does a gateway running in the
 * same process as the fleet.
 *
 * Host side:
 * - `inject(buf, off, len)` hands one raw IPv6 packet to the simulator. It returns after the packet
 *   was handled and the replies it caused were delivered, so a test can inject and then look.
 * - `onTransmit(listener)` receives every packet the simulator sends (as `buf, off, len`, valid only
 *   during the call), except the UDP datagrams addressed to an endpoint below.
 * - `endpoint(address, port)` is a datagram endpoint as the gateway's transports are
 *   (protocol/datagram.ts): `send` makes a UDP packet from `address`:`port` and injects it;
 *   datagrams the lamps send to that address and port come back through `onMessage`. Only here are
 *   addresses converted between text and bytes; ping and the lamps' own traffic never see text.
 *
 * Re-entrancy: a listener or endpoint callback may inject again (a gateway answering a lamp). Such
 * packets are copied into a backlog and handled as soon as the current delivery ends, so the host
 * never runs inside itself and the order of packets is kept. A delivery that `reserve` started (the
 * batch was full) ends inside the sender's write — a lamp's `hal.send`, which must not re-enter
 * the lamp core — so its backlog waits for the next turn of the event loop.
 */
import { formatIpv6, parseIpv6, addressEquals } from '../wire/address.js';
import { copyBytes } from '../wire/bytes.js';
import { OK } from '../wire/drop.js';
import { emitIpv6Header, IPV6_HEADER_LEN, Ipv6Packet, NextHeader } from '../wire/ipv6.js';
import { emitUdpHeader, fillUdpChecksum, UDP_HEADER_LEN, UdpPacket } from '../wire/udp.js';
import type { DatagramEndpoint } from '../../protocol/datagram.js';
import { DEFAULT_TX_BYTES, DEFAULT_TX_PACKETS, type Link, type PacketHandler, TxBatch } from './link.js';

export interface MemoryLinkOptions {
  /** Largest packet, bytes (default 1500, like a TUN device). */
  mtu?: number;
  txBytes?: number;
  txPackets?: number;
}

const HOP_LIMIT = 64;

export class MemoryLink implements Link {
  readonly mtu: number;
  private readonly tx: TxBatch;
  private onPacket: PacketHandler | null = null;
  private readonly listeners: PacketHandler[] = [];
  private readonly endpoints: MemoryEndpoint[] = [];
  private readonly backlog: Uint8Array[] = [];
  /** Index of the next backlog packet to handle. */
  private backlogHead = 0;
  private inHost = false;
  private delivering = false;
  private draining = false;
  /** Inside `reserve`: a sender is writing a packet. */
  private reserving = false;
  private drainScheduled = false;
  private readonly drainSoon = (): void => {
    this.drainScheduled = false;
    this.drainBacklog();
  };
  private readonly ip = new Ipv6Packet();
  private readonly udp = new UdpPacket();

  constructor(options: MemoryLinkOptions = {}) {
    this.mtu = options.mtu ?? 1500;
    this.tx = new TxBatch(this.mtu, (batch) => this.deliver(batch),
      options.txBytes ?? DEFAULT_TX_BYTES, options.txPackets ?? DEFAULT_TX_PACKETS, () => this.drainBacklog());
  }

  get txBuf(): Uint8Array {
    return this.tx.buf;
  }

  start(onPacket: PacketHandler): void {
    this.onPacket = onPacket;
  }

  reserve(maxLen: number): number {
    this.reserving = true;
    try {
      return this.tx.reserve(maxLen);
    } finally {
      this.reserving = false;
    }
  }

  commit(len: number): void {
    this.tx.commit(len);
  }

  async close(): Promise<void> {
    this.tx.close();
    this.endpoints.length = 0;
    this.listeners.length = 0;
  }

  /** Host side: give the simulator one packet `buf[off..off+len)` (see file header). */
  inject(buf: Uint8Array, off = 0, len = buf.length - off): void {
    if (this.inHost || this.delivering) {
      this.backlog.push(buf.slice(off, off + len));
      return;
    }
    this.handle(buf, off, len);
    this.drainBacklog();
  }

  /** Host side: receive the packets the simulator sends (see file header). */
  onTransmit(listener: PacketHandler): void {
    this.listeners.push(listener);
  }

  /** A datagram endpoint at `address` (IPv6 text) and `port` (see file header). */
  endpoint(address: string, port: number): DatagramEndpoint {
    const bytes = parseIpv6(address);
    if (bytes === null) throw new Error(`endpoint address "${address}" is not an IPv6 address`);
    const endpoint = new MemoryEndpoint(this, bytes, port, (e) => {
      const i = this.endpoints.indexOf(e);
      if (i !== -1) this.endpoints.splice(i, 1);
    });
    this.endpoints.push(endpoint);
    return endpoint;
  }

  private handle(buf: Uint8Array, off: number, len: number): void {
    if (this.onPacket === null) return;
    this.inHost = true;
    this.tx.beginInbound();
    try {
      this.onPacket(buf, off, len);
    } finally {
      this.inHost = false;
      this.tx.endInbound();
    }
  }

  private drainBacklog(): void {
    if (this.reserving && this.backlog.length > this.backlogHead && !this.drainScheduled) {
      this.drainScheduled = true;
      setImmediate(this.drainSoon);
    }
    if (this.draining || this.inHost || this.delivering || this.reserving) return;
    this.draining = true;
    try {
      // An index, not shift(): while a large fleet registers, the backlog holds 10^5 packets, and
      // shift() on an array that long moves all of it each time (quadratic; bench/ANALYSIS.md).
      while (this.backlogHead < this.backlog.length) {
        const packet = this.backlog[this.backlogHead++];
        this.handle(packet, 0, packet.length);
      }
    } finally {
      if (this.backlogHead === this.backlog.length) this.backlog.length = 0;
      else this.backlog.splice(0, this.backlogHead);
      this.backlogHead = 0;
      this.draining = false;
    }
  }

  private deliver(batch: TxBatch): void {
    this.delivering = true;
    try {
      for (let i = 0; i < batch.count; i++) this.route(batch.buf, batch.offs[i], batch.lens[i]);
    } finally {
      this.delivering = false;
    }
  }

  private route(buf: Uint8Array, off: number, len: number): void {
    const endpoint = this.endpointFor(buf, off, len);
    if (endpoint !== null) {
      const udp = this.udp;
      endpoint.receive(formatIpv6(buf, this.ip.srcOff), udp.srcPort, buf.slice(udp.payloadOff, udp.payloadOff + udp.payloadLen));
      return;
    }
    for (const listener of this.listeners) listener(buf, off, len);
  }

  /** The endpoint a packet the host sent is addressed to, or null. The host writes UDP straight after
   * the fixed header, so no extension-header walk is needed. */
  private endpointFor(buf: Uint8Array, off: number, len: number): MemoryEndpoint | null {
    if (this.endpoints.length === 0) return null;
    const ip = this.ip, udp = this.udp;
    if (ip.check(buf, off, len) !== OK || ip.nextHeader !== NextHeader.udp) return null;
    if (udp.check(buf, ip.payloadOff, ip.payloadLen) !== OK) return null;
    for (const endpoint of this.endpoints) {
      if (endpoint.port === udp.dstPort && addressEquals(endpoint.address, 0, buf, ip.dstOff)) return endpoint;
    }
    return null;
  }
}

class MemoryEndpoint implements DatagramEndpoint {
  /** The host delivers a datagram to a group address to every member lamp. */
  readonly multicast = true;
  private handler: ((from: string, port: number, data: Uint8Array) => void) | null = null;
  private readonly scratch: Uint8Array;

  constructor(
    private readonly link: MemoryLink,
    readonly address: Uint8Array,
    readonly port: number,
    private readonly remove: (endpoint: MemoryEndpoint) => void,
  ) {
    this.scratch = new Uint8Array(link.mtu);
  }

  send(addr: string, port: number, data: Uint8Array): void {
    const peer = parseIpv6(addr);
    if (peer === null) throw new Error(`destination "${addr}" is not an IPv6 address`);
    const udpLen = UDP_HEADER_LEN + data.length;
    if (IPV6_HEADER_LEN + udpLen > this.link.mtu) {
      throw new Error(`datagram of ${data.length} bytes to ${addr} exceeds the link MTU (${this.link.mtu})`);
    }
    const out = this.scratch;
    emitIpv6Header(out, 0, this.address, 0, peer, 0, NextHeader.udp, udpLen, HOP_LIMIT);
    emitUdpHeader(out, IPV6_HEADER_LEN, this.port, port, data.length);
    copyBytes(data, 0, out, IPV6_HEADER_LEN + UDP_HEADER_LEN, data.length);
    fillUdpChecksum(out, IPV6_HEADER_LEN, udpLen, this.address, 0, peer, 0);
    this.link.inject(out, 0, IPV6_HEADER_LEN + udpLen);
  }

  /** Set the callback for datagrams addressed to this endpoint (replacing any earlier one). */
  onMessage(cb: (from: string, port: number, data: Uint8Array) => void): void {
    this.handler = cb;
  }

  receive(from: string, port: number, data: Uint8Array): void {
    if (this.handler !== null) this.handler(from, port, data);
  }

  async close(): Promise<void> {
    this.handler = null;
    this.remove(this);
  }
}
