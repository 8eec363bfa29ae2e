/**
 * The TUN link: the fleet's /64 routed by the kernel into a TUN device that this process reads, so
 * `ping -6 <prefix>::2a` from any shell on the machine reaches lamp 42.
 *
 * `openTunLink` creates the device through the native addon (ipv6/link/tun-addon.cc, built by
 * node-gyp at `npm ci`), then configures it with `ip`: MTU, queue length and link up, the host-side address
 * (normally the gateway address `<prefix>:ffff:0:0:1`) as a /128, and a route for the /64 to the
 * device. Both steps need CAP_NET_ADMIN; without it the error is one line that names `--link memory`.
 * The device (and with it the address and route) disappears when the link closes or the process ends.
 *
 * Packets move in batches (see link.ts): the addon reads every packet waiting on one wakeup into
 * `rx` and calls back once; the host handles them one by one and its replies, queued in the
 * outgoing batch, go out with one native call when the batch ends.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatIpv6 } from '../wire/address.js';
import { DEFAULT_TX_BYTES, DEFAULT_TX_PACKETS, type Link, type PacketHandler, TxBatch } from './link.js';

export interface TunLinkOptions {
  /** Interface name (at most 15 characters; `lampnet%d` lets the kernel number it). */
  name: string;
  /** The fleet's /64: the first 8 bytes of this 16-byte address. */
  prefix: Uint8Array;
  /** The host side's own address on the device (the gateway address), or null for none. */
  hostAddress?: Uint8Array | null;
  /** Device MTU (default 1500). */
  mtu?: number;
}

/** The native device as the addon exports it (see the header of tun-addon.cc). */
interface TunDevice {
  readonly name: string;
  start(onBatch: (count: number) => void): void;
  write(count: number): number;
  close(): void;
}
type TunDeviceConstructor = new (
  name: string, rxBuf: Uint8Array, rxOffs: Int32Array, rxLens: Int32Array,
  txBuf: Uint8Array, txOffs: Int32Array, txLens: Int32Array,
) => TunDevice;

const MEMORY_HINT = 'or use --link memory';
const RX_BYTES = 1024 * 1024;
const RX_PACKETS = 256;
const TX_QUEUE_LEN = 4096;

export class TunLink implements Link {
  readonly mtu: number;
  /** Packets the kernel refused to take (write() failed). */
  writeFailures = 0;
  private readonly rx = new Uint8Array(RX_BYTES);
  private readonly rxOffs = new Int32Array(RX_PACKETS);
  private readonly rxLens = new Int32Array(RX_PACKETS);
  private readonly tx: TxBatch;
  private readonly device: TunDevice;

  /** Create the device (unconfigured; `openTunLink` also configures it). */
  constructor(name: string, mtu = 1500) {
    this.mtu = mtu;
    this.tx = new TxBatch(mtu, (batch) => {
      this.writeFailures += batch.count - this.device.write(batch.count);
    }, DEFAULT_TX_BYTES, DEFAULT_TX_PACKETS);
    const Device = loadAddon();
    try {
      this.device = new Device(name, this.rx, this.rxOffs, this.rxLens, this.tx.buf, this.tx.offs, this.tx.lens);
    } catch (err) {
      throw new Error(explainOpenError(name, err));
    }
  }

  /** The interface name the kernel gave the device. */
  get name(): string {
    return this.device.name;
  }

  get txBuf(): Uint8Array {
    return this.tx.buf;
  }

  start(onPacket: PacketHandler): void {
    const { rx, rxOffs, rxLens, tx } = this;
    this.device.start((count) => {
      tx.beginInbound();
      try {
        for (let i = 0; i < count; i++) onPacket(rx, rxOffs[i], rxLens[i]);
      } finally {
        tx.endInbound();
      }
    });
  }

  reserve(maxLen: number): number {
    return this.tx.reserve(maxLen);
  }

  commit(len: number): void {
    this.tx.commit(len);
  }

  async close(): Promise<void> {
    this.tx.close();
    this.device.close();
  }
}

/** Create the TUN device, bring it up, give it `hostAddress` and route the /64 to it. */
export async function openTunLink(options: TunLinkOptions): Promise<TunLink> {
  const link = new TunLink(options.name, options.mtu);
  try {
    await configureTun(link.name, options.prefix, options.hostAddress ?? null, link.mtu);
  } catch (err) {
    await link.close();
    throw err;
  }
  return link;
}

/** The `ip` commands that make a fresh TUN device carry the fleet's /64. */
export async function configureTun(name: string, prefix: Uint8Array, hostAddress: Uint8Array | null, mtu: number): Promise<void> {
  const net = new Uint8Array(16);
  net.set(prefix.subarray(0, 8));
  // A TUN device queues 500 packets by default; a burst to many lamps outruns that before the
  // first wakeup is served, so give the kernel side more room.
  await ip(name, ['link', 'set', 'dev', name, 'mtu', String(mtu), 'txqueuelen', String(TX_QUEUE_LEN), 'up']);
  if (hostAddress !== null) await ip(name, ['-6', 'addr', 'add', `${formatIpv6(hostAddress)}/128`, 'dev', name, 'nodad']);
  await ip(name, ['-6', 'route', 'add', `${formatIpv6(net)}/64`, 'dev', name]);
}

/** Run `ip args` to configure device `name`. */
function ip(name: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('ip', args, (err, _stdout, stderr) => {
      if (err === null) return resolve();
      const detail = (stderr || err.message).trim().split('\n')[0];
      if (/not permitted|permission denied/i.test(detail)) {
        reject(new Error(`configuring TUN device "${name}" needs CAP_NET_ADMIN (\`ip ${args.join(' ')}\`: ${detail}), ${MEMORY_HINT}`));
      } else {
        reject(new Error(`\`ip ${args.join(' ')}\` failed: ${detail}`));
      }
    });
  });
}

function explainOpenError(name: string, err: unknown): string {
  const code = (err as { code?: string }).code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'EPERM' || code === 'EACCES') {
    return `creating TUN device "${name}" needs CAP_NET_ADMIN (run as root or grant the capability), ${MEMORY_HINT}`;
  }
  if (code === 'ENOENT') return `this machine has no /dev/net/tun (load the tun module), ${MEMORY_HINT}`;
  return `${message}; ${MEMORY_HINT}`;
}

let addon: TunDeviceConstructor | null = null;

/** The addon is found at `build/Release/lampnet_tun.node` above this file, from the source tree
 * and from dist/ alike. */
function loadAddon(): TunDeviceConstructor {
  if (addon !== null) return addon;
  const require = createRequire(import.meta.url);
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const candidate = join(dir, 'build', 'Release', 'lampnet_tun.node');
    if (existsSync(candidate)) {
      addon = (require(candidate) as { TunDevice: TunDeviceConstructor }).TunDevice;
      return addon;
    }
    if (dirname(dir) === dir) break;
  }
  throw new Error(`the TUN addon is not built (run \`npx node-gyp rebuild\` in the lampnet directory), ${MEMORY_HINT}`);
}
