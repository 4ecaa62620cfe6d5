//! The `events.db` schema shared with the TS backend (`sqlite-database.ts`), the health check
//! that decides whether a file is a usable events database, and the small `meta` helpers.
//! Nothing here replaces files: `db_file.rs` does that.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::Path;

use rusqlite::types::Value;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use crate::error::{Error, Result};

/// The schema version stored in `PRAGMA user_version`.
pub(crate) const SCHEMA_VERSION: i64 = 1;

/// The schema, byte for byte the TS `SCHEMA_SQL`.
pub(crate) const SCHEMA_SQL: &str = "
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL UNIQUE,
  timestamp TEXT NOT NULL,
  type TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','synced','dead_letter')),
  body TEXT NOT NULL,
  stored_at INTEGER NOT NULL,
  synced_at INTEGER,
  error TEXT
);
CREATE INDEX IF NOT EXISTS events_state_seq ON events(state, seq);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS segments (name TEXT PRIMARY KEY, offset INTEGER NOT NULL);
";

/// Meta keys used by the store itself (besides the public `last_sync` / `last_error`).
pub(crate) const META_DROPPED: &str = "dropped_events";
pub(crate) const META_CORRUPT: &str = "corrupt_lines";

const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// What is on disk at `events.db`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Health {
    /// Missing or empty: a new database (the TS side treats an empty file the same way).
    Fresh,
    /// A healthy database; `needs_schema` when tables or `user_version` must still be created.
    Healthy { needs_schema: bool },
    /// Not a usable SQLite file: to be moved aside.
    Corrupt,
}

/// Classifies `events.db` as the TS `openDatabase` does: header, open, `quick_check`.
///
/// # Errors
/// `Error::Io` only when the file exists but cannot be read; SQLite failures mean `Corrupt`.
pub(crate) fn check_file(path: &Path) -> Result<Health> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Health::Fresh),
        Err(e) => return Err(Error::io("cannot open", path)(e)),
    };
    let mut header = Vec::with_capacity(SQLITE_HEADER.len());
    (&mut file)
        .take(SQLITE_HEADER.len() as u64)
        .read_to_end(&mut header)
        .map_err(Error::io("cannot read", path))?;
    if header.is_empty() {
        return Ok(Health::Fresh);
    }
    if header.as_slice() != SQLITE_HEADER {
        return Ok(Health::Corrupt);
    }
    Ok(match check_database(path) {
        Ok(needs_schema) => Health::Healthy { needs_schema },
        Err(_) => Health::Corrupt,
    })
}

fn check_database(path: &Path) -> rusqlite::Result<bool> {
    let db = open_read_only(path)?;
    let check: String = db.query_row("PRAGMA quick_check", [], |row| row.get(0))?;
    if check != "ok" {
        return Err(rusqlite::Error::InvalidQuery);
    }
    let objects: i64 = db.query_row(
        "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('events', 'events_state_seq', 'meta', 'segments')",
        [],
        |row| row.get(0),
    )?;
    Ok(objects < 4 || user_version(&db)? < SCHEMA_VERSION)
}

/// Opens an existing database for reading only. `events.db` is never edited in place (it is
/// replaced by rename), so reading it directly is safe and avoids copying it for reads.
pub(crate) fn open_read_only(path: &Path) -> rusqlite::Result<Connection> {
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
}

/// Opens (creating if needed) a private working copy for writing. Atomicity comes from the
/// rename that publishes it, so SQLite needs no journal file nor syncs of its own.
pub(crate) fn open_working_copy(path: &Path) -> rusqlite::Result<Connection> {
    let db = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    db.query_row("PRAGMA journal_mode = MEMORY", [], |_| Ok(()))?;
    db.execute_batch("PRAGMA synchronous = OFF")?;
    ensure_schema(&db)?;
    Ok(db)
}

/// A new database in memory, for reads when no `events.db` exists yet.
pub(crate) fn open_empty_in_memory() -> rusqlite::Result<Connection> {
    let db = Connection::open_in_memory()?;
    ensure_schema(&db)?;
    Ok(db)
}

fn ensure_schema(db: &Connection) -> rusqlite::Result<()> {
    db.execute_batch(SCHEMA_SQL)?;
    if user_version(db)? < SCHEMA_VERSION {
        db.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
    }
    Ok(())
}

fn user_version(db: &Connection) -> rusqlite::Result<i64> {
    db.query_row("PRAGMA user_version", [], |row| row.get(0))
}

/// A meta value; None when absent or not text (as `readMeta`).
pub(crate) fn read_meta(db: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    let value: Option<Value> = db
        .query_row("SELECT value FROM meta WHERE key = ?", [key], |row| row.get(0))
        .optional()?;
    Ok(match value {
        Some(Value::Text(text)) => Some(text),
        _ => None,
    })
}

pub(crate) fn write_meta(db: &Connection, key: &str, value: Option<&str>) -> rusqlite::Result<()> {
    match value {
        None => db.execute("DELETE FROM meta WHERE key = ?", [key])?,
        Some(value) => db.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            params![key, value],
        )?,
    };
    Ok(())
}

/// An integer counter kept as text in `meta`, read like JS `Number(text)` (unusable = 0).
pub(crate) fn read_counter(db: &Connection, key: &str) -> rusqlite::Result<f64> {
    Ok(read_meta(db, key)?.map_or(0.0, |text| parse_js_number(&text)))
}

/// Adds `delta` to a counter, written back as JS `String(n)` would for integers.
pub(crate) fn add_to_counter(db: &Connection, key: &str, delta: u64) -> rusqlite::Result<()> {
    if delta == 0 {
        return Ok(());
    }
    let total = read_counter(db, key)? + delta as f64;
    let text = if total.fract() == 0.0 && total.abs() < 1e21 {
        format!("{total:.0}")
    } else {
        total.to_string()
    };
    write_meta(db, key, Some(&text))
}

fn parse_js_number(text: &str) -> f64 {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return 0.0;
    }
    trimmed.parse::<f64>().ok().filter(|n| n.is_finite()).unwrap_or(0.0)
}

/// A count as the API reports it: negative or fractional stored values are clamped.
pub(crate) fn to_count(value: f64) -> u64 {
    if value.is_finite() && value > 0.0 {
        value as u64
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One schema, two spellings: this keeps the Rust copy equal to the TS `SCHEMA_SQL`.
    #[test]
    fn schema_is_the_ts_schema() {
        let ts = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../packages/core/src/node/sqlite-database.ts"))
            .expect("packages/core/src/node/sqlite-database.ts is readable");
        let start = ts.find("export const SCHEMA_SQL = `").expect("TS SCHEMA_SQL exists") + "export const SCHEMA_SQL = `".len();
        let end = start + ts[start..].find('`').expect("TS SCHEMA_SQL is closed");
        assert_eq!(&ts[start..end], SCHEMA_SQL);
    }

    #[test]
    fn counters_read_like_js_numbers() {
        let db = open_empty_in_memory().unwrap();
        assert_eq!(read_counter(&db, META_DROPPED).unwrap(), 0.0);
        write_meta(&db, META_DROPPED, Some(" 12 ")).unwrap();
        add_to_counter(&db, META_DROPPED, 3).unwrap();
        assert_eq!(read_meta(&db, META_DROPPED).unwrap().as_deref(), Some("15"));
        write_meta(&db, META_CORRUPT, Some("junk")).unwrap();
        add_to_counter(&db, META_CORRUPT, 2).unwrap();
        assert_eq!(read_meta(&db, META_CORRUPT).unwrap().as_deref(), Some("2"));
        assert_eq!(user_version(&db).unwrap(), 1);
    }
}
