/**
 * The lamp HAL on Espruino's APIs, plus the few board services the entry needs (config in flash,
 * Wifi, the CoAP socket, lifecycle events). One board drives one lamp, so the board's resources
 * (socket, timers, PWM output) live at module level and the `lamp` argument of each HAL call is the
 * only lamp there is.
 *
 * This is the only file that touches Espruino's globals. They are declared here, module-scoped,
 * rather than globally, so the rest of the project keeps Node's types. Everything here is bundled
 * and lowered to ES5 (see build.ts): no Node imports, no Map/Set/Symbol/for..of, functions defined
 * before they run (Espruino does not hoist).
 *
 * A board never calls core.ts `unreachable`: Espruino's dgram socket reports no ICMP error (an
 * unreachable gateway's "port unreachable" is lost inside the network stack), so on a board a
 * registration to an absent gateway fails by its CoAP timeouts and then backs off as on any failure.
 */
import type { Addr, Hal } from '../hal.js';
import type { LampConfig, LampState } from '../lamp.js';
import { configFrom } from '../lamp.js';
import { boot, wake } from '../core.js';
import { COAP_PORT } from '../../protocol/lamp.js';
import { CONFIG_FILE, type BoardConfig } from './board-config.js';
import { usePrimitives } from '../../protocol/oscore/crypto.js';
import type { SecurityContext } from '../../protocol/oscore/context.js';
import { lampContext, parseSecret } from '../../protocol/oscore/fleet.js';
import { espruinoPrimitives } from './primitives.js';

interface DatagramInfo {
  address: string;
  port: number;
  size: number;
}
interface EspruinoSocket {
  bind(port: number, onBound: () => void): void;
  on(event: 'message', listener: (msg: string, info: DatagramInfo) => void): void;
  send(data: string, port: number, address: string): void;
  close(): void;
}
interface EspruinoWifi {
  connect(ssid: string, options: { password?: string }, callback: (err: string | null) => void): void;
  setSNTP(server: string, zone: string): void;
}
interface EspruinoStorage {
  readJSON(name: string, noExceptions: boolean): unknown;
  write(name: string, data: string): boolean;
}
declare const E: {
  toUint8Array(data: string): Uint8Array;
  toString(data: Uint8Array): string;
  on(event: 'init' | 'kill', handler: () => void): void;
  hwRand(): number;
};
declare function analogWrite(pin: string | number, value: number): void;
declare function getSerial(): string;
declare function require(module: 'dgram'): { createSocket(type: string): EspruinoSocket };
declare function require(module: 'Storage'): EspruinoStorage;
declare function require(module: 'Wifi'): EspruinoWifi;
declare const process: { memory(): { free: number; usage: number; total: number; blocksize?: number } };

/** PWM fades are stepped at this period: smooth to the eye, cheap for the interpreter. */
const FADE_STEP_MS = 40;
/** Pause before retrying a Wifi network that refused or was not found. */
const WIFI_RETRY_MS = 10000;
/** ESP32 DevKit boards have an LED on D2: a visible lamp when no driver is wired. */
const DEFAULT_PIN = 'D2';
/** Storage file counting the board's power-ups (see bootRandom). */
const BOOTS_FILE = 'lampnet.boots';
/** Storage file of the OSCORE context's numbers: [sequence bound, replay floor] (hal.saveSecurity). */
const SECURITY_FILE = 'lampnet.osc';

let socket: EspruinoSocket | null = null;
let socketBoundFlag = false;
/** Bumped by releaseBoard: a Wifi or bind callback from before the last release is stale. */
let epoch = 0;
let wakeTimer: unknown = null;
let fadeTimer: unknown = null;
let wifiRetryTimer: unknown = null;
/** Present PWM output (0–100), the start of the next fade. */
let output = 0;

function log(message: string): void {
  console.log('lampnet: ' + message);
}

/** Cancels a timeout or an interval (Espruino, like Node, clears both alike); returns the
 * cleared handle's new value. Never passes null on: Espruino's clearTimeout() without a handle
 * clears every timer. */
export function clearTimer(timer: unknown): null {
  if (timer !== null) clearTimeout(timer as ReturnType<typeof setTimeout>);
  return null;
}

/** The board's stored config; without one the lamp runs on defaults, standalone. */
export function loadBoardConfig(): BoardConfig {
  const stored = require('Storage').readJSON(CONFIG_FILE, true) as BoardConfig | undefined;
  if (!stored) log('no ' + CONFIG_FILE);
  return stored || { lamp: {} };
}

