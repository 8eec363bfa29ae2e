/**
 * A process that serves a `RangeDirectory` of lamps through a real TUN device: the simulator's host
 * without the fleet, for namespace tests (the fleet's own TUN tests run `lampnet sim` instead).
 *
 *   node tun-responder.mjs --tun NAME --prefix 2001:db8:: --lamps N [--silent 7,9]
 *
 * Prints `ready <device>` once the device is up and routed, answers `counters` on stdin with one JSON
 * line of the host's counters, and exits on `quit`, end of stdin or SIGTERM.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Ipv6Host } from '../../sim/host.js';
import { parseIpv6 } from '../../ipv6/wire/address.js';
import { openTunLink } from '../../ipv6/link/tun.js';
import { RangeDirectory } from './range-directory.js';

const { values } = parseArgs({
  options: {
    tun: { type: 'string', default: 'lampnet0' },
    prefix: { type: 'string', default: '2001:db8::' },
    lamps: { type: 'string', default: '100' },
    silent: { type: 'string', default: '' },
  },
});

const prefix = parseIpv6(values.prefix);
if (prefix === null) throw new Error(`--prefix "${values.prefix}" is not an IPv6 address`);
const hostAddress = prefix.slice();
hostAddress.set([0xff, 0xff, 0, 0, 0, 0, 0, 1], 8);

const directory = new RangeDirectory(Number(values.lamps));
for (const lamp of values.silent.split(',').filter(Boolean)) directory.silent.add(Number(lamp));
try {
  const link = await openTunLink({ name: values.tun, prefix, hostAddress });
  const host = new Ipv6Host({ prefix, link, directory });
  directory.host = host;
  host.start();

  const quit = async () => {
    await link.close();
    process.exit(0);
  };
  process.on('SIGTERM', quit);
  const input = createInterface({ input: process.stdin });
  input.on('line', (line) => {
    if (line === 'counters') process.stdout.write(`${JSON.stringify(host.counters.snapshot())}\n`);
    if (line === 'quit') void quit();
  });
  input.on('close', quit);
  process.stdout.write(`ready ${link.name}\n`);
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
