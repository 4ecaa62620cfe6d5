//! The one place sync touches the network: a blocking HTTP(S) client (ureq over rustls with
//! the ring provider and the bundled Mozilla roots; no OpenSSL) that posts a signed request
//! and returns whatever the server answered, whatever the status.

use std::time::Duration;

use ureq::config::Config;
use ureq::Agent;

use super::protocol::header;
use super::request::SignedRequest;

/// Answers larger than this are not read (a 207 for 1,000 events is ~100 KB).
const MAX_ANSWER_BYTES: u64 = 4 * 1024 * 1024;

/// An HTTP answer, any status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAnswer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: String,
}

/// The request produced no HTTP answer; the pass reports it as `NETWORK`.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("timed out after {after_ms} ms")]
    TimedOut { after_ms: u128 },
    #[error("POST {url} failed: {source}")]
    Failed {
        url: String,
        #[source]
        source: ureq::Error,
    },
}

/// Keeps connections alive across the batches of a pass (and across passes).
#[derive(Debug, Clone)]
pub struct HttpClient {
    agent: Agent,
}

impl HttpClient {
    /// `user_agent`: the SDK's `X-SDK-Version` value.
    pub fn new(user_agent: &str) -> HttpClient {
        let config = Config::builder()
            // Statuses are answers the pass classifies, not transport failures.
            .http_status_as_error(false)
            // A redirected POST would lose its body or change meaning: report it as a status.
            .max_redirects(0)
            // Like the TS backend's node:http transport, proxy variables are not consulted,
            // so both backends reach the same endpoint the same way.
            .proxy(None)
            .user_agent(user_agent)
            .build();
        HttpClient { agent: Agent::new_with_config(config) }
    }

    /// Posts `request` and reads the answer, all within `timeout` (connect, TLS, send, read).
    ///
    /// # Errors
    /// `TransportError::TimedOut` past `timeout`; `TransportError::Failed` when the connection
    /// is refused or reset, the name does not resolve, TLS fails or the answer is unreadable.
    pub fn post(&self, request: &SignedRequest, timeout: Duration) -> Result<HttpAnswer, TransportError> {
        let classify = |source: ureq::Error| match source {
            ureq::Error::Timeout(_) => TransportError::TimedOut { after_ms: timeout.as_millis() },
            source => TransportError::Failed { url: request.url.clone(), source },
        };
        let mut builder = self.agent.post(&request.url);
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        let mut response = builder
            .config()
            .timeout_global(Some(timeout))
            .build()
            .send(request.payload.as_slice())
            .map_err(classify)?;
        let status = response.status().as_u16();
        let retry_after =
            response.headers().get(header::RETRY_AFTER).and_then(|value| value.to_str().ok()).map(str::to_string);
        let body = response.body_mut().with_config().limit(MAX_ANSWER_BYTES).read_to_string().map_err(classify)?;
        Ok(HttpAnswer { status, retry_after, body })
    }
}
