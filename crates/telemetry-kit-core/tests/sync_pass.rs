//! One sync pass over a real FileEventStore against a scripted ingest server on 127.0.0.1:0:
//! every answer of docs/PROTOCOL.md and what the pass does with it.

mod sync_support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sync_support::*;
use telemetry_kit_core::clock::now_ms;
use telemetry_kit_core::storage::FileEventStore;
use telemetry_kit_core::sync::outcome::PassLimits;
use telemetry_kit_core::sync::{run_sync_pass, SyncErrorCode, SyncOutcome, SyncPassOptions, SyncSettings};
use telemetry_kit_core::types::EventState;

fn run(store: &FileEventStore, settings: &SyncSettings, limits: PassLimits) -> SyncOutcome {
    run_sync_pass(store, &client(), settings, limits).expect("the store works")
}

fn ids_in(store: &FileEventStore, state: EventState) -> HashSet<String> {
    store
        .list(10_000, Some(state))
        .expect("list")
        .iter()
        .map(|e| serde_json::from_str::<Value>(&e.body).expect("json")["event_id"].as_str().expect("id").to_string())
        .collect()
}

fn last_error(store: &FileEventStore) -> Option<Value> {
    store.get_meta("last_error").expect("meta").map(|text| serde_json::from_str(&text).expect("last_error is JSON"))
}

fn all_signed(server: &TestServer) {
    for request in server.requests() {
        assert!(request.signature_valid, "bad signature on {}", request.header("x-nonce"));
    }
}

#[test]
fn ok_marks_every_event_synced_with_signed_protocol_requests() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, lines) = seeded_store(dir.path(), 5, 0);
    let server = TestServer::scripted(vec![]);
    let outcome = run(&store, &settings(&format!("{}/", server.url), 2), PassLimits::default());
    assert_eq!(outcome, SyncOutcome { accepted: 5, rejected: 0, duplicates: 0, remaining: 0, batches: 3, error: None });
    assert_eq!(store.counts().expect("counts").synced, 5);
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    let expected_bodies = [
        format!("{{\"events\":[{},{}]}}", lines[0], lines[1]),
        format!("{{\"events\":[{},{}]}}", lines[2], lines[3]),
        format!("{{\"events\":[{}]}}", lines[4]),
    ];
    let now_s = now_ms() / 1000;
    for (request, expected) in requests.iter().zip(expected_bodies) {
        assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/v1/ingest/org-1/app-1"));
        assert_eq!(request.body, expected, "stored bodies are sent verbatim, oldest first");
        assert!(request.signature_valid);
        assert_eq!(request.header("authorization"), format!("Bearer {TOKEN}"));
        assert_eq!(request.header("x-batch-size"), request.event_ids.len().to_string());
        assert_eq!(request.header("x-schema-version"), "1.0.0");
        assert_eq!(request.header("x-sdk-version"), SDK);
        assert_eq!(request.header("content-type"), "application/json");
        assert_eq!(request.header("content-encoding"), "");
        let ts: i64 = request.header("x-timestamp").parse().expect("integer seconds");
        assert!((ts - now_s).abs() <= 5, "timestamp {ts} vs now {now_s}");
        assert!(uuid::Uuid::parse_str(request.header("x-nonce")).is_ok_and(|u| u.get_version_num() == 4));
    }
    let nonces: HashSet<&str> = requests.iter().map(|r| r.header("x-nonce")).collect();
    assert_eq!(nonces.len(), 3, "a fresh nonce per request");
    assert!(store.get_meta("last_sync").expect("meta").is_some_and(|at| at.ends_with('Z') && at.len() == 24));
    assert_eq!(last_error(&store), None);
}

#[test]
fn partial_dead_letters_the_rejected_ids_and_marks_the_others_synced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, _) = seeded_store(dir.path(), 4, 0);
    let server = TestServer::scripted(vec![Reply::json(
        207,
        json!({ "status": "partial", "accepted": 2, "rejected": 2, "duplicates": 0, "errors": [
            { "event_id": id(1), "code": "schema", "message": "event.type is missing" },
            { "event_id": id(3), "code": "too_large", "message": "over 64 KiB" }
        ]}),
    )]);
    let outcome = run(&store, &settings(&server.url, 100), PassLimits::default());
    assert_eq!(outcome, SyncOutcome { accepted: 2, rejected: 2, duplicates: 0, remaining: 0, batches: 1, error: None });
    assert_eq!(ids_in(&store, EventState::Synced), HashSet::from([id(0), id(2)]));
    assert_eq!(ids_in(&store, EventState::DeadLetter), HashSet::from([id(1), id(3)]));
    let reasons = dead_letter_reasons(dir.path());
    assert_eq!(reasons[&id(1)], "schema: event.type is missing");
    assert_eq!(reasons[&id(3)], "too_large: over 64 KiB");
    assert_eq!(server.requests().len(), 1, "dead-lettered events are never resent");
}

