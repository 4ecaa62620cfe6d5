//! Client-computed APM stats: tracers POST a msgpack `ClientStatsPayload` to /v0.6/stats (Go
//! field names as keys). Validated, processed as the Datadog Agent's `processStats` does, and
//! forwarded inside a msgpack `StatsPayload` to `{trace}/api/v0.2/stats`. Identical to
//! packages/core/src/services/trace/client-stats.ts, which documents what is and is not done.
//! Fields this module does not know are forwarded unchanged.

use rmpv::Value;

use super::msgpack::{decode_msgpack, DecodeError, DecodeErrorReason};
use super::normalize_text::{normalize_name, normalize_service, normalize_tag_value};
use super::TracerMeta;

const PAYLOAD_STRINGS: [&str; 12] =
    ["Hostname", "Env", "Version", "Lang", "TracerVersion", "RuntimeID", "AgentAggregation", "Service", "ContainerID", "GitCommitSha", "ImageTag", "ProcessTags"];
const GROUP_STRINGS: [&str; 8] = ["Service", "Name", "Resource", "Type", "DBType", "SpanKind", "HTTPMethod", "HTTPEndpoint"];
const GROUP_UINTS: [&str; 4] = ["Hits", "Errors", "Duration", "TopLevelHits"];
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

type Pairs = Vec<(Value, Value)>;

fn fail(reason: DecodeErrorReason, message: String) -> DecodeError {
    DecodeError::new(reason, message)
}

fn slot<'a>(map: &'a mut Pairs, key: &str) -> Option<&'a mut Value> {
    map.iter_mut().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v)
}

fn set(map: &mut Pairs, key: &str, value: Value) {
    match slot(map, key) {
        Some(existing) => *existing = value,
        None => map.push((Value::from(key), value)),
    }
}

fn str_of(map: &Pairs, key: &str) -> String {
    map.iter().find(|(k, _)| k.as_str() == Some(key)).and_then(|(_, v)| v.as_str()).unwrap_or("").to_string()
}

fn check_string(map: &mut Pairs, key: &str, path: &str) -> Result<(), DecodeError> {
    let Some(v) = slot(map, key) else { return Ok(()) };
    match v {
        Value::String(s) if s.is_str() => {}
        Value::String(s) => *v = Value::from(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        Value::Nil => *v = Value::from(""),
        Value::Binary(bytes) => *v = Value::from(String::from_utf8_lossy(bytes).into_owned()),
        _ => return Err(fail(DecodeErrorReason::WrongFieldType, format!("{path}.{key}: expected string"))),
    }
    Ok(())
}

fn check_uint(map: &mut Pairs, key: &str, path: &str, max: Option<u64>) -> Result<(), DecodeError> {
    let Some(v) = slot(map, key) else { return Ok(()) };
    let out_of_range = || fail(DecodeErrorReason::OutOfRange, format!("{path}.{key}: out of range"));
    match v {
        Value::Nil => *v = Value::from(0),
        Value::Integer(i) => match i.as_u64() {
            Some(n) if max.is_none_or(|m| n <= m) => {}
            _ => return Err(out_of_range()),
        },
        Value::F32(_) | Value::F64(_) => {
            let f = v.as_f64().unwrap_or(f64::NAN);
            if f.fract() != 0.0 || f.abs() > MAX_SAFE_INTEGER {
                return Err(fail(DecodeErrorReason::WrongFieldType, format!("{path}.{key}: expected unsigned integer")));
            }
            if f < 0.0 || max.is_some_and(|m| f > m as f64) {
                return Err(out_of_range());
            }
        }
        _ => return Err(fail(DecodeErrorReason::WrongFieldType, format!("{path}.{key}: expected unsigned integer"))),
    }
    Ok(())
}

fn check_int(map: &mut Pairs, key: &str, path: &str) -> Result<(), DecodeError> {
    let Some(v) = slot(map, key) else { return Ok(()) };
    match v {
        Value::Nil => *v = Value::from(0),
        Value::Integer(_) => {}
        Value::F32(_) | Value::F64(_) if v.as_f64().is_some_and(|f| f.fract() == 0.0 && f.abs() <= MAX_SAFE_INTEGER) => {}
        _ => return Err(fail(DecodeErrorReason::WrongFieldType, format!("{path}.{key}: expected integer"))),
    }
    Ok(())
}

fn check_bytes(map: &mut Pairs, key: &str, path: &str) -> Result<(), DecodeError> {
    let Some(v) = slot(map, key) else { return Ok(()) };
    match v {
        Value::Binary(_) => {}
        Value::Nil => *v = Value::Binary(Vec::new()),
        _ => return Err(fail(DecodeErrorReason::WrongFieldType, format!("{path}.{key}: expected bin"))),
    }
    Ok(())
}

fn check_string_array(map: &mut Pairs, key: &str, path: &str) -> Result<(), DecodeError> {
    let Some(v) = slot(map, key) else { return Ok(()) };
    match v {
        Value::Nil => *v = Value::Array(Vec::new()),
        Value::Array(items) if items.iter().all(Value::is_str) => {}
        _ => return Err(fail(DecodeErrorReason::WrongFieldType, format!("{path}.{key}: expected an array of strings"))),
    }
    Ok(())
}

/// The maps of an array field, checked: nil → [], not an array → wrong type, an item that is
/// not a map → wrong shape.
fn map_array<'a>(map: &'a mut Pairs, key: &str, path: &str) -> Result<Vec<&'a mut Pairs>, DecodeError> {
    let Some(v) = slot(map, key) else { return Ok(Vec::new()) };
    if v.is_nil() {
        *v = Value::Array(Vec::new());
    }
    let Value::Array(items) = v else {
        return Err(fail(DecodeErrorReason::WrongFieldType, format!("{path}.{key}: expected an array")));
    };
    if let Some(i) = items.iter().position(|item| !item.is_map()) {
        return Err(fail(DecodeErrorReason::WrongShape, format!("{path}.{key}[{i}]: expected a map")));
    }
    Ok(items.iter_mut().filter_map(|item| if let Value::Map(pairs) = item { Some(pairs) } else { None }).collect())
}

