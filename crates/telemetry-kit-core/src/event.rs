//! The background half of turning a track call into an event (DESIGN.md §4): once the install
//! id is known, a validated draft is sanitized and given its ids and environment. Mirrors
//! `finalizeEvent` and `EventContext` of `packages/core/src/event-builder.ts`; the draft half
//! (validation and snapshotting) stays on the JS side, inside the caller's call.

use serde::Serialize;

use crate::privacy::Sanitizer;
use crate::types::{
    EnvironmentInfo, EventBody, EventDraft, EventMetadata, ServiceInfo, TelemetryEvent,
};

/// `schema_version` of every event this crate writes.
pub const SCHEMA_VERSION: &str = "1.0.0";

/// Everything an event takes from the process rather than from the track call.
#[derive(Debug, Clone)]
pub struct EventContext {
    pub service: ServiceInfo,
    pub environment: EnvironmentInfo,
    /// `client_` + 64 hex (see [`crate::ids::derive_user_id`]).
    pub user_id: String,
    /// `sess_` + 32 hex, one per process.
    pub session_id: String,
    /// `telemetry-kit-node/<version>`
    pub sdk_version: String,
    /// `native` or `js`.
    pub backend: String,
    pub sanitizer: Sanitizer,
}

pub fn finalize(draft: &EventDraft, ctx: &EventContext) -> TelemetryEvent {
    TelemetryEvent {
        schema_version: SCHEMA_VERSION.to_owned(),
        event_id: draft.event_id.clone(),
        timestamp: draft.timestamp.clone(),
        service: ctx.service.clone(),
        user_id: ctx.user_id.clone(),
        session_id: ctx.session_id.clone(),
        environment: ctx.environment.clone(),
        event: EventBody {
            kind: draft.kind.clone(),
            category: draft.category.clone(),
            data: ctx.sanitizer.sanitize_data(&draft.data),
        },
        metadata: EventMetadata {
            sdk_version: ctx.sdk_version.clone(),
            backend: ctx.backend.clone(),
        },
    }
}

/// The JSON line of `finalize(draft, ctx)`, written without building the owned event: the
/// context's strings are borrowed instead of cloned for every event (the hot path of a batch).
///
/// # Errors
/// Only if serialization fails, which plain JSON data cannot make it do.
pub fn finalized_json(draft: &EventDraft, ctx: &EventContext) -> serde_json::Result<String> {
    #[derive(Serialize)]
    struct Body<'a> {
        #[serde(rename = "type")]
        kind: &'a str,
        category: &'a str,
        data: &'a crate::types::JsonObject,
    }
    #[derive(Serialize)]
    struct Metadata<'a> {
        sdk_version: &'a str,
        backend: &'a str,
    }
    // Field order is the schema order of `TelemetryEvent` (a test compares the two).
    #[derive(Serialize)]
    struct View<'a> {
        schema_version: &'a str,
        event_id: &'a str,
        timestamp: &'a str,
        service: &'a ServiceInfo,
        user_id: &'a str,
        session_id: &'a str,
        environment: &'a EnvironmentInfo,
        event: Body<'a>,
        metadata: Metadata<'a>,
    }
    let data = ctx.sanitizer.sanitize_data(&draft.data);
    serde_json::to_string(&View {
        schema_version: SCHEMA_VERSION,
        event_id: &draft.event_id,
        timestamp: &draft.timestamp,
        service: &ctx.service,
        user_id: &ctx.user_id,
        session_id: &ctx.session_id,
        environment: &ctx.environment,
        event: Body { kind: &draft.kind, category: &draft.category, data: &data },
        metadata: Metadata { sdk_version: &ctx.sdk_version, backend: &ctx.backend },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::privacy::{SanitizeOptions, REDACTED};
    use serde_json::{json, Value};

    fn context() -> EventContext {
        EventContext {
            service: ServiceInfo {
                name: "my-cli".to_owned(),
                version: "1.4.2".to_owned(),
                language: "javascript".to_owned(),
                language_version: "20.20.2".to_owned(),
            },
            environment: EnvironmentInfo {
                os: "linux".to_owned(),
                os_version: "6.1.0".to_owned(),
                arch: "x64".to_owned(),
                ci: false,
                ci_name: None,
                shell: Some("bash".to_owned()),
            },
            user_id: format!("client_{}", "a".repeat(64)),
            session_id: format!("sess_{}", "b".repeat(32)),
            sdk_version: "telemetry-kit-node/0.1.0".to_owned(),
            backend: "native".to_owned(),
            sanitizer: Sanitizer::new(&SanitizeOptions {
                home_dir: Some("/home/alice".to_owned()),
                sanitize_paths: true,
                sanitize_emails: true,
                redact_keys: vec!["token".to_owned()],
                email_salt: "salt".to_owned(),
            }),
        }
    }

    fn draft() -> EventDraft {
        let data =
            json!({ "command": "deploy", "flags": ["--token", "abc"], "cwd": "/home/alice/app" });
        EventDraft {
            event_id: "8f1d2a4e-0c3b-4d5e-9f6a-7b8c9d0e1f2a".to_owned(),
            timestamp: "2026-01-02T03:04:05.678Z".to_owned(),
            kind: "command_execution".to_owned(),
            category: "usage".to_owned(),
            data: match data {
                Value::Object(obj) => obj,
                _ => unreachable!(),
            },
        }
    }

    #[test]
    fn finalize_fills_in_context_and_sanitizes_data() {
        let event = finalize(&draft(), &context());
        let value = serde_json::to_value(&event).unwrap();
        assert_eq!(
            value,
            json!({
                "schema_version": "1.0.0",
                "event_id": "8f1d2a4e-0c3b-4d5e-9f6a-7b8c9d0e1f2a",
                "timestamp": "2026-01-02T03:04:05.678Z",
                "service": { "name": "my-cli", "version": "1.4.2", "language": "javascript", "language_version": "20.20.2" },
                "user_id": format!("client_{}", "a".repeat(64)),
                "session_id": format!("sess_{}", "b".repeat(32)),
                "environment": { "os": "linux", "os_version": "6.1.0", "arch": "x64", "ci": false, "ci_name": null, "shell": "bash" },
                "event": { "type": "command_execution", "category": "usage", "data": { "command": "deploy", "flags": ["--token", REDACTED], "cwd": "~/app" } },
                "metadata": { "sdk_version": "telemetry-kit-node/0.1.0", "backend": "native" },
            })
        );
    }

    #[test]
    fn serialized_key_order_is_the_schema_order() {
        let text = serde_json::to_string(&finalize(&draft(), &context())).unwrap();
        let order = [
            "schema_version",
            "event_id",
            "timestamp",
            "service",
            "user_id",
            "session_id",
            "environment",
            "event",
            "metadata",
        ];
        let positions: Vec<usize> = order
            .iter()
            .map(|key| text.find(&format!("\"{key}\"")).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert!(
            text.contains(
                r#""data":{"command":"deploy","flags":["--token","<redacted>"],"cwd":"~/app"}"#
            ),
            "{text}"
        );
    }

    #[test]
    fn finalized_json_is_the_finalized_event_serialized() {
        let ctx = context();
        let draft: EventDraft = serde_json::from_value(json!({
            "event_id": "e1", "timestamp": "2026-01-02T03:04:05.678Z", "type": "command_execution",
            "category": "usage", "data": { "command": "deploy", "token": "x", "path": "/home/alice/p" }
        }))
        .unwrap();
        let owned = serde_json::to_string(&finalize(&draft, &ctx)).unwrap();
        assert_eq!(finalized_json(&draft, &ctx).unwrap(), owned);
    }
}
