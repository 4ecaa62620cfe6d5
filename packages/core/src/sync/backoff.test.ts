import { describe, expect, it } from 'vitest';
import { backoffCeiling, fullJitterDelay } from './backoff.js';

describe('backoff', () => {
  it('doubles from 1 s and caps at 5 min', () => {
    expect([1, 2, 3, 4].map((n) => backoffCeiling(n))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffCeiling(9)).toBe(256_000);
    expect(backoffCeiling(10)).toBe(300_000);
    expect(backoffCeiling(1000)).toBe(300_000);
  });

  it('full jitter spans [0, ceiling]', () => {
    expect(fullJitterDelay(3, () => 0)).toBe(0);
    expect(fullJitterDelay(3, () => 0.999_999_9)).toBe(4000);
    expect(fullJitterDelay(3, () => 0.5)).toBe(2000);
  });
});
