//! `config_from_env`: the DD_* variables of DESIGN.md §8 turned into a validated configuration,
//! every message naming the variable at fault (packages/core/src/services/config-from-env.ts).
//!
//! Variables: DD_API_KEY, DD_SITE, DD_DD_URL (or DD_URL), DD_APM_DD_URL, DD_USE_DOGSTATSD,
//! DD_DOGSTATSD_PORT, DD_APM_ENABLED, DD_APM_RECEIVER_PORT, DD_BIND_HOST,
//! DD_DOGSTATSD_NON_LOCAL_TRAFFIC, DD_APM_NON_LOCAL_TRAFFIC, DD_STATSD_METRIC_NAMESPACE, DD_TAGS,
//! DD_ENV, DD_SERVICE, DD_VERSION, DD_HOSTNAME, DD_LOG_LEVEL, DD_PROXY_HTTPS (or HTTPS_PROXY /
//! https_proxy), plus the platform variables of [`crate::cloud::detect_cloud_environment`].

use std::collections::HashMap;

use indexmap::IndexMap;
use serde_json::{json, Map, Value};

use crate::cloud::detect_cloud_environment;
use crate::config::{resolve_config_value_named, ResolvedConfig};
use crate::error::ServicesError;
use crate::jsfmt::{is_js_whitespace, js_quote, js_trim};

fn variable_of(field: &str) -> Option<&'static str> {
    Some(match field {
        "apiKey" => "DD_API_KEY",
        "site" => "DD_SITE",
        "useDogstatsd" => "DD_USE_DOGSTATSD",
        "dogstatsdPort" => "DD_DOGSTATSD_PORT",
        "traceAgentPort" => "DD_APM_RECEIVER_PORT",
        "useTraceAgent" => "DD_APM_ENABLED",
        "metricNamespace" => "DD_STATSD_METRIC_NAMESPACE",
        "tags" => "DD_TAGS",
        "hostname" => "DD_HOSTNAME",
        "logLevel" => "DD_LOG_LEVEL",
        "apmDdUrl" => "DD_APM_DD_URL",
        "env" => "DD_ENV",
        _ => return None,
    })
}

struct Env<'a>(&'a HashMap<String, String>);

impl Env<'_> {
    /// An empty variable (`DD_SITE=` in a Dockerfile) means "not set", as for Datadog's agents.
    fn read(&self, name: &str) -> Option<String> {
        self.0.get(name).map(|v| js_trim(v).to_string()).filter(|v| !v.is_empty())
    }

    fn first(&self, names: &[&'static str]) -> Option<(&'static str, String)> {
        names.iter().find_map(|name| self.read(name).map(|value| (*name, value)))
    }
}

fn parse_boolean(name: &str, value: Option<String>) -> Result<Option<bool>, ServicesError> {
    let Some(value) = value else { return Ok(None) };
    match value.to_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(Some(true)),
        "0" | "false" | "no" | "off" => Ok(Some(false)),
        _ => Err(ServicesError::invalid_config(name, &format!("must be true or false, got {}", js_quote(&value)))),
    }
}

fn parse_port(name: &str, value: Option<String>) -> Result<Option<u32>, ServicesError> {
    let Some(value) = value else { return Ok(None) };
    let digits = (1..=5).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit());
    match value.parse::<u32>() {
        Ok(port) if digits && port <= 65_535 => Ok(Some(port)),
        _ => Err(ServicesError::invalid_config(name, &format!("must be a port from 0 to 65535, got {}", js_quote(&value)))),
    }
}

/// DD_TAGS is comma or space separated (`env:prod,team:x` or `env:prod team:x`).
pub fn parse_tag_list(value: Option<&str>) -> Vec<String> {
    value
        .map(|v| v.split(|c: char| c == ',' || is_js_whitespace(c)).filter(|t| !t.is_empty()).map(str::to_string).collect())
        .unwrap_or_default()
}