fn validate(payload: &mut Pairs) -> Result<(), DecodeError> {
    for key in PAYLOAD_STRINGS {
        check_string(payload, key, "payload")?;
    }
    check_uint(payload, "Sequence", "payload", None)?;
    check_string_array(payload, "Tags", "payload")?;
    for (b, bucket) in map_array(payload, "Stats", "payload")?.into_iter().enumerate() {
        let path = format!("payload.Stats[{b}]");
        check_uint(bucket, "Start", &path, None)?;
        check_uint(bucket, "Duration", &path, None)?;
        check_int(bucket, "AgentTimeShift", &path)?;
        for (g, group) in map_array(bucket, "Stats", &path)?.into_iter().enumerate() {
            let group_path = format!("{path}.Stats[{g}]");
            for key in GROUP_STRINGS {
                check_string(group, key, &group_path)?;
            }
            for key in GROUP_UINTS {
                check_uint(group, key, &group_path, None)?;
            }
            check_uint(group, "HTTPStatusCode", &group_path, Some(u64::from(u32::MAX)))?;
            check_bytes(group, "OkSummary", &group_path)?;
            check_bytes(group, "ErrorSummary", &group_path)?;
            check_string_array(group, "PeerTags", &group_path)?;
            check_int(group, "IsTraceRoot", &group_path)?;
            if let Some(v) = slot(group, "Synthetics") {
                match v {
                    Value::Nil => *v = Value::Boolean(false),
                    Value::Boolean(_) => {}
                    _ => return Err(fail(DecodeErrorReason::WrongFieldType, format!("{group_path}.Synthetics: expected bool"))),
                }
            }
        }
    }
    Ok(())
}

/// Decodes and validates a /v0.6/stats body (a map, nil fields replaced by zero values).
pub fn decode_client_stats(body: &[u8]) -> Result<Pairs, DecodeError> {
    let Value::Map(mut payload) = decode_msgpack(body)? else {
        return Err(fail(DecodeErrorReason::WrongShape, "payload: expected a ClientStatsPayload map".into()));
    };
    validate(&mut payload)?;
    Ok(payload)
}