#[test]
fn too_large_splits_until_every_event_is_delivered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, _) = seeded_store(dir.path(), 5, 0);
    let server = TestServer::start(|request| {
        if request.event_ids.len() > 2 {
            Reply::error(413, "too_many_events", "at most 2")
        } else {
            Reply::accept(request)
        }
    });
    let outcome = run(&store, &settings(&server.url, 5), PassLimits::default());
    assert_eq!(outcome, SyncOutcome { accepted: 5, rejected: 0, duplicates: 0, remaining: 0, batches: 3, error: None });
    let sizes: Vec<usize> = server.requests().iter().map(|r| r.event_ids.len()).collect();
    assert_eq!(sizes, [5, 3, 2, 1, 2], "halves, the first half the larger");
    assert_eq!(store.counts().expect("counts").synced, 5);
    all_signed(&server);
}

fn poison_event_isolated(status: u16, code: &'static str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, _) = seeded_store(dir.path(), 4, 0);
    let poison = id(2);
    let server = TestServer::start(move |request| {
        if request.event_ids.contains(&poison) {
            Reply::error(status, code, "refused")
        } else {
            Reply::accept(request)
        }
    });
    let outcome = run(&store, &settings(&server.url, 4), PassLimits::default());
    assert_eq!(outcome, SyncOutcome { accepted: 3, rejected: 1, duplicates: 0, remaining: 0, batches: 3, error: None });
    assert_eq!(ids_in(&store, EventState::DeadLetter), HashSet::from([id(2)]));
    assert_eq!(dead_letter_reasons(dir.path())[&id(2)], format!("HTTP {status} {code}: refused"));
    assert_eq!(ids_in(&store, EventState::Synced), HashSet::from([id(0), id(1), id(3)]));
    let sizes: Vec<usize> = server.requests().iter().map(|r| r.event_ids.len()).collect();
    assert_eq!(sizes, [4, 2, 2, 1, 1]);
}

#[test]
fn payload_too_large_for_a_single_event_dead_letters_it() {
    poison_event_isolated(413, "payload_too_large");
}

#[test]
fn bad_request_isolates_and_dead_letters_the_poison_event() {
    poison_event_isolated(400, "malformed");
}

#[test]
fn body_over_5_mib_is_split_before_it_is_sent() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 8 events of ~700 KB: 5.6 MB in one body, so the pass sends two halves of 4.
    let (store, _) = seeded_store(dir.path(), 8, 700_000);
    let server = TestServer::scripted(vec![]);
    let outcome = run(&store, &settings(&server.url, 8), PassLimits::default());
    assert_eq!((outcome.accepted, outcome.remaining, outcome.batches, outcome.error), (8, 0, 2, None));
    let requests = server.requests();
    assert_eq!(requests.iter().map(|r| r.event_ids.len()).collect::<Vec<_>>(), [4, 4]);
    assert!(requests.iter().all(|r| r.body.len() <= 5 * 1024 * 1024));
}

#[test]
fn replayed_nonce_is_resent_once_with_a_new_nonce() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, _) = seeded_store(dir.path(), 2, 0);
    let server = TestServer::scripted(vec![Reply::error(409, "nonce_replayed", "seen")]);
    let outcome = run(&store, &settings(&server.url, 10), PassLimits::default());
    assert_eq!(outcome, SyncOutcome { accepted: 2, rejected: 0, duplicates: 0, remaining: 0, batches: 1, error: None });
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_ne!(requests[0].header("x-nonce"), requests[1].header("x-nonce"));
    assert_eq!(requests[0].body, requests[1].body);
    all_signed(&server);
}

#[test]
fn second_replayed_nonce_ends_the_pass_as_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, _) = seeded_store(dir.path(), 2, 0);
    let replayed = Reply::error(409, "nonce_replayed", "seen");
    let server = TestServer::scripted(vec![replayed.clone(), replayed]);
    let outcome = run(&store, &settings(&server.url, 10), PassLimits::default());
    let error = outcome.error.expect("an error");
    assert_eq!((error.code, error.status), (SyncErrorCode::Server, Some(409)));
    assert_eq!((outcome.remaining, outcome.batches), (2, 0));
    assert_eq!(server.requests().len(), 2);
}

