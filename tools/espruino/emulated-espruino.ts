/**
 * A stand-in for the Espruino interpreter, for the build's wire check (wire-check.ts) and fast unit
 * tests: it runs the firmware bundle in a bare node:vm context shaped like Espruino. The globals
 * Espruino lacks are deleted, function declarations stop hoisting, and the only platform is
 * Espruino's API (E, analogWrite, timers, require of dgram/Storage/Wifi, console, process.memory,
 * save). The dgram fake keeps Espruino's quirks (datagrams arrive as 8-bit strings, send() takes
 * strings, bind(port, address, callback) never calls back) over a network of the caller's: a real
 * UDP socket on 127.0.0.1, or datagrams handed to a function.
 *
 * It runs the same minified code as a board, so it finds what the bundler breaks; what the real
 * interpreter does differently (memory, strings, save()) is tested on the real one
 * (test/firmware/espruino-board.test.ts).
 */
import { createSocket } from 'node:dgram';
import { parse, type Node } from 'acorn';
import { simple } from 'acorn-walk';
import vm from 'node:vm';

/** What Espruino (2v29, and older boards) does not have; V8 has them, so the context loses them. */
const DELETED_GLOBALS = ['Map', 'Set', 'WeakMap', 'WeakSet', 'Symbol', 'Reflect', 'Proxy', 'globalThis'];
const DELETED_MEMBERS = [
  'Array.from',
  'Array.of',
  'Number.isNaN',
  'Number.isInteger',
  'Number.isFinite',
  'Number.EPSILON',
  'Number.MAX_SAFE_INTEGER',
  'Math.trunc',
  'Math.sign',
];

/** Espruino runs a function declaration only when execution reaches it (no hoisting): rewriting each
 * `function f(...) {...}` into `var f = function f(...) {...};` gives V8 the same behaviour, so a call
 * that runs before the definition fails here as it does on a board. */
export function withoutHoisting(code: string): string {
  const edits: { at: number; text: string; cut: number }[] = [];
  simple(parse(code, { ecmaVersion: 5 }), {
    FunctionDeclaration(node: Node) {
      const fn = node as Node & { id: Node & { name: string } };
      edits.push({ at: fn.start, cut: 'function'.length, text: `var ${fn.id.name} = function` });
      edits.push({ at: fn.end, cut: 0, text: ';' });
    },
  });
  // From the end backwards; where a function ends exactly where the next begins, rewrite the
  // keyword before inserting the semicolon in front of it.
  edits.sort((a, b) => b.at - a.at || b.cut - a.cut);
  let out = code;
  for (const e of edits) out = out.slice(0, e.at) + e.text + out.slice(e.at + e.cut);
  return out;
}

export interface FakeWifi {
  connect(ssid: string, options: { password?: string }, callback: (err: string | null) => void): void;
  setSNTP(server: string, zone: string): void;
}

export interface EmulatedBoard {
  /** Console lines printed by the firmware. */
  lines: string[];
  /** analogWrite calls, [pin, value 0..1]. */
  pwm: [string | number, number][];
  /** Storage files (name → content). */
  storage: Map<string, string>;
  /** Real UDP ports the firmware's sockets are bound to (latest last), each standing for its 5683. */
  boundPorts: number[];
  socketsOpened: number;
  socketsClosed: number;
  /** Calls of save() and of load(). */
  saves: number;
  loads: number;
  /** Fire an E event ('init' after save() or at power-up, 'kill' before save() or reset()). */
  emit(event: 'init' | 'kill'): void;
  /** Release every socket the board still holds. */
  close(): void;
}

/** One socket the firmware opened, on the caller's network. */
export interface StandInSocket {
  send(data: Uint8Array, port: number, address: string): void;
  close(): void;
}

/** Where the firmware's sockets go: `open` binds one and calls `onBound` with its port. */
export type StandInNetwork = (onMessage: (data: Uint8Array, address: string, port: number) => void, onBound: (port: number) => void) => StandInSocket;

/** Real UDP sockets on 127.0.0.1. A datagram the firmware sends to (address, 5683) goes to
 * `coapPortOf(address)` instead: the test gateway's port, so that no test sends to a real 5683. */
export function loopbackUdp(coapPortOf: (address: string) => number): StandInNetwork {
  return (onMessage, onBound) => {
    const real = createSocket('udp4');
    real.on('message', (msg, rinfo) => onMessage(msg, rinfo.address, rinfo.port));
    real.bind(0, '127.0.0.1', () => onBound(real.address().port));
    return {
      send: (data, port, address) => real.send(data, port === 5683 ? coapPortOf(address) : port, address),
      close: () => real.close(),
    };
  };
}

export interface BoardOptions {
  /** Storage files present before the firmware loads. */
  storage?: Record<string, string>;
  /** A Wifi module; without one, require('Wifi') throws as on Espruino for Linux. */
  wifi?: FakeWifi;
  network: StandInNetwork;
}

/** Boot code kept in Storage: `.bootrst` runs at every start and after reset(), `.bootcde` at
 * every start (E.setBootCode with and without alwaysExec). */
const BOOT_FILES = ['.bootrst', '.bootcde'];

/** Loads `bundle` on a fresh emulated board. `load()` called by the code resets the board (kill,
 * every timer and socket gone) and runs the boot code from Storage in a fresh context, as a
 * power-up does. */
