//! The Datadog Agent's own sketch (datadog-agent pkg/quantile), which the sketches intake
//! decodes; a generic DDSketch library maps values to other keys (DESIGN.md §8). Identical to
//! packages/core/src/services/dogstatsd/ddsketch.ts:
//!
//! - γ = 1 + 2·(1/128) = 1.015625, ln γ computed as ln_1p(1/64) as the Agent does;
//! - bias = 1 − floor(ln(1e-9) / ln γ) = 1338;
//! - key(v) = roundToEven(ln v / ln γ) + bias, clamped to [1, 32767]; key(−v) = −key(v);
//!   |v| below value(1) ≈ 9.94e-10 → key 0;
//! - value(k) = γ^(k − bias);
//! - bins sorted by key, each count ≤ 65535 (larger counts repeat the key), at most 4096
//!   distinct keys (the lowest folded into the lowest kept one).

use std::collections::HashMap;

use foldhash::fast::RandomState;

pub const SKETCH_GAMMA: f64 = 1.0 + 2.0 / 128.0;
/// The smallest magnitude with a non-zero key is value(1); keys are int16 in the Agent.
pub const SKETCH_MAX_KEY: i32 = 32_767;
/// A bin count is a uint16 in the Agent.
pub const SKETCH_MAX_BIN_COUNT: u64 = 65_535;
/// Past this many distinct keys, the lowest are folded into the lowest kept key.
pub const SKETCH_BIN_LIMIT: usize = 4096;

/// ln_1p(1/64), as V8's Math.log1p and glibc compute it (a test recomputes it).
const LN_GAMMA: f64 = f64::from_bits(0x3f8f_c0a8_b0fc_03e4);
/// 1 − floor(ln(1e-9) / ln γ) (a test recomputes it).
pub const SKETCH_BIAS: i32 = 1338;
/// value(1) = γ^(1 − bias) (a test recomputes it).
const MIN_INDEXABLE: f64 = f64::from_bits(0x3e11_1479_4260_1311);

/// Go's math.RoundToEven.
fn round_half_to_even(x: f64) -> f64 {
    let floor = x.floor();
    if x - floor == 0.5 {
        if floor % 2.0 == 0.0 {
            floor
        } else {
            floor + 1.0
        }
    } else {
        // Not a tie: the nearest integer, as Math.round gives.
        x.round()
    }
}

pub fn sketch_key(value: f64) -> i32 {
    if value < 0.0 {
        return -sketch_key(-value);
    }
    if value.is_nan() || value < MIN_INDEXABLE {
        return 0;
    }
    let key = round_half_to_even(value.ln() / LN_GAMMA) as i64 + i64::from(SKETCH_BIAS);
    key.clamp(1, i64::from(SKETCH_MAX_KEY)) as i32
}

pub fn sketch_value(key: i32) -> f64 {
    match key {
        0 => 0.0,
        k if k < 0 => -sketch_value(-k),
        k => SKETCH_GAMMA.powf(f64::from(k - SKETCH_BIAS)),
    }
}

/// Parallel bin lists as the `Dogsketch` message carries them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SketchBins {
    pub k: Vec<i32>,
    pub n: Vec<u32>,
}

#[derive(Debug, Clone)]
pub struct DDSketch {
    /// Sum of weights.
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    counts: HashMap<i32, u64, RandomState>,
}

impl Default for DDSketch {
    fn default() -> Self {
        DDSketch { count: 0, sum: 0.0, min: f64::INFINITY, max: f64::NEG_INFINITY, counts: HashMap::default() }
    }
}

impl DDSketch {
    /// Adds `value` `weight` times (a sample at rate 0.5 has weight 2).
    pub fn insert(&mut self, value: f64, weight: u64) {
        *self.counts.entry(sketch_key(value)).or_insert(0) += weight;
        self.count += weight;
        self.sum += value * weight as f64;
        if value < self.min {
            self.min = value;
        }
        if value > self.max {
            self.max = value;
        }
    }

