/**
 * IPv6 addresses as 16 bytes and as text (RFC 4291 §2.2 input, RFC 5952 output).
 *
 * The packet path never sees text: it compares and copies bytes. Text conversion is for the edges —
 * CLI options, the in-process gateway endpoint, logs and tests — and allocates.
 */

/** Parse an IPv6 address in text form (`2001:db8::2a`, `::ffff:192.0.2.1`); null if it is not one.
 * Zone indices (`%eth0`) and prefixes (`/64`) are not addresses and are rejected. */
export function parseIpv6(text: string): Uint8Array | null {
  const out = new Uint8Array(16);
  return writeIpv6(text, out, 0) ? out : null;
}

/** Like `parseIpv6` but into `out[off..off+16)`; returns false (leaving `out` partly written) when
 * `text` is not an IPv6 address. */
export function writeIpv6(text: string, out: Uint8Array, off: number): boolean {
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const compressed = halves.length === 2;
  const head = parseWords(halves[0], !compressed);
  const tail = compressed ? parseWords(halves[1], true) : [];
  if (head === null || tail === null) return false;
  if (compressed ? head.length + tail.length > 7 : head.length !== 8) return false;
  out.fill(0, off, off + 16);
  for (let i = 0; i < head.length; i++) writeWord(out, off + i * 2, head[i]);
  for (let i = 0; i < tail.length; i++) writeWord(out, off + (8 - tail.length + i) * 2, tail[i]);
  return true;
}

function writeWord(out: Uint8Array, off: number, word: number): void {
  out[off] = word >> 8;
  out[off + 1] = word & 0xff;
}

/** The 16-bit words of one side of `::`; a dotted quad may end the address (RFC 4291 §2.2 form 3). */
function parseWords(text: string, mayEndInDottedQuad: boolean): number[] | null {
  if (text === '') return [];
  const parts = text.split(':');
  const words: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (mayEndInDottedQuad && i === parts.length - 1 && part.indexOf('.') !== -1) {
      const v4 = parseDottedQuad(part);
      if (v4 === null) return null;
      words.push(v4[0], v4[1]);
    } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) {
      words.push(parseInt(part, 16));
    } else {
      return null;
    }
  }
  return words;
}

function parseDottedQuad(text: string): [number, number] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    bytes.push(value);
  }
  return [(bytes[0] << 8) | bytes[1], (bytes[2] << 8) | bytes[3]];
}

/** Format the 16 bytes at `buf[off..off+16)` in the RFC 5952 canonical form: lowercase, no leading
 * zeros, the longest run (of two or more) zero words as `::`, the first such run on a tie. */
export function formatIpv6(buf: Uint8Array, off = 0): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((buf[off + i * 2] << 8) | buf[off + i * 2 + 1]);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = (from: number, to: number) => words.slice(from, to).map((w) => w.toString(16)).join(':');
  if (bestStart === -1) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

/** Whether the address at `buf[off]` is multicast (ff00::/8). */
export function isMulticast(buf: Uint8Array, off: number): boolean {
  return buf[off] === 0xff;
}

/** Whether the address at `buf[off]` is the unspecified address `::`. */
export function isUnspecified(buf: Uint8Array, off: number): boolean {
  for (let i = 0; i < 16; i++) if (buf[off + i] !== 0) return false;
  return true;
}

/** Whether two 16-byte addresses are equal. */
export function addressEquals(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): boolean {
  for (let i = 0; i < 16; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  return true;
}

/** Does `addr` fall inside `prefix`/`bits`? */
export function inPrefix(addr: Uint8Array, off: number, prefix: Uint8Array, bits: number): boolean {
  let i = 0;
  for (; bits >= 8; bits -= 8, i++) if (addr[off + i] !== prefix[i]) return false;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return (addr[off + i] & mask) === (prefix[i] & mask);
}
