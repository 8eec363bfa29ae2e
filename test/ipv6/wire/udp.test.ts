import { describe, expect, it } from 'vitest';
import { Drop, OK } from '../../../ipv6/wire/drop.js';
import { IPV6_HEADER_LEN } from '../../../ipv6/wire/ipv6.js';
import { UdpPacket, UdpRepr } from '../../../ipv6/wire/udp.js';
import { capturedUdp } from '../../sim/captured.js';

const SRC = 8;
const DST = 24;

function view(packet: Uint8Array): UdpPacket {
  const v = new UdpPacket();
  expect(v.check(packet, IPV6_HEADER_LEN, packet.length - IPV6_HEADER_LEN)).toBe(OK);
  return v;
}

describe('UDP over IPv6', () => {
  it('reads the ports and payload of a captured datagram', () => {
    const v = view(capturedUdp);
    expect(v.srcPort).toBe(40000);
    expect(v.dstPort).toBe(5683);
    expect(v.payloadLen).toBe(9);
    expect(v.buf[v.payloadOff]).toBe(0x40);
  });

  it('verifies the kernel-computed checksum', () => {
    expect(view(capturedUdp).verifyChecksum(capturedUdp, SRC, capturedUdp, DST)).toBe(OK);
  });

  it('emits the captured datagram back byte for byte', () => {
    const repr = new UdpRepr();
    expect(repr.parse(view(capturedUdp), capturedUdp, SRC, capturedUdp, DST)).toBe(OK);
    const out = new Uint8Array(repr.length);
    repr.emit(out, 0, capturedUdp, SRC, capturedUdp, DST);
    expect(out).toEqual(capturedUdp.subarray(IPV6_HEADER_LEN));
  });

  it('rejects a corrupted payload', () => {
    const bad = capturedUdp.slice();
    bad[bad.length - 1] ^= 1;
    expect(view(bad).verifyChecksum(bad, SRC, bad, DST)).toBe(Drop.udpBadChecksum);
  });

  it('rejects checksum 0, which IPv6 forbids', () => {
    const zero = capturedUdp.slice();
    zero[IPV6_HEADER_LEN + 6] = 0;
    zero[IPV6_HEADER_LEN + 7] = 0;
    expect(view(zero).verifyChecksum(zero, SRC, zero, DST)).toBe(Drop.udpZeroChecksum);
  });

  it('sends a computed checksum of 0 as 0xffff', () => {
    // Choose a payload word that makes the one's-complement sum all ones, so the checksum computes to 0.
    const repr = new UdpRepr();
    repr.srcPort = 1;
    repr.dstPort = 2;
    const addr = new Uint8Array(16);
    repr.payload = new Uint8Array(2);
    const out = new Uint8Array(10);
    repr.emit(out, 0, addr, 0, addr, 0);
    const checksum = (out[6] << 8) | out[7];
    repr.payload = Uint8Array.from([checksum >> 8, checksum & 0xff]);
    repr.emit(out, 0, addr, 0, addr, 0);
    expect((out[6] << 8) | out[7]).toBe(0xffff);
    expect(view(Uint8Array.from([...new Uint8Array(40), ...out])).verifyChecksum(addr, 0, addr, 0)).toBe(OK);
  });

  it('rejects a Length field that disagrees with the IPv6 payload', () => {
    expect(new UdpPacket().check(capturedUdp, IPV6_HEADER_LEN, capturedUdp.length - IPV6_HEADER_LEN - 1))
      .toBe(Drop.udpBadLength);
    expect(new UdpPacket().check(capturedUdp, IPV6_HEADER_LEN, 7)).toBe(Drop.udpBadLength);
  });
});
