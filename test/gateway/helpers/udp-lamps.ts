/**
 * Real firmware lamps on real UDP sockets, for gateway tests until (and besides) the simulator:
 * lamp n runs firmware/core.ts on its own udp4 socket on 127.0.0.1, so the gateway's dual-stack
 * socket sees it as ::ffff:127.0.0.1 — exactly the IPv4 board case of issue 5. The HAL runs on real
 * timers. The firmware always addresses its gateway at port 5683; the HAL maps that to the
 * gateway's ephemeral test port, as a platform is free to.
 */
import dgram from 'node:dgram';
import { boot, halt, readState, receive, wake } from '../../../firmware/core.js';
import type { Addr, Hal } from '../../../firmware/hal.js';
import { createLamp, defaultConfig, type LampConfig, type LampState } from '../../../firmware/lamp.js';
import type { LampSnapshot } from '../../../protocol/lamp.js';
import { COAP_PORT } from '../../../protocol/lamp.js';

const GATEWAY_HOST = '127.0.0.1';

export interface UdpLampsOptions {
  /** The gateway's CoAP port on 127.0.0.1. */
  gatewayPort: number;
  /** Adjust lamp n's config (1-based) before it boots. */
  configure?: (config: LampConfig, n: number) => void;
}

export interface UdpLamps {
  /** Lamp n is lamps[n - 1]; its id is String(n). */
  readonly lamps: LampState[];
  /** The UDP port lamp n listens on. */
  port(n: number): number;
  state(n: number): LampSnapshot;
  /** Power cut: the lamp stops answering and reporting. */
  kill(n: number): void;
  /** Power back: the lamp boots and registers again. */
  revive(n: number): void;
  close(): Promise<void>;
}

export async function startUdpLamps(count: number, options: UdpLampsOptions): Promise<UdpLamps> {
  const sockets: dgram.Socket[] = [];
  const timers: (NodeJS.Timeout | null)[] = [];
  const lamps: LampState[] = [];
  let closed = false;

  const hal: Hal = {
    now: () => Date.now(),
    wakeAt(lamp, atMs) {
      const k = lamp.n - 1;
      if (timers[k]) clearTimeout(timers[k]!);
      timers[k] = null;
      if (closed || !Number.isFinite(atMs)) return;
      timers[k] = setTimeout(() => {
        timers[k] = null;
        wake(hal, lamp);
      }, Math.max(0, atMs - Date.now()));
    },
    light() {},
    send(lamp, to, port, data, len) {
      if (closed) return;
      const toPort = to === GATEWAY_HOST && port === COAP_PORT ? options.gatewayPort : port;
      sockets[lamp.n - 1].send(Buffer.from(data.subarray(0, len)), toPort, String(to));
    },
    setGroups() {},
    saveConfig() {},
    gateway: (): Addr => GATEWAY_HOST,
    trusted: (_lamp, from) => from === GATEWAY_HOST,
    random: Math.random,
    reboot(lamp) {
      setImmediate(() => !closed && boot(hal, lamp));
    },
    memoryFree: () => process.memoryUsage().heapUsed / 1000,
    log() {},
  };

  for (let n = 1; n <= count; n++) {
    const config = defaultConfig(String(n));
    config.powerOn = 0;
    options.configure?.(config, n);
    const lamp = createLamp(config, n);
    lamps.push(lamp);
    timers.push(null);
    const socket = dgram.createSocket('udp4');
    socket.on('message', (msg, rinfo) => {
      if (!closed) receive(hal, lamp, rinfo.address, rinfo.port, msg, msg.length);
    });
    await new Promise<void>((resolve) => socket.bind(0, GATEWAY_HOST, resolve));
    sockets.push(socket);
  }
  for (const lamp of lamps) boot(hal, lamp);

  return {
    lamps,
    port: (n) => sockets[n - 1].address().port,
    state: (n) => readState(hal, lamps[n - 1]),
    kill: (n) => halt(hal, lamps[n - 1]),
    revive: (n) => boot(hal, lamps[n - 1]),
    async close() {
      closed = true;
      for (const t of timers) if (t) clearTimeout(t);
      await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
