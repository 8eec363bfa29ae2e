/**
 * How the gateway reaches lamps: anything that sends and receives UDP datagrams by address and port.
 * The gateway's own `udp6` socket (gateway/transport-udp.ts) and the simulator's in-memory link
 * (ipv6/link/memory.ts `endpoint`) are both one, so the same gateway serves real boards and a fleet
 * in its own process. Addresses are text (`2001:db8::2a`, `::ffff:192.0.2.7` for an IPv4 lamp).
 */
export interface DatagramEndpoint {
  send(addr: string, port: number, data: Uint8Array): void;
  onMessage(cb: (from: string, port: number, data: Uint8Array) => void): void;
  close(): Promise<void>;
  /** True when a datagram sent to a group's IPv6 multicast address reaches the group's members.
   * Absent or false: group commands are sent to every member one by one. */
  readonly multicast?: boolean;
}
