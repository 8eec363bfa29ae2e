/**
 * Echo Requests injected into a simulator's memory link, each answer checked: the figures that
 * measure a fleet's memory also show that the fleet they measured answers. A confirmed answer is an
 * Echo Reply from the address asked, to the asker, with the request's identifier and sequence
 * number; the link delivers a packet's replies before `inject` returns, so each request is judged
 * at once and nothing is kept per request.
 */
import type { MemoryLink } from '../../ipv6/link/memory.js';
import { emitIcmpv6Header, fillIcmpv6Checksum } from '../../ipv6/wire/icmpv6.js';
import { emitIpv6Header, NextHeader } from '../../ipv6/wire/ipv6.js';

const ECHO_LEN = 8 + 8;
const ECHO_REQUEST = 128;
const ECHO_REPLY = 129;
const IDENTIFIER = 0x1234;

export interface EchoCounts {
  sent: number;
  confirmed: number;
  /** Requests answered, but not by the confirmed reply (another source, type, id or sequence). */
  errors: number;
  lost: number;
}

export class EchoCheck {
  readonly counts: EchoCounts = { sent: 0, confirmed: 0, errors: 0, lost: 0 };
  private readonly packet = new Uint8Array(40 + ECHO_LEN);
  private asked: Uint8Array | null = null;
  private rest = 0;
  private answered = false;
  private wrong = false;

  constructor(private readonly link: MemoryLink, private readonly source: Uint8Array) {
    link.onTransmit((buf, off, len) => {
      if (this.asked === null) return;
      if (this.isReply(buf, off, len)) this.answered = true;
      else this.wrong = true;
    });
  }

  /** Send one Echo Request to `dst` with sequence number `seq` and count how it was answered. */
  ask(dst: Uint8Array, seq: number): void {
    this.rest = (IDENTIFIER << 16) | (seq & 0xffff);
    emitIpv6Header(this.packet, 0, this.source, 0, dst, 0, NextHeader.icmpv6, ECHO_LEN, 64);
    emitIcmpv6Header(this.packet, 40, ECHO_REQUEST, 0, this.rest);
    fillIcmpv6Checksum(this.packet, 40, ECHO_LEN, this.source, 0, dst, 0);
    this.asked = dst;
    this.answered = false;
    this.wrong = false;
    this.counts.sent++;
    this.link.inject(this.packet, 0, this.packet.length);
    this.asked = null;
    if (this.answered) this.counts.confirmed++;
    else if (this.wrong) this.counts.errors++;
    else this.counts.lost++;
  }

  private isReply(buf: Uint8Array, off: number, len: number): boolean {
    if (len < 40 + 8 || buf[off + 6] !== NextHeader.icmpv6 || buf[off + 40] !== ECHO_REPLY || buf[off + 41] !== 0) return false;
    for (let i = 0; i < 16; i++) {
      if (buf[off + 8 + i] !== this.asked![i] || buf[off + 24 + i] !== this.source[i]) return false;
    }
    const rest = ((buf[off + 44] << 24) | (buf[off + 45] << 16) | (buf[off + 46] << 8) | buf[off + 47]) >>> 0;
    return rest === this.rest >>> 0;
  }
}
