//! Sanitizes event data before it is stored (DESIGN.md §5): a line-by-line port of
//! `packages/core/src/privacy.ts`, whose header comment is the full rule set, specified by
//! `test/vectors/privacy.json`.
//!
//! Within one string the order is: flag and query redaction, then home directory, then e-mails.
//! Object keys get the home directory and e-mail rules only; redaction looks at the original key.
//!
//! JS strings are UTF-16 and these are UTF-8, but every rule tests ASCII classes only, so the
//! scans run over bytes where the TS code reads char codes: a byte of a multi-byte character is
//! never ASCII, just as a non-ASCII UTF-16 unit is not, and every cut falls next to an ASCII
//! byte, so non-ASCII text passes through untouched. No rule depends on a string's length.
//!
//! Not ported: the TS per-sanitizer caches of redact decisions and e-mail tokens. They change no
//! output, and here they would need a lock on every lookup for a `Sanitizer` shared by threads.

use std::borrow::Cow;
use std::collections::HashSet;

use serde_json::Value;

use crate::ids::sha256_hex;
use crate::types::JsonObject;

pub const REDACTED: &str = "<redacted>";

/// The builder's default `redactKeys` (`DEFAULT_REDACT_KEYS` in `packages/core/src/config.ts`).
pub const DEFAULT_REDACT_KEYS: [&str; 6] = [
    "token",
    "password",
    "secret",
    "key",
    "authorization",
    "cookie",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SanitizeOptions {
    /// Replaced by `~` on path boundaries; `None`, empty or a root (`/`, `C:\`) disables that.
    pub home_dir: Option<String>,
    pub sanitize_paths: bool,
    pub sanitize_emails: bool,
    pub redact_keys: Vec<String>,
    /// Salts the e-mail hash (the engine passes the install id).
    pub email_salt: String,
}

/// The options, precompiled. Immutable, so one sanitizer can serve every thread.
#[derive(Debug, Clone)]
pub struct Sanitizer {
    redact: RedactWords,
    home: Option<HomeNeedle>,
    sanitize_emails: bool,
    salt: String,
}

impl Sanitizer {
    pub fn new(options: &SanitizeOptions) -> Sanitizer {
        Sanitizer {
            redact: compile_redact_keys(&options.redact_keys),
            home: if options.sanitize_paths {
                compile_home_dir(options.home_dir.as_deref())
            } else {
                None
            },
            sanitize_emails: options.sanitize_emails,
            salt: options.email_salt.clone(),
        }
    }

    /// Returns a sanitized copy of an event's `data`.
    pub fn sanitize_data(&self, data: &JsonObject) -> JsonObject {
        self.sanitize_object(data)
    }

    pub fn sanitize_value(&self, value: &Value) -> Value {
        match value {
            Value::String(text) => Value::String(self.sanitize_string(text)),
            Value::Array(items) => Value::Array(self.sanitize_array(items)),
            Value::Object(obj) => Value::Object(self.sanitize_object(obj)),
            Value::Null | Value::Bool(_) | Value::Number(_) => value.clone(),
        }
    }

    pub fn sanitize_string(&self, value: &str) -> String {
        let out = redact_flags(value, |name| self.is_redacted_key(name));
        let out = redact_query_values(&out, |name| self.is_redacted_key(name));
        self.sanitize_key_cow(&out).into_owned()
    }

    /// Home directory and e-mail rules only: keys are never redacted, their values are.
    pub fn sanitize_key(&self, key: &str) -> String {
        self.sanitize_key_cow(key).into_owned()
    }

    /// Whether values under `key` are redacted (the word rule of [`key_words`]).
    pub fn is_redacted_key(&self, key: &str) -> bool {
        matches_redact_words(key, &self.redact)
    }

    fn sanitize_key_cow<'a>(&self, key: &'a str) -> Cow<'a, str> {
        let out = match &self.home {
            Some(home) => replace_home_dir(key, home),
            None => Cow::Borrowed(key),
        };
        if !self.sanitize_emails {
            return out;
        }
        let replaced = match replace_emails(&out, |email| email_token(email, &self.salt)) {
            Cow::Borrowed(_) => None,
            Cow::Owned(replaced) => Some(replaced),
        };
        replaced.map_or(out, Cow::Owned)
    }

    fn sanitize_array(&self, array: &[Value]) -> Vec<Value> {
        let mut out = Vec::with_capacity(array.len());
        let mut i = 0;
        while i < array.len() {
            let item = &array[i];
            out.push(self.sanitize_value(item));
            // `["--token", "abc"]`: the flag's value is the next element, unless that is another flag.
            if let (Value::String(text), Some(next)) = (item, array.get(i + 1)) {
                let redacts_next =
                    bare_flag_name(text).is_some_and(|name| self.is_redacted_key(name));
                let next_is_flag = matches!(next, Value::String(next) if next.starts_with('-'));
                if redacts_next && !next_is_flag {
                    out.push(Value::String(REDACTED.to_owned()));
                    i += 1;
                }
            }
            i += 1;
        }
        out
    }

    fn sanitize_object(&self, obj: &JsonObject) -> JsonObject {
        let mut out = JsonObject::new();
        // Two keys that sanitize to the same text (`/home/u/x` and `~/x`): the later value wins,
        // at the earlier key's position, which is what assigning an existing key does in JS and
        // what `insert` does on an insertion-ordered map.
        for (key, value) in obj {
            let sanitized = if self.is_redacted_key(key) {
                Value::String(REDACTED.to_owned())
            } else {
                self.sanitize_value(value)
            };
            out.insert(self.sanitize_key(key), sanitized);
        }
        js_key_order(out)
    }
}

