import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY, backoffDelayMs, retryAfterMs, verdictForStatus } from './retry-policy.js';

describe('verdictForStatus', () => {
  it.each([
    [200, 'delivered'],
    [202, 'delivered'],
    [500, 'retry'],
    [503, 'retry'],
    [408, 'retry'],
    [429, 'retry'],
    [400, 'drop'],
    [403, 'drop'],
    [404, 'drop'],
    [413, 'drop'],
  ] as const)('%i → %s', (status, verdict) => {
    expect(verdictForStatus(status)).toBe(verdict);
  });
});

describe('backoffDelayMs (full jitter)', () => {
  const policy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1_000 };
  it('draws uniformly below a window that doubles up to the cap', () => {
    expect([0, 1, 2, 3, 4, 10].map((n) => backoffDelayMs(n, policy, () => 0.999_999))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(backoffDelayMs(3, policy, () => 0)).toBe(0);
    expect(backoffDelayMs(1, policy, () => 0.5)).toBe(100);
  });
  it('never overflows for large retry counts', () => {
    expect(backoffDelayMs(10_000, DEFAULT_RETRY_POLICY, () => 0.5)).toBe(2_500);
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('reads seconds and HTTP dates, capped by the policy', () => {
    expect(retryAfterMs('2', now, DEFAULT_RETRY_POLICY)).toBe(2_000);
    expect(retryAfterMs('3600', now, DEFAULT_RETRY_POLICY)).toBe(5_000);
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:03 GMT', now, DEFAULT_RETRY_POLICY)).toBe(3_000);
  });
  it('ignores what it cannot read', () => {
    expect(retryAfterMs(undefined, now, DEFAULT_RETRY_POLICY)).toBeNull();
    expect(retryAfterMs('soon', now, DEFAULT_RETRY_POLICY)).toBeNull();
  });
});
