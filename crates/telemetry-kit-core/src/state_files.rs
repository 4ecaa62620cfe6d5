//! The two small state files of a data dir: `install_id` (64 hex characters, created on first
//! use) and `consent.json` (`{status, timestamp, service}`). Mirrors
//! `packages/core/src/node/state-files.ts` and the atomic writes of `atomic-file.ts`, byte for
//! byte, so either backend continues a data dir the other wrote.
//!
//! A corrupt file is never fatal: the install id is regenerated and consent reads as unknown
//! (`None`). Files are replaced whole: written beside the target, fsynced, then renamed over it,
//! so a crash leaves the old or the new content, never a torn file.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::gate::trim_js;
use crate::ids::{is_valid_install_id, random_hex};
use crate::types::{ConsentRecord, ConsentStatus};

pub const INSTALL_ID_FILE: &str = "install_id";
pub const CONSENT_FILE: &str = "consent.json";

/// The anonymous install id of a data dir, from which every service's `user_id` derives.
#[derive(Debug, Clone)]
pub struct IdentityStore {
    data_dir: PathBuf,
    path: PathBuf,
}

impl IdentityStore {
    pub fn new(data_dir: impl Into<PathBuf>) -> IdentityStore {
        let data_dir = data_dir.into();
        let path = data_dir.join(INSTALL_ID_FILE);
        IdentityStore { data_dir, path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The install id, created (with the data dir) on first use. Two processes creating it at
    /// the same moment get the same id; invalid content is replaced by a new id.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the data dir or the file cannot be read, created or written.
    pub fn load(&self) -> Result<String> {
        loop {
            let existing = read_optional(&self.path, "cannot read install id")?;
            if let Some(text) = &existing {
                let trimmed = trim_js(text);
                if is_valid_install_id(trimmed) {
                    return Ok(trimmed.to_owned());
                }
            }
            fs::create_dir_all(&self.data_dir)
                .map_err(Error::io("cannot create data dir", &self.data_dir))?;
            let fresh =
                random_hex(32).map_err(Error::io("cannot generate install id for", &self.path))?;
            if existing.is_some() {
                write_file_atomic(&self.path, &fresh, "cannot write install id")?;
            } else if !create_file_exclusive(&self.path, &fresh, "cannot create install id")? {
                // Another process linked its id first: read theirs, as the TS backend does.
                continue;
            }
            return Ok(fresh);
        }
    }

    /// Forgets the install id: the next `load` creates a new one. A missing file is fine.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file exists and cannot be removed.
    pub fn reset(&self) -> Result<()> {
        match fs::remove_file(&self.path) {
            Err(error) if error.kind() != ErrorKind::NotFound => {
                Err(Error::io("cannot remove install id", &self.path)(error))
            }
            _ => Ok(()),
        }
    }
}

/// The user's stored consent decision.
#[derive(Debug, Clone)]
pub struct ConsentStore {
    data_dir: PathBuf,
    path: PathBuf,
}

impl ConsentStore {
    pub fn new(data_dir: impl Into<PathBuf>) -> ConsentStore {
        let data_dir = data_dir.into();
        let path = data_dir.join(CONSENT_FILE);
        ConsentStore { data_dir, path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored record; `None` when there is none or it is unreadable as a record (not JSON,
    /// not an object, or an unknown status). `timestamp` and `service` read as `""` when they
    /// are not strings.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file exists and cannot be read.
    pub fn load(&self) -> Result<Option<ConsentRecord>> {
        Ok(read_optional(&self.path, "cannot read consent")?.and_then(|text| parse_consent(&text)))
    }

    /// Replaces the record atomically, creating the data dir if needed.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the data dir or the file cannot be written.
    pub fn save(&self, record: &ConsentRecord) -> Result<()> {
        fs::create_dir_all(&self.data_dir)
            .map_err(Error::io("cannot create data dir", &self.data_dir))?;
        // `JSON.stringify(record)`: same key order (status, timestamp, service), same escapes.
        let content = format!("{}\n", serde_json::to_string(record)?);
        write_file_atomic(&self.path, &content, "cannot write consent")
    }
}

fn parse_consent(text: &str) -> Option<ConsentRecord> {
    let value: Value = serde_json::from_str(text).ok()?;
    let obj = value.as_object()?;
    let status = obj
        .get("status")
        .and_then(Value::as_str)
        .and_then(ConsentStatus::parse)?;
    let text_or_empty = |key: &str| {
        obj.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    Some(ConsentRecord {
        status,
        timestamp: text_or_empty("timestamp"),
        service: text_or_empty("service"),
    })
}

/// The file as text (invalid UTF-8 replaced, as Node's `readFile(path, 'utf8')` does), or
/// `None` when it does not exist.
fn read_optional(path: &Path, message: &'static str) -> Result<Option<String>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(None),
        Err(error) => Err(Error::io(message, path)(error)),
    }
}

// ---- Atomic files (`atomic-file.ts`) ----

/// `.<name>.tmp-<pid>-<8 hex>` beside `path`: hidden, and unique per process and call.
fn temp_path(path: &Path, message: &'static str) -> Result<PathBuf> {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let suffix = random_hex(4).map_err(Error::io(message, path))?;
    Ok(path.with_file_name(format!(".{name}.tmp-{}-{suffix}", std::process::id())))
}

/// Writes `content` to a new temp file beside `path` (mode 0600) and fsyncs it.
fn write_temp(path: &Path, content: &str, message: &'static str) -> Result<PathBuf> {
    let temp = temp_path(path, message)?;
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&temp).and_then(|mut file| {
        file.write_all(content.as_bytes())?;
        file.sync_all()
    });
    match written {
        Ok(()) => Ok(temp),
        Err(error) => {
            // The TS backend leaves the temp file behind here; nothing reads it, so drop it.
            let _ = fs::remove_file(&temp);
            Err(Error::io(message, &temp)(error))
        }
    }
}

/// Replaces `path` with `content`: readers see the old or the new content, never a mix.
pub(crate) fn write_file_atomic(path: &Path, content: &str, message: &'static str) -> Result<()> {
    let temp = write_temp(path, content, message)?;
    fs::rename(&temp, path).map_err(|error| {
        let _ = fs::remove_file(&temp);
        Error::io(message, path)(error)
    })
}

/// Creates `path` with `content` unless it already exists (then returns false). Two processes
/// racing to create it agree on one winner, because link(2) fails on an existing name.
pub(crate) fn create_file_exclusive(
    path: &Path,
    content: &str,
    message: &'static str,
) -> Result<bool> {
    let temp = write_temp(path, content, message)?;
    let linked = fs::hard_link(&temp, path);
    // Already gone is fine: the link (if any) holds the content.
    let _ = fs::remove_file(&temp);
    match linked {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(error) => Err(Error::io(message, path)(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_consent_like_the_ts_backend() {
        let record = |status, timestamp: &str, service: &str| {
            Some(ConsentRecord {
                status,
                timestamp: timestamp.to_owned(),
                service: service.to_owned(),
            })
        };
        assert_eq!(
            parse_consent(r#"{"status":"granted","timestamp":"t","service":"s"}"#),
            record(ConsentStatus::Granted, "t", "s")
        );
        assert_eq!(
            parse_consent(r#" {"status":"opted_out","timestamp":5} "#),
            record(ConsentStatus::OptedOut, "", "")
        );
        assert_eq!(
            parse_consent(r#"{"status":"denied","status":"unknown"}"#),
            record(ConsentStatus::Unknown, "", "")
        );
        for bad in [
            "",
            "{",
            "null",
            "[]",
            "\"granted\"",
            "7",
            r#"{"status":"GRANTED"}"#,
            r#"{"status":null}"#,
            r#"{}"#,
            "\u{feff}{\"status\":\"granted\"}",
        ] {
            assert_eq!(parse_consent(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn temp_names_are_hidden_and_unique() {
        let a = temp_path(Path::new("/d/install_id"), "x").unwrap();
        let b = temp_path(Path::new("/d/install_id"), "x").unwrap();
        assert_ne!(a, b);
        let name = a.file_name().unwrap().to_str().unwrap().to_owned();
        let prefix = format!(".install_id.tmp-{}-", std::process::id());
        assert!(
            name.starts_with(&prefix) && name.len() == prefix.len() + 8,
            "{name}"
        );
        assert_eq!(a.parent(), Some(Path::new("/d")));
    }
}
