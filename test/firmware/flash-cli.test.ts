/**
 * `lampnet firmware build|flash`, run in-process through commander with the real EspruinoTools as
 * the child process, and no board: build writes what flash would send; flash refuses clearly when
 * there is nothing to send to; bad flags are refused before anything is sent.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerFirmwareCommand } from '../../cli/firmware.js';
import { bundleFirmware } from '../../tools/espruino/build.js';
import { isRegistration, option, Peer, until } from './coap-peer.js';
import { loadOnEmulatedEspruino, loopbackUdp, type EmulatedBoard } from '../../tools/espruino/emulated-espruino.js';

let work = '';
let bundleFile = '';
let bundle = '';

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'lampnet-firmware-cli-'));
  bundle = await bundleFirmware();
  bundleFile = join(work, 'lampnet.js');
  writeFileSync(bundleFile, bundle);
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

function firmwareProgram(output: (s: string) => void = () => {}): Command {
  const program = new Command('lampnet').exitOverride().configureOutput({ writeOut: output, writeErr: output });
  registerFirmwareCommand(program);
  return program;
}

/** Runs `lampnet <args>` with the firmware command. */
async function lampnet(...args: string[]): Promise<void> {
  await firmwareProgram().parseAsync(args, { from: 'user' });
}

/** What `lampnet firmware <command> --help` prints. */
async function helpOf(command: string): Promise<string> {
  let printed = '';
  // commander ends --help through exitOverride with code 'commander.helpDisplayed'.
  await expect(firmwareProgram((s) => (printed += s)).parseAsync(['firmware', command, '--help'], { from: 'user' })).rejects.toMatchObject({
    code: 'commander.helpDisplayed',
  });
  return printed;
}

/** The Storage.write prologue's config, as the board will store it. */
function storedConfig(code: string): Record<string, unknown> {
  const m = /^require\("Storage"\)\.write\("lampnet\.json",("(?:[^"\\]|\\.)*")\);\n/.exec(code);
  if (!m) throw new Error(`no Storage.write prologue at the start of: ${code.slice(0, 120)}`);
  return JSON.parse(JSON.parse(m[1]) as string) as Record<string, unknown>;
}

