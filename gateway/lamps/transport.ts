/**
 * Lamp addresses as the gateway's transports name them (the transport itself: protocol/datagram.ts).
 */

/** An IPv4 lamp as the dual-stack socket names it (`::ffff:192.0.2.7`, RFC 4291 §2.5.5.2). IPv4
 * has no route to an IPv6 multicast group, so such lamps always get group commands one by one. */
export function isIpv4Mapped(addr: string): boolean {
  return addr.length > 7 && addr.slice(0, 7).toLowerCase() === '::ffff:' && addr.includes('.');
}
