/**
 * A group command to a group with IPv6 lamps and an IPv4 board: IPv6 multicast cannot reach the
 * board (`::ffff:a.b.c.d`), so the gateway sends the group's multicast datagram for the IPv6 lamps
 * and a unicast command to the board. Real parts, in the board lab's two network namespaces: the
 * firmware bundle on the Espruino interpreter (10.77.0.2), and beside the gateway `lampnet sim
 * --link tun` (IPv6 lamps on lamps0, which the gateway multicasts on with --multicast-interface).
 */
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOARD_IPV4, BoardLab, boardsUnavailable, GATEWAY_IPV4 } from '../../bench/espruino-board.js';
import { PROJECT_ROOT } from '../../tools/espruino/paths.js';
import { bundleFirmware } from '../../tools/espruino/build.js';
import { metricValue } from './helpers/gateway-fixture.js';

const unavailable = boardsUnavailable();
const PREFIX = '2001:db8:34::';
const SIM_LAMPS = 4;
const BOARD = 'esp-mixed';
const METRICS_PORT = 19_464;

describe.skipIf(unavailable !== null)('a group of IPv6 lamps and an IPv4 board, commanded by multicast', () => {
  let lab: BoardLab;

  beforeAll(async () => {
    const bundle = await bundleFirmware();
    lab = await BoardLab.create('mixed');
    const sim = lab.gatewayNs.spawn(process.execPath, [`${PROJECT_ROOT}/dist/cli/lampnet.js`, 'sim', '--link', 'tun', '--tun', 'lamps0',
      '--prefix', `${PREFIX}/64`, '--lamps', String(SIM_LAMPS)]);
    let output = '';
    await new Promise<void>((resolve, reject) => {
      for (const stream of [sim.stdout!, sim.stderr!]) {
        createInterface({ input: stream }).on('line', (line) => {
          output += `${line}\n`;
          if (line === 'ready') resolve();
        });
      }
      sim.once('exit', (code) => reject(new Error(`lampnet sim exited (${code}) before it was ready:\n${output}`)));
    });
    await lab.startGateway('--multicast-interface', 'lamps0', '--metrics-port', String(METRICS_PORT));
    // The simulated lamps are street-1 (streets of 100); the board joins it.
    lab.startBoard({ gateway: GATEWAY_IPV4, lamp: { id: BOARD, groups: 'street-1', lifetimeS: 20 } }, bundle);
  }, 120_000);

  afterAll(async () => {
    await lab?.delete();
  });

  it('switches the IPv6 members by one multicast datagram and the IPv4 board by unicast', async () => {
    await lab.mqttUntil('lampnet/stats', (p) => JSON.parse(p).online === SIM_LAMPS + 1);
    expect(JSON.parse(await lab.mqttUntil(`lampnet/lamps/${BOARD}/state`, () => true)).address).toBe(`::ffff:${BOARD_IPV4}`);

    await lab.publish('lampnet/groups/street-1/set', '{"on":true,"level":37}');
    await lab.mqttUntil(`lampnet/lamps/${BOARD}/state`, (p) => JSON.parse(p).level === 37);
    for (let n = 1; n <= SIM_LAMPS; n++) await lab.mqttUntil(`lampnet/lamps/${n}/state`, (p) => JSON.parse(p).level === 37);

    const metrics = await lab.run('curl', ['-sf', `http://127.0.0.1:${METRICS_PORT}/metrics`]);
    expect(metrics.code, metrics.stderr).toBe(0);
    // One confirmed PUT: the board's. The IPv6 lamps took the multicast, which nobody confirms.
    expect(metricValue(metrics.stdout, 'lampnet_gateway_command_deliveries_total{result="confirmed"}')).toBe(1);
    expect(metricValue(metrics.stdout, 'lampnet_gateway_commands_total{target="group"}')).toBe(1);
  }, 120_000);
});