fn tag_key(tag: &str) -> &str {
    tag.split_once(':').map_or(tag, |(key, _)| key)
}

/// DD_ENV, DD_SERVICE and DD_VERSION replace an `env:`, `service:` or `version:` tag of DD_TAGS.
/// Tag → the variable it came from, for messages.
fn global_tags(env: &Env<'_>) -> IndexMap<String, String> {
    let unified = [("env", "DD_ENV"), ("service", "DD_SERVICE"), ("version", "DD_VERSION")];
    let set: Vec<(&str, &str, String)> =
        unified.iter().filter_map(|(key, variable)| env.read(variable).map(|value| (*key, *variable, value))).collect();
    let mut tags = IndexMap::new();
    for tag in parse_tag_list(env.read("DD_TAGS").as_deref()) {
        if !set.iter().any(|(key, _, _)| *key == tag_key(&tag)) {
            tags.insert(tag, "DD_TAGS".to_string());
        }
    }
    for (key, variable, value) in set {
        tags.insert(format!("{key}:{value}"), variable.to_string());
    }
    tags
}

/// Reads a configuration from environment variables (pass `std::env::vars()`, or a map in tests).
pub fn config_from_env<I, K, V>(vars: I) -> Result<ResolvedConfig, ServicesError>
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<String>,
    V: Into<String>,
{
    let map: HashMap<String, String> = vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
    let env = Env(&map);
    let mut warnings = Vec::new();
    let api_key = env.read("DD_API_KEY");
    if api_key.is_none() {
        warnings.push("DD_API_KEY is not set: the intake will reject what is flushed (fine for local testing)".to_string());
    }
    let dd_url = env.first(&["DD_DD_URL", "DD_URL"]);
    let proxy = env.first(&["DD_PROXY_HTTPS", "HTTPS_PROXY", "https_proxy"]);
    let bind_host = env.read("DD_BIND_HOST");
    let dogstatsd_non_local = parse_boolean("DD_DOGSTATSD_NON_LOCAL_TRAFFIC", env.read("DD_DOGSTATSD_NON_LOCAL_TRAFFIC"))?;
    let apm_non_local = parse_boolean("DD_APM_NON_LOCAL_TRAFFIC", env.read("DD_APM_NON_LOCAL_TRAFFIC"))?;
    let raw_level = env.read("DD_LOG_LEVEL").map(|l| l.to_lowercase());
    let cloud = detect_cloud_environment(&|name| map.get(name).cloned());
    let mut tag_sources = global_tags(&env);
    if let Some(cloud) = &cloud {
        for tag in &cloud.tags {
            if !tag_sources.contains_key(tag) {
                tag_sources.insert(tag.clone(), "the platform variables".to_string());
            }
        }
    }
    let tags: Vec<String> = tag_sources.keys().cloned().collect();

    let mut options = Map::new();
    let opt = |value: Option<String>| value.map_or(Value::Null, Value::String);
    options.insert("apiKey".into(), opt(api_key));
    options.insert("ddUrl".into(), opt(dd_url.as_ref().map(|(_, v)| v.clone())));
    options.insert("apmDdUrl".into(), opt(env.read("DD_APM_DD_URL")));
    options.insert("metricNamespace".into(), opt(env.read("DD_STATSD_METRIC_NAMESPACE")));
    options.insert("tags".into(), json!(tags));
    options.insert("hostname".into(), opt(env.read("DD_HOSTNAME")));
    options.insert("httpsProxy".into(), opt(proxy.as_ref().map(|(_, v)| v.clone())));
    options.insert("cloud".into(), serde_json::to_value(&cloud).unwrap_or(Value::Null));
    options.insert("env".into(), opt(env.read("DD_ENV")));
    options.insert("warnings".into(), json!(warnings));
    if let Some(site) = env.read("DD_SITE") {
        options.insert("site".into(), Value::String(site));
    }
    if let Some(b) = parse_boolean("DD_USE_DOGSTATSD", env.read("DD_USE_DOGSTATSD"))? {
        options.insert("useDogstatsd".into(), Value::Bool(b));
    }
    if let Some(b) = parse_boolean("DD_APM_ENABLED", env.read("DD_APM_ENABLED"))? {
        options.insert("useTraceAgent".into(), Value::Bool(b));
    }
    if let Some(port) = parse_port("DD_DOGSTATSD_PORT", env.read("DD_DOGSTATSD_PORT"))? {
        options.insert("dogstatsdPort".into(), json!(port));
    }
    if let Some(port) = parse_port("DD_APM_RECEIVER_PORT", env.read("DD_APM_RECEIVER_PORT"))? {
        options.insert("traceAgentPort".into(), json!(port));
    }
    // Non-local traffic (a sidecar sending to this container) means listening on every interface.
    let dogstatsd_host = if dogstatsd_non_local == Some(true) { Some("0.0.0.0".to_string()) } else { bind_host.clone() };
    if let Some(host) = dogstatsd_host {
        options.insert("dogstatsdHost".into(), Value::String(host));
    }
    let trace_agent_host = if apm_non_local == Some(true) { Some("0.0.0.0".to_string()) } else { bind_host };
    if let Some(host) = trace_agent_host {
        options.insert("traceAgentHost".into(), Value::String(host));
    }
    if let Some(level) = raw_level {
        let level = match level.as_str() {
            "warning" => "warn".to_string(),
            "critical" => "error".to_string(),
            _ => level,
        };
        options.insert("logLevel".into(), Value::String(level));
    }

    let namer = |field: &str| -> String {
        match field {
            "ddUrl" => dd_url.as_ref().map_or("DD_DD_URL", |(name, _)| name).to_string(),
            "httpsProxy" => proxy.as_ref().map_or("DD_PROXY_HTTPS", |(name, _)| name).to_string(),
            "dogstatsdHost" | "traceAgentHost" => "DD_BIND_HOST".to_string(),
            _ => {
                if let Some(index) = field.strip_prefix("tags[").and_then(|rest| rest.strip_suffix(']')).and_then(|i| i.parse::<usize>().ok()) {
                    return tags.get(index).and_then(|tag| tag_sources.get(tag)).cloned().unwrap_or_else(|| "DD_TAGS".to_string());
                }
                variable_of(field).map_or_else(|| field.to_string(), str::to_string)
            }
        }
    };
    resolve_config_value_named(&Value::Object(options), &namer)
}