/** The lamp's configuration: the defaults, overlaid with what the board stored. */
export function lampConfig(board: BoardConfig): LampConfig {
  const config = configFrom(board.lamp);
  config.id = config.id || getSerial();
  return config;
}

/** A uniform random source whose sequence differs at every power-up. Math.random starts from the
 * same seed at every power-up where nothing seeds it (the Linux build: the same first message id
 * and token every time, which a gateway rightly answers as a retransmission, RFC 7252 §4.5). It is
 * shifted by a per-boot offset: the boot count times the golden ratio (never the same twice in
 * practice), plus what E.hwRand's hardware noise gives. A shift keeps it uniform. */
function bootRandom(): () => number {
  const storage = require('Storage');
  const boots = ((storage.readJSON(BOOTS_FILE, true) as number) || 0) + 1;
  storage.write(BOOTS_FILE, '' + boots);
  const offset = (boots * 0.6180339887 + (E.hwRand() >>> 0) / 4294967296) % 1;
  return function () {
    return (Math.random() + offset) % 1;
  };
}

/** A dotted IPv4 address as an unsigned 32-bit number; `text` is well-formed (the socket's, or
 * checked by trustedPrefixes). Bitwise only: the minifier assumes comparisons never see NaN. */
function ipv4Number(text: string): number {
  const p = text.split('.');
  return ((+p[0] << 24) | (+p[1] << 16) | (+p[2] << 8) | +p[3]) >>> 0;
}

/** The stored trusted prefixes as [network, mask, network, mask, ...] (unsigned 32-bit numbers).
 * An entry that does not read back exactly as `a.b.c.d/n` (as `lampnet firmware` writes it) is
 * logged and trusts nobody. */
function trustedPrefixes(list: string[] | undefined): number[] {
  const flat: number[] = [];
  for (let i = 0; list && i < list.length; i++) {
    const text = '' + list[i];
    const slash = text.indexOf('/');
    const network = ipv4Number(text.slice(0, slash));
    const bits = +text.slice(slash + 1) | 0;
    const canonical = (network >>> 24) + '.' + ((network >> 16) & 255) + '.' + ((network >> 8) & 255) + '.' + (network & 255) + '/' + bits;
    if (canonical !== text || bits >>> 0 > 32) {
      log('trust: ignoring ' + text + ', not a.b.c.d/n');
      continue;
    }
    // `<< 32` is `<< 0` in JS: a /0 needs its own mask.
    const mask = bits ? (-1 << (32 - bits)) >>> 0 : 0;
    flat.push((network & mask) >>> 0, mask);
  }
  return flat;
}

/** The lamp's OSCORE context from its stored Master Secret and numbers, or null without a key (or
 * with one that is not hex: logged, and the lamp then obeys no state change at all rather than
 * falling back to addresses). */
function securityContext(board: BoardConfig): SecurityContext | null {
  if (board.key === undefined) return null;
  usePrimitives(espruinoPrimitives());
  const secret = parseSecret('' + board.key);
  const stored = (require('Storage').readJSON(SECURITY_FILE, true) as number[] | undefined) || [0, 0];
  if (!secret) log('key: not a hex secret of 16 bytes or more; no state change will be obeyed');
  return lampContext(secret || new Uint8Array(16), lampConfig(board).id, stored[0], stored[1]);
}

