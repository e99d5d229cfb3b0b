//! Small text helpers that keep `core::fmt` out of the wasm module: decimal numbers, truncation
//! on a character boundary, base64 (decoding both alphabets, writing base64url), substring search
//! and replacement, splitting and integer parsing. `str`'s own `contains`,
//! `replace`, `[..]` slicing, `concat` and `join` link panic paths that format their messages
//! (the char-boundary and bounds messages pull in `char`'s `Debug` and its Unicode tables);
//! these work on bytes and never panic.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;
/// Appends `n` in decimal.
pub fn push_u32(out: &mut String, n: u32) {
    push_u64(out, u64::from(n));
}

/// Appends `n` in decimal.
pub fn push_u64(out: &mut String, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(char::from(d));
    }
}

/// Appends a non-negative number of milliseconds, rounded to a whole number (half up).
pub fn push_ms(out: &mut String, ms: f64) {
    let ms = if ms.is_finite() && ms > 0.0 {
        ms.min(f64::from(u32::MAX))
    } else {
        0.0
    };
    // `f64::round` is std-only; for a non-negative value below 2^32 this is the same.
    let whole = ms as u32;
    push_u32(out, whole + u32::from(ms - f64::from(whole) >= 0.5));
}

/// `text` cut to at most `max` bytes on a character boundary, with `…` when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = String::with_capacity(end + 3);
    out.push_str(text.get(..end).unwrap_or_default());
    out.push('…');
    out
}

/// Decodes standard or URL-safe base64, padded or not; `None` for anything else.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut bits, mut count) = (0u32, 0u32);
    for b in text.trim_end_matches('=').bytes() {
        let value = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    Some(out)
}

