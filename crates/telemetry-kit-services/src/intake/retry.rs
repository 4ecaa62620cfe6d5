//! What an intake answer means for a payload and how long to wait before trying again
//! (packages/core/src/services/retry-policy.ts).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryPolicy {
    /// Attempts per payload, the first one included.
    pub max_attempts: u32,
    /// The cap of the first backoff window.
    pub base_delay_ms: u64,
    /// No window grows past this.
    pub max_delay_ms: u64,
}

pub const DEFAULT_RETRY_POLICY: RetryPolicy = RetryPolicy { max_attempts: 4, base_delay_ms: 250, max_delay_ms: 5_000 };

impl Default for RetryPolicy {
    fn default() -> Self {
        DEFAULT_RETRY_POLICY
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    Retry,
    Drop,
}

/// 2xx delivered; 5xx, 408 and 429 are worth another try; any other status will not get better.
pub fn verdict_for_status(status: u16) -> Verdict {
    if (200..300).contains(&status) {
        Verdict::Delivered
    } else if status >= 500 || status == 408 || status == 429 {
        Verdict::Retry
    } else {
        Verdict::Drop
    }
}

/// Full jitter: a uniform wait in [0, min(max, base·2^n)). `random` is in [0, 1).
pub fn backoff_delay_ms(retry_index: u32, policy: &RetryPolicy, random: f64) -> u64 {
    let factor = 2f64.powi(retry_index.min(30) as i32);
    let window = (policy.max_delay_ms as f64).min(policy.base_delay_ms as f64 * factor);
    (random * window).floor() as u64
}

/// A `Retry-After` header (seconds or an HTTP date) as milliseconds from now, capped by the
/// policy's maximum; None when absent or unreadable.
pub fn retry_after_ms(header: Option<&str>, now: std::time::SystemTime, policy: &RetryPolicy) -> Option<u64> {
    let text = header?.trim();
    if text.is_empty() {
        return None;
    }
    let ms = match text.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() => seconds * 1_000.0,
        _ => {
            let date = httpdate::parse_http_date(text).ok()?;
            match date.duration_since(now) {
                Ok(ahead) => ahead.as_millis() as f64,
                Err(_) => 0.0,
            }
        }
    };
    Some((policy.max_delay_ms as f64).min(ms.round().max(0.0)) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_statuses() {
        assert_eq!(verdict_for_status(202), Verdict::Delivered);
        for status in [500, 503, 408, 429] {
            assert_eq!(verdict_for_status(status), Verdict::Retry);
        }
        for status in [400, 403, 404, 413] {
            assert_eq!(verdict_for_status(status), Verdict::Drop);
        }
    }

    #[test]
    fn backs_off_with_full_jitter_within_the_cap() {
        let policy = DEFAULT_RETRY_POLICY;
        assert_eq!(backoff_delay_ms(0, &policy, 0.999), 249);
        assert_eq!(backoff_delay_ms(3, &policy, 0.5), 1000);
        assert_eq!(backoff_delay_ms(40, &policy, 0.5), 2500);
        assert_eq!(backoff_delay_ms(2, &policy, 0.0), 0);
    }

    #[test]
    fn reads_retry_after_capped() {
        let now = std::time::SystemTime::now();
        let policy = DEFAULT_RETRY_POLICY;
        assert_eq!(retry_after_ms(Some("2"), now, &policy), Some(2000));
        assert_eq!(retry_after_ms(Some("60"), now, &policy), Some(5000));
        assert_eq!(retry_after_ms(Some(""), now, &policy), None);
        assert_eq!(retry_after_ms(Some("soon"), now, &policy), None);
        assert_eq!(retry_after_ms(None, now, &policy), None);
        let date = httpdate::fmt_http_date(now + std::time::Duration::from_secs(3));
        let ms = retry_after_ms(Some(&date), now, &policy).expect("a date");
        assert!((2000..=3000).contains(&ms), "{ms}");
    }
}
