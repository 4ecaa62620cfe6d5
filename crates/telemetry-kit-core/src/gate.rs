//! Whether tracking may happen at all: the environment's opt-outs, which always win over the
//! builder (DESIGN.md §5), and the stored consent decision. Mirrors
//! `packages/core/src/tracking-gate.ts`; `test/vectors/disable-env.json` specifies the opt-outs.

use crate::environment::{env_var, Env};
use crate::types::ConsentStatus;

/// JavaScript's `String.prototype.trim` set (WhiteSpace and LineTerminator). It differs from
/// Rust's `char::is_whitespace`: JS trims U+FEFF (a BOM) and keeps U+0085, Rust does the reverse.
fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\u{FEFF}'
    )
}

/// `value.trim()` as JavaScript does it, so that both backends accept the same inputs.
pub(crate) fn trim_js(value: &str) -> &str {
    value.trim_matches(is_js_whitespace)
}

/// Set to anything other than empty, `0` or `false` (any case, trimmed).
pub fn is_enabled_flag(value: Option<&str>) -> bool {
    let Some(value) = value else { return false };
    let normalized = trim_js(value).to_lowercase();
    !normalized.is_empty() && normalized != "0" && normalized != "false"
}

/// `my-cli` → `MY_CLI_TELEMETRY_DISABLED`.
pub fn service_disable_variable(service_name: &str) -> String {
    format!(
        "{}_TELEMETRY_DISABLED",
        service_name.to_uppercase().replace('-', "_")
    )
}

/// The variable that disables tracking and sync, or `None` when none does. `DO_NOT_TRACK` is
/// reported first, then `TELEMETRY_KIT_DISABLED`, then the service's own variable.
pub fn env_disabled_reason(env: &Env, service_name: &str) -> Option<String> {
    [
        "DO_NOT_TRACK".to_owned(),
        "TELEMETRY_KIT_DISABLED".to_owned(),
        service_disable_variable(service_name),
    ]
    .into_iter()
    .find(|variable| is_enabled_flag(env_var(env, variable)))
}

/// `TELEMETRY_KIT_DEBUG`: print each event to stderr and send nothing.
pub fn is_debug_mode(env: &Env) -> bool {
    is_enabled_flag(env_var(env, "TELEMETRY_KIT_DEBUG"))
}

/// Consent alone: `opted_out` and `denied` always block; `unknown` follows the builder.
pub fn consent_allows(status: ConsentStatus, required: bool, default_granted: bool) -> bool {
    match status {
        ConsentStatus::Granted => true,
        ConsentStatus::Denied | ConsentStatus::OptedOut => false,
        ConsentStatus::Unknown => !required && default_granted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        crate::environment::env_of(pairs)
    }

    #[test]
    fn names_the_per_service_variable() {
        assert_eq!(
            service_disable_variable("my-cli"),
            "MY_CLI_TELEMETRY_DISABLED"
        );
        assert_eq!(
            service_disable_variable("a-b_c9"),
            "A_B_C9_TELEMETRY_DISABLED"
        );
    }

    #[test]
    fn reads_telemetry_kit_debug() {
        assert!(is_debug_mode(&env(&[("TELEMETRY_KIT_DEBUG", "1")])));
        assert!(!is_debug_mode(&env(&[("TELEMETRY_KIT_DEBUG", "0")])));
        assert!(!is_debug_mode(&env(&[])));
    }

    #[test]
    fn flags_are_trimmed_like_javascript() {
        assert!(!is_enabled_flag(None));
        assert!(!is_enabled_flag(Some(" FALSE\n")));
        assert!(!is_enabled_flag(Some("\u{FEFF}0\u{3000}")));
        assert!(is_enabled_flag(Some("\u{85}")), "JS does not trim U+0085");
        assert!(is_enabled_flag(Some(" yes ")));
        assert!(is_enabled_flag(Some("00")));
    }

    #[test]
    fn consent_decision_table() {
        use ConsentStatus::*;
        let table = [
            (Granted, true, false, true),
            (Denied, false, true, false),
            (OptedOut, false, true, false),
            (Unknown, false, true, true),
            (Unknown, false, false, false),
            (Unknown, true, true, false),
        ];
        for (status, required, default_granted, allowed) in table {
            assert_eq!(
                consent_allows(status, required, default_granted),
                allowed,
                "{status:?} {required} {default_granted}"
            );
        }
    }
}
