import { describe, expect, it } from 'vitest';
import { Drop, OK } from '../../../ipv6/wire/drop.js';
import { Icmpv6Packet, Icmpv6Repr, Icmpv6Type } from '../../../ipv6/wire/icmpv6.js';
import { IPV6_HEADER_LEN } from '../../../ipv6/wire/ipv6.js';
import { capturedEchoReply, capturedEchoRequest } from '../../sim/captured.js';

const SRC = 8;
const DST = 24;

function view(packet: Uint8Array): Icmpv6Packet {
  const v = new Icmpv6Packet();
  expect(v.check(packet, IPV6_HEADER_LEN, packet.length - IPV6_HEADER_LEN)).toBe(OK);
  return v;
}

describe('ICMPv6', () => {
  it('reads a captured Echo Request', () => {
    const v = view(capturedEchoRequest);
    expect(v.type).toBe(Icmpv6Type.echoRequest);
    expect(v.code).toBe(0);
    expect(v.identifier).toBe(0x1f7f);
    expect(v.sequence).toBe(1);
    expect(v.bodyLen).toBe(12);
  });

  it('verifies the kernel-computed checksum over the pseudo-header', () => {
    expect(view(capturedEchoRequest).checksumValid(capturedEchoRequest, SRC, capturedEchoRequest, DST)).toBe(true);
    expect(view(capturedEchoReply).checksumValid(capturedEchoReply, SRC, capturedEchoReply, DST)).toBe(true);
  });

  it('emits the captured Echo Reply back byte for byte, checksum included', () => {
    const repr = new Icmpv6Repr();
    expect(repr.parse(view(capturedEchoReply), capturedEchoReply, SRC, capturedEchoReply, DST)).toBe(OK);
    const out = new Uint8Array(repr.length);
    repr.emit(out, 0, capturedEchoReply, SRC, capturedEchoReply, DST);
    expect(out).toEqual(capturedEchoReply.subarray(IPV6_HEADER_LEN));
  });

  it('turns the captured request into the captured reply by changing only the type', () => {
    const repr = new Icmpv6Repr();
    repr.parse(view(capturedEchoRequest), capturedEchoRequest, SRC, capturedEchoRequest, DST);
    repr.type = Icmpv6Type.echoReply;
    const out = new Uint8Array(repr.length);
    repr.emit(out, 0, capturedEchoRequest, SRC, capturedEchoRequest, DST);
    expect(out).toEqual(capturedEchoReply.subarray(IPV6_HEADER_LEN));
  });

  it('rejects a corrupted checksum', () => {
    const bad = capturedEchoRequest.slice();
    bad[bad.length - 1] ^= 0x40;
    expect(new Icmpv6Repr().parse(view(bad), bad, SRC, bad, DST)).toBe(Drop.icmpBadChecksum);
  });

  it('rejects the checksum when the addresses differ from those it was computed for', () => {
    expect(view(capturedEchoRequest).checksumValid(capturedEchoRequest, SRC, capturedEchoReply, 0)).toBe(false);
  });

  it('rejects a message shorter than its header', () => {
    expect(new Icmpv6Packet().check(capturedEchoRequest, IPV6_HEADER_LEN, 7)).toBe(Drop.icmpTruncated);
  });
});
