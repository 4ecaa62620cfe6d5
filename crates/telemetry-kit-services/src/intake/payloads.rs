//! Flushed data cut into intake request bodies (packages/core/src/services/intake-payloads.ts):
//! one JSON body per series batch (under the intake's size limit), one per event (the v1
//! events API takes one), one for all service checks, the protobuf/msgpack bodies as they come.

use serde::Serialize;

use crate::jsfmt::utf16_len;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntakeEndpoint {
    Series,
    Sketches,
    Events,
    CheckRun,
    Traces,
    Stats,
}

/// Where an endpoint lives and how its bodies are sent.
pub struct Route {
    pub traces_base: bool,
    pub path: &'static str,
    pub content_type: &'static str,
    pub gzip: bool,
}

impl IntakeEndpoint {
    pub fn as_str(self) -> &'static str {
        match self {
            IntakeEndpoint::Series => "series",
            IntakeEndpoint::Sketches => "sketches",
            IntakeEndpoint::Events => "events",
            IntakeEndpoint::CheckRun => "check_run",
            IntakeEndpoint::Traces => "traces",
            IntakeEndpoint::Stats => "stats",
        }
    }

    /// DESIGN.md §8. The v1 events and check_run APIs take small plain JSON bodies.
    pub fn route(self) -> Route {
        let (traces_base, path, content_type, gzip) = match self {
            IntakeEndpoint::Series => (false, "/api/v2/series", "application/json", true),
            IntakeEndpoint::Sketches => (false, "/api/beta/sketches", "application/x-protobuf", true),
            IntakeEndpoint::Events => (false, "/api/v1/events", "application/json", false),
            IntakeEndpoint::CheckRun => (false, "/api/v1/check_run", "application/json", false),
            IntakeEndpoint::Traces => (true, "/api/v0.2/traces", "application/x-protobuf", true),
            IntakeEndpoint::Stats => (true, "/api/v0.2/stats", "application/msgpack", true),
        };
        Route { traces_base, path, content_type, gzip }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct IntakePayload {
    pub endpoint: IntakeEndpoint,
    /// The uncompressed body.
    pub body: Vec<u8>,
    /// How many series, sketches, events, checks or spans it holds: what a drop loses.
    pub items: u64,
}

/// The v2 series intake takes at most 5 MB decompressed (512 KB compressed); 3 MiB of JSON
/// compresses far below the latter for DogStatsD's repetitive names and tags.
pub const MAX_SERIES_BODY_BYTES: usize = 3 * 1024 * 1024;

/// `{"series":[...]}` bodies of at most `max_bytes` each (a single larger series goes alone),
/// cut where the TS `seriesPayloads` cuts: chunks sized from the first 32 series, each halved
/// until it fits.
pub fn series_payloads<T: Serialize>(series: &[T], max_bytes: usize) -> Vec<IntakePayload> {
    let items: Vec<String> = series.iter().filter_map(|item| serde_json::to_string(item).ok()).collect();
    let mut payloads = Vec::new();
    let sample = &items[..items.len().min(32)];
    let per_item = if sample.is_empty() {
        1.0
    } else {
        // JSON.stringify(sample).length: `[` + items joined by `,` + `]`, in UTF-16 units.
        let json_length = 2 + sample.len() - 1 + sample.iter().map(|s| utf16_len(s)).sum::<usize>();
        json_length as f64 / sample.len() as f64 + 1.0
    };
    let per_chunk = ((max_bytes as f64 * 0.8 / per_item).floor() as usize).max(1);
    for chunk in items.chunks(per_chunk) {
        cut(chunk, max_bytes, &mut payloads);
    }
    payloads
}

fn cut(items: &[String], max_bytes: usize, payloads: &mut Vec<IntakePayload>) {
    let body = format!("{{\"series\":[{}]}}", items.join(","));
    if body.len() <= max_bytes || items.len() == 1 {
        payloads.push(IntakePayload { endpoint: IntakeEndpoint::Series, body: body.into_bytes(), items: items.len() as u64 });
        return;
    }
    let half = items.len().div_ceil(2);
    cut(&items[..half], max_bytes, payloads);
    cut(&items[half..], max_bytes, payloads);
}

pub fn event_payloads<T: Serialize>(events: &[T]) -> Vec<IntakePayload> {
    events
        .iter()
        .filter_map(|event| serde_json::to_vec(event).ok())
        .map(|body| IntakePayload { endpoint: IntakeEndpoint::Events, body, items: 1 })
        .collect()
}

pub fn service_check_payloads<T: Serialize>(checks: &[T]) -> Vec<IntakePayload> {
    if checks.is_empty() {
        return Vec::new();
    }
    serde_json::to_vec(checks).map(|body| vec![IntakePayload { endpoint: IntakeEndpoint::CheckRun, body, items: checks.len() as u64 }]).unwrap_or_default()
}

pub fn binary_payload(endpoint: IntakeEndpoint, body: Option<Vec<u8>>, items: u64) -> Vec<IntakePayload> {
    match body {
        Some(body) if !body.is_empty() => vec![IntakePayload { endpoint, body, items }],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_series_under_the_limit() {
        let series: Vec<serde_json::Value> = (0..10).map(|i| serde_json::json!({"metric": format!("m{i}")})).collect();
        let one = series_payloads(&series, MAX_SERIES_BODY_BYTES);
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].items, 10);
        let parsed: serde_json::Value = serde_json::from_slice(&one[0].body).expect("json");
        assert_eq!(parsed["series"].as_array().map(Vec::len), Some(10));
        let many = series_payloads(&series, 100);
        assert!(many.len() > 1);
        assert_eq!(many.iter().map(|p| p.items).sum::<u64>(), 10);
        assert!(service_check_payloads::<serde_json::Value>(&[]).is_empty());
        assert_eq!(event_payloads(&[serde_json::json!({"a": 1}), serde_json::json!({"b": 2})]).len(), 2);
        assert!(binary_payload(IntakeEndpoint::Sketches, Some(Vec::new()), 1).is_empty());
    }
}
