/**
 * `lampnet firmware build|flash`: turns flags into the board's stored config and sends it with the
 * firmware bundle to an Espruino board (ESP32), or writes what would be sent.
 *
 * Validation happens here, before anything reaches a board: a bad value would otherwise surface as a
 * lamp that silently never registers.
 */
import { existsSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { InvalidArgumentError, type Command } from 'commander';
import type { BoardConfig } from '../firmware/espruino/board-config.js';
import { usePrimitives } from '../protocol/oscore/crypto.js';
import { MIN_FLEET_SECRET, lampSecret, parseSecret } from '../protocol/oscore/fleet.js';
import { nodePrimitives } from '../protocol/oscore/node-primitives.js';
import { FIRMWARE_BUNDLE } from '../tools/espruino/paths.js';
import { boardProgram, readBundle, runEspruinoTool } from '../tools/espruino/upload.js';
import { parseNumber, type NumberRange } from './options.js';

interface BoardOptions {
  bundle: string;
  id?: string;
  pin?: string;
  wifi?: string;
  password?: string;
  gateway?: string;
  trust?: string[];
  ntp: string;
  lat?: number;
  lon?: number;
  tz?: number;
  groups?: string;
  key?: string;
}

/** A commander argument parser for a number option within [min, max]. */
function numberOption(option: string, range: NumberRange): (value: string) => number {
  return (value) => parseNumber(value, option, range);
}

/** The board talks IPv4 only (Espruino's sockets take a 32-bit host), so the gateway must be given
 * by its IPv4 address; an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is unwrapped. */
export function parseGatewayAddress(value: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(value);
  const address = mapped ? mapped[1] : value;
  if (isIPv4(address)) return address;
  if (isIPv6(address)) {
    throw new InvalidArgumentError(
      `gateway ${value} is an IPv6 address, but Espruino's network stack is IPv4-only: give the gateway's IPv4 address on the board's Wifi network (the gateway then names the lamp ::ffff:<board IPv4>)`,
    );
  }
  throw new InvalidArgumentError(`gateway ${JSON.stringify(value)} is not an IPv4 address (a.b.c.d)`);
}

/** A prefix the board trusts besides its gateway, `a.b.c.d/n` (a bare address is a /32). The board
 * sees sources as IPv4 addresses: an IPv6 client through the gateway's translator by the IPv4
 * address its own address embeds. Added to the earlier ones (the option takes several). */
export function parseTrustPrefix(value: string, previous: string[] | undefined): string[] {
  const [address, bits, extra] = value.split('/');
  if (isIPv6(address)) {
    throw new InvalidArgumentError(
      `trust ${value} is an IPv6 prefix, but the board sees every source as an IPv4 address (an IPv6 client reaching it through the gateway's translator as the IPv4 address its <board-prefix>::w.x.y.z embeds): give an IPv4 prefix such as 10.77.1.0/24`,
    );
  }
  if (!isIPv4(address) || extra !== undefined || (bits !== undefined && !/^\d{1,2}$/.test(bits)) || Number(bits ?? 32) > 32) {
    throw new InvalidArgumentError(`trust ${JSON.stringify(value)} is not an IPv4 prefix (a.b.c.d/n, n from 0 to 32)`);
  }
  // As the board reads it back (firmware/espruino/hal.ts): no leading zeros.
  return [...(previous ?? []), `${address}/${Number(bits ?? 32)}`];
}

function parseId(value: string): string {
  // The id goes into the registration's Uri-Query (ep=<id>) and into MQTT topic names.
  if (!/^[A-Za-z0-9._-]{1,63}$/.test(value)) {
    throw new InvalidArgumentError(`id ${JSON.stringify(value)} must be 1-63 letters, digits, '.', '_' or '-'`);
  }
  return value;
}

function parseFleetSecret(value: string): string {
  if (!parseSecret(value)) throw new InvalidArgumentError(`key must be a secret of ${MIN_FLEET_SECRET} bytes or more in hex (${2 * MIN_FLEET_SECRET}+ hex digits)`);
  return value;
}

function parsePin(value: string): string {
  if (!/^[A-Z]*\d+$/i.test(value)) throw new InvalidArgumentError(`pin ${JSON.stringify(value)} is not an Espruino pin name such as D2`);
  return value;
}

function addBoardOptions(command: Command): Command {
  return command
    .option('--id <name>', 'lamp endpoint name at the gateway (default: the board serial)', parseId)
    .option('--pin <pin>', 'PWM pin driving the lamp (default D2, the DevKit LED)', parsePin)
    .option('--wifi <ssid>', 'Wifi network to join')
    .option('--password <password>', 'Wifi password')
    .option('--gateway <ipv4>', "gateway's IPv4 address (Espruino is IPv4-only)", parseGatewayAddress)
    .option('--trust <prefix...>', 'IPv4 prefixes besides the gateway allowed to command the lamp (default none)', parseTrustPrefix)
    .option('--ntp <server>', 'SNTP server for the clock (schedule, energy)', 'pool.ntp.org')
    .option('--lat <degrees>', 'latitude for the dusk-to-dawn schedule', numberOption('--lat', { min: -90, max: 90 }))
    .option('--lon <degrees>', 'longitude for the dusk-to-dawn schedule', numberOption('--lon', { min: -180, max: 180 }))
    .option('--tz <minutes>', 'local time offset east of UTC, for the night dim profile', numberOption('--tz', { min: -720, max: 840 }))
    .option('--groups <names>', 'comma-separated group names')
    .option('--key <fleet-secret>', "the fleet's OSCORE secret (hex, 16 bytes or more): the board stores only its own Master Secret derived from it and its --id, and then obeys only OSCORE-protected commands", parseFleetSecret)
    .option('--bundle <file>', 'firmware bundle to send', FIRMWARE_BUNDLE);
}

/** The config the board stores, from the flags (only what was given; the firmware defaults the rest). */
export function boardConfig(options: BoardOptions): BoardConfig {
  if (options.password !== undefined && options.wifi === undefined) throw new Error('--password given without --wifi <ssid>');
  const board: BoardConfig = { lamp: {} };
  if (options.wifi !== undefined) board.wifi = options.wifi;
  if (options.password !== undefined) board.password = options.password;
  if (options.gateway !== undefined) board.gateway = options.gateway;
  if (options.trust !== undefined) board.trust = options.trust;
  if (options.pin !== undefined) board.pin = options.pin;
  board.ntp = options.ntp;
  if (options.id !== undefined) board.lamp.id = options.id;
  if (options.lat !== undefined) board.lamp.lat = options.lat;
  if (options.lon !== undefined) board.lamp.lon = options.lon;
  if ((options.lat === undefined) !== (options.lon === undefined)) throw new Error('the schedule needs both --lat and --lon');
  if (options.tz !== undefined) board.lamp.tzMin = options.tz;
  if (options.groups !== undefined) board.lamp.groups = options.groups;
  if (options.key !== undefined) {
    // The board's Master Secret is bound to its id: the gateway derives it from the id it registers with.
    if (options.id === undefined) throw new Error('--key needs --id: the secret is derived for that lamp id');
    usePrimitives(nodePrimitives);
    board.key = Buffer.from(lampSecret(parseSecret(options.key)!, options.id)).toString('hex');
  }
  return board;
}

/** What the board will not do with these flags, for the user to hear before it is flashed. */
export function boardWarnings(board: BoardConfig): string[] {
  const warnings: string[] = [];
  if (board.gateway === undefined) {
    warnings.push('no --gateway: the lamp will run standalone (its power-on rule and schedule only), registering nowhere and obeying no one');
  }
  if (board.wifi === undefined) {
    warnings.push("no --wifi: the lamp joins no Wifi network; an ESP32 then reaches no gateway unless it already joins one on its own (Wifi.save())");
  }
  return warnings;
}

function warn(board: BoardConfig): BoardConfig {
  for (const warning of boardWarnings(board)) console.warn(`firmware: warning: ${warning}`);
  return board;
}

export function registerFirmwareCommand(program: Command): void {
  const firmware = program.command('firmware').description('build and flash the Espruino (ESP32) lamp firmware');

  addBoardOptions(
    firmware
      .command('build')
      .description('write the code `flash` would send (config, firmware as boot code, load()), with no board attached')
      .requiredOption('--out <file>', 'where to write it'),
  ).action(async (options: BoardOptions & { out: string }) => {
    const code = boardProgram(warn(boardConfig(options)), readBundle(options.bundle));
    await runEspruinoTool(code, null, options.out);
    console.log(`firmware: wrote ${options.out}`);
  });

  addBoardOptions(
    firmware
      .command('flash')
      .description("upload the firmware and its config to a board (serial, or its Wifi console) as the board's boot code")
      .option('--port <device>', "board's serial port (/dev/ttyUSB0), or tcp://<board IPv4> for its Wifi console")
      .option('--baud <rate>', 'serial baud rate (Espruino on ESP32 uses 115200)', numberOption('--baud', { min: 300, max: 2_000_000, whole: true }), 115200),
  ).action(async (options: BoardOptions & { port?: string; baud: number }) => {
    const port = options.port;
    if (!port) throw new Error('--port <device> is required: the board\'s serial port, e.g. /dev/ttyUSB0 (see `ls /dev/ttyUSB* /dev/ttyACM*`)');
    if (port.startsWith('/') && !existsSync(port)) throw new Error(`serial port ${port} does not exist: is the board plugged in? (see \`ls /dev/ttyUSB* /dev/ttyACM*\`)`);
    const code = boardProgram(warn(boardConfig(options)), readBundle(options.bundle));
    await runEspruinoTool(code, { port, baud: options.baud }, null);
    console.log(`firmware: flashed ${port}; the lamp restarts from flash at every power-up`);
  });
}