/// Appends `bytes` as base64url without padding (RFC 4648 §5, as JWS and JWK use it).
pub fn push_base64url(out: &mut String, bytes: &[u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    out.reserve(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
}

/// The byte offset of the first occurrence of `needle` in `haystack` (`Some(0)` for an empty
/// needle), as `str::find` gives it: UTF-8 is self-synchronizing, so a byte match of a whole
/// string always starts and ends on character boundaries.
pub fn find(haystack: &str, needle: &str) -> Option<usize> {
    let (haystack, needle) = (haystack.as_bytes(), needle.as_bytes());
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// True when `needle` occurs in `haystack` (`str::contains`).
pub fn contains(haystack: &str, needle: &str) -> bool {
    find(haystack, needle).is_some()
}

/// `text` with every non-overlapping occurrence of a non-empty `needle` replaced by `with`,
/// left to right (`str::replace`).
pub fn replace(text: &str, needle: &str, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = find(rest, needle).filter(|_| !needle.is_empty()) {
        out.push_str(rest.get(..at).unwrap_or_default());
        out.push_str(with);
        rest = rest.get(at + needle.len()..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

/// The strings one after another (`[..].concat()`).
pub fn concat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        out.push_str(part);
    }
    out
}

/// `text` split around the first `byte` (an ASCII byte), as `split_once` with a `char` gives it.
pub fn split_at_byte(text: &str, byte: u8) -> Option<(&str, &str)> {
    let at = text.bytes().position(|b| b == byte)?;
    Some((text.get(..at)?, text.get(at + 1..)?))
}

/// A decimal integer with an optional sign, as `str::parse::<i64>` reads it (`None` where that
/// is an error: empty, a stray character, overflow).
pub fn parse_i64(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        all => (false, all),
    };
    if digits.is_empty() {
        return None;
    }
    let mut n: i64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        let digit = i64::from(b - b'0');
        n = n.checked_mul(10)?;
        n = if negative {
            n.checked_sub(digit)?
        } else {
            n.checked_add(digit)?
        };
    }
    Some(n)
}

/// `bytes` as text, each invalid UTF-8 sequence replaced by U+FFFD, as
/// `String::from_utf8_lossy` gives it (without linking its chunk iterator).
pub fn lossy(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    loop {
        match core::str::from_utf8(rest) {
            Ok(text) => {
                out.push_str(text);
                return out;
            }
            Err(error) => {
                let valid = rest.get(..error.valid_up_to()).unwrap_or_default();
                out.push_str(core::str::from_utf8(valid).unwrap_or_default());
                out.push('\u{FFFD}');
                match error.error_len() {
                    Some(len) => rest = rest.get(error.valid_up_to() + len..).unwrap_or_default(),
                    None => return out,
                }
            }
        }
    }
}

/// The number of characters in `text` (`chars().count()`): its bytes that start a character.
pub fn char_count(text: &str) -> usize {
    text.bytes().filter(|b| b & 0xC0 != 0x80).count()
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn numbers() {
        for n in [0u32, 7, 10, 429, 65535, u32::MAX] {
            let mut s = String::new();
            push_u32(&mut s, n);
            assert_eq!(s, n.to_string());
        }
        for n in [0u64, 1_795_251_600, u64::MAX] {
            let mut s = String::new();
            push_u64(&mut s, n);
            assert_eq!(s, n.to_string());
        }
        let mut s = String::new();
        push_ms(&mut s, 1499.6);
        push_ms(&mut s, -3.0);
        push_ms(&mut s, f64::NAN);
        assert_eq!(s, "150000");
    }

    #[test]
    fn base64() {
        assert_eq!(decode_base64("c2ltOnRva2VuaW8=").unwrap(), b"sim:tokenio");
        assert_eq!(decode_base64("c2ltOnRva2VuaW8").unwrap(), b"sim:tokenio");
        assert_eq!(decode_base64("").unwrap(), b"");
        assert_eq!(decode_base64("-_-_").unwrap(), [0xfb, 0xff, 0xbf]);
        assert!(decode_base64("not base64!").is_none());
        // RFC 4648 §10 vectors, base64url without padding.
        for (bytes, text) in [
            (&b""[..], ""),
            (b"f", "Zg"),
            (b"fo", "Zm8"),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg"),
            (b"fooba", "Zm9vYmE"),
            (b"foobar", "Zm9vYmFy"),
            (&[0xfb, 0xff, 0xbf], "-_-_"),
        ] {
            let mut out = String::new();
            push_base64url(&mut out, bytes);
            assert_eq!(out, text);
        }
    }

    proptest! {
        #[test]
        fn base64url_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..100)) {
            let mut out = String::new();
            push_base64url(&mut out, &bytes);
            prop_assert!(!out.contains(['=', '+', '/']));
            prop_assert_eq!(decode_base64(&out), Some(bytes));
        }

        #[test]
        fn search_and_replace_like_std(text in "[ab\\u{e9}\\u{1f600}]{0,12}", needle in "[ab\\u{e9}\\u{1f600}]{0,3}") {
            prop_assert_eq!(find(&text, &needle), text.find(needle.as_str()));
            prop_assert_eq!(contains(&text, &needle), text.contains(needle.as_str()));
            if !needle.is_empty() {
                prop_assert_eq!(replace(&text, &needle, "[x]"), text.replace(needle.as_str(), "[x]"));
            }
            prop_assert_eq!(char_count(&text), text.chars().count());
            prop_assert_eq!(concat(&[&text, "-", &needle]), [text.as_str(), "-", &needle].concat());
        }

        #[test]
        fn split_and_integers_like_std(text in "[-+0-9:. a]{0,22}") {
            prop_assert_eq!(split_at_byte(&text, b':'), text.split_once(':'));
            prop_assert_eq!(parse_i64(&text), text.parse::<i64>().ok());
        }

        #[test]
        fn lossy_like_std(bytes in proptest::collection::vec(prop_oneof![Just(0xC3u8), Just(0xA9), Just(0xE2), Just(0x82), Just(0xFF), Just(b'a'), any::<u8>()], 0..24)) {
            prop_assert_eq!(lossy(&bytes), String::from_utf8_lossy(&bytes));
        }

        #[test]
        fn ms_round_like_std(ms in prop_oneof![0.0f64..10_000.0, 0.0f64..5e9, (0u32..10_000).prop_map(|n| f64::from(n) + 0.5)]) {
            let mut s = String::new();
            push_ms(&mut s, ms);
            prop_assert_eq!(s, (ms.round().min(f64::from(u32::MAX)) as u32).to_string());
        }

        #[test]
        fn truncate_never_splits_a_character(text in "\\PC{0,40}", max in 0usize..50) {
            let cut = truncate(&text, max);
            prop_assert!(cut.len() <= max + '…'.len_utf8());
            prop_assert!(text.starts_with(cut.trim_end_matches('…')));
        }
    }
}
