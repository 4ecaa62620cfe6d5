//! The exclusive lock file shared by processes and by both backends (`lock-file.ts`).
//!
//! The lock is held by whoever created `<path>` with `O_CREAT|O_EXCL`; its content is
//! `{"pid":n,"created":unixMs}`. It is stale when its pid is not alive, when it is older than
//! `stale_ms`, or when its content is unreadable and its mtime is more than 1 s old (a holder
//! writes the content right after creating it). A stale lock is claimed by renaming it to
//! `<path>.stale-<pid>-<hex>` (atomic: only one contender gets it); if the renamed file is not
//! the one judged stale (someone replaced it meanwhile) it is linked back when the path is free.
//! Release deletes the lock only if it still has the identity and content its holder wrote.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use serde_json::Value;

use crate::error::{Error, Result};

use super::system::{is_pid_alive, now_ms, random_hex8};

const CORRUPT_GRACE_MS: f64 = 1_000.0;

/// What identifies one lock file: (device, inode) where the platform has them, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Identity {
    file: Option<(u64, u64)>,
    text: String,
}

#[cfg(unix)]
fn file_key(meta: &fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

/// Without inodes the content (pid + creation ms) alone tells two locks apart.
#[cfg(not(unix))]
fn file_key(_meta: &fs::Metadata) -> Option<(u64, u64)> {
    None
}

fn mtime_ms(meta: &fs::Metadata) -> f64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0.0, |d| d.as_secs_f64() * 1_000.0)
}

/// A held lock. `release` reports errors; dropping releases on a best-effort basis.
#[derive(Debug)]
pub(crate) struct LockGuard {
    path: PathBuf,
    ours: Identity,
    released: bool,
}

impl LockGuard {
    pub(crate) fn release(mut self) -> Result<()> {
        self.released = true;
        release(&self.path, &self.ours)
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if !self.released {
            let _ = release(&self.path, &self.ours);
        }
    }
}

/// Acquires the lock at `path`, waiting (bounded by `timeout_ms`) while another holder has it.
///
/// # Errors
/// `Error::LockTimeout` after `timeout_ms`; `Error::Io` when the lock cannot be created/read.
pub(crate) fn acquire(path: &Path, stale_ms: u64, timeout_ms: u64) -> Result<LockGuard> {
    let deadline = now_ms().saturating_add(i64::try_from(timeout_ms).unwrap_or(i64::MAX));
    let mut attempt = 0u32;
    loop {
        if let Some(ours) = try_create(path)? {
            return Ok(LockGuard {
                path: path.to_path_buf(),
                ours,
                released: false,
            });
        }
        let removed = remove_if_stale(path, stale_ms)?;
        let now = now_ms();
        if now >= deadline {
            return Err(Error::LockTimeout {
                path: path.to_path_buf(),
                waited_ms: timeout_ms,
            });
        }
        if !removed {
            // Same backoff as the TS side: 2, 4, ... 50 ms plus up to as much jitter.
            let backoff = (2u64 << attempt.min(5)).min(50);
            attempt = attempt.saturating_add(1);
            let jitter = u64::from(getrandom::u32().unwrap_or(0)) % (backoff + 1);
            let left = u64::try_from(deadline - now).unwrap_or(1);
            std::thread::sleep(Duration::from_millis((backoff + jitter).min(left).max(1)));
        }
    }
}

/// Reads the identity and mtime of a lock file; None if it does not exist.
fn read_identity(path: &Path) -> Result<Option<(Identity, f64)>> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("cannot read lock", path)(e)),
    };
    let meta = file.metadata().map_err(Error::io("cannot read lock", path))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(Error::io("cannot read lock", path))?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Ok(Some((
        Identity {
            file: file_key(&meta),
            text,
        },
        mtime_ms(&meta),
    )))
}

