/**
 * The gateway's board network: IPv4-only boards served at IPv6 addresses from userspace, the way the
 * simulator serves a fleet. A TUN device carries both families; the kernel routes the board prefix
 * (`<prefix>::/96`) and the IPv4 range that stands for IPv6 clients into it, and forwards what the
 * translator writes back out of it — to the boards over their IPv4 network, to the clients over
 * IPv6. The host must forward IP (net.ipv4.ip_forward, net.ipv6.conf.all.forwarding).
 *
 * `--ping-when lit`: an Echo Request reaches a board only while the registry says its light is on.
 */
import { execFile } from 'node:child_process';
import { Counter, type Registry } from 'prom-client';
import { TunLink } from '../../ipv6/link/tun.js';
import { formatIpv6 } from '../../ipv6/wire/address.js';
import type { LampRegistry } from '../registry.js';
import { BOARD_PREFIX_BITS, embeddedIpv4 } from './address.js';
import { SIIT_DROP_REASONS, siitDropReasonName, Translator } from './translator.js';

export type PingWhen = 'powered' | 'lit';

export interface BoardNetworkOptions {
  /** The /96 board prefix (address.ts `parseBoardPrefix`). */
  prefix: Uint8Array;
  /** TUN device name (`lampnet%d` lets the kernel number it). */
  tunName: string;
  /** IPv4 ranges (CIDR) that stand for IPv6 clients `<prefix>::a.b.c.d`: routed into the TUN. */
  clientRanges: string[];
  pingWhen: PingWhen;
  registry: LampRegistry;
  /** Where the translator's counters are exposed (the gateway's metrics registry). */
  metrics: Registry;
}

export interface BoardNetwork {
  readonly translator: Translator;
  /** The TUN device's name as the kernel gave it. */
  readonly tunName: string;
  /** A lamp (re-)registered: remember which board address it has, for the ping policy. */
  registered(index: number): void;
  close(): Promise<void>;
}

export async function openBoardNetwork(options: BoardNetworkOptions): Promise<BoardNetwork> {
  const { prefix, registry } = options;
  /** Lamp index by the board's IPv4 address (a Map keyed by number: no allocation per lookup). */
  const boards = new Map<number, number>();
  const answersPing = options.pingWhen === 'lit'
    ? (v4: number): boolean => {
      const i = boards.get(v4);
      return i !== undefined && registry.online(i) && registry.isOn(i);
    }
    : undefined;
  const link = new TunLink(options.tunName);
  const translator = new Translator({ prefix, link, answersPing });
  try {
    await ip(['link', 'set', 'dev', link.name, 'mtu', String(link.mtu), 'up']);
    await ip(['-6', 'route', 'add', `${formatIpv6(prefix)}/${BOARD_PREFIX_BITS}`, 'dev', link.name]);
    for (const range of options.clientRanges) await ip(['-4', 'route', 'add', range, 'dev', link.name]);
  } catch (err) {
    await link.close();
    throw err;
  }
  translator.start();
  exposeCounters(translator, options.metrics);
  return {
    translator,
    tunName: link.name,
    registered(index) {
      const v4 = embeddedIpv4(prefix, registry.address(index));
      if (v4 >= 0) boards.set(v4, index);
    },
    close: () => link.close(),
  };
}

/** The translator's counters as Prometheus series, read when /metrics is scraped. */
function exposeCounters(translator: Translator, registry: Registry): void {
  const c = translator.counters;
  new Counter({
    name: 'lampnet_gateway_siit_packets_total',
    help: 'Packets through the board translator (SIIT), by result',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ result: 'to-ipv4' }, c.toIpv4);
      this.inc({ result: 'to-ipv6' }, c.toIpv6);
      this.inc({ result: 'ping-ignored' }, c.pingsIgnored);
      this.inc({ result: 'tx-refused' }, c.txRefused);
    },
  });
  new Counter({
    name: 'lampnet_gateway_siit_dropped_total',
    help: 'Packets the board translator dropped, by reason',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const reason of SIIT_DROP_REASONS) this.inc({ reason: siitDropReasonName(reason) }, c.drops[reason]);
    },
  });
}

function ip(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('ip', args, (err, _stdout, stderr) => {
      if (err === null) resolve();
      else reject(new Error(`board network: \`ip ${args.join(' ')}\` failed: ${(stderr || err.message).trim().split('\n')[0]}`));
    });
  });
}
