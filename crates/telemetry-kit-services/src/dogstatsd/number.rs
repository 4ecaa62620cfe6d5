//! The number grammar of DogStatsD values and sample rates, as the TS `parseDecimal`:
//! `[+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?`. No whitespace, hex, `_`,
//! `NaN` or `Infinity`; a value overflowing to ±Infinity is rejected. The result is the correctly
//! rounded double, so both backends agree bit for bit.

/// 10^k is exact in a double up to k = 22: m / 10^k (m < 2^53) is one correctly rounded division.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];
const MAX_FAST_DIGITS: u32 = 15;

/// The value of `text`, or None when it is not a finite number of the grammar above.
pub fn parse_decimal(text: &[u8]) -> Option<f64> {
    let len = text.len();
    let mut i = 0;
    if len == 0 {
        return None;
    }
    let negative = text[0] == b'-';
    if negative || text[0] == b'+' {
        i += 1;
    }
    let mut mantissa: u64 = 0;
    let mut digits: u32 = 0;
    let mut fraction_digits: u32 = 0;
    while i < len && text[i].is_ascii_digit() {
        mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(text[i] - b'0'));
        digits += 1;
        i += 1;
    }
    if i < len && text[i] == b'.' {
        i += 1;
        while i < len && text[i].is_ascii_digit() {
            mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(text[i] - b'0'));
            digits += 1;
            fraction_digits += 1;
            i += 1;
        }
    }
    if digits == 0 {
        return None;
    }
    let mut has_exponent = false;
    if i < len && (text[i] == b'e' || text[i] == b'E') {
        has_exponent = true;
        i += 1;
        if i < len && (text[i] == b'-' || text[i] == b'+') {
            i += 1;
        }
        let start = i;
        while i < len && text[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    if i != len {
        return None;
    }
    if !has_exponent && digits <= MAX_FAST_DIGITS {
        let magnitude = mantissa as f64;
        let magnitude = if fraction_digits == 0 { magnitude } else { magnitude / POW10[fraction_digits as usize] };
        return Some(if negative { -magnitude } else { magnitude });
    }
    // The grammar is a subset of Rust's float syntax; the text is ASCII by construction.
    let value: f64 = std::str::from_utf8(text).ok()?.parse().ok()?;
    value.is_finite().then_some(value)
}

/// `text` as an unsigned integer of 1 to `max_digits` ASCII digits (no sign), or None.
pub fn parse_unsigned_int(text: &[u8], max_digits: usize) -> Option<u64> {
    if text.is_empty() || text.len() > max_digits {
        return None;
    }
    let mut value: u64 = 0;
    for &c in text {
        if !c.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u64::from(c - b'0');
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_grammar() {
        for (text, value) in [("1", 1.0), ("-2.5", -2.5), ("+.5", 0.5), ("1.", 1.0), ("1e3", 1000.0), ("1.5E-2", 0.015), ("0.1", 0.1)] {
            assert_eq!(parse_decimal(text.as_bytes()), Some(value), "{text}");
        }
        assert_eq!(parse_decimal(b"12345678901234567890").map(f64::to_bits), Some(12345678901234567890f64.to_bits()));
        assert!(parse_decimal(b"-0").is_some_and(|v| v == 0.0 && v.is_sign_negative()));
    }

    #[test]
    fn rejects_everything_else() {
        for text in ["", "-", ".", "e5", "1e", "1e+", "NaN", "inf", "Infinity", "0x10", " 1", "1 ", "1,5", "1_000", "1e400", "--1"] {
            assert_eq!(parse_decimal(text.as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn parses_bounded_unsigned_integers() {
        assert_eq!(parse_unsigned_int(b"1700000000", 10), Some(1_700_000_000));
        assert_eq!(parse_unsigned_int(b"17000000000", 10), None);
        assert_eq!(parse_unsigned_int(b"-1", 10), None);
        assert_eq!(parse_unsigned_int(b"", 10), None);
    }
}