/// Creates the lock file; its identity, or None when it already exists.
fn try_create(path: &Path) -> Result<Option<Identity>> {
    let mut file = match OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::AlreadyExists => return Ok(None),
        Err(e) => return Err(Error::io("cannot create lock", path)(e)),
    };
    let text = format!(r#"{{"pid":{},"created":{}}}"#, std::process::id(), now_ms());
    let written = file.write_all(text.as_bytes()).and_then(|()| file.metadata());
    drop(file);
    match written {
        Ok(meta) => Ok(Some(Identity {
            file: file_key(&meta),
            text,
        })),
        Err(e) => {
            let _ = fs::remove_file(path);
            Err(Error::io("cannot write lock", path)(e))
        }
    }
}

fn release(path: &Path, ours: &Identity) -> Result<()> {
    match read_identity(path)? {
        // Someone judged our lock stale and replaced it: leave theirs alone.
        Some((current, _)) if current == *ours => {}
        _ => return Ok(()),
    }
    match fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(Error::io("cannot release lock", path)(e)),
        _ => Ok(()),
    }
}

/// `{"pid":n,"created":ms}` → (pid if it is a safe integer, created); None if unreadable.
fn parse_content(text: &str) -> Option<(Option<i64>, f64)> {
    let value: Value = serde_json::from_str(text).ok()?;
    let object = value.as_object()?;
    let pid = object.get("pid")?.as_f64()?;
    let created = object.get("created")?.as_f64()?;
    let safe = pid.fract() == 0.0 && pid.abs() <= 9_007_199_254_740_991.0;
    Some((safe.then_some(pid as i64), created))
}

/// Removes the lock if it is stale; true if the caller should retry at once.
fn remove_if_stale(path: &Path, stale_ms: u64) -> Result<bool> {
    let Some((judged, mtime)) = read_identity(path)? else {
        return Ok(true);
    };
    let now = now_ms() as f64;
    let stale = match parse_content(&judged.text) {
        None => now - mtime > CORRUPT_GRACE_MS,
        Some((pid, created)) => !pid.is_some_and(is_pid_alive) || now - created > stale_ms as f64,
    };
    if !stale {
        return Ok(false);
    }
    let mut claimed = path.as_os_str().to_owned();
    claimed.push(format!(".stale-{}-{}", std::process::id(), random_hex8()));
    let claimed = PathBuf::from(claimed);
    match fs::rename(path, &claimed) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(true),
        Err(e) => return Err(Error::io("cannot remove stale lock", path)(e)),
    }
    let taken = read_identity(&claimed);
    if let Ok(Some((taken, _))) = &taken {
        if *taken != judged {
            // We took a fresh lock that replaced the stale one: give it back if the path is free.
            let _ = fs::hard_link(&claimed, path);
        }
    }
    let _ = fs::remove_file(&claimed);
    taken.map(|_| true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_lock(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tk-lock-{}-{}-{name}", std::process::id(), random_hex8()));
        fs::create_dir_all(&dir).unwrap();
        dir.join("events.db.lock")
    }

    #[test]
    fn writes_the_ts_content_and_releases_only_its_own_lock() {
        let path = temp_lock("own");
        let guard = acquire(&path, 10_000, 1_000).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let (pid, _) = parse_content(&text).unwrap();
        assert_eq!(pid, Some(i64::from(std::process::id())));
        assert!(text.starts_with(&format!(r#"{{"pid":{},"created":"#, std::process::id())));
        // Replaced behind our back: release must leave the newcomer's lock.
        fs::remove_file(&path).unwrap();
        fs::write(&path, r#"{"pid":1,"created":1}"#).unwrap();
        guard.release().unwrap();
        assert!(path.exists());
        fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn live_fresh_lock_times_out_and_old_or_unreadable_ones_are_stale() {
        let path = temp_lock("stale");
        let held = acquire(&path, 10_000, 1_000).unwrap();
        assert!(matches!(acquire(&path, 10_000, 30), Err(Error::LockTimeout { .. })));
        drop(held);
        assert!(!path.exists());
        fs::write(&path, format!(r#"{{"pid":{},"created":0}}"#, std::process::id())).unwrap();
        acquire(&path, 10_000, 1_000).unwrap().release().unwrap();
        fs::write(&path, "{garbage").unwrap();
        // Unreadable but fresh: not stale yet.
        assert!(matches!(acquire(&path, 10_000, 30), Err(Error::LockTimeout { .. })));
        fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}
