//! Small text helpers that keep `core::fmt` out of the wasm hot paths: decimal numbers and
//! truncation on a character boundary.

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
    out.push_str(&text[..end]);
    out.push('…');
    out
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
