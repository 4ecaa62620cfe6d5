//! msgpack decoding with the semantics of the TS backend's `@msgpack/msgpack` (3.x, with
//! `useBigInt64`) followed by its field readers (packages/core/src/services/trace/
//! msgpack-fields.ts), so both backends accept, repair and reject the same payloads:
//!
//! - the whole body must be one msgpack value (trailing bytes are `bad_msgpack`);
//! - map keys become strings: a string, or an integer or float written as JS `String(n)`; any
//!   other key type, and the key `__proto__`, make the whole body `bad_msgpack`; a repeated key
//!   keeps its first position and its last value, as a JS object does;
//! - an ext of type −1 (timestamp) must hold 4, 8 or 12 bytes;
//! - readers follow the Datadog Agent's leniency: nil reads as the zero value, a string may
//!   arrive as bin, an unsigned field takes a signed encoding (reinterpreted), a float field
//!   takes integers.
//!
//! Difference left: nesting deeper than 100 levels is refused here (`bad_msgpack`, to bound
//! recursion), where the JS decoder goes on and the payload then fails its shape check
//! (`wrong_shape`); both answer 400.

use rmpv::Value;
use serde::Serialize;

use crate::jsfmt::js_number;

/// Why a payload was refused; counted per reason in the trace agent's stats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecodeErrorReason {
    /// Not msgpack at all, truncated, trailing bytes, or a map key JS refuses.
    BadMsgpack,
    /// Valid msgpack with the wrong structure.
    WrongShape,
    /// A field holding the wrong msgpack type.
    WrongFieldType,
    /// An integer that does not fit the field.
    OutOfRange,
    /// A /v0.5 string-table reference past the end of the table.
    BadStringIndex,
}

impl DecodeErrorReason {
    pub const ALL: [DecodeErrorReason; 5] = [
        DecodeErrorReason::BadMsgpack,
        DecodeErrorReason::WrongShape,
        DecodeErrorReason::WrongFieldType,
        DecodeErrorReason::OutOfRange,
        DecodeErrorReason::BadStringIndex,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DecodeErrorReason::BadMsgpack => "bad_msgpack",
            DecodeErrorReason::WrongShape => "wrong_shape",
            DecodeErrorReason::WrongFieldType => "wrong_field_type",
            DecodeErrorReason::OutOfRange => "out_of_range",
            DecodeErrorReason::BadStringIndex => "bad_string_index",
        }
    }
}

/// The trace decoding layer's error: a reason and a lower-case message naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DecodeError {
    pub reason: DecodeErrorReason,
    pub message: String,
}

impl DecodeError {
    pub fn new(reason: DecodeErrorReason, message: impl Into<String>) -> Self {
        DecodeError { reason, message: message.into() }
    }
}

fn bad_msgpack(message: impl std::fmt::Display) -> DecodeError {
    DecodeError::new(DecodeErrorReason::BadMsgpack, format!("bad msgpack: {}", message.to_string().to_lowercase()))
}

/// Deeper nesting is refused (`bad_msgpack`): recursion must stay bounded on any input.
const MAX_DEPTH: usize = 100;

