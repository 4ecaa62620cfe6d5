//! `FileEventStore`: the native event store over the data dir layout and protocol of
//! `packages/core/src/node/file-event-store.ts` (journal segments + events.db), so either
//! backend can continue — even concurrently — what the other wrote. See `mod.rs` for the layout.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::types::Value;
use rusqlite::{params, Connection};

use crate::error::Result;
use crate::types::{EventCounts, EventState, PendingEvent, StoredEvent, TelemetryEvent};

use super::consolidation::{Consolidator, OpResult};
use super::journal_segment::JournalWriter;
use super::sqlite_database::{read_counter, read_meta, to_count, write_meta, META_CORRUPT, META_DROPPED};

/// Bounds of the store (`EventStoreLimits` in TS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreLimits {
    /// Most pending events kept; beyond it the oldest are dropped and counted. Defaults to 10,000.
    pub max_pending_events: u64,
    /// Synced events are pruned after this many days (0 = at the next consolidation). Defaults to 7.
    pub retention_days: u64,
}

impl Default for StoreLimits {
    fn default() -> StoreLimits {
        StoreLimits {
            max_pending_events: 10_000,
            retention_days: 7,
        }
    }
}

/// The file event store of one data dir. `Send + Sync`: appends from several threads are
/// serialized (one write + datasync each), database work is serialized per store and, across
/// stores and processes, by the lock file.
#[derive(Debug)]
pub struct FileEventStore {
    data_dir: PathBuf,
    limits: StoreLimits,
    writer: JournalWriter,
    consolidator: Mutex<Consolidator>,
    lines_since_consolidation: AtomicU64,
    last_error: Mutex<Option<String>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every guarded value is consistent between statements, so a panicked holder is harmless.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn bound(limit: u64) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

impl FileEventStore {
    /// A store over `data_dir`; no I/O happens until the first call.
    pub fn new(data_dir: impl Into<PathBuf>, limits: StoreLimits) -> FileEventStore {
        let data_dir = data_dir.into();
        // Absolute, like the TS `resolve(dataDir)`: a later chdir must not move the store.
        let resolved = std::path::absolute(&data_dir).unwrap_or_else(|_| data_dir.clone());
        let pending_dir = resolved.join("pending");
        FileEventStore {
            writer: JournalWriter::new(pending_dir.clone()),
            consolidator: Mutex::new(Consolidator::new(&resolved, pending_dir, limits)),
            data_dir,
            limits,
            lines_since_consolidation: AtomicU64::new(0),
            last_error: Mutex::new(None),
        }
    }

    /// The data directory, as given to `new`.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The error of the last automatic consolidation run by `append`, if it failed (the events
    /// were durable regardless). Cleared by the next successful one.
    pub fn last_error(&self) -> Option<String> {
        lock(&self.last_error).clone()
    }

    /// Appends `events` to this store's own segment and datasyncs before returning: once this
    /// returns, a crash does not lose them. Creates `pending/` and the segment on first use.
    /// When this store has written `max_pending_events` lines since its last consolidation, it
    /// consolidates before returning so the journal stays bounded.
    ///
    /// # Errors
    /// `Error::Io` naming the segment when it cannot be created or written; `Error::Json` if an
    /// event cannot be serialized.
    pub fn append(&self, events: &[TelemetryEvent]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut data = String::new();
        for event in events {
            data.push_str(&serde_json::to_string(event)?);
            data.push('\n');
        }
        self.append_lines(&data, events.len() as u64)
    }

    /// As `append`, for events already serialized: `data` is `lines` JSON lines, each ending in
    /// `\n` (the caller builds them without cloning every event).
    ///
    /// # Errors
    /// `Error::Io` naming the segment when it cannot be created or written.
    pub fn append_lines(&self, data: &str, lines: u64) -> Result<()> {
        if lines == 0 {
            return Ok(());
        }
        self.writer.append(data.as_bytes())?;
        self.after_lines_written(lines);
        Ok(())
    }

    /// As `append`; usable from a process-exit path (it blocks until the data is durable).
    ///
    /// # Errors
    /// As `append`.
    pub fn append_sync(&self, events: &[TelemetryEvent]) -> Result<()> {
        self.append(events)
    }