export function createHal(board: BoardConfig): Hal {
  const pin = board.pin === undefined ? DEFAULT_PIN : board.pin;
  const trust = trustedPrefixes(board.trust);
  const security = securityContext(board);
  function setOutput(level: number): void {
    analogWrite(pin, (output = level) / 100);
  }
  const hal: Hal = {
    // Espruino's Date.now ignores `this`, so it serves as a HAL method as it is.
    now: Date.now,
    wakeAt: function (lamp: LampState, atMs: number) {
      wakeTimer = clearTimer(wakeTimer);
      // `< Infinity` is also false for NaN: a bad deadline disarms instead of spinning.
      if (atMs < Infinity) {
        wakeTimer = setTimeout(function () {
          wakeTimer = null;
          wake(hal, lamp);
        }, Math.max(0, atMs - Date.now()));
      }
    },
    light: function (_lamp: LampState, level: number, fadeMs: number) {
      const from = output;
      const start = Date.now();
      fadeTimer = clearTimer(fadeTimer);
      if (fadeMs <= 0) return setOutput(level);
      fadeTimer = setInterval(function () {
        const progress = Math.min(1, (Date.now() - start) / fadeMs);
        setOutput(from + (level - from) * progress);
        if (progress === 1) fadeTimer = clearTimer(fadeTimer);
      }, FADE_STEP_MS);
    },
    send: function (_lamp: LampState, to: Addr, port: number, data: Uint8Array, len: number) {
      // Espruino sockets send 8-bit strings; E.toString copies, as the HAL contract requires.
      if (socketBoundFlag) socket!.send(E.toString(data.subarray(0, len)), port, to as string);
    },
    // Espruino is IPv4-only and has no multicast membership: the gateway fans group commands out
    // to each member lamp by unicast, so there is nothing to join on a board.
    setGroups: function () {},
    saveConfig: function (_lamp: LampState, config: LampConfig) {
      board.lamp = config;
      require('Storage').write(CONFIG_FILE, JSON.stringify(board));
    },
    gateway: function () {
      return board.gateway || null;
    },
    security: function () {
      return security;
    },
    saveSecurity: function (_lamp: LampState, ctx: SecurityContext) {
      require('Storage').write(SECURITY_FILE, JSON.stringify([ctx.seqBound, ctx.high + 1]));
    },
    // A source address is a claim anyone on the board's network can make: without a key only.
    trusted: function (_lamp: LampState, from: Addr) {
      // `from` is always a string, so no gateway (undefined) trusts nobody.
      if (from === board.gateway) return true;
      const address = ipv4Number(from as string);
      for (let i = 0; i < trust.length; i += 2) {
        if (((address & trust[i + 1]) >>> 0) === trust[i]) return true;
      }
      return false;
    },
    // The lamp program starts again from its config (as stored: every change is saved at once),
    // once the answer to the Execute is out; the socket and the network stay up.
    reboot: function (lamp: LampState) {
      const started = epoch;
      setTimeout(function () {
        if (started === epoch) boot(hal, lamp);
      }, 0);
    },
    // Free JsVars times their size (16 bytes where the build does not say), in kB.
    memoryFree: function () {
      const m = process.memory();
      return (m.free * (m.blocksize || 16)) / 1000;
    },
    random: bootRandom(),
    log: function (_lamp: LampState, message: string) {
      log(message);
    },
  };
  return hal;
}

/** Joins the configured Wifi network (retrying until it answers), starts SNTP, then calls `onUp`;
 * calls it at once when there is no Wifi to join. */
export function joinNetwork(board: BoardConfig, onUp: () => void): void {
  let wifi: EspruinoWifi | null = null;
  const started = epoch;
  try {
    wifi = require('Wifi');
  } catch (e) {
    // Boards without Wifi (and Espruino for Linux) have no such module.
  }
  if (!wifi || !board.wifi) return onUp();
  const w: EspruinoWifi = wifi;
  w.connect(board.wifi, { password: board.password }, function (err) {
    if (started !== epoch) return;
    if (err) {
      log('Wifi: ' + err);
      wifiRetryTimer = setTimeout(function () {
        joinNetwork(board, onUp);
      }, WIFI_RETRY_MS);
    } else {
      if (board.ntp) w.setSNTP(board.ntp, 'UTC0');
      onUp();
    }
  });
}

/** Opens the lamp's CoAP socket on UDP 5683 and calls `onBound` once it is bound. */
export function openSocket(onDatagram: (from: string, port: number, data: Uint8Array) => void, onBound: () => void): void {
  const s = (socket = require('dgram').createSocket('udp4'));
  s.on('message', function (msg, info) {
    onDatagram(info.address, info.port, E.toUint8Array(msg));
  });
  // bind(port, address, callback) never calls back on Espruino: bind all addresses.
  s.bind(COAP_PORT, function () {
    if (socket !== s) return;
    socketBoundFlag = true;
    onBound();
  });
}

export function socketBound(): boolean {
  return socketBoundFlag;
}

/** Releases everything the board holds: timers, the fade, the socket. */
export function releaseBoard(): void {
  wakeTimer = clearTimer(wakeTimer);
  wifiRetryTimer = clearTimer(wifiRetryTimer);
  fadeTimer = clearTimer(fadeTimer);
  if (socket) socket.close();
  socket = null;
  socketBoundFlag = false;
  epoch++;
}

/** Espruino counts memory in JsVars from a fixed pool; the firmware must stay a small share of it. */
export function logMemory(): void {
  const m = process.memory();
  log('memory ' + m.usage + '/' + m.total + ' JsVars used');
}

/** `init` fires at every power-up, after boot code has run, and after `save()`; `kill` before
 * `save()`, `reset()` and `load()`. */
export function onLifecycle(start: () => void, stop: () => void): void {
  E.on('init', start);
  E.on('kill', stop);
}
