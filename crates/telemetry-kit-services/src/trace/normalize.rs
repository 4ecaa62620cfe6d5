//! Span and trace normalization following the Datadog Agent (pkg/trace/agent/normalizer.go,
//! truncator.go, traceutil), identical to packages/core/src/services/trace/normalize.ts, whose
//! header lists every rule; the counters have the same names. Spans are fixed in place.

use std::collections::{HashMap, HashSet};

use indexmap::IndexMap;
use serde::Serialize;

use super::normalize_text::{normalize_name, normalize_peer_service, normalize_service, normalize_tag_value, truncate_utf8, NormalizeIssue};
use crate::proto::trace::Span;

pub const MAX_TYPE_LEN: usize = 100;
pub const MAX_RESOURCE_LEN: usize = 5000;
pub const MAX_META_KEY_LEN: usize = 200;
pub const MAX_META_VALUE_LEN: usize = 25_000;
pub const MAX_METRICS_KEY_LEN: usize = MAX_META_KEY_LEN;
/// sampler.PriorityNone: no sampling priority was set by the tracer.
pub const PRIORITY_NONE: f64 = -128.0;
pub const SAMPLING_PRIORITY_KEY: &str = "_sampling_priority_v1";
pub const TOP_LEVEL_KEY: &str = "_top_level";
pub const ORIGIN_KEY: &str = "_dd.origin";
pub const DECISION_MAKER_KEY: &str = "_dd.p.dm";
/// 2000-01-01T00:00:00Z in nanoseconds.
pub const YEAR_2000_NS: i64 = 946_684_800_000_000_000;

