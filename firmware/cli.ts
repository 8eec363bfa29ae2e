import type { Command } from 'commander';

/** Placeholder until the firmware part lands: its owner replaces this file. */
export function registerFirmwareCommand(program: Command): void {
  program.command('firmware').description('(not yet available)');
}
