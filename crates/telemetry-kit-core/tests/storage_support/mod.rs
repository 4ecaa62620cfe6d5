//! Shared by the storage integration tests: events shaped like the TS test factory
//! (`test/helpers/storage-event-factory.mjs`), segment listing, and a pid that is not alive.
#![allow(dead_code)] // each test crate uses a different part

use std::path::{Path, PathBuf};

use serde_json::json;
use telemetry_kit_core::types::TelemetryEvent;

/// A complete v1 event; `i` orders the timestamps (2025-01-01T00:00:00.000Z + i ms).
pub fn make_event(i: u64, tag: &str) -> TelemetryEvent {
    let (ms, s, m, h) = (i % 1000, (i / 1000) % 60, (i / 60_000) % 60, (i / 3_600_000) % 24);
    serde_json::from_value(json!({
        "schema_version": "1.0.0",
        "event_id": uuid::Uuid::new_v4().to_string(),
        "timestamp": format!("2025-01-01T{h:02}:{m:02}:{s:02}.{ms:03}Z"),
        "service": { "name": "storage-test", "version": "1.0.0", "language": "rust", "language_version": "1.80" },
        "user_id": format!("client_{}", "a".repeat(64)),
        "session_id": format!("sess_{}", "b".repeat(32)),
        "environment": { "os": "linux", "os_version": "6.0", "arch": "x64", "ci": false, "ci_name": null, "shell": null },
        "event": { "type": "command", "category": "cli", "data": { "command": format!("{tag}-{i}") } },
        "metadata": { "sdk_version": "0.1.0", "backend": "native" }
    }))
    .expect("valid event")
}

pub fn events(n: u64, tag: &str) -> Vec<TelemetryEvent> {
    (0..n).map(|i| make_event(i, tag)).collect()
}

/// The `data.command` of a stored body.
pub fn command_of(body: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(body).expect("body is JSON");
    value["event"]["data"]["command"].as_str().expect("command").to_owned()
}

/// Segment files under `<dir>/pending`, sorted.
pub fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir.join("pending")) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries.map(|e| e.expect("entry").path()).collect();
    files.sort();
    files
}

/// A pid that no process has: above Linux's maximum pid_max (2^22), checked with kill(0).
pub fn dead_pid() -> u32 {
    let pid = (1u32 << 22) + 12_345;
    #[cfg(unix)]
    {
        let rc = unsafe { libc::kill(pid as libc::pid_t, 0) };
        assert_eq!(rc, -1);
        assert_eq!(std::io::Error::last_os_error().raw_os_error(), Some(libc::ESRCH));
    }
    pid
}

/// A segment name of `pid` in the TS format.
pub fn segment_name(pid: u32, hex_seq: u32) -> String {
    format!("{pid}-{:012x}0000{hex_seq:08x}.jsonl", 0x19_0000_0000u64)
}
