import { describe, expect, it } from 'vitest';
import { adjustChecksum, finishChecksum, foldSum, sumVerifies, sumWords } from '../../../ipv6/wire/checksum.js';
import { capturedEchoReply, capturedEchoRequest } from '../../sim/captured.js';

describe('Internet checksum', () => {
  it('sums the RFC 1071 §3 example to 0xddf2', () => {
    const bytes = Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
    expect(foldSum(sumWords(bytes, 0, bytes.length, 0))).toBe(0xddf2);
    expect(finishChecksum(sumWords(bytes, 0, bytes.length, 0))).toBe(0x220d);
  });

  it('pads an odd trailing byte with zero', () => {
    expect(sumWords(Uint8Array.from([0x12, 0x34, 0x56]), 0, 3, 0)).toBe(0x1234 + 0x5600);
  });

  it('accepts a running sum so regions can be added without copying', () => {
    const bytes = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const whole = sumWords(bytes, 0, 8, 0);
    expect(sumWords(bytes, 4, 4, sumWords(bytes, 0, 4, 0))).toBe(whole);
  });

  it('verifies data that carries its own checksum', () => {
    const bytes = Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7, 0x22, 0x0d]);
    expect(sumVerifies(sumWords(bytes, 0, bytes.length, 0))).toBe(true);
    bytes[0] ^= 1;
    expect(sumVerifies(sumWords(bytes, 0, bytes.length, 0))).toBe(false);
  });

  it('folds carries of a long run of 0xffff words', () => {
    const bytes = new Uint8Array(65_534).fill(0xff);
    expect(foldSum(sumWords(bytes, 0, bytes.length, 0))).toBe(0xffff);
  });

  it('adjusts a checksum for one changed word as a full recomputation would (RFC 1624)', () => {
    // The captured Echo Request and Reply differ only in the type (128 -> 129) and the checksum.
    const requestChecksum = (capturedEchoRequest[42] << 8) | capturedEchoRequest[43];
    const replyChecksum = (capturedEchoReply[42] << 8) | capturedEchoReply[43];
    expect(adjustChecksum(requestChecksum, 0x8000, 0x8100)).toBe(replyChecksum);
  });
});
