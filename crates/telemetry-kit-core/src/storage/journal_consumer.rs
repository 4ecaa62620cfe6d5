//! The journal side of consolidation (`journal-consumer.ts`): reading every segment from the
//! offset stored in `segments`, parsing its complete lines, forgetting rows of segments that no
//! longer exist, and deleting consumed segments once events.db is durable.

use std::collections::{BTreeSet, HashMap};
use std::fs::{self, File};
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::error::{Error, Result};

use super::journal_line::parse_line;
use super::journal_segment::{is_segment_open_for_writing, segment_pid};
use super::system::is_pid_alive;

/// An event read from a journal line.
#[derive(Debug)]
pub(crate) struct NewEvent {
    pub(crate) event_id: String,
    pub(crate) timestamp: String,
    pub(crate) kind: String,
    /// The line exactly as written (invalid UTF-8 replaced, as Node decodes it).
    pub(crate) body: String,
    /// Position among all lines read in this round (segment name order, then line order).
    pub(crate) order: usize,
}

/// A segment seen in this round.
#[derive(Debug)]
pub(crate) struct SegmentPlan {
    pub(crate) name: String,
    pub(crate) path: PathBuf,
    /// The stored offset, or None when there was none or the file restarted below it.
    pub(crate) stored_offset: Option<i64>,
    /// Bytes consumed (complete lines only).
    pub(crate) new_offset: i64,
    pub(crate) gone: bool,
}

impl SegmentPlan {
    /// Whether the `segments` row must be (re)written (protocol step 4).
    pub(crate) fn offset_changed(&self) -> bool {
        self.new_offset != 0 && self.stored_offset != Some(self.new_offset)
    }
}

/// What one round read from the journal.
#[derive(Debug, Default)]
pub(crate) struct Consumed {
    pub(crate) segments: Vec<SegmentPlan>,
    pub(crate) events: Vec<NewEvent>,
    pub(crate) corrupt: u64,
}

/// Whether the writer of segment `name` (pid from its name) is gone. Decided before reading:
/// a writer that is gone now cannot add anything after the read.
fn writer_gone(name: &str, pid: u64) -> bool {
    if pid == u64::from(std::process::id()) {
        !is_segment_open_for_writing(name)
    } else {
        // A pid beyond i64 is beyond pid_t too: alive, as Node reports it.
        i64::try_from(pid).is_ok_and(|pid| !is_pid_alive(pid))
    }
}

/// Reads every segment in `pending_dir` from its offset in `segments` (protocol step 2).
///
/// # Errors
/// `Error::Io` when the directory or a segment cannot be read; `Error::Sqlite` for the offsets.
pub(crate) fn read_segments(db: &Connection, db_path: &Path, pending_dir: &Path) -> Result<Consumed> {
    let mut names = match fs::read_dir(pending_dir) {
        Ok(entries) => entries
            .filter_map(|entry| entry.ok().and_then(|e| e.file_name().into_string().ok()))
            .collect::<Vec<_>>(),
        Err(e) if e.kind() == ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::io("cannot list", pending_dir)(e)),
    };
    // JS sorts by UTF-16 code units; segment names are ASCII, where that is byte order.
    names.sort();
    let offsets = stored_offsets(db).map_err(Error::sqlite(db_path))?;
    let mut consumed = Consumed::default();
    for name in names {
        let Some(pid) = segment_pid(&name) else { continue };
        let path = pending_dir.join(&name);
        let gone = writer_gone(&name, pid);
        let stored = offsets.get(&name).copied();
        let Some((bytes, start)) = read_from(&path, stored.unwrap_or(0))? else {
            continue;
        };
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        for line in bytes[..complete].split_inclusive(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\n").unwrap_or(line);
            let text = String::from_utf8_lossy(line);
            match parse_line(&text) {
                Some(head) => consumed.events.push(NewEvent {
                    event_id: head.event_id,
                    timestamp: head.timestamp,
                    kind: head.kind,
                    body: text.into_owned(),
                    order: consumed.events.len(),
                }),
                None => consumed.corrupt += 1,
            }
        }
        if gone && complete < bytes.len() {
            consumed.corrupt += 1; // torn last line of a writer that is gone
        }
        let restarted = start == 0 && stored.is_some_and(|offset| offset > 0);
        consumed.segments.push(SegmentPlan {
            name,
            path,
            stored_offset: if restarted { None } else { stored },
            new_offset: start.saturating_add(i64::try_from(complete).unwrap_or(i64::MAX)),
            gone,
        });
    }
    Ok(consumed)
}

