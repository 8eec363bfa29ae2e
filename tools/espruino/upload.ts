/**
 * Sends the firmware to a board, or writes what would be sent, through the `espruino` package's
 * command-line tool (EspruinoTools), run as a child process: its library API loads itself into
 * Node's globals, and a child keeps that, and its serial port, out of the lampnet process.
 * Node-side only.
 *
 * What is sent, in order: the board config written to Storage (so the firmware finds it when it
 * starts), the firmware bundle stored as the board's boot code (E.setBootCode, run at every
 * power-up and after reset()), and `load()`, which restarts the board into it.
 *
 * Boot code, not save(): save() stores a RAM image that holds pointers into the interpreter's own
 * code (every built-in function and object the program touched). They are valid only for the exact
 * interpreter binary at the exact address it ran at: after an Espruino upgrade on a board, or on
 * every start of the Linux build (a position-independent executable under ASLR), the image loads
 * broken (`Uncaught [object Object]`, a console that cannot call process.memory()). Source code in
 * Storage has no such pointers, and every power-up starts the lamp afresh from its stored config.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONFIG_FILE, type BoardConfig } from '../../firmware/espruino/board-config.js';
import { ESPRUINO_MODULES } from './espruino-compat.js';

/** What a board is sent: the config and the bundle stored, and a restart into it. */
export function boardProgram(board: BoardConfig, bundle: string): string {
  return storedProgram(board, bundle) + 'load();\n';
}

/** The config prologue and the bundle stored as boot code, without restarting into it. A RAM image
 * that an earlier save() left (Storage file `.varimg`) is erased: a board powers up from that image
 * and then runs the boot code as well, so it would start a second, stale lamp. */
export function storedProgram(board: BoardConfig, bundle: string): string {
  return `${configPrologue(board)}require("Storage").erase(".varimg");\nE.setBootCode(${JSON.stringify(bundle)},true);\n`;
}

/** The line that stores the board's config (`lampnet.json`) in its Storage. */
export function configPrologue(board: BoardConfig): string {
  return `require("Storage").write(${JSON.stringify(CONFIG_FILE)},${JSON.stringify(JSON.stringify(board))});\n`;
}

export interface UploadTarget {
  /** Serial device (/dev/ttyUSB0) or anything the tool's --port takes (tcp://host:port). */
  port: string;
  baud: number;
}

/** Runs EspruinoTools: to `target` when given, else only writing the code it would send to `outFile`. */
export async function runEspruinoTool(program: string, target: UploadTarget | null, outFile: string | null): Promise<string> {
  const work = mkdtempSync(join(tmpdir(), 'lampnet-firmware-'));
  try {
    const programFile = join(work, 'lampnet-board.js');
    writeFileSync(programFile, program);
    // Naming the board's built-in modules keeps the tool from looking them up online (it would try
    // espruino.com for every require() it does not know) and from querying the board for them.
    const boardFile = join(work, 'board.json');
    writeFileSync(boardFile, JSON.stringify({ info: { name: 'ESP32', builtin_modules: ESPRUINO_MODULES } }));
    const args = [toolPath(), '--no-ble', '--board', boardFile];
    if (target) args.push('--port', target.port, '-b', String(target.baud));
    else args.push('-n');
    if (outFile) args.push('-o', outFile);
    args.push(programFile);
    const output = await run(process.execPath, args);
    // The tool reports a port it cannot open on stdout and still exits 0.
    if (target && /Unable to connect/.test(output)) {
      throw new Error(`cannot open serial port ${target.port}: ${lastLines(output)}`);
    }
    if (outFile && !existsSync(outFile)) throw new Error(`espruino tool wrote no ${outFile}: ${lastLines(output)}`);
    return output;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function toolPath(): string {
  return createRequire(import.meta.url).resolve('espruino/bin/espruino-cli.js');
}

function lastLines(output: string): string {
  return output.trim().split('\n').slice(-3).join(' | ');
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`espruino tool exited with ${code}: ${lastLines(output)}`));
    });
  });
}

/** The firmware bundle built by `npm run build`. */
export function readBundle(path: string): string {
  if (!existsSync(path)) {
    throw new Error(`no firmware bundle at ${path}: run \`npm run build\` first (it writes none when the bundle breaks Espruino's rules or its size budget)`);
  }
  return readFileSync(path, 'utf8');
}
