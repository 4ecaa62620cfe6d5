//! The data dir's state files through the public API: round trips, corrupt files, concurrent
//! creation, and the exact bytes the TS backend writes and reads.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use telemetry_kit_core::ids::{is_valid_install_id, new_install_id};
use telemetry_kit_core::state_files::{ConsentStore, IdentityStore, CONSENT_FILE, INSTALL_ID_FILE};
use telemetry_kit_core::types::{ConsentRecord, ConsentStatus};

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "tk-state-{}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            new_install_id().get(..8).unwrap()
        );
        let path = std::env::temp_dir().join(name);
        fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect()
}

#[test]
fn install_id_is_created_in_a_new_nested_data_dir_and_kept() {
    let tmp = TempDir::new();
    let dir = tmp.path().join("a/b/my-cli");
    let store = IdentityStore::new(&dir);
    let id = store.load().unwrap();
    assert!(is_valid_install_id(&id));
    assert_eq!(
        fs::read_to_string(dir.join(INSTALL_ID_FILE)).unwrap(),
        id,
        "no newline, as the TS backend writes it"
    );
    assert_eq!(store.load().unwrap(), id);
    assert_eq!(IdentityStore::new(&dir).load().unwrap(), id);
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(dir.join(INSTALL_ID_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "mode {mode:o}");
    }
}

#[test]
fn install_id_written_by_hand_is_trimmed_and_left_alone() {
    let tmp = TempDir::new();
    let id = "0123456789abcdef".repeat(4);
    let written = format!("\u{feff} {id}\r\n");
    fs::write(tmp.path().join(INSTALL_ID_FILE), &written).unwrap();
    assert_eq!(IdentityStore::new(tmp.path()).load().unwrap(), id);
    assert_eq!(
        fs::read_to_string(tmp.path().join(INSTALL_ID_FILE)).unwrap(),
        written
    );
}

#[test]
fn corrupt_install_id_is_regenerated() {
    for corrupt in [
        "",
        "not hex",
        &"A".repeat(64),
        &"a".repeat(63),
        &"a".repeat(65),
    ] {
        let tmp = TempDir::new();
        let path = tmp.path().join(INSTALL_ID_FILE);
        fs::write(&path, corrupt).unwrap();
        let id = IdentityStore::new(tmp.path()).load().unwrap();
        assert!(is_valid_install_id(&id), "{corrupt:?}");
        assert_eq!(fs::read_to_string(&path).unwrap(), id, "{corrupt:?}");
        assert!(leftovers(tmp.path()).is_empty());
    }
    let tmp = TempDir::new();
    fs::write(tmp.path().join(INSTALL_ID_FILE), [0xff, 0xfe, 0x00]).unwrap();
    assert!(is_valid_install_id(
        &IdentityStore::new(tmp.path()).load().unwrap()
    ));
}

#[test]
fn reset_forgets_the_id_and_tolerates_a_missing_file() {
    let tmp = TempDir::new();
    let store = IdentityStore::new(tmp.path());
    store.reset().unwrap();
    let first = store.load().unwrap();
    store.reset().unwrap();
    assert!(!tmp.path().join(INSTALL_ID_FILE).exists());
    store.reset().unwrap();
    assert_ne!(store.load().unwrap(), first);
}

#[test]
fn concurrent_creation_agrees_on_one_id() {
    for _ in 0..25 {
        let tmp = TempDir::new();
        let dir = tmp.path().join("data");
        let threads = 4;
        let barrier = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (dir, barrier) = (dir.clone(), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    IdentityStore::new(dir).load().unwrap()
                })
            })
            .collect();
        let ids: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(ids.iter().all(|id| id == &ids[0]), "{ids:?}");
        assert_eq!(
            fs::read_to_string(dir.join(INSTALL_ID_FILE)).unwrap(),
            ids[0]
        );
        assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
    }
}

