/**
 * Per-token rate limit: a token bucket per bearer token (keyed by its hash), refilled
 * continuously. Limits count requests, not events: a request costs the same to authenticate
 * whatever it holds, and its size is already bounded by the protocol.
 */

export interface RateLimit {
  /** Sustained requests per second per token. */
  requestsPerSecond: number;
  /** Requests a token may send at once after being idle. */
  burst: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly limit: RateLimit) {
    if (!(limit.requestsPerSecond > 0) || !(limit.burst >= 1)) {
      throw new RangeError(`rate limit needs requestsPerSecond > 0 and burst >= 1, got ${JSON.stringify(limit)}`);
    }
  }

  /** Milliseconds until `key` may send again without taking anything; 0 = now. */
  waitMs(key: string, nowMs: number): number {
    const bucket = this.refill(key, nowMs);
    if (bucket.tokens >= 1) return 0;
    return Math.ceil(((1 - bucket.tokens) / this.limit.requestsPerSecond) * 1000);
  }

  /** Takes one request from `key`'s bucket: 0 when allowed, else the milliseconds to wait. */
  take(key: string, nowMs: number): number {
    const wait = this.waitMs(key, nowMs);
    if (wait === 0) {
      const bucket = this.buckets.get(key);
      if (bucket !== undefined) bucket.tokens -= 1;
    }
    return wait;
  }

  private refill(key: string, nowMs: number): Bucket {
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: this.limit.burst, updatedAt: nowMs };
      this.buckets.set(key, bucket);
      return bucket;
    }
    // A clock that goes backwards (tests, NTP steps) must not drain or overfill the bucket.
    const elapsed = Math.max(0, nowMs - bucket.updatedAt);
    bucket.tokens = Math.min(this.limit.burst, bucket.tokens + (elapsed / 1000) * this.limit.requestsPerSecond);
    bucket.updatedAt = nowMs;
    return bucket;
  }
}
