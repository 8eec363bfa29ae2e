import type { Command } from 'commander';

/** Placeholder until the sim part lands: its owner replaces this file. */
export function registerSimCommand(program: Command): void {
  program.command('sim').description('(not yet available)');
}