/// [`config_from_env`] over this process's environment (non-UTF-8 values read lossily).
pub fn config_from_process_env() -> Result<ResolvedConfig, ServicesError> {
    config_from_env(std::env::vars_os().map(|(k, v)| (k.to_string_lossy().into_owned(), v.to_string_lossy().into_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LogLevel;

    fn from(pairs: &[(&str, &str)]) -> Result<ResolvedConfig, ServicesError> {
        config_from_env(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn reads_every_variable() {
        let config = from(&[
            ("DD_API_KEY", "key"),
            ("DD_SITE", "datadoghq.eu"),
            ("DD_DD_URL", "http://127.0.0.1:9/"),
            ("DD_APM_DD_URL", "http://127.0.0.1:8"),
            ("DD_USE_DOGSTATSD", "true"),
            ("DD_DOGSTATSD_PORT", "0"),
            ("DD_APM_RECEIVER_PORT", "0"),
            ("DD_STATSD_METRIC_NAMESPACE", "app"),
            ("DD_TAGS", "team:web env:old,a"),
            ("DD_ENV", "prod"),
            ("DD_SERVICE", "svc"),
            ("DD_VERSION", "1.2"),
            ("DD_LOG_LEVEL", "WARNING"),
            ("HTTPS_PROXY", "http://proxy:3128"),
            ("DD_HOSTNAME", "h"),
        ])
        .expect("valid");
        assert_eq!(config.api_key.as_deref(), Some("key"));
        assert_eq!(config.metrics_intake_url, "http://127.0.0.1:9");
        assert_eq!(config.trace_intake_url, "http://127.0.0.1:8");
        assert_eq!((config.dogstatsd_port, config.trace_agent_port), (0, 0));
        assert_eq!(config.metric_namespace.as_deref(), Some("app"));
        assert_eq!(config.tags, vec!["team:web", "a", "env:prod", "service:svc", "version:1.2"]);
        assert_eq!(config.env.as_deref(), Some("prod"));
        assert_eq!(config.log_level, LogLevel::Warn);
        assert_eq!(config.https_proxy.as_deref(), Some("http://proxy:3128"));
        assert_eq!(config.hostname.as_deref(), Some("h"));
        assert!(config.warnings.is_empty());
    }

    #[test]
    fn messages_name_the_variable() {
        let e = from(&[("DD_DOGSTATSD_PORT", "99999")]).expect_err("bad port");
        assert_eq!(e.field.as_deref(), Some("DD_DOGSTATSD_PORT"));
        assert_eq!(e.message, "invalid config: DD_DOGSTATSD_PORT must be a port from 0 to 65535, got \"99999\"");
        assert_eq!(from(&[("DD_APM_RECEIVER_PORT", "x")]).expect_err("bad").field.as_deref(), Some("DD_APM_RECEIVER_PORT"));
        assert_eq!(from(&[("DD_USE_DOGSTATSD", "maybe")]).expect_err("bad").field.as_deref(), Some("DD_USE_DOGSTATSD"));
        assert_eq!(from(&[("DD_LOG_LEVEL", "loud")]).expect_err("bad").field.as_deref(), Some("DD_LOG_LEVEL"));
        assert_eq!(from(&[("DD_SITE", "x y")]).expect_err("bad").field.as_deref(), Some("DD_SITE"));
        assert_eq!(from(&[("DD_URL", "ftp://x")]).expect_err("bad").field.as_deref(), Some("DD_URL"));
        assert_eq!(from(&[("https_proxy", "socks5://p:1")]).expect_err("bad").field.as_deref(), Some("https_proxy"));
        assert_eq!(from(&[("DD_STATSD_METRIC_NAMESPACE", "9x")]).expect_err("bad").field.as_deref(), Some("DD_STATSD_METRIC_NAMESPACE"));
        assert_eq!(from(&[("DD_BIND_HOST", "bad host")]).expect_err("bad").field.as_deref(), Some("DD_BIND_HOST"));
        assert_eq!(from(&[("DD_SERVICE", "a|b")]).expect_err("bad").field.as_deref(), Some("DD_SERVICE"));
        assert_eq!(from(&[("DD_APM_NON_LOCAL_TRAFFIC", "2")]).expect_err("bad").field.as_deref(), Some("DD_APM_NON_LOCAL_TRAFFIC"));
    }

    #[test]
    fn empty_variables_are_unset_and_a_missing_key_warns() {
        let config = from(&[("DD_SITE", " "), ("DD_API_KEY", "")]).expect("valid");
        assert_eq!(config.site, "datadoghq.com");
        assert_eq!(config.warnings.len(), 1);
        assert!(config.warnings[0].contains("DD_API_KEY"));
    }

    #[test]
    fn cloud_platforms_add_origin_tags_and_non_local_traffic_binds_everywhere() {
        let config = from(&[("AWS_LAMBDA_FUNCTION_NAME", "fn"), ("DD_DOGSTATSD_NON_LOCAL_TRAFFIC", "yes"), ("DD_BIND_HOST", "localhost")])
            .expect("valid");
        assert_eq!(config.tags, vec!["origin:lambda", "functionname:fn"]);
        assert!(config.cloud.is_some());
        assert_eq!(config.dogstatsd_host, "0.0.0.0");
        assert_eq!(config.trace_agent_host, "localhost");
    }
}
