//! Journal segments: append-only JSON-lines files under `<dataDir>/pending/`, one per writer,
//! named `<pid>-<12 hex ms><4 hex counter><8 hex random>.jsonl` exactly as
//! `packages/core/src/node/journal-segment.ts` names them, so one writer's segments sort in
//! creation order.
//!
//! A process-wide registry records the segments this process has open for writing: the
//! consolidation of any store in this process must tell a live segment of its own pid from one
//! abandoned by an earlier store (or an earlier process that had the same pid).

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::error::{Error, Result};

use super::system::{now_ms, random_hex8};

/// File names (not paths) of the segments this process has open for writing. Names are unique
/// per process (pid, creation ms, counter, random), so two spellings of one data dir still agree.
static OPEN_FOR_WRITING: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

static SEGMENTS_CREATED: AtomicU32 = AtomicU32::new(0);

fn registry() -> MutexGuard<'static, BTreeSet<String>> {
    // The set stays consistent even if a holder panicked (every update is a single call).
    OPEN_FOR_WRITING.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether this process currently has the segment named `name` open for writing.
pub(crate) fn is_segment_open_for_writing(name: &str) -> bool {
    registry().contains(name)
}

/// A fresh segment file name for this process.
pub(crate) fn new_segment_name() -> String {
    let counter = SEGMENTS_CREATED.fetch_add(1, Ordering::Relaxed) % 0x1_0000;
    let time = now_ms().max(0);
    format!("{}-{time:012x}{counter:04x}{}.jsonl", std::process::id(), random_hex8())
}

/// The writer pid encoded in a segment file name (`^[0-9]+-[0-9a-f]+\.jsonl$`), or None when
/// the name is not a segment. Like the TS side, a pid beyond 2^53 - 1 is not a segment.
pub(crate) fn segment_pid(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(".jsonl")?;
    let (pid, hex) = stem.split_once('-')?;
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if hex.is_empty() || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    pid.parse::<u64>().ok().filter(|&p| p < (1u64 << 53))
}

/// fsync a directory so a created/renamed entry is durable. Not supported everywhere (Windows,
/// some file systems), so failures are ignored, as on the TS side.
pub(crate) fn fsync_dir(dir: &Path) {
    if let Ok(handle) = File::open(dir) {
        let _ = handle.sync_all();
    }
}

/// The segment a writer currently appends to.
#[derive(Debug)]
struct OpenSegment {
    name: String,
    path: PathBuf,
    file: File,
}

impl OpenSegment {
    /// Registers the name first, so a consolidation never sees the file without its entry.
    fn create(dir: &Path) -> Result<OpenSegment> {
        let name = new_segment_name();
        let path = dir.join(&name);
        registry().insert(name.clone());
        let dir_existed = dir.is_dir();
        let opened = fs::create_dir_all(dir).and_then(|()| OpenOptions::new().append(true).create(true).open(&path));
        match opened {
            Ok(file) => {
                // The new directory entry must be durable before the first append returns
                // (and so must `pending/` itself when it was just created).
                fsync_dir(dir);
                if let (false, Some(parent)) = (dir_existed, dir.parent()) {
                    fsync_dir(parent);
                }
                Ok(OpenSegment { name, path, file })
            }
            Err(source) => {
                registry().remove(&name);
                Err(Error::io("cannot open journal segment", path)(source))
            }
        }
    }

    fn write(&mut self, data: &[u8]) -> Result<()> {
        self.file
            .write_all(data)
            .and_then(|()| self.file.sync_data())
            .map_err(Error::io("cannot write journal segment", &self.path))
    }
}

impl Drop for OpenSegment {
    /// Closing leaves the registry: from now on consolidation may consume and delete the file.
    fn drop(&mut self) {
        registry().remove(&self.name);
    }
}

/// The writer of one store: holds the current segment and replaces it on rotation or after a
/// failed write (whose file may end with a torn line and must not be appended to).
#[derive(Debug)]
pub(crate) struct JournalWriter {
    dir: PathBuf,
    current: Mutex<Option<OpenSegment>>,
}

impl JournalWriter {
    /// `dir` is the `pending/` directory; nothing is created until the first append.
    pub(crate) fn new(dir: PathBuf) -> JournalWriter {
        JournalWriter {
            dir,
            current: Mutex::new(None),
        }
    }

    fn current(&self) -> MutexGuard<'_, Option<OpenSegment>> {
        // A panic while holding the lock cannot leave a half-updated Option behind.
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends `data` (complete '\n'-terminated lines) and datasyncs before returning. Writes of
    /// concurrent callers are serialized: each goes out as one write + one datasync.
    pub(crate) fn append(&self, data: &[u8]) -> Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        let mut current = self.current();
        let segment = match current.as_mut() {
            Some(segment) => segment,
            None => current.insert(OpenSegment::create(&self.dir)?),
        };
        let written = segment.write(data);
        if written.is_err() {
            *current = None;
        }
        written
    }

    /// Closes the current segment (the next append opens a new one), so that consolidation may
    /// consume and delete it.
    pub(crate) fn rotate(&self) {
        // Dropping the File closes it; a close error cannot lose data already datasynced.
        *self.current() = None;
    }
}

impl Drop for JournalWriter {
    fn drop(&mut self) {
        self.rotate();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_ts_pattern_and_sort_by_creation() {
        let a = new_segment_name();
        let b = new_segment_name();
        assert!(a < b, "{a} !< {b}");
        assert_eq!(segment_pid(&a), Some(u64::from(std::process::id())));
        let stem = a.strip_suffix(".jsonl").unwrap().split_once('-').unwrap().1;
        assert_eq!(stem.len(), 24);
    }

    #[test]
    fn rejects_names_that_are_not_segments() {
        for name in [
            "x-1.jsonl",
            "1-XYZ.jsonl",
            "1-.jsonl",
            "-ab.jsonl",
            "1-ab.json",
            "1-ab.jsonl.tmp",
        ] {
            assert_eq!(segment_pid(name), None, "{name}");
        }
        assert_eq!(segment_pid("12-00ff.jsonl"), Some(12));
        assert_eq!(segment_pid("9007199254740992-00.jsonl"), None);
    }
}
