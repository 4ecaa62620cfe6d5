//! Serverless services configuration (DESIGN.md §8): the options users pass, their defaults,
//! and [`resolve_config_value`], the one place that decides what a valid configuration is.
//! Mirrors packages/core/src/services/config.ts field by field, message by message: the napi
//! binding hands the user's JS object over as JSON, and both backends must reject it the same
//! way (`invalid config: <field> <problem>`, the first field at fault, in the same order).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::cloud::CloudEnvironment;
use crate::error::ServicesError;
use crate::intake::retry::{RetryPolicy, DEFAULT_RETRY_POLICY};
use crate::jsfmt::{is_js_whitespace, js_number, js_quote, js_trim, utf16_len, utf16_prefix};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Off,
}

pub const LOG_LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

impl LogLevel {
    pub fn parse(text: &str) -> Option<LogLevel> {
        Some(match text {
            "trace" => LogLevel::Trace,
            "debug" => LogLevel::Debug,
            "info" => LogLevel::Info,
            "warn" => LogLevel::Warn,
            "error" => LogLevel::Error,
            "off" => LogLevel::Off,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        LOG_LEVELS[self as usize]
    }

    /// Whether a message at `level` is written under this configured level.
    pub fn enables(self, level: LogLevel) -> bool {
        self != LogLevel::Off && level != LogLevel::Off && level >= self
    }
}

/// The Datadog sites; any other valid host name is accepted too.
pub const KNOWN_SITES: [&str; 7] =
    ["datadoghq.com", "us3.datadoghq.com", "us5.datadoghq.com", "datadoghq.eu", "ap1.datadoghq.com", "ap2.datadoghq.com", "ddog-gov.com"];

/// Datadog truncates tags at 200 characters; refusing longer ones here says so early.
pub const MAX_TAG_LENGTH: usize = 200;
/// The trace agent answers 413 above this body size.
pub const MAX_TRACE_BODY_BYTES: u64 = 10 * 1024 * 1024;

pub const MISSING_API_KEY_WARNING: &str = "apiKey is not set: the intake will reject what is flushed (fine for local testing)";

pub mod defaults {
    pub const SITE: &str = "datadoghq.com";
    pub const DOGSTATSD_HOST: &str = "127.0.0.1";
    pub const DOGSTATSD_PORT: u16 = 8125;
    pub const FLUSH_INTERVAL_MS: u64 = 10_000;
    pub const TRACE_AGENT_HOST: &str = "127.0.0.1";
    pub const TRACE_AGENT_PORT: u16 = 8126;
    pub const TRACE_FLUSH_INTERVAL_MS: u64 = 3_000;
    pub const MAX_CONTEXTS: u64 = 100_000;
    pub const REQUEST_TIMEOUT_MS: u64 = 10_000;
}

/// What `start()` accepts, camelCase in JSON as in JS. Every field is optional; absent fields
/// take the defaults of DESIGN.md §8. Converted to JSON and validated by
/// [`resolve_config_value`], so the typed and the JSON paths are one definition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServicesConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dd_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apm_dd_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_dogstatsd: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dogstatsd_host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dogstatsd_port: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flush_interval_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_trace_agent: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_agent_host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_agent_port: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_flush_interval_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub https_proxy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_contexts: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud: Option<CloudEnvironment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_timeout_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
}

impl ServicesConfig {
    pub fn resolve(&self) -> Result<ResolvedConfig, ServicesError> {
        let value = serde_json::to_value(self).map_err(|e| ServicesError::invalid_config("config", &e.to_string()))?;
        resolve_config_value(&value)
    }
}

/// A validated configuration with every default applied (the TS `ResolvedServicesConfig`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedConfig {
    pub api_key: Option<String>,
    pub site: String,
    pub dd_url: Option<String>,
    pub apm_dd_url: Option<String>,
    /// `{api}`: where metrics, events and service checks go.
    pub metrics_intake_url: String,
    /// `{trace}`: where traces and trace stats go.
    pub trace_intake_url: String,
    pub use_dogstatsd: bool,
    pub dogstatsd_host: String,
    pub dogstatsd_port: u16,
    pub metric_namespace: Option<String>,
    pub tags: Vec<String>,
    pub hostname: Option<String>,
    pub flush_interval_ms: u64,
    pub use_trace_agent: bool,
    pub trace_agent_host: String,
    pub trace_agent_port: u16,
    pub trace_flush_interval_ms: u64,
    pub log_level: LogLevel,
    pub https_proxy: Option<String>,
    pub max_contexts: u64,
    pub cloud: Option<CloudEnvironment>,
    pub env: Option<String>,
    pub request_timeout_ms: u64,
    pub retry: RetryPolicy,
    pub warnings: Vec<String>,
}

