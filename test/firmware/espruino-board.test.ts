/**
 * The contract between the firmware bundle and the rest, on the real Espruino interpreter (2v29 for
 * Linux, ../shared/espruino/espruino): the bundle runs as a board with an IPv4 address in its own
 * network namespace, `lampnet gateway` (the built dist/cli/lampnet.js, embedded broker) in another, and the
 * test talks to both with Mosquitto's clients and libcoap's coap-client-notls, as a user would.
 *
 * Skipped, with the reason, where the interpreter is absent (a clone without ../shared) or the
 * namespaces cannot be made (not root); CI has both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOARD_IPV4, BoardLab, boardsUnavailable, GATEWAY_IPV4, STRANGER_IPV4, type EspruinoBoard } from '../../bench/espruino-board.js';
import { PROJECT_ROOT } from '../../tools/espruino/paths.js';
import { bundleFirmware } from '../../tools/espruino/build.js';

const unavailable = boardsUnavailable();
const ID = 'esp-a4';
const GROUP = 'Hauptstraße-Nord';
const lampUrl = (path: string): string => `coap://${BOARD_IPV4}/${path}`;

interface State {
  on: boolean;
  level: number;
  watts: number;
  groups: string[];
  address: string;
  updatedAt: string;
}

/** The first state of lamp `id` on MQTT (retained or new) that `check` accepts. */
async function lampState(lab: BoardLab, id: string, check: (s: State) => boolean, timeoutS = 30): Promise<State> {
  return JSON.parse(await lab.mqttUntil(`lampnet/lamps/${id}/state`, (p) => check(JSON.parse(p) as State), timeoutS)) as State;
}

describe.skipIf(unavailable !== null)('the bundle on the real Espruino interpreter, as a board behind the real gateway', () => {
  let lab: BoardLab;
  let board: EspruinoBoard;
  let bootJsVars = 0;

  const stateUntil = (check: (s: State) => boolean, timeoutS = 30): Promise<State> => lampState(lab, ID, check, timeoutS);

  beforeAll(async () => {
    const bundle = await bundleFirmware();
    lab = await BoardLab.create('board');
    await lab.startGateway();
    // A short lifetime, so that the board's refresh finds a restarted gateway within seconds.
    board = lab.startBoard({ gateway: GATEWAY_IPV4, lamp: { id: ID, groups: GROUP, lifetimeS: 20 } }, bundle);
    bootJsVars = await board.bootJsVars();
  }, 120_000);

  afterAll(async () => {
    await lab?.delete();
  });

  it('boots, registers and is online on MQTT with its real state, address and non-ASCII group', async () => {
    await lab.mqttUntil(`lampnet/lamps/${ID}/availability`, (p) => p === 'online');
    const state = await stateUntil(() => true);
    expect(state).toMatchObject({ on: true, level: 100, watts: 60, groups: [GROUP], address: `::ffff:${BOARD_IPV4}` });
  });

  it.each([
    ['OFF', (s: State) => !s.on],
    ['ON', (s: State) => s.on && s.level === 100],
    ['30', (s: State) => s.on && s.level === 30],
    ['{"state":"ON","brightness":50,"transition":2}', (s: State) => s.on && s.level === 50],
  ])('obeys the MQTT command %s and its confirmed state comes back on MQTT', async (command, confirmed) => {
    await lab.publish(`lampnet/lamps/${ID}/set`, command);
    await stateUntil(confirmed);
  });

  it('answers coap-client-notls GET and PUT on its 3311 resources, and reports the change to the gateway', async () => {
    const level = await lab.coap(['-m', 'get', lampUrl('3311/0/5851')]);
    expect(level.stdout.trim()).toBe('50');
    const put = await lab.coap(['-m', 'put', '-e', '0', lampUrl('3311/0/5850')]);
    expect(put.stdout + put.stderr).not.toMatch(/4\.\d\d|5\.\d\d/);
    expect((await lab.coap(['-m', 'get', lampUrl('3311/0/5850')])).stdout.trim()).toBe('0');
    await stateUntil((s) => !s.on && s.level === 50);
    const links = await lab.coap(['-m', 'get', lampUrl('.well-known/core')]);
    expect(links.stdout).toContain('</3311/0>');
  });

  it("refuses a PUT from a stranger's address with 4.03 and keeps its state", async () => {
    const put = await lab.coap(['-m', 'put', '-e', '1', lampUrl('3311/0/5850')], STRANGER_IPV4);
    expect(put.stdout + put.stderr).toContain('4.03');
    expect((await lab.coap(['-m', 'get', lampUrl('3311/0/5850')], STRANGER_IPV4)).stdout.trim()).toBe('0');
  });

  it('registers again, with its state, after the gateway is killed and restarted', async () => {
    await lab.coap(['-m', 'put', '-e', '42', lampUrl('3311/0/5851')]);
    await stateUntil((s) => s.level === 42);
    await lab.killGateway();
    await lab.startGateway();
    // The embedded broker restarted empty: what arrives now is the board's own registration.
    await lab.mqttUntil(`lampnet/lamps/${ID}/availability`, (p) => p === 'online', 60);
    expect(await stateUntil(() => true)).toMatchObject({ on: false, level: 42, address: `::ffff:${BOARD_IPV4}` });
  }, 120_000);

  it('keeps its JsVars bounded after boot, after registration and after 1,000 commands', async () => {
    const registered = await board.jsVars();
    const burst = await lab.run(process.execPath, [`${PROJECT_ROOT}/dist/bench/probes/board-commands.js`, GATEWAY_IPV4, BOARD_IPV4, '1000'], 120_000);
    expect(burst.stderr).toBe('');
    expect(JSON.parse(burst.stdout)).toEqual({ sent: 1000, changed: 1000, refused: 0, timeouts: 0 });
    const after = await board.jsVars();
    console.log(`board JsVars in use: ${bootJsVars} after boot, ${registered} after registration, ${after} after 1,000 commands (pool 4,096)`);
    // A leak of one JsVar per command would show as 1,000.
    expect(after - registered).toBeLessThan(100);
  }, 180_000);
});

