//! Building one signed ingest request from a batch of stored events. Pure: the caller passes
//! the clock reading and the nonce, so a request is a function of its inputs.

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;

use super::protocol::{header, ingest_url, PROTOCOL_SCHEMA_VERSION};
use super::signature::sign;
use crate::types::PendingEvent;

/// Where and as whom to sync (`SyncCredentials` in the TS config).
#[derive(Clone, PartialEq, Eq)]
pub struct SyncCredentials {
    pub endpoint: String,
    pub org_id: String,
    pub app_id: String,
    pub token: String,
    pub secret: String,
}

impl std::fmt::Debug for SyncCredentials {
    // The token and the secret never reach a log through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncCredentials")
            .field("endpoint", &self.endpoint)
            .field("org_id", &self.org_id)
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

/// `{"events":[` + the stored bodies verbatim, joined by `,` + `]}`: events are never
/// re-serialized, so what is signed and sent is byte for byte what was stored.
pub fn batch_body(batch: &[PendingEvent]) -> String {
    let mut body = String::with_capacity(batch.iter().map(|e| e.body.len() + 1).sum::<usize>() + 13);
    body.push_str("{\"events\":[");
    for (i, event) in batch.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&event.body);
    }
    body.push_str("]}");
    body
}

/// A request ready for the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    pub url: String,
    /// Lower-case names, in the order sent.
    pub headers: Vec<(&'static str, String)>,
    /// The body as sent: gzip-compressed when `Content-Encoding: gzip` is among the headers.
    pub payload: Vec<u8>,
}

/// What varies per attempt: a retry after 409 gets a new nonce and timestamp.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    pub timestamp_s: u64,
    pub nonce: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("cannot gzip the request body: {0}")]
    Gzip(#[source] std::io::Error),
}

/// Signs `body` (the uncompressed batch of `event_count` events) and builds the request.
///
/// # Errors
/// `RequestError::Gzip` if compression fails (in memory, so only on allocation trouble).
pub fn build_request(
    credentials: &SyncCredentials,
    sdk_version: &str,
    gzip: bool,
    body: &str,
    event_count: usize,
    attempt: Attempt<'_>,
) -> Result<SignedRequest, RequestError> {
    let timestamp = attempt.timestamp_s.to_string();
    let signature = sign(&credentials.secret, &timestamp, attempt.nonce, body);
    let mut headers = vec![
        (header::CONTENT_TYPE, "application/json".to_string()),
        (header::AUTHORIZATION, format!("Bearer {}", credentials.token)),
        (header::TIMESTAMP, timestamp),
        (header::NONCE, attempt.nonce.to_string()),
        (header::SIGNATURE, signature),
        (header::BATCH_SIZE, event_count.to_string()),
        (header::SCHEMA_VERSION, PROTOCOL_SCHEMA_VERSION.to_string()),
        (header::SDK_VERSION, sdk_version.to_string()),
    ];
    let payload = if gzip {
        headers.push((header::CONTENT_ENCODING, "gzip".to_string()));
        gzip_bytes(body.as_bytes()).map_err(RequestError::Gzip)?
    } else {
        body.as_bytes().to_vec()
    };
    Ok(SignedRequest { url: ingest_url(&credentials.endpoint, &credentials.org_id, &credentials.app_id), headers, payload })
}

fn gzip_bytes(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(data.len() / 4 + 64), Compression::default());
    encoder.write_all(data)?;
    encoder.finish()
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use flate2::read::GzDecoder;

    use super::*;

    fn credentials() -> SyncCredentials {
        SyncCredentials {
            endpoint: "http://127.0.0.1:9/".to_string(),
            org_id: "org".to_string(),
            app_id: "app".to_string(),
            token: "tok".to_string(),
            secret: "sec".to_string(),
        }
    }

    fn event(id: &str) -> PendingEvent {
        PendingEvent { event_id: id.to_string(), body: format!("{{\"event_id\":\"{id}\"}}") }
    }

    fn header_value<'a>(request: &'a SignedRequest, name: &str) -> Option<&'a str> {
        request.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    #[test]
    fn body_joins_the_stored_bodies_verbatim() {
        assert_eq!(batch_body(&[]), r#"{"events":[]}"#);
        assert_eq!(batch_body(&[event("a"), event("b")]), r#"{"events":[{"event_id":"a"},{"event_id":"b"}]}"#);
    }

    #[test]
    fn request_carries_every_protocol_header() {
        let body = batch_body(&[event("a")]);
        let attempt = Attempt { timestamp_s: 1_767_322_800, nonce: "n-1" };
        let request = build_request(&credentials(), "telemetry-kit-node/0.1.0 (native)", false, &body, 1, attempt);
        let Ok(request) = request else { panic!("request not built") };
        assert_eq!(request.url, "http://127.0.0.1:9/v1/ingest/org/app");
        assert_eq!(header_value(&request, "authorization"), Some("Bearer tok"));
        assert_eq!(header_value(&request, "x-timestamp"), Some("1767322800"));
        assert_eq!(header_value(&request, "x-nonce"), Some("n-1"));
        assert_eq!(header_value(&request, "x-signature"), Some(sign("sec", "1767322800", "n-1", &body).as_str()));
        assert_eq!(header_value(&request, "x-batch-size"), Some("1"));
        assert_eq!(header_value(&request, "x-schema-version"), Some("1.0.0"));
        assert_eq!(header_value(&request, "x-sdk-version"), Some("telemetry-kit-node/0.1.0 (native)"));
        assert_eq!(header_value(&request, "content-type"), Some("application/json"));
        assert_eq!(header_value(&request, "content-encoding"), None);
        assert_eq!(request.payload, body.as_bytes());
    }

    #[test]
    fn gzip_payload_decodes_to_the_signed_body() {
        let body = batch_body(&[event("a"), event("b")]);
        let attempt = Attempt { timestamp_s: 1, nonce: "n" };
        let Ok(request) = build_request(&credentials(), "sdk", true, &body, 2, attempt) else { panic!("request not built") };
        assert_eq!(header_value(&request, "content-encoding"), Some("gzip"));
        let mut decoded = String::new();
        assert!(GzDecoder::new(request.payload.as_slice()).read_to_string(&mut decoded).is_ok());
        assert_eq!(decoded, body);
        assert_eq!(header_value(&request, "x-signature"), Some(sign("sec", "1", "n", &body).as_str()));
    }

    #[test]
    fn debug_output_hides_the_token_and_secret() {
        let text = format!("{:?}", credentials());
        assert!(!text.contains("tok") && !text.contains("sec"), "{text}");
    }
}
