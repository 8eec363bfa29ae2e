/**
 * Runs the firmware bundle in a bare node:vm context shaped like Espruino: the globals Espruino lacks
 * are deleted, function declarations stop hoisting, and the only platform is Espruino's API (E,
 * analogWrite, timers, require of dgram/Storage/Wifi, console, process.memory, save). The dgram fake is
 * backed by a real UDP socket on 127.0.0.1 and keeps Espruino's quirks: datagrams arrive as 8-bit
 * strings, send() takes strings, and bind(port, address, callback) never calls back.
 */
import { createSocket, type Socket } from 'node:dgram';
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
  /** Calls of save(). */
  saves: number;
  /** Fire an E event ('init' after save() or at power-up, 'kill' before save() or reset()). */
  emit(event: 'init' | 'kill'): void;
  /** Release every socket the board still holds. */
  close(): void;
}

export interface BoardOptions {
  /** Storage files present before the firmware loads. */
  storage?: Record<string, string>;
  /** A Wifi module; without one, require('Wifi') throws as on Espruino for Linux. */
  wifi?: FakeWifi;
  /** Where datagrams the firmware sends to (address, 5683) really go: the test gateway's port, so
   * that no test ever sends to a real port 5683. */
  coapPortOf: (address: string) => number;
}

/** Loads `bundle` on a fresh emulated board. */
export function loadOnEmulatedEspruino(bundle: string, options: BoardOptions): EmulatedBoard {
  const context = vm.createContext({});
  const realGlobal = (expr: string): unknown => vm.runInContext(expr, context);
  vm.runInContext(DELETED_GLOBALS.map((g) => `delete globalThis.${g};`).join('') + DELETED_MEMBERS.map((m) => `delete ${m};`).join(''), context);

  const handlers: Record<string, (() => void)[]> = {};
  const sockets: Socket[] = [];
  const board: EmulatedBoard = {
    lines: [],
    pwm: [],
    storage: new Map(Object.entries(options.storage ?? {})),
    boundPorts: [],
    socketsOpened: 0,
    socketsClosed: 0,
    saves: 0,
    emit(event) {
      for (const handler of handlers[event] ?? []) handler();
    },
    close() {
      for (const s of sockets.splice(0)) s.close();
    },
  };

  // The byte/string conversions run inside the context so their arrays belong to its realm.
  vm.runInContext(
    `var E = {
      toUint8Array: function (s) { var b = new Uint8Array(s.length); for (var i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 255; return b; },
      toString: function (b) { var s = ''; for (var i = 0; i < b.length; i++) s += String.fromCharCode(b[i]); return s; }
    };`,
    context,
  );
  const E = realGlobal('E') as Record<string, unknown>;
  E.on = (event: string, handler: () => void) => (handlers[event] ??= []).push(handler);

  const dgram = {
    createSocket() {
      const real = createSocket('udp4');
      sockets.push(real);
      board.socketsOpened++;
      return {
        bind(port: number, ...rest: unknown[]) {
          // Espruino calls back only for bind(port, callback).
          const onBound = rest.length === 1 && typeof rest[0] === 'function' ? (rest[0] as () => void) : null;
          real.bind(0, '127.0.0.1', () => {
            board.boundPorts.push(real.address().port);
            if (onBound && port > 0) onBound();
          });
        },
        on(event: string, listener: (msg: string, info: { address: string; port: number; size: number }) => void) {
          if (event !== 'message') return;
          real.on('message', (msg, rinfo) => listener(msg.toString('latin1'), { address: rinfo.address, port: rinfo.port, size: msg.length }));
        },
        send(data: unknown, port: number, address: string) {
          if (typeof data !== 'string') throw new TypeError(`Espruino's socket.send takes a string, got ${typeof data}`);
          const target = port === 5683 ? options.coapPortOf(address) : port;
          real.send(Buffer.from(data, 'latin1'), target, address);
        },
        close() {
          board.socketsClosed++;
          const i = sockets.indexOf(real);
          if (i >= 0) sockets.splice(i, 1);
          real.close();
        },
      };
    },
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
  };

  Object.assign(context, {
    analogWrite: (pin: string | number, value: number) => board.pwm.push([pin, value]),
    setTimeout,
    clearTimeout,
    setInterval,
    clearInterval,
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
    require(module: string) {
      if (module === 'dgram') return dgram;
      if (module === 'Storage') return storage;
      if (module === 'Wifi' && options.wifi) return options.wifi;
      throw new Error(`Module "${module}" not found`);
    },
  });
  vm.runInContext(withoutHoisting(bundle), context, { filename: 'lampnet.js' });
  return board;
}