#[derive(Debug, Clone, Default)]
pub struct NormalizeDefaults {
    /// Epoch milliseconds, for fixing start times.
    pub now_ms: u64,
    /// The tracer's language, for the fallback service `unnamed-<lang>-service`.
    pub lang: Option<String>,
    /// The configured env (DD_ENV), for spans that have none.
    pub env: Option<String>,
    /// The configured service (DD_SERVICE), for spans that have none.
    pub service: Option<String>,
    /// Cloud origin tags, added where a span does not set them.
    pub span_tags: Option<IndexMap<String, String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TracesDropped {
    pub empty_trace: u64,
    pub trace_id_zero: u64,
    pub span_id_zero: u64,
    pub foreign_span: u64,
    pub user_reject: u64,
    /// Counted by the buffer: the trace did not fit `max_buffered_spans`.
    pub buffer_full: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpansMalformed {
    pub service_empty: u64,
    pub service_truncate: u64,
    pub service_invalid: u64,
    pub peer_service_truncate: u64,
    pub peer_service_invalid: u64,
    pub base_service_truncate: u64,
    pub base_service_invalid: u64,
    pub span_name_empty: u64,
    pub span_name_truncate: u64,
    pub span_name_invalid: u64,
    pub resource_empty: u64,
    pub resource_truncate: u64,
    pub type_truncate: u64,
    pub invalid_start_date: u64,
    pub invalid_duration: u64,
    pub invalid_http_status_code: u64,
    pub duplicate_span_id: u64,
    pub meta_truncate: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NormalizeCounters {
    pub traces_dropped: TracesDropped,
    pub spans_malformed: SpansMalformed,
}

fn count(issue: Option<NormalizeIssue>, empty: Option<&mut u64>, truncate: &mut u64, invalid: &mut u64) {
    match issue {
        Some(NormalizeIssue::Empty) => {
            if let Some(empty) = empty {
                *empty += 1;
            }
        }
        Some(NormalizeIssue::TooLong) => *truncate += 1,
        Some(NormalizeIssue::Invalid) => *invalid += 1,
        None => {}
    }
}

fn is_valid_status_code(code: &str) -> bool {
    if code.is_empty() || !code.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    // Number("000200") is 200: leading zeros are fine, as in the TS check.
    let trimmed = code.trim_start_matches('0');
    trimmed.len() <= 3 && trimmed.parse::<u32>().is_ok_and(|n| (100..600).contains(&n))
}

/// Normalizes one span in place. False when it cannot be repaired (a zero trace_id or
/// span_id), the reason counted; the caller then drops its whole trace.
pub fn normalize_span(span: &mut Span, defaults: &NormalizeDefaults, counters: &mut NormalizeCounters) -> bool {
    let m = &mut counters.spans_malformed;
    if span.trace_id == 0 {
        counters.traces_dropped.trace_id_zero += 1;
        return false;
    }
    if span.span_id == 0 {
        counters.traces_dropped.span_id_zero += 1;
        return false;
    }

    let service_in = match &defaults.service {
        Some(service) if span.service.is_empty() && !service.is_empty() => service.clone(),
        _ => std::mem::take(&mut span.service),
    };
    let service = normalize_service(&service_in, defaults.lang.as_deref());
    span.service = service.value;
    count(service.issue, Some(&mut m.service_empty), &mut m.service_truncate, &mut m.service_invalid);

    if let Some(peer) = span.meta.get_mut("peer.service").filter(|p| !p.is_empty()) {
        let fixed = normalize_peer_service(peer);
        *peer = fixed.value;
        count(fixed.issue, None, &mut m.peer_service_truncate, &mut m.peer_service_invalid);
    }
    if let Some(base) = span.meta.get_mut("_dd.base_service").filter(|b| !b.is_empty()) {
        let fixed = normalize_peer_service(base);
        *base = fixed.value;
        count(fixed.issue, None, &mut m.base_service_truncate, &mut m.base_service_invalid);
    }

    let name = normalize_name(&span.name);
    span.name = name.value;
    count(name.issue, Some(&mut m.span_name_empty), &mut m.span_name_truncate, &mut m.span_name_invalid);

    if span.resource.is_empty() {
        m.resource_empty += 1;
        span.resource = span.name.clone();
    } else if span.resource.len() > MAX_RESOURCE_LEN {
        m.resource_truncate += 1;
        span.resource = truncate_utf8(&span.resource, MAX_RESOURCE_LEN).to_string();
    }

    if span.parent_id == span.trace_id && span.parent_id == span.span_id {
        span.parent_id = 0;
    }

    if span.duration < 0 || i128::from(span.duration) > i128::from(i64::MAX) - i128::from(span.start) {
        m.invalid_duration += 1;
        span.duration = 0;
    }
    if span.start < YEAR_2000_NS {
        m.invalid_start_date += 1;
        let now = i128::from(defaults.now_ms) * 1_000_000;
        let start = now - i128::from(span.duration);
        span.start = i64::try_from(if start < 0 { now } else { start }).unwrap_or(i64::MAX);
    }

    if span.r#type.len() > MAX_TYPE_LEN {
        m.type_truncate += 1;
        span.r#type = truncate_utf8(&span.r#type, MAX_TYPE_LEN).to_string();
    }

    match span.meta.get("env").filter(|e| !e.is_empty()) {
        Some(env) => {
            let fixed = normalize_tag_value(env);
            span.meta.insert("env".into(), fixed);
        }
        None => {
            if let Some(env) = defaults.env.as_deref().filter(|e| !e.is_empty()) {
                span.meta.insert("env".into(), normalize_tag_value(env));
            }
        }
    }

    if let Some(status) = span.meta.get("http.status_code") {
        if !is_valid_status_code(status) {
            m.invalid_http_status_code += 1;
            span.meta.remove("http.status_code");
        }
    }

    for link in &mut span.span_links {
        if let Some(name) = link.attributes.get_mut("link.name") {
            *name = normalize_name(name).value;
        }
    }

    if let Some(tags) = &defaults.span_tags {
        for (key, value) in tags {
            span.meta.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }

    truncate_tags(span, m);
    true
}

/// truncator.go: over-long meta keys and values and metric keys get cut and marked "...".
fn truncate_tags(span: &mut Span, m: &mut SpansMalformed) {
    let keys: Vec<String> = span.meta.keys().filter(|k| k.len() > MAX_META_KEY_LEN).cloned().collect();
    let long_values: Vec<String> = span.meta.iter().filter(|(k, v)| k.len() <= MAX_META_KEY_LEN && v.len() > MAX_META_VALUE_LEN).map(|(k, _)| k.clone()).collect();
    for key in long_values {
        if let Some(value) = span.meta.get_mut(&key) {
            m.meta_truncate += 1;
            *value = format!("{}...", truncate_utf8(value, MAX_META_VALUE_LEN));
        }
    }
    for key in keys {
        let Some(value) = span.meta.remove(&key) else { continue };
        m.meta_truncate += 1;
        let value = if value.len() > MAX_META_VALUE_LEN { format!("{}...", truncate_utf8(&value, MAX_META_VALUE_LEN)) } else { value };
        span.meta.insert(format!("{}...", truncate_utf8(&key, MAX_META_KEY_LEN)), value);
    }
    let metric_keys: Vec<String> = span.metrics.keys().filter(|k| k.len() > MAX_METRICS_KEY_LEN).cloned().collect();
    for key in metric_keys {
        let Some(value) = span.metrics.remove(&key) else { continue };
        m.meta_truncate += 1;
        span.metrics.insert(format!("{}...", truncate_utf8(&key, MAX_METRICS_KEY_LEN)), value);
    }
}

/// A normalized trace, ready to become a TraceChunk.
#[derive(Debug, Clone, PartialEq)]
pub struct NormalizedTrace {
    pub spans: Vec<Span>,
    /// Index of the root span in `spans`.
    pub root: usize,
    /// As the tracer sent it (truncated toward zero), or PRIORITY_NONE.
    pub priority: f64,
    pub origin: String,
    pub tags: HashMap<String, String>,
}

/// traceutil.GetRoot: the last span with parent_id 0; else the last span whose parent is not in
/// the trace; else the last span.
pub fn find_root(spans: &[Span]) -> usize {
    if let Some(i) = spans.iter().rposition(|s| s.parent_id == 0) {
        return i;
    }
    let ids: HashSet<u64> = spans.iter().map(|s| s.span_id).collect();
    spans.iter().rposition(|s| !ids.contains(&s.parent_id)).unwrap_or(spans.len().saturating_sub(1))
}

/// traceutil.ComputeTopLevel: marks the spans that start a service's part of the trace.
pub fn compute_top_level(spans: &mut [Span]) {
    let mut service_by_id: HashMap<u64, String> = HashMap::with_capacity(spans.len());
    for span in spans.iter() {
        service_by_id.insert(span.span_id, span.service.clone());
    }
    for span in spans.iter_mut() {
        let parent_service = if span.parent_id == 0 { None } else { service_by_id.get(&span.parent_id) };
        if parent_service.is_none_or(|p| *p != span.service) {
            span.metrics.insert(TOP_LEVEL_KEY.into(), 1.0);
        } else {
            span.metrics.remove(TOP_LEVEL_KEY);
        }
    }
}

/// Normalizes a trace in place; None when it is rejected (the reason counted).
pub fn normalize_trace(mut spans: Vec<Span>, defaults: &NormalizeDefaults, counters: &mut NormalizeCounters) -> Option<NormalizedTrace> {
    let Some(first) = spans.first() else {
        counters.traces_dropped.empty_trace += 1;
        return None;
    };
    let trace_id = first.trace_id;
    let mut seen = HashSet::with_capacity(spans.len());
    for span in spans.iter_mut() {
        if span.trace_id != trace_id {
            counters.traces_dropped.foreign_span += 1;
            return None;
        }
        if !normalize_span(span, defaults, counters) {
            return None;
        }
        if !seen.insert(span.span_id) {
            counters.spans_malformed.duplicate_span_id += 1;
        }
    }

    let root = find_root(&spans);
    let priority = spans[root]
        .metrics
        .get(SAMPLING_PRIORITY_KEY)
        .or_else(|| spans.iter().find_map(|s| s.metrics.get(SAMPLING_PRIORITY_KEY)))
        .map_or(PRIORITY_NONE, |p| p.trunc());
    if priority != PRIORITY_NONE && priority < 0.0 {
        counters.traces_dropped.user_reject += 1;
        return None;
    }

    compute_top_level(&mut spans);
    let mut tags = HashMap::new();
    if let Some(dm) = spans.iter().find_map(|s| s.meta.get(DECISION_MAKER_KEY)) {
        tags.insert(DECISION_MAKER_KEY.to_string(), dm.clone());
    }
    let origin = spans[root].meta.get(ORIGIN_KEY).cloned().unwrap_or_default();
    Some(NormalizedTrace { spans, root, priority, origin, tags })
}

/// ECMAScript ToInt32, which protobufjs applies when it writes an int32 field.
pub fn js_to_int32(value: f64) -> i32 {
    if !value.is_finite() {
        return 0;
    }
    let wrapped = value.trunc().rem_euclid(4_294_967_296.0);
    (wrapped as u64 as u32) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(trace_id: u64, span_id: u64, parent_id: u64) -> Span {
        Span { trace_id, span_id, parent_id, start: 1_700_000_000_000_000_000, duration: 10, ..Default::default() }
    }

    #[test]
    fn applies_the_defaults_and_limits() {
        let mut s = span(1, 2, 0);
        s.resource = "x".repeat(6000);
        s.r#type = "t".repeat(150);
        s.meta.insert("http.status_code".into(), "abc".into());
        s.meta.insert("k".repeat(250), "v".into());
        let mut counters = NormalizeCounters::default();
        let defaults = NormalizeDefaults { env: Some("Prod Env".into()), lang: Some("nodejs".into()), ..Default::default() };
        assert!(normalize_span(&mut s, &defaults, &mut counters));
        assert_eq!(s.service, "unnamed-nodejs-service");
        assert_eq!(s.name, "unnamed_operation");
        assert_eq!(s.resource.len(), MAX_RESOURCE_LEN);
        assert_eq!(s.r#type.len(), MAX_TYPE_LEN);
        assert_eq!(s.meta.get("env").map(String::as_str), Some("prod_env"));
        assert!(!s.meta.contains_key("http.status_code"));
        assert!(s.meta.contains_key(&format!("{}...", "k".repeat(200))));
        let m = &counters.spans_malformed;
        assert_eq!((m.service_empty, m.span_name_empty, m.resource_truncate, m.type_truncate, m.invalid_http_status_code, m.meta_truncate), (1, 1, 1, 1, 1, 1));
    }

    #[test]
    fn repairs_times() {
        let mut s = span(1, 2, 0);
        s.start = 5;
        s.duration = -1;
        let mut counters = NormalizeCounters::default();
        assert!(normalize_span(&mut s, &NormalizeDefaults { now_ms: 1_700_000_000_000, ..Default::default() }, &mut counters));
        assert_eq!((s.start, s.duration), (1_700_000_000_000_000_000, 0));
        let mut overflow = span(1, 2, 0);
        overflow.duration = i64::MAX;
        normalize_span(&mut overflow, &NormalizeDefaults::default(), &mut counters);
        assert_eq!(overflow.duration, 0);
        assert_eq!(counters.spans_malformed.invalid_duration, 2);
    }

    #[test]
    fn rejects_traces_and_computes_top_level() {
        let mut counters = NormalizeCounters::default();
        let d = NormalizeDefaults::default();
        assert!(normalize_trace(vec![], &d, &mut counters).is_none());
        assert!(normalize_trace(vec![span(0, 1, 0)], &d, &mut counters).is_none());
        assert!(normalize_trace(vec![span(1, 0, 0)], &d, &mut counters).is_none());
        assert!(normalize_trace(vec![span(1, 1, 0), span(2, 2, 1)], &d, &mut counters).is_none());
        let mut rejected = span(1, 1, 0);
        rejected.metrics.insert(SAMPLING_PRIORITY_KEY.into(), -1.0);
        assert!(normalize_trace(vec![rejected], &d, &mut counters).is_none());
        let t = &counters.traces_dropped;
        assert_eq!((t.empty_trace, t.trace_id_zero, t.span_id_zero, t.foreign_span, t.user_reject), (1, 1, 1, 1, 1));

        let mut root = span(7, 1, 0);
        root.service = "a".into();
        root.meta.insert(ORIGIN_KEY.into(), "lambda".into());
        let mut child = span(7, 2, 1);
        child.service = "a".into();
        child.meta.insert(DECISION_MAKER_KEY.into(), "-4".into());
        let mut other = span(7, 3, 2);
        other.service = "b".into();
        let trace = normalize_trace(vec![root, child, other], &d, &mut counters).expect("kept");
        let top: Vec<bool> = trace.spans.iter().map(|s| s.metrics.contains_key(TOP_LEVEL_KEY)).collect();
        assert_eq!(top, [true, false, true]);
        assert_eq!((trace.root, trace.priority, trace.origin.as_str()), (0, PRIORITY_NONE, "lambda"));
        assert_eq!(trace.tags.get(DECISION_MAKER_KEY).map(String::as_str), Some("-4"));
    }

    #[test]
    fn status_codes_and_int32() {
        assert!(is_valid_status_code("200"));
        assert!(is_valid_status_code("0200"));
        assert!(!is_valid_status_code("600"));
        assert!(!is_valid_status_code("99"));
        assert!(!is_valid_status_code("2OO"));
        assert_eq!(js_to_int32(2.0), 2);
        assert_eq!(js_to_int32(-1.0), -1);
        assert_eq!(js_to_int32(4_294_967_297.0), 1);
        assert_eq!(js_to_int32(f64::NAN), 0);
    }
}
