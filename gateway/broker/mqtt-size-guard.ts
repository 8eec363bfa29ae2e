/**
 * A size limit on the MQTT packets clients send to the embedded broker, enforced on each packet's
 * fixed header as the bytes stream in.
 *
 * aedes has no limit of its own: it buffers a packet until its whole Remaining Length (up to 256 MB)
 * has arrived, so any client could make the gateway hold that much before a check sees the message.
 * The guard reads only the 2–5 header bytes of each packet and skips bodies by arithmetic, so it
 * refuses a too-large packet right after its header, before any of its body is buffered, without
 * copying or holding a chunk.
 */
import type { Duplex } from 'node:stream';

/** Large enough for every packet a lampnet client sends: a command (topic ~100 bytes, payload at
 * most 1024) or a SUBSCRIBE. What the broker sends (retained states) is not limited. */
export const DEFAULT_MAX_PACKET_BYTES = 64 * 1024;

/** MQTT's largest Remaining Length: four 7-bit digits (3.1.1 §2.2.3, 5.0 §1.5.5). */
export const MQTT_MAX_REMAINING_LENGTH = 268_435_455;

/** Why a client's connection was closed at a packet header; the label of the refusals metric. */
export const PACKET_REFUSALS = [
  'too-large', // the Remaining Length exceeds the limit
  'malformed', // the Remaining Length goes on past its 4th byte
] as const;
export type PacketRefusal = (typeof PACKET_REFUSALS)[number];

const TYPE_BYTE = 0;
const LENGTH_BYTES = 1;
const BODY = 2;

/** Follows the packet boundaries of one client's byte stream, a chunk at a time, wherever the
 * chunks split it. Once a header is refused, every later call returns the same refusal. */
export class PacketSizeScanner {
  private phase = TYPE_BYTE;
  private length = 0;
  /** Weight of the next Remaining Length digit: 1, 128, 128², 128³. */
  private digitWeight = 1;
  private bodyLeft = 0;
  private refusal: PacketRefusal | null = null;

  constructor(private readonly maxRemainingLength: number) {}

  /** Scan the next bytes of the stream; null while every header so far is within the limit. */
  scan(chunk: Uint8Array): PacketRefusal | null {
    let i = 0;
    while (i < chunk.length && this.refusal === null) {
      if (this.phase === BODY) {
        const skipped = Math.min(this.bodyLeft, chunk.length - i);
        i += skipped;
        this.bodyLeft -= skipped;
        if (this.bodyLeft === 0) this.phase = TYPE_BYTE;
      } else if (this.phase === TYPE_BYTE) {
        // Packet type and flags are aedes's to judge; only the length matters here.
        i++;
        this.phase = LENGTH_BYTES;
        this.length = 0;
        this.digitWeight = 1;
      } else {
        const digit = chunk[i++];
        this.length += (digit & 0x7f) * this.digitWeight;
        // Later digits only add, so a partial length over the limit is refused at once.
        if (this.length > this.maxRemainingLength) this.refusal = 'too-large';
        else if ((digit & 0x80) === 0) this.endHeader();
        else if (this.digitWeight === 128 ** 3) this.refusal = 'malformed';
        else this.digitWeight *= 128;
      }
    }
    return this.refusal;
  }

  private endHeader(): void {
    this.bodyLeft = this.length;
    this.phase = this.length === 0 ? TYPE_BYTE : BODY;
  }
}

/**
 * Put `stream`'s incoming bytes through a PacketSizeScanner before any reader sees them, by wrapping
 * the stream's own `push`, which a net.Socket and ws's `createWebSocketStream` call for every chunk
 * received. A refused header never enters the readable buffer: `refused` is called once, and from
 * then on every incoming byte is dropped, so the caller can still tell the client why and close the
 * connection while the rest of the oversized packet arrives.
 */
export function guardPacketSizes(stream: Duplex, maxRemainingLength: number, refused: (why: PacketRefusal) => void): void {
  const scanner = new PacketSizeScanner(maxRemainingLength);
  const push = stream.push.bind(stream);
  let dropping = false;
  stream.push = (chunk: Buffer | null, encoding?: BufferEncoding): boolean => {
    if (stream.destroyed) return false;
    if (chunk === null) return push(chunk, encoding);
    if (dropping) return true;
    const refusal = scanner.scan(chunk);
    if (refusal === null) return push(chunk, encoding);
    dropping = true;
    refused(refusal);
    return true;
  };
}
