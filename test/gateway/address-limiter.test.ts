/**
 * The per-address limit behind the directory's registration-flood refusal (gateway/lamps/address-limiter.ts),
 * driven with its own clock: exact per address at a million addresses, a hard limit for one address,
 * and a table given back when the window is over.
 */
import { describe, expect, it } from 'vitest';
import { AddressLimiter } from '../../gateway/lamps/address-limiter.js';

const lampAddress = (n: number): string => `fd12:3456:789a:1::${n.toString(16)}`;

describe('address limiter', () => {
  it('admits a million distinct addresses once each at a limit of one per address', () => {
    const limiter = new AddressLimiter(1, 60_000);
    let refused = 0;
    for (let n = 1; n <= 1_000_000; n++) if (!limiter.admit(lampAddress(n), 1000)) refused++;
    expect(refused).toBe(0);
    expect(limiter.addresses).toBe(1_000_000);
    // The second try of each address within the window is refused: every one has its own count.
    let admitted = 0;
    for (let n = 1; n <= 1_000_000; n += 997) if (limiter.admit(lampAddress(n), 2000)) admitted++;
    expect(admitted).toBe(0);
  });

  it('admits exactly the limit from one address within a window, among many others', () => {
    const limiter = new AddressLimiter(64, 60_000);
    let admitted = 0;
    for (let k = 0; k < 1000; k++) {
      limiter.admit(lampAddress(k + 10), 5);
      if (limiter.admit('2001:db8::bad', 5)) admitted++;
    }
    expect(admitted).toBe(64);
    expect(limiter.retryAfterS(5 + 20_500)).toBe(40);
  });

  it('starts a new window after the old one, and gives back the table a storm grew', () => {
    const limiter = new AddressLimiter(1, 60_000);
    for (let n = 1; n <= 100_000; n++) limiter.admit(lampAddress(n), 0);
    expect(limiter.bytes).toBeGreaterThanOrEqual(100_000 * 2 * 10);
    expect(limiter.admit(lampAddress(7), 59_999)).toBe(false);
    limiter.expire(60_000);
    expect(limiter.addresses).toBe(0);
    expect(limiter.bytes).toBeLessThanOrEqual(1024 * 10);
    expect(limiter.admit(lampAddress(7), 60_001)).toBe(true);
  });

  it('refuses everything at a limit of zero', () => {
    expect(new AddressLimiter(0, 60_000).admit('::1', 0)).toBe(false);
  });
});
