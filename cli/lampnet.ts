#!/usr/bin/env node
/**
 * `lampnet`: the one command line. Each part registers its own subcommand from its own cli.ts;
 * this file only wires them together (and owns `up`, which is the only place that sees both the
 * simulator and the gateway).
 */
import { Command } from 'commander';
import { registerFirmwareCommand } from './firmware.js';
import { registerSimCommand } from './sim.js';
import { registerGatewayCommand } from './gateway.js';
import { registerUpCommand } from './up.js';

const program = new Command('lampnet')
  .description('Street lamps as first-class IPv6 hosts: firmware, simulator and MQTT gateway')
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
