//! Interop with the TS FileEventStore (the built `@telemetry-kit/core/node`): a data dir
//! written by either backend is read and continued by the other, also while both are in use.
//! Needs `node` and the TS build; without them these tests fail (they must not pass silently).

mod storage_support;

/// Under `storage::` so that `cargo test storage` selects these tests.
mod storage {
    use std::io::{BufRead, BufReader};
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};

    use crate::storage_support::{command_of, events, make_event, segment_files};
    use serde_json::Value;
    use telemetry_kit_core::storage::{FileEventStore, StoreLimits};
    use telemetry_kit_core::types::TelemetryEvent;

    const LIMITS: StoreLimits = StoreLimits {
        max_pending_events: 1_000_000,
        retention_days: 7,
    };

    fn repo_root() -> PathBuf {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        root.canonicalize().unwrap_or(root)
    }

    /// `node` with the repo root as cwd (so `@telemetry-kit/core/node` resolves to the build).
    fn node(script: &str, args: &[&str]) -> Command {
        let root = repo_root();
        let dist = root.join("packages/core/dist/node/index.js");
        assert!(
            dist.exists(),
            "the TS build is missing ({}): run `npm run build` in {} before these tests",
            dist.display(),
            root.display()
        );
        let version = Command::new("node").arg("--version").output();
        assert!(
            version.as_ref().is_ok_and(|o| o.status.success()),
            "`node` cannot be run ({version:?}): install Node >= 20 and run `npm run build` in {}",
            root.display()
        );
        let mut command = Command::new("node");
        command
            .current_dir(&root)
            .arg(root.join("test/helpers").join(script))
            .args(args);
        command
    }

    fn run_node(script: &str, args: &[&str]) -> String {
        let output = node(script, args).output().expect("spawn node");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "node {script} failed: {}\n{stderr}",
            output.status
        );
        String::from_utf8(output.stdout).expect("utf-8 output")
    }

    /// Counts as the TS store reports them, after its own consolidation.
    fn ts_counts(dir: &Path) -> Value {
        let out = run_node("storage-reader.mjs", &[dir.to_str().expect("utf-8 path")]);
        serde_json::from_str(out.trim()).expect("counts JSON")
    }

    fn dir_arg(dir: &Path) -> &str {
        dir.to_str().expect("utf-8 path")
    }

    #[test]
    fn each_backend_continues_the_others_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            run_node(
                "storage-writer.mjs",
                &[dir_arg(dir.path()), "200", "exit", "rust-interop"]
            )
            .trim(),
            "ok"
        );
        assert!(!segment_files(dir.path()).is_empty());

        // TS journal → Rust: the writer exited, so its segment is consumed and deleted.
        let store = FileEventStore::new(dir.path(), LIMITS);
        let counts = store.counts().unwrap();
        assert_eq!((counts.pending, counts.corrupt), (200, 0));
        assert!(segment_files(dir.path()).is_empty());
        let bodies = store.pending_batch(1_000).unwrap();
        let mut commands: Vec<String> = bodies.iter().map(|b| command_of(b)).collect();
        commands.sort_by_key(|c| c.rsplit('-').next().and_then(|n| n.parse::<u32>().ok()));
        assert_eq!(
            commands,
            (0..200).map(|i| format!("rust-interop-{i}")).collect::<Vec<_>>()
        );
        for body in &bodies {
            // Both sides write the same JSON for the same event.
            let event: TelemetryEvent = serde_json::from_str(body).expect("a TS body parses");
            assert_eq!(&serde_json::to_string(&event).unwrap(), body);
        }

        // Rust journal + Rust-written events.db → TS.
        store.append(&events(100, "rust")).unwrap();
        store.close().unwrap();
        let counts = ts_counts(dir.path());
        assert_eq!(counts["pending"], 300, "{counts}");
        assert_eq!(counts["corrupt"], 0, "{counts}");

        // TS-written events.db (with the offset of our still-present segment) → Rust, no replay.
        let again = FileEventStore::new(dir.path(), LIMITS);
        let counts = again.counts().unwrap();
        assert_eq!((counts.pending, counts.corrupt), (300, 0));
        assert!(
            segment_files(dir.path()).is_empty(),
            "our closed segment is consumed and deleted"
        );
        assert_eq!(again.list(1_000, None).unwrap().len(), 300);
    }

    #[test]
    fn a_live_ts_writer_is_not_disturbed_and_its_segment_goes_after_it_dies() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = node("storage-writer.mjs", &[dir_arg(dir.path()), "50", "hold", "held"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn node");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ok");

        let store = FileEventStore::new(dir.path(), LIMITS);
        assert_eq!(store.counts().unwrap().pending, 50);
        let live = segment_files(dir.path());
        assert_eq!(live.len(), 1, "the live writer's segment stays");
        store.append(&events(10, "rust")).unwrap();
        assert_eq!(ts_counts(dir.path())["pending"], 60);

        child.kill().unwrap(); // kill -9: the writer never closes its segment
        child.wait().unwrap();
        let counts = store.counts().unwrap();
        assert_eq!((counts.pending, counts.corrupt), (60, 0));
        assert!(segment_files(dir.path()).is_empty());
    }

    #[test]
    fn both_backends_writing_and_consolidating_at_once_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = node("storage-writer.mjs", &[dir_arg(dir.path()), "1000", "exit", "ts"])
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn node");
        let rust = {
            let path = dir.path().to_path_buf();
            std::thread::spawn(move || {
                let store = FileEventStore::new(path, LIMITS);
                for i in 0..1_000 {
                    store.append(&[make_event(i, "rust")]).unwrap();
                    if i % 100 == 99 {
                        store.counts().unwrap();
                    }
                }
            })
        };
        // The TS side consolidates (under the shared lock) while both write.
        for _ in 0..3 {
            ts_counts(dir.path());
        }
        rust.join().unwrap();
        assert!(writer.wait().unwrap().success());
        let counts = ts_counts(dir.path());
        assert_eq!(
            (counts["pending"].as_u64(), counts["corrupt"].as_u64()),
            (Some(2_000), Some(0)),
            "{counts}"
        );
        let store = FileEventStore::new(dir.path(), LIMITS);
        assert_eq!(store.counts().unwrap().pending, 2_000);
        assert!(segment_files(dir.path()).is_empty());
    }
}