impl Default for ResolvedConfig {
    fn default() -> Self {
        // The empty configuration is valid by construction.
        match resolve_config_value(&Value::Object(Map::new())) {
            Ok(config) => config,
            Err(error) => unreachable!("the default configuration is invalid: {error}"),
        }
    }
}

/// `String(value)`-like rendering for messages, as the TS `show()`.
fn show(value: &Value) -> String {
    match value {
        Value::String(s) => {
            if utf16_len(s) > 80 {
                js_quote(&format!("{}…", utf16_prefix(s, 80)))
            } else {
                js_quote(s)
            }
        }
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.as_f64().map(js_number).unwrap_or_else(|| n.to_string()),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// Renames fields in messages: `config_from_env` reports `DD_DOGSTATSD_PORT`, not `dogstatsdPort`.
pub type FieldNamer<'a> = &'a dyn Fn(&str) -> String;

struct Validator<'a> {
    name: FieldNamer<'a>,
}

fn host_label_ok(label: &str) -> bool {
    let bytes = label.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
}

/// A known Datadog site, or a host name of at least two labels.
pub fn is_valid_site(site: &str) -> bool {
    KNOWN_SITES.contains(&site) || (site.len() <= 253 && site.split('.').count() >= 2 && site.split('.').all(host_label_ok))
}

fn bind_host_ok(host: &str) -> bool {
    (1..=253).contains(&host.len()) && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b':' | b'_' | b'-'))
}

fn namespace_ok(namespace: &str) -> bool {
    let bytes = namespace.as_bytes();
    !bytes.is_empty() && bytes[0].is_ascii_alphabetic() && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.')
}

/// The parts of a WHATWG URL the validators look at, or None when `new URL(text)` would throw.
/// Only http(s) URLs are taken apart; any other scheme is reported by its protocol.
struct UrlParts {
    /// `http:`, `https:`, `ftp:`... lower-cased, as `URL.protocol`.
    protocol: String,
    has_query: bool,
    has_fragment: bool,
}

fn parse_url(text: &str) -> Option<UrlParts> {
    let text = text.trim_matches(|c: char| c <= ' ');
    let colon = text.find(':')?;
    let scheme = &text[..colon];
    let mut chars = scheme.chars();
    if !chars.next().is_some_and(|c| c.is_ascii_alphabetic()) || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) {
        return None;
    }
    let protocol = format!("{}:", scheme.to_ascii_lowercase());
    let rest = &text[colon + 1..];
    let (before_fragment, fragment) = match rest.find('#') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    let (before_query, query) = match before_fragment.find('?') {
        Some(i) => (&before_fragment[..i], &before_fragment[i + 1..]),
        None => (before_fragment, ""),
    };
    if protocol == "http:" || protocol == "https:" {
        let authority_and_path = before_query.trim_start_matches(['/', '\\']);
        let authority = authority_and_path.split(['/', '\\']).next().unwrap_or("");
        let host_port = authority.rsplit('@').next().unwrap_or("");
        let (host, port) = if let Some(stripped) = host_port.strip_prefix('[') {
            let close = stripped.find(']')?;
            let after = &stripped[close + 1..];
            if !after.is_empty() && !after.starts_with(':') {
                return None;
            }
            (&host_port[..close + 2], after.strip_prefix(':').unwrap_or(""))
        } else {
            match host_port.rfind(':') {
                Some(i) => (&host_port[..i], &host_port[i + 1..]),
                None => (host_port, ""),
            }
        };
        if host.is_empty() || host.chars().any(|c| c <= ' ' || "<>^|%\"`{}".contains(c)) {
            return None;
        }
        if !port.is_empty() && (!port.bytes().all(|b| b.is_ascii_digit()) || port.parse::<u32>().map_or(true, |p| p > 65_535)) {
            return None;
        }
    } else if rest.is_empty() && !text.ends_with(':') {
        return None;
    }
    Some(UrlParts { protocol, has_query: !query.is_empty(), has_fragment: !fragment.is_empty() })
}

