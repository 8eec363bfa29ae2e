/** The packet-size scanner: it follows MQTT fixed headers however the bytes are chunked. */
import { describe, expect, it } from 'vitest';
import { MQTT_MAX_REMAINING_LENGTH, PacketSizeScanner } from '../../gateway/broker/mqtt-size-guard.js';

/** A packet's fixed header: the type byte, then the Remaining Length as MQTT's variable byte integer. */
function header(typeByte: number, remainingLength: number): Buffer {
  const bytes = [typeByte];
  let rest = remainingLength;
  do {
    const digit = rest % 128;
    rest = Math.floor(rest / 128);
    bytes.push(rest > 0 ? digit | 0x80 : digit);
  } while (rest > 0);
  return Buffer.from(bytes);
}

/** A packet of the given Remaining Length; the scanner never looks at the body's content. */
const packet = (typeByte: number, remainingLength: number): Buffer =>
  Buffer.concat([header(typeByte, remainingLength), Buffer.alloc(remainingLength, 0x30)]);

const LIMIT = 20_000;
// 1-, 2- and 3-byte lengths, empty packets (PINGREQ, DISCONNECT) and one exactly at the limit.
const STREAM = Buffer.concat([
  packet(0x10, 15), packet(0x30, 0), packet(0x30, 127), packet(0xc0, 0), packet(0x32, 128),
  packet(0x82, 300), packet(0x30, 16_383), packet(0x30, 16_384), packet(0x30, LIMIT), packet(0xe0, 0),
]);

describe('MQTT packet size scanner', () => {
  it('accepts a stream of packets within the limit split at every byte boundary', () => {
    for (let at = 0; at <= STREAM.length; at++) {
      const scanner = new PacketSizeScanner(LIMIT);
      expect(scanner.scan(STREAM.subarray(0, at)), `split at ${at}`).toBeNull();
      expect(scanner.scan(STREAM.subarray(at)), `split at ${at}`).toBeNull();
    }
  });

  it('accepts the same stream one byte at a time and in one chunk', () => {
    const byByte = new PacketSizeScanner(LIMIT);
    for (let i = 0; i < STREAM.length; i++) expect(byByte.scan(STREAM.subarray(i, i + 1)), `byte ${i}`).toBeNull();
    expect(new PacketSizeScanner(LIMIT).scan(STREAM)).toBeNull();
  });

  it('keeps following packet boundaries after a chunk ends inside a body', () => {
    const scanner = new PacketSizeScanner(LIMIT);
    const big = packet(0x30, LIMIT);
    expect(scanner.scan(big.subarray(0, 100))).toBeNull();
    // The rest of the body, then a header that is too large in the same chunk.
    expect(scanner.scan(Buffer.concat([big.subarray(100), header(0x30, LIMIT + 1)]))).toBe('too-large');
  });

  it('refuses a Remaining Length one over the limit at the byte that decides it', () => {
    const scanner = new PacketSizeScanner(LIMIT);
    expect(scanner.scan(STREAM)).toBeNull();
    const tooLarge = header(0x30, LIMIT + 1); // 0x30 0xa1 0x9c 0x01
    expect(tooLarge).toHaveLength(4);
    expect(scanner.scan(tooLarge.subarray(0, 1))).toBeNull();
    expect(scanner.scan(tooLarge.subarray(1, 2))).toBeNull();
    expect(scanner.scan(tooLarge.subarray(2, 3))).toBeNull();
    expect(scanner.scan(tooLarge.subarray(3, 4))).toBe('too-large');
  });

  it('refuses a 100 MB PUBLISH from its header alone, wherever the header is split', () => {
    const announced = header(0x30, 100_000_000);
    for (let at = 0; at <= announced.length; at++) {
      const scanner = new PacketSizeScanner(64 * 1024);
      const first = scanner.scan(Buffer.concat([STREAM, announced.subarray(0, at)]));
      const second = scanner.scan(announced.subarray(at));
      expect(first ?? second, `split at ${at}`).toBe('too-large');
    }
  });

  it('refuses a packet among several in one chunk and keeps refusing afterwards', () => {
    const scanner = new PacketSizeScanner(LIMIT);
    expect(scanner.scan(Buffer.concat([packet(0x10, 15), header(0x30, LIMIT + 1), packet(0xc0, 0)]))).toBe('too-large');
    expect(scanner.scan(packet(0xc0, 0))).toBe('too-large');
  });

  it('refuses a Remaining Length that continues past its 4th byte as malformed', () => {
    const scanner = new PacketSizeScanner(MQTT_MAX_REMAINING_LENGTH);
    expect(scanner.scan(Buffer.from([0x30, 0x80, 0x80, 0x80]))).toBeNull();
    expect(scanner.scan(Buffer.from([0x80]))).toBe('malformed');
  });

  it('accepts the largest Remaining Length MQTT can encode when the limit allows it', () => {
    const scanner = new PacketSizeScanner(MQTT_MAX_REMAINING_LENGTH);
    expect(scanner.scan(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]))).toBeNull();
  });
});
