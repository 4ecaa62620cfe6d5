//! The same datagrams through the Rust aggregator give exactly what the TypeScript aggregator
//! flushed (tests/fixtures/aggregation.json, written by gen-aggregation.mjs from the TS code):
//! series in the same order with bit-identical values, the same sketches (keys, counts, summary),
//! events, service checks and stats.

use std::path::Path;

use prost::Message;
use serde_json::{json, Value};
use telemetry_kit_services::dogstatsd::{Aggregator, AggregatorOptions};
use telemetry_kit_services::proto::metrics::SketchPayload;

/// Exact JSON equality, numbers compared as doubles (so 3 and 3.0 match, 0.1 and 0.1000001 do not).
fn same(a: &Value, b: &Value, path: &str, failures: &mut Vec<String>) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if x.as_f64().map(f64::to_bits) != y.as_f64().map(f64::to_bits) {
                failures.push(format!("{path}: {x} != {y}"));
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                failures.push(format!("{path}: length {} != {}", x.len(), y.len()));
                return;
            }
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                same(p, q, &format!("{path}[{i}]"), failures);
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                same(x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null), &format!("{path}.{k}"), failures);
            }
        }
        _ if a == b => {}
        _ => failures.push(format!("{path}: {a} != {b}")),
    }
}

#[test]
fn rust_aggregator_matches_the_typescript_one() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aggregation.json");
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    let options = &fixture["options"];
    let mut aggregator = Aggregator::new(AggregatorOptions {
        namespace: options["namespace"].as_str().map(str::to_string),
        global_tags: options["globalTags"].as_array().expect("tags").iter().filter_map(|t| t.as_str().map(str::to_string)).collect(),
        max_contexts: options["maxContexts"].as_u64().expect("maxContexts"),
        bucket_seconds: 10,
        hostname: options["hostname"].as_str().map(str::to_string),
    });
    let datagrams = fixture["datagrams"].as_array().expect("datagrams");
    let mut next = 0;
    let mut failures = Vec::new();
    for (i, flush) in fixture["flushes"].as_array().expect("flushes").iter().enumerate() {
        let at = flush["atMs"].as_u64().expect("atMs");
        while next < datagrams.len() && datagrams[next]["atMs"].as_u64().expect("atMs") <= at {
            let d = &datagrams[next];
            aggregator.ingest(d["text"].as_str().expect("text").as_bytes(), d["atMs"].as_u64().expect("atMs"));
            next += 1;
        }
        let flushed = aggregator.flush(at, flush["final"].as_bool().expect("final"));
        let sketches = flushed.sketches.as_ref().map(|bytes| {
            let payload = SketchPayload::decode(bytes.as_slice()).expect("protobuf");
            Value::Array(
                payload
                    .sketches
                    .iter()
                    .map(|s| {
                        json!({
                            "metric": s.metric, "host": s.host, "tags": s.tags, "distributions": [],
                            "dogsketches": s.dogsketches.iter().map(|d| json!({
                                "ts": d.ts, "cnt": d.cnt, "min": d.min, "max": d.max, "avg": d.avg, "sum": d.sum, "k": d.k, "n": d.n,
                            })).collect::<Vec<_>>(),
                            "metadata": null,
                        })
                    })
                    .collect(),
            )
        });
        let got = json!({
            "series": flushed.series,
            "sketches": sketches,
            "events": flushed.events,
            "serviceChecks": flushed.service_checks,
            "stats": aggregator.stats(),
        });
        same(&got, &flush["expected"], &format!("flush[{i}]"), &mut failures);
    }
    assert_eq!(next, datagrams.len());
    assert!(failures.is_empty(), "{} differences:\n{}", failures.len(), failures.iter().take(40).cloned().collect::<Vec<_>>().join("\n"));
}
