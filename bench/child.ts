/**
 * Probes: figures that need a process of their own (a clean heap to measure, `--expose-gc`,
 * `--cpu-prof`, or a place inside the namespace) run bench/probes/<name>.ts as a Node child.
 *
 * A probe speaks in JSON lines on stdout: `{"ready": …}` when it serves, `{"result": …}` when done,
 * `{"error": "…"}` when it failed; any other line is progress, echoed indented. It takes commands
 * as lines on stdin (see each probe). Every wait is bounded; `stop()` ends the child by its PID.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type Netns, stopChild } from './netns.js';

export interface ProbeOptions {
  /** Extra node flags (`--expose-gc`, `--cpu-prof`, `--max-old-space-size=…`). */
  nodeFlags?: string[];
  /** Run inside this namespace. */
  netns?: Netns;
  /** Echo progress lines (default true). */
  echo?: boolean;
}

type Message = Record<string, unknown>;

export class Probe {
  private readonly messages: Message[] = [];
  private waiter: (() => void) | null = null;
  private exited = false;
  private stderr = '';

  constructor(readonly name: string, private readonly child: ChildProcess, echo: boolean) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('{')) {
        try {
          this.messages.push(JSON.parse(line) as Message);
          this.waiter?.();
          return;
        } catch {
          // not a message: progress that happens to start with a brace
        }
      }
      if (echo) console.log(`    ${name}: ${line}`);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    child.once('exit', () => {
      this.exited = true;
      this.waiter?.();
    });
  }

  /** Wait for the next message that has `key`; fails on an `error` message, exit or timeout. */
  async next<T>(key: string, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = this.messages.findIndex((m) => key in m || 'error' in m);
      if (at >= 0) {
        const [message] = this.messages.splice(at, 1);
        if ('error' in message && !(key in message)) throw new Error(`probe ${this.name}: ${String(message.error)}`);
        return message[key] as T;
      }
      if (this.exited) throw new Error(`probe ${this.name} exited before '${key}'${this.stderr ? `: ${this.stderr.trim()}` : ''}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`probe ${this.name} gave no '${key}' within ${Math.round(timeoutMs / 1000)} s`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
  }

  /** Send one command line. */
  send(line: string): void {
    if (!this.exited) this.child.stdin!.write(`${line}\n`);
  }

  /** Ask the probe to quit (end of stdin), then make sure it is gone. */
  async stop(): Promise<void> {
    if (this.exited) return;
    this.child.stdin!.end();
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    const timer = setTimeout(() => void stopChild(this.child), 10_000);
    await gone;
    clearTimeout(timer);
  }
}

/** Path of the compiled probe `name` (dist/bench/probes/<name>.js). */
function probePath(name: string): string {
  return join(dirname(fileURLToPath(import.meta.url)), 'probes', `${name}.js`);
}

export function startProbe(name: string, args: string[], options: ProbeOptions = {}): Probe {
  const argv = [...(options.nodeFlags ?? []), probePath(name), ...args];
  const child = options.netns
    ? options.netns.spawn(process.execPath, argv)
    : spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
  return new Probe(name, child, options.echo ?? true);
}

/** Start a probe, wait for its result, stop it. */
export async function runProbe<T>(name: string, args: string[], timeoutMs: number, options: ProbeOptions = {}): Promise<T> {
  const probe = startProbe(name, args, options);
  try {
    return await probe.next<T>('result', timeoutMs);
  } finally {
    await probe.stop();
  }
}
