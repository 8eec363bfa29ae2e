/**
 * A network namespace a test creates for itself and deletes afterwards, so TUN devices, routes and
 * test traffic never touch the machine's own network (the network-safety rule: lamp prefixes are
 * 2001:db8::/32 or ULA, and live only inside namespaces a test made).
 *
 *   const ns = await Netns.create('ping');        // ip netns add lampnet-ping-<pid>-<n>, lo up
 *   const r = await ns.run('ping', ['-6', '-c', '1', '::1']);   // {code, stdout, stderr}
 *   const child = ns.spawn('node', ['responder.mjs']);          // killed by delete()
 *   await ns.delete();
 *
 * `ip netns exec` execs the command in place, so a spawned child's PID is the command's own and
 * `delete()` can end exactly the processes this helper started.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

let created = 0;

export class Netns {
  private readonly children: ChildProcess[] = [];

  private constructor(readonly name: string) {}

  /** Create `lampnet-<label>-<pid>-<n>` with its loopback up. */
  static async create(label: string): Promise<Netns> {
    const name = `lampnet-${label}-${process.pid}-${++created}`;
    await mustRun('ip', ['netns', 'add', name]);
    const ns = new Netns(name);
    await mustRun('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** Run a command inside the namespace to completion (bounded by `timeoutMs`, default 60 s). */
  run(command: string, args: string[], timeoutMs = 60_000): Promise<RunResult> {
    return run('ip', ['netns', 'exec', this.name, command, ...args], timeoutMs);
  }

  /** Start a long-running command inside the namespace; `delete()` kills it if it is still running. */
  spawn(command: string, args: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, command, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.children.push(child);
    return child;
  }

  /** Kill the children this helper started (by PID) and delete the namespace. */
  async delete(): Promise<void> {
    await Promise.all(this.children.map(stop));
    await mustRun('ip', ['netns', 'del', this.name]);
  }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function run(command: string, args: string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

async function mustRun(command: string, args: string[]): Promise<void> {
  const result = await run(command, args, 30_000);
  if (result.code !== 0) throw new Error(`\`${command} ${args.join(' ')}\` failed (${result.code}): ${result.stderr.trim()}`);
}
