//! `events.db` as a file: never edited in place. Changes go to a working copy
//! `events.db.tmp-<pid>-<hex>` (a copy of the current file, or a new database) that is closed,
//! fsynced and renamed over `events.db`, then the directory is fsynced, so a reader (either
//! backend, any process) sees the old or the new file, never a half-written one; the rename
//! also gives the file a new identity, which is what the TS side's cache is keyed on.
//! Also here: moving a corrupt file aside and removing crash leftovers of dead processes.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::error::{Error, Result};

use super::journal_segment::fsync_dir;
use super::sqlite_database::open_working_copy;
use super::system::{is_pid_alive, now_ms, random_hex8};

/// Identity of a file as seen by stat: when unchanged, the file holds the same bytes (it is only
/// ever replaced by rename). Used to skip re-checking a database this store verified or wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileStamp {
    file: Option<(u64, u64)>,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

pub(crate) fn file_stamp(path: &Path) -> Option<FileStamp> {
    let meta = fs::metadata(path).ok()?;
    #[cfg(unix)]
    let file = {
        use std::os::unix::fs::MetadataExt;
        Some((meta.dev(), meta.ino()))
    };
    #[cfg(not(unix))]
    let file = None;
    Some(FileStamp {
        file,
        len: meta.len(),
        modified: meta.modified().ok(),
    })
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Renames a database that failed its check to `events.db.corrupt-<ms>`.
///
/// # Errors
/// `Error::Io` when the rename fails.
pub(crate) fn move_aside(db_path: &Path) -> Result<()> {
    let aside = with_suffix(db_path, &format!(".corrupt-{}", now_ms()));
    fs::rename(db_path, &aside).map_err(Error::io("cannot move corrupt database aside", db_path))
}

/// The pid of a crash leftover `events.db.tmp-<pid>-<hex>` / `events.db.lock.stale-<pid>-<hex>`.
fn leftover_pid(name: &str) -> Option<i64> {
    let rest = name.strip_prefix("events.db.")?;
    let rest = rest.strip_prefix("tmp-").or_else(|| rest.strip_prefix("lock.stale-"))?;
    let (pid, hex) = rest.split_once('-')?;
    let digits = !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
    let hexed = !hex.is_empty() && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    // More digits than i64 holds: not a pid any process has (Node would call it dead too).
    (digits && hexed).then(|| pid.parse().unwrap_or(0))
}

/// Removes temp / stale-lock files left by dead processes (best effort, like the TS side).
pub(crate) fn remove_leftovers(data_dir: &Path) {
    let Ok(entries) = fs::read_dir(data_dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(leftover_pid) else {
            continue;
        };
        if !is_pid_alive(pid) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// A path deleted on drop unless it was renamed away.
struct TempPath {
    path: PathBuf,
    kept: bool,
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if !self.kept {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// A private copy of the database being changed. Dropped without `publish`, it is deleted
/// (fields drop in order: the connection closes before the file goes).
pub(crate) struct WorkingCopy {
    conn: Connection,
    temp: TempPath,
}

impl WorkingCopy {
    /// Copies `db_path` (when `from_existing`) or starts a new database, and opens it.
    ///
    /// # Errors
    /// `Error::Io` when the copy fails, `Error::Sqlite` when SQLite cannot open it.
    pub(crate) fn create(db_path: &Path, from_existing: bool) -> Result<WorkingCopy> {
        let path = with_suffix(db_path, &format!(".tmp-{}-{}", std::process::id(), random_hex8()));
        let temp = TempPath { path, kept: false };
        if from_existing {
            fs::copy(db_path, &temp.path).map_err(Error::io("cannot copy", db_path))?;
        }
        let conn = open_working_copy(&temp.path).map_err(Error::sqlite(&temp.path))?;
        Ok(WorkingCopy { conn, temp })
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Closes, fsyncs and renames the copy over `db_path`, then fsyncs the directory.
    /// Returns the stamp of the published file.
    ///
    /// # Errors
    /// `Error::Sqlite` when closing fails, `Error::Io` when syncing or renaming fails.
    pub(crate) fn publish(self, db_path: &Path) -> Result<Option<FileStamp>> {
        let WorkingCopy { conn, mut temp } = self;
        conn.close().map_err(|(_, e)| Error::sqlite(&temp.path)(e))?;
        OpenOptions::new()
            .write(true)
            .open(&temp.path)
            .and_then(|file| file.sync_all())
            .map_err(Error::io("cannot sync", &temp.path))?;
        fs::rename(&temp.path, db_path).map_err(Error::io("cannot write", db_path))?;
        temp.kept = true;
        if let Some(dir) = db_path.parent() {
            fsync_dir(dir);
        }
        Ok(file_stamp(db_path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_leftover_names_as_the_ts_pattern() {
        assert_eq!(leftover_pid("events.db.tmp-123-0af1"), Some(123));
        assert_eq!(leftover_pid("events.db.lock.stale-9-ff"), Some(9));
        for name in [
            "events.db",
            "events.db.lock",
            "events.db.tmp-12",
            "events.db.tmp-x-ab",
            "events.db.tmp-1-AB",
            "events.db.corrupt-5",
        ] {
            assert_eq!(leftover_pid(name), None, "{name}");
        }
    }
}
