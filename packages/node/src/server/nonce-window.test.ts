import { describe, expect, it } from 'vitest';
import { NonceWindow } from './nonce-window.js';

describe('NonceWindow', () => {
  it('refuses a nonce until it expires, then takes it again', () => {
    const window = new NonceWindow();
    expect(window.claim('n', 0, 600_000)).toBe(true);
    expect(window.claim('n', 599_999, 1_199_999)).toBe(false);
    expect(window.claim('n', 600_000, 1_200_000)).toBe(true);
    expect(window.claim('m', 600_000, 1_200_000)).toBe(true);
  });

  it('restores remembered nonces, ignoring expired ones', () => {
    const window = new NonceWindow();
    window.restore('live', 2_000, 1_000);
    window.restore('dead', 500, 1_000);
    expect(window.claim('live', 1_500, 3_000)).toBe(false);
    expect(window.claim('dead', 1_500, 3_000)).toBe(true);
  });

  it('forgets expired nonces as time passes', () => {
    const window = new NonceWindow();
    for (let i = 0; i < 100; i++) window.claim(`n${i}`, 0, 1_000);
    expect(window.size).toBe(100);
    window.claim('later', 5_000, 6_000);
    expect(window.size).toBe(1);
    expect(window.entries(5_000)).toEqual([['later', 6_000]]);
  });
});
