//! Decoding of the tracer → agent payloads, bytes → spans, never panicking
//! (packages/core/src/services/trace/decode.ts):
//!
//! - `/v0.4/traces`: an array of traces, each an array of span maps keyed `service name
//!   resource trace_id span_id parent_id start duration error meta metrics type meta_struct
//!   span_links`; other keys are skipped;
//! - `/v0.5/traces`: `[strings, traces]`, each span a 12-element array whose string fields,
//!   meta keys and values and metric keys are indexes into the string table.
//!
//! Ids are u64 and come through exactly.

use std::collections::HashMap;

use rmpv::Value;

use super::msgpack::{
    decode_msgpack, describe, key_of, read_array, read_bytes, read_f64, read_float_map, read_i32, read_i64, read_map, read_string,
    read_string_map, read_u64, DecodeError, DecodeErrorReason,
};
use crate::jsfmt::js_number;
use crate::proto::trace::{Span, SpanLink};

/// The two msgpack trace formats the agent accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TracePayloadVersion {
    V04,
    V05,
}

impl TracePayloadVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            TracePayloadVersion::V04 => "v0.4",
            TracePayloadVersion::V05 => "v0.5",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DecodedTraces {
    pub traces: Vec<Vec<Span>>,
    pub span_count: usize,
}

fn shape(message: String) -> DecodeError {
    DecodeError::new(DecodeErrorReason::WrongShape, message)
}

/// Decodes one body of the given version.
pub fn decode_traces(version: TracePayloadVersion, body: &[u8]) -> Result<DecodedTraces, DecodeError> {
    let root = decode_msgpack(body)?;
    match version {
        TracePayloadVersion::V04 => traces_v04(&root),
        TracePayloadVersion::V05 => traces_v05(&root),
    }
}

fn traces_v04(root: &Value) -> Result<DecodedTraces, DecodeError> {
    let Value::Array(raw_traces) = root else { return Err(shape("payload: expected an array of traces".into())) };
    let mut traces = Vec::with_capacity(raw_traces.len());
    let mut span_count = 0;
    for (t, raw_trace) in raw_traces.iter().enumerate() {
        let Value::Array(raw_spans) = raw_trace else { return Err(shape(format!("traces[{t}]: expected an array of spans"))) };
        let mut trace = Vec::with_capacity(raw_spans.len());
        for (s, raw_span) in raw_spans.iter().enumerate() {
            let Value::Map(pairs) = raw_span else { return Err(shape(format!("traces[{t}][{s}]: expected a span map"))) };
            trace.push(span_v04(pairs)?);
        }
        span_count += trace.len();
        traces.push(trace);
    }
    Ok(DecodedTraces { traces, span_count })
}

const V04_FIELDS: [&str; 14] = [
    "service",
    "name",
    "resource",
    "trace_id",
    "span_id",
    "parent_id",
    "start",
    "duration",
    "error",
    "meta",
    "metrics",
    "type",
    "meta_struct",
    "span_links",
];

fn span_v04(pairs: &[(Value, Value)]) -> Result<Span, DecodeError> {
    let mut span = Span::default();
    // Keys were made unique by the decoder (first position, last value), as in a JS object.
    for (key, value) in pairs {
        let Some(field) = V04_FIELDS.iter().position(|f| *f == key_of(key)) else { continue };
        let v = Some(value);
        match field {
            0 => span.service = read_string(v, "service")?,
            1 => span.name = read_string(v, "name")?,
            2 => span.resource = read_string(v, "resource")?,
            3 => span.trace_id = read_u64(v, "trace_id")?,
            4 => span.span_id = read_u64(v, "span_id")?,
            5 => span.parent_id = read_u64(v, "parent_id")?,
            6 => span.start = read_i64(v, "start")?,
            7 => span.duration = read_i64(v, "duration")?,
            8 => span.error = read_i32(v, "error")?,
            9 => span.meta = read_string_map(v, "meta")?,
            10 => span.metrics = read_float_map(v, "metrics")?,
            11 => span.r#type = read_string(v, "type")?,
            12 => {
                let map = read_map(v, "meta_struct")?;
                let mut out = HashMap::with_capacity(map.len());
                for (k, item) in map {
                    let k = key_of(k);
                    out.insert(k.to_string(), read_bytes(Some(item), &format!("meta_struct.{k}"))?);
                }
                span.meta_struct = out;
            }
            _ => {
                let links = read_array(v, "span_links")?;
                span.span_links = links.iter().enumerate().map(|(i, link)| span_link(link, i)).collect::<Result<_, _>>()?;
            }
        }
    }
    Ok(span)
}

