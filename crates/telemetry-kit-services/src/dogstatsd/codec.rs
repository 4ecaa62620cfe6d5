//! DogStatsD datagram codec (DESIGN.md §8), pure bytes → lines, specified by
//! test/vectors/dogstatsd.json and kept identical to packages/core/src/services/dogstatsd/
//! parser.ts and event-parser.ts:
//!
//! ```text
//! name:value[:value…]|type[|@rate][|#tag,tag:v][|T<unix>][|c:<container>]
//! _e{<title bytes>,<text bytes>}:<title>|<text>[|d:<unix>][|h:<host>][|k:<key>][|p:normal|low]
//!     [|t:error|warning|info|success][|s:<source>][|#tags][|c:<container>]
//! _sc|<name>|<0..3>[|d:<unix>][|h:<host>][|#tags][|m:<message>][|c:<container>]
//! ```
//!
//! Framing ([`frame_lines`]) splits a datagram on `\n`, drops one trailing `\r` and skips empty
//! lines; decoding ([`decode_line`]) turns one line into a [`Line`] or a [`ParseError`] whose
//! kind names are the TS `ParseErrorKind` strings. [`decode_packet`] does both after the size
//! check. Nothing here panics on any input (a property test feeds it random bytes).

use std::borrow::Cow;

use serde::Serialize;

use super::number::{parse_decimal, parse_unsigned_int};

/// A name longer than this many UTF-8 bytes is rejected (`name_too_long`).
pub const MAX_NAME_BYTES: usize = 200;
/// More non-empty tags than this on one line → `too_many_tags`.
pub const MAX_TAGS: usize = 100;
/// A larger datagram is rejected whole with one `datagram_too_large`.
pub const MAX_DATAGRAM_BYTES: usize = 65_536;
/// `|T` takes Unix seconds of at most 10 digits.
pub const MAX_TIMESTAMP_SECONDS: u64 = 9_999_999_999;
const TIMESTAMP_DIGITS: usize = 10;
/// Event header lengths: a datagram is at most 65,536 bytes, so 6 digits cover every fit.
const LENGTH_DIGITS: usize = 6;

/// Every reason a line (or a whole datagram) is rejected; stats count each kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ParseErrorKind {
    MissingValue,
    MissingType,
    UnknownType,
    BadValue,
    BadSampleRate,
    EmptyName,
    NameTooLong,
    TooManyTags,
    BadTimestamp,
    InvalidUtf8,
    BadEvent,
    BadServiceCheck,
    DatagramTooLarge,
}

impl ParseErrorKind {
    /// In the order of the TS `PARSE_ERROR_KINDS`.
    pub const ALL: [ParseErrorKind; 13] = [
        ParseErrorKind::MissingValue,
        ParseErrorKind::MissingType,
        ParseErrorKind::UnknownType,
        ParseErrorKind::BadValue,
        ParseErrorKind::BadSampleRate,
        ParseErrorKind::EmptyName,
        ParseErrorKind::NameTooLong,
        ParseErrorKind::TooManyTags,
        ParseErrorKind::BadTimestamp,
        ParseErrorKind::InvalidUtf8,
        ParseErrorKind::BadEvent,
        ParseErrorKind::BadServiceCheck,
        ParseErrorKind::DatagramTooLarge,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ParseErrorKind::MissingValue => "missing_value",
            ParseErrorKind::MissingType => "missing_type",
            ParseErrorKind::UnknownType => "unknown_type",
            ParseErrorKind::BadValue => "bad_value",
            ParseErrorKind::BadSampleRate => "bad_sample_rate",
            ParseErrorKind::EmptyName => "empty_name",
            ParseErrorKind::NameTooLong => "name_too_long",
            ParseErrorKind::TooManyTags => "too_many_tags",
            ParseErrorKind::BadTimestamp => "bad_timestamp",
            ParseErrorKind::InvalidUtf8 => "invalid_utf8",
            ParseErrorKind::BadEvent => "bad_event",
            ParseErrorKind::BadServiceCheck => "bad_service_check",
            ParseErrorKind::DatagramTooLarge => "datagram_too_large",
        }
    }
}

/// A rejected line (lossily decoded for `invalid_utf8`), or a size note for `datagram_too_large`.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError<'a> {
    pub kind: ParseErrorKind,
    pub line: Cow<'a, str>,
}