/// A JS object lists array-index keys (`"0"`, `"42"`) first, in numeric order, then the others
/// in insertion order. The TS sanitizer's output is such an object, so to serialize to the same
/// bytes whatever order the input map had, the index keys move to the front here too.
fn js_key_order(obj: JsonObject) -> JsonObject {
    if !obj.keys().any(|key| array_index(key).is_some()) {
        return obj;
    }
    let mut entries: Vec<(String, Value)> = obj.into_iter().collect();
    // Stable: keys that are not indexes keep their relative order.
    entries.sort_by_key(|(key, _)| array_index(key).map_or((1, 0), |index| (0, index)));
    entries.into_iter().collect()
}

/// The value of a canonical array index (`0` or `[1-9][0-9]*` up to 2^32 − 2), else `None`.
fn array_index(key: &str) -> Option<u64> {
    let bytes = key.as_bytes();
    if bytes.is_empty()
        || bytes.len() > 10
        || !bytes.iter().all(u8::is_ascii_digit)
        || (bytes.len() > 1 && bytes[0] == b'0')
    {
        return None;
    }
    key.parse::<u64>()
        .ok()
        .filter(|&index| index <= 4_294_967_294)
}

/// `<email:` + first 8 hex of sha256(utf8(salt + ":" + lowercased email)) + `>`.
pub fn email_token(email: &str, salt: &str) -> String {
    let digest = sha256_hex(&format!("{salt}:{}", email.to_lowercase()));
    format!("<email:{}>", &digest[..8])
}

// ---- Character classes (ASCII only, so every backend agrees) ----

fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// Space, \t, \n, \v, \f, \r. Not `u8::is_ascii_whitespace`, which omits \v.
fn is_ws(b: u8) -> bool {
    b == b' ' || (0x09..=0x0d).contains(&b)
}

/// The byte at `i`, or 0 past the end. 0 belongs to no class used here, like the NaN that
/// `charCodeAt` returns past the end in TS.
fn at(bytes: &[u8], i: usize) -> u8 {
    bytes.get(i).copied().unwrap_or(0)
}

fn find_byte(bytes: &[u8], needle: u8, from: usize) -> Option<usize> {
    bytes
        .get(from..)?
        .iter()
        .position(|&b| b == needle)
        .map(|p| p + from)
}

fn find_bytes(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let first = *needle.first()?;
    let mut i = from;
    while let Some(start) = find_byte(haystack, first, i) {
        if haystack.get(start..start + needle.len()) == Some(needle) {
            return Some(start);
        }
        i = start + 1;
    }
    None
}

/// `value[start..end]`. Every cut in this module is next to an ASCII byte or at an end, so it is
/// a char boundary; the empty fallback only keeps a logic error from becoming a panic.
fn slice(value: &str, start: usize, end: usize) -> &str {
    value.get(start..end).unwrap_or("")
}

/// Assembles a rewritten string from slices of the original and replacement text.
struct Splicer<'a> {
    value: &'a str,
    out: String,
    copied: usize,
}

impl<'a> Splicer<'a> {
    fn new(value: &'a str) -> Splicer<'a> {
        Splicer {
            value,
            out: String::new(),
            copied: 0,
        }
    }

    /// Copies the original up to `upto`, appends `replacement`, and skips the original to `resume`.
    fn replace(&mut self, upto: usize, replacement: &str, resume: usize) {
        self.out.push_str(slice(self.value, self.copied, upto));
        self.out.push_str(replacement);
        self.copied = resume;
    }

    fn finish(mut self) -> Cow<'a, str> {
        // Every replacement resumes past at least one byte, so `copied == 0` means none happened.
        if self.copied == 0 {
            return Cow::Borrowed(self.value);
        }
        self.out
            .push_str(slice(self.value, self.copied, self.value.len()));
        Cow::Owned(self.out)
    }
}

