//! Reading a server answer into what the pass does next (docs/PROTOCOL.md, "Client
//! behaviour"). Pure: the same status and body always give the same verdict.

use std::time::SystemTime;

use serde_json::{Map, Value};

use super::http_client::HttpAnswer;
use super::outcome::{SyncError, SyncErrorCode};
use super::protocol::parse_retry_after;

/// A per-event refusal inside a 207 answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub event_id: String,
    /// `<code>: <message>`, kept with the dead-lettered event.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// 200 or 207: the events not in `rejections` are stored on the server.
    Delivered { accepted: u64, duplicates: u64, rejections: Vec<Rejection> },
    /// 400 or 413: split the batch; a single refused event is dead-lettered with `reason`.
    Refused { reason: String },
    /// 409: the nonce was seen already; resend once, and end the pass with `if_again` if the
    /// fresh nonce is refused too.
    Replayed { if_again: SyncError },
    /// The pass ends; the batch stays pending.
    Stop(SyncError),
}

fn json_object(text: &str) -> Option<Map<String, Value>> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// A non-negative integer count, as the TS client reads one (anything else counts 0).
fn count(value: Option<&Value>) -> u64 {
    match value {
        Some(Value::Number(n)) => n.as_u64().or_else(|| {
            n.as_f64().filter(|f| *f >= 0.0 && f.fract() == 0.0 && *f <= u64::MAX as f64).map(|f| f as u64)
        }),
        _ => None,
    }
    .unwrap_or(0)
}

/// `HTTP <status>[ <code>][: <message>]` from an `{"error":{"code","message"}}` body.
fn server_message(answer: &HttpAnswer) -> (Option<String>, String) {
    let error = json_object(&answer.body).and_then(|mut body| match body.remove("error") {
        Some(Value::Object(error)) => Some(error),
        _ => None,
    });
    let Some(error) = error else {
        return (None, format!("HTTP {}", answer.status));
    };
    let code = error.get("code").and_then(Value::as_str).map(str::to_string);
    let text = error.get("message").and_then(Value::as_str).unwrap_or("");
    let mut message = format!("HTTP {}", answer.status);
    if let Some(code) = &code {
        message.push(' ');
        message.push_str(code);
    }
    if !text.is_empty() {
        message.push_str(": ");
        message.push_str(text);
    }
    (code, message)
}

fn rejections(body: &Map<String, Value>) -> Vec<Rejection> {
    let Some(Value::Array(errors)) = body.get("errors") else {
        return Vec::new();
    };
    errors
        .iter()
        .filter_map(|item| {
            let item = item.as_object()?;
            let event_id = item.get("event_id")?.as_str()?.to_string();
            let code = item.get("code").and_then(Value::as_str).unwrap_or("rejected");
            let message = item.get("message").and_then(Value::as_str).unwrap_or("");
            Some(Rejection { event_id, reason: format!("{code}: {message}") })
        })
        .collect()
}

fn stop(code: SyncErrorCode, status: u16, message: String) -> SyncError {
    SyncError { code, message, status: Some(status), retry_after_ms: None }
}

