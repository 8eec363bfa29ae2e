import type { Command } from 'commander';

/** Placeholder until the gateway part lands: its owner replaces this file. */
export function registerGatewayCommand(program: Command): void {
  program.command('gateway').description('(not yet available)');
}
