//! A small, strict, panic-free JSON (RFC 8259) parser, and the string escaping the library's
//! JSON output uses.
//!
//! The crate uses this instead of `serde_json` to keep the wasm binary small.
//! Parsing is iterative (an explicit stack bounded by [`MAX_DEPTH`]), so hostile
//! input can never overflow the call stack; writing is iterative too.
//!
//! Choices worth knowing:
//! - Strings must be valid UTF-8 and may not contain raw control characters.
//! - A `\uXXXX` escape that encodes a lone UTF-16 surrogate (a high surrogate not
//!   followed by a `\u` low surrogate, or a low surrogate on its own) is replaced
//!   with U+FFFD REPLACEMENT CHARACTER rather than rejected.
//! - Numbers follow the JSON grammar exactly and are kept as their literal text, so
//!   writing gives back exactly what was read and no float parsing or formatting
//!   code is linked unless [`Value::as_f64`] is called. Equality compares numbers
//!   by value (`1.0 == 1`).
//! - Objects keep every member in document order, duplicates included;
//!   [`Value::get`] returns the last one.

use alloc::string::String;
use alloc::vec::Vec;
/// Maximum nesting of arrays and objects accepted by [`parse`]; one more level is an error.
pub const MAX_DEPTH: usize = 128;

/// A parsed JSON value. Objects keep their members in document order (duplicates: last one wins on lookup).
#[derive(Debug, Clone)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// Any JSON number, as its literal text (valid per the JSON grammar when parsed).
    Number(String),
    /// A string, with escapes decoded.
    String(String),
    /// An array, in document order.
    Array(Vec<Value>),
    /// An object's members in document order, duplicate keys included.
    Object(Vec<(String, Value)>),
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Number(a), Value::Number(b)) => a == b || self.as_f64() == other.as_f64(),
            (Value::String(a), Value::String(b)) => a == b,
            (Value::Array(a), Value::Array(b)) => a == b,
            (Value::Object(a), Value::Object(b)) => a == b,
            _ => false,
        }
    }
}

/// Why a document is not JSON. `offset` is the byte offset where parsing stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset into the input where parsing stopped.
    pub offset: usize,
    /// Short human-readable description of the problem.
    pub reason: &'static str,
}

