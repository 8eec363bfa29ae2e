/**
 * The firmware bundle on the real Espruino interpreter (../shared/espruino/espruino, 2v29 for Linux)
 * as a board on an IPv4 network, with `lampnet gateway` on the other side: what the board tests
 * (test/firmware/espruino-board.test.ts) and the JsVar figure of the bench run.
 *
 * Two network namespaces made here, joined by a veth pair: the gateway side (10.77.0.1, plus a
 * stranger's address 10.77.0.3) with the gateway, its embedded broker on loopback and the MQTT and
 * CoAP tools; the board side (10.77.0.2) with the interpreter. Nothing reaches the machine's own
 * network. The interpreter traps SIGTERM, so it is only ever ended with SIGKILL, by its PID.
 */
import { type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { BoardConfig } from '../firmware/espruino/board-config.js';
import { PROJECT_ROOT } from '../tools/espruino/paths.js';
import { configPrologue, storedProgram } from '../tools/espruino/upload.js';
import { benchNamespace, type Netns } from './netns.js';

export const ESPRUINO = join(PROJECT_ROOT, '..', 'shared', 'espruino', 'espruino');
export const GATEWAY_IPV4 = '10.77.0.1';
export const BOARD_IPV4 = '10.77.0.2';
export const STRANGER_IPV4 = '10.77.0.3';
export const MQTT_PORT = 18_850;

/** Why boards cannot run here, or null when they can. */
export function boardsUnavailable(): string | null {
  if (!existsSync(ESPRUINO)) return `the Espruino interpreter is not at ${ESPRUINO} (a clone without ../shared); boards are tested in CI`;
  if (process.getuid?.() !== 0) return 'boards run in network namespaces, which need root';
  return null;
}

/** A process's output, line by line, with waits on lines to come. */
class Output {
  readonly lines: string[] = [];
  private readonly waiters = new Set<(line: string) => void>();

  constructor(readonly child: ChildProcess, private readonly name: string) {
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        this.lines.push(line);
        for (const w of [...this.waiters]) w(line);
      });
    }
  }

  /** The first line from now on (or, with `past`, already printed) that matches `pattern`. */
  line(pattern: RegExp, timeoutMs: number, past = true): Promise<RegExpMatchArray> {
    const seen = past ? this.lines.map((l) => l.match(pattern)).find((m) => m !== null) : undefined;
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.waiters.delete(onLine);
        this.child.off('exit', onExit);
      };
      const onLine = (line: string): void => {
        const m = line.match(pattern);
        if (m) {
          finish();
          resolve(m);
        }
      };
      const onExit = (): void => {
        finish();
        reject(new Error(`${this.name} exited before printing ${pattern}; last lines:\n${this.lines.slice(-20).join('\n')}`));
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`${this.name}: no line matching ${pattern} within ${timeoutMs} ms; last lines:\n${this.lines.slice(-20).join('\n')}`));
      }, timeoutMs);
      this.waiters.add(onLine);
      this.child.once('exit', onExit);
    });
  }
}

/** One interpreter running the bundle, in the board's namespace and its own working directory
 * (where Storage files and the saved flash live). */
export class EspruinoBoard {
  private constructor(readonly output: Output) {}

  /** Starts the interpreter with `args` in `dir`, writing `program` to board.js there first if given. */
  static start(ns: Netns, dir: string, args: string[], program?: string): EspruinoBoard {
    if (program !== undefined) writeFileSync(join(dir, 'board.js'), program);
    return new EspruinoBoard(new Output(ns.spawn(ESPRUINO, args, dir), 'espruino'));
  }

  get lines(): string[] {
    return this.output.lines;
  }

  /** The first line printed (or to come) that matches `pattern`. */
  line(pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    return this.output.line(pattern, timeoutMs);
  }

  /** JsVars in use, as the firmware's own boot log prints them. */
  async bootJsVars(timeoutMs = 20_000): Promise<number> {
    return Number((await this.output.line(/lampnet: memory (\d+)\/\d+ JsVars/, timeoutMs))[1]);
  }

  /** JsVars in use now, asked at the board's console (process.memory() collects garbage first). */
  async jsVars(timeoutMs = 10_000): Promise<number> {
    const tag = `JSVARS${Date.now() % 100000}`;
    const answer = this.output.line(new RegExp(`${tag} (\\d+)`), timeoutMs, false);
    this.output.child.stdin!.write(`print("${tag} "+process.memory().usage)\n`);
    return Number((await answer)[1]);
  }

