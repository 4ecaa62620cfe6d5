//! String rules of the Datadog Agent's trace normalizer (pkg/trace/traceutil/normalize),
//! identical to packages/core/src/services/trace/normalize-text.ts: `NormalizeName`,
//! `NormalizeService`, `NormalizePeerService`, `NormalizeTag`/`NormalizeTagValue` and
//! `TruncateUTF8`. Lengths are UTF-8 byte lengths, as in Go. Letters, upper-case letters and
//! decimal digits are the Unicode general categories L, Lu and Nd (the TS regexes `\p{L}`,
//! `\p{Lu}`, `\p{Nd}`), not Rust's broader `is_alphabetic`/`is_numeric`.

use unicode_general_category::{get_general_category, GeneralCategory as G};

pub const DEFAULT_SPAN_NAME: &str = "unnamed_operation";
pub const DEFAULT_SERVICE_NAME: &str = "unnamed-service";
pub const MAX_NAME_LEN: usize = 100;
pub const MAX_SERVICE_LEN: usize = 100;
const MAX_TAG_LEN: usize = 200;

/// Why a value was changed, as the agent's errors (`ErrEmpty`, `ErrTooLong`, `ErrInvalid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NormalizeIssue {
    Empty,
    TooLong,
    Invalid,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    pub value: String,
    pub issue: Option<NormalizeIssue>,
}

