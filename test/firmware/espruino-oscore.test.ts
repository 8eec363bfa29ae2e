/**
 * `--security oscore` on the real Espruino interpreter (../shared/espruino/espruino): the board
 * bundle, given its own Master Secret as `lampnet firmware flash --key` derives it, registers with
 * `lampnet gateway --security oscore` (the built dist/cli/lampnet.js), obeys the gateway's protected
 * commands from MQTT, verified with the board's own AES and SHA-256, and refuses libcoap's plain
 * PUT from the gateway's very address with 4.01. Flashed, its JsVars stay within the 3,000 allowed
 * LwM2M and OSCORE together.
 *
 * Skipped, with the reason, where the interpreter or the namespaces are unavailable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOARD_IPV4, BoardLab, boardsUnavailable, GATEWAY_IPV4, type EspruinoBoard } from '../../bench/espruino-board.js';
import { bundleFirmware } from '../../tools/espruino/build.js';
import { usePrimitives } from '../../protocol/oscore/crypto.js';
import { lampSecret } from '../../protocol/oscore/fleet.js';
import { nodePrimitives } from '../../protocol/oscore/node-primitives.js';

const unavailable = boardsUnavailable();
const ID = 'esp-o1';
const FLEET = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
/** The boards issue's budget for LwM2M and OSCORE together (bench/figures/firmware.ts). */
const JSVARS_WITH_OSCORE = 3000;

describe.skipIf(unavailable !== null)('a board with an OSCORE key behind lampnet gateway --security oscore', () => {
  let lab: BoardLab;
  let board: EspruinoBoard;

  beforeAll(async () => {
    usePrimitives(nodePrimitives);
    const key = Buffer.from(lampSecret(Buffer.from(FLEET, 'hex'), ID)).toString('hex');
    lab = await BoardLab.create('oscore');
    await lab.startGateway('--security', 'oscore', '--fleet-secret', FLEET);
    // Flashed and powered up, as in the field.
    await lab.flash({ gateway: GATEWAY_IPV4, key, lamp: { id: ID } }, await bundleFirmware());
    board = lab.powerUp();
    await board.bootJsVars();
  }, 120_000);

  afterAll(async () => {
    await lab?.delete();
  });

  it('registers, and obeys a protected command from MQTT', async () => {
    await lab.mqttUntil(`lampnet/lamps/${ID}/availability`, (p) => p === 'online');
    await lab.mqttUntil(`lampnet/lamps/${ID}/state`, (p) => JSON.parse(p).on === true);
    await lab.publish(`lampnet/lamps/${ID}/set`, '{"on":true,"level":25}');
    await lab.mqttUntil(`lampnet/lamps/${ID}/state`, (p) => JSON.parse(p).level === 25);
    expect((await lab.coap(['-m', 'get', `coap://${BOARD_IPV4}/3311/0/5851`])).stdout.trim()).toBe('25');
  }, 90_000);

  it("refuses an unprotected PUT from the gateway's own address with 4.01 and keeps its state", async () => {
    const put = await lab.coap(['-m', 'put', '-e', '0', `coap://${BOARD_IPV4}/3311/0/5850`]);
    expect(put.stdout + put.stderr).toContain('4.01');
    expect((await lab.coap(['-m', 'get', `coap://${BOARD_IPV4}/3311/0/5850`])).stdout.trim()).toBe('1');
  }, 60_000);

  it(`keeps its JsVars within ${JSVARS_WITH_OSCORE}, flashed, registered, observed and commanded under OSCORE`, async () => {
    const used = await board.jsVars();
    console.log(`board JsVars in use (LwM2M and OSCORE, flashed, commanded): ${used}`);
    expect(used).toBeLessThanOrEqual(JSVARS_WITH_OSCORE);
  });
});
