//! Small helpers that reproduce JavaScript's text behaviour where the TS backend's output or
//! messages depend on it (UTF-16 lengths, `String(number)`, `JSON.stringify` of a string,
//! `String.prototype.trim`), so both backends say the same thing.

/// `s.length` in JavaScript: UTF-16 code units.
pub fn utf16_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().map(char::len_utf16).sum()
    }
}

/// The whitespace `String.prototype.trim` and the regex `\s` remove: Unicode White_Space plus
/// the BOM (U+FEFF), which Rust's `char::is_whitespace` leaves out.
pub fn is_js_whitespace(c: char) -> bool {
    c.is_whitespace() || c == '\u{feff}'
}

pub fn js_trim(s: &str) -> &str {
    s.trim_matches(is_js_whitespace)
}

/// `String(n)` for a finite double, close to ECMAScript's Number::toString: integers without a
/// fraction, exponents as `1e+21` / `1e-7`.
pub fn js_number(n: f64) -> String {
    if n.is_nan() {
        return "NaN".into();
    }
    if n.is_infinite() {
        return if n > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    if n == 0.0 {
        return "0".into();
    }
    let abs = n.abs();
    if (1e-6..1e21).contains(&abs) {
        if n.fract() == 0.0 {
            return format!("{n:.0}");
        }
        return format!("{n}");
    }
    let text = format!("{n:e}");
    match text.split_once('e') {
        Some((mantissa, exponent)) if !exponent.starts_with('-') => format!("{mantissa}e+{exponent}"),
        _ => text,
    }
}

/// `JSON.stringify(s)`.
pub fn js_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| String::from("\"\""))
}

/// The first `units` UTF-16 code units of `s` (never splitting a character).
pub fn utf16_prefix(s: &str, units: usize) -> &str {
    let mut count = 0;
    for (index, c) in s.char_indices() {
        count += c.len_utf16();
        if count > units {
            return &s[..index];
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers_like_javascript() {
        assert_eq!(js_number(5.0), "5");
        assert_eq!(js_number(1.5), "1.5");
        assert_eq!(js_number(-0.0), "0");
        assert_eq!(js_number(1e21), "1e+21");
        assert_eq!(js_number(1e-7), "1e-7");
        assert_eq!(js_number(123456.0), "123456");
    }

    #[test]
    fn counts_utf16_units() {
        assert_eq!(utf16_len("abc"), 3);
        assert_eq!(utf16_len("é"), 1);
        assert_eq!(utf16_len("🐨"), 2);
        assert_eq!(utf16_prefix("a🐨b", 2), "a");
        assert_eq!(js_trim("\u{feff} x \n"), "x");
    }
}