// ---- Redact keys ----

#[derive(Debug, Clone)]
struct RedactWords {
    entries: HashSet<String>,
    longest: usize,
}

fn compile_redact_keys(redact_keys: &[String]) -> RedactWords {
    let mut entries = HashSet::new();
    let mut longest = 0;
    for key in redact_keys {
        let entry: String = key
            .bytes()
            .filter(|b| is_alnum(*b))
            .map(|b| char::from(b.to_ascii_lowercase()))
            .collect();
        if entry.is_empty() {
            continue;
        }
        longest = longest.max(entry.len());
        entries.insert(entry);
    }
    RedactWords { entries, longest }
}

fn starts_new_word(key: &[u8], i: usize) -> bool {
    let code = key[i];
    if !code.is_ascii_uppercase() {
        return false;
    }
    let prev = key[i - 1];
    if prev.is_ascii_lowercase() || prev.is_ascii_digit() {
        return true;
    }
    prev.is_ascii_uppercase() && at(key, i + 1).is_ascii_lowercase()
}

/// Lowercase ASCII words of a key: anything that is not an ASCII letter or digit separates, and
/// a word also ends at a camelCase boundary (lower or digit → upper, and before the last capital
/// of an acronym: `APIKey` → api, key).
pub fn key_words(key: &str) -> Vec<String> {
    let bytes = key.as_bytes();
    let mut words = Vec::new();
    let mut start: Option<usize> = None;
    for i in 0..bytes.len() {
        match start {
            _ if !is_alnum(bytes[i]) => {
                if let Some(s) = start.take() {
                    words.push(slice(key, s, i).to_ascii_lowercase());
                }
            }
            None => start = Some(i),
            Some(s) => {
                if starts_new_word(bytes, i) {
                    words.push(slice(key, s, i).to_ascii_lowercase());
                    start = Some(i);
                }
            }
        }
    }
    if let Some(s) = start {
        words.push(slice(key, s, bytes.len()).to_ascii_lowercase());
    }
    words
}

/// The key matches when a contiguous run of its words, joined, equals an entry.
fn matches_redact_words(key: &str, redact: &RedactWords) -> bool {
    if redact.entries.is_empty() {
        return false;
    }
    let words = key_words(key);
    for i in 0..words.len() {
        let mut joined = String::new();
        for word in &words[i..] {
            joined.push_str(word);
            if joined.len() > redact.longest {
                break;
            }
            if redact.entries.contains(&joined) {
                return true;
            }
        }
    }
    false
}

// ---- Flags: `--token=abc`, `--token abc` inside a string, and `["--token", "abc"]` ----

fn is_flag_name_char(b: u8) -> bool {
    is_alnum(b) || b == b'_' || b == b'.' || b == b'-'
}

/// Parses `-{1,2}[A-Za-z0-9][A-Za-z0-9_.-]*` starting exactly at `start`; returns where the name
/// starts and the index just past it. A name never contains whitespace, so the scan stops inside
/// the word it starts in.
fn scan_flag_name(bytes: &[u8], start: usize) -> Option<(usize, usize)> {
    if at(bytes, start) != b'-' {
        return None;
    }
    let first = if at(bytes, start + 1) == b'-' {
        start + 2
    } else {
        start + 1
    };
    if !is_alnum(at(bytes, first)) {
        return None;
    }
    let mut end = first + 1;
    while end < bytes.len() && is_flag_name_char(bytes[end]) {
        end += 1;
    }
    Some((first, end))
}

/// Index of the first ASCII whitespace byte at or after `from`, or the length.
fn word_end(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    while i < bytes.len() && !is_ws(bytes[i]) {
        i += 1;
    }
    i
}

