/**
 * A small, real `LampDirectory` for testing the simulator's host without the fleet: lamps 1..count
 * at interface identifiers 1..count (lamp 42 is `<prefix>::2a`, as the fleet numbers them).
 *
 * Each lamp answers ping unless listed in `silent`, and answers every CoAP-port datagram by sending
 * the payload back to its sender (a "UDP echo lamp"), unless `echoUdp` is off; datagrams are
 * also recorded in `delivered`. Groups are joined with `join`.
 */
import { formatIpv6 } from '../../ipv6/wire/address.js';
import type { Ipv6Host, LampDirectory } from '../../sim/host.js';

export interface Delivery {
  index: number;
  from: string;
  port: number;
  payload: Uint8Array;
}

export class RangeDirectory implements LampDirectory {
  readonly silent = new Set<number>();
  readonly delivered: Delivery[] = [];
  echoUdp = true;
  host: Ipv6Host | null = null;
  private readonly groups = new Map<string, number[]>();

  constructor(readonly count: number) {}

  lookup(iidHi: number, iidLo: number): number {
    return iidHi === 0 && iidLo >= 1 && iidLo <= this.count ? iidLo : -1;
  }

  writeIid(index: number, out: Uint8Array, off: number): void {
    out.fill(0, off, off + 4);
    out[off + 4] = index >>> 24;
    out[off + 5] = (index >>> 16) & 0xff;
    out[off + 6] = (index >>> 8) & 0xff;
    out[off + 7] = index & 0xff;
  }

  answersPing(index: number): boolean {
    return !this.silent.has(index);
  }

  deliverUdp(index: number, srcBuf: Uint8Array, srcOff: number, srcPort: number,
    buf: Uint8Array, off: number, len: number): void {
    this.delivered.push({ index, from: formatIpv6(srcBuf, srcOff), port: srcPort, payload: buf.slice(off, off + len) });
    if (this.echoUdp && this.host !== null) this.host.sendUdp(index, srcBuf, srcOff, srcPort, 5683, buf, off, len);
  }

  /** Destination Unreachable errors handed to a lamp, as (lamp, the datagram's destination, port,
   * its quoted payload). */
  readonly unreachables: Delivery[] = [];

  deliverUnreachable(index: number, dstBuf: Uint8Array, dstOff: number, dstPort: number,
    buf: Uint8Array, off: number, len: number): void {
    this.unreachables.push({ index, from: formatIpv6(dstBuf, dstOff), port: dstPort, payload: buf.slice(off, off + len) });
  }

  /** Make `lamps` members of the group whose address is `group` (16 bytes). */
  join(group: Uint8Array, lamps: number[]): void {
    this.groups.set(formatIpv6(group), lamps);
  }

  forEachMember(groupBuf: Uint8Array, groupOff: number, fn: (index: number) => void): void {
    for (const index of this.groups.get(formatIpv6(groupBuf, groupOff)) ?? []) fn(index);
  }
}