fn stored_offsets(db: &Connection) -> rusqlite::Result<HashMap<String, i64>> {
    let mut stmt = db.prepare("SELECT name, offset FROM segments")?;
    let rows = stmt.query_map([], |row| {
        let name: rusqlite::types::Value = row.get(0)?;
        let offset: rusqlite::types::Value = row.get(1)?;
        Ok((name, offset))
    })?;
    let mut offsets = HashMap::new();
    for row in rows {
        let (name, offset) = row?;
        if let rusqlite::types::Value::Text(name) = name {
            let offset = match offset {
                rusqlite::types::Value::Integer(n) => n,
                rusqlite::types::Value::Real(f) if f.is_finite() => f as i64,
                _ => 0,
            };
            offsets.insert(name, offset);
        }
    }
    Ok(offsets)
}

/// The bytes of `path` from `start` (from 0 if the file is now shorter), with the start used;
/// None if the file is gone.
fn read_from(path: &Path, start: i64) -> Result<Option<(Vec<u8>, i64)>> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("cannot open journal segment", path)(e)),
    };
    let read = |file: &mut File| -> std::io::Result<(Vec<u8>, i64)> {
        let size = file.metadata()?.len();
        let from = u64::try_from(start).ok().filter(|&s| s <= size).unwrap_or(0);
        file.seek(SeekFrom::Start(from))?;
        let mut bytes = Vec::with_capacity(usize::try_from(size - from).unwrap_or(0));
        // Bounded by the size seen now: a live writer's later appends are for the next round.
        file.take(size - from).read_to_end(&mut bytes)?;
        Ok((bytes, i64::try_from(from).unwrap_or(0)))
    };
    read(&mut file)
        .map(Some)
        .map_err(Error::io("cannot read journal segment", path))
}

/// Deletes segments whose writer is gone (all their data is consumed), after events.db is durable.
///
/// # Errors
/// `Error::Io` when a segment exists but cannot be deleted.
pub(crate) fn delete_consumed_segments(segments: &[SegmentPlan]) -> Result<()> {
    for segment in segments.iter().filter(|s| s.gone) {
        match fs::remove_file(&segment.path) {
            Err(e) if e.kind() != ErrorKind::NotFound => {
                return Err(Error::io("cannot delete journal segment", &segment.path)(e))
            }
            _ => {}
        }
    }
    Ok(())
}

/// Drops `segments` rows of files not seen in this round (their data is in events.db). Rows of
/// segments about to be deleted are kept, so a crash before the unlink cannot replay them.
pub(crate) fn remove_stale_segment_rows(db: &Connection, present: &[SegmentPlan]) -> rusqlite::Result<()> {
    let seen: BTreeSet<&str> = present.iter().map(|s| s.name.as_str()).collect();
    let names: Vec<String> = {
        let mut stmt = db.prepare("SELECT name FROM segments")?;
        let rows = stmt.query_map([], |row| row.get::<_, rusqlite::types::Value>(0))?;
        let mut names = Vec::new();
        for row in rows {
            if let rusqlite::types::Value::Text(name) = row? {
                names.push(name);
            }
        }
        names
    };
    for name in names.iter().filter(|n| !seen.contains(n.as_str())) {
        db.execute("DELETE FROM segments WHERE name = ?", [name])?;
    }
    Ok(())
}