/// Flag redaction within one string (rules 1 and 2 of the TS header comment).
fn redact_flags(value: &str, is_redacted: impl Fn(&str) -> bool) -> Cow<'_, str> {
    let bytes = value.as_bytes();
    // Fast path: every flag starts with `-`, and most strings contain none.
    let mut dash = find_byte(bytes, b'-', 0);
    if dash.is_none() {
        return Cow::Borrowed(value);
    }
    let mut out = Splicer::new(value);
    while let Some(d) = dash {
        if d > 0 && !is_ws(bytes[d - 1]) {
            dash = find_byte(bytes, b'-', d + 1);
            continue;
        }
        match scan_flag_name(bytes, d) {
            Some((name_start, end)) if at(bytes, end) == b'=' => {
                // `-{1,2}NAME=VALUE`
                let value_end = word_end(bytes, end + 1);
                if is_redacted(slice(value, name_start, end)) {
                    // Rule 1: the string itself is the flag, so its value runs to the end of the
                    // string: a multi-line secret passed as one argument must not escape.
                    if d == 0 {
                        return Cow::Owned(format!("{}{REDACTED}", slice(value, 0, end + 1)));
                    }
                    out.replace(end + 1, REDACTED, value_end);
                }
                dash = find_byte(bytes, b'-', value_end);
            }
            // `-{1,2}NAME` at the very end: nothing follows it.
            Some((_, end)) if end == bytes.len() => break,
            Some((name_start, end)) if is_ws(bytes[end]) => {
                // `-{1,2}NAME`, then whitespace: look at the next word.
                let mut next = end + 1;
                while next < bytes.len() && is_ws(bytes[next]) {
                    next += 1;
                }
                if next < bytes.len()
                    && bytes[next] != b'-'
                    && is_redacted(slice(value, name_start, end))
                {
                    let next_end = word_end(bytes, next + 1);
                    out.replace(next, REDACTED, next_end);
                    dash = find_byte(bytes, b'-', next_end);
                } else {
                    dash = find_byte(bytes, b'-', next);
                }
            }
            // Not a flag word: skip the rest of it.
            _ => dash = find_byte(bytes, b'-', word_end(bytes, d + 1)),
        }
    }
    out.finish()
}

/// The NAME of a string that is exactly `-NAME` or `--NAME`, else `None`.
fn bare_flag_name(value: &str) -> Option<&str> {
    match scan_flag_name(value.as_bytes(), 0) {
        Some((name_start, end)) if end == value.len() => Some(slice(value, name_start, end)),
        _ => None,
    }
}

// ---- Query parameters: `?token=abc&page=2` ----

fn is_query_key_char(b: u8) -> bool {
    b != b'=' && b != b'&' && b != b'#' && b != b'?' && !is_ws(b)
}

fn is_query_value_end(b: u8) -> bool {
    b == b'&' || b == b'#' || is_ws(b)
}

/// After each `?` or `&`: a key (one or more bytes other than `=&#?` and ASCII whitespace) then
/// `=`. When the key is redacted its value, up to the next `&`, `#`, ASCII whitespace or the
/// end, becomes `<redacted>` (even when empty) and the scan resumes after it. Otherwise the scan
/// resumes right after the `?`/`&`, so `?next=/a?token=x` still finds the nested `token`.
fn redact_query_values(value: &str, is_redacted: impl Fn(&str) -> bool) -> Cow<'_, str> {
    let bytes = value.as_bytes();
    if !bytes.iter().any(|&b| b == b'?' || b == b'&') {
        return Cow::Borrowed(value);
    }
    let mut out = Splicer::new(value);
    let mut i = 0;
    while i < bytes.len() {
        let code = bytes[i];
        if code == b'?' || code == b'&' {
            let mut key_end = i + 1;
            while key_end < bytes.len() && is_query_key_char(bytes[key_end]) {
                key_end += 1;
            }
            if key_end > i + 1
                && at(bytes, key_end) == b'='
                && is_redacted(slice(value, i + 1, key_end))
            {
                let mut value_end = key_end + 1;
                while value_end < bytes.len() && !is_query_value_end(bytes[value_end]) {
                    value_end += 1;
                }
                out.replace(key_end + 1, REDACTED, value_end);
                i = value_end;
                continue;
            }
        }
        i += 1;
    }
    out.finish()
}

// ---- Home directory ----

#[derive(Debug, Clone)]
struct HomeNeedle {
    text: Vec<u8>,
    /// Windows: ASCII case-insensitive, with `/` and `\` interchangeable.
    folded: bool,
}

fn compile_home_dir(home_dir: Option<&str>) -> Option<HomeNeedle> {
    let home_dir = home_dir?;
    let folded = home_dir.contains('\\');
    let text = home_dir.trim_end_matches(['/', '\\']);
    // A root (`/`, `C:\`) would match nearly every path and say nothing about the user.
    let drive =
        text.len() == 2 && text.as_bytes()[0].is_ascii_alphabetic() && text.as_bytes()[1] == b':';
    if text.is_empty() || (folded && drive) {
        return None;
    }
    let text = if folded {
        fold_path(text.as_bytes())
    } else {
        text.as_bytes().to_vec()
    };
    Some(HomeNeedle { text, folded })
}

/// Lowercases ASCII letters and maps `\` to `/`; one byte per byte, so indexes still line up.
fn fold_path(value: &[u8]) -> Vec<u8> {
    value
        .iter()
        .map(|&b| {
            if b == b'\\' {
                b'/'
            } else {
                b.to_ascii_lowercase()
            }
        })
        .collect()
}