/// Parses one JSON document (RFC 8259): leading/trailing whitespace allowed, a UTF-8 BOM allowed, anything
/// else after the value is an error. Nesting deeper than [`MAX_DEPTH`] is an error (never a stack overflow).
///
/// Lone surrogates in `\u` escapes decode to U+FFFD (see the module docs).
///
/// # Errors
///
/// A [`ParseError`] for anything that is not exactly one JSON value.
pub fn parse(input: &[u8]) -> Result<Value, ParseError> {
    /// An array or object still being filled.
    enum Frame {
        Array(Vec<Value>),
        /// Members so far, and the key whose value is being parsed.
        Object(Vec<(String, Value)>, String),
    }

    let mut p = Parser {
        bytes: input,
        pos: 0,
    };
    if input.starts_with(&[0xEF, 0xBB, 0xBF]) {
        p.pos = 3;
    }
    let mut stack: Vec<Frame> = Vec::new();

    'value: loop {
        p.skip_ws();
        let mut value = match p.peek() {
            None => return p.err("unexpected end of input"),
            Some(b'[') => {
                if stack.len() >= MAX_DEPTH {
                    return p.err("nesting too deep");
                }
                p.pos += 1;
                p.skip_ws();
                if p.peek() == Some(b']') {
                    p.pos += 1;
                    Value::Array(Vec::new())
                } else {
                    stack.push(Frame::Array(Vec::new()));
                    continue 'value;
                }
            }
            Some(b'{') => {
                if stack.len() >= MAX_DEPTH {
                    return p.err("nesting too deep");
                }
                p.pos += 1;
                p.skip_ws();
                if p.peek() == Some(b'}') {
                    p.pos += 1;
                    Value::Object(Vec::new())
                } else {
                    let key = p.parse_key()?;
                    stack.push(Frame::Object(Vec::new(), key));
                    continue 'value;
                }
            }
            Some(b'"') => Value::String(p.parse_string()?),
            Some(b't') => p.literal(b"true", Value::Bool(true))?,
            Some(b'f') => p.literal(b"false", Value::Bool(false))?,
            Some(b'n') => p.literal(b"null", Value::Null)?,
            Some(b'-' | b'0'..=b'9') => Value::Number(p.parse_number()?),
            Some(_) => return p.err("expected a JSON value"),
        };

        // `value` is complete: hand it to the enclosing containers, closing
        // every one that ends right after it.
        loop {
            p.skip_ws();
            let Some(frame) = stack.pop() else {
                if p.pos != input.len() {
                    return p.err("unexpected data after the JSON value");
                }
                return Ok(value);
            };
            match frame {
                Frame::Array(mut items) => {
                    items.push(value);
                    match p.peek() {
                        Some(b',') => {
                            p.pos += 1;
                            stack.push(Frame::Array(items));
                            continue 'value;
                        }
                        Some(b']') => {
                            p.pos += 1;
                            value = Value::Array(items);
                        }
                        None => return p.err("unexpected end of input"),
                        Some(_) => return p.err("expected ',' or ']'"),
                    }
                }
                Frame::Object(mut members, key) => {
                    members.push((key, value));
                    match p.peek() {
                        Some(b',') => {
                            p.pos += 1;
                            p.skip_ws();
                            let key = p.parse_key()?;
                            stack.push(Frame::Object(members, key));
                            continue 'value;
                        }
                        Some(b'}') => {
                            p.pos += 1;
                            value = Value::Object(members);
                        }
                        None => return p.err("unexpected end of input"),
                        Some(_) => return p.err("expected ',' or '}'"),
                    }
                }
            }
        }
    }
}

