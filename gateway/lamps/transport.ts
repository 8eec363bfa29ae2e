/**
 * How the gateway reaches lamps: anything that sends and receives UDP datagrams by address and
 * port. The gateway's own `udp6` socket (transport-udp.ts) and the simulator's in-memory
 * link both have this shape (structural typing: the simulator does not import it).
 */
export interface DatagramEndpoint {
  send(addr: string, port: number, data: Uint8Array): void;
  onMessage(cb: (from: string, port: number, data: Uint8Array) => void): void;
  close(): Promise<void>;
  /** True when a datagram sent to a group's IPv6 multicast address reaches the group's members.
   * Absent or false: group commands are sent to every member one by one. */
  multicast?: boolean;
}

/** An IPv4 lamp as the dual-stack socket names it (`::ffff:192.0.2.7`, RFC 4291 §2.5.5.2). IPv4
 * has no route to an IPv6 multicast group, so such lamps always get group commands one by one. */
export function isIpv4Mapped(addr: string): boolean {
  return addr.length > 7 && addr.slice(0, 7).toLowerCase() === '::ffff:' && addr.includes('.');
}
