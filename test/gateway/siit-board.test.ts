/**
 * A real board at its own IPv6 address: the bundle on the real Espruino interpreter in an IPv4-only
 * namespace, `lampnet gateway --board-prefix` translating (SIIT, gateway/siit/) in another, and an
 * IPv6 client in a third that uses ping, coap-client-notls and tshark as a user would
 * (bench/siit-lab.ts builds the three).
 *
 * Skipped, with the reason, where the interpreter is absent or namespaces cannot be made.
 */
import { type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOARD_IPV4, boardsUnavailable, GATEWAY_IPV4, type EspruinoBoard } from '../../bench/espruino-board.js';
import type { Netns } from '../../bench/netns.js';
import { BOARD_IPV6, BOARD_IPV6_HEX, BOARD_PREFIX, SiitLab, STRANGER_IPV6, TUN_NAME } from '../../bench/siit-lab.js';
import { bundleFirmware } from '../../tools/espruino/build.js';
import { PROJECT_ROOT } from '../../tools/espruino/paths.js';

const unavailable = boardsUnavailable();
const ID = 'esp-6';
const GROUP = 'Nordring';
/** The board's trusted prefix: it holds the client's translated address (10.77.1.1), not the
 * stranger's (10.77.1.200). */
const TRUSTED = '10.77.1.0/28';
/** A stored entry that is not a.b.c.d/n (a hand-edited config): read as 0.0.0.0/0 it would trust
 * everyone, so the stranger's refusal below shows the board ignored it. */
const MALFORMED = '0/0';
const lampUrl = (path: string): string => `coap://[${BOARD_IPV6_HEX}]/${path}`;

interface State {
  on: boolean;
  level: number;
  address: string;
}

let captures = 0;

/** tshark writing what crosses `iface` in `ns` to a file, until `stop()`. */
class Capture {
  private constructor(private readonly ns: Netns, private readonly child: ChildProcess, readonly file: string) {}

