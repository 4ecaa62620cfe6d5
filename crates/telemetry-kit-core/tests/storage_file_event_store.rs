//! FileEventStore behaviour: round trip through journal and events.db, the pending bound,
//! pruning, state changes, meta, and concurrent appends from several threads and stores.

mod storage_support;

/// Under `storage::` so that `cargo test storage` selects these tests.
mod storage {
    use std::fs;
    use std::path::Path;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use crate::storage_support::{command_of, events, make_event, segment_files};
    use rusqlite::Connection;
    use telemetry_kit_core::storage::{FileEventStore, StoreLimits};
    use telemetry_kit_core::types::{EventCounts, EventState};

    const LIMITS: StoreLimits = StoreLimits {
        max_pending_events: 10_000,
        retention_days: 7,
    };

    fn db_query<T: rusqlite::types::FromSql>(dir: &Path, sql: &str) -> Vec<T> {
        let db = Connection::open(dir.join("events.db")).expect("open events.db");
        let mut stmt = db.prepare(sql).expect("prepare");
        let rows = stmt.query_map([], |row| row.get(0)).expect("query");
        rows.map(|r| r.expect("row")).collect()
    }

    fn now_ms() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
    }

    fn counts(pending: u64, synced: u64, dead_lettered: u64, dropped: u64, corrupt: u64) -> EventCounts {
        EventCounts {
            pending,
            synced,
            dead_lettered,
            dropped,
            corrupt,
        }
    }

    #[test]
    fn store_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<FileEventStore>();
    }

    #[test]
    fn new_does_no_io() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileEventStore::new(dir.path().join("data"), LIMITS);
        assert_eq!(store.data_dir(), dir.path().join("data"));
        assert!(!dir.path().join("data").exists());
    }

    #[test]
    fn round_trips_events_byte_identically_through_journal_and_database() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileEventStore::new(dir.path(), LIMITS);
        let batch = events(5, "e");
        store.append(&batch[..2]).unwrap();
        store.append_sync(&batch[2..]).unwrap();
        assert_eq!(segment_files(dir.path()).len(), 1);
        assert!(!dir.path().join("events.db").exists());
        let journal = fs::read_to_string(&segment_files(dir.path())[0]).unwrap();
        let lines: Vec<String> = batch.iter().map(|e| serde_json::to_string(e).unwrap()).collect();
        assert_eq!(journal, lines.iter().map(|l| format!("{l}\n")).collect::<String>());

        let listed = store.list(100, None).unwrap();
        assert_eq!(listed.iter().map(|e| e.body.clone()).collect::<Vec<_>>(), lines);
        assert!(listed.iter().all(|e| e.state == EventState::Pending));
        assert_eq!(store.counts().unwrap(), counts(5, 0, 0, 0, 0));
        // The own segment was rotated, consumed and deleted; the db is a real SQLite file.
        assert!(segment_files(dir.path()).is_empty());
        assert!(fs::read(dir.path().join("events.db"))
            .unwrap()
            .starts_with(b"SQLite format 3\0"));
        assert_eq!(db_query::<i64>(dir.path(), "PRAGMA user_version"), vec![1]);
        assert_eq!(
            db_query::<String>(dir.path(), "SELECT body FROM events ORDER BY seq"),
            lines
        );
        assert_eq!(
            db_query::<String>(dir.path(), "SELECT type FROM events LIMIT 1"),
            vec!["command".to_owned()]
        );

        // A second store (a fresh view) sees the same; list returns the most recent, oldest first.
        let other = FileEventStore::new(dir.path(), LIMITS);
        assert_eq!(other.list(100, None).unwrap(), listed);
        let last_two = other.list(2, Some(EventState::Pending)).unwrap();
        assert_eq!(
            last_two.iter().map(|e| command_of(&e.body)).collect::<Vec<_>>(),
            ["e-3", "e-4"]
        );
        assert!(other.list(0, None).unwrap().is_empty());
        assert_eq!(other.pending_batch(3).unwrap(), lines[..3].to_vec());
    }

    #[test]
    fn reads_do_not_rewrite_an_unchanged_database() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileEventStore::new(dir.path(), LIMITS);
        store.append(&events(3, "e")).unwrap();
        store.consolidate().unwrap();
        let before = fs::metadata(dir.path().join("events.db")).unwrap();
        store.counts().unwrap();
        store.list(10, None).unwrap();
        store.mark_synced(&["no-such-id".to_owned()], 1).unwrap();
        store.set_meta("last_sync", None).unwrap();
        let after = fs::metadata(dir.path().join("events.db")).unwrap();
        assert_eq!(before.modified().unwrap(), after.modified().unwrap());
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            assert_eq!(before.ino(), after.ino());
        }
        let names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");
    }

    #[test]
    fn bound_drops_the_oldest_pending_and_counts_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileEventStore::new(
            dir.path(),
            StoreLimits {
                max_pending_events: 50,
                retention_days: 7,
            },
        );
        let batch = events(80, "b");
        for event in &batch {
            store.append(std::slice::from_ref(event)).unwrap();
        }
        assert_eq!(store.last_error(), None);
        assert_eq!(store.counts().unwrap(), counts(50, 0, 0, 30, 0));
        let kept: Vec<String> = store
            .pending_batch(100)
            .unwrap()
            .iter()
            .map(|b| command_of(b))
            .collect();
        assert_eq!(kept, (30..80).map(|i| format!("b-{i}")).collect::<Vec<_>>());
    }

    #[test]
    fn append_consolidates_after_max_pending_lines() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileEventStore::new(
            dir.path(),
            StoreLimits {
                max_pending_events: 10,
                retention_days: 7,
            },
        );
        store.append(&events(9, "a")).unwrap();
        assert!(!dir.path().join("events.db").exists());
        store.append(&[make_event(9, "a")]).unwrap();
        assert!(dir.path().join("events.db").exists());
        assert!(segment_files(dir.path()).is_empty(), "own segment consumed and deleted");
        assert_eq!(db_query::<i64>(dir.path(), "SELECT COUNT(*) FROM events"), vec![10]);
    }

    #[test]
    fn synced_events_are_pruned_after_retention() {
        let dir = tempfile::tempdir().unwrap();
        let batch = events(3, "p");
        let ids: Vec<String> = batch[..2].iter().map(|e| e.event_id.clone()).collect();
        let now = now_ms();

        let keep = FileEventStore::new(dir.path(), LIMITS);
        keep.append(&batch).unwrap();
        keep.mark_synced(&ids, now).unwrap();
        assert_eq!(keep.counts().unwrap(), counts(1, 2, 0, 0, 0));
        assert_eq!(
            db_query::<i64>(dir.path(), "SELECT synced_at FROM events WHERE state = 'synced'"),
            vec![now, now]
        );

        let prune = FileEventStore::new(
            dir.path(),
            StoreLimits {
                max_pending_events: 10_000,
                retention_days: 0,
            },
        );
        assert_eq!(prune.counts().unwrap(), counts(1, 0, 0, 0, 0));
        let left = prune.list(10, None).unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(command_of(&left[0].body), "p-2");
    }

    #[test]
    fn dead_letter_delete_pending_and_meta_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileEventStore::new(dir.path(), LIMITS);
        let batch = events(4, "d");
        store.append(&batch).unwrap();
        let first = vec![batch[0].event_id.clone()];
        store.mark_dead_lettered(&first, "HTTP 400").unwrap();
        assert_eq!(store.counts().unwrap(), counts(3, 0, 1, 0, 0));
        assert_eq!(
            db_query::<String>(dir.path(), "SELECT error FROM events WHERE state = 'dead_letter'"),
            vec!["HTTP 400".to_owned()]
        );
        let dead = store.list(10, Some(EventState::DeadLetter)).unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(command_of(&dead[0].body), "d-0");
        // Only pending rows are dead-lettered; synced ones are left alone.
        // (A synced_at older than the retention would be pruned at once.)
        store.mark_synced(&[batch[1].event_id.clone()], now_ms()).unwrap();
        store.mark_dead_lettered(&[batch[1].event_id.clone()], "late").unwrap();
        assert_eq!(store.counts().unwrap(), counts(2, 1, 1, 0, 0));
        // markSynced clears the error of a dead-lettered row.
        store.mark_synced(&first, now_ms()).unwrap();
        assert_eq!(
            db_query::<Option<String>>(dir.path(), "SELECT error FROM events WHERE seq = 1"),
            vec![None]
        );

        assert_eq!(store.delete_pending().unwrap(), 2);
        assert_eq!(store.delete_pending().unwrap(), 0);
        assert_eq!(store.counts().unwrap(), counts(0, 2, 0, 0, 0));

        assert_eq!(store.get_meta("last_sync").unwrap(), None);
        store.set_meta("last_sync", Some("2025-01-01T00:00:00.000Z")).unwrap();
        store.set_meta("last_error", Some("boom")).unwrap();
        let other = FileEventStore::new(dir.path(), LIMITS);
        assert_eq!(
            other.get_meta("last_sync").unwrap().as_deref(),
            Some("2025-01-01T00:00:00.000Z")
        );
        other.set_meta("last_error", None).unwrap();
        assert_eq!(store.get_meta("last_error").unwrap(), None);
    }

    #[test]
    fn events_are_ordered_by_timestamp_and_deduplicated_by_id() {
        let dir = tempfile::tempdir().unwrap();
        let late = FileEventStore::new(dir.path(), LIMITS);
        let early = FileEventStore::new(dir.path(), LIMITS);
        let batch = events(4, "o");
        late.append(&[batch[3].clone(), batch[2].clone()]).unwrap();
        early
            .append(&[batch[1].clone(), batch[0].clone(), batch[3].clone()])
            .unwrap();
        let listed: Vec<String> = late
            .list(10, None)
            .unwrap()
            .iter()
            .map(|e| command_of(&e.body))
            .collect();
        assert_eq!(listed, ["o-0", "o-1", "o-2", "o-3"]);
    }

    #[test]
    fn two_threads_two_stores_lose_nothing() {
        const PER_THREAD: u64 = 5_000;
        let dir = tempfile::tempdir().unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = ["x", "y"]
            .into_iter()
            .map(|tag| {
                let path = dir.path().to_path_buf();
                std::thread::spawn(move || {
                    let store = FileEventStore::new(path, LIMITS);
                    for i in 0..PER_THREAD {
                        store.append(&[make_event(i, tag)]).unwrap();
                    }
                    store.close().unwrap();
                })
            })
            .collect();
        // A third store consolidates while the writers' segments are live.
        let reader = {
            let (path, done) = (dir.path().to_path_buf(), Arc::clone(&done));
            std::thread::spawn(move || {
                let store = FileEventStore::new(path, LIMITS);
                let mut rounds = 0;
                while !done.load(Ordering::Relaxed) {
                    store.counts().unwrap();
                    rounds += 1;
                }
                rounds
            })
        };
        for writer in writers {
            writer.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
        assert!(reader.join().unwrap() > 0);
        let store = FileEventStore::new(
            dir.path(),
            StoreLimits {
                max_pending_events: 20_000,
                retention_days: 7,
            },
        );
        assert_eq!(store.counts().unwrap(), counts(2 * PER_THREAD, 0, 0, 0, 0));
        assert!(segment_files(dir.path()).is_empty());
        let ids = db_query::<i64>(dir.path(), "SELECT COUNT(DISTINCT event_id) FROM events");
        assert_eq!(ids, vec![2 * PER_THREAD as i64]);
    }
}
