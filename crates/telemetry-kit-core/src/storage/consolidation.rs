//! Consolidation (`consolidation.ts`): everything a store does under the events.db lock — load
//! (or replace a corrupt) events.db, read the journal segments, insert / bound / prune, run the
//! operation, publish events.db if anything changed, and delete the consumed segments.
//!
//! Reads avoid copying the database: when neither the journal nor the bound nor the retention
//! would change anything, a read-only operation runs directly on events.db (which is never
//! edited in place). Otherwise the work happens in a working copy that is published by rename
//! only if something really changed.

use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::error::{Error, Result};

use super::db_file::{file_stamp, move_aside, remove_leftovers, FileStamp, WorkingCopy};
use super::journal_consumer::{delete_consumed_segments, read_segments, remove_stale_segment_rows, Consumed};
use super::lock_file;
use super::sqlite_database::{
    add_to_counter, check_file, open_empty_in_memory, open_read_only, Health, META_CORRUPT, META_DROPPED,
};
use super::system::now_ms;
use super::StoreLimits;

const DAY_MS: i64 = 86_400_000;
const LOCK_STALE_MS: u64 = 10_000;
const LOCK_TIMEOUT_MS: u64 = 10_000;

/// What an operation returns: its result, and whether it changed the database.
pub(crate) type OpResult<T> = rusqlite::Result<(T, bool)>;

/// Where this round's database comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// No (or an empty) events.db.
    Fresh,
    Existing {
        needs_schema: bool,
    },
    /// The corrupt file was moved aside: a new database must be written.
    Replaced,
}

/// Consolidates one data dir; callers serialize `run` per store (the lock serializes the rest).
#[derive(Debug)]
pub(crate) struct Consolidator {
    data_dir: PathBuf,
    db_path: PathBuf,
    lock_path: PathBuf,
    pending_dir: PathBuf,
    limits: StoreLimits,
    /// The events.db this store last checked or wrote, to skip re-checking it.
    verified: Option<FileStamp>,
}

impl Consolidator {
    pub(crate) fn new(data_dir: &Path, pending_dir: PathBuf, limits: StoreLimits) -> Consolidator {
        let db_path = data_dir.join("events.db");
        Consolidator {
            data_dir: data_dir.to_path_buf(),
            lock_path: data_dir.join("events.db.lock"),
            db_path,
            pending_dir,
            limits,
            verified: None,
        }
    }

    /// Takes the lock, consolidates, applies `op` and publishes events.db if anything changed.
    /// `mutates` says whether `op` may write (it then always gets a writable database).
    ///
    /// # Errors
    /// `Error::Io`, `Error::Sqlite` or `Error::LockTimeout`; corrupt data is handled, not an error.
    pub(crate) fn run<T>(&mut self, mutates: bool, op: impl FnOnce(&Connection) -> OpResult<T>) -> Result<T> {
        fs::create_dir_all(&self.data_dir).map_err(Error::io("cannot create data dir", &self.data_dir))?;
        let lock = lock_file::acquire(&self.lock_path, LOCK_STALE_MS, LOCK_TIMEOUT_MS)?;
        let result = self.under_lock(mutates, op);
        if result.is_err() {
            // What we hold in memory may not match the file any more: check it again next time.
            self.verified = None;
        }
        let released = lock.release();
        let value = result?;
        released?;
        Ok(value)
    }

    fn under_lock<T>(&mut self, mutates: bool, op: impl FnOnce(&Connection) -> OpResult<T>) -> Result<T> {
        let now = now_ms();
        let source = self.source()?;
        // Creating the schema or replacing a corrupt file is itself a change to publish.
        let forced = matches!(source, Source::Existing { needs_schema: true } | Source::Replaced);
        let (copy, consumed) = if forced {
            let copy = WorkingCopy::create(&self.db_path, source != Source::Replaced)?;
            let consumed = read_segments(copy.conn(), &self.db_path, &self.pending_dir)?;
            (copy, consumed)
        } else {
            let reader = match source {
                Source::Fresh => open_empty_in_memory(),
                _ => open_read_only(&self.db_path),
            }
            .map_err(Error::sqlite(&self.db_path))?;
            let consumed = read_segments(&reader, &self.db_path, &self.pending_dir)?;
            let change = would_change(&reader, &consumed, &self.limits, now).map_err(Error::sqlite(&self.db_path))?;
            if !mutates && !change {
                let (value, _) = op(&reader).map_err(Error::sqlite(&self.db_path))?;
                drop(reader);
                delete_consumed_segments(&consumed.segments)?;
                return Ok(value);
            }
            drop(reader);
            (WorkingCopy::create(&self.db_path, source != Source::Fresh)?, consumed)
        };
        let conn = copy.conn();
        let (value, changed) = (|| {
            let tx = conn.unchecked_transaction()?;
            let mut changed = apply(&tx, &consumed, &self.limits, now)? || forced;
            let (value, op_changed) = op(&tx)?;
            changed = changed || op_changed;
            if changed {
                remove_stale_segment_rows(&tx, &consumed.segments)?;
                tx.commit()?;
            }
            Ok((value, changed))
        })()
        .map_err(Error::sqlite(&self.db_path))?;
        if changed {
            self.verified = copy.publish(&self.db_path)?;
        }
        // Unchanged: dropping the copy deletes it. Segments go only once events.db is durable.
        delete_consumed_segments(&consumed.segments)?;
        Ok(value)
    }

