import { describe, expect, it } from 'vitest';
import { Drop, OK } from '../../../ipv6/wire/drop.js';
import { IPV6_HEADER_LEN, Ipv6Packet, Ipv6Repr, NextHeader } from '../../../ipv6/wire/ipv6.js';
import { ExtensionHeaderWalk } from '../../../ipv6/wire/ipv6ext.js';
import { capturedEchoRequest, hex } from '../../sim/captured.js';

describe('IPv6 fixed header', () => {
  it('reads the fields of a captured packet', () => {
    const view = new Ipv6Packet();
    expect(view.check(capturedEchoRequest, 0, capturedEchoRequest.length)).toBe(OK);
    expect(view.version).toBe(6);
    expect(view.flowLabel).toBe(0x2bc43);
    expect(view.payloadLen).toBe(20);
    expect(view.nextHeader).toBe(NextHeader.icmpv6);
    expect(view.hopLimit).toBe(64);
    expect(view.buf.subarray(view.dstOff, view.dstOff + 16)).toEqual(hex('20010db800000000000000000000002a'));
  });

  it('emits the captured header back byte for byte', () => {
    const view = new Ipv6Packet();
    view.check(capturedEchoRequest, 0, capturedEchoRequest.length);
    const out = new Uint8Array(IPV6_HEADER_LEN);
    new Ipv6Repr().parse(view).emit(out, 0);
    expect(out).toEqual(capturedEchoRequest.subarray(0, IPV6_HEADER_LEN));
  });

  it('works at an offset inside a larger buffer', () => {
    const buf = new Uint8Array(100);
    buf.set(capturedEchoRequest, 7);
    const view = new Ipv6Packet();
    expect(view.check(buf, 7, capturedEchoRequest.length)).toBe(OK);
    expect(view.payloadOff).toBe(47);
  });

  it('ignores bytes after the payload length (link padding)', () => {
    const padded = new Uint8Array(capturedEchoRequest.length + 6);
    padded.set(capturedEchoRequest);
    const view = new Ipv6Packet();
    expect(view.check(padded, 0, padded.length)).toBe(OK);
    expect(view.len).toBe(capturedEchoRequest.length);
  });

  it('rejects a frame shorter than the header', () => {
    expect(new Ipv6Packet().check(capturedEchoRequest, 0, 39)).toBe(Drop.shortFrame);
  });

  it('rejects a length that runs past the buffer', () => {
    expect(new Ipv6Packet().check(capturedEchoRequest, 10, capturedEchoRequest.length)).toBe(Drop.shortFrame);
  });

  it('rejects a version other than 6', () => {
    const v4ish = capturedEchoRequest.slice();
    v4ish[0] = 0x45;
    expect(new Ipv6Packet().check(v4ish, 0, v4ish.length)).toBe(Drop.badVersion);
  });

  it('rejects a payload length longer than the frame', () => {
    expect(new Ipv6Packet().check(capturedEchoRequest, 0, capturedEchoRequest.length - 1))
      .toBe(Drop.payloadLengthExceedsFrame);
  });
});

describe('IPv6 extension-header chain', () => {
  // Each test builds a payload: extension headers then an 8-byte "upper layer" of UDP.
  const walk = (nextHeader: number, payloadHex: string) => {
    const payload = hex(payloadHex);
    const w = new ExtensionHeaderWalk();
    const result = w.walk(payload, 0, payload.length, nextHeader);
    return { result, protocol: w.protocol, offset: w.offset };
  };
  const udp = '0000000000080000';

  it('passes straight to the upper layer when there are none', () => {
    expect(walk(NextHeader.udp, udp)).toEqual({ result: OK, protocol: NextHeader.udp, offset: 0 });
  });

  it('skips Hop-by-Hop with a Router Alert and PadN', () => {
    // next=udp, len=0 (8 bytes): router alert (05 02 0000), PadN (01 00)
    expect(walk(NextHeader.hopByHop, '1100050200000100' + udp)).toEqual({ result: OK, protocol: 17, offset: 8 });
  });

  it('skips a chain of Hop-by-Hop, Destination Options and Routing with segments left 0', () => {
    const hbh = '3c00010400000000'; // next=dest opts, PadN 4
    const dst = '2b01' + '0108' + '00'.repeat(8) + '01020000'; // next=routing, 16 bytes
    const rt = '1100000000000000'; // next=udp, type 0, segments left 0
    expect(walk(NextHeader.hopByHop, hbh + dst + rt + udp)).toEqual({ result: OK, protocol: 17, offset: 32 });
  });

  it('skips Pad1 options', () => {
    expect(walk(NextHeader.destinationOptions, '1100000000000000' + udp).result).toBe(OK);
  });

  it('skips an unknown option whose type says skip', () => {
    expect(walk(NextHeader.destinationOptions, '11001e0400000000' + udp).result).toBe(OK);
  });

  it('drops an unknown option whose type says discard', () => {
    expect(walk(NextHeader.destinationOptions, '11005e0400000000' + udp).result).toBe(Drop.unrecognizedOption);
    expect(walk(NextHeader.destinationOptions, '1100c20400000000' + udp).result).toBe(Drop.unrecognizedOption);
  });

  it('drops an option that overruns its header', () => {
    expect(walk(NextHeader.destinationOptions, '1100010900000000' + udp).result).toBe(Drop.badExtensionHeader);
  });

  it('drops a header whose length runs past the packet', () => {
    expect(walk(NextHeader.destinationOptions, '1101000000000000').result).toBe(Drop.badExtensionHeader);
    expect(walk(NextHeader.routing, '11000000').result).toBe(Drop.badExtensionHeader);
  });

  it('drops a Hop-by-Hop header that is not first', () => {
    expect(walk(NextHeader.destinationOptions, '0000010400000000' + '1100010400000000' + udp).result)
      .toBe(Drop.misplacedHopByHop);
  });

  it('drops a routing header with segments left', () => {
    expect(walk(NextHeader.routing, '1102040100000000' + '00'.repeat(16) + udp).result).toBe(Drop.routingSegmentsLeft);
  });

  it('drops fragments', () => {
    expect(walk(NextHeader.fragment, '1100000100000001' + udp).result).toBe(Drop.fragment);
    expect(walk(NextHeader.destinationOptions, '2c00010400000000' + '1100000100000001' + udp).result).toBe(Drop.fragment);
  });

  it('reports No Next Header', () => {
    expect(walk(NextHeader.destinationOptions, '3b00010400000000').result).toBe(Drop.noNextHeader);
  });

  it('ends a long chain of empty headers at the packet end', () => {
    expect(walk(NextHeader.destinationOptions, '3c00010400000000'.repeat(1000)).result).toBe(Drop.badExtensionHeader);
  });
});
