/**
 * One simulator host on an in-memory link over a `RangeDirectory`, with everything it sends
 * decoded into `sent`. The prefix is 2001:db8::/64 like the namespace tests.
 */
import { Ipv6Host, type Ipv6HostOptions } from '../../sim/host.js';
import { MemoryLink } from '../../ipv6/link/memory.js';
import { RangeDirectory } from '../helpers/range-directory.js';
import { addr, decode, type Decoded } from './packets.js';

export const PREFIX = '2001:db8::';
export const REQUESTER = '2001:db8:1::99';

export function hostOnMemoryLink(lamps: number, options: Partial<Ipv6HostOptions> = {}) {
  const link = new MemoryLink();
  const directory = new RangeDirectory(lamps);
  const host = new Ipv6Host({ prefix: addr(PREFIX), link, directory, ...options });
  directory.host = host;
  host.start();
  const sent: Decoded[] = [];
  link.onTransmit((buf, off, len) => sent.push(decode(buf, off, len)));
  return { link, directory, host, sent, drops: () => dropsOf(host) };
}

/** The non-zero drop counters by reason name. */
export function dropsOf(host: Ipv6Host): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(host.counters.snapshot())) {
    if (name.startsWith('drop.')) out[name.slice(5)] = value;
  }
  return out;
}
