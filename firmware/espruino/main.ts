/**
 * The firmware entry: bundled with the core into dist/firmware/lampnet.js and sent to the board.
 *
 * Espruino's lifecycle: code runs as it is loaded, whether uploaded or, at every power-up and
 * reset, as the boot code `lampnet firmware flash` stores (upload.ts); E `init` fires after boot code
 * has run, and after a `save()` (which fires `kill` first). So the lamp starts at load and on
 * `init`, guarded to start once, and stops fully on `kill`, so that nothing it held (a socket, a
 * timer) outlives it and `init` starts afresh.
 */
import { boot, receive, shutdown } from '../core.js';
import type { Hal } from '../hal.js';
import { createLamp, type LampState } from '../lamp.js';
import type { BoardConfig } from './board-config.js';
import { clearTimer, createHal, joinNetwork, lampConfig, loadBoardConfig, logMemory, onLifecycle, openSocket, releaseBoard, socketBound } from './hal.js';

/** Before this (September 2020) the board's clock has not been set yet: it counts from 1970 at
 * power-up until SNTP answers. */
const CLOCK_SET_AFTER_MS = 1.6e12;
/** Longest wait for the network and the clock before the lamp boots anyway: a street lamp must
 * light up by its power-on rule even when the network is down. */
const BOOT_WAIT_POLLS = 60;
const BOOT_POLL_MS = 1000;
const MEMORY_LOG_MS = 600000;

let board: BoardConfig;
let hal: Hal | null = null;
let lamp: LampState | null = null;
let bootPoll: unknown = null;
let memoryLog: unknown = null;
let pollsLeft = 0;

/** Boots the lamp once the socket is bound and the clock is set (the schedule and the energy meter
 * need wall-clock time), or when the wait runs out. */
function bootWhenReady(): void {
  if (!hal || lamp || (!(socketBound() && Date.now() > CLOCK_SET_AFTER_MS) && pollsLeft-- > 0)) return;
  bootPoll = clearTimer(bootPoll);
  boot(hal, (lamp = createLamp(lampConfig(board), 0)));
  logMemory();
  memoryLog = setInterval(logMemory, MEMORY_LOG_MS);
}

function deliver(from: string, port: number, data: Uint8Array): void {
  if (lamp) receive(hal!, lamp, from, port, data, data.length);
}

function start(): void {
  if (hal) return;
  board = loadBoardConfig();
  hal = createHal(board);
  pollsLeft = BOOT_WAIT_POLLS;
  bootPoll = setInterval(bootWhenReady, BOOT_POLL_MS);
  joinNetwork(board, function () {
    openSocket(deliver, bootWhenReady);
  });
}

/** Stops everything the lamp runs on, after de-registering from the gateway; the light keeps its
 * level through save(), and `init` boots the lamp afresh from its stored config. */
function stop(): void {
  if (lamp) shutdown(hal!, lamp);
  bootPoll = clearTimer(bootPoll);
  memoryLog = clearTimer(memoryLog);
  releaseBoard();
  lamp = hal = null;
}

onLifecycle(start, stop);
start();