/// The agent's `processStats`, in place on a validated payload.
pub fn process_client_stats(payload: &mut Pairs, meta: &TracerMeta, env: Option<&str>) {
    if let Some(container) = meta.container_id.as_deref().filter(|c| !c.is_empty()) {
        set(payload, "ContainerID", Value::from(container));
    }
    let own_env = str_of(payload, "Env");
    let chosen = if own_env.is_empty() { env.unwrap_or("").to_string() } else { own_env };
    set(payload, "Env", Value::from(normalize_tag_value(&chosen)));
    if str_of(payload, "TracerVersion").is_empty() {
        if let Some(version) = meta.tracer_version.as_deref().filter(|v| !v.is_empty()) {
            set(payload, "TracerVersion", Value::from(version));
        }
    }
    if str_of(payload, "Lang").is_empty() {
        if let Some(lang) = meta.lang.as_deref().filter(|l| !l.is_empty()) {
            set(payload, "Lang", Value::from(lang));
        }
    }
    let Some(Value::Array(buckets)) = slot(payload, "Stats") else { return };
    for bucket in buckets.iter_mut() {
        let Value::Map(bucket) = bucket else { continue };
        let Some(Value::Array(groups)) = slot(bucket, "Stats") else { continue };
        for group in groups.iter_mut() {
            let Value::Map(group) = group else { continue };
            let name = normalize_name(&str_of(group, "Name")).value;
            set(group, "Name", Value::from(name.clone()));
            let service = normalize_service(&str_of(group, "Service"), meta.lang.as_deref()).value;
            set(group, "Service", Value::from(service));
            if str_of(group, "Resource").is_empty() {
                set(group, "Resource", Value::from(name));
            }
        }
    }
}

/// The msgpack `StatsPayload` body for /api/v0.2/stats (not compressed).
pub fn encode_stats_payload(agent_hostname: &str, agent_env: &str, agent_version: &str, stats: Vec<Pairs>) -> Vec<u8> {
    let payload = Value::Map(vec![
        (Value::from("AgentHostname"), Value::from(agent_hostname)),
        (Value::from("AgentEnv"), Value::from(agent_env)),
        (Value::from("Stats"), Value::Array(stats.into_iter().map(Value::Map).collect())),
        (Value::from("AgentVersion"), Value::from(agent_version)),
        (Value::from("ClientComputed"), Value::Boolean(true)),
        (Value::from("SplitPayload"), Value::Boolean(false)),
    ]);
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = rmpv::encode::write_value(&mut out, &payload);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::test_support::{encode, map};

    #[test]
    fn validates_and_processes_like_the_agent() {
        let body = encode(&map(vec![
            ("Hostname", Value::Nil),
            ("Stats", Value::Array(vec![map(vec![("Start", Value::from(1)), ("Stats", Value::Array(vec![map(vec![("Name", Value::from("Web Request")), ("Hits", Value::from(3))])]))])])),
        ]));
        let mut payload = decode_client_stats(&body).expect("valid");
        let meta = TracerMeta { lang: Some("nodejs".into()), tracer_version: Some("5.0".into()), ..Default::default() };
        process_client_stats(&mut payload, &meta, Some("Prod"));
        assert_eq!(str_of(&payload, "Hostname"), "");
        assert_eq!(str_of(&payload, "Env"), "prod");
        assert_eq!(str_of(&payload, "Lang"), "nodejs");
        let Some(Value::Array(buckets)) = slot(&mut payload, "Stats") else { panic!("buckets") };
        let Value::Map(bucket) = &mut buckets[0] else { panic!("bucket") };
        let Some(Value::Array(groups)) = slot(bucket, "Stats") else { panic!("groups") };
        let Value::Map(group) = &groups[0] else { panic!("group") };
        assert_eq!((str_of(group, "Name"), str_of(group, "Service"), str_of(group, "Resource")), ("Web_Request".to_string(), "unnamed-nodejs-service".to_string(), "Web_Request".to_string()));
        let encoded = encode_stats_payload("", "prod", "0.1.0", vec![payload]);
        assert!(matches!(decode_msgpack(&encoded), Ok(Value::Map(_))));
    }

    #[test]
    fn rejects_bad_payloads() {
        let reason = |v: Value| decode_client_stats(&encode(&v)).expect_err("invalid").reason;
        assert_eq!(reason(Value::from(1)), DecodeErrorReason::WrongShape);
        assert_eq!(reason(map(vec![("Hostname", Value::from(1))])), DecodeErrorReason::WrongFieldType);
        assert_eq!(reason(map(vec![("Sequence", Value::from(-1))])), DecodeErrorReason::OutOfRange);
        assert_eq!(reason(map(vec![("Stats", Value::from(1))])), DecodeErrorReason::WrongFieldType);
        assert_eq!(reason(map(vec![("Stats", Value::Array(vec![Value::from(1)]))])), DecodeErrorReason::WrongShape);
        assert_eq!(decode_client_stats(b"\xc1").expect_err("bad").reason, DecodeErrorReason::BadMsgpack);
    }
}
