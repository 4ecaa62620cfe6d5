//! Parsing one journal line the way `parseLine` in journal-consumer.ts does: the line must be
//! a JSON object with a string `event_id`; `timestamp` and `event.type` are taken when they are
//! strings ('' otherwise). Only those three values are decoded; everything else is skipped
//! without building a tree, which also keeps lines the TS side accepts (e.g. a lone UTF-16
//! surrogate escaped in `data`, which JS strings may hold) from being counted as corrupt here.

use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The columns consolidation needs from a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LineHead {
    pub(crate) event_id: String,
    pub(crate) timestamp: String,
    /// `event.type`
    pub(crate) kind: String,
}

/// Parses one line; None when it is not a usable event.
pub(crate) fn parse_line(line: &str) -> Option<LineHead> {
    let top: TopLevel = serde_json::from_str(line).ok()?;
    Some(LineHead {
        event_id: top.event_id?,
        timestamp: top.timestamp.unwrap_or_default(),
        kind: top.kind.unwrap_or_default(),
    })
}

/// The top-level object (anything else fails: arrays and scalars are corrupt lines).
struct TopLevel {
    event_id: Option<String>,
    timestamp: Option<String>,
    kind: Option<String>,
}

impl<'de> Deserialize<'de> for TopLevel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(TopLevelVisitor)
    }
}

struct TopLevelVisitor;

impl<'de> Visitor<'de> for TopLevelVisitor {
    type Value = TopLevel;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopLevel, A::Error> {
        let mut top = TopLevel {
            event_id: None,
            timestamp: None,
            kind: None,
        };
        // A repeated key replaces the earlier value, as with JSON.parse.
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "event_id" => top.event_id = map.next_value::<StringOrOther>()?.0,
                "timestamp" => top.timestamp = map.next_value::<StringOrOther>()?.0,
                "event" => top.kind = map.next_value::<EventType>()?.0,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(top)
    }
}

/// Any JSON value: Some for a string, None (consumed) for anything else.
struct StringOrOther(Option<String>);

/// Any JSON value: Some(type) for an object whose `type` is a string, None otherwise.
struct EventType(Option<String>);

impl<'de> Deserialize<'de> for StringOrOther {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(AnyValue {
                want_type_of_object: false,
            })
            .map(StringOrOther)
    }
}

impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(AnyValue {
                want_type_of_object: true,
            })
            .map(EventType)
    }
}

/// Visits any value. For a string it yields the string unless `want_type_of_object`, in which
/// case it yields the string `type` of an object.
struct AnyValue {
    want_type_of_object: bool,
}

impl<'de> Visitor<'de> for AnyValue {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E>(self, v: &str) -> Result<Option<String>, E> {
        Ok((!self.want_type_of_object).then(|| v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Option<String>, E> {
        Ok((!self.want_type_of_object).then_some(v))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Option<String>, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Option<String>, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Option<String>, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Option<String>, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Option<String>, E> {
        Ok(None)
    }

    fn visit_none<E>(self) -> Result<Option<String>, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<String>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<String>, A::Error> {
        let mut kind = None;
        while let Some(key) = map.next_key::<String>()? {
            if self.want_type_of_object && key == "type" {
                kind = map.next_value::<StringOrOther>()?.0;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(id: &str, ts: &str, kind: &str) -> Option<LineHead> {
        Some(LineHead {
            event_id: id.into(),
            timestamp: ts.into(),
            kind: kind.into(),
        })
    }

    #[test]
    fn takes_the_three_columns_with_ts_fallbacks() {
        let line = r#"{"event_id":"a","timestamp":"t","event":{"type":"command","data":{"x":[1,{"y":null}]}}}"#;
        assert_eq!(parse_line(line), head("a", "t", "command"));
        assert_eq!(
            parse_line(r#"{"event_id":"a","timestamp":5,"event":[1]}"#),
            head("a", "", "")
        );
        assert_eq!(parse_line(r#"{"event_id":"a","event":{"type":7}}"#), head("a", "", ""));
        assert_eq!(parse_line(r#"{"event_id":"x","event_id":"b"} "#), head("b", "", ""));
        assert_eq!(parse_line(r#"{"event_id":"a","data":"\ud800"}"#), head("a", "", ""));
        // Skipped values have no depth limit (JSON.parse has none either).
        let deep = format!(
            r#"{{"event_id":"a","data":{}1{}}}"#,
            "[".repeat(5_000),
            "]".repeat(5_000)
        );
        assert_eq!(parse_line(&deep), head("a", "", ""));
    }

    #[test]
    fn rejects_what_the_ts_side_counts_as_corrupt() {
        for line in [
            "",
            "not json",
            "[1]",
            "\"s\"",
            "null",
            "{}",
            r#"{"event_id":1}"#,
            r#"{"event_id":"a"}x"#,
            r#"{"event_id":"a""#,
        ] {
            assert_eq!(parse_line(line), None, "{line:?}");
        }
    }
}