/// Decodes one msgpack document, map keys normalized as JS objects hold them.
pub fn decode_msgpack(body: &[u8]) -> Result<Value, DecodeError> {
    let mut reader = Reader { bytes: body, pos: 0 };
    let (value, _) = reader.value(0)?;
    if reader.pos != body.len() {
        let extra = body.len() - reader.pos;
        return Err(bad_msgpack(format!("extra {extra} of {} byte(s) found at buffer[{}]", body.len(), reader.pos)));
    }
    Ok(value)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).filter(|end| *end <= self.bytes.len()).ok_or_else(|| bad_msgpack("insufficient data"))?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn uint(&mut self, width: usize) -> Result<u64, DecodeError> {
        Ok(self.take(width)?.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn string(&mut self, len: usize) -> Result<Value, DecodeError> {
        let bytes = self.take(len)?;
        Ok(Value::String(match std::str::from_utf8(bytes) {
            Ok(text) => text.into(),
            Err(_) => String::from_utf8_lossy(bytes).into_owned().into(),
        }))
    }

    fn ext(&mut self, len: usize) -> Result<Value, DecodeError> {
        let kind = self.take(1)?[0] as i8;
        let data = self.take(len)?.to_vec();
        if kind == -1 && ![4, 8, 12].contains(&len) {
            return Err(bad_msgpack(format!("unrecognized data size for timestamp (expected 4, 8, or 12): {len}")));
        }
        Ok(Value::Ext(kind, data))
    }

    fn array(&mut self, len: usize, depth: usize) -> Result<Value, DecodeError> {
        // Never trust a declared length for allocation: every element takes at least a byte.
        let mut items = Vec::with_capacity(len.min(self.remaining()));
        for _ in 0..len {
            items.push(self.value(depth + 1)?.0);
        }
        Ok(Value::Array(items))
    }

    fn map(&mut self, len: usize, depth: usize) -> Result<Value, DecodeError> {
        let mut pairs: Vec<(Value, Value)> = Vec::with_capacity(len.min(self.remaining() / 2));
        let mut index: Option<std::collections::HashMap<String, usize>> = None;
        for _ in 0..len {
            let (key, bigint) = self.value(depth + 1)?;
            let key = key_string(&key, bigint)?;
            let (value, _) = self.value(depth + 1)?;
            // A repeated key keeps its first position and takes the last value, as in JS.
            if pairs.len() >= 16 && index.is_none() {
                index = Some(pairs.iter().enumerate().map(|(i, (k, _))| (k.as_str().unwrap_or("").to_string(), i)).collect());
            }
            let existing = match &index {
                Some(index) => index.get(&key).copied(),
                None => pairs.iter().position(|(k, _)| k.as_str() == Some(key.as_str())),
            };
            match existing {
                Some(i) => pairs[i].1 = value,
                None => {
                    if let Some(index) = &mut index {
                        index.insert(key.clone(), pairs.len());
                    }
                    pairs.push((Value::String(key.into()), value));
                }
            }
        }
        Ok(Value::Map(pairs))
    }

    /// One value, and whether JS would hold it as a bigint (a 64-bit integer encoding).
    fn value(&mut self, depth: usize) -> Result<(Value, bool), DecodeError> {
        if depth > MAX_DEPTH {
            return Err(bad_msgpack(format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        let head = self.take(1)?[0];
        let value = match head {
            0x00..=0x7f => Value::from(head),
            0x80..=0x8f => self.map(usize::from(head & 0x0f), depth)?,
            0x90..=0x9f => self.array(usize::from(head & 0x0f), depth)?,
            0xa0..=0xbf => self.string(usize::from(head & 0x1f))?,
            0xc0 => Value::Nil,
            0xc2 => Value::Boolean(false),
            0xc3 => Value::Boolean(true),
            0xc4..=0xc6 => {
                let len = self.uint(1 << (head - 0xc4))? as usize;
                Value::Binary(self.take(len)?.to_vec())
            }
            0xc7..=0xc9 => {
                let len = self.uint(1 << (head - 0xc7))? as usize;
                self.ext(len)?
            }
            0xca => Value::F32(f32::from_bits(self.uint(4)? as u32)),
            0xcb => Value::F64(f64::from_bits(self.uint(8)?)),
            0xcc..=0xcf => {
                let width = 1 << (head - 0xcc);
                return Ok((Value::from(self.uint(width)?), head == 0xcf));
            }
            0xd0..=0xd3 => {
                let width = 1usize << (head - 0xd0);
                let raw = self.uint(width)?;
                let shift = 64 - 8 * width as u32;
                return Ok((Value::from(((raw << shift) as i64) >> shift), head == 0xd3));
            }
            0xd4..=0xd8 => self.ext(1 << (head - 0xd4))?,
            0xd9..=0xdb => {
                let len = self.uint(1 << (head - 0xd9))? as usize;
                self.string(len)?
            }
            0xdc | 0xdd => {
                let len = self.uint(if head == 0xdc { 2 } else { 4 })? as usize;
                self.array(len, depth)?
            }
            0xde | 0xdf => {
                let len = self.uint(if head == 0xde { 2 } else { 4 })? as usize;
                self.map(len, depth)?
            }
            0xe0..=0xff => Value::from(head as i8),
            0xc1 => return Err(bad_msgpack("unrecognized type byte: 0xc1")),
        };
        Ok((value, false))
    }
}

/// A map key as the JS object key: a string, or a number's `String(n)`; anything else (a
/// bigint, bin, array, map, bool, nil, ext) and `__proto__` are refused as msgpack-javascript does.
fn key_string(key: &Value, bigint: bool) -> Result<String, DecodeError> {
    match key {
        Value::String(s) => {
            let text = s.as_str().unwrap_or_default().to_string();
            if text == "__proto__" {
                return Err(bad_msgpack("the key __proto__ is not allowed"));
            }
            Ok(text)
        }
        Value::Integer(_) if bigint => Err(bad_msgpack("the type of key must be string or number but bigint")),
        Value::Integer(i) => Ok(i.as_i64().map_or_else(|| i.as_u64().unwrap_or(0).to_string(), |v| v.to_string())),
        Value::F32(f) => Ok(js_number(f64::from(*f))),
        Value::F64(f) => Ok(js_number(*f)),
        other => Err(bad_msgpack(format!("the type of key must be string or number but {}", describe(other)))),
    }
}

/// What a JS `typeof`-style message calls a value.
pub fn describe(value: &Value) -> &'static str {
    match value {
        Value::Nil => "nil",
        Value::Array(_) => "array",
        Value::Binary(_) => "bin",
        Value::Map(_) => "map",
        Value::Boolean(_) => "boolean",
        Value::Integer(_) | Value::F32(_) | Value::F64(_) => "number",
        Value::String(_) => "string",
        Value::Ext(..) => "object",
    }
}

/// The value under `key` of a normalized map (keys are strings, unique).
pub fn get<'a>(pairs: &'a [(Value, Value)], key: &str) -> Option<&'a Value> {
    pairs.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v)
}

