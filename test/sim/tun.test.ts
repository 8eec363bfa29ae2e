/**
 * The simulator's host behind a real TUN device, inside a network namespace this suite creates:
 * the kernel routes 2001:db8::/64 to the device, and real `ping` (iputils) talks to the lamps.
 * As root these run; they never skip.
 */
import { type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleScript } from '../helpers/bundle.js';
import { Netns } from '../../bench/netns.js';
import { formatIpv6, parseIpv6 } from '../../ipv6/wire/address.js';

const PREFIX = '2001:db8::';
const LAMPS = 100_000;

/** Lamp n's address: interface identifier n. */
function lampAddress(n: number): string {
  const bytes = parseIpv6(PREFIX)!;
  bytes.set([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff], 12);
  return formatIpv6(bytes);
}

/** Send "lampnet" from a connected UDP socket and print what comes back (a connected socket turns
 * ICMPv6 port unreachable into ECONNREFUSED). */
const UDP_PROBE = `
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.settimeout(5)
s.connect((sys.argv[1], int(sys.argv[2])))
s.send(b'lampnet')
try:
    data, src = s.recvfrom(100)
    print('reply from %s port %d: %s' % (src[0], src[1], data.decode()))
except ConnectionRefusedError:
    print('refused')
`;

let ns: Netns;
let script: string;
let responder: ChildProcess;
let lines: AsyncIterator<string>;

async function nextLine(): Promise<string> {
  const next = await lines.next();
  if (next.done) throw new Error('the TUN responder exited');
  return next.value;
}

async function counters(): Promise<Record<string, number>> {
  responder.stdin!.write('counters\n');
  return JSON.parse(await nextLine()) as Record<string, number>;
}

beforeAll(async () => {
  script = await bundleScript('test/helpers/tun-responder.ts');
  ns = await Netns.create('tun');
  responder = ns.spawn('node', [script, '--tun', 'lampnet0', '--prefix', PREFIX, '--lamps', String(LAMPS), '--silent', '7']);
  let stderr = '';
  responder.stderr!.on('data', (chunk) => (stderr += chunk));
  lines = createInterface({ input: responder.stdout! })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done || !first.value.startsWith('ready ')) throw new Error(`TUN responder did not start: ${stderr}`);
});

afterAll(async () => {
  await ns?.delete();
  if (script) rmSync(script, { force: true });
});

describe('lamps behind a TUN device', () => {
  it.each([1, 42, LAMPS])('answers `ping -6 -c 3` at lamp %i\'s address', async (lamp) => {
    const address = lampAddress(lamp);
    const result = await ns.run('ping', ['-6', '-c', '3', '-i', '0.2', '-W', '5', address]);
    expect(result.stdout).toContain(`3 packets transmitted, 3 received`);
    expect(result.stdout).toContain(`from ${address}: icmp_seq=1`);
  });

  it('answers ping for an absent lamp with "Address unreachable" from the prefix\'s router address', async () => {
    const result = await ns.run('ping', ['-6', '-c', '1', '-W', '5', lampAddress(LAMPS + 1)]);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toMatch(/From 2001:db8:: icmp_seq=1 Destination unreachable: Address unreachable/);
  });

  it('leaves ping to a lamp whose policy says no unanswered', async () => {
    const before = (await counters()).pingsIgnored ?? 0;
    const result = await ns.run('ping', ['-6', '-c', '1', '-W', '1', lampAddress(7)]);
    expect(result.stdout).toContain('1 packets transmitted, 0 received');
    expect((await counters()).pingsIgnored).toBe(before + 1);
  });

  it('brings a UDP datagram to lamp 42\'s port 5683 back from the lamp (checksums verified by the kernel)', async () => {
    const result = await ns.run('python3', ['-c', UDP_PROBE, lampAddress(42), '5683']);
    expect(result.stdout.trim()).toBe(`reply from ${lampAddress(42)} port 5683: lampnet`);
  });

  it('refuses a UDP datagram to another port of a lamp with port unreachable (ECONNREFUSED)', async () => {
    const result = await ns.run('python3', ['-c', UDP_PROBE, lampAddress(42), '7']);
    expect(result.stdout.trim()).toBe('refused');
  });

  it('answers a burst of 100,000 Echo Requests to 100,000 distinct lamps, each from the address asked (all but silent lamp 7)', async () => {
    const result = await ns.run('python3', [new URL('../helpers/ping-burst.py', import.meta.url).pathname, PREFIX, String(LAMPS)], 120_000);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ sent: LAMPS, answered: LAMPS - 1, wrongSource: 0, duplicates: 0, missing: 1, firstMissing: [7] });
  });
});

describe('without CAP_NET_ADMIN', () => {
  it('fails with one line that says what is missing and names --link memory', async () => {
    const result = await ns.run('setpriv', ['--bounding-set', '-net_admin', 'node', script, '--tun', 'lampnet1']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('creating TUN device "lampnet1" needs CAP_NET_ADMIN (run as root or grant the capability), or use --link memory\n');
  });
});