fn auth_refused(status: u16, code: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, _) = seeded_store(dir.path(), 3, 0);
    let server = TestServer::scripted(vec![Reply::error(status, code, "no")]);
    let outcome = run(&store, &settings(&server.url, 1), PassLimits::default());
    let error = outcome.error.clone().expect("an error");
    assert_eq!((error.code, error.status), (SyncErrorCode::Auth, Some(status)));
    assert_eq!(error.message, format!("HTTP {status} {code}: no"));
    assert_eq!((outcome.remaining, outcome.batches, outcome.accepted), (3, 0, 0), "events kept");
    assert_eq!(server.requests().len(), 1, "the pass ends at the first refusal");
    let recorded = last_error(&store).expect("last_error recorded");
    assert_eq!(recorded["code"], "AUTH");
    assert_eq!(recorded["message"], error.message);
    assert!(recorded["at"].as_str().is_some_and(|at| at.ends_with('Z')));
}

#[test]
fn unauthorized_ends_the_pass_as_auth_and_keeps_the_events() {
    auth_refused(401, "bad_signature");
}

#[test]
fn forbidden_ends_the_pass_as_auth_and_keeps_the_events() {
    auth_refused(403, "forbidden");
}

#[test]
fn rate_limited_reports_retry_after_seconds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, _) = seeded_store(dir.path(), 2, 0);
    let server = TestServer::scripted(vec![Reply::error(429, "rate_limited", "slow down").with_header("Retry-After", "2")]);
    let outcome = run(&store, &settings(&server.url, 1), PassLimits::default());
    let error = outcome.error.expect("an error");
    assert_eq!((error.code, error.status, error.retry_after_ms), (SyncErrorCode::RateLimited, Some(429), Some(2000)));
    assert_eq!((outcome.remaining, server.requests().len()), (2, 1));
}

#[test]
fn rate_limited_reads_retry_after_as_an_http_date() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, _) = seeded_store(dir.path(), 1, 0);
    let at = std::time::SystemTime::now() + Duration::from_secs(30);
    let server = TestServer::scripted(vec![Reply::error(429, "rate_limited", "later")
        .with_header("Retry-After", &httpdate::fmt_http_date(at))]);
    let outcome = run(&store, &settings(&server.url, 1), PassLimits::default());
    let wait = outcome.error.and_then(|e| e.retry_after_ms).expect("retryAfterMs");
    assert!((25_000..=30_000).contains(&wait), "{wait}");
}

#[test]
fn server_error_ends_the_pass_and_keeps_the_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, _) = seeded_store(dir.path(), 3, 0);
    let server = TestServer::scripted(vec![Reply::accept_n(1), Reply::error(500, "internal", "boom")]);
    let outcome = run(&store, &settings(&server.url, 1), PassLimits::default());
    let error = outcome.error.clone().expect("an error");
    assert_eq!((error.code, error.status, error.message.as_str()), (SyncErrorCode::Server, Some(500), "HTTP 500 internal: boom"));
    assert_eq!((outcome.accepted, outcome.batches, outcome.remaining), (1, 1, 2));
    assert_eq!(server.requests().len(), 2);
    assert_eq!(last_error(&store).expect("recorded")["code"], "SERVER");
}

#[test]
fn unreadable_success_body_ends_the_pass_as_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, _) = seeded_store(dir.path(), 1, 0);
    let garbage = Reply { status: 200, body: "<html>".to_string(), headers: vec![], delay: Duration::ZERO };
    let server = TestServer::scripted(vec![garbage]);
    let outcome = run(&store, &settings(&server.url, 1), PassLimits::default());
    assert_eq!(outcome.error.map(|e| (e.code, e.status)), Some((SyncErrorCode::Server, Some(200))));
    assert_eq!(outcome.remaining, 1);
}

#[test]
fn connection_refused_ends_the_pass_as_network() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, _) = seeded_store(dir.path(), 2, 0);
    let outcome = run(&store, &settings(&refused_url(), 1), PassLimits::default());
    let error = outcome.error.expect("an error");
    assert_eq!((error.code, error.status), (SyncErrorCode::Network, None));
    assert!(error.message.contains("/v1/ingest/org-1/app-1"), "{}", error.message);
    assert_eq!(outcome.remaining, 2);
    assert_eq!(last_error(&store).expect("recorded")["code"], "NETWORK");
}

#[test]
fn timeout_ends_the_pass_as_network_within_the_bound() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, _) = seeded_store(dir.path(), 2, 0);
    let server = TestServer::start(|request| Reply::accept(request).delayed(Duration::from_secs(5)));
    let settings = SyncSettings { timeout_ms: 300, ..settings(&server.url, 1) };
    let started = Instant::now();
    let outcome = run(&store, &settings, PassLimits::default());
    let elapsed = started.elapsed();
    let error = outcome.error.expect("an error");
    assert_eq!(error.code, SyncErrorCode::Network);
    assert_eq!(error.message, "timed out after 300 ms");
    assert!(elapsed < Duration::from_secs(3), "gave up after {elapsed:?}");
    assert_eq!(outcome.remaining, 2, "an unanswered batch stays pending");
}