pub fn key_of(key: &Value) -> &str {
    key.as_str().unwrap_or("")
}

fn wrong_type(field: &str, expected: &str, value: &Value) -> DecodeError {
    DecodeError::new(DecodeErrorReason::WrongFieldType, format!("{field}: expected {expected}, got {}", describe(value)))
}

fn out_of_range(field: &str, shown: impl std::fmt::Display, width: &str) -> DecodeError {
    DecodeError::new(DecodeErrorReason::OutOfRange, format!("{field}: {shown} overflows {width}"))
}

const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

fn safe_integer(f: f64) -> Option<i64> {
    (f.fract() == 0.0 && f.abs() <= MAX_SAFE_INTEGER).then_some(f as i64)
}

fn float_of(value: &Value) -> Option<f64> {
    match value {
        Value::F32(f) => Some(f64::from(*f)),
        Value::F64(f) => Some(*f),
        _ => None,
    }
}

/// A string field; nil → "", bin → lossy UTF-8.
pub fn read_string(value: Option<&Value>, field: &str) -> Result<String, DecodeError> {
    match value {
        None | Some(Value::Nil) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.as_str().map(str::to_string).unwrap_or_else(|| String::from_utf8_lossy(s.as_bytes()).into_owned())),
        Some(Value::Binary(bytes)) => Ok(String::from_utf8_lossy(bytes).into_owned()),
        Some(other) => Err(wrong_type(field, "string", other)),
    }
}

