import { describe, expect, it } from 'vitest';
import { countsObject, nearestRank, successBlock } from './summary.js';

describe('summary helpers', () => {
  it('nearestRank is the smallest value with at least p of the values at or below it', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([0.5, 0.9, 0.99].map((p) => nearestRank(values, p))).toEqual([50, 90, 99]);
    expect([0.5, 0.9, 0.99].map((p) => nearestRank([100, 200, 300], p))).toEqual([200, 300, 300]);
    expect(nearestRank([7], 0.99)).toBe(7);
    expect(nearestRank([], 0.5)).toBeNull();
  });

  it('countsObject orders by count, then by key', () => {
    expect(Object.entries(countsObject([['b', 1], ['a', 1], ['c', 5]]))).toEqual([
      ['c', 5],
      ['a', 1],
      ['b', 1],
    ]);
  });

  it('successBlock has a null rate without commands', () => {
    expect(successBlock(0, 0)).toEqual({ total: 0, succeeded: 0, failed: 0, success_rate: null });
    expect(successBlock(3, 1)).toEqual({ total: 4, succeeded: 3, failed: 1, success_rate: 0.75 });
  });
});