/// What to do with `answer`; `now` dates a `Retry-After` given as an HTTP date.
pub fn classify(answer: &HttpAnswer, now: SystemTime) -> Verdict {
    let status = answer.status;
    match status {
        200 | 207 => match json_object(&answer.body) {
            Some(body) => Verdict::Delivered {
                accepted: count(body.get("accepted")),
                duplicates: count(body.get("duplicates")),
                rejections: rejections(&body),
            },
            None => Verdict::Stop(stop(SyncErrorCode::Server, status, format!("HTTP {status} with an unreadable body"))),
        },
        400 | 413 => Verdict::Refused { reason: server_message(answer).1 },
        409 => Verdict::Replayed { if_again: stop(SyncErrorCode::Server, status, server_message(answer).1) },
        401 | 403 => {
            let (code, message) = server_message(answer);
            let message = if code.is_some() { message } else { format!("HTTP {status}: credentials refused") };
            Verdict::Stop(stop(SyncErrorCode::Auth, status, message))
        }
        429 => Verdict::Stop(SyncError {
            retry_after_ms: answer.retry_after.as_deref().and_then(|value| parse_retry_after(value, now)),
            ..stop(SyncErrorCode::RateLimited, status, server_message(answer).1)
        }),
        _ => Verdict::Stop(stop(SyncErrorCode::Server, status, server_message(answer).1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> HttpAnswer {
        HttpAnswer { status, retry_after: None, body: body.to_string() }
    }

    fn stopped(verdict: Verdict) -> SyncError {
        match verdict {
            Verdict::Stop(error) => error,
            other => panic!("expected a stop, got {other:?}"),
        }
    }

    #[test]
    fn success_and_partial_bodies_give_counts_and_rejections() {
        let ok = classify(&answer(200, r#"{"status":"success","accepted":2,"rejected":0,"duplicates":1}"#), SystemTime::now());
        assert_eq!(ok, Verdict::Delivered { accepted: 2, duplicates: 1, rejections: vec![] });
        let partial = r#"{"status":"partial","accepted":1,"rejected":2,"duplicates":0,"errors":[
            {"event_id":"a","code":"schema","message":"bad type"},{"event_id":"b"},{"code":"no id"},7]}"#;
        assert_eq!(
            classify(&answer(207, partial), SystemTime::now()),
            Verdict::Delivered {
                accepted: 1,
                duplicates: 0,
                rejections: vec![
                    Rejection { event_id: "a".into(), reason: "schema: bad type".into() },
                    Rejection { event_id: "b".into(), reason: "rejected: ".into() },
                ],
            }
        );
        let odd_counts = classify(&answer(200, r#"{"accepted":-1,"duplicates":2.0}"#), SystemTime::now());
        assert_eq!(odd_counts, Verdict::Delivered { accepted: 0, duplicates: 2, rejections: vec![] });
    }

    #[test]
    fn unreadable_success_body_ends_the_pass_as_server() {
        for body in ["", "not json", "[1]"] {
            let error = stopped(classify(&answer(200, body), SystemTime::now()));
            assert_eq!((error.code, error.status), (SyncErrorCode::Server, Some(200)), "{body}");
        }
    }

    #[test]
    fn refusals_carry_the_server_code_and_message() {
        let body = r#"{"error":{"code":"payload_too_large","message":"over 5 MiB"}}"#;
        assert_eq!(
            classify(&answer(413, body), SystemTime::now()),
            Verdict::Refused { reason: "HTTP 413 payload_too_large: over 5 MiB".into() }
        );
        assert_eq!(classify(&answer(400, "junk"), SystemTime::now()), Verdict::Refused { reason: "HTTP 400".into() });
    }

    #[test]
    fn auth_rate_limit_and_server_errors_stop() {
        let auth = stopped(classify(&answer(401, r#"{"error":{"code":"bad_signature","message":"no"}}"#), SystemTime::now()));
        assert_eq!((auth.code, auth.status, auth.message.as_str()), (SyncErrorCode::Auth, Some(401), "HTTP 401 bad_signature: no"));
        let forbidden = stopped(classify(&answer(403, ""), SystemTime::now()));
        assert_eq!(forbidden.message, "HTTP 403: credentials refused");
        let limited = HttpAnswer { status: 429, retry_after: Some("2".into()), body: String::new() };
        let limited = stopped(classify(&limited, SystemTime::now()));
        assert_eq!((limited.code, limited.retry_after_ms), (SyncErrorCode::RateLimited, Some(2000)));
        for status in [500, 503, 302, 404, 201] {
            let error = stopped(classify(&answer(status, ""), SystemTime::now()));
            assert_eq!((error.code, error.status), (SyncErrorCode::Server, Some(status)));
        }
    }

    #[test]
    fn replayed_nonce_is_retried_then_server() {
        match classify(&answer(409, r#"{"error":{"code":"nonce_replayed","message":"seen"}}"#), SystemTime::now()) {
            Verdict::Replayed { if_again } => {
                assert_eq!((if_again.code, if_again.status), (SyncErrorCode::Server, Some(409)));
                assert_eq!(if_again.message, "HTTP 409 nonce_replayed: seen");
            }
            other => panic!("expected a replay, got {other:?}"),
        }
    }
}