/// An unsigned 64-bit field; a negative encoding wraps, as Go's uint64 conversion does.
pub fn read_u64(value: Option<&Value>, field: &str) -> Result<u64, DecodeError> {
    match value {
        None | Some(Value::Nil) => Ok(0),
        Some(Value::Integer(i)) => Ok(i.as_u64().unwrap_or_else(|| i.as_i64().unwrap_or(0) as u64)),
        Some(v @ (Value::F32(_) | Value::F64(_))) => {
            safe_integer(float_of(v).unwrap_or(f64::NAN)).map(|n| n as u64).ok_or_else(|| wrong_type(field, "integer", v))
        }
        Some(other) => Err(wrong_type(field, "integer", other)),
    }
}

pub fn read_i64(value: Option<&Value>, field: &str) -> Result<i64, DecodeError> {
    match value {
        None | Some(Value::Nil) => Ok(0),
        Some(Value::Integer(i)) => match i.as_i64() {
            Some(n) => Ok(n),
            None => Err(out_of_range(field, i.as_u64().unwrap_or(0), "int64")),
        },
        Some(v @ (Value::F32(_) | Value::F64(_))) => safe_integer(float_of(v).unwrap_or(f64::NAN)).ok_or_else(|| wrong_type(field, "integer", v)),
        Some(other) => Err(wrong_type(field, "integer", other)),
    }
}

pub fn read_i32(value: Option<&Value>, field: &str) -> Result<i32, DecodeError> {
    match value {
        None | Some(Value::Nil) => Ok(0),
        Some(Value::Integer(i)) => match i.as_i64().and_then(|n| i32::try_from(n).ok()) {
            Some(n) => Ok(n),
            None => Err(out_of_range(field, i, "int32")),
        },
        Some(v @ (Value::F32(_) | Value::F64(_))) => {
            let f = float_of(v).unwrap_or(f64::NAN);
            if !f.is_finite() || f.fract() != 0.0 {
                return Err(wrong_type(field, "integer", v));
            }
            if f < f64::from(i32::MIN) || f > f64::from(i32::MAX) {
                return Err(out_of_range(field, js_number(f), "int32"));
            }
            Ok(f as i32)
        }
        Some(other) => Err(wrong_type(field, "integer", other)),
    }
}

pub fn read_f64(value: Option<&Value>, field: &str) -> Result<f64, DecodeError> {
    match value {
        None | Some(Value::Nil) => Ok(0.0),
        Some(Value::Integer(i)) => Ok(i.as_i64().map_or_else(|| i.as_u64().unwrap_or(0) as f64, |n| n as f64)),
        Some(Value::F32(f)) => Ok(f64::from(*f)),
        Some(Value::F64(f)) => Ok(*f),
        Some(other) => Err(wrong_type(field, "number", other)),
    }
}

pub fn read_bytes(value: Option<&Value>, field: &str) -> Result<Vec<u8>, DecodeError> {
    match value {
        None | Some(Value::Nil) => Ok(Vec::new()),
        Some(Value::Binary(bytes)) => Ok(bytes.clone()),
        Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
        Some(other) => Err(wrong_type(field, "bin", other)),
    }
}

pub fn read_array<'a>(value: Option<&'a Value>, field: &str) -> Result<&'a [Value], DecodeError> {
    match value {
        None | Some(Value::Nil) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(wrong_type(field, "array", other)),
    }
}

pub fn read_map<'a>(value: Option<&'a Value>, field: &str) -> Result<&'a [(Value, Value)], DecodeError> {
    match value {
        None | Some(Value::Nil) => Ok(&[]),
        Some(Value::Map(pairs)) => Ok(pairs),
        Some(other) => Err(wrong_type(field, "map", other)),
    }
}

pub fn read_string_map(value: Option<&Value>, field: &str) -> Result<std::collections::HashMap<String, String>, DecodeError> {
    let pairs = read_map(value, field)?;
    let mut out = std::collections::HashMap::with_capacity(pairs.len());
    for (key, item) in pairs {
        let key = key_of(key);
        out.insert(key.to_string(), read_string(Some(item), &format!("{field}.{key}"))?);
    }
    Ok(out)
}

