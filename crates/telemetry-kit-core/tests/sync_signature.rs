//! Runs test/vectors/signature.json against the Rust signer; the TS tests read the same file,
//! so both backends sign byte for byte alike.

use std::path::PathBuf;

use serde_json::Value;
use telemetry_kit_core::sync::signature::{sign, signed_string};

fn vectors() -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../test/vectors/signature.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let parsed: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("cannot parse {}: {e}", path.display()));
    parsed["cases"].as_array().expect("a cases array").clone()
}

fn field<'a>(case: &'a Value, name: &str) -> &'a str {
    case[name].as_str().unwrap_or_else(|| panic!("case {case} lacks a string {name}"))
}

#[test]
fn every_signature_vector_matches() {
    let cases = vectors();
    assert!(cases.len() >= 6, "only {} cases", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let got = sign(field(case, "secret"), field(case, "timestamp"), field(case, "nonce"), field(case, "body"));
            (got != field(case, "signature")).then(|| format!("{}: got {got}", field(case, "name")))
        })
        .collect();
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn signatures_are_lowercase_hex_of_32_bytes() {
    for case in vectors() {
        let got = sign(field(&case, "secret"), field(&case, "timestamp"), field(&case, "nonce"), field(&case, "body"));
        assert_eq!(got.len(), 64, "{}", field(&case, "name"));
        assert!(got.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{got}");
    }
}

#[test]
fn signed_string_joins_timestamp_nonce_and_body_with_colons() {
    assert_eq!(signed_string("1", "n", "{\"a\":\"1:2\"}"), "1:n:{\"a\":\"1:2\"}");
}