/// Cursor over the input bytes. Every access goes through `get`, so a logic
/// slip can produce a wrong error but never a panic. Its small steps are `#[inline(always)]`:
/// at `opt-level = "z"` they stayed calls, and inlining them makes parsing 20–35 % faster for
/// a few bytes of module.
struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn err<T>(&self, reason: &'static str) -> Result<T, ParseError> {
        Err(ParseError {
            offset: self.pos,
            reason,
        })
    }

    #[inline(always)]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// Matches `lit` exactly; the error offset is the first mismatching byte.
    #[inline(always)]
    fn literal(&mut self, lit: &[u8], value: Value) -> Result<Value, ParseError> {
        for &b in lit {
            if self.peek() != Some(b) {
                return self.err("invalid literal");
            }
            self.pos += 1;
        }
        Ok(value)
    }

    /// An object key followed by optional whitespace and the `:`.
    #[inline(always)]
    fn parse_key(&mut self) -> Result<String, ParseError> {
        if self.peek() != Some(b'"') {
            return self.err("expected a string key");
        }
        let key = self.parse_string()?;
        self.skip_ws();
        if self.peek() != Some(b':') {
            return self.err("expected ':'");
        }
        self.pos += 1;
        Ok(key)
    }

    #[inline(always)]
    fn skip_digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    #[inline(always)]
    fn require_digits(&mut self) -> Result<(), ParseError> {
        if !matches!(self.peek(), Some(b'0'..=b'9')) {
            return self.err("invalid number: expected a digit");
        }
        self.skip_digits();
        Ok(())
    }

    /// `-? (0 | [1-9][0-9]*) (\.[0-9]+)? ([eE][+-]?[0-9]+)?`, kept as its text.
    fn parse_number(&mut self) -> Result<String, ParseError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.skip_digits(),
            _ => return self.err("invalid number: expected a digit"),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.require_digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.require_digits()?;
        }
        // Only ASCII digits, signs, `.` and `e` got here: always valid UTF-8.
        let text = self.bytes.get(start..self.pos).unwrap_or_default();
        Ok(text.iter().map(|&b| char::from(b)).collect())
    }

    /// A string literal; `self.pos` is at the opening quote.
    fn parse_string(&mut self) -> Result<String, ParseError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            // A run of bytes needing no special handling. It ends on an ASCII
            // byte or at the end of input, so validating runs one by one is
            // the same as validating the whole string.
            let run_start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            let run = self.bytes.get(run_start..self.pos).unwrap_or_default();
            match core::str::from_utf8(run) {
                Ok(s) => out.push_str(s),
                Err(e) => {
                    return Err(ParseError {
                        offset: run_start + e.valid_up_to(),
                        reason: "invalid UTF-8 in string",
                    });
                }
            }
            match self.peek() {
                None => return self.err("unterminated string"),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    self.parse_escape(&mut out)?;
                }
                Some(_) => return self.err("control character in string"),
            }
        }
    }

    /// The part of an escape after the backslash.
    fn parse_escape(&mut self, out: &mut String) -> Result<(), ParseError> {
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.pos += 1;
                let unit = self.hex4()?;
                let c = if (0xD800..0xDC00).contains(&unit) {
                    match self.low_surrogate_escape() {
                        Some(low) => {
                            self.pos += 6;
                            char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                                .unwrap_or('\u{FFFD}')
                        }
                        None => '\u{FFFD}',
                    }
                } else {
                    // Lone low surrogates are the only values from_u32 rejects here.
                    char::from_u32(unit).unwrap_or('\u{FFFD}')
                };
                out.push(c);
                return Ok(());
            }
            _ => return self.err("invalid escape"),
        };
        self.pos += 1;
        out.push(c);
        Ok(())
    }

    /// Four hex digits of a `\u` escape.
    fn hex4(&mut self) -> Result<u32, ParseError> {
        let mut unit = 0;
        for _ in 0..4 {
            let Some(d) = self.peek().and_then(hex_digit) else {
                return self.err("invalid \\u escape");
            };
            unit = unit * 16 + d;
            self.pos += 1;
        }
        Ok(unit)
    }

    /// If the input continues with `\uDC00`..`\uDFFF`, that code unit.
    fn low_surrogate_escape(&self) -> Option<u32> {
        let rest = self.bytes.get(self.pos..self.pos.checked_add(6)?)?;
        let (prefix, digits) = rest.split_at_checked(2)?;
        if prefix != b"\\u" {
            return None;
        }
        let mut unit = 0;
        for &b in digits {
            unit = unit * 16 + hex_digit(b)?;
        }
        (0xDC00..0xE000).contains(&unit).then_some(unit)
    }
}

fn hex_digit(b: u8) -> Option<u32> {
    match b {
        b'0'..=b'9' => Some(u32::from(b - b'0')),
        b'a'..=b'f' => Some(u32::from(b - b'a' + 10)),
        b'A'..=b'F' => Some(u32::from(b - b'A' + 10)),
        _ => None,
    }
}