#[test]
fn gzip_body_decodes_to_the_signed_body() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, lines) = seeded_store(dir.path(), 3, 2_000);
    let server = TestServer::scripted(vec![]);
    let settings = SyncSettings { gzip: true, ..settings(&server.url, 10) };
    let outcome = run(&store, &settings, PassLimits::default());
    assert_eq!((outcome.accepted, outcome.error), (3, None));
    let request = &server.requests()[0];
    assert_eq!(request.header("content-encoding"), "gzip");
    assert!(request.raw_body.starts_with(&[0x1f, 0x8b]), "gzip magic");
    assert!(request.raw_body.len() < request.body.len() / 4, "compressed");
    assert_eq!(request.body, format!("{{\"events\":[{}]}}", lines.join(",")));
    assert!(request.signature_valid, "the signature covers the uncompressed body");
}

#[test]
fn max_batches_bounds_the_pass() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, _) = seeded_store(dir.path(), 5, 0);
    let server = TestServer::scripted(vec![]);
    let limits = SyncPassOptions { max_batches: Some(2), deadline_ms: None }.limits();
    let outcome = run(&store, &settings(&server.url, 1), limits);
    assert_eq!(outcome, SyncOutcome { accepted: 2, rejected: 0, duplicates: 0, remaining: 3, batches: 2, error: None });
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn passed_deadline_sends_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, _) = seeded_store(dir.path(), 2, 0);
    let server = TestServer::scripted(vec![]);
    let limits = SyncPassOptions { max_batches: None, deadline_ms: Some(now_ms() as f64 - 1.0) }.limits();
    let outcome = run(&store, &settings(&server.url, 1), limits);
    assert_eq!(outcome, SyncOutcome::idle(2));
    assert!(server.requests().is_empty());
}

#[test]
fn deadline_cuts_the_pass_and_its_last_request_short() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, _) = seeded_store(dir.path(), 10, 0);
    // Two quick answers, then a server that would take 5 s: the third request meets the deadline.
    let mut answered = 0;
    let server = TestServer::start(move |request| {
        answered += 1;
        let delay = if answered <= 2 { Duration::ZERO } else { Duration::from_secs(5) };
        Reply::accept(request).delayed(delay)
    });
    let started = Instant::now();
    let deadline = started + Duration::from_millis(700);
    let limits = PassLimits { max_batches: None, deadline: Some(deadline) };
    let outcome = run(&store, &settings(&server.url, 1), limits);
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(700 + 700), "ran {elapsed:?} past a 700 ms deadline");
    assert!(server.requests().iter().all(|r| r.received_at < deadline));
    assert_eq!((outcome.accepted, outcome.batches, outcome.remaining), (2, 2, 8));
    // The request in flight at the deadline is abandoned: a timeout, reported as NETWORK, and
    // its timeout was the time left, not the 5 s request timeout.
    let error = outcome.error.expect("an error");
    assert_eq!(error.code, SyncErrorCode::Network);
    let bound: u64 = error.message.trim_start_matches("timed out after ").trim_end_matches(" ms").parse().expect("ms");
    assert!(bound < 700, "{}", error.message);
}

#[test]
fn a_clean_pass_clears_the_previous_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, _) = seeded_store(dir.path(), 1, 0);
    let failing = run(&store, &settings(&refused_url(), 1), PassLimits::default());
    assert!(failing.error.is_some());
    assert!(last_error(&store).is_some());
    let server = TestServer::scripted(vec![]);
    let outcome = run(&store, &settings(&server.url, 1), PassLimits::default());
    assert_eq!((outcome.accepted, outcome.error), (1, None));
    assert_eq!(last_error(&store), None);
}

#[test]
fn duplicates_are_counted_and_marked_synced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, _) = seeded_store(dir.path(), 3, 0);
    let server = TestServer::scripted(vec![Reply::json(
        200,
        json!({ "status": "success", "accepted": 1, "rejected": 0, "duplicates": 2 }),
    )]);
    let outcome = run(&store, &settings(&server.url, 10), PassLimits::default());
    assert_eq!(outcome, SyncOutcome { accepted: 1, rejected: 0, duplicates: 2, remaining: 0, batches: 1, error: None });
    assert_eq!(store.counts().expect("counts").synced, 3);
}