/// `c` count, `g` gauge, `ms` timing, `h` histogram, `d` distribution, `s` set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    Count,
    Gauge,
    Timing,
    Histogram,
    Distribution,
    Set,
}

impl MetricType {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Count => "c",
            MetricType::Gauge => "g",
            MetricType::Timing => "ms",
            MetricType::Histogram => "h",
            MetricType::Distribution => "d",
            MetricType::Set => "s",
        }
    }

    fn parse(text: &[u8]) -> Option<MetricType> {
        Some(match text {
            b"c" => MetricType::Count,
            b"g" => MetricType::Gauge,
            b"h" => MetricType::Histogram,
            b"d" => MetricType::Distribution,
            b"s" => MetricType::Set,
            b"ms" => MetricType::Timing,
            _ => return None,
        })
    }
}

/// Every packed value of a line, in order. The first is held inline: packed lines are rare,
/// and the common line then costs no allocation.
#[derive(Debug, Clone, PartialEq)]
pub struct Values {
    first: f64,
    rest: Vec<f64>,
}

impl Values {
    pub fn first(&self) -> f64 {
        self.first
    }

    pub fn last(&self) -> f64 {
        self.rest.last().copied().unwrap_or(self.first)
    }

    pub fn iter(&self) -> impl Iterator<Item = f64> + '_ {
        std::iter::once(self.first).chain(self.rest.iter().copied())
    }

    pub fn to_vec(&self) -> Vec<f64> {
        self.iter().collect()
    }
}

/// One metric line, borrowing from the datagram.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSample<'a> {
    /// As received, without a namespace.
    pub name: &'a str,
    pub metric_type: MetricType,
    /// Every packed value; None for sets.
    pub values: Option<Values>,
    /// The raw text after the first `:` for sets, else None.
    pub set_value: Option<&'a str>,
    /// In (0, 1]; 1 when absent.
    pub sample_rate: f64,
    /// The tag text as received: several `|#` fields joined by `,`, empty tags still in it.
    pub raw_tags: Cow<'a, str>,
    /// `|T<unix seconds>`.
    pub timestamp: Option<u64>,
    /// `|c:<id>`.
    pub container_id: Option<&'a str>,
}

impl MetricSample<'_> {
    /// The non-empty tags, as received (not sorted, not de-duplicated).
    pub fn tags(&self) -> Vec<&str> {
        split_tags(&self.raw_tags).collect()
    }
}

/// The non-empty comma-separated tags of `text`.
pub fn split_tags(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').filter(|t| !t.is_empty())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventPriority {
    Normal,
    Low,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertType {
    Error,
    Warning,
    Info,
    Success,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `\n` escapes (backslash, n) turned into newlines.
    pub title: String,
    pub text: String,
    pub timestamp: Option<u64>,
    pub hostname: Option<String>,
    pub aggregation_key: Option<String>,
    pub priority: EventPriority,
    pub alert_type: AlertType,
    pub source_type_name: Option<String>,
    pub tags: Vec<String>,
    pub container_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceCheck {
    pub name: String,
    /// 0 ok, 1 warning, 2 critical, 3 unknown.
    pub status: u8,
    pub timestamp: Option<u64>,
    pub hostname: Option<String>,
    pub message: Option<String>,
    pub tags: Vec<String>,
    pub container_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Line<'a> {
    Metric(MetricSample<'a>),
    Event(Event),
    ServiceCheck(ServiceCheck),
}

/// Splits a datagram into its non-empty lines (`\n`, one trailing `\r` dropped).
pub fn frame_lines(datagram: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(datagram);
    std::iter::from_fn(move || loop {
        let bytes = rest?;
        let (line, next) = match memchr::memchr(b'\n', bytes) {
            Some(i) => (&bytes[..i], Some(&bytes[i + 1..])),
            None => (bytes, None),
        };
        rest = next;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.is_empty() {
            return Some(line);
        }
    })
}

/// What [`decode_packet`] yields, line by line.
pub struct Packet<'a> {
    state: PacketState<'a>,
}

enum PacketState<'a> {
    TooLarge(Option<usize>),
    /// The whole datagram is valid UTF-8: lines are decoded without validating them again.
    Text(Option<&'a str>),
    /// Some bytes are not UTF-8: each line is validated, only the bad ones are rejected.
    Bytes(Option<&'a [u8]>),
}

impl<'a> Iterator for Packet<'a> {
    type Item = Result<Line<'a>, ParseError<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.state {
            PacketState::TooLarge(size) => size
                .take()
                .map(|bytes| Err(ParseError { kind: ParseErrorKind::DatagramTooLarge, line: Cow::Owned(format!("{bytes} bytes")) })),
            PacketState::Text(rest) => loop {
                let text = (*rest)?;
                let (line, next) = match memchr::memchr(b'\n', text.as_bytes()) {
                    Some(i) => (&text[..i], Some(&text[i + 1..])),
                    None => (text, None),
                };
                *rest = next;
                let line = line.strip_suffix('\r').unwrap_or(line);
                if !line.is_empty() {
                    return Some(decode_str(line));
                }
            },
            PacketState::Bytes(rest) => loop {
                let bytes = (*rest)?;
                let (line, next) = match memchr::memchr(b'\n', bytes) {
                    Some(i) => (&bytes[..i], Some(&bytes[i + 1..])),
                    None => (bytes, None),
                };
                *rest = next;
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if !line.is_empty() {
                    return Some(decode_line(line));
                }
            },
        }
    }
}

/// Decodes a whole datagram: one `datagram_too_large` error when it is over 64 KiB, else one
/// result per non-empty line (as [`frame_lines`] cuts them), in order.
pub fn decode_packet(datagram: &[u8]) -> Packet<'_> {
    let state = if datagram.len() > MAX_DATAGRAM_BYTES {
        PacketState::TooLarge(Some(datagram.len()))
    } else {
        match std::str::from_utf8(datagram) {
            Ok(text) => PacketState::Text(Some(text)),
            Err(_) => PacketState::Bytes(Some(datagram)),
        }
    };
    Packet { state }
}

