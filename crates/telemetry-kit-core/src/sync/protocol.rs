//! Constants and small pure helpers of sync protocol v1, mirroring
//! `packages/core/src/sync/protocol.ts`.

use std::time::{Duration, SystemTime};

pub const PROTOCOL_SCHEMA_VERSION: &str = "1.0.0";
/// Largest (uncompressed) request body, in bytes; a bigger batch is split before it is sent.
pub const MAX_BODY_BYTES: usize = 5 * 1024 * 1024;

/// Request and response header names, in lower case.
pub mod header {
    pub const AUTHORIZATION: &str = "authorization";
    pub const TIMESTAMP: &str = "x-timestamp";
    pub const NONCE: &str = "x-nonce";
    pub const SIGNATURE: &str = "x-signature";
    pub const BATCH_SIZE: &str = "x-batch-size";
    pub const SCHEMA_VERSION: &str = "x-schema-version";
    pub const SDK_VERSION: &str = "x-sdk-version";
    pub const CONTENT_ENCODING: &str = "content-encoding";
    pub const CONTENT_TYPE: &str = "content-type";
    pub const RETRY_AFTER: &str = "retry-after";
}

/// The ingest URL for an endpoint (with or without a trailing slash or a base path); the ids
/// are escaped as JavaScript's `encodeURIComponent` does.
pub fn ingest_url(endpoint: &str, org_id: &str, app_id: &str) -> String {
    let base = endpoint.strip_suffix('/').unwrap_or(endpoint);
    format!("{base}/v1/ingest/{}/{}", encode_uri_component(org_id), encode_uri_component(app_id))
}

fn encode_uri_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `Retry-After` as milliseconds from `now`: delta-seconds or an HTTP date (a date in the past
/// gives 0); None when unreadable.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<u64> {
    let trimmed = value.trim();
    if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        // All digits but too large for u64: wait "forever", as JS's Number() would.
        return Some(trimmed.parse::<u64>().map_or(u64::MAX, |seconds| seconds.saturating_mul(1000)));
    }
    let date = httpdate::parse_http_date(trimmed).ok()?;
    let wait = date.duration_since(now).unwrap_or(Duration::ZERO);
    Some(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ingest_url_strips_one_trailing_slash_and_escapes_ids() {
        assert_eq!(ingest_url("http://h:1/", "o", "a"), "http://h:1/v1/ingest/o/a");
        assert_eq!(ingest_url("https://h/base", "o rg", "a/b"), "https://h/base/v1/ingest/o%20rg/a%2Fb");
        assert_eq!(ingest_url("http://h", "é", "x~y"), "http://h/v1/ingest/%C3%A9/x~y");
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap_or(SystemTime::UNIX_EPOCH);
        assert_eq!(parse_retry_after("2", now), Some(2000));
        assert_eq!(parse_retry_after(" 120 ", now), Some(120_000));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:40 GMT", now), Some(3000));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now), Some(0));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("99999999999999999999999", now), Some(u64::MAX));
    }
}
