//! Small text helpers that keep `core::fmt` out of the wasm hot paths: decimal numbers,
//! truncation on a character boundary, and base64 (decoding both alphabets, writing base64url).

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

/// Appends a non-negative number of milliseconds, rounded to a whole number.
pub fn push_ms(out: &mut String, ms: f64) {
    let rounded = if ms.is_finite() && ms > 0.0 {
        ms.round().min(f64::from(u32::MAX))
    } else {
        0.0
    };
    push_u32(out, rounded as u32);
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
        fn truncate_never_splits_a_character(text in "\\PC{0,40}", max in 0usize..50) {
            let cut = truncate(&text, max);
            prop_assert!(cut.len() <= max + '…'.len_utf8());
            prop_assert!(text.starts_with(cut.trim_end_matches('…')));
        }
    }
}
