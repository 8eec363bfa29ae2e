/**
 * The interface every simulator link implements (TUN, in-memory), and the outgoing batch they share.
 *
 * A link moves raw IPv6 packets (no link-layer header) between "the host side" (the kernel behind a
 * TUN device, or a test injecting bytes) and the simulator's userspace IPv6 host.
 *
 * Inbound: `start(onPacket)` — the link calls `onPacket(buf, off, len)` once per packet; the bytes
 * are valid only during the call (the link reuses its receive buffer). Packets arrive in batches
 * (one TUN wakeup reads many); replies written while a batch is handled leave together when it ends.
 *
 * Outbound, without allocating: `reserve(maxLen)` returns the offset in `txBuf` where the caller
 * writes one packet of at most `maxLen` bytes, then `commit(len)` queues the `len` bytes written.
 * A reserve that does not fit the queued batch sends the batch first, so a reply is never refused for
 * lack of room while the link works; `reserve` returns -1 only when `maxLen` exceeds the MTU (or the
 * link is closed). Packets committed outside an inbound batch (a lamp's timer firing) leave on the
 * next turn of the event loop, coalesced into one batch.
 */

/** Receives one inbound packet `buf[off..off+len)`. */
export type PacketHandler = (buf: Uint8Array, off: number, len: number) => void;

export interface Link {
  /** The largest packet the link carries, in bytes. */
  readonly mtu: number;
  /** The outgoing batch buffer that `reserve` hands out offsets into. */
  readonly txBuf: Uint8Array;
  /** Begin delivering inbound packets to `onPacket`. */
  start(onPacket: PacketHandler): void;
  /** Offset in `txBuf` for one outgoing packet of up to `maxLen` bytes, or -1 (see file header). */
  reserve(maxLen: number): number;
  /** Queue the packet of `len` bytes written at the offset the last `reserve` returned. */
  commit(len: number): void;
  /** Send what is queued and release the link (the TUN device disappears with it). */
  close(): Promise<void>;
}

/** Default outgoing batch: room for 256 packets and 512 KiB. */
export const DEFAULT_TX_PACKETS = 256;
export const DEFAULT_TX_BYTES = 512 * 1024;

/**
 * The outgoing batch both links use: packets laid out back to back in one buffer, with their offsets
 * and lengths in typed arrays that a native writer can read directly. `send(batch)` transmits
 * `count` packets (it may read `count` again after delivering each one: packets committed while it
 * runs are sent by the same call); `afterSend`, if given, runs once sending is over, when new
 * packets may be queued again.
 */
export class TxBatch {
  readonly buf: Uint8Array;
  readonly offs: Int32Array;
  readonly lens: Int32Array;
  count = 0;
  /** Packets refused: committed while a full batch was being sent and no room was left. */
  overflows = 0;
  private used = 0;
  private reservedOff = -1;
  private inbound = false;
  private sending = false;
  private flushScheduled = false;
  private closed = false;
  private readonly flushSoon = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  constructor(
    readonly mtu: number,
    private readonly send: (batch: TxBatch) => void,
    bytes = DEFAULT_TX_BYTES,
    packets = DEFAULT_TX_PACKETS,
    private readonly afterSend: (() => void) | null = null,
  ) {
    if (bytes < mtu) throw new Error(`outgoing batch of ${bytes} bytes cannot hold one ${mtu}-byte packet`);
    this.buf = new Uint8Array(bytes);
    this.offs = new Int32Array(packets);
    this.lens = new Int32Array(packets);
  }

  reserve(maxLen: number): number {
    if (maxLen > this.mtu || this.closed) return -1;
    if (this.count === this.offs.length || this.used + maxLen > this.buf.length) {
      this.flush();
      if (this.count === this.offs.length || this.used + maxLen > this.buf.length) {
        this.overflows++;
        return -1;
      }
    }
    this.reservedOff = this.used;
    return this.used;
  }

  commit(len: number): void {
    if (this.reservedOff < 0) return;
    this.offs[this.count] = this.reservedOff;
    this.lens[this.count] = len;
    this.count++;
    this.used = this.reservedOff + len;
    this.reservedOff = -1;
    if (!this.inbound && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushSoon);
    }
  }

  /** Mark the start of an inbound batch: commits wait for `endInbound`. */
  beginInbound(): void {
    this.inbound = true;
  }

  /** The inbound batch is handled: send its replies now. */
  endInbound(): void {
    this.inbound = false;
    this.flush();
  }

  /** Send whatever is queued (no-op when empty or already sending). */
  flush(): void {
    if (this.sending || this.count === 0) return;
    this.sending = true;
    try {
      this.send(this);
    } finally {
      this.sending = false;
      this.count = 0;
      this.used = 0;
    }
    if (this.afterSend !== null) this.afterSend();
  }

  /** Send what is queued and refuse further packets. */
  close(): void {
    this.flush();
    this.closed = true;
  }
}
