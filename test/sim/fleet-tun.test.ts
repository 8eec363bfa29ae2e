/**
 * `lampnet sim --link tun` as a user runs it: the real CLI in a network namespace this suite
 * creates, a TUN device routed to the fleet's /64, and the real `ping` (iputils) and `coap-client`
 * (libcoap) reaching lamps at their own addresses: LwM2M reads in each content format, writes,
 * Write-Attributes, Discover and Observe. As root these run; they never skip.
 */
import { type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Netns } from '../../bench/netns.js';

const PREFIX = '2001:db8::';
const LAMPS = 1000;
const COAP_CLIENT = 'coap-client-notls';

interface RunningSim {
  ns: Netns;
  child: ChildProcess;
  output: string[];
}

/** Start the CLI in a fresh namespace and wait for its "ready" line. */
async function startSimInNamespace(label: string, extra: string[], lamps = LAMPS): Promise<RunningSim> {
  const ns = await Netns.create(label);
  const child = ns.spawn('node', ['dist/cli/lampnet.js', 'sim', '--link', 'tun', '--tun', 'lamps0', '--prefix', `${PREFIX}/64`, '--lamps', String(lamps), ...extra]);
  const output: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const lines = createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    lines.on('line', (line) => {
      output.push(line);
      if (line === 'ready') resolve();
    });
    child.once('exit', (code) => reject(new Error(`lampnet sim exited (${code}) before it was ready: ${stderr}`)));
  });
  return { ns, child, output };
}

async function ping(ns: Netns, n: number | string, count = 3): Promise<string> {
  const dst = typeof n === 'number' ? `${PREFIX}${n.toString(16)}` : n;
  const r = await ns.run('ping', ['-6', '-c', String(count), '-i', '0.2', '-W', '2', dst]);
  return r.stdout + r.stderr;
}

