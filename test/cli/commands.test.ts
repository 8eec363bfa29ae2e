/**
 * The built `lampnet` command as a user runs it (dist/cli/lampnet.js, a real child process): every
 * command answers --help, --version is the package's, and the long-running commands share one
 * ready/stop contract (cli/run.ts).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { run, type RunningProcess } from '../../bench/process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function lampnet(...args: string[]): RunningProcess {
  return run(process.execPath, ['dist/cli/lampnet.js', ...args], { cwd: ROOT });
}

/** Runs `lampnet <args>` to its end: exit code and every output line. */
async function lampnetOutput(...args: string[]): Promise<{ code: number | null; output: string }> {
  const child = lampnet(...args);
  const { code } = await child.exited;
  return { code, output: child.lines.join('\n') };
}

describe('lampnet', () => {
  it("prints package.json's version for --version", async () => {
    const { version } = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { version: string };
    expect(await lampnetOutput('--version')).toEqual({ code: 0, output: version });
  });

  it.each([[[]], [['firmware']], [['firmware', 'build']], [['firmware', 'flash']], [['sim']], [['gateway']], [['up']]])(
    'answers lampnet %j --help with its usage and exit code 0',
    async (command) => {
      const { code, output } = await lampnetOutput(...command, '--help');
      expect(code, output).toBe(0);
      expect(output).toMatch(new RegExp(`^Usage: lampnet ${command.join(' ')}`));
    },
  );

  it('refuses a fractional lamp count naming the option, with exit code 1', async () => {
    expect(await lampnetOutput('sim', '--link', 'memory', '--lamps', '1.5')).toEqual({
      code: 1,
      output: 'lampnet: --lamps must be a whole number from 1 to 1000000, got "1.5"',
    });
  });
});

describe('the ready/stop contract of the long-running commands', () => {
  it('lampnet gateway prints ready, takes a repeated SIGINT as one Ctrl-C, and exits 0 once stopped', async () => {
    const gateway = lampnet('gateway', '--listen', '127.0.0.1', '--mqtt-port', '0', '--ws-port', 'off', '--metrics-port', 'off', '--coap-host', '::1', '--coap-port', '0');
    try {
      await gateway.waitForLine(/^ready$/, 30_000);
      gateway.signal('SIGINT');
      gateway.signal('SIGINT');
      expect(await gateway.exited).toEqual({ code: 0, signal: null });
      expect(gateway.lines.at(-1)).toBe('lampnet gateway: stopped');
    } finally {
      await gateway.kill();
    }
  });

  it('lampnet sim on the memory link prints ready and exits 0 on SIGTERM', async () => {
    const sim = lampnet('sim', '--link', 'memory', '--lamps', '10');
    try {
      await sim.waitForLine(/^ready$/, 30_000);
      sim.signal('SIGTERM');
      expect(await sim.exited).toEqual({ code: 0, signal: null });
      expect(sim.lines.at(-1)).toBe('lampnet sim: stopped');
    } finally {
      await sim.kill();
    }
  });

  it('a stop that hangs exits with code 1 after 10 s, saying so', async () => {
    // A service whose close never ends while something (here an interval) keeps the process alive.
    const hanging = run(process.execPath, ['--input-type=module', '-e', `
      import { serveUntilSignal } from './dist/cli/run.js';
      setInterval(() => {}, 1000);
      await serveUntilSignal('hanging', { close: () => new Promise(() => {}) }, 'serving');`], { cwd: ROOT });
    try {
      await hanging.waitForLine(/^ready$/, 30_000);
      const signalled = performance.now();
      hanging.signal('SIGTERM');
      expect(await hanging.exited).toEqual({ code: 1, signal: null });
      expect(performance.now() - signalled).toBeGreaterThanOrEqual(9_900);
      expect(hanging.lines).toContain('hanging: did not stop within 10 s; exiting');
    } finally {
      await hanging.kill();
    }
  });
});
