//! The shared vectors (test/vectors/dogstatsd.json, test/vectors/trace-normalize.json) that
//! specify the TS parser and normalizer: the Rust codec and normalizer must give the same
//! answers, case by case.

use std::path::Path;

use serde_json::{json, Map, Value};
use telemetry_kit_services::dogstatsd::codec::{decode_packet, Line};
use telemetry_kit_services::trace::normalize_text::{
    normalize_name, normalize_peer_service, normalize_service, normalize_tag, normalize_tag_value, NormalizeIssue, Normalized,
};

fn load(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test/vectors").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("vector JSON")
}

fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut buffer = 0u32;
    let mut bits = 0;
    for c in text.bytes().filter(|c| *c != b'=') {
        let index = ALPHABET.iter().position(|a| *a == c).expect("base64 character") as u32;
        buffer = (buffer << 6) | index;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    out
}

fn input_bytes(input: &Value) -> Vec<u8> {
    match input {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Object(o) if o.contains_key("base64") => base64_decode(o["base64"].as_str().expect("base64 text")),
        Value::Object(o) => {
            let unit = o["repeat"].as_str().expect("repeat");
            let times = o["times"].as_u64().expect("times") as usize;
            let suffix = o.get("suffix").and_then(Value::as_str).unwrap_or("");
            format!("{}{suffix}", unit.repeat(times)).into_bytes()
        }
        other => panic!("unknown input {other}"),
    }
}

/// JSON equality where numbers compare as doubles (1 == 1.0).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q)),
        (Value::Object(x), Value::Object(y)) => x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w))),
        _ => a == b,
    }
}

fn merged(defaults: &Value, item: &Value) -> Value {
    let mut out: Map<String, Value> = defaults.as_object().cloned().unwrap_or_default();
    for (k, v) in item.as_object().expect("object") {
        out.insert(k.clone(), v.clone());
    }
    Value::Object(out)
}

#[test]
fn dogstatsd_vectors() {
    let vectors = load("dogstatsd.json");
    let cases = vectors["cases"].as_array().expect("cases");
    assert!(cases.len() >= 60, "at least 60 cases");
    let defaults = &vectors["defaults"];
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap_or("?");
        let bytes = input_bytes(&case["input"]);
        let (mut metrics, mut events, mut checks, mut errors) = (vec![], vec![], vec![], vec![]);
        for line in decode_packet(&bytes) {
            match line {
                Ok(Line::Metric(m)) => metrics.push(json!({
                    "name": m.name,
                    "type": m.metric_type.as_str(),
                    "values": m.values.as_ref().map(|v| v.to_vec()).unwrap_or_default(),
                    "setValue": m.set_value,
                    "sampleRate": m.sample_rate,
                    "tags": m.tags(),
                    "timestamp": m.timestamp,
                    "containerId": m.container_id,
                })),
                Ok(Line::Event(e)) => events.push(json!({
                    "title": e.title,
                    "text": e.text,
                    "timestamp": e.timestamp,
                    "hostname": e.hostname,
                    "aggregationKey": e.aggregation_key,
                    "priority": e.priority,
                    "alertType": e.alert_type,
                    "sourceTypeName": e.source_type_name,
                    "tags": e.tags,
                    "containerId": e.container_id,
                })),
                Ok(Line::ServiceCheck(c)) => checks.push(json!({
                    "name": c.name,
                    "status": c.status,
                    "timestamp": c.timestamp,
                    "hostname": c.hostname,
                    "message": c.message,
                    "tags": c.tags,
                    "containerId": c.container_id,
                })),
                Err(error) => errors.push(json!(error.kind.as_str())),
            }
        }
        let expected = &case["expected"];
        let want = |key: &str, kind: &str| -> Value {
            Value::Array(expected[key].as_array().map(|items| items.iter().map(|i| merged(&defaults[kind], i)).collect()).unwrap_or_default())
        };
        let got = json!({"metrics": metrics, "events": events, "serviceChecks": checks, "errors": errors});
        let wanted = json!({"metrics": want("metrics", "metric"), "events": want("events", "event"), "serviceChecks": want("serviceChecks", "serviceCheck"), "errors": expected["errors"]});
        if !same(&got, &wanted) {
            failures.push(format!("{name}:\n  got      {got}\n  expected {wanted}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases differ:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

fn issue_name(issue: Option<NormalizeIssue>) -> Value {
    match issue {
        None => Value::Null,
        Some(NormalizeIssue::Empty) => json!("empty"),
        Some(NormalizeIssue::TooLong) => json!("too_long"),
        Some(NormalizeIssue::Invalid) => json!("invalid"),
    }
}

#[test]
fn trace_normalize_vectors() {
    let vectors = load("trace-normalize.json");
    let cases = vectors["cases"].as_array().expect("cases");
    assert!(cases.len() > 60);
    let mut failures = Vec::new();
    for case in cases {
        let input = &case["input"];
        let value = input["value"].as_str().expect("value");
        let lang = input.get("lang").and_then(Value::as_str);
        let plain = |value: String| Normalized { value, issue: None };
        let result = match input["fn"].as_str().expect("fn") {
            "tag" => plain(normalize_tag(value)),
            "tagValue" => plain(normalize_tag_value(value)),
            "name" => normalize_name(value),
            "service" => normalize_service(value, lang),
            "peerService" => normalize_peer_service(value),
            other => panic!("unknown fn {other}"),
        };
        let got = json!({"value": result.value, "issue": issue_name(result.issue)});
        if got != case["expected"] {
            failures.push(format!("{}: got {got}, expected {}", case["name"], case["expected"]));
        }
    }
    assert!(failures.is_empty(), "{} cases differ:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn normalize_tag_limits() {
    assert_eq!(normalize_tag(&"a".repeat(888)), "a".repeat(200));
    assert_eq!(normalize_tag(&format!("a{}b", "🐶".repeat(799))), "a");
}
