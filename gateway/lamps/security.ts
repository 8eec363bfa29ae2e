/**
 * The gateway's side of OSCORE (RFC 8613): it protects what it sends a lamp and verifies the lamp's
 * answers, under the lamp's context derived from the fleet secret and the lamp id
 * (protocol/oscore/fleet.ts), so it holds no key table.
 *
 * State per lamp: none that must be kept. Contexts are derived on demand and kept in a bounded cache
 * (deriving one costs three HKDFs); the gateway's Sender Sequence Number is one counter shared by
 * every lamp's context (each lamp sees increasing, gappy numbers, which its replay window takes), so
 * the lamps' contexts need no per-lamp counter and a restart needs one persisted number: the counter
 * is stored SEQUENCE_STEP ahead in `sequenceFile` before a number past the stored one is used
 * (Appendix B.1.1), and a restart resumes from there. Without a file it starts from the clock
 * (milliseconds since 2026 times 4), which stays ahead of what a previous run used unless that run
 * averaged more than 4,000 protected requests a second.
 *
 * Responses from lamps are verified without a replay window: they carry no Partial IV of their own
 * (their nonce is the request's), and a response is accepted once, by the exchange it answers.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { CoapReader } from '../../protocol/coap.js';
import { usePrimitives } from '../../protocol/oscore/crypto.js';
import { MAX_SEQUENCE, type SecurityContext } from '../../protocol/oscore/context.js';
import { gatewayContext } from '../../protocol/oscore/fleet.js';
import { oscore, protectRequest, unprotectResponse } from '../../protocol/oscore/message.js';
import { nodePrimitives } from '../../protocol/oscore/node-primitives.js';

export interface LampKeysOptions {
  fleetSecret: Uint8Array;
  /** Where the sequence bound is persisted; null: start from the clock. */
  sequenceFile: string | null;
  /** Most derived contexts kept (default 4,096). */
  cacheSize?: number;
}

/** How far ahead of the sequence numbers in use the stored bound moves: one file write per this
 * many protected requests. */
export const GATEWAY_SEQUENCE_STEP = 65536;

const CLOCK_EPOCH_MS = Date.UTC(2026, 0, 1);

export class LampKeys {
  private readonly fleetSecret: Uint8Array;
  private readonly sequenceFile: string | null;
  private readonly cacheSize: number;
  private readonly cache = new Map<string, SecurityContext>();
  private seq: number;
  private bound: number;
  private readonly o = oscore();

  constructor(options: LampKeysOptions) {
    usePrimitives(nodePrimitives);
    this.fleetSecret = options.fleetSecret;
    this.sequenceFile = options.sequenceFile;
    this.cacheSize = options.cacheSize ?? 4096;
    const stored = this.sequenceFile === null ? NaN : readStored(this.sequenceFile);
    this.seq = Number.isFinite(stored) ? stored : Math.max(0, (Date.now() - CLOCK_EPOCH_MS) * 4);
    this.bound = this.seq;
  }

  /** The next sequence number the gateway will use (for tests and restarts). */
  get nextSequence(): number {
    return this.seq;
  }

  /** Why the last protect or verify failed. */
  get error(): string {
    return this.o.error;
  }

  /** The gateway's context for a lamp, derived once and cached. */
  context(lampId: string): SecurityContext {
    let ctx = this.cache.get(lampId);
    if (ctx === undefined) {
      ctx = gatewayContext(this.fleetSecret, lampId, 0, 0);
      if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(lampId, ctx);
    }
    return ctx;
  }

  /** Protects the plain request in `r` for lamp `lampId` into `out`; returns its length and its
   * Partial IV (what binds the response), or length -1 (reason in `error`). */
  protect(lampId: string, r: CoapReader, out: Uint8Array): { len: number; piv: number } {
    const ctx = this.context(lampId);
    if (this.seq >= this.bound) this.persist(Math.min(this.seq + GATEWAY_SEQUENCE_STEP, MAX_SEQUENCE - 1));
    ctx.seq = this.seq;
    // The shared counter's bound is kept here, not in the context.
    ctx.seqBound = MAX_SEQUENCE;
    const len = protectRequest(this.o, ctx, r, out, 0);
    if (len >= 0) this.seq = ctx.seq;
    return { len, piv: this.o.piv };
  }

  /** Verifies lamp `lampId`'s protected response in `r` to the request with Partial IV `piv`, into
   * `out`; returns the plain response's length or -1 (reason in `error`). */
  verify(lampId: string, r: CoapReader, piv: number, out: Uint8Array): number {
    return unprotectResponse(this.o, this.context(lampId), r, piv, out, 0);
  }

  private persist(bound: number): void {
    if (this.sequenceFile !== null) writeFileSync(this.sequenceFile, `${bound}\n`);
    this.bound = bound;
  }
}

function readStored(file: string): number {
  try {
    return Number(readFileSync(file, 'utf8').trim());
  } catch {
    return NaN;
  }
}
