/**
 * The nonces seen recently, each remembered until it expires. A request can only be replayed
 * while its timestamp is within the skew bound of the server's clock, so remembering a nonce
 * for twice that bound after it was first seen covers every replay.
 */
export class NonceWindow {
  private readonly seen = new Map<string, number>();
  private nextSweepAt = 0;

  /** Records `nonce` until `expiresAtMs`; false when it is already recorded and not expired. */
  claim(nonce: string, nowMs: number, expiresAtMs: number): boolean {
    this.sweep(nowMs);
    const expiry = this.seen.get(nonce);
    if (expiry !== undefined && expiry > nowMs) return false;
    this.seen.set(nonce, expiresAtMs);
    return true;
  }

  /** Restores a nonce remembered elsewhere (the journal, the database); expired ones are ignored. */
  restore(nonce: string, expiresAtMs: number, nowMs: number): void {
    if (expiresAtMs <= nowMs) return;
    const known = this.seen.get(nonce);
    if (known === undefined || known < expiresAtMs) this.seen.set(nonce, expiresAtMs);
  }

  /** The live nonces and their expiry. */
  entries(nowMs: number): Array<[string, number]> {
    this.sweep(nowMs, true);
    return [...this.seen];
  }

  get size(): number {
    return this.seen.size;
  }

  /** Drops expired nonces, at most once a second unless forced: a Map walk per request would cost more than it saves. */
  private sweep(nowMs: number, force = false): void {
    if (!force && nowMs < this.nextSweepAt) return;
    this.nextSweepAt = nowMs + 1_000;
    for (const [nonce, expiry] of this.seen) if (expiry <= nowMs) this.seen.delete(nonce);
  }
}