/// Bytes that continue a path name, so a match next to one is not on a boundary.
fn is_path_name_char(b: u8) -> bool {
    is_alnum(b) || b == b'_' || b == b'.' || b == b'-' || b == b'~'
}

/// Whether the byte at `index` is a boundary; `None` (before the start) and the end are.
fn on_boundary(bytes: &[u8], index: Option<usize>) -> bool {
    index
        .and_then(|i| bytes.get(i))
        .is_none_or(|&b| !is_path_name_char(b))
}

/// Replaces each occurrence of the home directory with `~`, left to right without overlaps, when
/// the bytes on both sides (in the original string) are boundaries: `/home/u` must not rewrite
/// `/home/user2` or `/home/u.bak`.
fn replace_home_dir<'a>(value: &'a str, home: &HomeNeedle) -> Cow<'a, str> {
    let bytes = value.as_bytes();
    if bytes.len() < home.text.len() {
        return Cow::Borrowed(value);
    }
    let haystack: Cow<'_, [u8]> = if home.folded {
        Cow::Owned(fold_path(bytes))
    } else {
        Cow::Borrowed(bytes)
    };
    let mut index = find_bytes(&haystack, &home.text, 0);
    if index.is_none() {
        return Cow::Borrowed(value);
    }
    let mut out = Splicer::new(value);
    while let Some(i) = index {
        let end = i + home.text.len();
        if on_boundary(bytes, i.checked_sub(1)) && on_boundary(bytes, Some(end)) {
            out.replace(i, "~", end);
            index = find_bytes(&haystack, &home.text, end);
        } else {
            index = find_bytes(&haystack, &home.text, i + 1);
        }
    }
    out.finish()
}

// ---- E-mail addresses ----

/// `[A-Za-z0-9._%+-]`
fn is_local_part_char(b: u8) -> bool {
    is_alnum(b) || b == b'.' || b == b'_' || b == b'%' || b == b'+' || b == b'-'
}

fn is_label_char(b: u8) -> bool {
    is_alnum(b) || b == b'-'
}

/// Given the index just past an `@`, returns where a domain matching
/// `[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}` ends. With a backtracking regex that is the
/// end of the leading letters of the last label (not the first) that starts with at least two
/// letters: `a@b.com2` → `a@b.com`.
fn domain_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    while i < bytes.len() && is_label_char(bytes[i]) {
        i += 1;
    }
    if i == start {
        return None;
    }
    let mut end = None;
    while at(bytes, i) == b'.' && is_label_char(at(bytes, i + 1)) {
        let mut j = i + 1;
        while at(bytes, j).is_ascii_alphabetic() {
            j += 1;
        }
        if j - (i + 1) >= 2 {
            end = Some(j);
        }
        while is_label_char(at(bytes, j)) {
            j += 1;
        }
        i = j;
    }
    end
}

