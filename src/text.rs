//! Small text helpers that keep `core::fmt` out of the wasm module: decimal numbers, truncation
//! on a character boundary, substring search and replacement, splitting and integer parsing. `str`'s own `contains`,
//! `replace`, `[..]` slicing, `concat` and `join` link panic paths that format their messages
//! (the char-boundary and bounds messages pull in `char`'s `Debug` and its Unicode tables);
//! these work on bytes and never panic.

use alloc::borrow::ToOwned;
use alloc::string::String;
/// Appends `n` in decimal.
pub fn push_u32(out: &mut String, n: u32) {
    let mut digits = [0u8; 10];
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
        let mut s = String::new();
        push_ms(&mut s, 1499.6);
        push_ms(&mut s, -3.0);
        push_ms(&mut s, f64::NAN);
        assert_eq!(s, "150000");
    }

    proptest! {
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
