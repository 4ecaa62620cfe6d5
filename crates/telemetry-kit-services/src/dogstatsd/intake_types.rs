//! JSON bodies of the Datadog intake endpoints a DogStatsD flush feeds (DESIGN.md §8), with
//! the API's own field names, and the `SketchPayload` protobuf encoder. Numbers serialize as
//! `JSON.stringify` writes them (integral doubles without `.0`, non-finite as null), so the two
//! backends send the same bytes for the same aggregates.

use std::sync::Arc;

use prost::Message;
use serde::{Serialize, Serializer};

use super::codec::{AlertType, EventPriority};
use crate::proto::metrics::sketch_payload::{sketch::Dogsketch, Sketch};
use crate::proto::metrics::SketchPayload;

/// v2 series `type`: 0 unspecified, 1 count, 2 rate, 3 gauge.
pub const SERIES_RATE: u8 = 2;
pub const SERIES_GAUGE: u8 = 3;

/// A double as `JSON.stringify` writes it.
pub fn serialize_js_number<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    let v = *value;
    if !v.is_finite() {
        serializer.serialize_none()
    } else if v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 {
        serializer.serialize_i64(v as i64)
    } else {
        serializer.serialize_f64(v)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// Unix seconds (bucket start).
    pub timestamp: i64,
    #[serde(serialize_with = "serialize_js_number")]
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resource {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
}

/// One series of `POST /api/v2/series` (`{"series": [...]}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesV2 {
    pub metric: String,
    #[serde(rename = "type")]
    pub series_type: u8,
    pub points: Vec<Point>,
    /// Seconds one point covers: the aggregation bucket.
    pub interval: u64,
    pub tags: Arc<[String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<Resource>>,
}

/// A body for `POST /api/v1/events`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatadogEventV1 {
    pub title: String,
    pub text: String,
    /// Unix seconds: the event's `d:` or its arrival.
    pub date_happened: u64,
    pub priority: EventPriority,
    pub alert_type: AlertType,
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aggregation_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_type_name: Option<String>,
}

/// One item of the `POST /api/v1/check_run` array body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceCheckRun {
    pub check: String,
    pub host_name: String,
    pub status: u8,
    /// Unix seconds: the check's `d:` or its arrival.
    pub timestamp: u64,
    pub message: String,
    pub tags: Vec<String>,
}

/// One `SketchPayload.Sketch`: a context and its buckets.
#[derive(Debug, Clone, PartialEq)]
pub struct SketchSeries {
    pub metric: String,
    pub host: String,
    pub tags: Vec<String>,
    pub dogsketches: Vec<Dogsketch>,
}

/// The protobuf bytes of a `SketchPayload` (not compressed).
pub fn encode_sketch_payload(sketches: Vec<SketchSeries>) -> Vec<u8> {
    let payload = SketchPayload {
        sketches: sketches
            .into_iter()
            .map(|s| Sketch { metric: s.metric, host: s.host, distributions: Vec::new(), tags: s.tags, dogsketches: s.dogsketches, metadata: None })
            .collect(),
        metadata: None,
    };
    payload.encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_serialize_like_json_stringify() {
        let point = |value| serde_json::to_string(&Point { timestamp: 10, value }).expect("json");
        assert_eq!(point(3.0), r#"{"timestamp":10,"value":3}"#);
        assert_eq!(point(0.1), r#"{"timestamp":10,"value":0.1}"#);
        assert_eq!(point(-0.0), r#"{"timestamp":10,"value":0}"#);
        assert_eq!(point(f64::INFINITY), r#"{"timestamp":10,"value":null}"#);
    }
}
