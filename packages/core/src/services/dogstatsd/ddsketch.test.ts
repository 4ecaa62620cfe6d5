import { describe, expect, it } from 'vitest';
import {
  DDSketch,
  SKETCH_BIAS,
  SKETCH_BIN_LIMIT,
  SKETCH_GAMMA,
  SKETCH_MAX_BIN_COUNT,
  SKETCH_MAX_KEY,
  sketchKey,
  sketchValue,
} from './ddsketch.js';

/** Deterministic uniform (0, 1) from a fixed seed (mulberry32). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 0x1_0000_0000;
  };
}

function normal(next: () => number): number {
  return Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
}

/** The sample at rank roundToEven(q·(n−1)) of the sorted data: what the sketch estimates. */
function exactQuantile(sorted: number[], q: number): number {
  const position = q * (sorted.length - 1);
  const floor = Math.floor(position);
  const rank = position - floor === 0.5 ? (floor % 2 === 0 ? floor : floor + 1) : Math.round(position);
  return sorted[rank] as number;
}

describe('the Agent mapping', () => {
  it('has gamma 1.015625 and bias 1338', () => {
    expect(SKETCH_GAMMA).toBe(1.015625);
    expect(SKETCH_BIAS).toBe(1338);
  });

  it('maps 1 to the bias, mirrors negatives and sends tiny magnitudes to key 0', () => {
    expect(sketchKey(1)).toBe(1338);
    expect(sketchKey(-1)).toBe(-1338);
    expect(sketchKey(0)).toBe(0);
    expect(sketchKey(1e-10)).toBe(0);
    expect(sketchKey(-1e-10)).toBe(0);
    expect(sketchKey(1e-9)).toBe(1);
    expect(sketchKey(SKETCH_GAMMA)).toBe(1339);
    expect(sketchKey(1e300)).toBe(SKETCH_MAX_KEY);
    expect(sketchKey(-1e300)).toBe(-SKETCH_MAX_KEY);
    expect(sketchValue(0)).toBe(0);
    expect(sketchValue(1338)).toBe(1);
    expect(sketchValue(-1339)).toBe(-SKETCH_GAMMA);
  });

  it('keys every bin value back to its own key (why the Agent rounds to even)', () => {
    for (let key = 1; key < 4000; key++) {
      expect(sketchKey(sketchValue(key))).toBe(key);
      expect(sketchKey(sketchValue(-key))).toBe(-key);
    }
  });

  it('keeps every value within 0.8% of its bin value', () => {
    const next = random(7);
    for (let i = 0; i < 10_000; i++) {
      const v = 10 ** (next() * 18 - 9) * (next() < 0.5 ? -1 : 1);
      expect(Math.abs(sketchValue(sketchKey(v)) - v) / Math.abs(v)).toBeLessThan(0.008);
    }
  });
});

