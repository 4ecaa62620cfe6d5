//! CI detection from well-known environment variables (DESIGN.md §5); mirrors
//! `packages/core/src/ci-detect.ts` and is specified by `test/vectors/ci.json`.

use crate::environment::{env_var, Env};

/// Checked in this order before the generic variables, because many providers also set `CI`.
const PROVIDERS: [(&str, &str); 20] = [
    ("GITHUB_ACTIONS", "github_actions"),
    ("GITLAB_CI", "gitlab"),
    ("BUILDKITE", "buildkite"),
    ("CIRCLECI", "circleci"),
    ("TRAVIS", "travis"),
    ("JENKINS_URL", "jenkins"),
    ("TF_BUILD", "azure_pipelines"),
    ("BITBUCKET_BUILD_NUMBER", "bitbucket"),
    ("TEAMCITY_VERSION", "teamcity"),
    ("APPVEYOR", "appveyor"),
    ("CODEBUILD_BUILD_ID", "aws_codebuild"),
    ("DRONE", "drone"),
    ("SEMAPHORE", "semaphore"),
    ("BITRISE_IO", "bitrise"),
    ("BUDDY", "buddy"),
    ("CF_PAGES", "cloudflare_pages"),
    ("NETLIFY", "netlify"),
    ("VERCEL", "vercel"),
    ("HEROKU_TEST_RUN_ID", "heroku"),
    ("WOODPECKER", "woodpecker"),
];

/// Set by any CI that follows no provider-specific convention.
const GENERIC: [&str; 3] = ["CI", "CONTINUOUS_INTEGRATION", "BUILD_NUMBER"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiInfo {
    pub ci: bool,
    /// A provider name from the list above, `generic`, or `None` outside CI.
    pub ci_name: Option<String>,
}

/// Present, not empty, not `0` and not `false` in any case. Unlike the opt-out flags of
/// [`crate::gate`], the value is not trimmed: the TS backend does not trim it either.
fn is_set(value: Option<&str>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v.to_lowercase() != "false" && v != "0")
}

pub fn detect_ci(env: &Env) -> CiInfo {
    for (variable, name) in PROVIDERS {
        if is_set(env_var(env, variable)) {
            return CiInfo {
                ci: true,
                ci_name: Some(name.to_owned()),
            };
        }
    }
    if GENERIC
        .iter()
        .any(|variable| is_set(env_var(env, variable)))
    {
        return CiInfo {
            ci: true,
            ci_name: Some("generic".to_owned()),
        };
    }
    CiInfo {
        ci: false,
        ci_name: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        crate::environment::env_of(pairs)
    }

    #[test]
    fn values_are_not_trimmed() {
        // `" 0"` is neither empty nor `0`: set, as in TS.
        assert!(detect_ci(&env(&[("CI", " 0")])).ci);
        assert!(detect_ci(&env(&[("CI", "False ")])).ci);
        assert!(!detect_ci(&env(&[("CI", "FaLsE")])).ci);
    }

    #[test]
    fn generic_variables_other_than_ci() {
        for variable in ["CONTINUOUS_INTEGRATION", "BUILD_NUMBER"] {
            let info = detect_ci(&env(&[(variable, "1")]));
            assert_eq!(
                info,
                CiInfo {
                    ci: true,
                    ci_name: Some("generic".to_owned())
                },
                "{variable}"
            );
        }
    }

    #[test]
    fn heroku_is_detected() {
        assert_eq!(
            detect_ci(&env(&[("HEROKU_TEST_RUN_ID", "x")]))
                .ci_name
                .as_deref(),
            Some("heroku")
        );
    }

    #[test]
    fn earlier_providers_win() {
        let info = detect_ci(&env(&[("VERCEL", "1"), ("GITHUB_ACTIONS", "true")]));
        assert_eq!(info.ci_name.as_deref(), Some("github_actions"));
    }
}
