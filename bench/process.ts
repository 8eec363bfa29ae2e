/**
 * A command the end-to-end tests and the bench run as a real child process in its own process group
 * (so a signal reaches `npm` and the `node` it starts alike, as Ctrl-C in a terminal does), with its
 * output kept line by line to wait on. Only this group is ever signalled.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningProcess {
  readonly child: ChildProcess;
  /** stdout and stderr lines so far, in arrival order. */
  readonly lines: string[];
  /** Resolves with the first line (past or future) matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** Resolves when the process has exited and its output streams have closed. */
  readonly exited: Promise<Exit>;
  /** Send `signal` to the process group. */
  signal(signal: NodeJS.Signals): void;
  /** SIGKILL whatever is left of the group (for afterAll/finally). */
  kill(): Promise<void>;
}

export function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): RunningProcess {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const listeners = new Set<(line: string) => void>();
  let exit: Exit | null = null;
  const readers = [child.stdout, child.stderr].map((stream) => createInterface({ input: stream! }).on('line', (line) => {
    lines.push(line);
    for (const listener of [...listeners]) listener(line);
  }));
  // 'exit' can come before the last lines are read from the pipes: `exited` waits for both, so a
  // test that checks the last line after the exit sees it.
  const outputEnded = Promise.all(readers.map((r) => new Promise((resolve) => r.once('close', resolve))));
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      const e: Exit = { code, signal };
      exit = e;
      void outputEnded.then(() => resolve(e));
    });
  });
  const transcript = (): string => lines.slice(-40).join('\n');

  return {
    child,
    lines,
    exited,
    waitForLine(pattern, timeoutMs) {
      const seen = lines.map((l) => l.match(pattern)).find((m) => m !== null);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const done = (): void => {
          clearTimeout(timer);
          listeners.delete(onLine);
        };
        const onLine = (line: string): void => {
          const m = line.match(pattern);
          if (m === null) return;
          done();
          resolve(m);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${command} ${args.join(' ')}: no line matching ${pattern} within ${timeoutMs} ms; output:\n${transcript()}`));
        }, timeoutMs);
        listeners.add(onLine);
        void exited.then((e) => {
          if (!listeners.has(onLine)) return;
          done();
          reject(new Error(`${command} ${args.join(' ')} exited (code ${e.code}, signal ${e.signal}) before printing a line matching ${pattern}; output:\n${transcript()}`));
        });
      });
    },
    signal(signal) {
      if (exit === null && child.pid !== undefined) process.kill(-child.pid, signal);
    },
    async kill() {
      if (child.pid === undefined) return;
      // Also after the leader exited: a grandchild it left behind is still in the group.
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // The group is already gone.
      }
      await exited;
    },
  };
}