describe('lampnet firmware build --out', () => {
  it('writes the config prologue, the firmware bundle as boot code and load(), as the espruino tool would send them', async () => {
    const out = join(work, 'board-a.js');
    await lampnet('firmware', 'build', '--out', out, '--bundle', bundleFile, '--id', 'lamp-17', '--pin', 'D4', '--wifi', 'street', '--password', 's3cret',
      '--gateway', '192.168.4.1', '--lat', '52.52', '--lon', '13.405', '--tz', '60', '--groups', 'north,park', '--ntp', 'ntp.example');
    const code = readFileSync(out, 'latin1');
    expect(storedConfig(code)).toEqual({
      wifi: 'street',
      password: 's3cret',
      gateway: '192.168.4.1',
      pin: 'D4',
      ntp: 'ntp.example',
      lamp: { id: 'lamp-17', lat: 52.52, lon: 13.405, tzMin: 60, groups: 'north,park' },
    });
    expect(code).toContain(`E.setBootCode(${JSON.stringify(bundle)},true);`);
    expect(code.trimEnd().endsWith('\nload();')).toBe(true);
  });

  it('stores the --trust prefixes, a bare address as a /32', async () => {
    const out = join(work, 'board-t.js');
    await lampnet('firmware', 'build', '--out', out, '--bundle', bundleFile, '--gateway', '192.168.4.1', '--trust', '10.77.1.0/24', '192.168.4.7');
    expect(storedConfig(readFileSync(out, 'latin1')).trust).toEqual(['10.77.1.0/24', '192.168.4.7/32']);
  });

  it('stores only the flags given', async () => {
    const out = join(work, 'board-b.js');
    await lampnet('firmware', 'build', '--out', out, '--bundle', bundleFile);
    expect(storedConfig(readFileSync(out, 'latin1'))).toEqual({ ntp: 'pool.ntp.org', lamp: {} });
  });

  it('warns that a lamp without --gateway runs standalone and one without --wifi joins no network', async () => {
    const warned: string[] = [];
    const spy = vi.spyOn(console, 'warn').mockImplementation((line: string) => void warned.push(line));
    try {
      await lampnet('firmware', 'build', '--out', join(work, 'board-w.js'), '--bundle', bundleFile);
      expect(warned.join('\n')).toMatch(/no --gateway: the lamp will run standalone/);
      expect(warned.join('\n')).toMatch(/no --wifi: the lamp joins no Wifi network/);
      warned.length = 0;
      await lampnet('firmware', 'build', '--out', join(work, 'board-x.js'), '--bundle', bundleFile, '--gateway', '192.168.4.1', '--wifi', 'street');
      expect(warned).toEqual([]);
    } finally {
      spy.mockRestore();
    }
  });

  it('unwraps an IPv4-mapped gateway address to the IPv4 address the board can reach', async () => {
    const out = join(work, 'board-c.js');
    await lampnet('firmware', 'build', '--out', out, '--bundle', bundleFile, '--gateway', '::ffff:10.0.0.5');
    expect(storedConfig(readFileSync(out, 'latin1')).gateway).toBe('10.0.0.5');
  });

  describe('its output run on an emulated Espruino', () => {
    let board: EmulatedBoard | null = null;
    let gateway: Peer | null = null;
    afterEach(() => {
      board?.emit('kill');
      board?.close();
      gateway?.close();
    });

    it('stores the config and the firmware as boot code, restarts into it, and the lamp registers under the given id', async () => {
      const out = join(work, 'board-d.js');
      await lampnet('firmware', 'build', '--out', out, '--bundle', bundleFile, '--id', 'lamp-23', '--gateway', '127.0.0.1');
      const gw = (gateway = await new Peer().open());
      // As on a board flashed before with save(): its RAM image must not survive to start a second lamp.
      const b = (board = loadOnEmulatedEspruino(readFileSync(out, 'latin1'), { network: loopbackUdp(() => gw.port), storage: { '.varimg': 'an old image' } }));
      expect(JSON.parse(b.storage.get('lampnet.json') ?? 'null')).toMatchObject({ gateway: '127.0.0.1', lamp: { id: 'lamp-23' } });
      expect(b.storage.get('.bootrst')).toBe(bundle);
      expect(b.storage.has('.varimg')).toBe(false);
      expect(b.loads).toBe(1);
      // load() resets the board and runs the boot code: the only lamp is the one it starts.
      await until(() => b.boundPorts.length === 1, 'the lamp to start from its boot code');
      const { packet, from } = await gw.next((p) => isRegistration(p) && option(p, 'Uri-Query').includes('ep=lamp-23'), 'registration of lamp-23');
      expect(packet.confirmable).toBe(true);
      expect(from.port).toBe(b.boundPorts[0]);
    });
  });
});

