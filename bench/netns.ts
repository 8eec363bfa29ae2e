/**
 * Network namespaces the tests and the benchmarks create for themselves and delete afterwards (also
 * on failure), so TUN devices, routes and load never touch the machine's own network: lamp prefixes
 * are 2001:db8::/32 or ULA and live only inside them.
 *
 *   const ns = await Netns.create('ping');                      // lampnet-ping-<pid>-<n>, lo up
 *   const r = await ns.run('ping', ['-6', '-c', '1', '::1']);   // {code, stdout, stderr}
 *   const child = ns.spawn('node', ['responder.mjs']);          // ended by delete()
 *   await ns.delete();
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The lamps' /64 and the load's own address, both inside the namespace only. */
export const BENCH_PREFIX = '2001:db8::';
export const LOAD_SOURCE = '2001:db8:1::1';

/** Lamp n's address in the bench's /64 (interface identifier n). */
export function lampAddress(n: number): string {
  return `${BENCH_PREFIX}${Math.floor(n / 0x10000).toString(16)}:${(n % 0x10000).toString(16)}`;
}

let created = 0;

/**
 * A network namespace of its own, with loopback up, deleted by `delete()` together with every
 * process started in it (by PID: `ip netns exec` execs the command in place).
 */
export class Netns {
  private readonly children = new Set<ChildProcess>();

  private constructor(readonly name: string) {}

  /** Create `lampnet-<label>-<pid>-<n>` with its loopback up. */
  static async create(label: string): Promise<Netns> {
    const ns = new Netns(`lampnet-${label}-${process.pid}-${++created}`);
    await mustRun('ip', ['netns', 'add', ns.name]);
    try {
      await ns.ip('link', 'set', 'lo', 'up');
    } catch (err) {
      await ns.delete();
      throw err;
    }
    return ns;
  }

  /** `ip -n <ns> args…`, failing with the command named. */
  ip(...args: string[]): Promise<void> {
    return mustRun('ip', ['-n', this.name, ...args]);
  }

  /** Run a command inside the namespace to completion, bounded by `timeoutMs`. */
  run(command: string, args: string[], timeoutMs = 60_000): Promise<RunResult> {
    return run('ip', ['netns', 'exec', this.name, command, ...args], timeoutMs);
  }

  async mustRun(command: string, args: string[], timeoutMs = 30_000): Promise<string> {
    const r = await this.run(command, args, timeoutMs);
    if (r.code !== 0) throw new Error(`\`${command} ${args.join(' ')}\` in ${this.name} failed (${r.code}): ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** Start a long-running command inside the namespace (stdin/stdout piped), in `cwd` if given. */
  spawn(command: string, args: string[], cwd?: string): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, command, ...args], { stdio: ['pipe', 'pipe', 'pipe'], cwd });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Kill the children started here (by PID) and delete the namespace. */
  async delete(): Promise<void> {
    await Promise.all([...this.children].map(stopChild));
    await mustRun('ip', ['netns', 'del', this.name]);
  }
}

/** End one child: SIGTERM, then SIGKILL after 5 s. */
export function stopChild(child: ChildProcess): Promise<void> {
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

/** A namespace for a network figure: the load's source address `LOAD_SOURCE` on lo (outside the
 * lamps' /64, so one namespace can route the /64 to a TUN device or to lo), and ping sockets
 * allowed for root. */
export async function benchNamespace(label: string): Promise<Netns> {
  const ns = await Netns.create(`bench-${label}`);
  try {
    await ns.ip('-6', 'addr', 'add', `${LOAD_SOURCE}/128`, 'dev', 'lo', 'nodad');
    await ns.mustRun('sysctl', ['-qw', 'net.ipv4.ping_group_range=0 2147483647']);
  } catch (err) {
    await ns.delete();
    throw err;
  }
  return ns;
}

export function run(command: string, args: string[], timeoutMs: number): Promise<RunResult> {
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