/// Decodes one framed line (no terminator).
pub fn decode_line(bytes: &[u8]) -> Result<Line<'_>, ParseError<'_>> {
    match std::str::from_utf8(bytes) {
        Ok(line) => decode_str(line),
        Err(_) => Err(ParseError { kind: ParseErrorKind::InvalidUtf8, line: String::from_utf8_lossy(bytes) }),
    }
}

/// Decodes one framed line already known to be UTF-8.
pub fn decode_str(line: &str) -> Result<Line<'_>, ParseError<'_>> {
    if line.starts_with("_e{") {
        return parse_event(line).map(Line::Event);
    }
    if line.starts_with("_sc|") {
        return parse_service_check(line).map(Line::ServiceCheck);
    }
    parse_metric(line).map(Line::Metric)
}

fn error(kind: ParseErrorKind, line: &str) -> ParseError<'_> {
    ParseError { kind, line: Cow::Borrowed(line) }
}

fn find(bytes: &[u8], from: usize, needle: u8) -> Option<usize> {
    memchr::memchr(needle, bytes.get(from..)?).map(|i| i + from)
}

/// Non-empty comma-separated tags in `text`, in one pass.
fn count_tags(text: &[u8]) -> usize {
    let mut count = 0;
    let mut empty = true;
    for &b in text {
        if b == b',' {
            count += usize::from(!empty);
            empty = true;
        } else {
            empty = false;
        }
    }
    count + usize::from(!empty)
}

