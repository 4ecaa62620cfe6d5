//! Status events and logging (the TS `ServicesStatus` and its stderr lines): `ready` per
//! service with its port, `warning` for configuration notes, `flushed` after each flush,
//! `error` for dropped payloads and socket errors, `stopped` once. A panicking sink is
//! contained, as a throwing JS listener is.

use std::sync::Arc;

use serde::Serialize;

use crate::config::LogLevel;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusKind {
    Ready,
    Error,
    Warning,
    Flushed,
    Stopped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ServiceName {
    #[serde(rename = "dogstatsd")]
    DogStatsD,
    #[serde(rename = "trace-agent")]
    TraceAgent,
    #[serde(rename = "intake")]
    Intake,
}

/// Serializes as the TS `{type, service?, message?, port?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServicesStatus {
    #[serde(rename = "type")]
    pub kind: StatusKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

impl ServicesStatus {
    pub fn new(kind: StatusKind) -> Self {
        ServicesStatus { kind, service: None, message: None, port: None }
    }

    pub fn service(mut self, service: ServiceName) -> Self {
        self.service = Some(service);
        self
    }

    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }
}

/// Receives every status; called on the services' threads, so it must not block for long.
pub type StatusSink = Arc<dyn Fn(ServicesStatus) + Send + Sync>;

#[derive(Clone)]
pub struct Emitter {
    level: LogLevel,
    sink: Option<StatusSink>,
}

impl Emitter {
    pub fn new(level: LogLevel, sink: Option<StatusSink>) -> Self {
        Emitter { level, sink }
    }

    /// Writes `telemetry-kit services: <level>: <text>` to stderr when `at` is enabled, and hands
    /// `status` (if any) to the sink.
    pub fn emit(&self, status: Option<ServicesStatus>, at: LogLevel, line: Option<&str>) {
        let text = line.map(str::to_string).or_else(|| status.as_ref().and_then(|s| s.message.clone()));
        if let Some(text) = text {
            if self.level.enables(at) {
                eprintln!("telemetry-kit services: {}: {text}", at.as_str());
            }
        }
        if let (Some(status), Some(sink)) = (status, &self.sink) {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sink(status)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_like_the_ts_status() {
        let ready = ServicesStatus::new(StatusKind::Ready).service(ServiceName::TraceAgent).port(8126);
        assert_eq!(serde_json::to_value(&ready).expect("json"), serde_json::json!({"type": "ready", "service": "trace-agent", "port": 8126}));
        assert_eq!(serde_json::to_value(ServicesStatus::new(StatusKind::Stopped)).expect("json"), serde_json::json!({"type": "stopped"}));
    }

    #[test]
    fn a_panicking_sink_is_contained() {
        let emitter = Emitter::new(LogLevel::Off, Some(Arc::new(|_| panic!("listener bug"))));
        emitter.emit(Some(ServicesStatus::new(StatusKind::Stopped)), LogLevel::Info, None);
    }
}
