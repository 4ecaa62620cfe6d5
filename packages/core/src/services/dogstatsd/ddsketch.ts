/**
 * The Datadog Agent's own sketch (github.com/DataDog/datadog-agent pkg/quantile), which the
 * sketches intake decodes. A generic DDSketch library uses another log mapping and offset, so
 * its bins would be read as different values (DESIGN.md §8).
 *
 * Mapping (the Agent's defaults: eps 1/128, min 1e-9, 4096 bins, uint16 counts):
 *   γ = 1 + 2·(1/128) = 1.015625, ln γ computed as log1p(1/64) as the Agent does;
 *   bias = 1 − floor(ln(1e-9) / ln γ) = 1338;
 *   key(v) = roundToEven(ln v / ln γ) + bias, clamped to [1, 32767]; key(−v) = −key(v);
 *   |v| below value(1) = γ^(1 − bias) ≈ 9.94e-10 (the "1e-9" floor) → key 0;
 *   value(k) = γ^(k − bias), value(0) = 0, value(−k) = −value(k).
 * Every key stands for the values within a factor γ^±½ of value(k): under 0.8% relative error.
 */

export const SKETCH_GAMMA = 1 + 2 / 128;
const LN_GAMMA = Math.log1p(2 / 128);
export const SKETCH_BIAS = 1 - Math.floor(Math.log(1e-9) / LN_GAMMA);
/** The smallest magnitude with a non-zero key: value(1). */
const MIN_INDEXABLE = SKETCH_GAMMA ** (1 - SKETCH_BIAS);
/** Keys are int16 in the Agent; larger magnitudes saturate. */
export const SKETCH_MAX_KEY = 32_767;
/** A bin count is a uint16 in the Agent: a larger count repeats the key. */
export const SKETCH_MAX_BIN_COUNT = 65_535;
/** Past this many distinct keys, the lowest ones are folded into the lowest kept key. */
export const SKETCH_BIN_LIMIT = 4096;

/** Go's math.RoundToEven: halves go to the even neighbour (Math.round sends them up). */
function roundHalfToEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction === 0.5) return floor % 2 === 0 ? floor : floor + 1;
  return Math.round(x);
}

export function sketchKey(value: number): number {
  if (value < 0) {
    const key = sketchKey(-value);
    return key === 0 ? 0 : -key; // never -0: the key is an integer on the wire
  }
  if (!(value >= MIN_INDEXABLE)) return 0;
  const key = roundHalfToEven(Math.log(value) / LN_GAMMA) + SKETCH_BIAS;
  if (key > SKETCH_MAX_KEY) return SKETCH_MAX_KEY;
  return key < 1 ? 1 : key;
}

export function sketchValue(key: number): number {
  if (key < 0) return -sketchValue(-key);
  if (key === 0) return 0;
  return SKETCH_GAMMA ** (key - SKETCH_BIAS);
}

/** Parallel bin lists as the `Dogsketch` message carries them: k sorted ascending, each n ≤ 65535. */
export interface SketchBins {
  k: number[];
  n: number[];
}

export class DDSketch {
  /** Sum of weights; an integer, as the Dogsketch `cnt` field is. */
  count = 0;
  sum = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  private readonly counts = new Map<number, number>();

  /** Adds `value` `weight` times (a sample at rate 0.5 has weight 2). `weight` is a positive integer. */
  insert(value: number, weight = 1): void {
    const key = sketchKey(value);
    this.counts.set(key, (this.counts.get(key) ?? 0) + weight);
    this.count += weight;
    this.sum += value * weight;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  merge(other: DDSketch): void {
    for (const [key, n] of other.counts) this.counts.set(key, (this.counts.get(key) ?? 0) + n);
    this.count += other.count;
    this.sum += other.sum;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
  }

  get avg(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  /** Bins sorted by key, at most SKETCH_BIN_LIMIT distinct keys, counts split at 65535. */
  bins(): SketchBins {
    const keys = [...this.counts.keys()].sort((a, b) => a - b);
    const k: number[] = [];
    const n: number[] = [];
    // Like the Agent's trimLeft: the lowest keys lose their resolution, the count is kept.
    const removed = Math.max(0, keys.length - SKETCH_BIN_LIMIT);
    let carried = 0;
    for (let i = 0; i < removed; i++) carried += this.counts.get(keys[i] as number) as number;
    for (let i = removed; i < keys.length; i++) {
      const key = keys[i] as number;
      let count = (this.counts.get(key) as number) + carried;
      carried = 0;
      while (count > SKETCH_MAX_BIN_COUNT) {
        k.push(key);
        n.push(SKETCH_MAX_BIN_COUNT);
        count -= SKETCH_MAX_BIN_COUNT;
      }
      k.push(key);
      n.push(count);
    }
    return { k, n };
  }

  /** See quantileFromBins. */
  quantile(q: number): number {
    return quantileFromBins(this.bins(), q, this.min, this.max);
  }
}

/**
 * The value at rank roundToEven(q·(count−1)) of binned data, as the Agent ranks: the centre of
 * the bin holding it, kept within [min, max]. q ≤ 0 gives min, q ≥ 1 max, no bins 0. Works on
 * decoded `Dogsketch` fields too, which is how tests read quantiles back from a payload.
 */
export function quantileFromBins(bins: SketchBins, q: number, min: number, max: number): number {
  let count = 0;
  for (const n of bins.n) count += n;
  if (count === 0) return 0;
  if (q <= 0) return min;
  if (q >= 1) return max;
  const rank = roundHalfToEven(q * (count - 1));
  let seen = 0;
  for (let i = 0; i < bins.k.length; i++) {
    seen += bins.n[i] as number;
    if (seen > rank) return Math.min(max, Math.max(min, sketchValue(bins.k[i] as number)));
  }
  return max;
}