fn parse_metric(line: &str) -> Result<MetricSample<'_>, ParseError<'_>> {
    use ParseErrorKind as K;
    let b = line.as_bytes();
    let len = b.len();
    let first_pipe = find(b, 0, b'|');
    let head_end = first_pipe.unwrap_or(len);
    let colon = match find(b, 0, b':') {
        Some(colon) if colon <= head_end => colon,
        _ => return Err(error(K::MissingValue, line)),
    };
    if colon == 0 {
        return Err(error(K::EmptyName, line));
    }
    if colon > MAX_NAME_BYTES {
        return Err(error(K::NameTooLong, line));
    }
    if colon + 1 == head_end {
        return Err(error(K::MissingValue, line));
    }
    let Some(first_pipe) = first_pipe else { return Err(error(K::MissingType, line)) };
    let type_end = find(b, first_pipe + 1, b'|').unwrap_or(len);
    let Some(metric_type) = MetricType::parse(&b[first_pipe + 1..type_end]) else {
        let kind = if type_end == first_pipe + 1 { K::MissingType } else { K::UnknownType };
        return Err(error(kind, line));
    };

    let (values, set_value) = if metric_type == MetricType::Set {
        // Sets take the raw text: a `:` inside is part of the member, as in the Agent.
        (None, Some(&line[colon + 1..head_end]))
    } else {
        let mut first = None;
        let mut rest = Vec::new();
        let mut value_start = colon + 1;
        loop {
            let value_end = match find(b, value_start, b':') {
                Some(end) if end <= head_end => end,
                _ => head_end,
            };
            let Some(value) = parse_decimal(&b[value_start..value_end]) else { return Err(error(K::BadValue, line)) };
            if first.is_none() {
                first = Some(value);
            } else {
                rest.push(value);
            }
            if value_end == head_end {
                break;
            }
            value_start = value_end + 1;
        }
        (first.map(|first| Values { first, rest }), None)
    };

    let mut sample_rate = 1.0;
    let mut raw_tags: Cow<'_, str> = Cow::Borrowed("");
    let mut tag_count = 0;
    let mut timestamp = None;
    let mut container_id = None;
    let mut field_start = type_end + 1;
    while field_start <= len {
        let field_end = find(b, field_start, b'|').unwrap_or(len);
        match b.get(field_start) {
            Some(b'@') => {
                let rate = parse_decimal(&b[field_start + 1..field_end]).unwrap_or(f64::NAN);
                if !(rate > 0.0 && rate <= 1.0) {
                    return Err(error(K::BadSampleRate, line));
                }
                sample_rate = rate;
            }
            Some(b'#') => {
                let text = &line[field_start + 1..field_end];
                let count = count_tags(text.as_bytes());
                if count > 0 {
                    tag_count += count;
                    if tag_count > MAX_TAGS {
                        return Err(error(K::TooManyTags, line));
                    }
                    raw_tags = if raw_tags.is_empty() { Cow::Borrowed(text) } else { Cow::Owned(format!("{raw_tags},{text}")) };
                }
            }
            Some(b'T') => match parse_unsigned_int(&b[field_start + 1..field_end], TIMESTAMP_DIGITS) {
                Some(seconds) if (1..=MAX_TIMESTAMP_SECONDS).contains(&seconds) => timestamp = Some(seconds),
                _ => return Err(error(K::BadTimestamp, line)),
            },
            Some(b'c') if field_start + 2 < field_end && b[field_start + 1] == b':' => {
                container_id = Some(&line[field_start + 2..field_end]);
            }
            _ => {}
        }
        field_start = field_end + 1;
    }

    Ok(MetricSample { name: &line[..colon], metric_type, values, set_value, sample_rate, raw_tags, timestamp, container_id })
}

/// Appends the non-empty tags of `text`; false once more than MAX_TAGS would be held.
fn push_tags(text: &str, tags: &mut Vec<String>) -> bool {
    for tag in split_tags(text) {
        if tags.len() == MAX_TAGS {
            return false;
        }
        tags.push(tag.to_string());
    }
    true
}

fn unescape_newlines(text: &str) -> String {
    text.replace("\\n", "\n")
}

/// The end of `count` UTF-8 bytes from `from`, when the line holds them and they end on a
/// character boundary (event header lengths count bytes).
fn advance_bytes(line: &str, from: usize, count: usize) -> Option<usize> {
    let end = from.checked_add(count)?;
    (end <= line.len() && line.is_char_boundary(end)).then_some(end)
}

fn timestamp_or(value: &[u8], fallback: Option<u64>) -> Option<u64> {
    match parse_unsigned_int(value, TIMESTAMP_DIGITS) {
        Some(seconds) if seconds >= 1 => Some(seconds),
        _ => fallback,
    }
}

/// The `x:` fields after the fixed part of an event or a service check: `(prefix, value)` per
/// field whose second byte is `:`, value None when empty; `#` fields come as `(b'#', text)`.
fn optional_fields(line: &str, mut field_start: usize) -> impl Iterator<Item = (u8, &str, usize, usize)> {
    let b = line.as_bytes();
    std::iter::from_fn(move || {
        while field_start < b.len() {
            let start = field_start;
            let end = find(b, start, b'|').unwrap_or(b.len());
            field_start = end + 1;
            let prefix = b[start];
            if prefix == b'#' {
                return Some((b'#', &line[start + 1..end], start, end));
            }
            if start + 1 < end && b[start + 1] == b':' {
                return Some((prefix, &line[start + 2..end], start, end));
            }
        }
        None
    })
}

