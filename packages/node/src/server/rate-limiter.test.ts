import { describe, expect, it } from 'vitest';
import { TokenBuckets } from './rate-limiter.js';

describe('TokenBuckets', () => {
  it('allows a burst, then one request per 1/rate seconds', () => {
    const buckets = new TokenBuckets({ requestsPerSecond: 2, burst: 3 });
    expect([0, 0, 0].map(() => buckets.take('a', 1_000))).toEqual([0, 0, 0]);
    expect(buckets.take('a', 1_000)).toBe(500);
    expect(buckets.take('a', 1_250)).toBe(250);
    expect(buckets.take('a', 1_500)).toBe(0);
    expect(buckets.take('a', 1_500)).toBe(500);
  });

  it('never holds more than the burst, and a clock going backwards adds nothing', () => {
    const buckets = new TokenBuckets({ requestsPerSecond: 1, burst: 2 });
    expect(buckets.take('a', 0)).toBe(0);
    expect(buckets.take('a', 3_600_000)).toBe(0);
    expect(buckets.take('a', 3_600_000)).toBe(0);
    expect(buckets.take('a', 3_600_000)).toBe(1_000);
    expect(buckets.take('a', 0)).toBe(1_000);
  });

  it('waitMs peeks without taking', () => {
    const buckets = new TokenBuckets({ requestsPerSecond: 1, burst: 1 });
    expect(buckets.waitMs('a', 0)).toBe(0);
    expect(buckets.waitMs('a', 0)).toBe(0);
    expect(buckets.take('a', 0)).toBe(0);
    expect(buckets.waitMs('a', 0)).toBe(1_000);
  });

  it('keeps one bucket per key', () => {
    const buckets = new TokenBuckets({ requestsPerSecond: 1, burst: 1 });
    expect(buckets.take('a', 0)).toBe(0);
    expect(buckets.take('b', 0)).toBe(0);
    expect(buckets.take('a', 0)).toBe(1_000);
  });

  it.each([
    { requestsPerSecond: 0, burst: 1 },
    { requestsPerSecond: 1, burst: 0.5 },
    { requestsPerSecond: Number.NaN, burst: 1 },
  ])('refuses %o', (limit) => {
    expect(() => new TokenBuckets(limit)).toThrow(RangeError);
  });
});
