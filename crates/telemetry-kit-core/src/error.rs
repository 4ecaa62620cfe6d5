//! The one error enum of the core crate. `code()` gives the stable code the JS API exposes
//! (`TelemetryError.code`), identical to the TS backend's.

use std::path::PathBuf;

pub type Result<T> = std::result::Result<T, Error>;

/// Stable error codes shared with the TS backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidConfig,
    Storage,
    Consent,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidConfig => "INVALID_CONFIG",
            ErrorCode::Storage => "STORAGE",
            ErrorCode::Consent => "CONSENT",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid config: {field} {message}")]
    InvalidConfig { field: String, message: String },
    /// A file operation failed; the message names the path.
    #[error("{message} {}: {source}", path.display())]
    Io {
        message: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("sqlite error on {}: {source}", path.display())]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("timed out after {waited_ms} ms waiting for the lock {}", path.display())]
    LockTimeout { path: PathBuf, waited_ms: u64 },
    #[error("cannot serialize event: {0}")]
    Json(#[from] serde_json::Error),
}

impl Error {
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidConfig { .. } => ErrorCode::InvalidConfig,
            Error::Io { .. } | Error::Sqlite { .. } | Error::LockTimeout { .. } | Error::Json(_) => ErrorCode::Storage,
        }
    }

    /// `map_err(Error::io("cannot open journal segment", &path))`
    pub fn io(message: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { message, path, source }
    }

    pub fn sqlite(path: impl Into<PathBuf>) -> impl FnOnce(rusqlite::Error) -> Error {
        let path = path.into();
        move |source| Error::Sqlite { path, source }
    }
}