  static async start(ns: Netns, iface: string, dir: string): Promise<Capture> {
    const file = join(dir, `${iface}-${++captures}.pcapng`);
    const child = ns.spawn('tshark', ['-q', '-i', iface, '-w', file]);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tshark on ${iface} did not start capturing within 20 s`)), 20_000);
      createInterface({ input: child.stderr! }).on('line', (line) => {
        if (line.includes('Capturing on')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    return new Capture(ns, child, file);
  }

  /** Packets in the file so far that match `filter`. */
  async count(filter: string): Promise<number> {
    return (await packets(this.ns, this.file, filter, ['frame.number'])).length;
  }

  /** Stop once the file holds the packet matching `last`, and so all that crossed before it. What
   * is captured but not yet written when tshark stops is lost (it writes in blocks, late under
   * load), so `last` must match only the test's own last packet: a count over packets from before
   * would be met by one still on its way to the file. */
  async stop(last: string): Promise<void> {
    await until(async () => (await this.count(last)) > 0, `the capture ${this.file} to hold a packet matching ${last}`);
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGINT');
    await exited;
  }
}

/** Polls `check` until it holds, for at most 20 s. */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`waited 20 s for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const REPLY_V6 = 'icmpv6.type == 129';
const REPLY_V4 = 'icmp.type == 0 && ip.dst == 10.77.1.1';
/** A ping whose payload is this long closes a capture: its reply is found by size alone. */
const CLOSING_PING_BYTES = 77;
const CLOSING_REPLY_V6 = `${REPLY_V6} && ipv6.plen == ${CLOSING_PING_BYTES + 8}`;
const CLOSING_REPLY_V4 = `${REPLY_V4} && ip.len == ${CLOSING_PING_BYTES + 28}`;

/** Fields of the packets in `file` that match `filter`, one line per packet (tshark -T fields). */
async function packets(ns: Netns, file: string, filter: string, fields: string[]): Promise<string[]> {
  const args = ['-r', file, '-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-Y', filter, '-T', 'fields'];
  for (const f of fields) args.push('-e', f);
  const out = await ns.mustRun('tshark', args, 60_000);
  return out.split('\n').filter((l) => l.trim() !== '');
}

/** The last packet hostile-siit.py writes, a valid Echo Request from <board-prefix>::10.77.1.99. */
const CONTROL_ECHO = 'ip.src == 10.77.1.99 && icmp.type == 8';

const BAD = 'ip.checksum.status == 0 || udp.checksum.status == 0 || icmp.checksum.status == 0 || icmpv6.checksum.status == 0 '
  + '|| _ws.malformed || _ws.expert.severity == error';

describe.skipIf(unavailable !== null)('a board at its own IPv6 address through the gateway\'s translator', () => {
  let lab: SiitLab;
  let dir: string;
  let board: EspruinoBoard;

  const stateUntil = async (check: (s: State) => boolean, timeoutS = 30): Promise<State> =>
    JSON.parse(await lab.boards.mqttUntil(`lampnet/lamps/${ID}/state`, (p) => check(JSON.parse(p) as State), timeoutS)) as State;
  const ping = (count: number, extra: string[] = []): Promise<{ code: number; stdout: string }> =>
    lab.client('ping', ['-6', '-n', '-c', String(count), '-W', '2', ...extra, BOARD_IPV6]);
  const coap = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    lab.client('coap-client-notls', ['-B', '10', ...args], 30_000);

  beforeAll(async () => {
    const bundle = await bundleFirmware();
    dir = mkdtempSync(join(tmpdir(), 'lampnet-siit-'));
    lab = await SiitLab.create('siit');
    // Group commands may go by IPv6 multicast here (towards the client's link), which a board
    // cannot receive: it must still get them one by one.
    await lab.startGateway('--multicast-interface', 'cl0');
    board = lab.boards.startBoard({ gateway: GATEWAY_IPV4, trust: [TRUSTED, MALFORMED], lamp: { id: ID, groups: GROUP, lifetimeS: 20 } }, bundle);
    await lab.boards.mqttUntil(`lampnet/lamps/${ID}/availability`, (p) => p === 'online');
  }, 120_000);

  afterAll(async () => {
    await lab?.delete();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('shows the board on MQTT at its IPv6 address, <board-prefix>::<its IPv4 address>', async () => {
    expect(await stateUntil(() => true)).toMatchObject({ address: BOARD_IPV6 });
  });

  it('answers ping -6 at that address (the board\'s own IP stack replies)', async () => {
    const r = await ping(3);
    expect(r.stdout).toMatch(/3 packets transmitted, 3 received/);
  });

  it('answers coap-client-notls GET at that address', async () => {
    await lab.boards.publish(`lampnet/lamps/${ID}/set`, '30');
    await stateUntil((s) => s.on && s.level === 30);
    expect((await coap(['-m', 'get', lampUrl('3311/0/5851')])).stdout.trim()).toBe('30');
    const links = await coap(['-m', 'get', lampUrl('.well-known/core')]);
    expect(links.stdout).toContain('</3311/0>');
  });

  it(`obeys coap-client-notls PUTs from a client whose IPv4 form is in its trusted prefix ${TRUSTED}, and its MQTT state follows`, async () => {
    const off = await coap(['-m', 'put', '-e', '0', lampUrl('3311/0/5850')]);
    expect(off.stdout + off.stderr).not.toContain('4.03');
    expect(await stateUntil((s) => !s.on)).toMatchObject({ address: BOARD_IPV6 });
    await coap(['-m', 'put', '-e', '55', lampUrl('3311/0/5851')]);
    await coap(['-m', 'put', '-e', '1', lampUrl('3311/0/5850')]);
    expect(await stateUntil((s) => s.on)).toMatchObject({ on: true, level: 55 });
    expect((await coap(['-m', 'get', lampUrl('3311/0/5851')])).stdout.trim()).toBe('55');
  });

  it('ignores a stored trust entry that is not a.b.c.d/n, and says so on its console', async () => {
    expect((await board.line(/lampnet: trust: ignoring ([^,]+),/))[1]).toBe(MALFORMED);
  });

  it('refuses a PUT from a client outside its trusted prefixes with 4.03, and the state stays', async () => {
    const put = await coap(['-a', STRANGER_IPV6, '-m', 'put', '-e', '0', lampUrl('3311/0/5850')]);
    expect(put.stdout + put.stderr).toContain('4.03');
    // The stranger may read: the GET crosses the translator from its address too.
    expect((await coap(['-a', STRANGER_IPV6, '-m', 'get', lampUrl('3311/0/5850')])).stdout.trim()).toBe('1');
    expect(await stateUntil(() => true)).toMatchObject({ on: true, level: 55 });
  });

  it('carries a command from MQTT to the board at its IPv6 address and its state back, seen by a GET over IPv6', async () => {
    await lab.boards.publish(`lampnet/lamps/${ID}/set`, 'OFF');
    expect(await stateUntil((s) => !s.on)).toMatchObject({ address: BOARD_IPV6 });
    expect((await coap(['-m', 'get', lampUrl('3311/0/5850')])).stdout.trim()).toBe('0');
    await lab.boards.publish(`lampnet/lamps/${ID}/set`, 'ON');
    await stateUntil((s) => s.on);
    expect((await coap(['-m', 'get', lampUrl('3311/0/5850')])).stdout.trim()).toBe('1');
  });

  it('gets a group command one by one, though the gateway sends group commands by multicast', async () => {
    await lab.boards.publish(`lampnet/groups/${GROUP}/set`, '20');
    await stateUntil((s) => s.on && s.level === 20);
    await lab.boards.publish(`lampnet/groups/${GROUP}/set`, 'OFF');
    await stateUntil((s) => !s.on);
  });

  it('translates the board\'s ICMPv4 port unreachable into ICMPv6 for the client', async () => {
    const probe = 'import socket\ns = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\ns.settimeout(5)\n'
      + `s.connect(("${BOARD_IPV6_HEX}", 5699))\ns.send(b"x")\ntry:\n    s.recv(10)\n    print("answered")\n`
      + 'except ConnectionRefusedError:\n    print("refused")\nexcept socket.timeout:\n    print("timeout")\n';
    expect((await lab.client('python3', ['-c', probe])).stdout.trim()).toBe('refused');
  });

  it('translates the client\'s ICMPv6 port unreachable into ICMPv4 for the board', async () => {
    const probe = 'import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.settimeout(5)\n'
      + 's.connect(("10.77.1.1", 5699))\ns.send(b"x")\ntry:\n    s.recv(10)\n    print("answered")\n'
      + 'except ConnectionRefusedError:\n    print("refused")\nexcept socket.timeout:\n    print("timeout")\n';
    expect((await lab.boards.boardNs.mustRun('python3', ['-c', probe])).trim()).toBe('refused');
  });

  it('puts only well-formed packets with valid checksums on both sides (tshark)', async () => {
    const v6 = await Capture.start(lab.clientNs, 'gw6', dir);
    const v4 = await Capture.start(lab.boards.boardNs, 'board0', dir);
    // A capture starts a moment after it says so: ping until both have seen a reply.
    await until(async () => (await ping(1)).code === 0 && (await v6.count(REPLY_V6)) > 0 && (await v4.count(REPLY_V4)) > 0, 'both captures to see a ping');
    try {
      expect((await ping(2)).stdout).toMatch(/2 received/);
      expect((await coap(['-m', 'get', lampUrl('3311/0/5851')])).code).toBe(0);
      await lab.client('python3', ['-c', `import socket\ns=socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\ns.sendto(b"x", ("${BOARD_IPV6_HEX}", 5699))`]);
      // The kernel's port unreachable reaches the client before this ping's reply, which follows it.
      expect((await ping(1, ['-s', String(CLOSING_PING_BYTES)])).stdout).toMatch(/1 received/);
    } finally {
      await v6.stop(CLOSING_REPLY_V6);
      await v4.stop(CLOSING_REPLY_V4);
    }
    const clientSide = await packets(lab.clientNs, v6.file, `ipv6.addr == ${BOARD_IPV6_HEX}`, ['icmpv6.type', 'udp.checksum.status', 'icmpv6.checksum.status']);
    const boardSide = await packets(lab.boards.boardNs, v4.file, 'ip.addr == 10.77.1.1', ['icmp.type', 'ip.checksum.status', 'udp.checksum.status', 'icmp.checksum.status']);
    // Echo requests and replies, CoAP both ways, the datagram to a closed port and its error.
    expect(clientSide.length).toBeGreaterThanOrEqual(9);
    expect(boardSide.length).toBeGreaterThanOrEqual(9);
    expect(clientSide.filter((l) => l.startsWith('1\t'))).toHaveLength(1);
    expect(boardSide.filter((l) => l.startsWith('3\t'))).toHaveLength(1);
    // What the translator wrote (a sender's own packets may carry a checksum its NIC would finish).
    expect(await packets(lab.clientNs, v6.file, `ipv6.src == ${BOARD_IPV6_HEX} && (${BAD})`, ['frame.number', '_ws.col.Info', '_ws.expert.message'])).toEqual([]);
    expect(await packets(lab.boards.boardNs, v4.file, `ip.src == 10.77.1.1 && (${BAD})`, ['frame.number', '_ws.col.Info', '_ws.expert.message'])).toEqual([]);
    // Checksums were checked, not skipped: the translated packets' are reported good.
    expect((await packets(lab.boards.boardNs, v4.file, 'ip.src == 10.77.1.1 && ip.checksum.status == 1', ['frame.number'])).length).toBeGreaterThanOrEqual(4);
    expect((await packets(lab.boards.boardNs, v4.file, 'ip.src == 10.77.1.1 && (icmp.checksum.status == 1 || udp.checksum.status == 1)', ['frame.number'])).length).toBeGreaterThanOrEqual(4);
    expect((await packets(lab.clientNs, v6.file, `ipv6.src == ${BOARD_IPV6_HEX} && (icmpv6.checksum.status == 1 || udp.checksum.status == 1)`, ['frame.number'])).length).toBeGreaterThanOrEqual(4);
  }, 120_000);

  it('drops and counts hostile packets written into the TUN device, and none of them reaches the board', async () => {
    const capture = await Capture.start(lab.boards.boardNs, 'board0', dir);
    await until(async () => (await ping(1)).code === 0 && (await capture.count(REPLY_V4)) > 0, 'the capture to see a ping');
    let report: Record<string, string>;
    try {
      const out = await lab.boards.gatewayNs.mustRun('python3', [join(PROJECT_ROOT, 'test', 'helpers', 'hostile-siit.py'), TUN_NAME, BOARD_PREFIX.replace(/\/96$/, ''), BOARD_IPV4]);
      report = JSON.parse(out) as Record<string, string>;
      // The translator still serves the client after the hostile batch.
      expect((await ping(1)).stdout).toMatch(/1 received/);
    } finally {
      // The translator handles packets in order: a hostile one it let through would cross before.
      await capture.stop(CONTROL_ECHO);
    }
    expect(Object.values(report).every((v) => v === 'sent'), JSON.stringify(report)).toBe(true);
    const metrics = await lab.metrics();
    for (const reason of ['shortFrame', 'payloadLengthExceedsFrame', 'udpBadChecksum', 'icmpBadChecksum', 'fragment', 'unknownNextHeader',
      'sourceNotTranslatable', 'udpBadLength', 'icmpTruncated', 'ipv4BadChecksum', 'ipv4Fragment', 'ipv4BadHeader', 'notIp']) {
      expect(await lab.metric(`lampnet_gateway_siit_dropped_total{reason="${reason}"}`), `${reason}\n${metrics}`).toBeGreaterThanOrEqual(1);
    }
    // From the hostile source, only the well-formed control echo reached the board.
    const fromHostile = await packets(lab.boards.boardNs, capture.file, 'ip.src == 10.77.1.99', ['icmp.type']);
    expect(fromHostile).toEqual(['8']);
    expect((await ping(2)).stdout).toMatch(/2 received/);
  }, 120_000);
});

describe.skipIf(unavailable !== null)('--ping-when lit on a real board', () => {
  let lab: SiitLab;

  beforeAll(async () => {
    const bundle = await bundleFirmware();
    lab = await SiitLab.create('siitlit');
    await lab.startGateway('--ping-when', 'lit');
    lab.boards.startBoard({ gateway: GATEWAY_IPV4, lamp: { id: ID, lifetimeS: 20 } }, bundle);
    await lab.boards.mqttUntil(`lampnet/lamps/${ID}/availability`, (p) => p === 'online');
  }, 120_000);

  afterAll(async () => {
    await lab?.delete();
  });

  it('gets no answer to ping while the board\'s light is off, and answers once a command turns it on', async () => {
    await lab.boards.publish(`lampnet/lamps/${ID}/set`, 'OFF');
    await lab.boards.mqttUntil(`lampnet/lamps/${ID}/state`, (p) => (JSON.parse(p) as State).on === false);
    const dark = await lab.client('ping', ['-6', '-n', '-c', '2', '-W', '1', BOARD_IPV6]);
    expect(dark.stdout).toMatch(/2 packets transmitted, 0 received/);
    expect(await lab.metric('lampnet_gateway_siit_packets_total{result="ping-ignored"}')).toBeGreaterThanOrEqual(2);
    await lab.boards.publish(`lampnet/lamps/${ID}/set`, 'ON');
    await lab.boards.mqttUntil(`lampnet/lamps/${ID}/state`, (p) => (JSON.parse(p) as State).on === true);
    const lit = await lab.client('ping', ['-6', '-n', '-c', '3', '-W', '2', BOARD_IPV6]);
    expect(lit.stdout).toMatch(/3 packets transmitted, 3 received/);
  }, 60_000);
});

describe.skipIf(unavailable === null)('the board translator on the real interpreter', () => {
  it.skip(`is not available: ${unavailable}`, () => {});
});
