/**
 * A real Mosquitto (the Debian package) on a free loopback port, with its config in a temp
 * directory, stopped by its PID.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Mosquitto {
  readonly url: string;
  readonly port: number;
  /** Stop (SIGTERM, by PID) and start again on the same port, as a broker restart. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

/** Start Mosquitto; with `user`, only that user (password file made by mosquitto_passwd) may
 * connect, unless `aclFile` is given: then anonymous clients may connect too, and the ACL file says
 * what each may read and write. */
export async function startMosquitto(user?: { username: string; password: string }, aclFile?: string): Promise<Mosquitto> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lampnet-mosquitto-'));
  const port = await freePort();
  const config = path.join(dir, 'mosquitto.conf');
  const access = ['allow_anonymous true'];
  if (user) {
    const passwords = path.join(dir, 'passwords');
    execFileSync('mosquitto_passwd', ['-b', '-c', passwords, user.username, user.password]);
    // Mosquitto started as root reads the password file after dropping to its own user.
    chmodSync(dir, 0o755);
    chmodSync(passwords, 0o644);
    access.splice(0, 1, `allow_anonymous ${aclFile === undefined ? 'false' : 'true'}`, `password_file ${passwords}`);
  }
  if (aclFile !== undefined) {
    const acl = path.join(dir, 'acl');
    copyFileSync(aclFile, acl);
    chmodSync(acl, 0o644);
    access.push(`acl_file ${acl}`);
  }
  writeFileSync(config, [`listener ${port} 127.0.0.1`, ...access, 'persistence false', 'log_dest none', ''].join('\n'));
  let child: ChildProcess | null = null;
  let output = '';

  const start = async (): Promise<void> => {
    const proc = spawn('mosquitto', ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout?.on('data', (d) => { output += d; });
    proc.stderr?.on('data', (d) => { output += d; });
    const deadline = Date.now() + 10_000;
    while (!(await accepting(port))) {
      if (proc.exitCode !== null) throw new Error(`mosquitto exited with ${proc.exitCode}: ${output}`);
      if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${port} within 10 s: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const stopChild = async (): Promise<void> => {
    const proc = child;
    if (proc === null || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    process.kill(proc.pid!, 'SIGTERM');
    await exited;
    child = null;
  };

  await start();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    async restart() {
      await stopChild();
      await start();
    },
    async stop() {
      await stopChild();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
