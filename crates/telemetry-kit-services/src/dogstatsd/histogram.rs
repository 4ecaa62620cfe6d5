//! The samples of one histogram/timing context in one bucket and the aggregates the Datadog
//! Agent flushes by default (`max, median, avg, count`, `0.95` percentile), computed as the TS
//! histogram.ts does: sort by value, walk the cumulative weight, take the first sample whose
//! weight passes the target. Weights are 1/rate as floats.

use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistogramAggregates {
    pub max: f64,
    pub median: f64,
    pub avg: f64,
    /// Weighted number of samples (not yet divided by the interval).
    pub count: f64,
    pub p95: f64,
}

#[derive(Debug, Clone, Default)]
pub struct HistogramSamples {
    values: Vec<f64>,
    /// None while every weight is 1, the common case.
    weights: Option<Vec<f64>>,
    sum: f64,
    count: f64,
}

impl HistogramSamples {
    pub fn add(&mut self, value: f64, weight: f64) {
        if weight != 1.0 && self.weights.is_none() {
            self.weights = Some(vec![1.0; self.values.len()]);
        }
        self.values.push(value);
        if let Some(weights) = &mut self.weights {
            weights.push(weight);
        }
        self.sum += value * weight;
        self.count += weight;
    }

    /// None when no sample was added.
    pub fn aggregates(&self) -> Option<HistogramAggregates> {
        let n = self.values.len();
        if n == 0 {
            return None;
        }
        let median_target = ((self.count - 1.0) / 2.0).floor();
        let p95_target = ((95.0 * self.count - 1.0) / 100.0).floor();
        let (max, median, p95) = match &self.weights {
            None => {
                let mut sorted = self.values.clone();
                sorted.sort_by(f64::total_cmp);
                let at = |target: f64| sorted[(target.max(0.0) as usize).min(n - 1)];
                (sorted[n - 1], at(median_target), at(p95_target))
            }
            Some(weights) => {
                let mut order: Vec<usize> = (0..n).collect();
                order.sort_by(|a, b| self.values[*a].partial_cmp(&self.values[*b]).unwrap_or(Ordering::Equal));
                let rank = |target: f64| {
                    let mut seen = 0.0;
                    for &i in &order {
                        seen += weights[i];
                        if seen > target {
                            return self.values[i];
                        }
                    }
                    self.values[order[n - 1]]
                };
                (self.values[order[n - 1]], rank(median_target), rank(p95_target))
            }
        };
        Some(HistogramAggregates { max, median, avg: self.sum / self.count, count: self.count, p95 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregates_like_the_agent() {
        let mut h = HistogramSamples::default();
        for v in (1..=100).rev() {
            h.add(f64::from(v), 1.0);
        }
        let a = h.aggregates().expect("samples");
        assert_eq!((a.max, a.median, a.avg, a.count, a.p95), (100.0, 50.0, 50.5, 100.0, 95.0));
    }

    #[test]
    fn weights_samples() {
        let mut h = HistogramSamples::default();
        h.add(10.0, 2.0);
        h.add(20.0, 1.0);
        let a = h.aggregates().expect("samples");
        assert_eq!((a.median, a.p95, a.max, a.count), (10.0, 20.0, 20.0, 3.0));
        assert!((a.avg - 40.0 / 3.0).abs() < 1e-12);
        assert!(HistogramSamples::default().aggregates().is_none());
    }
}