impl Validator<'_> {
    fn fail<T>(&self, field: &str, problem: String) -> Result<T, ServicesError> {
        Err(ServicesError::invalid_config(&(self.name)(field), &problem))
    }

    fn boolean(&self, field: &str, value: Option<&Value>, fallback: bool) -> Result<bool, ServicesError> {
        match value {
            None => Ok(fallback),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => self.fail(field, format!("must be a boolean, got {}", show(other))),
        }
    }

    fn integer(&self, field: &str, value: Option<&Value>, fallback: u64, min: u64, max: u64) -> Result<u64, ServicesError> {
        let Some(value) = value else { return Ok(fallback) };
        let number = value.as_f64().filter(|n| n.fract() == 0.0 && *n >= min as f64 && *n <= max as f64);
        match number {
            Some(n) => Ok(n as u64),
            None => self.fail(field, format!("must be an integer from {min} to {max}, got {}", show(value))),
        }
    }

    fn optional_string(&self, field: &str, value: Option<&Value>, max: usize) -> Result<Option<String>, ServicesError> {
        match value {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => {
                let length = utf16_len(s);
                if length > max {
                    return self.fail(field, format!("must be at most {max} characters, got {length}"));
                }
                Ok(Some(s.clone()))
            }
            Some(other) => self.fail(field, format!("must be a non-empty string, got {}", show(other))),
        }
    }

    fn host(&self, field: &str, value: Option<&Value>, fallback: &str) -> Result<String, ServicesError> {
        match value {
            None => Ok(fallback.to_string()),
            Some(Value::String(s)) if bind_host_ok(s) => Ok(s.clone()),
            Some(other) => self.fail(field, format!("must be a host name or IP address, got {}", show(other))),
        }
    }

    fn site(&self, field: &str, value: Option<&Value>) -> Result<String, ServicesError> {
        match value {
            None => Ok(defaults::SITE.to_string()),
            Some(Value::String(s)) if is_valid_site(&js_trim(s).to_lowercase()) => Ok(js_trim(s).to_lowercase()),
            Some(other) => self.fail(
                field,
                format!("must be a Datadog site ({}) or a valid host name, got {}", KNOWN_SITES.join(", "), show(other)),
            ),
        }
    }

    fn base_url(&self, field: &str, value: Option<&Value>) -> Result<Option<String>, ServicesError> {
        let Some(text) = self.optional_string(field, value, 2048)? else { return Ok(None) };
        let Some(url) = parse_url(&text) else {
            return self.fail(field, format!("must be an absolute http(s) URL, got {}", js_quote(&text)));
        };
        if url.protocol != "http:" && url.protocol != "https:" {
            return self.fail(field, format!("must use http or https, got {}", js_quote(&url.protocol)));
        }
        if url.has_query || url.has_fragment {
            return self.fail(field, format!("must not have a query or fragment, got {}", js_quote(&text)));
        }
        Ok(Some(text.trim_end_matches('/').to_string()))
    }

    fn proxy(&self, field: &str, value: Option<&Value>) -> Result<Option<String>, ServicesError> {
        let Some(text) = self.optional_string(field, value, 2048)? else { return Ok(None) };
        let Some(url) = parse_url(&text) else {
            return self.fail(field, format!("must be a proxy URL like http://proxy:3128, got {}", js_quote(&text)));
        };
        if url.protocol != "http:" {
            return self.fail(field, format!("must be an http:// proxy (CONNECT), got {}", js_quote(&url.protocol)));
        }
        Ok(Some(text))
    }

    fn namespace(&self, field: &str, value: Option<&Value>) -> Result<Option<String>, ServicesError> {
        match value {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if namespace_ok(s) && s.len() <= 100 => Ok(Some(s.clone())),
            Some(other) => self.fail(field, format!("must match ^[A-Za-z][A-Za-z0-9_.]*$ (at most 100 characters), got {}", show(other))),
        }
    }

    fn log_level(&self, field: &str, value: Option<&Value>) -> Result<LogLevel, ServicesError> {
        match value {
            None => Ok(LogLevel::Warn),
            Some(Value::String(s)) if LogLevel::parse(s).is_some() => Ok(LogLevel::parse(s).unwrap_or(LogLevel::Warn)),
            Some(other) => self.fail(field, format!("must be one of {}, got {}", LOG_LEVELS.join("|"), show(other))),
        }
    }

    fn tags(&self, field: &str, value: Option<&Value>) -> Result<Vec<String>, ServicesError> {
        let items = match value {
            None => return Ok(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(other) => return self.fail(field, format!("must be an array of strings, got {}", show(other))),
        };
        let mut seen: Vec<String> = Vec::with_capacity(items.len());
        for (index, tag) in items.iter().enumerate() {
            let text = match tag {
                Value::String(s) if !s.is_empty() && !s.chars().any(|c| is_js_whitespace(c) || c == ',' || c == '|') => s,
                other => {
                    return self.fail(
                        &format!("{field}[{index}]"),
                        format!("must be a non-empty tag without spaces, commas or '|', got {}", show(other)),
                    )
                }
            };
            let length = utf16_len(text);
            if length > MAX_TAG_LENGTH {
                return self.fail(&format!("{field}[{index}]"), format!("must be at most {MAX_TAG_LENGTH} characters, got {length}"));
            }
            if !seen.iter().any(|s| s == text) {
                seen.push(text.clone());
            }
        }
        Ok(seen)
    }

    fn retry(&self, field: &str, value: Option<&Value>) -> Result<RetryPolicy, ServicesError> {
        let empty = Map::new();
        let retry = match value {
            None => return Ok(DEFAULT_RETRY_POLICY),
            Some(Value::Object(map)) => map,
            // `typeof [] === 'object'` in JS: an array passes and yields the defaults.
            Some(Value::Array(_)) => &empty,
            Some(other) => return self.fail(field, format!("must be an object, got {}", show(other))),
        };
        let d = DEFAULT_RETRY_POLICY;
        Ok(RetryPolicy {
            max_attempts: self.integer(&format!("{field}.maxAttempts"), retry.get("maxAttempts"), d.max_attempts.into(), 1, 20)? as u32,
            base_delay_ms: self.integer(&format!("{field}.baseDelayMs"), retry.get("baseDelayMs"), d.base_delay_ms, 1, 60_000)?,
            max_delay_ms: self.integer(&format!("{field}.maxDelayMs"), retry.get("maxDelayMs"), d.max_delay_ms, 1, 300_000)?,
        })
    }
}

