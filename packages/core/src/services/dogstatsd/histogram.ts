/**
 * The samples of one histogram/timing context in one bucket, and the aggregates the Datadog
 * Agent flushes for them by default (`histogram_aggregates: max, median, avg, count`,
 * `histogram_percentiles: 0.95`), computed as the Agent's pkg/metrics/histogram.go does: sort
 * by value, walk the cumulative weight, take the first sample whose weight passes the target.
 * Weights are 1/rate as floats (the Agent truncates them to integers), so `.count` equals the
 * scaled count a `c` metric would report for the same samples.
 */

export interface HistogramAggregates {
  max: number;
  median: number;
  avg: number;
  /** Weighted number of samples (not yet divided by the interval). */
  count: number;
  p95: number;
}

export class HistogramSamples {
  private readonly values: number[] = [];
  /** Null while every weight is 1, the common case, so those samples cost one number each. */
  private weights: number[] | null = null;
  private sum = 0;
  private count = 0;

  add(value: number, weight: number): void {
    if (weight !== 1 && this.weights === null) this.weights = new Array<number>(this.values.length).fill(1);
    this.values.push(value);
    this.weights?.push(weight);
    this.sum += value * weight;
    this.count += weight;
  }

  aggregates(): HistogramAggregates {
    const { values, weights } = this;
    const n = values.length;
    let sortedValues: ArrayLike<number>;
    let sortedWeights: ArrayLike<number> | null = null;
    if (weights === null) {
      sortedValues = Float64Array.from(values).sort();
    } else {
      const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (values[a] as number) - (values[b] as number));
      sortedValues = Float64Array.from(order, (i) => values[i] as number);
      sortedWeights = Float64Array.from(order, (i) => weights[i] as number);
    }
    return {
      max: sortedValues[n - 1] as number,
      median: weightedRank(sortedValues, sortedWeights, Math.floor((this.count - 1) / 2)),
      avg: this.sum / this.count,
      count: this.count,
      p95: weightedRank(sortedValues, sortedWeights, Math.floor((95 * this.count - 1) / 100)),
    };
  }
}

/** The first sorted sample whose cumulative weight exceeds `target`. */
function weightedRank(values: ArrayLike<number>, weights: ArrayLike<number> | null, target: number): number {
  if (weights === null) return values[Math.min(values.length - 1, Math.max(0, target))] as number;
  let seen = 0;
  for (let i = 0; i < values.length; i++) {
    seen += weights[i] as number;
    if (seen > target) return values[i] as number;
  }
  return values[values.length - 1] as number;
}