describe('DDSketch', () => {
  it('tracks count, sum, min, max and avg of weighted inserts', () => {
    const sketch = new DDSketch();
    sketch.insert(2);
    sketch.insert(4, 2);
    sketch.insert(-1);
    expect({ count: sketch.count, sum: sketch.sum, min: sketch.min, max: sketch.max, avg: sketch.avg }).toEqual({
      count: 4,
      sum: 9,
      min: -1,
      max: 4,
      avg: 2.25,
    });
  });

  it('treats a weight of 2 as two inserts', () => {
    const weighted = new DDSketch();
    const repeated = new DDSketch();
    for (const v of [1, 5, 5, 42, 0.001]) {
      weighted.insert(v, 2);
      repeated.insert(v);
      repeated.insert(v);
    }
    expect(weighted.bins()).toEqual(repeated.bins());
    expect(weighted.count).toBe(repeated.count);
  });

  it('lists bins sorted by key, negatives first', () => {
    const sketch = new DDSketch();
    for (const v of [100, -3, 0, 1, 100, -3, -3]) sketch.insert(v);
    expect(sketch.bins()).toEqual({
      k: [sketchKey(-3), 0, 1338, sketchKey(100)],
      n: [3, 1, 1, 2],
    });
  });

  it('splits a count above 65535 over repeated keys', () => {
    const sketch = new DDSketch();
    sketch.insert(5, 200_000);
    const { k, n } = sketch.bins();
    expect(k).toEqual([sketchKey(5), sketchKey(5), sketchKey(5), sketchKey(5)]);
    expect(n).toEqual([SKETCH_MAX_BIN_COUNT, SKETCH_MAX_BIN_COUNT, SKETCH_MAX_BIN_COUNT, 200_000 - 3 * SKETCH_MAX_BIN_COUNT]);
    expect(n.reduce((a, b) => a + b, 0)).toBe(sketch.count);
  });

  it('folds the lowest keys into the lowest kept one past the bin limit, keeping the count', () => {
    const sketch = new DDSketch();
    const distinct = SKETCH_BIN_LIMIT + 10;
    for (let key = 1; key <= distinct; key++) sketch.insert(sketchValue(key));
    const { k, n } = sketch.bins();
    expect(k).toHaveLength(SKETCH_BIN_LIMIT);
    expect(k[0]).toBe(11);
    expect(n[0]).toBe(11);
    expect(n.reduce((a, b) => a + b, 0)).toBe(distinct);
  });

  it('merges another sketch bin by bin', () => {
    const a = new DDSketch();
    const b = new DDSketch();
    const both = new DDSketch();
    for (let i = 1; i <= 100; i++) {
      (i % 2 === 0 ? a : b).insert(i * 1.5);
      both.insert(i * 1.5);
    }
    a.merge(b);
    expect(a.bins()).toEqual(both.bins());
    expect([a.count, a.sum, a.min, a.max]).toEqual([both.count, both.sum, both.min, both.max]);
  });

  it('answers 0 for an empty sketch and min/max at the ends', () => {
    const sketch = new DDSketch();
    expect(sketch.quantile(0.5)).toBe(0);
    sketch.insert(3);
    sketch.insert(7);
    expect(sketch.quantile(0)).toBe(3);
    expect(sketch.quantile(1)).toBe(7);
  });

  const distributions: Array<[string, (next: () => number) => number]> = [
    ['uniform(1, 1000)', (next) => 1 + 999 * next()],
    ['exponential(mean 100)', (next) => -100 * Math.log(next())],
    ['log-normal(3, 1)', (next) => Math.exp(3 + normal(next))],
    ['normal(0, 50), both signs', (next) => 50 * normal(next)],
    ['latencies in seconds (log-normal(-4, 0.7))', (next) => Math.exp(-4 + 0.7 * normal(next))],
  ];

  it.each(distributions)('estimates p50, p95 and p99 of 10,000 samples of %s within 1%%', (_name, draw) => {
    const next = random(42);
    const sketch = new DDSketch();
    const samples: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      const v = draw(next);
      samples.push(v);
      sketch.insert(v);
    }
    samples.sort((a, b) => a - b);
    for (const q of [0.5, 0.95, 0.99]) {
      const exact = exactQuantile(samples, q);
      expect(Math.abs(sketch.quantile(q) - exact) / Math.abs(exact)).toBeLessThan(0.01);
    }
  });

  it('estimates quantiles of weighted samples within 1% (sample rate 0.5 → weight 2)', () => {
    const next = random(9);
    const sketch = new DDSketch();
    const expanded: number[] = [];
    for (let i = 0; i < 5000; i++) {
      const v = -20 * Math.log(next());
      sketch.insert(v, 2);
      expanded.push(v, v);
    }
    expanded.sort((a, b) => a - b);
    for (const q of [0.5, 0.95, 0.99]) {
      const exact = exactQuantile(expanded, q);
      expect(Math.abs(sketch.quantile(q) - exact) / exact).toBeLessThan(0.01);
    }
  });
});
