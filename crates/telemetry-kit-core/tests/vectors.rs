//! Runs the shared vectors of `test/vectors/` (privacy, user-id, ci, disable-env) against the
//! Rust core; the TS tests read the same files, so both backends answer the same.

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::Value;
use telemetry_kit_core::ci::detect_ci;
use telemetry_kit_core::environment::Env;
use telemetry_kit_core::gate::env_disabled_reason;
use telemetry_kit_core::ids::derive_user_id;
use telemetry_kit_core::privacy::{SanitizeOptions, Sanitizer, DEFAULT_REDACT_KEYS};
use telemetry_kit_core::types::JsonObject;

fn load(file: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../test/vectors")
        .join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("cannot parse {}: {e}", path.display()))
}

fn cases(vectors: &Value) -> &Vec<Value> {
    vectors["cases"].as_array().expect("a cases array")
}

fn name(case: &Value) -> &str {
    case["name"].as_str().expect("a case name")
}

fn env_of(value: &Value) -> Env {
    let obj = value.as_object().expect("an env object");
    obj.iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("a string value").to_owned()))
        .collect()
}

/// Runs every case, then fails once listing every failing case by name.
fn check_all(file: &str, minimum: usize, run: impl Fn(&Value) -> Option<String>) {
    let vectors = load(file);
    let cases = cases(&vectors);
    assert!(cases.len() >= minimum, "{file}: only {} cases", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| run(case).map(|why| format!("{file}: {}: {why}", name(case))))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn privacy_options(defaults: &Value, overrides: Option<&Value>) -> SanitizeOptions {
    let mut merged = defaults.as_object().expect("defaults").clone();
    if let Some(overrides) = overrides.and_then(Value::as_object) {
        for (key, value) in overrides {
            merged.insert(key.clone(), value.clone());
        }
    }
    let known = [
        "homeDir",
        "sanitizePaths",
        "sanitizeEmails",
        "redactKeys",
        "emailSalt",
    ];
    assert!(
        merged.keys().all(|k| known.contains(&k.as_str())),
        "unknown option in {merged:?}"
    );
    SanitizeOptions {
        home_dir: merged["homeDir"].as_str().map(str::to_owned),
        sanitize_paths: merged["sanitizePaths"].as_bool().expect("sanitizePaths"),
        sanitize_emails: merged["sanitizeEmails"].as_bool().expect("sanitizeEmails"),
        redact_keys: merged["redactKeys"]
            .as_array()
            .expect("redactKeys")
            .iter()
            .map(|k| k.as_str().expect("a key").to_owned())
            .collect(),
        email_salt: merged["emailSalt"].as_str().expect("emailSalt").to_owned(),
    }
}

#[test]
fn privacy_vectors() {
    let vectors = load("privacy.json");
    let defaults = &vectors["defaults"];
    assert_eq!(
        defaults["redactKeys"],
        serde_json::json!(DEFAULT_REDACT_KEYS),
        "the vectors' defaults are the builder's"
    );
    check_all("privacy.json", 45, |case| {
        let sanitizer = Sanitizer::new(&privacy_options(defaults, case.get("options")));
        let input: &JsonObject = case["input"].as_object().expect("an input object");
        let before = input.clone();
        let actual = Value::Object(sanitizer.sanitize_data(input));
        // Map equality ignores key order, as the vector file says it should.
        if actual != case["expected"] {
            return Some(format!("got {actual}, expected {}", case["expected"]));
        }
        (input != &before).then(|| "input was mutated".to_owned())
    });
}

#[test]
fn privacy_case_names_are_unique() {
    let vectors = load("privacy.json");
    let mut seen = HashMap::new();
    for case in cases(&vectors) {
        *seen.entry(name(case)).or_insert(0) += 1;
    }
    let duplicates: Vec<_> = seen.into_iter().filter(|(_, n)| *n > 1).collect();
    assert!(duplicates.is_empty(), "{duplicates:?}");
}

#[test]
fn user_id_vectors() {
    check_all("user-id.json", 1, |case| {
        let input = &case["input"];
        let actual = derive_user_id(input["installId"].as_str()?, input["serviceName"].as_str()?);
        (actual != case["expected"]).then(|| format!("got {actual}, expected {}", case["expected"]))
    });
}

#[test]
fn ci_vectors() {
    check_all("ci.json", 10, |case| {
        let info = detect_ci(&env_of(&case["input"]));
        let actual = serde_json::json!({ "ci": info.ci, "ci_name": info.ci_name });
        (actual != case["expected"]).then(|| format!("got {actual}, expected {}", case["expected"]))
    });
}

#[test]
fn disable_env_vectors() {
    check_all("disable-env.json", 1, |case| {
        let input = &case["input"];
        let actual = env_disabled_reason(&env_of(&input["env"]), input["serviceName"].as_str()?);
        let actual = serde_json::json!(actual);
        (actual != case["expected"]).then(|| format!("got {actual}, expected {}", case["expected"]))
    });
}