    fn after_lines_written(&self, lines: u64) {
        let every = self.limits.max_pending_events;
        let written = self.lines_since_consolidation.fetch_add(lines, Ordering::Relaxed) + lines;
        // Only the caller that takes the counter back to zero runs the consolidation.
        if every == 0 || written < every || self.lines_since_consolidation.swap(0, Ordering::Relaxed) < every {
            return;
        }
        // The events are durable already; a failed consolidation is reported, not the append.
        let outcome = self.consolidate().err().map(|e| e.to_string());
        *lock(&self.last_error) = outcome;
    }

    /// Closes the own segment and runs `op` after consolidating, under the lock.
    fn with_db<T>(&self, mutates: bool, op: impl FnOnce(&Connection) -> OpResult<T>) -> Result<T> {
        let mut consolidator = lock(&self.consolidator);
        self.lines_since_consolidation.store(0, Ordering::Relaxed);
        self.writer.rotate();
        consolidator.run(mutates, op)
    }

    /// Moves every journal segment into events.db now.
    ///
    /// # Errors
    /// `Error::Io`, `Error::Sqlite`, or `Error::LockTimeout` when another holder keeps the lock.
    pub fn consolidate(&self) -> Result<()> {
        self.with_db(false, |_| Ok(((), false)))
    }

    /// The most recent `limit` events (of `state`, if given), oldest first; `body` is the
    /// journal line exactly as stored.
    ///
    /// # Errors
    /// As `consolidate`.
    pub fn list(&self, limit: u64, state: Option<EventState>) -> Result<Vec<StoredEvent>> {
        self.with_db(false, |db| {
            if limit == 0 {
                return Ok((Vec::new(), false));
            }
            let mut events = match state {
                None => {
                    let mut stmt = db.prepare("SELECT state, body FROM events ORDER BY seq DESC LIMIT ?")?;
                    stored_events(&mut stmt, params![bound(limit)])?
                }
                Some(state) => {
                    let sql = "SELECT state, body FROM events WHERE state = ? ORDER BY seq DESC LIMIT ?";
                    let mut stmt = db.prepare(sql)?;
                    stored_events(&mut stmt, params![state.as_str(), bound(limit)])?
                }
            };
            events.reverse();
            Ok((events, false))
        })
    }