fn non_empty(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_string())
}

fn parse_event(line: &str) -> Result<Event, ParseError<'_>> {
    let bad = || error(ParseErrorKind::BadEvent, line);
    let b = line.as_bytes();
    let comma = find(b, 3, b',');
    let brace = find(b, 3, b'}');
    let (Some(comma), Some(brace)) = (comma, brace) else { return Err(bad()) };
    if comma > brace || b.get(brace + 1) != Some(&b':') {
        return Err(bad());
    }
    let title_length = parse_unsigned_int(&b[3..comma], LENGTH_DIGITS).ok_or_else(bad)? as usize;
    let text_length = parse_unsigned_int(&b[comma + 1..brace], LENGTH_DIGITS).ok_or_else(bad)? as usize;
    if title_length < 1 {
        return Err(bad());
    }
    let title_start = brace + 2;
    let title_end = advance_bytes(line, title_start, title_length).ok_or_else(bad)?;
    if b.get(title_end) != Some(&b'|') {
        return Err(bad());
    }
    let text_start = title_end + 1;
    let text_end = advance_bytes(line, text_start, text_length).ok_or_else(bad)?;
    if text_end < b.len() && b[text_end] != b'|' {
        return Err(bad());
    }
    let mut event = Event {
        title: unescape_newlines(&line[title_start..title_end]),
        text: unescape_newlines(&line[text_start..text_end]),
        timestamp: None,
        hostname: None,
        aggregation_key: None,
        priority: EventPriority::Normal,
        alert_type: AlertType::Info,
        source_type_name: None,
        tags: Vec::new(),
        container_id: None,
    };
    for (prefix, value, _, _) in optional_fields(line, text_end + 1) {
        if prefix == b'#' {
            if !push_tags(value, &mut event.tags) {
                return Err(error(ParseErrorKind::TooManyTags, line));
            }
            continue;
        }
        match prefix {
            b'd' => event.timestamp = timestamp_or(value.as_bytes(), event.timestamp),
            b'h' => event.hostname = non_empty(value),
            b'k' => event.aggregation_key = non_empty(value),
            b'p' => match value {
                "normal" => event.priority = EventPriority::Normal,
                "low" => event.priority = EventPriority::Low,
                _ => {}
            },
            b't' => match value {
                "error" => event.alert_type = AlertType::Error,
                "warning" => event.alert_type = AlertType::Warning,
                "info" => event.alert_type = AlertType::Info,
                "success" => event.alert_type = AlertType::Success,
                _ => {}
            },
            b's' => event.source_type_name = non_empty(value),
            b'c' => event.container_id = non_empty(value),
            _ => {}
        }
    }
    Ok(event)
}

fn parse_service_check(line: &str) -> Result<ServiceCheck, ParseError<'_>> {
    let bad = || error(ParseErrorKind::BadServiceCheck, line);
    let b = line.as_bytes();
    let name_start = 4;
    let name_end = find(b, name_start, b'|').ok_or_else(bad)?;
    if name_end == name_start {
        return Err(bad());
    }
    let status_end = find(b, name_end + 1, b'|').unwrap_or(b.len());
    let status = match b.get(name_end + 1) {
        Some(d @ b'0'..=b'3') if status_end == name_end + 2 => d - b'0',
        _ => return Err(bad()),
    };
    let mut check = ServiceCheck {
        name: line[name_start..name_end].to_string(),
        status,
        timestamp: None,
        hostname: None,
        message: None,
        tags: Vec::new(),
        container_id: None,
    };
    for (prefix, value, _, _) in optional_fields(line, status_end + 1) {
        if prefix == b'#' {
            if !push_tags(value, &mut check.tags) {
                return Err(error(ParseErrorKind::TooManyTags, line));
            }
            continue;
        }
        match prefix {
            b'd' => check.timestamp = timestamp_or(value.as_bytes(), check.timestamp),
            b'h' => check.hostname = non_empty(value),
            b'm' => check.message = non_empty(value),
            b'c' => check.container_id = non_empty(value),
            _ => {}
        }
    }
    Ok(check)
}
