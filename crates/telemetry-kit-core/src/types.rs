//! Event schema v1 (DESIGN.md §4) and the shapes the API returns. Field order matches the TS
//! types, so both backends write the same JSON for the same event.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub type JsonObject = Map<String, Value>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceInfo {
    pub name: String,
    pub version: String,
    pub language: String,
    pub language_version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentInfo {
    pub os: String,
    pub os_version: String,
    pub arch: String,
    pub ci: bool,
    pub ci_name: Option<String>,
    pub shell: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventBody {
    #[serde(rename = "type")]
    pub kind: String,
    pub category: String,
    pub data: JsonObject,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventMetadata {
    pub sdk_version: String,
    pub backend: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TelemetryEvent {
    pub schema_version: String,
    pub event_id: String,
    pub timestamp: String,
    pub service: ServiceInfo,
    pub user_id: String,
    pub session_id: String,
    pub environment: EnvironmentInfo,
    pub event: EventBody,
    pub metadata: EventMetadata,
}

/// What the JS side hands over for each tracked call: validated, snapshotted, not sanitized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventDraft {
    pub event_id: String,
    pub timestamp: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub category: String,
    pub data: JsonObject,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventState {
    Pending,
    Synced,
    DeadLetter,
}

impl EventState {
    pub fn as_str(self) -> &'static str {
        match self {
            EventState::Pending => "pending",
            EventState::Synced => "synced",
            EventState::DeadLetter => "dead_letter",
        }
    }

    pub fn parse(text: &str) -> Option<EventState> {
        match text {
            "pending" => Some(EventState::Pending),
            "synced" => Some(EventState::Synced),
            "dead_letter" => Some(EventState::DeadLetter),
            _ => None,
        }
    }
}

/// One stored event as `events()` returns it: the JSON exactly as it would be sent.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub state: EventState,
    /// The journal line as written (the event's JSON).
    pub body: String,
}

/// A pending event as sync sends it: its id (to mark it afterwards) and its JSON as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEvent {
    pub event_id: String,
    pub body: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentStatus {
    Unknown,
    Granted,
    Denied,
    OptedOut,
}

impl ConsentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentStatus::Unknown => "unknown",
            ConsentStatus::Granted => "granted",
            ConsentStatus::Denied => "denied",
            ConsentStatus::OptedOut => "opted_out",
        }
    }

    pub fn parse(text: &str) -> Option<ConsentStatus> {
        match text {
            "unknown" => Some(ConsentStatus::Unknown),
            "granted" => Some(ConsentStatus::Granted),
            "denied" => Some(ConsentStatus::Denied),
            "opted_out" => Some(ConsentStatus::OptedOut),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentRecord {
    pub status: ConsentStatus,
    pub timestamp: String,
    pub service: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventCounts {
    pub pending: u64,
    pub synced: u64,
    pub dead_lettered: u64,
    pub dropped: u64,
    pub corrupt: u64,
}