pub fn read_float_map(value: Option<&Value>, field: &str) -> Result<std::collections::HashMap<String, f64>, DecodeError> {
    let pairs = read_map(value, field)?;
    let mut out = std::collections::HashMap::with_capacity(pairs.len());
    for (key, item) in pairs {
        let key = key_of(key);
        out.insert(key.to_string(), read_f64(Some(item), &format!("{field}.{key}"))?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::test_support::encode;

    #[test]
    fn normalizes_keys_like_a_js_object() {
        let doc = Value::Map(vec![
            (Value::from("a"), Value::from(1)),
            (Value::from(7), Value::from(2)),
            (Value::from("a"), Value::from(3)),
            (Value::F64(1.5), Value::from(4)),
        ]);
        let decoded = decode_msgpack(&encode(&doc)).expect("valid");
        let pairs = decoded.as_map().expect("map");
        let keys: Vec<&str> = pairs.iter().map(|(k, _)| key_of(k)).collect();
        assert_eq!(keys, ["a", "7", "1.5"]);
        assert_eq!(get(pairs, "a").and_then(Value::as_i64), Some(3));
    }

    #[test]
    fn refuses_what_the_js_decoder_refuses() {
        let reason = |bytes: &[u8]| decode_msgpack(bytes).expect_err("invalid").reason;
        assert_eq!(reason(&[0x91]), DecodeErrorReason::BadMsgpack);
        assert_eq!(reason(&[0xc1]), DecodeErrorReason::BadMsgpack);
        assert_eq!(reason(&[0x90, 0x90]), DecodeErrorReason::BadMsgpack);
        assert_eq!(reason(&encode(&Value::Map(vec![(Value::Binary(vec![1]), Value::Nil)]))), DecodeErrorReason::BadMsgpack);
        assert_eq!(reason(&encode(&Value::Map(vec![(Value::from("__proto__"), Value::Nil)]))), DecodeErrorReason::BadMsgpack);
        assert_eq!(reason(&encode(&Value::Ext(-1, vec![0; 5]))), DecodeErrorReason::BadMsgpack);
        assert!(decode_msgpack(&encode(&Value::Ext(-1, vec![0; 4]))).is_ok());
    }

    #[test]
    fn readers_follow_the_agent_leniency() {
        assert_eq!(read_u64(Some(&Value::from(-1)), "id"), Ok(u64::MAX));
        assert_eq!(read_u64(Some(&Value::from(u64::MAX)), "id"), Ok(u64::MAX));
        assert_eq!(read_u64(Some(&Value::F64(5.0)), "id"), Ok(5));
        assert_eq!(read_u64(Some(&Value::F64(5.5)), "id").map_err(|e| e.reason), Err(DecodeErrorReason::WrongFieldType));
        assert_eq!(read_u64(Some(&Value::from("1")), "id").map_err(|e| e.reason), Err(DecodeErrorReason::WrongFieldType));
        assert_eq!(read_i64(Some(&Value::from(u64::MAX)), "start").map_err(|e| e.reason), Err(DecodeErrorReason::OutOfRange));
        assert_eq!(read_i32(Some(&Value::from(1_i64 << 40)), "error").map_err(|e| e.reason), Err(DecodeErrorReason::OutOfRange));
        assert_eq!(read_i32(Some(&Value::F64(1e20)), "error").map_err(|e| e.reason), Err(DecodeErrorReason::OutOfRange));
        assert_eq!(read_string(Some(&Value::Binary(vec![0x61, 0xff])), "s"), Ok("a\u{fffd}".to_string()));
        assert_eq!(read_string(Some(&Value::Nil), "s"), Ok(String::new()));
        assert_eq!(read_f64(Some(&Value::from(3)), "m"), Ok(3.0));
        assert_eq!(read_bytes(Some(&Value::from("ab")), "b"), Ok(b"ab".to_vec()));
    }
}
