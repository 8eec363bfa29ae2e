/**
 * The firmware bundle on the real Espruino interpreter (2v29 for Linux) as an LwM2M client of an
 * independent LwM2M server: lwm2m-node-lib's, in its own process (bench/probes/lwm2m-server.ts) in
 * the gateway's network namespace of a BoardLab, the board in its own. The board registers, is read,
 * written, observed and rebooted, and its JsVars stay within the boards issue's budget.
 *
 * Skipped, with the reason, where the interpreter or the namespaces are unavailable, or where
 * lwm2m-node-lib is neither installed nor named by LWM2M_NODE_LIB.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { BOARD_IPV4, BoardLab, boardsUnavailable, GATEWAY_IPV4, type EspruinoBoard } from '../../bench/espruino-board.js';
import { JSVAR_TARGET } from '../../bench/figures/firmware.js';
import { PROJECT_ROOT } from '../../tools/espruino/paths.js';
import { bundleFirmware } from '../../tools/espruino/build.js';

/** The directory of lwm2m-node-lib, or null. */
function lwm2mNodeLib(): string | null {
  const require = createRequire(import.meta.url);
  for (const id of [process.env.LWM2M_NODE_LIB, 'lwm2m-node-lib/package.json']) {
    try {
      if (id) return id.endsWith('package.json') ? dirname(require.resolve(id)) : (require.resolve(id), id);
    } catch {
      // Not there.
    }
  }
  return null;
}

const lib = lwm2mNodeLib();
const unavailable = boardsUnavailable() ?? (lib ? null : 'lwm2m-node-lib is not installed (npm) and LWM2M_NODE_LIB names no copy of it');
const ID = 'esp-l1';
/** LwM2M and OSCORE may take the steady state to 3,000 JsVars at most, as flashed in the field. */
const JSVARS_WITH_OSCORE = JSVAR_TARGET;
/** Uploaded to RAM rather than flashed, the code's text is held in JsVars as well: OSCORE's code
 * (about 6.7 KB minified) adds some 550 to the 2,815 LwM2M took there. */
const JSVARS_UPLOADED = 3500;

interface Line {
  event?: string;
  id?: number;
  ok?: boolean;
  value?: unknown;
  error?: string;
  [k: string]: unknown;
}

/** The LwM2M server process: its JSON lines, and requests to it. */
class ServerProcess {
  readonly lines: Line[] = [];
  private waiters: (() => void)[] = [];
  private nextId = 1;
  private partial = '';

  constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (d: Buffer) => {
      const text = this.partial + d.toString();
      const parts = text.split('\n');
      this.partial = parts.pop()!;
      for (const p of parts) if (p.trim()) this.lines.push(JSON.parse(p) as Line);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  async next(what: string, match: (l: Line) => boolean, from = 0, timeoutMs = 30_000): Promise<Line> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.slice(from).find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${what} from the LwM2M server within ${timeoutMs} ms; it printed ${JSON.stringify(this.lines.slice(-5))}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  async request(op: string, path: string, extra: object = {}): Promise<unknown> {
    const id = this.nextId++;
    this.child.stdin!.write(JSON.stringify({ id, op, ep: ID, path, ...extra }) + '\n');
    const answer = await this.next(`answer to ${op} ${path}`, (l) => l.id === id && l.ok !== undefined);
    if (!answer.ok) throw new Error(`${op} ${path}: ${answer.error}`);
    return answer.value;
  }
}

describe.skipIf(unavailable !== null)('the bundle on the real Espruino interpreter, managed by lwm2m-node-lib', () => {
  let lab: BoardLab;
  let board: EspruinoBoard;
  let server: ServerProcess;
  let bootJsVars = 0;

  beforeAll(async () => {
    const bundle = await bundleFirmware();
    lab = await BoardLab.create('lwm2m');
    process.env.LWM2M_NODE_LIB = lib!;
    server = new ServerProcess(lab.gatewayNs.spawn(process.execPath, [join(PROJECT_ROOT, 'dist', 'bench', 'probes', 'lwm2m-server.js'), GATEWAY_IPV4]));
    await server.next('ready', (l) => l.event === 'ready');
    board = lab.startBoard({ gateway: GATEWAY_IPV4, lamp: { id: ID, lifetimeS: 60 } }, bundle);
    bootJsVars = await board.bootJsVars();
  }, 120_000);

  afterAll(async () => {
    if (process.env.DEBUG_BOARD) console.log(board?.lines.join('\n'));
    await lab?.delete();
  });

  it('registers: its endpoint name, lifetime, LwM2M 1.1, binding U and its objects', async () => {
    const reg = await server.next('the registration', (l) => l.event === 'registered');
    expect(reg).toMatchObject({ ep: ID, lifetime: '60', version: '1.1', binding: 'U' });
    expect(reg.payload).toBe('</>;rt="oma.lwm2m";ct="110 11542",</1/0>,</3/0>,</3305/0>,</3311/0>,</32311/0>');
  });

  it('is read: 3311 and the Device object, memory free from process.memory()', async () => {
    expect(await server.request('read', '3311/0/5851')).toBe('100');
    expect(await server.request('read', '3/0/0')).toBe('lampnet');
    expect(await server.request('read', '3/0/2')).toBe(ID);
    // Free JsVars × their size, in kB: a few dozen on the interpreter for Linux.
    const free = Number(await server.request('read', '3/0/10'));
    expect(free).toBeGreaterThan(5);
    expect(free).toBeLessThan(400);
  });

  it('obeys a write and is observed: the change is notified', async () => {
    await server.request('write', '3311/0/5851', { value: '30' });
    expect(await server.request('read', '3311/0/5851')).toBe('30');
    expect((await lab.coap(['-m', 'get', `coap://${BOARD_IPV4}/3311/0/5851`])).stdout.trim()).toBe('30');
    const from = server.lines.length;
    expect(await server.request('observe', '3311/0/5850')).toBe('1');
    await server.request('write', '3311/0/5850', { value: '0' });
    const note = await server.next('the notification of 5850', (l) => l.event === 'notified', from);
    expect(String(note.value)).toBe('0');
  });

  it('keeps its JsVars within the budget, registered, observed and after 300 commands', async () => {
    const registered = await board.jsVars();
    const burst = await lab.run(process.execPath, [`${PROJECT_ROOT}/dist/bench/probes/board-commands.js`, GATEWAY_IPV4, BOARD_IPV4, '300'], 120_000);
    expect(JSON.parse(burst.stdout)).toEqual({ sent: 300, changed: 300, refused: 0, timeouts: 0 });
    const after = await board.jsVars();
    const pool = (await board.line(/lampnet: memory \d+\/(\d+) JsVars/))[1];
    console.log(`board JsVars in use (LwM2M bundle uploaded to RAM): ${bootJsVars} after boot, ${registered} registered and observed, ${after} after 300 commands (pool ${pool})`);
    expect(after - registered).toBeLessThan(100);
    expect(after).toBeLessThanOrEqual(JSVARS_UPLOADED);
  }, 180_000);

  it('executes reboot /3/0/4 and registers again', async () => {
    const from = server.lines.length;
    await server.request('execute', '3/0/4');
    await server.next('the registration after the reboot', (l) => l.event === 'registered' && l.ep === ID, from);
    expect(await server.request('read', '3311/0/5850')).toBe('1');
  }, 60_000);
});

describe.skipIf(unavailable !== null)('the LwM2M bundle flashed and powered up from flash on the real interpreter', () => {
  let lab: BoardLab;

  afterAll(async () => {
    await lab?.delete();
  });

  it('registers with lwm2m-node-lib and keeps its JsVars within the budget, observed, as in the field', async () => {
    lab = await BoardLab.create('lwm2mf');
    process.env.LWM2M_NODE_LIB = lib!;
    const server = new ServerProcess(lab.gatewayNs.spawn(process.execPath, [join(PROJECT_ROOT, 'dist', 'bench', 'probes', 'lwm2m-server.js'), GATEWAY_IPV4]));
    await server.next('ready', (l) => l.event === 'ready');
    await lab.flash({ gateway: GATEWAY_IPV4, lamp: { id: ID } }, await bundleFirmware());
    const board = lab.powerUp();
    const boot = await board.bootJsVars();
    await server.next('the registration', (l) => l.event === 'registered' && l.ep === ID);
    await server.request('writeAttributes', '3311/0/5851', { attributes: { pmax: 60 } });
    expect(await server.request('observe', '3311/0/5851')).toBe('100');
    const observed = await board.jsVars();
    console.log(`board JsVars in use (LwM2M bundle flashed): ${boot} after boot, ${observed} registered and observed`);
    // Flashed, as in the field. With OSCORE's code in the bundle it is over the boards issue's 2,000
    // (about 1,800 before OSCORE), within the 3,000 issue 19 allows both.
    expect(observed).toBeLessThanOrEqual(JSVARS_WITH_OSCORE);
  }, 120_000);
});
