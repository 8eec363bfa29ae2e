/**
 * Board addresses: an IPv4-only board at a.b.c.d is named `<board-prefix>::a.b.c.d`, its IPv4
 * address embedded in the low 32 bits of a network-specific /96 prefix (RFC 6052 §2.2). The mapping
 * is arithmetic both ways, so the translator (translator.ts) and the gateway's own view of a board
 * (`boardEndpoint`) need no table.
 */
import { isIPv4 } from 'node:net';
import type { DatagramEndpoint } from '../../protocol/datagram.js';
import { formatIpv6, parseIpv6 } from '../../ipv6/wire/address.js';

/** The only prefix length implemented: the IPv4 address is the last 32 bits (no u-octet). */
export const BOARD_PREFIX_BITS = 96;

/** The 16-byte prefix of `<address>/96` (low 32 bits zero); throws naming the input otherwise. */
export function parseBoardPrefix(text: string): Uint8Array {
  const slash = text.indexOf('/');
  const bits = slash < 0 ? '' : text.slice(slash + 1);
  const prefix = slash < 0 ? null : parseIpv6(text.slice(0, slash));
  if (prefix === null || bits !== String(BOARD_PREFIX_BITS)) {
    throw new Error(`board prefix "${text}" is not an IPv6 /${BOARD_PREFIX_BITS} prefix (e.g. 2001:db8:b0a:d::/96)`);
  }
  if (prefix[0] === 0xff) throw new Error(`board prefix "${text}" is multicast; expected a unicast /96`);
  prefix.fill(0, 12);
  return prefix;
}

/** `a.b.c.d` as a 32-bit unsigned number, or -1 when `text` is not a dotted quad. */
export function ipv4Number(text: string): number {
  if (!isIPv4(text)) return -1;
  const [a, b, c, d] = text.split('.').map(Number);
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

function dottedQuad(v4: number): string {
  return `${v4 >>> 24}.${(v4 >>> 16) & 0xff}.${(v4 >>> 8) & 0xff}.${v4 & 0xff}`;
}

/** The board's IPv6 address as text, the IPv4 part dotted (RFC 6052 §2.4 allows either form;
 * dotted shows which board it is). */
export function boardAddressText(prefix: Uint8Array, v4: number): string {
  const marked = prefix.slice(0, 16);
  // Non-zero low words keep the zero-run compression inside the prefix; they are then replaced.
  marked.fill(0xff, 12);
  return `${formatIpv6(marked).slice(0, -'ffff:ffff'.length)}${dottedQuad(v4)}`;
}

/** The IPv4 address embedded in `addr` if it lies in `prefix`/96, else -1. */
export function embeddedIpv4(prefix: Uint8Array, addr: string): number {
  const bytes = parseIpv6(addr);
  if (bytes === null) return -1;
  for (let i = 0; i < 12; i++) if (bytes[i] !== prefix[i]) return -1;
  return ((bytes[12] << 24) | (bytes[13] << 16) | (bytes[14] << 8) | bytes[15]) >>> 0;
}

/** The IPv4 address of an IPv4-mapped peer (`::ffff:a.b.c.d`), or -1. */
function mappedIpv4(addr: string): number {
  return addr.toLowerCase().startsWith('::ffff:') ? ipv4Number(addr.slice(7)) : -1;
}

/**
 * The gateway's transport with IPv4 boards renamed by their board address: a datagram from
 * `::ffff:a.b.c.d` arrives as from `<prefix>::a.b.c.d`, and one sent to `<prefix>::a.b.c.d` leaves
 * for `::ffff:a.b.c.d` straight over IPv4 (the gateway sits on the boards' network, so its own
 * traffic needs no translation). The registry, MQTT state and commands thus all carry the address
 * an IPv6 client reaches the board at.
 */
export function boardEndpoint(inner: DatagramEndpoint, prefix: Uint8Array): DatagramEndpoint {
  return {
    multicast: inner.multicast,
    send(addr, port, data) {
      const v4 = embeddedIpv4(prefix, addr);
      inner.send(v4 < 0 ? addr : `::ffff:${dottedQuad(v4)}`, port, data);
    },
    onMessage(cb) {
      inner.onMessage((from, port, data) => {
        const v4 = mappedIpv4(from);
        cb(v4 < 0 ? from : boardAddressText(prefix, v4), port, data);
      });
    },
    close: () => inner.close(),
  };
}
