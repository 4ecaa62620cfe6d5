//! The lifecycle layer's error (DESIGN.md §8): a stable `code` shared with the TypeScript
//! backend (packages/core/src/services/errors.ts), the message, and the field at fault.

use serde::Serialize;

/// The codes both backends raise; callers branch on these, never on messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    InvalidConfig,
    PortInUse,
    AlreadyStarted,
    ShutdownTimeout,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidConfig => "INVALID_CONFIG",
            ErrorCode::PortInUse => "PORT_IN_USE",
            ErrorCode::AlreadyStarted => "ALREADY_STARTED",
            ErrorCode::ShutdownTimeout => "SHUTDOWN_TIMEOUT",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct ServicesError {
    pub code: ErrorCode,
    pub message: String,
    /// The config field (or environment variable) at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ServicesError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ServicesError { code, message: message.into(), field: None }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// `invalid config: <field> <problem>`, the shape of the TS `invalidServicesConfig`.
    pub fn invalid_config(field: &str, problem: &str) -> Self {
        ServicesError::new(ErrorCode::InvalidConfig, format!("invalid config: {field} {problem}")).with_field(field)
    }
}