/// Replaces every match of `[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`
/// exactly as a global regex search would, in linear time. Neither side contains `@`, so the
/// leftmost match is found from the first `@` that has a valid domain, with the local part being
/// the run of local-part bytes before it (not reaching back into the previous match).
fn replace_emails<'a>(value: &'a str, token: impl Fn(&str) -> String) -> Cow<'a, str> {
    let bytes = value.as_bytes();
    let mut at_sign = find_byte(bytes, b'@', 0);
    if at_sign.is_none() {
        return Cow::Borrowed(value);
    }
    let mut out = Splicer::new(value);
    while let Some(a) = at_sign {
        let mut start = a;
        while start > out.copied && is_local_part_char(bytes[start - 1]) {
            start -= 1;
        }
        match if start < a {
            domain_end(bytes, a + 1)
        } else {
            None
        } {
            Some(end) => {
                out.replace(start, &token(slice(value, start, end)), end);
                at_sign = find_byte(bytes, b'@', end);
            }
            None => at_sign = find_byte(bytes, b'@', a + 1),
        }
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SALT: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

    fn options() -> SanitizeOptions {
        SanitizeOptions {
            home_dir: Some("/home/alice".to_owned()),
            sanitize_paths: true,
            sanitize_emails: true,
            redact_keys: DEFAULT_REDACT_KEYS
                .iter()
                .map(|k| (*k).to_owned())
                .collect(),
            email_salt: SALT.to_owned(),
        }
    }

    fn is_redacted_key(key: &str, redact_keys: &[&str]) -> bool {
        let keys: Vec<String> = redact_keys.iter().map(|k| (*k).to_owned()).collect();
        matches_redact_words(key, &compile_redact_keys(&keys))
    }

    fn object(value: Value) -> JsonObject {
        match value {
            Value::Object(obj) => obj,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn email_token_known_answers() {
        assert_eq!(email_token("alice@example.com", SALT), "<email:e621d5f8>");
        assert_eq!(email_token("Alice@Example.COM", SALT), "<email:e621d5f8>");
        assert_eq!(email_token("bob@example.org", "salt"), "<email:6cdf4a9e>");
        assert_eq!(email_token("x@y.io", "sél"), "<email:8998e0df>");
    }

    #[test]
    fn matches_the_default_keys_by_words() {
        for key in [
            "token",
            "apiKey",
            "api_key",
            "x-api-key",
            "X-API-Key",
            "Authorization",
            "authToken",
            "SET_COOKIE",
            "clientSecret",
            "password",
            "APIKey",
            "oauth2Token",
            "db.password",
        ] {
            assert!(is_redacted_key(key, &DEFAULT_REDACT_KEYS), "{key}");
        }
    }

    #[test]
    fn does_not_match_lookalikes_and_plurals() {
        for key in [
            "keyboard",
            "monkey",
            "tokenizer",
            "secretary",
            "passwords",
            "keys",
            "tokens",
            "token2",
            "",
        ] {
            assert!(!is_redacted_key(key, &DEFAULT_REDACT_KEYS), "{key}");
        }
    }

    #[test]
    fn normalizes_redact_entries_and_joins_runs_of_words() {
        assert!(is_redacted_key("apiKey", &["api_key"]));
        assert!(is_redacted_key("myApiKeyValue", &["API-KEY"]));
        assert!(!is_redacted_key("key", &["api_key"]));
        assert!(!is_redacted_key("anything", &["__", ""]));
        assert!(!is_redacted_key("token", &[]));
        // Non-ASCII letters separate words, and a run of words joins: t + k + n.
        assert!(is_redacted_key("tökén", &["tkn"]));
    }

    #[test]
    fn splits_keys_into_words() {
        assert_eq!(key_words("apiKey"), ["api", "key"]);
        assert_eq!(key_words("X-API-Key"), ["x", "api", "key"]);
        assert_eq!(key_words("access_token"), ["access", "token"]);
        assert_eq!(key_words("XMLHttpRequest"), ["xml", "http", "request"]);
        assert_eq!(key_words("oauth2Token"), ["oauth2", "token"]);
        assert_eq!(key_words("token2"), ["token2"]);
        assert_eq!(key_words("__a..b__"), ["a", "b"]);
        assert_eq!(key_words("tökén"), ["t", "k", "n"]);
        assert_eq!(key_words("ABc"), ["a", "bc"]);
        assert!(key_words("").is_empty());
    }

    #[test]
    fn sanitizes_values_outside_an_object() {
        let s = Sanitizer::new(&options());
        assert_eq!(
            s.sanitize_string("/home/alice/x?token=1"),
            "~/x?token=<redacted>"
        );
        assert_eq!(
            s.sanitize_value(&json!(["--password", "p", 3, null])),
            json!(["--password", REDACTED, 3, null])
        );
        assert_eq!(s.sanitize_value(&json!(7)), json!(7));
        assert_eq!(s.sanitize_value(&Value::Null), Value::Null);
        assert_eq!(
            s.sanitize_key("/home/alice/k?token=1 a@b.io"),
            format!("~/k?token=1 {}", email_token("a@b.io", SALT))
        );
    }

    #[test]
    fn nested_input_is_copied_not_mutated() {
        let input = object(json!({
            "/home/alice/a": { "token": "x", "list": ["--secret", "s", { "mail": "a@b.io" }] },
            "keep": [1, 2],
        }));
        let snapshot = input.clone();
        let out = Sanitizer::new(&options()).sanitize_data(&input);
        assert_eq!(input, snapshot);
        assert_eq!(
            Value::Object(out),
            json!({
                "~/a": { "token": REDACTED, "list": ["--secret", REDACTED, { "mail": email_token("a@b.io", SALT) }] },
                "keep": [1, 2],
            })
        );
    }

    #[test]
    fn values_of_redacted_keys_replace_any_json_type() {
        let s = Sanitizer::new(&options());
        for value in [
            json!({"a": 1}),
            json!([1]),
            Value::Null,
            json!(0),
            json!(false),
            json!(""),
        ] {
            let out = s.sanitize_data(&object(json!({ "secret": value })));
            assert_eq!(Value::Object(out), json!({ "secret": REDACTED }));
        }
    }

    #[test]
    fn colliding_keys_keep_the_first_position_and_the_last_value() {
        let s = Sanitizer::new(&options());
        let out = s.sanitize_data(&object(json!({ "/home/alice/x": 1, "b": 2, "~/x": 3 })));
        assert_eq!(serde_json::to_string(&out).unwrap(), r#"{"~/x":3,"b":2}"#);
    }

    #[test]
    fn array_index_keys_come_first_as_in_a_js_object() {
        let s = Sanitizer::new(&options());
        let input: JsonObject = serde_json::from_str(
            r#"{"b":1,"10":2,"a":3,"2":4,"01":5,"4294967295":6,"4294967294":7}"#,
        )
        .unwrap();
        let out = serde_json::to_string(&s.sanitize_data(&input)).unwrap();
        assert_eq!(
            out,
            r#"{"2":4,"10":2,"4294967294":7,"b":1,"a":3,"01":5,"4294967295":6}"#
        );
    }

    #[test]
    fn long_runs_stay_linear() {
        let s = Sanitizer::new(&options());
        let text = format!("{}@!{}", "a".repeat(200_000), "&x".repeat(50_000));
        let started = std::time::Instant::now();
        assert_eq!(s.sanitize_string(&text), text);
        for unit in [
            "--token ",
            "- ",
            "a-",
            "--token=",
            "--x y ",
            "--token x ",
            "/home/alic",
        ] {
            let text = unit.repeat(200_000 / unit.len());
            s.sanitize_string(&text);
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    // ---- Equivalence with reference implementations, on pseudo-random strings ----

    /// Deterministic pseudo-random strings over an alphabet chosen to hit the edge cases.
    fn random_strings(alphabet: &[&str], count: usize, max_length: usize) -> Vec<String> {
        let mut seed: u64 = 12345;
        let mut next = move || {
            seed = (seed.wrapping_mul(1_103_515_245).wrapping_add(12345)) % 2_147_483_648;
            seed as usize
        };
        (0..count)
            .map(|_| {
                let length = next() % (max_length + 1);
                (0..length)
                    .map(|_| alphabet[next() % alphabet.len()])
                    .collect()
            })
            .collect()
    }

    /// What `/[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g` replaces: a
    /// backtracking matcher that tries alternatives in the regex engine's order.
    fn reference_emails(text: &str, token: impl Fn(&str) -> String) -> String {
        fn run(b: &[u8], i: usize, class: fn(u8) -> bool) -> usize {
            b[i.min(b.len())..]
                .iter()
                .take_while(|&&c| class(c))
                .count()
        }
        fn group_star(b: &[u8], j: usize) -> Option<usize> {
            if at(b, j) == b'.' {
                for k in (1..=run(b, j + 1, is_label_char)).rev() {
                    if let Some(e) = group_star(b, j + 1 + k) {
                        return Some(e);
                    }
                }
                let letters = run(b, j + 1, |c| c.is_ascii_alphabetic());
                if letters >= 2 {
                    return Some(j + 1 + letters);
                }
            }
            None
        }
        fn match_at(b: &[u8], s: usize) -> Option<usize> {
            let local = run(b, s, is_local_part_char);
            if local == 0 || at(b, s + local) != b'@' {
                return None;
            }
            let d = s + local + 1;
            (1..=run(b, d, is_label_char))
                .rev()
                .find_map(|k| group_star(b, d + k))
        }
        let b = text.as_bytes();
        let (mut out, mut p, mut s) = (String::new(), 0, 0);
        while s < b.len() {
            match match_at(b, s) {
                Some(e) => {
                    out.push_str(&text[p..s]);
                    out.push_str(&token(&text[s..e]));
                    p = e;
                    s = e;
                }
                None => s += 1,
            }
        }
        out + &text[p..]
    }

    #[test]
    fn finds_the_same_emails_as_the_reference_regex() {
        let s = Sanitizer::new(&SanitizeOptions {
            sanitize_paths: false,
            redact_keys: vec![],
            ..options()
        });
        let alphabet = [
            "a", "b", "Co", "m", "1", ".", ".", "@", "@", "-", "+", "_", "%", " ", ":", "é",
        ];
        for text in random_strings(&alphabet, 20_000, 24) {
            assert_eq!(
                s.sanitize_string(&text),
                reference_emails(&text, |m| email_token(m, SALT)),
                "{text:?}"
            );
        }
    }

    /// `(?<![A-Za-z0-9_.~-])NEEDLE(?![A-Za-z0-9_.~-])` with global replace; `fold` makes the
    /// needle ASCII case-insensitive with either separator.
    fn reference_home(text: &str, needle: &str, fold: bool) -> String {
        let b = text.as_bytes();
        let n = needle.as_bytes();
        let eq = |x: u8, y: u8| {
            if fold {
                fold_path(&[x]) == fold_path(&[y])
            } else {
                x == y
            }
        };
        let (mut out, mut p, mut i) = (String::new(), 0, 0);
        while i + n.len() <= b.len() {
            let here = b[i..i + n.len()].iter().zip(n).all(|(&x, &y)| eq(x, y));
            let before = i == 0 || !is_path_name_char(b[i - 1]);
            let after = i + n.len() == b.len() || !is_path_name_char(b[i + n.len()]);
            if here && before && after {
                out.push_str(&text[p..i]);
                out.push('~');
                i += n.len();
                p = i;
            } else {
                i += 1;
            }
        }
        out + &text[p..]
    }

    #[test]
    fn replaces_the_home_dir_exactly_where_a_lookbehind_regex_would() {
        let s = Sanitizer::new(&SanitizeOptions {
            home_dir: Some("/h/u".to_owned()),
            sanitize_emails: false,
            redact_keys: vec![],
            ..options()
        });
        let alphabet = [
            "/h/u", "/h/u", "/h", "/u", "u", "/", "x", ".", "~", "-", " ", "\"", "\\", "é",
        ];
        for text in random_strings(&alphabet, 20_000, 10) {
            assert_eq!(
                s.sanitize_string(&text),
                reference_home(&text, "/h/u", false),
                "{text:?}"
            );
        }
    }

    #[test]
    fn matches_a_windows_home_dir_case_insensitively_with_either_separator() {
        let s = Sanitizer::new(&SanitizeOptions {
            home_dir: Some("C:\\Users\\Al".to_owned()),
            sanitize_emails: false,
            redact_keys: vec![],
            ..options()
        });
        let alphabet = [
            "C:\\Users\\Al",
            "c:/users/al",
            "C:/USERS\\aL",
            "C:",
            "\\",
            "/",
            "x",
            "l",
            " ",
            ".",
            "É",
        ];
        for text in random_strings(&alphabet, 10_000, 8) {
            assert_eq!(
                s.sanitize_string(&text),
                reference_home(&text, "c:/users/al", true),
                "{text:?}"
            );
        }
    }

    /// The split-into-words reference of the TS test: rule 1 on the whole string, else rule 2
    /// over the words (even parts) between whitespace runs (odd parts).
    fn reference_flags(text: &str, is_key: impl Fn(&str) -> bool) -> String {
        fn flag(word: &str) -> Option<(&str, &str)> {
            let (name_start, end) = scan_flag_name(word.as_bytes(), 0)?;
            Some((&word[name_start..end], &word[end..]))
        }
        if let Some((name, rest)) = flag(text) {
            if rest.starts_with('=') && is_key(name) {
                return format!("{}{REDACTED}", &text[..text.len() - rest.len() + 1]);
            }
        }
        let mut parts: Vec<String> = Vec::new();
        let mut current = String::new();
        let mut in_ws = false;
        for c in text.chars() {
            let ws = c.is_ascii() && is_ws(c as u8);
            if ws != in_ws {
                parts.push(std::mem::take(&mut current));
                in_ws = ws;
            }
            current.push(c);
        }
        parts.push(current);
        let mut i = 0;
        while i < parts.len() {
            let word = parts[i].clone();
            match flag(&word) {
                Some((name, rest)) if rest.starts_with('=') && is_key(name) => {
                    parts[i] = format!("{}{REDACTED}", &word[..word.len() - rest.len() + 1]);
                }
                // A bare flag: the next word is its value unless missing or another flag.
                Some((name, ""))
                    if is_key(name)
                        && parts
                            .get(i + 2)
                            .is_some_and(|next| !next.is_empty() && !next.starts_with('-')) =>
                {
                    parts[i + 2] = REDACTED.to_owned();
                    i += 2;
                }
                _ => {}
            }
            i += 2;
        }
        parts.concat()
    }

    #[test]
    fn redacts_flags_like_a_split_into_words_reference() {
        let keys = vec!["token".to_owned(), "p".to_owned()];
        let s = Sanitizer::new(&SanitizeOptions {
            sanitize_paths: false,
            sanitize_emails: false,
            redact_keys: keys,
            ..options()
        });
        let alphabet = [
            "--token", "-p", "--p", "-", "-", "=", "a", "token", ".", " ", " ", "\t", "\n",
            "\u{b}", "\u{a0}", "\"", "é",
        ];
        for text in random_strings(&alphabet, 20_000, 12) {
            assert_eq!(
                s.sanitize_string(&text),
                reference_flags(&text, |name| s.is_redacted_key(name)),
                "{text:?}"
            );
        }
    }
}