  /** Power loss: SIGKILL (the interpreter traps SIGTERM). */
  async kill(): Promise<void> {
    const child = this.output.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

/** The gateway side, the board side and the link between them. */
export class BoardLab {
  private gatewayOutput: Output | null = null;
  private readonly boards: EspruinoBoard[] = [];

  private constructor(readonly gatewayNs: Netns, readonly boardNs: Netns, readonly dir: string) {}

  static async create(label: string): Promise<BoardLab> {
    const gatewayNs = await benchNamespace(`${label}-gw`);
    let boardNs: Netns | null = null;
    try {
      boardNs = await benchNamespace(`${label}-board`);
      // Made inside the gateway's namespace and its peer moved to the board's: the names never
      // exist in the machine's own namespace.
      await gatewayNs.ip('link', 'add', 'gw0', 'type', 'veth', 'peer', 'name', 'board0', 'netns', boardNs.name);
      await gatewayNs.ip('addr', 'add', `${GATEWAY_IPV4}/24`, 'dev', 'gw0');
      await gatewayNs.ip('addr', 'add', `${STRANGER_IPV4}/24`, 'dev', 'gw0');
      await gatewayNs.ip('link', 'set', 'gw0', 'up');
      await boardNs.ip('addr', 'add', `${BOARD_IPV4}/24`, 'dev', 'board0');
      await boardNs.ip('link', 'set', 'board0', 'up');
    } catch (err) {
      await boardNs?.delete();
      await gatewayNs.delete();
      throw err;
    }
    return new BoardLab(gatewayNs, boardNs, mkdtempSync(join(tmpdir(), 'lampnet-board-')));
  }

  /** Starts `lampnet gateway` (the built dist/cli/lampnet.js) with its embedded broker on MQTT_PORT. */
  async startGateway(...args: string[]): Promise<void> {
    const child = this.gatewayNs.spawn(process.execPath, [join(PROJECT_ROOT, 'dist', 'cli', 'lampnet.js'), 'gateway', '--mqtt-port', String(MQTT_PORT), '--ws-port', 'off', '--metrics-port', 'off', ...args]);
    this.gatewayOutput = new Output(child, 'lampnet gateway');
    await this.gatewayOutput.line(/^watch /, 30_000);
  }

  /** SIGKILL the gateway: no goodbye, the embedded broker and its retained messages gone. */
  async killGateway(): Promise<void> {
    const child = this.gatewayOutput?.child;
    this.gatewayOutput = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** Starts a board running `bundle` with `config` stored, as code uploaded without flashing runs
   * (config prologue, then the bundle). */
  startBoard(config: BoardConfig, bundle: string): EspruinoBoard {
    return this.startBoardProgram(configPrologue(config) + bundle);
  }

  /** Runs any program on the board, from board.js in its directory. */
  startBoardProgram(program: string): EspruinoBoard {
    const board = EspruinoBoard.start(this.boardNs, this.dir, ['board.js'], program);
    this.boards.push(board);
    return board;
  }

  /** Stores `config` and `bundle` as the board's boot code, as `lampnet firmware flash` does, and
   * leaves the board off: `powerUp()` then starts it from flash. */
  async flash(config: BoardConfig, bundle: string): Promise<void> {
    const board = this.startBoardProgram(storedProgram(config, bundle) + 'print("lampnet: stored");\n');
    await board.line(/^lampnet: stored/);
    await board.kill();
  }

  /** Powers the board up from what is stored in its directory's flash (boot code, config), as a
   * board at the pole does; `--telnet` opens its console on TCP 2323 too. */
  powerUp(...args: string[]): EspruinoBoard {
    const board = EspruinoBoard.start(this.boardNs, this.dir, args);
    this.boards.push(board);
    return board;
  }

  /** Waits until the board's console listens on TCP 2323 (`--telnet`); the interpreter prints no
   * banner when it powers up from a saved image, so the socket is the only sign. */
  async telnetListening(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.boardNs.run('ss', ['-Hltn', 'sport = :2323'], 10_000)).stdout.trim() === '') {
      if (Date.now() > deadline) throw new Error(`the board's console did not listen on TCP 2323 within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** The first payload on `topic` (retained or new) that `check` accepts, seen by mosquitto_sub. */
  async mqttUntil(topic: string, check: (payload: string) => boolean, timeoutS = 60): Promise<string> {
    const sub = this.gatewayNs.spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(MQTT_PORT), '-t', topic, '-W', String(timeoutS)]);
    let last = '(nothing)';
    try {
      return await new Promise<string>((resolve, reject) => {
        createInterface({ input: sub.stdout! }).on('line', (line) => {
          last = line;
          if (check(line)) resolve(line);
        });
        sub.once('exit', () => reject(new Error(`${topic} never satisfied the condition within ${timeoutS} s; last: ${last}`)));
      });
    } finally {
      sub.kill('SIGKILL');
    }
  }

  /** mosquitto_pub of one message (or, with an array, one message per line over one connection). */
  async publish(topic: string, payload: string | string[]): Promise<void> {
    const args = ['-h', '127.0.0.1', '-p', String(MQTT_PORT), '-t', topic];
    if (Array.isArray(payload)) {
      const pub = this.gatewayNs.spawn('mosquitto_pub', [...args, '-l']);
      const done = new Promise<number | null>((resolve) => pub.once('exit', resolve));
      pub.stdin!.end(payload.join('\n') + '\n');
      const code = await done;
      if (code !== 0) throw new Error(`mosquitto_pub -l -t ${topic} exited ${code}`);
    } else await this.gatewayNs.mustRun('mosquitto_pub', [...args, '-m', payload]);
  }

  /** coap-client-notls from the gateway's side; `from` picks the source address. */
  coap(args: string[], from = GATEWAY_IPV4): Promise<{ code: number; stdout: string; stderr: string }> {
    return this.gatewayNs.run('coap-client-notls', ['-a', from, '-B', '10', ...args], 30_000);
  }

  /** Runs a program in the gateway's namespace to completion. */
  run(command: string, args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
    return this.gatewayNs.run(command, args, timeoutMs);
  }

  async delete(): Promise<void> {
    for (const board of this.boards) await board.kill();
    await this.killGateway();
    await this.boardNs.delete();
    await this.gatewayNs.delete();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