/// The longest prefix of at most `limit` UTF-8 bytes that does not split a character.
pub fn truncate_utf8(s: &str, limit: usize) -> &str {
    if s.len() <= limit {
        return s;
    }
    let mut end = limit;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `isValidNormalizedMetricName`: the fast path of the name parser.
fn is_normalized_metric_name(name: &[u8]) -> bool {
    if name.is_empty() || !name[0].is_ascii_alphabetic() {
        return false;
    }
    (1..name.len()).all(|j| {
        let b = name[j];
        b.is_ascii_alphanumeric() || ((b == b'.' || b == b'_') && name[j - 1] != b'_')
    })
}

/// `normMetricNameParse`: skip leading non-letters, keep [A-Za-z0-9], runs of anything else
/// become one `_` (none after a `.`; an `_` before a `.` becomes the `.`), no trailing `_`.
fn parse_metric_name(name: &str) -> Option<String> {
    let start = name.bytes().position(|b| b.is_ascii_alphabetic())?;
    let rest = &name[start..];
    if is_normalized_metric_name(rest.as_bytes()) {
        return Some(rest.strip_suffix('_').unwrap_or(rest).to_string());
    }
    let mut out = String::with_capacity(rest.len());
    for c in rest.chars() {
        let last = out.as_bytes().last().copied();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if c == '.' {
            if last == Some(b'_') {
                out.pop();
            }
            out.push('.');
        } else if last != Some(b'.') && last != Some(b'_') {
            out.push('_');
        }
    }
    if out.ends_with('_') {
        out.pop();
    }
    Some(out)
}

/// `NormalizeName`.
pub fn normalize_name(name: &str) -> Normalized {
    if name.is_empty() {
        return Normalized { value: DEFAULT_SPAN_NAME.into(), issue: Some(NormalizeIssue::Empty) };
    }
    let mut issue = None;
    let mut name = name;
    if name.len() > MAX_NAME_LEN {
        name = truncate_utf8(name, MAX_NAME_LEN);
        issue = Some(NormalizeIssue::TooLong);
    }
    match parse_metric_name(name) {
        Some(value) => Normalized { value, issue },
        None => Normalized { value: DEFAULT_SPAN_NAME.into(), issue: Some(NormalizeIssue::Invalid) },
    }
}

/// `fallbackService`: `unnamed-<lang>-service`, or `unnamed-service` without a language.
pub fn fallback_service(lang: Option<&str>) -> String {
    match lang {
        Some(lang) if !lang.is_empty() => format!("unnamed-{lang}-service"),
        _ => DEFAULT_SERVICE_NAME.into(),
    }
}

/// `NormalizeService`: tag-value rules, 100 bytes, a language-specific fallback.
pub fn normalize_service(service: &str, lang: Option<&str>) -> Normalized {
    if service.is_empty() {
        return Normalized { value: fallback_service(lang), issue: Some(NormalizeIssue::Empty) };
    }
    let (service, issue) =
        if service.len() > MAX_SERVICE_LEN { (truncate_utf8(service, MAX_SERVICE_LEN), Some(NormalizeIssue::TooLong)) } else { (service, None) };
    let value = normalize_tag_value(service);
    if value.is_empty() {
        return Normalized { value: fallback_service(lang), issue: Some(NormalizeIssue::Invalid) };
    }
    Normalized { value, issue }
}

/// `NormalizePeerService` (also for `_dd.base_service`): like a service, empty when invalid.
pub fn normalize_peer_service(service: &str) -> Normalized {
    if service.is_empty() {
        return Normalized { value: String::new(), issue: None };
    }
    let (service, issue) =
        if service.len() > MAX_SERVICE_LEN { (truncate_utf8(service, MAX_SERVICE_LEN), Some(NormalizeIssue::TooLong)) } else { (service, None) };
    let value = normalize_tag_value(service);
    if value.is_empty() {
        return Normalized { value, issue: Some(NormalizeIssue::Invalid) };
    }
    Normalized { value, issue }
}

fn is_valid_ascii_start_char(c: u8) -> bool {
    c.is_ascii_lowercase() || c == b':'
}

fn is_valid_ascii_tag_char(c: u8) -> bool {
    is_valid_ascii_start_char(c) || c.is_ascii_digit() || c == b'.' || c == b'/' || c == b'-'
}

/// `isNormalizedASCIITag`. Lengths here are JS string lengths; the fast path only accepts
/// ASCII, where they equal byte lengths.
fn is_normalized_ascii_tag(tag: &[u8], check_start: bool) -> bool {
    if tag.is_empty() {
        return true;
    }
    if tag.len() > MAX_TAG_LEN {
        return false;
    }
    let mut i = 0;
    if check_start {
        if !is_valid_ascii_start_char(tag[0]) {
            return false;
        }
        i = 1;
    }
    while i < tag.len() {
        let b = tag[i];
        if !is_valid_ascii_tag_char(b) {
            if b != b'_' {
                return false;
            }
            i += 1;
            if i == tag.len() || !is_valid_ascii_tag_char(tag[i]) {
                return false;
            }
        }
        i += 1;
    }
    true
}

fn is_letter(c: char) -> bool {
    matches!(get_general_category(c), G::UppercaseLetter | G::LowercaseLetter | G::TitlecaseLetter | G::ModifierLetter | G::OtherLetter)
}

/// `normalize(v, removeDigitStartChar)`: lower-case; letters, digits, `:` `.` `/` `-` kept;
/// each run of anything else becomes one `_`, a run at the end dropped; stops after 200
/// characters or 400 bytes. As a tag, leading non-letters are trimmed.
fn normalize_tag_text(v: &str, remove_digit_start_char: bool) -> String {
    if is_normalized_ascii_tag(v.as_bytes(), remove_digit_start_char) {
        return v.to_string();
    }
    let mut out = String::with_capacity(v.len());
    let mut chars = 0;
    let mut bytes = 0;
    let mut in_cut = false;
    for c in v.chars() {
        let width = c.len_utf8();
        if c.is_ascii_lowercase() || c == ':' {
            chars += 1;
            out.push(c);
            in_cut = false;
        } else if c.is_ascii_uppercase() {
            chars += 1;
            out.push(c.to_ascii_lowercase());
            in_cut = false;
        } else {
            let mut piece = c;
            if get_general_category(c) == G::UppercaseLetter {
                // Go lower-cases only when the lower-case rune has the same UTF-8 width.
                let mut lower = c.to_lowercase();
                if let (Some(l), None) = (lower.next(), lower.next()) {
                    if l.len_utf8() == width && l.len_utf16() == c.len_utf16() {
                        piece = l;
                    }
                }
            }
            if is_letter(piece) {
                chars += 1;
                out.push(piece);
                in_cut = false;
            } else if remove_digit_start_char && chars == 0 {
                // Trimmed: cannot start a tag.
            } else if get_general_category(piece) == G::DecimalNumber || piece == '.' || piece == '/' || piece == '-' {
                chars += 1;
                out.push(piece);
                in_cut = false;
            } else {
                chars += 1;
                if !in_cut {
                    out.push('_');
                }
                in_cut = true;
            }
        }
        bytes += width;
        if bytes >= 2 * MAX_TAG_LEN || chars >= MAX_TAG_LEN {
            break;
        }
    }
    if in_cut {
        out.pop();
    }
    out
}

/// `NormalizeTag`: a full `key:value` tag.
pub fn normalize_tag(v: &str) -> String {
    normalize_tag_text(v, true)
}

/// `NormalizeTagValue`: the value part only (may start with a digit).
pub fn normalize_tag_value(v: &str) -> String {
    normalize_tag_text(v, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_on_character_boundaries() {
        assert_eq!(truncate_utf8("héllo", 2), "h");
        assert_eq!(truncate_utf8("héllo", 3), "hé");
        assert_eq!(truncate_utf8("abc", 10), "abc");
    }

    #[test]
    fn normalizes_names_services_and_tags() {
        assert_eq!(normalize_name("web__.request").value, "web.request");
        assert_eq!(normalize_name("!!!").issue, Some(NormalizeIssue::Invalid));
        assert_eq!(normalize_service("", Some("nodejs")).value, "unnamed-nodejs-service");
        assert_eq!(normalize_tag("Test Conversion Of Weird !@#$%^&**() Characters"), "test_conversion_of_weird_characters");
        assert_eq!(normalize_tag_value("Prod Env"), "prod_env");
        assert_eq!(normalize_peer_service("!!!").issue, Some(NormalizeIssue::Invalid));
    }
}
