#!/usr/bin/env node
/**
 * `lampnet`: the one command line. Each command is registered from its own file in cli/; this file
 * only wires them together (`up`, in up.ts, is the only place that sees both the simulator and the
 * gateway).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { PROJECT_ROOT } from '../tools/espruino/paths.js';
import { registerFirmwareCommand } from './firmware.js';
import { registerSimCommand } from './sim.js';
import { registerGatewayCommand } from './gateway.js';
import { registerUpCommand } from './up.js';

const program = new Command('lampnet')
  .description('Street lamps as first-class IPv6 hosts: firmware, simulator and MQTT gateway')
  .version((JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version)
  .showHelpAfterError()
  .enablePositionalOptions();

registerFirmwareCommand(program);
registerSimCommand(program);
registerGatewayCommand(program);
registerUpCommand(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`lampnet: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