    /// Classifies events.db, re-checking it (and removing crash leftovers) unless it is the
    /// file this store last checked or wrote; a corrupt file is moved aside.
    fn source(&mut self) -> Result<Source> {
        let stamp = file_stamp(&self.db_path);
        if stamp.is_some() && stamp == self.verified {
            return Ok(Source::Existing { needs_schema: false });
        }
        self.verified = None;
        remove_leftovers(&self.data_dir);
        Ok(match check_file(&self.db_path)? {
            Health::Fresh => Source::Fresh,
            Health::Healthy { needs_schema } => {
                if !needs_schema {
                    self.verified = stamp;
                }
                Source::Existing { needs_schema }
            }
            Health::Corrupt => {
                // A new database knows no segment offsets: every segment present is read from 0.
                move_aside(&self.db_path)?;
                Source::Replaced
            }
        })
    }
}

/// The synced rows older than this are pruned.
fn prune_cutoff(limits: &StoreLimits, now: i64) -> i64 {
    let days = i64::try_from(limits.retention_days).unwrap_or(i64::MAX);
    now.saturating_sub(days.saturating_mul(DAY_MS))
}

fn max_pending(limits: &StoreLimits) -> i64 {
    i64::try_from(limits.max_pending_events).unwrap_or(i64::MAX)
}

fn pending_count(db: &Connection) -> rusqlite::Result<i64> {
    db.query_row("SELECT COUNT(*) FROM events WHERE state = 'pending'", [], |row| {
        row.get(0)
    })
}

/// Whether `apply` would change anything: the same conditions, asked without writing.
fn would_change(db: &Connection, consumed: &Consumed, limits: &StoreLimits, now: i64) -> rusqlite::Result<bool> {
    if !consumed.events.is_empty() || consumed.corrupt > 0 || consumed.segments.iter().any(|s| s.offset_changed()) {
        return Ok(true);
    }
    if pending_count(db)? > max_pending(limits) {
        return Ok(true);
    }
    db.query_row(
        "SELECT EXISTS (SELECT 1 FROM events WHERE state = 'synced' AND synced_at <= ?)",
        [prune_cutoff(limits, now)],
        |row| row.get(0),
    )
}

/// Compares like JS `<` on strings: by UTF-16 code units.
fn cmp_utf16(a: &str, b: &str) -> std::cmp::Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// Inserts the consumed events, records offsets, bounds and prunes (protocol steps 3-5).
/// True if anything changed.
fn apply(db: &Connection, consumed: &Consumed, limits: &StoreLimits, now: i64) -> rusqlite::Result<bool> {
    let mut changed = false;
    if !consumed.events.is_empty() {
        let mut events: Vec<_> = consumed.events.iter().collect();
        events.sort_by(|a, b| cmp_utf16(&a.timestamp, &b.timestamp).then(a.order.cmp(&b.order)));
        let mut insert = db.prepare(
            "INSERT OR IGNORE INTO events (event_id, timestamp, type, state, body, stored_at) VALUES (?, ?, ?, 'pending', ?, ?)",
        )?;
        for e in events {
            insert.execute(rusqlite::params![e.event_id, e.timestamp, e.kind, e.body, now])?;
        }
        changed = true;
    }
    if consumed.corrupt > 0 {
        add_to_counter(db, META_CORRUPT, consumed.corrupt)?;
        changed = true;
    }
    for segment in consumed.segments.iter().filter(|s| s.offset_changed()) {
        db.execute(
            "INSERT OR REPLACE INTO segments (name, offset) VALUES (?, ?)",
            rusqlite::params![segment.name, segment.new_offset],
        )?;
        changed = true;
    }
    let excess = pending_count(db)?.saturating_sub(max_pending(limits));
    if excess > 0 {
        let dropped = db.execute(
            "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE state = 'pending' ORDER BY seq ASC LIMIT ?)",
            [excess],
        )?;
        add_to_counter(db, META_DROPPED, dropped as u64)?;
        changed = true;
    }
    let pruned = db.execute(
        "DELETE FROM events WHERE state = 'synced' AND synced_at <= ?",
        [prune_cutoff(limits, now)],
    )?;
    Ok(changed || pruned > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_sort_like_js_strings() {
        // U+FF5E sorts after U+1F600 in UTF-16 (surrogates are 0xD8xx) but before it in UTF-8.
        assert_eq!(cmp_utf16("\u{ff5e}", "\u{1f600}"), std::cmp::Ordering::Greater);
        assert_eq!(
            cmp_utf16("2025-01-01T00:00:00.001Z", "2025-01-01T00:00:00.002Z"),
            std::cmp::Ordering::Less
        );
    }
}
