//! Which serverless platform the process runs on, from the variables each platform sets, and
//! the origin tags Datadog's serverless agents attach there (`origin:<name>` on metrics,
//! `_dd.origin` on spans). Mirrors packages/core/src/services/cloud-environment.ts.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::jsfmt::js_trim;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CloudProvider {
    AwsLambda,
    AzureFunctions,
    GcpCloudFunctions,
    GcpCloudRun,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudEnvironment {
    pub provider: CloudProvider,
    /// `lambda`, `azurefunction`, `cloudfunction` or `cloudrun`.
    pub origin: String,
    /// `key:value` tags for every metric.
    pub tags: Vec<String>,
    /// Tags for every span, `_dd.origin` included, in insertion order.
    pub span_tags: IndexMap<String, String>,
}

fn build(provider: CloudProvider, origin: &str, pairs: &[(&str, Option<String>)]) -> CloudEnvironment {
    let mut span_tags = IndexMap::new();
    span_tags.insert("origin".to_string(), origin.to_string());
    span_tags.insert("_dd.origin".to_string(), origin.to_string());
    for (key, value) in pairs {
        if let Some(value) = value {
            span_tags.insert((*key).to_string(), value.clone());
        }
    }
    let tags = span_tags.iter().filter(|(key, _)| !key.starts_with("_dd.")).map(|(key, value)| format!("{key}:{value}")).collect();
    CloudEnvironment { provider, origin: origin.to_string(), tags, span_tags }
}

/// The platform, or None. Most specific first: Cloud Run functions set both K_SERVICE and
/// FUNCTION_TARGET, Cloud Run services only K_SERVICE.
pub fn detect_cloud_environment(get: &dyn Fn(&str) -> Option<String>) -> Option<CloudEnvironment> {
    let present = |name: &str| get(name).map(|v| js_trim(&v).to_string()).filter(|v| !v.is_empty());
    if let Some(lambda) = present("AWS_LAMBDA_FUNCTION_NAME") {
        return Some(build(
            CloudProvider::AwsLambda,
            "lambda",
            &[
                ("functionname", Some(lambda.to_lowercase())),
                ("region", present("AWS_REGION")),
                ("memorysize", present("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")),
            ],
        ));
    }
    if present("FUNCTIONS_EXTENSION_VERSION").is_some() && present("FUNCTIONS_WORKER_RUNTIME").is_some() {
        return Some(build(
            CloudProvider::AzureFunctions,
            "azurefunction",
            &[
                ("app_name", present("WEBSITE_SITE_NAME")),
                ("region", present("REGION_NAME")),
                ("runtime", present("FUNCTIONS_WORKER_RUNTIME")),
            ],
        ));
    }
    let k_service = present("K_SERVICE");
    let function_target = present("FUNCTION_TARGET");
    let legacy_function = present("FUNCTION_NAME");
    if (k_service.is_some() && function_target.is_some()) || (legacy_function.is_some() && present("GCP_PROJECT").is_some()) {
        let origin = if k_service.is_some() { "cloudrun" } else { "cloudfunction" };
        return Some(build(
            CloudProvider::GcpCloudFunctions,
            origin,
            &[
                ("functionname", function_target.or(legacy_function).map(|f| f.to_lowercase())),
                ("service_name", k_service),
                ("revision_name", present("K_REVISION")),
                ("project_id", present("GCP_PROJECT")),
                ("region", present("FUNCTION_REGION")),
            ],
        ));
    }
    if let Some(service) = k_service {
        return Some(build(
            CloudProvider::GcpCloudRun,
            "cloudrun",
            &[
                ("service_name", Some(service)),
                ("revision_name", present("K_REVISION")),
                ("configuration_name", present("K_CONFIGURATION")),
            ],
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn detect(pairs: &[(&str, &str)]) -> Option<CloudEnvironment> {
        let env: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        detect_cloud_environment(&|name| env.get(name).cloned())
    }

    #[test]
    fn detects_lambda_with_origin_tags() {
        let cloud = detect(&[("AWS_LAMBDA_FUNCTION_NAME", "MyFn"), ("AWS_REGION", "eu-west-1")]).expect("lambda");
        assert_eq!(cloud.provider, CloudProvider::AwsLambda);
        assert_eq!(cloud.tags, vec!["origin:lambda", "functionname:myfn", "region:eu-west-1"]);
        assert_eq!(cloud.span_tags.get("_dd.origin").map(String::as_str), Some("lambda"));
    }

    #[test]
    fn tells_cloud_run_functions_from_services() {
        assert_eq!(detect(&[("K_SERVICE", "svc"), ("FUNCTION_TARGET", "Fn")]).map(|c| c.provider), Some(CloudProvider::GcpCloudFunctions));
        assert_eq!(detect(&[("K_SERVICE", "svc")]).map(|c| c.provider), Some(CloudProvider::GcpCloudRun));
        assert_eq!(detect(&[("FUNCTION_NAME", "f"), ("GCP_PROJECT", "p")]).map(|c| c.origin), Some("cloudfunction".to_string()));
        assert_eq!(
            detect(&[("FUNCTIONS_EXTENSION_VERSION", "~4"), ("FUNCTIONS_WORKER_RUNTIME", "node")]).map(|c| c.provider),
            Some(CloudProvider::AzureFunctions)
        );
        assert!(detect(&[("K_SERVICE", "  ")]).is_none());
    }
}
