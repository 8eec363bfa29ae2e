/**
 * A token bucket on any millisecond clock: `perSecond` tokens a second, at most `burst` saved up.
 * The simulator's two rate limits use it: ICMPv6 errors (RFC 4443 §2.4(f)) and the pace of the
 * lamps' own datagrams (sim/scheduler.ts). It never allocates.
 */
export class TokenBucket {
  private tokens: number;
  private refilledAt: number;
  private readonly perMs: number;

  constructor(private readonly now: () => number, readonly perSecond: number, readonly burst: number) {
    if (!(perSecond > 0) || !(burst >= 1)) throw new Error(`a token bucket needs a rate above 0 and a burst of at least 1, got ${perSecond}/s and ${burst}`);
    this.perMs = perSecond / 1000;
    this.tokens = burst;
    this.refilledAt = now();
  }

  /** Tokens there are now (below 1 when spending went ahead of the rate). */
  available(): number {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + (now - this.refilledAt) * this.perMs);
    this.refilledAt = now;
    return this.tokens;
  }

  /** Take one token if there is one. */
  take(): boolean {
    if (this.available() < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Spend `n` tokens, even ones not there yet: what was done is paid for by waiting later. */
  spend(n: number): void {
    this.tokens -= n;
  }

  /** Milliseconds until a token is there (0 when there is one). */
  wait(): number {
    const missing = 1 - this.available();
    return missing > 0 ? missing / this.perMs : 0;
  }
}
