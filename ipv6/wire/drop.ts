/**
 * Why an inbound packet was dropped: one small integer per reason, shared by every wire codec and
 * the host's dispatch, so the packet path reports a problem by returning a number (never throwing,
 * never allocating) and the host counts it in a typed array indexed by that number.
 *
 * `OK` (0) means "no problem"; every other value names one reason. Names are the keys below, used
 * for counters snapshots and metrics.
 */
export const OK = 0;

export const Drop = {
  /** Frame shorter than the 40-byte IPv6 header. */
  shortFrame: 1,
  /** Version field is not 6. */
  badVersion: 2,
  /** Payload Length claims more bytes than the frame holds. */
  payloadLengthExceedsFrame: 3,
  /** Hop Limit 0: the simulator stands in for the router in front of the lamps, which must not
   * forward such a packet (RFC 8200 §3). */
  hopLimitZero: 4,
  /** Source address is multicast (RFC 4291 §2.7: never a valid source). */
  sourceMulticast: 5,
  /** Source address is `::`: nothing from it needs an answer (DAD probes, early MLD reports), and
   * no reply or error could reach it. */
  sourceUnspecified: 6,
  /** Destination is neither inside the fleet's /64 nor multicast. */
  notOurPrefix: 7,
  /** Extension header runs past the end of the packet or has an inconsistent length. */
  badExtensionHeader: 8,
  /** Hop-by-Hop Options header anywhere but directly after the IPv6 header (RFC 8200 §4.1). */
  misplacedHopByHop: 9,
  /** An option whose type says "discard if unrecognized" (high bits 01, 10 or 11; RFC 8200 §4.2). */
  unrecognizedOption: 10,
  /** Routing header with Segments Left > 0: the lamp would have to forward it; it is an end host. */
  routingSegmentsLeft: 11,
  /** Fragment header. The lamps' protocols (ping, CoAP) fit one packet and a reassembly buffer per
   * source would be per-packet state an attacker can fill; so fragments are dropped (and counted)
   * instead of reassembled. */
  fragment: 12,
  /** No Next Header (59): nothing to deliver. */
  noNextHeader: 13,
  /** Upper-layer protocol other than ICMPv6 and UDP (ESP, AH, TCP, ...). */
  unknownNextHeader: 14,
  /** ICMPv6 message shorter than its type requires. */
  icmpTruncated: 15,
  /** ICMPv6 checksum does not verify over the pseudo-header. */
  icmpBadChecksum: 16,
  /** ICMPv6 type the lamps do not answer (Neighbor Discovery is not needed on a layer-3 TUN link,
   * MLD reports, errors other than Destination Unreachable, ...). */
  icmpUnhandledType: 17,
  /** UDP datagram shorter than its header, or its Length field disagrees with the IPv6 payload. */
  udpBadLength: 18,
  /** UDP checksum does not verify. */
  udpBadChecksum: 19,
  /** UDP checksum 0, which IPv6 forbids (RFC 8200 §8.1). */
  udpZeroChecksum: 20,
  /** Multicast datagram for a group no lamp has joined. */
  noGroupMember: 21,
  /** Packet to a multicast destination that is neither an Echo Request nor UDP. */
  multicastUnhandled: 22,
  /** ICMPv6 Destination Unreachable whose quoted packet is no UDP datagram from the CoAP port of
   * the lamp it is addressed to (so no lamp can have sent it). */
  icmpErrorUnmatched: 23,
} as const;

/** Number of slots a counter array indexed by drop reason needs (slot 0 = OK stays unused). */
export const DROP_REASON_SLOTS = Object.keys(Drop).length + 1;

const namesByReason: string[] = [];
for (const [name, reason] of Object.entries(Drop)) namesByReason[reason] = name;

/** The name of a drop reason, e.g. `dropReasonName(Drop.fragment) === "fragment"`. */
export function dropReasonName(reason: number): string {
  return namesByReason[reason] ?? `unknown(${reason})`;
}