describe('lampnet firmware flags', () => {
  it('refuses an IPv6 gateway address, explaining that Espruino is IPv4-only', async () => {
    await expect(lampnet('firmware', 'build', '--out', join(work, 'x.js'), '--bundle', bundleFile, '--gateway', 'fd6c:616d:706e:0:ffff::1')).rejects.toThrow(
      /IPv6 address, but Espruino's network stack is IPv4-only/,
    );
  });

  it('refuses a gateway that is not an address', async () => {
    await expect(lampnet('firmware', 'build', '--out', join(work, 'x.js'), '--bundle', bundleFile, '--gateway', 'gateway.local')).rejects.toThrow(
      /gateway "gateway.local" is not an IPv4 address/,
    );
  });

  it('refuses an IPv6 trust prefix, explaining that the board sees translated clients by their IPv4 address', async () => {
    await expect(lampnet('firmware', 'build', '--out', join(work, 'x.js'), '--bundle', bundleFile, '--trust', '2001:db8:b0a:d::/96')).rejects.toThrow(
      /IPv6 prefix, but the board sees every source as an IPv4 address/,
    );
  });

  it.each(['10.1/8', '10.0.0.0/33', '10.0.0.0/', 'lamps'])('refuses the trust prefix %s', async (prefix) => {
    await expect(lampnet('firmware', 'build', '--out', join(work, 'x.js'), '--bundle', bundleFile, '--trust', prefix)).rejects.toThrow(
      `trust ${JSON.stringify(prefix)} is not an IPv4 prefix (a.b.c.d/n, n from 0 to 32)`,
    );
  });

  it('refuses a latitude outside -90..90', async () => {
    await expect(lampnet('firmware', 'build', '--out', join(work, 'x.js'), '--bundle', bundleFile, '--lat', '91', '--lon', '0')).rejects.toThrow(
      /--lat must be a number from -90 to 90, got "91"/,
    );
  });

  it('refuses a longitude that is not a number', async () => {
    await expect(lampnet('firmware', 'build', '--out', join(work, 'x.js'), '--bundle', bundleFile, '--lat', '50', '--lon', 'east')).rejects.toThrow(
      /--lon must be a number from -180 to 180, got "east"/,
    );
  });

  it('refuses a latitude without a longitude', async () => {
    await expect(lampnet('firmware', 'build', '--out', join(work, 'x.js'), '--bundle', bundleFile, '--lat', '50')).rejects.toThrow(/both --lat and --lon/);
  });

  it('names the missing bundle and how to build it', async () => {
    await expect(lampnet('firmware', 'build', '--out', join(work, 'x.js'), '--bundle', join(work, 'none.js'))).rejects.toThrow(/run `npm run build` first/);
  });
});

/** A stand-in for a board's Espruino console, reached the way the espruino tool reaches network
 * boards (`--port tcp://host:port`): it records what is typed and answers each chunk with a prompt. */
async function fakeEspruinoConsole(): Promise<{ port: number; typed: () => string; close: () => void }> {
  let typed = '';
  const server = createServer((socket) => {
    socket.on('data', (chunk) => {
      typed += chunk.toString('latin1');
      socket.write('\r\n>');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, typed: () => typed, close: () => server.close() };
}

describe('lampnet firmware flash', () => {
  it('types exactly what build writes into the board console, after a reset()', async () => {
    const flags = ['--bundle', bundleFile, '--id', 'lamp-5', '--gateway', '10.1.2.3', '--wifi', 'street'];
    const out = join(work, 'board-e.js');
    await lampnet('firmware', 'build', '--out', out, ...flags);
    const repl = await fakeEspruinoConsole();
    try {
      await lampnet('firmware', 'flash', '--port', `tcp://127.0.0.1:${repl.port}`, ...flags);
    } finally {
      repl.close();
    }
    // The tool prefixes each line with DLE (0x10: do not echo) and starts with reset() and print().
    const lines = repl.typed().split('\n').map((l) => l.replace(/^\x10/, ''));
    expect(lines.slice(0, 3)).toEqual(['', 'reset();', 'print()']);
    expect(lines.slice(3).join('\n').trim()).toBe(readFileSync(out, 'latin1').trim());
  });


  it('without --port says which port is needed', async () => {
    await expect(lampnet('firmware', 'flash', '--bundle', bundleFile)).rejects.toThrow(/--port <device> is required.*\/dev\/ttyUSB0/);
  });

  it('to a serial port that does not exist says so', async () => {
    await expect(lampnet('firmware', 'flash', '--bundle', bundleFile, '--port', '/dev/ttyLAMPNET-NONE')).rejects.toThrow(
      /serial port \/dev\/ttyLAMPNET-NONE does not exist/,
    );
  });

  it('to a device that is not a serial port reports that the tool cannot open it', async () => {
    await expect(lampnet('firmware', 'flash', '--bundle', bundleFile, '--port', '/dev/null')).rejects.toThrow(/cannot open serial port \/dev\/null/);
  });
});

describe('lampnet firmware --help', () => {
  it.each([
    ['build', ['--out', '--wifi', '--password', '--gateway', '--trust', '--lat', '--lon', '--pin', '--id']],
    ['flash', ['--port', '--baud', '--wifi', '--password', '--gateway', '--trust', '--lat', '--lon', '--pin', '--id']],
  ])('of %s lists its flags', async (command, flags) => {
    const help = await helpOf(command);
    for (const flag of flags) expect(help).toContain(flag);
  });
});