export function loadOnEmulatedEspruino(bundle: string, options: BoardOptions): EmulatedBoard {
  let handlers: Record<string, (() => void)[]> = {};
  const timers = new Set<NodeJS.Timeout>();
  const sockets: StandInSocket[] = [];
  const board: EmulatedBoard = {
    lines: [],
    pwm: [],
    storage: new Map(Object.entries(options.storage ?? {})),
    boundPorts: [],
    socketsOpened: 0,
    socketsClosed: 0,
    saves: 0,
    loads: 0,
    emit(event) {
      for (const handler of handlers[event] ?? []) handler();
    },
    close() {
      for (const s of sockets.splice(0)) s.close();
    },
  };

  const dgram = {
    createSocket() {
      let listener: ((msg: string, info: { address: string; port: number; size: number }) => void) | null = null;
      let onBound: (() => void) | null = null;
      let socket: StandInSocket | null = null;
      board.socketsOpened++;
      return {
        bind(port: number, ...rest: unknown[]) {
          // Espruino calls back only for bind(port, callback).
          if (rest.length === 1 && typeof rest[0] === 'function' && port > 0) onBound = rest[0] as () => void;
          const s = options.network(
            (data, address, from) => listener?.(Buffer.from(data).toString('latin1'), { address, port: from, size: data.length }),
            (bound) => {
              board.boundPorts.push(bound);
              onBound?.();
            },
          );
          sockets.push((socket = s));
        },
        on(event: string, handler: typeof listener) {
          if (event === 'message') listener = handler;
        },
        send(data: unknown, port: number, address: string) {
          if (typeof data !== 'string') throw new TypeError(`Espruino's socket.send takes a string, got ${typeof data}`);
          socket?.send(Buffer.from(data, 'latin1'), port, address);
        },
        close() {
          board.socketsClosed++;
          const i = socket ? sockets.indexOf(socket) : -1;
          if (i >= 0) sockets.splice(i, 1);
          socket?.close();
          socket = null;
        },
      };
    },
  };

  /** Every timer the code starts is tracked, so that load() can end them as a reset does. */
  const tracked = <A extends unknown[]>(start: (fn: (...args: A) => void, ms?: number) => NodeJS.Timeout, once: boolean) =>
    (fn: (...args: A) => void, ms?: number): NodeJS.Timeout => {
      const t: NodeJS.Timeout = start((...args: A) => {
        if (once) timers.delete(t);
        fn(...args);
      }, ms);
      timers.add(t);
      return t;
    };
  const clear = (t: NodeJS.Timeout): void => {
    clearTimeout(t);
    timers.delete(t);
  };

  function run(code: string, filename: string): void {
    const context = vm.createContext({});
    const realGlobal = (expr: string): unknown => vm.runInContext(expr, context);
    vm.runInContext(DELETED_GLOBALS.map((g) => `delete globalThis.${g};`).join('') + DELETED_MEMBERS.map((m) => `delete ${m};`).join(''), context);
    // The byte/string conversions run inside the context so their arrays belong to its realm.
    vm.runInContext(
      `var E = {
        toUint8Array: function (s) { var b = new Uint8Array(s.length); for (var i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 255; return b; },
        toString: function (b) { var s = ''; for (var i = 0; i < b.length; i++) s += String.fromCharCode(b[i]); return s; },
        hwRand: function () { return (Math.random() * 4294967296) | 0; }
      };`,
      context,
    );
    const E = realGlobal('E') as Record<string, unknown>;
    E.on = (event: string, handler: () => void) => (handlers[event] ??= []).push(handler);
    E.setBootCode = (boot: string, alwaysExec: boolean) => {
      for (const f of BOOT_FILES) board.storage.delete(f);
      board.storage.set(alwaysExec ? '.bootrst' : '.bootcde', String(boot));
    };
    const contextJson = realGlobal('JSON') as JSON;
    const storage = {
      readJSON(name: string, noExceptions: boolean) {
        const text = board.storage.get(name);
        if (text === undefined) {
          if (noExceptions) return undefined;
          throw new Error(`Storage file ${name} not found`);
        }
        return contextJson.parse(text);
      },
      write(name: string, data: string) {
        board.storage.set(name, String(data));
        return true;
      },
      erase(name: string) {
        board.storage.delete(name);
      },
    };
    Object.assign(context, {
      analogWrite: (pin: string | number, value: number) => board.pwm.push([pin, value]),
      setTimeout: tracked(setTimeout, true),
      setInterval: tracked(setInterval, false),
      clearTimeout: clear,
      clearInterval: clear,
      console: { log: (...args: unknown[]) => board.lines.push(args.map(String).join(' ')) },
      process: { memory: () => ({ free: 14000, usage: 2383, total: 16383 }) },
      getSerial: () => '30aea4000000-emulated',
      // Espruino saves at its next idle: kill handlers, state to flash, then init handlers.
      save: () => {
        board.saves++;
        setTimeout(() => {
          board.emit('kill');
          board.emit('init');
        }, 0);
      },
      load: () => {
        board.loads++;
        setTimeout(powerUp, 0);
      },
      require(module: string) {
        if (module === 'dgram') return dgram;
        if (module === 'Storage') return storage;
        if (module === 'Wifi' && options.wifi) return options.wifi;
        throw new Error(`Module "${module}" not found`);
      },
    });
    vm.runInContext(withoutHoisting(code), context, { filename });
  }

  /** A reset and a start: kill, nothing left running, the boot code, then init. */
  function powerUp(): void {
    board.emit('kill');
    for (const t of timers) clearTimeout(t);
    timers.clear();
    board.close();
    handlers = {};
    const boot = BOOT_FILES.map((f) => board.storage.get(f)).find((code) => code !== undefined);
    if (boot !== undefined) run(boot, BOOT_FILES.find((f) => board.storage.has(f))!);
    board.emit('init');
  }

  run(bundle, 'lampnet.js');
  return board;
}
