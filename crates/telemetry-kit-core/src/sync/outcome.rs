//! What one sync pass reports, serialized with exactly the field names of
//! `packages/core/src/sync/outcome.ts` (the addon hands this JSON to the JS front).

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::clock::now_ms;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SyncErrorCode {
    /// 401/403: the credentials were refused; auto-sync stops.
    Auth,
    /// 429: the server asks to wait (`retry_after_ms`).
    RateLimited,
    /// 5xx, an unexpected status or an unreadable answer.
    Server,
    /// No HTTP answer: refused, reset, DNS, TLS or timed out.
    Network,
}

/// Why a pass ended early; the events it did not deliver stay pending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncError {
    pub code: SyncErrorCode,
    pub message: String,
    /// The HTTP status, when the server answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// From `Retry-After` on 429.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl SyncError {
    pub fn network(message: impl Into<String>) -> SyncError {
        SyncError { code: SyncErrorCode::Network, message: message.into(), status: None, retry_after_ms: None }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncOutcome {
    pub accepted: u64,
    pub rejected: u64,
    pub duplicates: u64,
    /// Pending events left after the pass.
    pub remaining: u64,
    /// Batches answered during the pass (a delivered or dead-lettered request).
    pub batches: u64,
    pub error: Option<SyncError>,
}

impl SyncOutcome {
    /// A pass that sent nothing (tracking disabled, or another pass held the store past the
    /// deadline).
    pub fn idle(remaining: u64) -> SyncOutcome {
        SyncOutcome { remaining, ..SyncOutcome::default() }
    }

    /// # Errors
    /// `Error::Json`, which these plain fields cannot produce in practice.
    pub fn to_json(&self) -> crate::Result<String> {
        Ok(serde_json::to_string(self)?)
    }
}

/// Bounds of one pass, as the JS side passes them (`{"maxBatches"?, "deadlineMs"?}`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncPassOptions {
    /// Stop after this many answered batches; unbounded when absent.
    pub max_batches: Option<u64>,
    /// Absolute time (ms since the Unix epoch) the pass must not run past.
    pub deadline_ms: Option<f64>,
}

impl SyncPassOptions {
    /// # Errors
    /// `Error::InvalidConfig` naming what is wrong with `json`.
    pub fn from_json(json: &str) -> crate::Result<SyncPassOptions> {
        let options: SyncPassOptions = serde_json::from_str(json).map_err(|error| crate::Error::InvalidConfig {
            field: "sync options".to_string(),
            message: format!("are malformed: {error}"),
        })?;
        if options.deadline_ms.is_some_and(|ms| !ms.is_finite()) {
            return Err(crate::Error::InvalidConfig {
                field: "deadlineMs".to_string(),
                message: "must be a finite number".to_string(),
            });
        }
        Ok(options)
    }

    /// The bounds on the monotonic clock: a wall-clock jump during the pass does not move them.
    pub fn limits(&self) -> PassLimits {
        let deadline = self.deadline_ms.map(|deadline_ms| {
            let left_ms = (deadline_ms - now_ms() as f64).max(0.0);
            // A deadline too far away to represent is no deadline.
            Duration::try_from_secs_f64(left_ms / 1000.0).ok().and_then(|left| Instant::now().checked_add(left))
        });
        PassLimits { max_batches: self.max_batches, deadline: deadline.flatten() }
    }
}

/// `SyncPassOptions` resolved against the clock at the start of the pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassLimits {
    pub max_batches: Option<u64>,
    pub deadline: Option<Instant>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_json_has_the_ts_field_names() {
        let outcome = SyncOutcome {
            accepted: 3,
            rejected: 1,
            duplicates: 2,
            remaining: 4,
            batches: 5,
            error: Some(SyncError {
                code: SyncErrorCode::RateLimited,
                message: "HTTP 429".to_string(),
                status: Some(429),
                retry_after_ms: Some(2000),
            }),
        };
        assert_eq!(
            outcome.to_json().ok().as_deref(),
            Some(r#"{"accepted":3,"rejected":1,"duplicates":2,"remaining":4,"batches":5,"error":{"code":"RATE_LIMITED","message":"HTTP 429","status":429,"retryAfterMs":2000}}"#)
        );
        let network = SyncOutcome { error: Some(SyncError::network("refused")), ..SyncOutcome::idle(7) };
        assert_eq!(
            network.to_json().ok().as_deref(),
            Some(r#"{"accepted":0,"rejected":0,"duplicates":0,"remaining":7,"batches":0,"error":{"code":"NETWORK","message":"refused"}}"#)
        );
        assert_eq!(
            SyncOutcome::idle(0).to_json().ok().as_deref(),
            Some(r#"{"accepted":0,"rejected":0,"duplicates":0,"remaining":0,"batches":0,"error":null}"#)
        );
    }

    #[test]
    fn pass_options_read_the_js_shape() {
        let options = SyncPassOptions::from_json(r#"{"maxBatches":2,"deadlineMs":1767322800000.5}"#).ok();
        assert_eq!(options, Some(SyncPassOptions { max_batches: Some(2), deadline_ms: Some(1_767_322_800_000.5) }));
        assert_eq!(SyncPassOptions::from_json("{}").ok(), Some(SyncPassOptions::default()));
        assert!(SyncPassOptions::from_json(r#"{"maxBatches":-1}"#).is_err());
        assert!(SyncPassOptions::from_json("[").is_err());
    }

    #[test]
    fn limits_turn_the_deadline_into_an_instant() {
        let before = Instant::now();
        let past = SyncPassOptions { max_batches: Some(1), deadline_ms: Some(0.0) }.limits();
        assert_eq!(past.max_batches, Some(1));
        assert!(past.deadline.is_some_and(|d| d >= before && d <= Instant::now()));
        let soon = SyncPassOptions { max_batches: None, deadline_ms: Some(now_ms() as f64 + 60_000.0) }.limits();
        assert!(soon.deadline.is_some_and(|d| d > before + Duration::from_secs(50)));
        assert_eq!(SyncPassOptions { max_batches: None, deadline_ms: Some(f64::MAX) }.limits().deadline, None);
        assert_eq!(SyncPassOptions::default().limits(), PassLimits::default());
    }
}
