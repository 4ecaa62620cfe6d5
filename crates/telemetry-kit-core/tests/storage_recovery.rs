//! FileEventStore recovery rules shared with the TS store: corrupt databases, corrupt and torn
//! journal lines, stale locks, segments of gone writers, and crash leftovers.

mod storage_support;

/// Under `storage::` so that `cargo test storage` selects these tests.
mod storage {
    use std::fs;
    use std::path::Path;
    use std::time::{Duration, SystemTime};

    use crate::storage_support::{dead_pid, events, segment_files, segment_name};
    use rusqlite::Connection;
    use telemetry_kit_core::storage::{FileEventStore, StoreLimits};

    const LIMITS: StoreLimits = StoreLimits {
        max_pending_events: 10_000,
        retention_days: 7,
    };

    fn lines(events: &[telemetry_kit_core::types::TelemetryEvent]) -> String {
        events
            .iter()
            .map(|e| format!("{}\n", serde_json::to_string(e).unwrap()))
            .collect()
    }

    fn write_segment(dir: &Path, name: &str, content: &str) -> std::path::PathBuf {
        fs::create_dir_all(dir.join("pending")).unwrap();
        let path = dir.join("pending").join(name);
        fs::write(&path, content).unwrap();
        path
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    fn segment_rows(dir: &Path) -> Vec<(String, i64)> {
        let db = Connection::open(dir.join("events.db")).unwrap();
        let mut stmt = db.prepare("SELECT name, offset FROM segments ORDER BY name").unwrap();
        let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?))).unwrap();
        rows.map(|r| r.unwrap()).collect()
    }

    #[test]
    fn corrupt_database_is_moved_aside_and_journal_events_are_kept() {
        for garbage in [
            b"this is not a database at all".to_vec(),
            [b"SQLite format 3\0".as_slice(), &[0xa5; 8192]].concat(),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let writer = FileEventStore::new(dir.path(), LIMITS);
            let reader = FileEventStore::new(dir.path(), LIMITS);
            writer.append(&events(3, "old")).unwrap();
            writer.consolidate().unwrap();
            // A live segment of this process, partly consumed: its offset is stored in events.db.
            writer.append(&events(2, "live")).unwrap();
            assert_eq!(reader.counts().unwrap().pending, 5);
            assert_eq!(segment_files(dir.path()).len(), 1);

            fs::write(dir.path().join("events.db"), &garbage).unwrap();
            writer.append(&events(1, "after")).unwrap();
            // The new database knows no offsets: the live segment is re-read from 0.
            let counts = reader.counts().unwrap();
            assert_eq!((counts.pending, counts.corrupt), (3, 0));
            let names = names_in(dir.path());
            let aside: Vec<&String> = names.iter().filter(|n| n.starts_with("events.db.corrupt-")).collect();
            assert_eq!(aside.len(), 1, "{names:?}");
            assert_eq!(fs::read(dir.path().join(aside[0])).unwrap(), garbage);
            assert!(fs::read(dir.path().join("events.db"))
                .unwrap()
                .starts_with(b"SQLite format 3\0"));
        }
    }

    #[test]
    fn corrupt_and_torn_lines_are_skipped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let good = events(2, "ok");
        let content = format!(
            "{}not json\n[1]\n{{\"no_event_id\":1}}\n{{\"event_id\":7}}\n{}{{\"event_id\":\"torn",
            lines(&good[..1]),
            lines(&good[1..]),
        );
        let dead = write_segment(dir.path(), &segment_name(dead_pid(), 1), &content);
        let store = FileEventStore::new(dir.path(), LIMITS);
        let counts = store.counts().unwrap();
        // 4 unusable lines + the torn tail of a writer that is gone.
        assert_eq!((counts.pending, counts.corrupt), (2, 5));
        assert!(!dead.exists());
        // Invalid UTF-8 is replaced as Node decodes it, and the line still counts.
        let mut bytes = lines(&events(1, "x")).into_bytes();
        let at = bytes.len() - 10;
        bytes.splice(at..at, [0xff, 0xfe]);
        fs::write(write_segment(dir.path(), &segment_name(dead_pid(), 2), ""), &bytes).unwrap();
        assert_eq!(store.counts().unwrap().pending, 3);
        assert!(store.list(1, None).unwrap()[0].body.contains('\u{fffd}'));
    }

    #[cfg(unix)]
    #[test]
    fn a_live_writers_torn_tail_waits_for_the_rest_of_the_line() {
        let dir = tempfile::tempdir().unwrap();
        // The parent process (cargo test's runner) is alive for the whole test.
        let live_pid = std::os::unix::process::parent_id();
        let batch = events(2, "live");
        let second = lines(&batch[1..]);
        let (head, tail) = second.split_at(20);
        let path = write_segment(
            dir.path(),
            &segment_name(live_pid, 1),
            &format!("{}{head}", lines(&batch[..1])),
        );
        let store = FileEventStore::new(dir.path(), LIMITS);
        let counts = store.counts().unwrap();
        assert_eq!((counts.pending, counts.corrupt), (1, 0));
        assert!(path.exists(), "a live writer's segment is never deleted");
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        assert_eq!(segment_rows(dir.path()), vec![(name, lines(&batch[..1]).len() as i64)]);

        fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all_str(tail);
        assert_eq!(store.counts().unwrap().pending, 2);
        // Gone without the store noticing a live writer: the row goes with the next write.
        fs::remove_file(&path).unwrap();
        store.set_meta("last_sync", Some("x")).unwrap();
        assert!(segment_rows(dir.path()).is_empty());
    }

    trait WriteStr {
        fn write_all_str(self, text: &str);
    }

    impl WriteStr for fs::File {
        fn write_all_str(mut self, text: &str) {
            std::io::Write::write_all(&mut self, text.as_bytes()).unwrap();
        }
    }

    #[test]
    fn segments_of_gone_writers_are_consumed_and_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let dead = write_segment(dir.path(), &segment_name(dead_pid(), 1), &lines(&events(2, "dead")));
        // Same pid as this process but not open for writing here: an earlier process or store.
        let own = write_segment(
            dir.path(),
            &segment_name(std::process::id(), 2),
            &lines(&events(3, "own")),
        );
        let store = FileEventStore::new(dir.path(), LIMITS);
        assert_eq!(store.counts().unwrap().pending, 5);
        assert!(!dead.exists() && !own.exists());
        // The rows of segments deleted in this round are kept, so a crash cannot replay them...
        let rows: Vec<String> = segment_rows(dir.path()).into_iter().map(|(n, _)| n).collect();
        assert_eq!(rows.len(), 2);
        // ...and dropped the next time events.db is written.
        store.set_meta("last_error", Some("e")).unwrap();
        assert!(segment_rows(dir.path()).is_empty());
        assert_eq!(store.counts().unwrap().pending, 5);
    }

    #[test]
    fn stale_locks_are_recovered() {
        let dir = tempfile::tempdir().unwrap();
        let lock = dir.path().join("events.db.lock");
        let store = FileEventStore::new(dir.path(), LIMITS);
        store.append(&events(2, "l")).unwrap();

        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis();
        fs::write(&lock, format!(r#"{{"pid":{},"created":{now}}}"#, dead_pid())).unwrap();
        assert_eq!(store.counts().unwrap().pending, 2);
        assert!(!lock.exists());

        // Alive (this process) but older than 10 s.
        fs::write(
            &lock,
            format!(r#"{{"pid":{},"created":{}}}"#, std::process::id(), now - 60_000),
        )
        .unwrap();
        assert_eq!(store.counts().unwrap().pending, 2);
        assert!(!lock.exists());

        // Unreadable, and its mtime more than 1 s old.
        fs::write(&lock, "{\"pid\":").unwrap();
        let old = SystemTime::now() - Duration::from_secs(5);
        fs::OpenOptions::new()
            .write(true)
            .open(&lock)
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert_eq!(store.counts().unwrap().pending, 2);
        assert!(!lock.exists());
        assert!(names_in(dir.path()).iter().all(|n| !n.contains(".stale-")));
    }

    #[test]
    fn leftovers_of_dead_processes_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let dead = dead_pid();
        let own = std::process::id();
        for name in [
            format!("events.db.tmp-{dead}-0a0b0c0d"),
            format!("events.db.lock.stale-{dead}-ff00ff00"),
            format!("events.db.tmp-{own}-12345678"),
        ] {
            fs::write(dir.path().join(name), "x").unwrap();
        }
        let store = FileEventStore::new(dir.path(), LIMITS);
        store.append(&events(1, "z")).unwrap();
        store.consolidate().unwrap();
        // This process is alive: its leftover is not touched (its own code cleans up after itself).
        let expected = [
            "events.db".to_owned(),
            format!("events.db.tmp-{own}-12345678"),
            "pending".to_owned(),
        ];
        assert_eq!(names_in(dir.path()), expected);
    }
}