fn span_link(value: &Value, index: usize) -> Result<SpanLink, DecodeError> {
    let raw = read_map(Some(value), &format!("span_links[{index}]"))?;
    let get = |key: &str| super::msgpack::get(raw, key);
    Ok(SpanLink {
        trace_id: read_u64(get("trace_id"), "span_links.trace_id")?,
        trace_id_high: read_u64(get("trace_id_high"), "span_links.trace_id_high")?,
        span_id: read_u64(get("span_id"), "span_links.span_id")?,
        attributes: read_string_map(get("attributes"), "span_links.attributes")?,
        tracestate: read_string(get("tracestate"), "span_links.tracestate")?,
        flags: (read_u64(get("flags"), "span_links.flags")? & 0xffff_ffff) as u32,
    })
}

const V05_SPAN_FIELDS: usize = 12;

fn traces_v05(root: &Value) -> Result<DecodedTraces, DecodeError> {
    let parts = match root {
        Value::Array(parts) if parts.len() == 2 => parts,
        _ => return Err(shape("payload: expected [string table, traces], a 2-element array".into())),
    };
    let Value::Array(raw_strings) = &parts[0] else { return Err(shape("payload[0]: expected the string table (an array)".into())) };
    let Value::Array(raw_traces) = &parts[1] else { return Err(shape("payload[1]: expected an array of traces".into())) };
    let strings =
        raw_strings.iter().enumerate().map(|(i, s)| read_string(Some(s), &format!("strings[{i}]"))).collect::<Result<Vec<_>, _>>()?;
    let mut traces = Vec::with_capacity(raw_traces.len());
    let mut span_count = 0;
    for (t, raw_trace) in raw_traces.iter().enumerate() {
        let Value::Array(raw_spans) = raw_trace else { return Err(shape(format!("traces[{t}]: expected an array of spans"))) };
        let mut trace = Vec::with_capacity(raw_spans.len());
        for (s, raw_span) in raw_spans.iter().enumerate() {
            match raw_span {
                Value::Array(fields) if fields.len() == V05_SPAN_FIELDS => trace.push(span_v05(fields, &strings)?),
                _ => return Err(shape(format!("traces[{t}][{s}]: a v0.5 span is an array of exactly {V05_SPAN_FIELDS} elements"))),
            }
        }
        span_count += trace.len();
        traces.push(trace);
    }
    Ok(DecodedTraces { traces, span_count })
}

fn bad_index(field: &str, shown: &str, strings: &[String]) -> DecodeError {
    DecodeError::new(
        DecodeErrorReason::BadStringIndex,
        format!("{field}: string-table index {shown} out of range (table has {})", strings.len()),
    )
}

/// A string-table reference: an integer (or an integral float, as JS sees one number type).
fn lookup(strings: &[String], value: &Value, field: &str) -> Result<String, DecodeError> {
    let index: Option<i128> = match value {
        Value::Integer(i) => i.as_i64().map(i128::from).or_else(|| i.as_u64().map(i128::from)),
        Value::F32(_) | Value::F64(_) => {
            let f = value.as_f64().unwrap_or(f64::NAN);
            if !f.is_finite() || f.fract() != 0.0 {
                return Err(DecodeError::new(DecodeErrorReason::WrongFieldType, format!("{field}: expected a string-table index, got number")));
            }
            Some(f.clamp(-1e30, 1e30) as i128)
        }
        other => {
            return Err(DecodeError::new(
                DecodeErrorReason::WrongFieldType,
                format!("{field}: expected a string-table index, got {}", describe(other)),
            ))
        }
    };
    let shown = match value {
        Value::Integer(i) => i.to_string(),
        _ => js_number(value.as_f64().unwrap_or(0.0)),
    };
    match index.filter(|i| *i >= 0).and_then(|i| usize::try_from(i).ok()).and_then(|i| strings.get(i)) {
        Some(found) => Ok(found.clone()),
        None => Err(bad_index(field, &shown, strings)),
    }
}

/// A map key holding a string-table index: the JS object key must be an integer's own text.
fn lookup_key(strings: &[String], key: &str, field: &str) -> Result<String, DecodeError> {
    let canonical = key.parse::<i64>().ok().filter(|n| n.to_string() == key);
    match canonical {
        Some(n) if n < 0 => Err(bad_index(field, key, strings)),
        Some(n) => usize::try_from(n).ok().and_then(|i| strings.get(i)).cloned().ok_or_else(|| bad_index(field, key, strings)),
        None => Err(DecodeError::new(DecodeErrorReason::WrongFieldType, format!("{field}: expected a string-table index as key, got \"{key}\""))),
    }
}

