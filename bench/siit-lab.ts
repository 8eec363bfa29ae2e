/**
 * Three machines as network namespaces for the board translator (gateway/siit/): a board (IPv4
 * only, the bundle on the real Espruino interpreter), the gateway (`lampnet gateway --board-prefix`,
 * its TUN device, forwarding on) and an IPv6 client that reaches the board at its RFC 6052 address.
 * Used by test/gateway/siit-board.test.ts and the translator's bench figure.
 *
 *   client ──veth (fd00:5117::/64, and 10.77.2.0/24 for the untranslated comparison)── gateway
 *   gateway ──veth (10.77.0.0/24, BoardLab)── board
 *
 * The client holds the IPv4-translatable address `<prefix>::10.77.1.1`, which the boards see as
 * 10.77.1.1 (the gateway's --board-clients range). Every address is 2001:db8::/32, fd00::/8 ULA
 * (not fd00::/64) or private IPv4 between these namespaces only.
 */
import { BoardLab, BOARD_IPV4, GATEWAY_IPV4, MQTT_PORT } from './espruino-board.js';
import { benchNamespace, type Netns } from './netns.js';

export const BOARD_PREFIX = '2001:db8:b0a:d::/96';
/** The board's IPv6 address as the gateway names it (dotted IPv4 part) and in hex words. */
export const BOARD_IPV6 = `2001:db8:b0a:d::${BOARD_IPV4}`;
export const BOARD_IPV6_HEX = '2001:db8:b0a:d::a4d:2';
export const CLIENT_IPV4_RANGE = '10.77.1.0/24';
export const CLIENT_IPV6 = '2001:db8:b0a:d::10.77.1.1';
/** A second address of the client (seen by the boards as 10.77.1.200), for a stranger's requests. */
export const STRANGER_IPV6 = '2001:db8:b0a:d::10.77.1.200';
/** The clients' translatable addresses: the IPv6 form of CLIENT_IPV4_RANGE. */
const CLIENT_IPV6_RANGE = '2001:db8:b0a:d::10.77.1.0/120';
/** The client's own IPv4 address, for traffic straight to the board without translation. */
export const CLIENT_IPV4 = '10.77.2.2';
export const TUN_NAME = 'lampboard0';
export const SIIT_METRICS_PORT = 19_464;
const LINK_GATEWAY = 'fd00:5117::1';
const LINK_CLIENT = 'fd00:5117::2';

export class SiitLab {
  private constructor(readonly boards: BoardLab, readonly clientNs: Netns) {}

  static async create(label: string): Promise<SiitLab> {
    const boards = await BoardLab.create(label);
    let clientNs: Netns | null = null;
    try {
      clientNs = await benchNamespace(`${label}-client`);
      const gw = boards.gatewayNs;
      await gw.mustRun('sysctl', ['-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
      await gw.ip('link', 'add', 'cl0', 'type', 'veth', 'peer', 'name', 'gw6', 'netns', clientNs.name);
      await gw.ip('-6', 'addr', 'add', `${LINK_GATEWAY}/64`, 'dev', 'cl0', 'nodad');
      await gw.ip('addr', 'add', '10.77.2.1/24', 'dev', 'cl0');
      await gw.ip('link', 'set', 'cl0', 'up');
      // The clients' translatable addresses sit inside the board prefix; this more specific route
      // sends the translator's IPv6 output for them to the client, not back into the TUN.
      await gw.ip('-6', 'route', 'add', CLIENT_IPV6_RANGE, 'via', LINK_CLIENT);
      await clientNs.ip('-6', 'addr', 'add', `${LINK_CLIENT}/64`, 'dev', 'gw6', 'nodad');
      await clientNs.ip('-6', 'addr', 'add', `${CLIENT_IPV6}/128`, 'dev', 'gw6', 'nodad');
      await clientNs.ip('-6', 'addr', 'add', `${STRANGER_IPV6}/128`, 'dev', 'gw6', 'nodad');
      await clientNs.ip('addr', 'add', `${CLIENT_IPV4}/24`, 'dev', 'gw6');
      await clientNs.ip('link', 'set', 'gw6', 'up');
      await clientNs.ip('-6', 'route', 'add', BOARD_PREFIX, 'via', LINK_GATEWAY, 'src', CLIENT_IPV6);
      await clientNs.ip('route', 'add', '10.77.0.0/24', 'via', '10.77.2.1');
      await boards.boardNs.ip('route', 'add', CLIENT_IPV4_RANGE, 'via', GATEWAY_IPV4);
      await boards.boardNs.ip('route', 'add', '10.77.2.0/24', 'via', GATEWAY_IPV4);
    } catch (err) {
      await clientNs?.delete();
      await boards.delete();
      throw err;
    }
    return new SiitLab(boards, clientNs);
  }

  /** `lampnet gateway` translating for the boards, with metrics on SIIT_METRICS_PORT in its namespace. */
  startGateway(...args: string[]): Promise<void> {
    return this.boards.startGateway('--board-prefix', BOARD_PREFIX, '--board-tun', TUN_NAME, '--board-clients', CLIENT_IPV4_RANGE,
      '--metrics-port', String(SIIT_METRICS_PORT), '--listen', '127.0.0.1', ...args);
  }

  /** The gateway's Prometheus text, fetched inside its namespace. */
  async metrics(): Promise<string> {
    const r = await this.boards.gatewayNs.mustRun(process.execPath, ['-e',
      `fetch('http://127.0.0.1:${SIIT_METRICS_PORT}/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))`]);
    return r;
  }

  /** A counter's value from the metrics text (0 when absent). */
  async metric(series: string): Promise<number> {
    const line = (await this.metrics()).split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? 0 : Number(line.slice(series.length + 1));
  }

  /** Runs a program in the client's namespace to completion. */
  client(command: string, args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
    return this.clientNs.run(command, args, timeoutMs);
  }

  get mqttPort(): number {
    return MQTT_PORT;
  }

  async delete(): Promise<void> {
    await this.clientNs.delete();
    await this.boards.delete();
  }
}