    pub fn merge(&mut self, other: &DDSketch) {
        for (key, n) in &other.counts {
            *self.counts.entry(*key).or_insert(0) += n;
        }
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    pub fn avg(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }

    pub fn bins(&self) -> SketchBins {
        let mut keys: Vec<i32> = self.counts.keys().copied().collect();
        keys.sort_unstable();
        let removed = keys.len().saturating_sub(SKETCH_BIN_LIMIT);
        let mut carried: u64 = keys[..removed].iter().map(|k| self.counts[k]).sum();
        let mut bins = SketchBins::default();
        for key in &keys[removed..] {
            let mut count = self.counts[key] + carried;
            carried = 0;
            while count > SKETCH_MAX_BIN_COUNT {
                bins.k.push(*key);
                bins.n.push(SKETCH_MAX_BIN_COUNT as u32);
                count -= SKETCH_MAX_BIN_COUNT;
            }
            bins.k.push(*key);
            bins.n.push(count as u32);
        }
        bins
    }

    pub fn quantile(&self, q: f64) -> f64 {
        quantile_from_bins(&self.bins(), q, self.min, self.max)
    }
}

/// The value at rank roundToEven(q·(count−1)), the centre of the bin holding it kept within
/// [min, max]; q ≤ 0 gives min, q ≥ 1 max, no bins 0.
pub fn quantile_from_bins(bins: &SketchBins, q: f64, min: f64, max: f64) -> f64 {
    let count: u64 = bins.n.iter().map(|n| u64::from(*n)).sum();
    if count == 0 {
        return 0.0;
    }
    if q <= 0.0 {
        return min;
    }
    if q >= 1.0 {
        return max;
    }
    let rank = round_half_to_even(q * (count - 1) as f64);
    let mut seen = 0.0;
    for (k, n) in bins.k.iter().zip(&bins.n) {
        seen += f64::from(*n);
        if seen > rank {
            return sketch_value(*k).max(min).min(max);
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_the_agent_constants_bit_for_bit_with_v8() {
        assert_eq!(SKETCH_GAMMA, 1.015625);
        let ln_gamma = (2.0f64 / 128.0).ln_1p();
        assert_eq!(ln_gamma.to_bits(), LN_GAMMA.to_bits());
        assert_eq!((1.0 - (1e-9f64.ln() / ln_gamma).floor()) as i32, SKETCH_BIAS);
        assert_eq!(SKETCH_GAMMA.powf(f64::from(1 - SKETCH_BIAS)).to_bits(), MIN_INDEXABLE.to_bits());
    }

    #[test]
    fn maps_like_the_agent() {
        assert_eq!(sketch_key(1.0), 1338);
        assert_eq!(sketch_key(-1.0), -1338);
        assert_eq!(sketch_key(0.0), 0);
        assert_eq!(sketch_key(1e-10), 0);
        assert_eq!(sketch_key(1e-9), 1);
        assert_eq!(sketch_key(SKETCH_GAMMA), 1339);
        assert_eq!(sketch_key(1e300), SKETCH_MAX_KEY);
        assert_eq!(sketch_key(-1e300), -SKETCH_MAX_KEY);
        assert_eq!(sketch_key(f64::NAN), 0);
        for key in 1..4000 {
            assert_eq!(sketch_key(sketch_value(key)), key);
            assert_eq!(sketch_key(sketch_value(-key)), -key);
        }
    }

    #[test]
    fn splits_large_counts_and_folds_past_the_bin_limit() {
        let mut sketch = DDSketch::default();
        sketch.insert(5.0, 200_000);
        let bins = sketch.bins();
        assert_eq!(bins.k, vec![sketch_key(5.0); 4]);
        assert_eq!(bins.n, vec![65_535, 65_535, 65_535, 200_000 - 3 * 65_535]);

        let mut wide = DDSketch::default();
        let distinct = SKETCH_BIN_LIMIT as i32 + 10;
        for key in 1..=distinct {
            wide.insert(sketch_value(key), 1);
        }
        let bins = wide.bins();
        assert_eq!(bins.k.len(), SKETCH_BIN_LIMIT);
        assert_eq!((bins.k[0], bins.n[0]), (11, 11));
        assert_eq!(bins.n.iter().map(|n| u64::from(*n)).sum::<u64>(), distinct as u64);
    }

    #[test]
    fn tracks_summary_and_quantiles() {
        let mut sketch = DDSketch::default();
        sketch.insert(2.0, 1);
        sketch.insert(4.0, 2);
        sketch.insert(-1.0, 1);
        assert_eq!((sketch.count, sketch.sum, sketch.min, sketch.max, sketch.avg()), (4, 9.0, -1.0, 4.0, 2.25));
        let mut other = DDSketch::default();
        other.insert(3.0, 1);
        sketch.merge(&other);
        assert_eq!(sketch.count, 5);
        assert_eq!(DDSketch::default().quantile(0.5), 0.0);
        let mut pair = DDSketch::default();
        pair.insert(3.0, 1);
        pair.insert(7.0, 1);
        assert_eq!((pair.quantile(0.0), pair.quantile(1.0)), (3.0, 7.0));
    }
}
