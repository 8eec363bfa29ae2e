/** The machine and the tree a run measured, for RESULTS.md: figures mean little without them. */
import { execFileSync } from 'node:child_process';
import os from 'node:os';

export interface Machine {
  cpu: string;
  cores: number;
  memoryBytes: number;
  node: string;
  kernel: string;
  /** The commit measured, `+ uncommitted changes` when the working tree differs from it. */
  tree: string;
}

export function describeMachine(): Machine {
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
    cores: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    tree: describeTree(),
  };
}

function describeTree(): string {
  try {
    const git = (...args: string[]): string => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const commit = git('log', '-1', '--format=%h %s');
    // The results file a previous run rewrote is not a change to what is measured.
    const changed = git('status', '--porcelain', '--untracked-files=no', '--', '.', ':(exclude)bench/RESULTS.md');
    return changed === '' ? commit : `${commit} + uncommitted changes`;
  } catch {
    return 'not a git checkout';
  }
}
