/**
 * When sync passes run, for both backends: one pass at a time (a background pass and the final
 * pass of shutdown() never send the same events twice), auto-sync on an unref'd timer, backoff
 * with full jitter after retryable failures, `Retry-After` honoured by every pass, and auto-sync
 * stopped for good once the server refuses the credentials.
 */
import { fullJitterDelay } from './backoff.js';
import type { SyncOutcome, SyncPassOptions } from './outcome.js';

export interface SyncSchedulerOptions {
  /** Auto-sync on a timer (explicit passes work either way). */
  auto: boolean;
  intervalMs: number;
  /** Delay of the first automatic pass after the first tracked event. */
  firstDelayMs: number;
  random: () => number;
  now: () => number;
  /** Runs one pass; `background` passes must not keep the process alive. */
  runPass(options: SyncPassOptions, background: boolean): Promise<SyncOutcome>;
  /** The pending count, for passes skipped because of `Retry-After`. */
  pending(): Promise<number>;
}

type Timer = ReturnType<typeof setTimeout>;

export class SyncScheduler {
  private chain: Promise<unknown> = Promise.resolve();
  private timer: Timer | null = null;
  private failures = 0;
  /** No request before this time (ms since epoch): the server's `Retry-After`. */
  private notBefore = 0;
  private authStopped = false;
  private closed = false;
  /** When the last automatic or explicit pass started; null before the first. */
  private lastPassAt: number | null = null;

  constructor(private readonly options: SyncSchedulerOptions) {}

  get autoState(): 'off' | 'on' | 'stopped' {
    if (!this.options.auto) return 'off';
    return this.authStopped ? 'stopped' : 'on';
  }

  /**
   * Something was tracked: make sure an automatic pass is coming, `firstDelayMs` after the first
   * event and at most one per `intervalMs` after that.
   */
  noteActivity(): void {
    if (this.timer !== null || !this.canAutoSync()) return;
    const { firstDelayMs, intervalMs, now } = this.options;
    this.schedule(this.lastPassAt === null ? firstDelayMs : this.lastPassAt + intervalMs - now());
  }

  /** An explicit or final pass, queued behind any pass in flight. */
  sync(options: SyncPassOptions = {}): Promise<SyncOutcome> {
    return this.enqueue(options, false);
  }

  /** Stops the timer; passes already queued still run. */
  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private canAutoSync(): boolean {
    return this.options.auto && !this.authStopped && !this.closed;
  }

  private schedule(delayMs: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    const wait = Math.max(delayMs, this.notBefore - this.options.now(), 0);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.enqueue({}, true).catch(() => undefined);
    }, wait);
    (this.timer as { unref?: () => void }).unref?.();
  }

  private enqueue(options: SyncPassOptions, background: boolean): Promise<SyncOutcome> {
    const pass = this.chain.then(() => this.pass(options, background));
    this.chain = pass.catch(() => undefined);
    return pass;
  }

  private async pass(options: SyncPassOptions, background: boolean): Promise<SyncOutcome> {
    const waitMs = this.notBefore - this.options.now();
    if (waitMs > 0) {
      const remaining = await this.options.pending();
      if (background && this.canAutoSync()) this.schedule(waitMs);
      return {
        accepted: 0,
        rejected: 0,
        duplicates: 0,
        batches: 0,
        remaining,
        error: { code: 'RATE_LIMITED', message: `the server asked to wait; next request in ${Math.ceil(waitMs / 1000)} s`, retryAfterMs: waitMs },
      };
    }
    this.lastPassAt = this.options.now();
    const outcome = await this.options.runPass(background ? { ...options, background } : options, background);
    this.afterPass(outcome);
    return outcome;
  }

  private afterPass(outcome: SyncOutcome): void {
    const { error } = outcome;
    if (error === null) {
      // Events tracked from now on schedule the next pass (noteActivity).
      this.failures = 0;
      return;
    }
    if (error.code === 'AUTH') {
      this.authStopped = true;
      if (this.timer !== null) clearTimeout(this.timer);
      this.timer = null;
      return;
    }
    this.failures += 1;
    if (error.retryAfterMs !== undefined) this.notBefore = this.options.now() + error.retryAfterMs;
    if (this.canAutoSync()) this.schedule(fullJitterDelay(this.failures, this.options.random));
  }

  /** Auto-sync has been stopped by an authentication failure. */
  get stoppedByAuth(): boolean {
    return this.authStopped;
  }

  /** Consecutive failed passes (for tests and status output). */
  get consecutiveFailures(): number {
    return this.failures;
  }
}
