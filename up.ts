import type { Command } from 'commander';

/** Placeholder until `lampnet up` lands. */
export function registerUpCommand(program: Command): void {
  program.command('up').description('(not yet available)');
}