async function coap(ns: Netns, method: 'get' | 'put', n: number, path: string, payload?: string, extra: string[] = []): Promise<string> {
  const args = ['-m', method, '-B', '10', ...extra];
  if (payload !== undefined) args.push('-e', payload);
  args.push(`coap://[${PREFIX}${n.toString(16)}]/${path}`);
  const r = await ns.run(COAP_CLIENT, args);
  if (r.code !== 0) throw new Error(`${COAP_CLIENT} ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout.trim();
}

describe('lampnet sim on a TUN device', () => {
  let sim: RunningSim;
  beforeAll(async () => {
    sim = await startSimInNamespace('sim', []);
  });
  afterAll(async () => {
    await sim?.ns.delete();
  });

  it('prints the prefix and ready-to-paste ping and coap-client lines for lamp 1', () => {
    const text = sim.output.join('\n');
    expect(text).toContain('2001:db8::/64');
    expect(text).toContain(`ping -6 -c 3 ${PREFIX}1`);
    expect(text).toContain(`coap://[${PREFIX}1]/3311/0/5850`);
  });

  it.each([1, 42, LAMPS])('ping -6 lamp %i is answered from its own address', async (n) => {
    const out = await ping(sim.ns, n);
    expect(out).toContain('3 received');
    expect(out).toContain(`from ${PREFIX}${n.toString(16)}`);
  });

  it('ping -6 one past the last lamp reports Address unreachable', async () => {
    const out = await ping(sim.ns, LAMPS + 1, 1);
    expect(out).toContain('Address unreachable');
  });

  it('coap-client GET and PUT on 5850 switch lamp 42 and read it back', async () => {
    expect(await coap(sim.ns, 'put', 42, '3311/0/5850', '0')).toBe('');
    expect(await coap(sim.ns, 'get', 42, '3311/0/5850')).toBe('0');
    expect(await coap(sim.ns, 'put', 42, '3311/0/5850', '1')).toBe('');
    expect(await coap(sim.ns, 'get', 42, '3311/0/5850')).toBe('1');
    // Lamp 43 was not touched.
    expect(await coap(sim.ns, 'get', 43, '3311/0/5851')).toBe('100');
  });

  it('coap-client PUT on 5851 dims lamp 7 and the power reading follows', async () => {
    await coap(sim.ns, 'put', 7, '3311/0/5851', '40');
    expect(await coap(sim.ns, 'get', 7, '3311/0/5851')).toBe('40');
    const watts = Number(await coap(sim.ns, 'get', 7, '3305/0/5800'));
    expect(watts).toBeGreaterThan(0.5);
    expect(watts).toBeLessThan(60);
  });

  it('coap-client reads lamp 9 in SenML JSON and TLV, writes attributes, discovers them, and observes with pmin/pmax', async () => {
    const senml = JSON.parse(await coap(sim.ns, 'get', 9, '3311/0', undefined, ['-A', '110'])) as { bn?: string; n: string; vb?: boolean; v?: number }[];
    expect(senml[0].bn).toBe('/3311/0/');
    expect(senml.find((r) => r.n === '5850')?.vb).toBe(true);
    expect(senml.find((r) => r.n === '5851')?.v).toBe(100);
    const tlvFile = join(mkdtempSync(join(tmpdir(), 'lampnet-tlv-')), 'light.tlv');
    await coap(sim.ns, 'get', 9, '3311/0', undefined, ['-A', '11542', '-o', tlvFile]);
    // The first entry: a resource with a 16-bit id and a 1-byte value (0xe1), 5850 = 0x16da, on = 1.
    expect([...readFileSync(tlvFile).subarray(0, 4)]).toEqual([0xe1, 0x16, 0xda, 0x01]);
    await coap(sim.ns, 'put', 9, '3311/0/5851?pmin=1&pmax=2');
    expect(await coap(sim.ns, 'get', 9, '3311/0', undefined, ['-A', '40'])).toContain('</3311/0/5851>;pmin=1;pmax=2');
    // Observed for 5 s with nothing changing: the value at once, then again at every pmax (2 s).
    const seen = (await coap(sim.ns, 'get', 9, '3311/0/5851', undefined, ['-s', '5', '-w'])).split('\n').filter((l) => l.trim() !== '');
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(new Set(seen)).toEqual(new Set(['100']));
  });

  it('coap-client discovers the LwM2M object instances in /.well-known/core', async () => {
    const links = await coap(sim.ns, 'get', 5, '.well-known/core');
    for (const r of ['</1/0>', '</3/0>', '</3305/0>', '</3311/0>', '</32311/0>']) {
      expect(links).toContain(r);
    }
  });
});

describe('lampnet sim --ping-when lit on a TUN device', () => {
  let sim: RunningSim;
  beforeAll(async () => {
    sim = await startSimInNamespace('lit', ['--ping-when', 'lit']);
  });
  afterAll(async () => {
    await sim?.ns.delete();
  });

  it('lamp 42 is silent while off and answers once a CoAP PUT turns it on', async () => {
    await coap(sim.ns, 'put', 42, '3311/0/5850', '0');
    expect(await ping(sim.ns, 42, 2)).toContain('0 received');
    await coap(sim.ns, 'put', 42, '3311/0/5850', '1');
    expect(await ping(sim.ns, 42, 2)).toContain('2 received');
  });
});

describe('a 100,000-lamp fleet on a TUN device', () => {
  const BURST = 100_000;
  let sim: RunningSim;
  beforeAll(async () => {
    sim = await startSimInNamespace('burst', ['--gateway', 'none'], BURST);
  });
  afterAll(async () => {
    await sim?.ns.delete();
  });

  it('answers a bounded burst of 100,000 echo requests to 100,000 distinct lamps, each from the address asked', async () => {
    const script = new URL('../helpers/ping-burst.py', import.meta.url).pathname;
    const result = await sim.ns.run('python3', [script, PREFIX, String(BURST)], 120_000);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ sent: BURST, answered: BURST, wrongSource: 0, duplicates: 0, missing: 0 });
  }, 180_000);
});
