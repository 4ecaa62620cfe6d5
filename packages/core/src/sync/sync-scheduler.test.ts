import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SyncError, SyncOutcome } from './outcome.js';
import { SyncScheduler, type SyncSchedulerOptions } from './sync-scheduler.js';

function outcome(error: SyncError | null, remaining = 1): SyncOutcome {
  return { accepted: 0, rejected: 0, duplicates: 0, batches: error ? 0 : 1, remaining, error };
}

describe('SyncScheduler', () => {
  let calls: Array<{ at: number; background: boolean }>;
  let replies: SyncOutcome[];

  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
    calls = [];
    replies = [];
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function scheduler(overrides: Partial<SyncSchedulerOptions> = {}): SyncScheduler {
    return new SyncScheduler({
      auto: true,
      intervalMs: 60_000,
      firstDelayMs: 5_000,
      random: () => 0.999_999,
      now: () => Date.now(),
      runPass: async (_options, background) => {
        calls.push({ at: Date.now(), background });
        return replies.shift() ?? outcome(null, 0);
      },
      pending: async () => 1,
      ...overrides,
    });
  }

  it('backs off with growing delays while the server is down, then recovers', async () => {
    const network: SyncError = { code: 'NETWORK', message: 'refused' };
    replies.push(outcome(network), outcome(network), outcome(network), outcome(network));
    const s = scheduler();
    s.noteActivity();
    await vi.advanceTimersByTimeAsync(60_000);
    // First pass 5 s after activity, then the full-jitter ceilings 1, 2, 4, 8 s (random ≈ 1).
    const gaps = calls.slice(1).map((c, i) => c.at - (calls[i]?.at ?? 0));
    expect(calls[0]?.at).toBe(5_000);
    expect(gaps).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(calls.every((c) => c.background)).toBe(true);
    expect(s.consecutiveFailures).toBe(0);
    expect(calls).toHaveLength(5);
  });

  it('never retries before Retry-After, even when the jittered delay is shorter', async () => {
    replies.push(outcome({ code: 'RATE_LIMITED', message: '429', retryAfterMs: 7_000 }));
    const s = scheduler({ random: () => 0 });
    s.noteActivity();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(calls).toHaveLength(1);
    // An explicit pass inside the window is answered without a request.
    await expect(s.sync()).resolves.toMatchObject({ error: { code: 'RATE_LIMITED' } });
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(6_999);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls.map((c) => c.at)).toEqual([5_000, 12_000]);
  });

  it('stops auto-sync for good after an AUTH error; explicit passes still run', async () => {
    replies.push(outcome({ code: 'AUTH', message: '401', status: 401 }));
    const s = scheduler();
    s.noteActivity();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(s.autoState).toBe('stopped');
    s.noteActivity();
    await vi.advanceTimersByTimeAsync(600_000);
    expect(calls).toHaveLength(1);
    await s.sync();
    expect(calls).toHaveLength(2);
    expect(calls[1]?.background).toBe(false);
  });

  it('runs one pass at a time: an explicit pass waits for the background one', async () => {
    let release: () => void = () => undefined;
    let running = 0;
    let maxRunning = 0;
    const s = scheduler({
      runPass: async () => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        running -= 1;
        return outcome(null, 0);
      },
    });
    s.noteActivity();
    await vi.advanceTimersByTimeAsync(5_000);
    const explicit = s.sync();
    await vi.advanceTimersByTimeAsync(10);
    expect(running).toBe(1);
    release();
    await vi.advanceTimersByTimeAsync(10);
    release();
    await explicit;
    expect(maxRunning).toBe(1);
  });

  it('after a good pass, new activity waits for the interval', async () => {
    const s = scheduler();
    s.noteActivity();
    await vi.advanceTimersByTimeAsync(5_000);
    s.noteActivity();
    await vi.advanceTimersByTimeAsync(59_999);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls.map((c) => c.at)).toEqual([5_000, 65_000]);
  });

  it('auto off: activity schedules nothing', async () => {
    const s = scheduler({ auto: false });
    s.noteActivity();
    await vi.advanceTimersByTimeAsync(600_000);
    expect(calls).toHaveLength(0);
    expect(s.autoState).toBe('off');
  });
});