impl Value {
    /// Member of an object by key (last duplicate wins); None for non-objects or absent keys.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(members) => members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string, if this is a [`Value::String`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The elements, if this is a [`Value::Array`].
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The number as the nearest `f64` (infinite for huge exponents), if this is a
    /// [`Value::Number`].
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => n.parse().ok(),
            _ => None,
        }
    }

    /// The boolean, if this is a [`Value::Bool`].
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Whether this is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Whether this is a [`Value::Object`].
    pub fn is_object(&self) -> bool {
        matches!(self, Value::Object(_))
    }

    /// Writes this value as compact JSON, numbers exactly as their literals (a verified
    /// webhook's `data`; the tests check the parser by round-trips with it).
    ///
    /// Appends to `out`. Iterative, so arbitrarily deep values are fine. Object
    /// members are written in order, duplicates included.
    pub fn write(&self, out: &mut String) {
        enum Frame<'a> {
            Array(core::slice::Iter<'a, Value>, bool),
            Object(core::slice::Iter<'a, (String, Value)>, bool),
        }
        let mut stack: Vec<Frame<'_>> = Vec::new();
        let mut next = Some(self);
        loop {
            if let Some(value) = next.take() {
                match value {
                    Value::Null => out.push_str("null"),
                    Value::Bool(true) => out.push_str("true"),
                    Value::Bool(false) => out.push_str("false"),
                    Value::Number(n) => out.push_str(n),
                    Value::String(s) => write_string(out, s),
                    Value::Array(items) => {
                        out.push('[');
                        stack.push(Frame::Array(items.iter(), true));
                    }
                    Value::Object(members) => {
                        out.push('{');
                        stack.push(Frame::Object(members.iter(), true));
                    }
                }
            }
            let Some(frame) = stack.last_mut() else {
                return;
            };
            match frame {
                Frame::Array(items, first) => match items.next() {
                    Some(item) => {
                        if !*first {
                            out.push(',');
                        }
                        *first = false;
                        next = Some(item);
                    }
                    None => {
                        out.push(']');
                        stack.pop();
                    }
                },
                Frame::Object(members, first) => match members.next() {
                    Some((key, item)) => {
                        if !*first {
                            out.push(',');
                        }
                        *first = false;
                        write_string(out, key);
                        out.push(':');
                        next = Some(item);
                    }
                    None => {
                        out.push('}');
                        stack.pop();
                    }
                },
            }
        }
    }
}

/// Appends `s` as a JSON string literal (with quotes), escaping `"` `\\` and control characters (\n \r \t \b \f, others as \u00XX).
pub fn write_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0C => "\\f",
            0x00..=0x1F => "",
            _ => continue,
        };
        // Escaped bytes are ASCII, so `start` and `i` are char boundaries.
        out.push_str(s.get(start..i).unwrap_or_default());
        if escape.is_empty() {
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0F)]));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(s.get(start..).unwrap_or_default());
    out.push('"');
}