/// Validates options given as JSON (camelCase, as JS passes them) and applies the defaults.
/// Unknown keys are ignored; a value of `null` counts as absent where the TS code says so.
pub fn resolve_config_value(options: &Value) -> Result<ResolvedConfig, ServicesError> {
    resolve_config_value_named(options, &|field| field.to_string())
}

/// [`resolve_config_value`] with messages naming fields through `namer`.
pub fn resolve_config_value_named(options: &Value, namer: FieldNamer<'_>) -> Result<ResolvedConfig, ServicesError> {
    let empty = Map::new();
    let o = match options {
        Value::Object(map) => map,
        Value::Array(_) => &empty,
        other => return Err(ServicesError::invalid_config("config", &format!("must be an object, got {}", show(other)))),
    };
    let v = Validator { name: namer };
    let api_key = v.optional_string("apiKey", o.get("apiKey"), 256)?;
    let site = v.site("site", o.get("site"))?;
    let dd_url = v.base_url("ddUrl", o.get("ddUrl"))?;
    let apm_dd_url = v.base_url("apmDdUrl", o.get("apmDdUrl"))?;
    let flush_interval_ms = v.integer("flushIntervalMs", o.get("flushIntervalMs"), defaults::FLUSH_INTERVAL_MS, 10, 3_600_000)?;
    let trace_flush_interval_ms =
        v.integer("traceFlushIntervalMs", o.get("traceFlushIntervalMs"), defaults::TRACE_FLUSH_INTERVAL_MS, 10, 3_600_000)?;
    let mut warnings: Vec<String> = match o.get("warnings") {
        Some(Value::Array(items)) => items.iter().filter_map(|w| w.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    };
    if api_key.is_none() && !warnings.iter().any(|w| w.contains("DD_API_KEY") || w.contains("apiKey")) {
        warnings.push(MISSING_API_KEY_WARNING.to_string());
    }
    let metrics_intake_url = dd_url.clone().unwrap_or_else(|| format!("https://api.{site}"));
    let trace_intake_url = apm_dd_url.clone().unwrap_or_else(|| format!("https://trace.agent.{site}"));
    let use_dogstatsd = v.boolean("useDogstatsd", o.get("useDogstatsd"), true)?;
    let dogstatsd_host = v.host("dogstatsdHost", o.get("dogstatsdHost"), defaults::DOGSTATSD_HOST)?;
    let dogstatsd_port = v.integer("dogstatsdPort", o.get("dogstatsdPort"), defaults::DOGSTATSD_PORT.into(), 0, 65_535)? as u16;
    let metric_namespace = v.namespace("metricNamespace", o.get("metricNamespace"))?;
    let tags = v.tags("tags", o.get("tags"))?;
    let hostname = v.optional_string("hostname", o.get("hostname"), 255)?;
    let use_trace_agent = v.boolean("useTraceAgent", o.get("useTraceAgent"), true)?;
    let trace_agent_host = v.host("traceAgentHost", o.get("traceAgentHost"), defaults::TRACE_AGENT_HOST)?;
    let trace_agent_port = v.integer("traceAgentPort", o.get("traceAgentPort"), defaults::TRACE_AGENT_PORT.into(), 0, 65_535)? as u16;
    let log_level = v.log_level("logLevel", o.get("logLevel"))?;
    let https_proxy = v.proxy("httpsProxy", o.get("httpsProxy"))?;
    let max_contexts = v.integer("maxContexts", o.get("maxContexts"), defaults::MAX_CONTEXTS, 1, 10_000_000)?;
    let cloud = o.get("cloud").and_then(|c| serde_json::from_value::<CloudEnvironment>(c.clone()).ok());
    let env = v.optional_string("env", o.get("env"), 200)?;
    let request_timeout_ms = v.integer("requestTimeoutMs", o.get("requestTimeoutMs"), defaults::REQUEST_TIMEOUT_MS, 1, 600_000)?;
    let retry = v.retry("retry", o.get("retry"))?;
    Ok(ResolvedConfig {
        api_key,
        site,
        dd_url,
        apm_dd_url,
        metrics_intake_url,
        trace_intake_url,
        use_dogstatsd,
        dogstatsd_host,
        dogstatsd_port,
        metric_namespace,
        tags,
        hostname,
        flush_interval_ms,
        use_trace_agent,
        trace_agent_host,
        trace_agent_port,
        trace_flush_interval_ms,
        log_level,
        https_proxy,
        max_contexts,
        cloud,
        env,
        request_timeout_ms,
        retry,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn error_of(value: Value) -> ServicesError {
        resolve_config_value(&value).expect_err("invalid")
    }

    #[test]
    fn applies_the_defaults_of_design_section_8() {
        let config = resolve_config_value(&json!({})).expect("valid");
        assert_eq!(config.site, "datadoghq.com");
        assert_eq!(config.metrics_intake_url, "https://api.datadoghq.com");
        assert_eq!(config.trace_intake_url, "https://trace.agent.datadoghq.com");
        assert_eq!((config.dogstatsd_port, config.trace_agent_port), (8125, 8126));
        assert_eq!((config.flush_interval_ms, config.trace_flush_interval_ms), (10_000, 3_000));
        assert_eq!(config.log_level, LogLevel::Warn);
        assert_eq!(config.max_contexts, 100_000);
        assert_eq!(config.warnings, vec![MISSING_API_KEY_WARNING.to_string()]);
        assert_eq!(config.retry, DEFAULT_RETRY_POLICY);
    }

    #[test]
    fn names_the_first_field_at_fault() {
        let e = error_of(json!({"dogstatsdPort": 70000, "logLevel": "loud"}));
        assert_eq!(e.code, crate::ErrorCode::InvalidConfig);
        assert_eq!(e.field.as_deref(), Some("dogstatsdPort"));
        assert_eq!(e.message, "invalid config: dogstatsdPort must be an integer from 0 to 65535, got 70000");
        assert_eq!(error_of(json!({"logLevel": "loud"})).message, "invalid config: logLevel must be one of trace|debug|info|warn|error|off, got \"loud\"");
        assert_eq!(error_of(json!({"useDogstatsd": "yes"})).message, "invalid config: useDogstatsd must be a boolean, got \"yes\"");
        assert_eq!(error_of(json!({"site": "not a site"})).field.as_deref(), Some("site"));
        assert_eq!(error_of(json!({"metricNamespace": "1abc"})).field.as_deref(), Some("metricNamespace"));
        assert_eq!(error_of(json!({"tags": ["ok", "has space"]})).field.as_deref(), Some("tags[1]"));
        assert_eq!(error_of(json!({"maxContexts": 0})).field.as_deref(), Some("maxContexts"));
        assert_eq!(error_of(json!({"retry": {"maxAttempts": 50}})).field.as_deref(), Some("retry.maxAttempts"));
        assert_eq!(error_of(json!({"apiKey": ""})).message, "invalid config: apiKey must be a non-empty string, got \"\"");
        assert_eq!(error_of(json!(5)).message, "invalid config: config must be an object, got 5");
    }

    #[test]
    fn validates_urls_like_the_whatwg_parser() {
        let ok = resolve_config_value(&json!({"ddUrl": "http://127.0.0.1:9999/", "apmDdUrl": "https://trace.example.com"})).expect("valid");
        assert_eq!(ok.metrics_intake_url, "http://127.0.0.1:9999");
        assert_eq!(ok.trace_intake_url, "https://trace.example.com");
        assert_eq!(error_of(json!({"ddUrl": "ftp://x"})).message, "invalid config: ddUrl must use http or https, got \"ftp:\"");
        assert_eq!(error_of(json!({"ddUrl": "nope"})).message, "invalid config: ddUrl must be an absolute http(s) URL, got \"nope\"");
        assert_eq!(error_of(json!({"ddUrl": "http://"})).field.as_deref(), Some("ddUrl"));
        assert_eq!(error_of(json!({"ddUrl": "http://a:99999"})).field.as_deref(), Some("ddUrl"));
        assert_eq!(error_of(json!({"ddUrl": "http://a/?x=1"})).message, "invalid config: ddUrl must not have a query or fragment, got \"http://a/?x=1\"");
        assert_eq!(error_of(json!({"httpsProxy": "https://p:1"})).message, "invalid config: httpsProxy must be an http:// proxy (CONNECT), got \"https:\"");
        assert!(resolve_config_value(&json!({"httpsProxy": "http://proxy:3128"})).is_ok());
    }

    #[test]
    fn accepts_sites_and_dedupes_tags() {
        let config = resolve_config_value(&json!({"site": " DatadogHQ.EU ", "tags": ["a:1", "b", "a:1"], "apiKey": "k"})).expect("valid");
        assert_eq!(config.site, "datadoghq.eu");
        assert_eq!(config.tags, vec!["a:1", "b"]);
        assert!(config.warnings.is_empty());
        assert!(is_valid_site("my-site.example.org"));
        assert!(!is_valid_site("localhost"));
    }

    #[test]
    fn the_typed_config_goes_through_the_same_validation() {
        let typed = ServicesConfig { dogstatsd_port: Some(0), log_level: Some("debug".into()), ..Default::default() };
        let config = typed.resolve().expect("valid");
        assert_eq!(config.dogstatsd_port, 0);
        assert_eq!(config.log_level, LogLevel::Debug);
        let bad = ServicesConfig { log_level: Some("nope".into()), ..Default::default() };
        assert_eq!(bad.resolve().expect_err("invalid").field.as_deref(), Some("logLevel"));
        let round_trip: ServicesConfig = serde_json::from_value(json!({"dogstatsdPort": 9, "useTraceAgent": false})).expect("camelCase");
        assert_eq!((round_trip.dogstatsd_port, round_trip.use_trace_agent), (Some(9), Some(false)));
    }

    #[test]
    fn log_levels_order() {
        assert!(LogLevel::Warn.enables(LogLevel::Error));
        assert!(!LogLevel::Warn.enables(LogLevel::Info));
        assert!(!LogLevel::Off.enables(LogLevel::Error));
    }
}