#[test]
fn an_unreadable_install_id_is_an_error() {
    let tmp = TempDir::new();
    fs::create_dir(tmp.path().join(INSTALL_ID_FILE)).unwrap();
    let error = IdentityStore::new(tmp.path()).load().unwrap_err();
    assert_eq!(error.code().as_str(), "STORAGE");
    assert!(error.to_string().contains(INSTALL_ID_FILE), "{error}");
}

#[test]
fn consent_round_trip_in_the_ts_format() {
    let tmp = TempDir::new();
    let dir = tmp.path().join("nested/dir");
    let store = ConsentStore::new(&dir);
    assert_eq!(store.load().unwrap(), None);
    let record = ConsentRecord {
        status: ConsentStatus::OptedOut,
        timestamp: "2026-01-02T03:04:05.678Z".to_owned(),
        service: "my-cli".to_owned(),
    };
    store.save(&record).unwrap();
    assert_eq!(store.load().unwrap(), Some(record.clone()));
    // Exactly `JSON.stringify(record) + "\n"`.
    assert_eq!(
        fs::read_to_string(dir.join(CONSENT_FILE)).unwrap(),
        "{\"status\":\"opted_out\",\"timestamp\":\"2026-01-02T03:04:05.678Z\",\"service\":\"my-cli\"}\n"
    );
    let granted = ConsentRecord {
        status: ConsentStatus::Granted,
        ..record
    };
    store.save(&granted).unwrap();
    assert_eq!(store.load().unwrap(), Some(granted));
    assert!(leftovers(&dir).is_empty());
}

#[test]
fn consent_escapes_like_json_stringify() {
    let tmp = TempDir::new();
    let store = ConsentStore::new(tmp.path());
    let record = ConsentRecord {
        status: ConsentStatus::Denied,
        timestamp: "\"\\/\u{1}\u{7f}\n".to_owned(),
        service: "é🎉\u{2028}".to_owned(),
    };
    store.save(&record).unwrap();
    assert_eq!(
        fs::read_to_string(tmp.path().join(CONSENT_FILE)).unwrap(),
        "{\"status\":\"denied\",\"timestamp\":\"\\\"\\\\/\\u0001\u{7f}\\n\",\"service\":\"é🎉\u{2028}\"}\n"
    );
    assert_eq!(store.load().unwrap(), Some(record));
}

#[test]
fn consent_written_by_the_ts_backend_is_read() {
    let tmp = TempDir::new();
    fs::write(
        tmp.path().join(CONSENT_FILE),
        "{\"status\":\"granted\",\"timestamp\":\"2026-01-01T00:00:00.000Z\",\"service\":\"x\"}\n",
    )
    .unwrap();
    let record = ConsentStore::new(tmp.path()).load().unwrap().unwrap();
    assert_eq!(record.status, ConsentStatus::Granted);
    assert_eq!(
        (record.timestamp.as_str(), record.service.as_str()),
        ("2026-01-01T00:00:00.000Z", "x")
    );
}

#[test]
fn corrupt_consent_reads_as_none() {
    for corrupt in [
        "",
        "{\"status\":",
        "null",
        "[\"granted\"]",
        "{\"status\":\"maybe\"}",
        "{\"timestamp\":\"t\"}",
    ] {
        let tmp = TempDir::new();
        fs::write(tmp.path().join(CONSENT_FILE), corrupt).unwrap();
        assert_eq!(
            ConsentStore::new(tmp.path()).load().unwrap(),
            None,
            "{corrupt:?}"
        );
    }
    let tmp = TempDir::new();
    fs::write(
        tmp.path().join(CONSENT_FILE),
        "{\"status\":\"unknown\",\"timestamp\":1,\"service\":null}",
    )
    .unwrap();
    let record = ConsentStore::new(tmp.path()).load().unwrap().unwrap();
    assert_eq!(
        record,
        ConsentRecord {
            status: ConsentStatus::Unknown,
            timestamp: String::new(),
            service: String::new()
        }
    );
}
