/**
 * Hostile packets through the native TUN addon: `lampnet sim --link tun` in a network namespace
 * this suite creates, and packets that no IPv6 stack would send (truncated, wrong version, lengths
 * that lie, broken and forbidden extension headers, one byte, larger than the simulator's MTU,
 * random bytes; a zero-length frame the kernel itself refuses) written into the device from the kernel's side through a packet socket, so the
 * addon reads exactly those bytes. The simulator stays up, counts each by its drop reason, and a
 * lamp still answers the real `ping` afterwards. As root these run; they never skip.
 */
import { type ChildProcess } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Netns } from '../../bench/netns.js';

const PREFIX = '2001:db8::';
const DEVICE = 'lamps0';
const RANDOM_PACKETS = 3000;

interface Status {
  fleet: Record<string, number>;
  host: Record<string, number>;
}

let ns: Netns;
let child: ChildProcess;
let lines: Interface;
let stderr = '';

/** The running simulator's counters, from its console's `status` command. */
function status(): Promise<Status> {
  return new Promise((resolve, reject) => {
    const onLine = (line: string) => {
      if (!line.startsWith('{')) return;
      lines.off('line', onLine);
      clearTimeout(timer);
      resolve(JSON.parse(line) as Status);
    };
    const timer = setTimeout(() => {
      lines.off('line', onLine);
      reject(new Error(`lampnet sim did not answer "status" within 10 s; stderr: ${stderr}`));
    }, 10_000);
    lines.on('line', onLine);
    child.stdin!.write('status\n');
  });
}

async function ping(n: number): Promise<string> {
  const r = await ns.run('ping', ['-6', '-c', '2', '-i', '0.2', '-W', '2', `${PREFIX}${n.toString(16)}`]);
  return r.stdout + r.stderr;
}

beforeAll(async () => {
  ns = await Netns.create('hostile');
  child = ns.spawn('node', ['dist/cli/lampnet.js', 'sim', '--link', 'tun', '--tun', DEVICE, '--prefix', `${PREFIX}/64`, '--lamps', '100', '--gateway', 'none']);
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  lines = createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    lines.on('line', (line) => { if (line === 'ready') resolve(); });
    child.once('exit', (code) => reject(new Error(`lampnet sim exited (${code}) before it was ready: ${stderr}`)));
  });
}, 60_000);

afterAll(async () => {
  await ns?.delete();
});

describe('hostile packets written into the TUN device', () => {
  let before: Status;
  let after: Status;
  let written: Record<string, string | number>;
  /** Packets the kernel took into the device. */
  let taken = 0;
  /** How much counter `name` of the host grew (a snapshot leaves out drop reasons still at 0). */
  const grew = (name: string) => (after.host[name] ?? 0) - (before.host[name] ?? 0);

  beforeAll(async () => {
    before = await status();
    // Let the kernel take frames larger than the simulator's MTU (1500), which the simulator keeps.
    const mtu = await ns.run('ip', ['link', 'set', 'dev', DEVICE, 'mtu', '9000']);
    expect(mtu.stderr).toBe('');
    const script = new URL('../helpers/hostile-tun.py', import.meta.url).pathname;
    const run = await ns.run('python3', [script, DEVICE, PREFIX, String(RANDOM_PACKETS)], 60_000);
    expect(run.stderr).toBe('');
    written = JSON.parse(run.stdout) as Record<string, string | number>;
    // Every packet the kernel took is read and given a disposition before the counters settle.
    taken = Object.values(written).filter((v) => v === 'sent').length + (written.random as number);
    const deadline = Date.now() + 20_000;
    do after = await status();
    while (after.host.received - before.host.received < taken && Date.now() < deadline);
  }, 120_000);

  it('the kernel hands every crafted packet to the device, oversized included, but refuses a zero-length frame', () => {
    const refused = Object.entries(written).filter(([, v]) => typeof v === 'string' && v !== 'sent');
    // So the shortest frame a TUN device can deliver is one byte.
    expect(refused).toEqual([['zero-length', 'refused: Invalid argument']]);
    expect(written.random).toBeGreaterThan(RANDOM_PACKETS * 0.9);
  });

  it('the simulator reads every packet the kernel took and is still running', () => {
    expect(grew('received')).toBe(taken);
    expect(child.exitCode).toBeNull();
    expect(child.signalCode).toBeNull();
  });

  it('gives every packet it read exactly one disposition', () => {
    const dispositions = Object.keys(after.host)
      .filter((name) => name.startsWith('drop.') || ['echoReplies', 'pingsIgnored', 'udpDelivered', 'unreachablesDelivered', 'icmpErrorsSent',
        'icmpErrorsRateLimited', 'txRefused', 'multicastPackets'].includes(name))
      .reduce((sum, name) => sum + grew(name), 0) - grew('multicastCopies');
    expect(dispositions).toBe(grew('received'));
  });

  it.each([
    'shortFrame', 'badVersion', 'payloadLengthExceedsFrame', 'hopLimitZero', 'sourceMulticast', 'notOurPrefix',
    'badExtensionHeader', 'misplacedHopByHop', 'unrecognizedOption', 'routingSegmentsLeft', 'fragment', 'noNextHeader',
    'unknownNextHeader', 'icmpTruncated', 'icmpBadChecksum', 'udpBadLength', 'udpBadChecksum',
  ])('counts the crafted packets dropped as %s', (reason) => {
    expect(grew(`drop.${reason}`)).toBeGreaterThanOrEqual(1);
  });

  it('counts the one-byte and 39-byte frames as short frames', () => {
    expect(grew('drop.shortFrame')).toBeGreaterThanOrEqual(2);
  });

  it('refuses to send the reply to an echo above its MTU, and counts it', () => {
    expect(grew('txRefused')).toBeGreaterThanOrEqual(1);
  });

  it('lamp 1 still answers ping afterwards', async () => {
    const out = await ping(1);
    expect(out).toContain('2 received');
    expect(out).toContain(`from ${PREFIX}1`);
  });
});