describe.skipIf(unavailable !== null)('a board flashed over its Wifi console and power-cycled, on the real interpreter', () => {
  const FLASHED = 'esp-f1';
  let lab: BoardLab;
  let board: EspruinoBoard;

  beforeAll(async () => {
    lab = await BoardLab.create('flash');
    await lab.startGateway();
    // What a board flashed the old way holds: a save() image that starts something at power-up.
    const old = lab.startBoardProgram('E.on("init", function () { print("lampnet: old image"); });\nsetTimeout(save, 100);\n');
    // save() fires init once the image is written.
    await old.line(/lampnet: old image/);
    await old.kill();
  }, 60_000);

  afterAll(async () => {
    await lab?.delete();
  });

  it('takes lampnet firmware flash --port tcp://127.0.0.1:2323, comes online on MQTT and obeys a command', async () => {
    board = lab.powerUp('--telnet');
    await lab.telnetListening();
    const flash = await lab.boardNs.run(process.execPath, [`${PROJECT_ROOT}/dist/cli/lampnet.js`, 'firmware', 'flash', '--port', 'tcp://127.0.0.1:2323', '--id', FLASHED, '--gateway', GATEWAY_IPV4, '--groups', GROUP], 120_000);
    expect(flash.code, flash.stdout + flash.stderr).toBe(0);
    await lab.mqttUntil(`lampnet/lamps/${FLASHED}/availability`, (p) => p === 'online');
    await lab.publish(`lampnet/lamps/${FLASHED}/set`, '30');
    await lampState(lab, FLASHED, (s) => s.on && s.level === 30);
    // A config change the board must keep through power losses: its default level.
    const put = await lab.coap(['-m', 'put', '-e', '40', lampUrl('32311/0/5')]);
    expect(put.stdout + put.stderr).not.toMatch(/4\.\d\d|5\.\d\d/);
  }, 180_000);

  it('is back online after each of 10 power losses, with its stored id, groups and default level, a usable console and JsVars that do not grow', async () => {
    const jsVars: number[] = [];
    for (let cycle = 0; cycle < 10; cycle++) {
      await board.kill();
      const poweredAt = Date.now();
      board = lab.powerUp();
      const booted = await board.bootJsVars();
      const state = await lampState(lab, FLASHED, (s) => Date.parse(s.updatedAt) >= poweredAt, 30).catch((err: Error) => {
        throw new Error(`power-up ${cycle + 1}: ${err.message}; the board printed:\n${board.lines.join('\n')}`);
      });
      expect(state).toMatchObject({ on: true, level: 40, groups: [GROUP], address: `::ffff:${BOARD_IPV4}` });
      jsVars.push(booted, await board.jsVars());
    }
    console.log(`board JsVars after each of 10 power-ups (boot log, then console): ${jsVars.join(' ')}`);
    expect(board.lines.filter((l) => l.includes('old image')), 'the erased save() image started again').toEqual([]);
    const boots = jsVars.filter((_, i) => i % 2 === 0);
    expect(Math.max(...boots) - boots[0]).toBeLessThan(10);
  }, 300_000);
});

describe.skipIf(unavailable === null)('the real Espruino interpreter', () => {
  it.skip(`is not available: ${unavailable}`, () => {});
});
