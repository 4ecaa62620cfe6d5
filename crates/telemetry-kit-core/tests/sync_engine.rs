//! `Engine::sync`: events tracked through the engine reach a local ingest server; nothing is
//! sent while the environment or consent forbids tracking; passes of one engine never overlap.

mod sync_support;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Map;
use sync_support::*;
use telemetry_kit_core::clock::now_ms;
use telemetry_kit_core::engine::{Engine, EngineConfig};
use telemetry_kit_core::sync::{SyncCredentials, SyncErrorCode, SyncOutcome, SyncPassOptions};
use telemetry_kit_core::types::{ConsentStatus, EventDraft};

fn config(dir: &Path, sync: Option<SyncCredentials>, env: &[(&str, &str)], consent_required: bool) -> EngineConfig {
    EngineConfig {
        service_name: "sync-test".to_string(),
        service_version: "1.0.0".to_string(),
        data_dir: dir.to_path_buf(),
        max_pending_events: 10_000,
        retention_days: 7,
        sanitize_paths: true,
        sanitize_emails: true,
        redact_keys: Vec::new(),
        consent_required,
        consent_default_granted: true,
        env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<HashMap<_, _>>(),
        home_dir: None,
        language_version: "20.0.0".to_string(),
        sdk_version: "telemetry-kit-node/0.1.0".to_string(),
        sync_credentials: sync,
        batch_size: 2,
        sync_gzip: false,
        sync_timeout_ms: 5_000,
    }
}

fn drafts(n: usize) -> Vec<EventDraft> {
    (0..n)
        .map(|i| EventDraft {
            event_id: uuid::Uuid::new_v4().to_string(),
            timestamp: "2026-01-02T03:00:00.000Z".to_string(),
            kind: "command_execution".to_string(),
            category: "usage".to_string(),
            data: Map::from_iter([("i".to_string(), serde_json::json!(i))]),
        })
        .collect()
}

fn no_limits() -> SyncPassOptions {
    SyncPassOptions::default()
}

#[test]
fn tracked_events_are_delivered_with_the_native_sdk_header() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::scripted(vec![]);
    let engine = Engine::new(config(dir.path(), Some(credentials(&server.url)), &[], false));
    engine.persist(&drafts(3)).expect("persist");
    let outcome = engine.sync(&no_limits()).expect("sync");
    assert_eq!(outcome, SyncOutcome { accepted: 3, rejected: 0, duplicates: 0, remaining: 0, batches: 2, error: None });
    let requests = server.requests();
    assert!(requests.iter().all(|r| r.signature_valid && r.header("x-sdk-version") == SDK));
    let stats = engine.stats().expect("stats");
    assert_eq!((stats.counts.pending, stats.counts.synced), (0, 3));
    assert!(stats.last_sync.is_some());
}

#[test]
fn do_not_track_sends_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::scripted(vec![]);
    // Events of an earlier run, stored before the user opted out through the environment.
    Engine::new(config(dir.path(), None, &[], false)).persist(&drafts(2)).expect("persist");
    let engine = Engine::new(config(dir.path(), Some(credentials(&server.url)), &[("DO_NOT_TRACK", "1")], false));
    assert_eq!(engine.sync(&no_limits()).expect("sync"), SyncOutcome::idle(2));
    assert!(server.requests().is_empty());
}

#[test]
fn consent_not_granted_sends_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::scripted(vec![]);
    Engine::new(config(dir.path(), None, &[], false)).persist(&drafts(2)).expect("persist");
    let engine = Engine::new(config(dir.path(), Some(credentials(&server.url)), &[], true));
    assert_eq!(engine.sync(&no_limits()).expect("sync"), SyncOutcome::idle(2), "consent unknown and required");
    engine.set_consent(ConsentStatus::Denied).expect("deny");
    assert_eq!(engine.sync(&no_limits()).expect("sync"), SyncOutcome::idle(2));
    assert!(server.requests().is_empty());
    engine.set_consent(ConsentStatus::Granted).expect("grant");
    assert_eq!(engine.sync(&no_limits()).expect("sync").accepted, 2);
}

#[test]
fn without_credentials_nothing_is_sent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Engine::new(config(dir.path(), None, &[], false));
    engine.persist(&drafts(2)).expect("persist");
    assert_eq!(engine.sync(&no_limits()).expect("sync"), SyncOutcome::idle(2));
}

#[test]
fn debug_mode_sends_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::scripted(vec![]);
    Engine::new(config(dir.path(), None, &[], false)).persist(&drafts(2)).expect("persist");
    let engine = Engine::new(config(dir.path(), Some(credentials(&server.url)), &[("TELEMETRY_KIT_DEBUG", "1")], false));
    assert_eq!(engine.sync(&no_limits()).expect("sync"), SyncOutcome::idle(2));
    assert!(server.requests().is_empty());
}

#[test]
fn network_failure_is_an_outcome_not_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Engine::new(config(dir.path(), Some(credentials(&refused_url())), &[], false));
    engine.persist(&drafts(1)).expect("persist");
    let outcome = engine.sync(&no_limits()).expect("sync");
    assert_eq!((outcome.error.map(|e| e.code), outcome.remaining), (Some(SyncErrorCode::Network), 1));
    let stats = engine.stats().expect("stats");
    assert!(stats.last_error.is_some_and(|e| e.contains("\"code\":\"NETWORK\"")));
}

#[test]
fn concurrent_passes_of_one_engine_never_send_an_event_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(|request| Reply::accept(request).delayed(Duration::from_millis(100)));
    let engine = Arc::new(Engine::new(config(dir.path(), Some(credentials(&server.url)), &[], false)));
    engine.persist(&drafts(4)).expect("persist");
    let background = {
        let engine = Arc::clone(&engine);
        std::thread::spawn(move || engine.sync(&SyncPassOptions::default()).expect("sync"))
    };
    let foreground = engine.sync(&SyncPassOptions::default()).expect("sync");
    let background = background.join().expect("thread");
    assert_eq!(foreground.accepted + background.accepted, 4);
    let mut sent: Vec<String> = server.requests().iter().flat_map(|r| r.event_ids.clone()).collect();
    sent.sort();
    sent.dedup();
    assert_eq!(sent.len(), 4);
    assert_eq!(server.requests().len(), 2, "the second pass found nothing left to send");
}

#[test]
fn a_pass_waiting_for_another_gives_up_at_its_deadline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(|request| Reply::accept(request).delayed(Duration::from_millis(1_500)));
    let engine = Arc::new(Engine::new(config(dir.path(), Some(credentials(&server.url)), &[], false)));
    engine.persist(&drafts(1)).expect("persist");
    let background = {
        let engine = Arc::clone(&engine);
        std::thread::spawn(move || engine.sync(&SyncPassOptions::default()).expect("sync"))
    };
    // Let the first pass take the gate and send.
    for _ in 0..100 {
        if !server.requests().is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let waited = std::time::Instant::now();
    let options = SyncPassOptions { max_batches: None, deadline_ms: Some(now_ms() as f64 + 200.0) };
    let outcome = engine.sync(&options).expect("sync");
    assert!(waited.elapsed() < Duration::from_millis(1_200), "waited {:?}", waited.elapsed());
    assert_eq!(outcome, SyncOutcome::idle(1));
    assert_eq!(background.join().expect("thread").accepted, 1);
    assert_eq!(server.requests().len(), 1);
}