fn span_v05(raw: &[Value], strings: &[String]) -> Result<Span, DecodeError> {
    let raw_meta = read_map(Some(&raw[9]), "meta")?;
    let mut meta = HashMap::with_capacity(raw_meta.len());
    for (key, value) in raw_meta {
        meta.insert(lookup_key(strings, key_of(key), "meta")?, lookup(strings, value, "meta")?);
    }
    let raw_metrics = read_map(Some(&raw[10]), "metrics")?;
    let mut metrics = HashMap::with_capacity(raw_metrics.len());
    for (key, value) in raw_metrics {
        metrics.insert(lookup_key(strings, key_of(key), "metrics")?, read_f64(Some(value), "metrics")?);
    }
    Ok(Span {
        service: lookup(strings, &raw[0], "service")?,
        name: lookup(strings, &raw[1], "name")?,
        resource: lookup(strings, &raw[2], "resource")?,
        trace_id: read_u64(Some(&raw[3]), "trace_id")?,
        span_id: read_u64(Some(&raw[4]), "span_id")?,
        parent_id: read_u64(Some(&raw[5]), "parent_id")?,
        start: read_i64(Some(&raw[6]), "start")?,
        duration: read_i64(Some(&raw[7]), "duration")?,
        error: read_i32(Some(&raw[8]), "error")?,
        meta,
        metrics,
        r#type: lookup(strings, &raw[11], "type")?,
        meta_struct: HashMap::new(),
        span_links: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::test_support::{encode, map as span_map};

    #[test]
    fn decodes_v04_with_exact_u64_ids() {
        let span = span_map(vec![
            ("service", Value::from("web")),
            ("name", Value::from("req")),
            ("trace_id", Value::from(u64::MAX)),
            ("span_id", Value::from(9_007_199_254_740_993_u64)),
            ("parent_id", Value::from(0)),
            ("start", Value::from(1_700_000_000_000_000_000_i64)),
            ("duration", Value::from(5)),
            ("meta", span_map(vec![("k", Value::from("v")), ("bin", Value::Binary(b"x".to_vec()))])),
            ("metrics", span_map(vec![("m", Value::from(2))])),
            ("unknown", Value::from(true)),
        ]);
        let body = encode(&Value::Array(vec![Value::Array(vec![span])]));
        let decoded = decode_traces(TracePayloadVersion::V04, &body).expect("valid");
        let s = &decoded.traces[0][0];
        assert_eq!((s.trace_id, s.span_id), (u64::MAX, 9_007_199_254_740_993));
        assert_eq!(s.meta.get("bin").map(String::as_str), Some("x"));
        assert_eq!(s.metrics.get("m"), Some(&2.0));
        assert_eq!(decoded.span_count, 1);
    }

    #[test]
    fn decodes_v05_string_tables() {
        let strings = Value::Array(["", "svc", "op", "res", "env", "prod", "web"].iter().map(|s| Value::from(*s)).collect());
        let span = Value::Array(vec![
            Value::from(1),
            Value::from(2),
            Value::from(3),
            Value::from(u64::MAX),
            Value::from(2),
            Value::from(0),
            Value::from(10),
            Value::from(5),
            Value::from(0),
            Value::Map(vec![(Value::from(4), Value::from(5))]),
            Value::Map(vec![]),
            Value::from(6),
        ]);
        let body = encode(&Value::Array(vec![strings, Value::Array(vec![Value::Array(vec![span])])]));
        let decoded = decode_traces(TracePayloadVersion::V05, &body).expect("valid");
        let s = &decoded.traces[0][0];
        assert_eq!((s.service.as_str(), s.name.as_str(), s.resource.as_str(), s.r#type.as_str()), ("svc", "op", "res", "web"));
        assert_eq!(s.trace_id, u64::MAX);
        assert_eq!(s.meta.get("env").map(String::as_str), Some("prod"));
    }

    #[test]
    fn reports_each_reason() {
        let reason = |version, value: Value| decode_traces(version, &encode(&value)).expect_err("invalid").reason;
        use TracePayloadVersion::{V04, V05};
        assert_eq!(decode_traces(V04, b"\xc1").expect_err("bad").reason, DecodeErrorReason::BadMsgpack);
        assert_eq!(reason(V04, Value::from(1)), DecodeErrorReason::WrongShape);
        assert_eq!(reason(V04, Value::Array(vec![Value::Array(vec![Value::from(1)])])), DecodeErrorReason::WrongShape);
        assert_eq!(
            reason(V04, Value::Array(vec![Value::Array(vec![span_map(vec![("trace_id", Value::from("1"))])])])),
            DecodeErrorReason::WrongFieldType
        );
        assert_eq!(
            reason(V04, Value::Array(vec![Value::Array(vec![span_map(vec![("start", Value::from(u64::MAX))])])])),
            DecodeErrorReason::OutOfRange
        );
        let span = |service: Value| {
            let mut fields = vec![Value::from(0); 12];
            fields[0] = service;
            fields[9] = Value::Map(vec![]);
            fields[10] = Value::Map(vec![]);
            Value::Array(vec![Value::Array(vec![Value::from("")]), Value::Array(vec![Value::Array(vec![Value::Array(fields)])])])
        };
        assert_eq!(reason(V05, span(Value::from(5))), DecodeErrorReason::BadStringIndex);
        assert_eq!(reason(V05, span(Value::Nil)), DecodeErrorReason::WrongFieldType);
        assert_eq!(reason(V05, Value::Array(vec![])), DecodeErrorReason::WrongShape);
    }
}