    /// # Errors
    /// As `consolidate`.
    pub fn counts(&self) -> Result<EventCounts> {
        self.with_db(false, |db| {
            let mut counts = EventCounts {
                dropped: to_count(read_counter(db, META_DROPPED)?),
                corrupt: to_count(read_counter(db, META_CORRUPT)?),
                ..EventCounts::default()
            };
            let mut stmt = db.prepare("SELECT state, COUNT(*) FROM events GROUP BY state")?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let count = u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0);
                match row.get::<_, Value>(0)? {
                    Value::Text(s) if s == "pending" => counts.pending = count,
                    Value::Text(s) if s == "synced" => counts.synced = count,
                    Value::Text(s) if s == "dead_letter" => counts.dead_lettered = count,
                    _ => {}
                }
            }
            Ok((counts, false))
        })
    }

    /// The bodies of the oldest pending events, at most `limit`, oldest first.
    ///
    /// # Errors
    /// As `consolidate`.
    pub fn pending_batch(&self, limit: u64) -> Result<Vec<String>> {
        self.with_db(false, |db| {
            if limit == 0 {
                return Ok((Vec::new(), false));
            }
            let mut stmt = db.prepare("SELECT body FROM events WHERE state = 'pending' ORDER BY seq ASC LIMIT ?")?;
            let mut rows = stmt.query([bound(limit)])?;
            let mut bodies = Vec::new();
            while let Some(row) = rows.next()? {
                if let Value::Text(body) = row.get::<_, Value>(0)? {
                    bodies.push(body);
                }
            }
            Ok((bodies, false))
        })
    }

    /// The oldest pending events with their ids, at most `limit`, oldest first (what sync sends).
    ///
    /// # Errors
    /// As `consolidate`.
    pub fn pending_events(&self, limit: u64) -> Result<Vec<PendingEvent>> {
        self.with_db(false, |db| {
            if limit == 0 {
                return Ok((Vec::new(), false));
            }
            let mut stmt = db.prepare("SELECT event_id, body FROM events WHERE state = 'pending' ORDER BY seq ASC LIMIT ?")?;
            let mut rows = stmt.query([bound(limit)])?;
            let mut events = Vec::new();
            while let Some(row) = rows.next()? {
                if let (Value::Text(event_id), Value::Text(body)) = (row.get::<_, Value>(0)?, row.get::<_, Value>(1)?) {
                    events.push(PendingEvent { event_id, body });
                }
            }
            Ok((events, false))
        })
    }

    /// Marks events synced at `synced_at_ms` (and clears their error), unless already synced.
    ///
    /// # Errors
    /// As `consolidate`.
    pub fn mark_synced(&self, event_ids: &[String], synced_at_ms: i64) -> Result<()> {
        self.with_db(!event_ids.is_empty(), |db| {
            let sql = "UPDATE events SET state = 'synced', synced_at = ?, error = NULL WHERE event_id = ? AND state != 'synced'";
            update_each(db, sql, event_ids, |stmt, id| stmt.execute(params![synced_at_ms, id]))
        })
    }

    /// Moves pending events to the dead letter state with `reason`.
    ///
    /// # Errors
    /// As `consolidate`.
    pub fn mark_dead_lettered(&self, event_ids: &[String], reason: &str) -> Result<()> {
        self.with_db(!event_ids.is_empty(), |db| {
            let sql = "UPDATE events SET state = 'dead_letter', error = ? WHERE event_id = ? AND state = 'pending'";
            update_each(db, sql, event_ids, |stmt, id| stmt.execute(params![reason, id]))
        })
    }

    /// Deletes every pending event (opt-out); returns how many.
    ///
    /// # Errors
    /// As `consolidate`.
    pub fn delete_pending(&self) -> Result<u64> {
        self.with_db(true, |db| {
            let deleted = db.execute("DELETE FROM events WHERE state = 'pending'", [])? as u64;
            Ok((deleted, deleted > 0))
        })
    }

    /// # Errors
    /// As `consolidate`.
    pub fn get_meta(&self, key: &str) -> Result<Option<String>> {
        self.with_db(false, |db| Ok((read_meta(db, key)?, false)))
    }

    /// Sets (or with None deletes) a meta value such as `last_sync` / `last_error`.
    ///
    /// # Errors
    /// As `consolidate`.
    pub fn set_meta(&self, key: &str, value: Option<&str>) -> Result<()> {
        self.with_db(true, |db| {
            if read_meta(db, key)?.as_deref() == value {
                return Ok(((), false));
            }
            write_meta(db, key, value)?;
            Ok(((), true))
        })
    }

    /// Closes the current segment (the next append opens a new one) so that consolidation, in
    /// this process or another, may consume and delete it. Quick: it does not consolidate.
    ///
    /// # Errors
    /// None today; kept fallible like the TS `close()`.
    pub fn close(&self) -> Result<()> {
        self.writer.rotate();
        Ok(())
    }
}

/// The (state, body) rows of `stmt`; rows with an unknown state or a non-text body are skipped.
fn stored_events(
    stmt: &mut rusqlite::Statement<'_>,
    params: impl rusqlite::Params,
) -> rusqlite::Result<Vec<StoredEvent>> {
    let mut rows = stmt.query(params)?;
    let mut events = Vec::new();
    while let Some(row) = rows.next()? {
        if let (Value::Text(state), Value::Text(body)) = (row.get::<_, Value>(0)?, row.get::<_, Value>(1)?) {
            if let Some(state) = EventState::parse(&state) {
                events.push(StoredEvent { state, body });
            }
        }
    }
    Ok(events)
}

/// Runs `sql` once per id; true if any row changed.
fn update_each(
    db: &Connection,
    sql: &str,
    ids: &[String],
    run: impl Fn(&mut rusqlite::Statement<'_>, &str) -> rusqlite::Result<usize>,
) -> OpResult<()> {
    if ids.is_empty() {
        return Ok(((), false));
    }
    let mut stmt = db.prepare(sql)?;
    let mut modified = 0;
    for id in ids {
        modified += run(&mut stmt, id)?;
    }
    Ok(((), modified > 0))
}