#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) mod testing {
    //! Byte-level mutations for the parsers' property tests.

    use proptest::prelude::*;
    use proptest::sample::Index;

    /// One to `max - 1` edits: where, which byte, and insert (0), remove (1) or replace.
    pub fn edits(max: usize) -> impl Strategy<Value = Vec<(Index, u8, u8)>> {
        prop::collection::vec((any::<Index>(), any::<u8>(), 0..3u8), 1..max)
    }

    /// Applies [`edits`] to `bytes` (a replace or remove past the end appends).
    pub fn mutate(bytes: &mut Vec<u8>, edits: &[(Index, u8, u8)]) {
        for &(at, byte, op) in edits {
            let i = at.index(bytes.len() + 1);
            match op {
                0 => bytes.insert(i, byte),
                1 if i < bytes.len() => {
                    bytes.remove(i);
                }
                _ if i < bytes.len() => bytes[i] = byte,
                _ => bytes.push(byte),
            }
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> Result<Value, ParseError> {
        parse(s.as_bytes())
    }

    fn num(n: f64) -> Value {
        Value::Number(format!("{n:?}"))
    }

    fn string(s: &str) -> Value {
        Value::String(s.to_string())
    }

    fn to_json(v: &Value) -> String {
        let mut out = String::new();
        v.write(&mut out);
        out
    }

    #[test]
    fn valid_documents() {
        let cases: Vec<(&str, Value)> = vec![
            ("null", Value::Null),
            ("true", Value::Bool(true)),
            ("false", Value::Bool(false)),
            ("0", num(0.0)),
            ("-0", num(-0.0)),
            ("1", num(1.0)),
            ("-1", num(-1.0)),
            ("10", num(10.0)),
            ("1.5", num(1.5)),
            ("-0.25", num(-0.25)),
            ("1e5", num(1e5)),
            ("1E5", num(1e5)),
            ("1e+5", num(1e5)),
            ("1e-5", num(1e-5)),
            ("0e0", num(0.0)),
            ("0.0e-0", num(0.0)),
            ("-0.5E+01", num(-5.0)),
            ("12345678901234567890", num(12_345_678_901_234_567_890.0)),
            ("1e400", num(f64::INFINITY)),
            ("-1e400", num(f64::NEG_INFINITY)),
            ("1e-400", num(0.0)),
            ("1e99999999999999999999999", num(f64::INFINITY)),
            ("\"\"", string("")),
            ("\"abc\"", string("abc")),
            ("\"é😀\"", string("é😀")),
            (
                r#""\" \\ \/ \b \f \n \r \t""#,
                string("\" \\ / \u{8} \u{c} \n \r \t"),
            ),
            ("\"\u{7f}\"", string("\u{7f}")),
            ("[]", Value::Array(vec![])),
            ("[ ]", Value::Array(vec![])),
            ("{}", Value::Object(vec![])),
            ("{ \n}", Value::Object(vec![])),
            (
                "[1,\"a\",null,true,[],{}]",
                Value::Array(vec![
                    num(1.0),
                    string("a"),
                    Value::Null,
                    Value::Bool(true),
                    Value::Array(vec![]),
                    Value::Object(vec![]),
                ]),
            ),
            (
                " \t\n\r{ \"a\" : [ 1 , { \"b\" : null } ] , \"c\":\"d\" } \t\n\r",
                Value::Object(vec![
                    (
                        "a".into(),
                        Value::Array(vec![
                            num(1.0),
                            Value::Object(vec![("b".into(), Value::Null)]),
                        ]),
                    ),
                    ("c".into(), string("d")),
                ]),
            ),
            ("{\"\":0}", Value::Object(vec![(String::new(), num(0.0))])),
            ("\u{feff}1", num(1.0)),
            ("\u{feff} [ ] ", Value::Array(vec![])),
            (
                "[[[]]]",
                Value::Array(vec![Value::Array(vec![Value::Array(vec![])])]),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(p(input), Ok(expected), "input {input:?}");
        }
        // -0 keeps its sign.
        assert!(p("-0").unwrap().as_f64().unwrap().is_sign_negative());
    }

    #[test]
    fn invalid_documents() {
        let cases: &[(&[u8], usize)] = &[
            (b"", 0),
            (b"   ", 3),
            (b"[", 1),
            (b"]", 0),
            (b"{", 1),
            (b"}", 0),
            (b"[1,]", 3),
            (b"[,1]", 1),
            (b"[1,,2]", 3),
            (b"[1 2]", 3),
            (b"[1", 2),
            (b"[1]]", 3),
            (b"[1]x", 3),
            (b"1 2", 2),
            (b"{\"a\"}", 4),
            (b"{\"a\":}", 5),
            (b"{\"a\":1,}", 7),
            (b"{\"a\" 1}", 5),
            (b"{\"a\":1 \"b\":2}", 7),
            (b"{,}", 1),
            (b"{a:1}", 1),
            (b"{'a':1}", 1),
            (b"{1:1}", 1),
            (b"{\"a\":1", 6),
            (b"{\"a\":1]", 6),
            (b"[1}", 2),
            (b"01", 1),
            (b"-01", 2),
            (b"00", 1),
            (b"+1", 0),
            (b".5", 0),
            (b"1.", 2),
            (b"1.e5", 2),
            (b"1e", 2),
            (b"1e+", 3),
            (b"1E-", 3),
            (b"-", 1),
            (b"--1", 1),
            (b"- 1", 1),
            (b"-a", 1),
            (b"0x10", 1),
            (b"1.5.5", 3),
            (b"NaN", 0),
            (b"Infinity", 0),
            (b"-Infinity", 1),
            (b"tru", 3),
            (b"True", 0),
            (b"nul", 3),
            (b"nulll", 4),
            (b"falsy", 4),
            (b"\"abc", 4),
            (b"\"", 1),
            (b"\"\\x\"", 2),
            (b"\"\\", 2),
            (b"\"\\u12\"", 5),
            (b"\"\\u12G4\"", 5),
            (b"\"\\U0041\"", 2),
            (b"\"a\tb\"", 2),
            (b"\"a\nb\"", 2),
            (b"\"\x00\"", 1),
            (b"\"\x1f\"", 1),
            (b"'a'", 0),
            (b"\"\xff\"", 1),
            (b"\"ab\xc3\"", 3),
            (b"\"\xc3\x28\"", 1),
            (b"\"\xc0\xaf\"", 1),
            (b"\"\xed\xa0\x80\"", 1),
            (b"\"\xf4\x90\x80\x80\"", 1),
            (b"\xff", 0),
            (b"\xef\xbb", 0),
            (b"\xef\xbb\xbf", 3),
            (b"\xef\xbb\xbf\xef\xbb\xbf1", 3),
            (b"1\xef\xbb\xbf", 1),
            (b"\xc2\xa01", 0),
            (b"\x0c1", 0),
            (b"/* c */ 1", 0),
            (b"[1] // c", 4),
            (b"\"\\uD83D\\u12\"", 11),
        ];
        for &(input, offset) in cases {
            let result = parse(input);
            let err = result
                .clone()
                .expect_err(&format!("{:?} should fail", String::from_utf8_lossy(input)));
            assert_eq!(
                err.offset,
                offset,
                "offset for {:?}: {err:?}",
                String::from_utf8_lossy(input)
            );
            assert!(!err.reason.is_empty());
        }
    }

    #[test]
    fn unicode_escapes_and_surrogates() {
        let cases: &[(&str, &str)] = &[
            (r#""\u0041""#, "A"),
            (r#""\u00e9\u00E9""#, "éé"),
            (r#""\u0000""#, "\0"),
            (r#""\u001f""#, "\u{1f}"),
            (r#""\u20AC""#, "€"),
            (r#""\uFFFF""#, "\u{FFFF}"),
            (r#""\uD83D\uDE00""#, "😀"),
            (r#""\ud83d\ude00""#, "😀"),
            (r#""\uDBFF\uDFFF""#, "\u{10FFFF}"),
            (r#""\uD800\uDC00""#, "\u{10000}"),
            (r#""a\uD834\uDD1Eb""#, "a𝄞b"),
            // Lone surrogates become U+FFFD.
            (r#""\uD83D""#, "\u{FFFD}"),
            (r#""\uDE00""#, "\u{FFFD}"),
            (r#""\uD83Dx""#, "\u{FFFD}x"),
            (r#""\uD83D\n""#, "\u{FFFD}\n"),
            (r#""\uD83D\u0041""#, "\u{FFFD}A"),
            (r#""\uD83D\uD83D\uDE00""#, "\u{FFFD}😀"),
            (r#""\uDE00\uD83D""#, "\u{FFFD}\u{FFFD}"),
            (r#""\uD83D\\uDE00""#, "\u{FFFD}\\uDE00"),
        ];
        for &(input, expected) in cases {
            assert_eq!(p(input), Ok(string(expected)), "input {input}");
        }
    }

    fn nested(depth: usize, open: &str, close: &str) -> String {
        let mut s = open.repeat(depth);
        s.push('1');
        s.push_str(&close.repeat(depth));
        s
    }

    #[test]
    fn depth_limit() {
        for (open, close) in [("[", "]"), ("{\"k\":", "}"), ("[{\"k\":", "}]")] {
            let per_level = if open.len() > 5 { 2 } else { 1 };
            let ok = nested(MAX_DEPTH / per_level, open, close);
            let value = p(&ok).expect("MAX_DEPTH levels parse");
            assert_eq!(p(&to_json(&value)), Ok(value));

            let too_deep = nested(MAX_DEPTH / per_level + 1, open, close);
            let err = p(&too_deep).unwrap_err();
            assert_eq!(err.reason, "nesting too deep");
            assert_eq!(err.offset, MAX_DEPTH / per_level * open.len());
        }
        // Empty containers count as a level too.
        let mut s = "[".repeat(MAX_DEPTH - 1);
        s.push_str("[]");
        s.push_str(&"]".repeat(MAX_DEPTH - 1));
        assert!(p(&s).is_ok());
        let s = format!("[{s}]");
        assert_eq!(p(&s).unwrap_err().offset, MAX_DEPTH);
        let s = format!("{}{{}}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert_eq!(p(&s).unwrap_err().offset, MAX_DEPTH);
        // Hostile depth fails fast without touching the call stack.
        let hostile = "[".repeat(1_000_000);
        assert_eq!(p(&hostile).unwrap_err().offset, MAX_DEPTH);
    }

    #[test]
    fn duplicates_last_wins() {
        let v = p(r#"{"a":1,"b":true,"a":2}"#).unwrap();
        assert_eq!(v.get("a"), Some(&num(2.0)));
        assert_eq!(v.get("b").and_then(Value::as_bool), Some(true));
        assert_eq!(v.get("c"), None);
        match &v {
            Value::Object(members) => assert_eq!(members.len(), 3),
            other => panic!("not an object: {other:?}"),
        }
        // Duplicates survive a round trip in order.
        assert_eq!(to_json(&v), r#"{"a":1,"b":true,"a":2}"#);
    }

    #[test]
    fn accessors() {
        let v = p(r#"{"s":"x","n":2.5,"b":false,"z":null,"a":[1],"o":{}}"#).unwrap();
        assert!(v.is_object());
        assert_eq!(v.get("s").and_then(Value::as_str), Some("x"));
        assert_eq!(v.get("n").and_then(Value::as_f64), Some(2.5));
        assert_eq!(v.get("b").and_then(Value::as_bool), Some(false));
        assert!(v.get("z").is_some_and(Value::is_null));
        assert_eq!(v.get("a").and_then(Value::as_array), Some(&[num(1.0)][..]));
        assert!(v.get("o").is_some_and(Value::is_object));
        // Wrong types give None / false.
        assert_eq!(v.get("s").and_then(Value::as_f64), None);
        assert_eq!(v.get("n").and_then(Value::as_str), None);
        assert_eq!(v.get("z").and_then(Value::as_bool), None);
        assert_eq!(v.get("o").and_then(Value::as_array), None);
        assert!(!v.is_null());
        assert!(!Value::Array(vec![]).is_object());
        assert_eq!(num(1.0).get("a"), None);
        assert_eq!(Value::Array(vec![]).get("a"), None);
    }

    #[test]
    fn write_numbers() {
        // Numbers are written exactly as they were read: no rounding, no reformatting.
        for literal in [
            "0",
            "-0",
            "1",
            "-5",
            "2.50",
            "1E5",
            "1e+5",
            "-0.5E+01",
            "12345678901234567890",
            "1e400",
            "5e-324",
        ] {
            let parsed = p(literal).unwrap();
            assert_eq!(to_json(&parsed), literal);
        }
        assert_eq!(p("1e400").unwrap().as_f64(), Some(f64::INFINITY));
        assert_eq!(p("2.50").unwrap(), num(2.5));
        assert_ne!(p("2.51").unwrap(), num(2.5));
    }

    #[test]
    fn write_strings() {
        let mut out = String::from("x");
        write_string(&mut out, "a\"b\\c/\n\r\t\u{8}\u{c}\u{0}\u{1f}\u{7f}é😀");
        assert_eq!(
            out,
            r#"x"a\"b\\c/\n\r\t\b\f\u0000\u001f"#.to_string() + "\u{7f}é😀\""
        );
        let mut empty = String::new();
        write_string(&mut empty, "");
        assert_eq!(empty, "\"\"");
    }

    #[test]
    fn round_trip_documents() {
        let docs = [
            r#"{"a":[1,2.5,-3,"x\ny",true,false,null,{}],"b":{"c":[[]]}}"#,
            r#"[0.1,1e-7,1e21,-0.000123,12345678901234567890,"\u0001"]"#,
            r#"{"":"","\"":"\\"}"#,
            "\u{feff} [ \"\\uD83D\\uDE00\" , \"\\uD83D\" ] ",
        ];
        for doc in docs {
            let v = p(doc).unwrap();
            let written = to_json(&v);
            assert_eq!(p(&written), Ok(v.clone()), "{doc} -> {written}");
            assert_eq!(to_json(&p(&written).unwrap()), written);
        }
        assert_eq!(
            to_json(&p(r#" { "a" : [ 1 , 2.50 , -0 , 1e400 , "x\/" ] } "#).unwrap()),
            r#"{"a":[1,2.50,-0,1e400,"x/"]}"#
        );
    }

    #[test]
    fn write_deep_value_iteratively() {
        let mut v = Value::Null;
        for _ in 0..1000 {
            v = Value::Array(vec![v]);
        }
        let s = to_json(&v);
        assert_eq!(s.len(), 2000 + 4);
        assert!(s.starts_with("[[[") && s.ends_with("]]]"));
        assert_eq!(s.get(1000..1004), Some("null"));
    }

    fn any_string() -> impl Strategy<Value = String> {
        prop::collection::vec(any::<char>(), 0..24).prop_map(|chars| chars.into_iter().collect())
    }

    fn finite_f64() -> impl Strategy<Value = f64> {
        prop_oneof![
            prop::num::f64::NORMAL
                | prop::num::f64::SUBNORMAL
                | prop::num::f64::ZERO
                | prop::num::f64::POSITIVE
                | prop::num::f64::NEGATIVE,
            any::<i64>().prop_map(|i| i as f64),
            (-1000i32..1000).prop_map(f64::from),
        ]
    }

    fn any_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            finite_f64().prop_map(num),
            any_string().prop_map(Value::String),
        ];
        leaf.prop_recursive(6, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((any_string(), inner), 0..6).prop_map(Value::Object),
            ]
        })
    }

    /// Bytes drawn mostly from JSON's own alphabet, to reach deeper parser states.
    fn jsonish_bytes() -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![
            4 => prop::sample::select(b"[]{}\",:\\ 0123456789-+.eEtrufalsn/bu\xc3\xa9\xed\xff\n".to_vec()),
            1 => any::<u8>(),
        ];
        prop::collection::vec(byte, 0..64)
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn jsonish_bytes_never_panic_and_rewrite_is_stable(bytes in jsonish_bytes()) {
            if let Ok(v) = parse(&bytes) {
                let written = to_json(&v);
                let reparsed = parse(written.as_bytes());
                prop_assert!(reparsed.is_ok(), "{written}");
                prop_assert_eq!(to_json(&reparsed.unwrap()), written);
            }
        }

        #[test]
        fn mutated_documents_never_panic(
            v in any_value(),
            edits in testing::edits(4),
        ) {
            let mut bytes = to_json(&v).into_bytes();
            testing::mutate(&mut bytes, &edits);
            // A mutation may create a huge (infinite) number, written as null,
            // so compare written forms: writing must be a fixed point.
            if let Ok(parsed) = parse(&bytes) {
                let written = to_json(&parsed);
                let reparsed = parse(written.as_bytes());
                prop_assert!(reparsed.is_ok(), "{}", written);
                prop_assert_eq!(to_json(&reparsed.unwrap()), written);
            }
        }

        #[test]
        fn strings_round_trip(s in any_string()) {
            let mut out = String::new();
            write_string(&mut out, &s);
            prop_assert!(!out.bytes().any(|b| b < 0x20));
            prop_assert_eq!(parse(out.as_bytes()), Ok(Value::String(s)));
        }

        #[test]
        fn numbers_round_trip_exactly(n in finite_f64()) {
            let written = to_json(&num(n));
            let back = parse(written.as_bytes()).unwrap().as_f64().unwrap();
            prop_assert!(back == n, "{n:?} -> {written} -> {back:?}");
        }

        #[test]
        fn values_round_trip(v in any_value()) {
            let written = to_json(&v);
            prop_assert_eq!(parse(written.as_bytes()), Ok(v));
        }
    }
}
