//! HTTP as plain values: the [`Request`] a provider builds, the [`Response`] the I/O seam hands
//! back, and the pure rules for base URLs, path segments, query strings and ids.

use crate::error::Error;
use crate::status::Provider;
use crate::text::push_u32;
use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

/// Longest id accepted, in characters.
pub const MAX_ID_CHARS: usize = 1024;

/// Largest response body read, in bytes (4 MiB). Longer bodies are cut off while streaming.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The response headers the library acts on; the I/O seam copies only these, and only from
/// non-2xx answers (the only ones they mean anything on).
pub const INTERESTING_HEADERS: [&str; 3] =
    ["retry-after", "retry-after-ms", "token-external-error"];

/// HTTP method of a provider call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Status reads; safe to retry.
    Get,
    /// Gr4vy provisioning; never retried once sent.
    Post,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// One request, fully decided: the I/O seam sends it as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// GET or POST.
    pub method: Method,
    /// Absolute URL, already encoded.
    pub url: String,
    /// Header names (lower case) and values, credentials included.
    pub headers: Vec<(String, String)>,
    /// JSON body, for POST.
    pub body: Option<String>,
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: Method, url: String) -> Request {
        Request {
            method,
            url,
            headers: Vec::new(),
            body: None,
        }
    }

    /// Sets a header, replacing any earlier value of the same (case-insensitive) name.
    pub fn set_header(&mut self, name: &str, value: String) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_ascii_lowercase(), value));
    }
}

/// One answer as the I/O seam read it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// The [`INTERESTING_HEADERS`] that were present, names lower case.
    pub headers: Vec<(String, String)>,
    /// The body, at most [`MAX_BODY_BYTES`].
    pub body: Vec<u8>,
    /// True when the body was longer than [`MAX_BODY_BYTES`] and reading stopped.
    pub truncated: bool,
}

impl Response {
    /// A header's value by (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// True for 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A `Content-Length` value: decimal digits only (anything else is treated as absent).
pub fn parse_content_length(value: &str) -> Option<usize> {
    let value = value.trim();
    if value.is_empty() || value.len() > 15 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.bytes().try_fold(0usize, |n, b| {
        n.checked_mul(10)?.checked_add(usize::from(b - b'0'))
    })
}

/// Checks an id (or any value that becomes one path segment): a non-empty string of at most
/// [`MAX_ID_CHARS`] characters with no control characters, and not `.` or `..`.
pub fn validate_id(provider: Provider, what: &str, id: &str) -> Result<(), Error> {
    let problem = if id.is_empty() {
        Some(" must not be empty")
    } else if crate::text::char_count(id) > MAX_ID_CHARS {
        Some(" is longer than 1024 characters")
    } else if id.chars().any(char::is_control) {
        Some(" must not contain control characters")
    } else if id == "." || id == ".." {
        Some(" must not be \".\" or \"..\"")
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(problem) => {
            let mut message = String::with_capacity(64);
            message.push_str(what);
            message.push_str(problem);
            message.push('.');
            Err(Error::invalid_argument(provider, message))
        }
    }
}

/// Appends `value` percent-encoded as one path segment: everything but the unreserved set
/// (`A-Z a-z 0-9 - . _ ~`) and `:` `@` (legal in a segment, and in every Token.io id) is
/// encoded, so `/`, `?`, `#`, `%` and spaces can never change the path.
pub fn push_segment(out: &mut String, value: &str) {
    push_encoded(out, value, |b| matches!(b, b':' | b'@'));
}

/// Appends `value` percent-encoded for a query string value (only the unreserved set is left).
pub fn push_query_value(out: &mut String, value: &str) {
    push_encoded(out, value, |_| false);
}

fn push_encoded(out: &mut String, value: &str, also_keep: impl Fn(u8) -> bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') || also_keep(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
}

/// A `baseUrl` (checked by the JavaScript shell: absolute http(s), a host, no credentials,
/// query or fragment) without its trailing slashes, so that paths never start with `//`.
pub fn base_url(base: &str) -> String {
    base.trim_end_matches('/').to_owned()
}

/// Appends a reason phrase for common statuses (`404 Not Found`), for messages.
pub fn push_status(out: &mut String, status: u16) {
    push_u32(out, u32::from(status));
    let phrase = match status {
        400 => " Bad Request",
        401 => " Unauthorized",
        403 => " Forbidden",
        404 => " Not Found",
        405 => " Method Not Allowed",
        409 => " Conflict",
        422 => " Unprocessable Entity",
        425 => " Too Early",
        429 => " Too Many Requests",
        500 => " Internal Server Error",
        501 => " Not Implemented",
        502 => " Bad Gateway",
        503 => " Service Unavailable",
        504 => " Gateway Timeout",
        _ => "",
    };
    out.push_str(phrase);
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn segment(value: &str) -> String {
        let mut out = String::new();
        push_segment(&mut out, value);
        out
    }

    fn decode(segment: &str) -> Vec<u8> {
        let bytes = segment.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        out
    }

    #[test]
    fn segments() {
        assert_eq!(
            segment("rq:ej5ACWNwi1EcqBeuDPc4Z8C4Bgc:5zKtXEAq"),
            "rq:ej5ACWNwi1EcqBeuDPc4Z8C4Bgc:5zKtXEAq"
        );
        assert_eq!(segment("a/b?c#d e%f"), "a%2Fb%3Fc%23d%20e%25f");
        assert_eq!(segment("é"), "%C3%A9");
        assert_eq!(segment("../x"), "..%2Fx");
    }

    #[test]
    fn ids() {
        let p = Provider::TokenIo;
        assert!(validate_id(p, "id", "rq:abc:def").is_ok());
        assert!(validate_id(p, "id", &"x".repeat(1024)).is_ok());
        for bad in ["", ".", "..", "a\nb", "a\u{7f}b", "tab\t"] {
            assert!(validate_id(p, "id", bad).is_err(), "{bad:?}");
        }
        assert!(validate_id(p, "id", &"x".repeat(1025)).is_err());
        // Characters, not bytes: 1024 two-byte characters are fine.
        assert!(validate_id(p, "id", &"é".repeat(1024)).is_ok());
        let error = validate_id(p, "tokenRequestId", "").unwrap_err();
        assert_eq!(error.message, "tokenRequestId must not be empty.");
    }

    #[test]
    fn content_lengths() {
        assert_eq!(parse_content_length("0"), Some(0));
        assert_eq!(parse_content_length(" 4194304 "), Some(4_194_304));
        for bad in ["", "-1", "1e3", "12a", "9999999999999999999"] {
            assert_eq!(parse_content_length(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn base_urls_lose_trailing_slashes() {
        assert_eq!(
            base_url("http://127.0.0.1:8787/truemed/"),
            "http://127.0.0.1:8787/truemed"
        );
        assert_eq!(base_url("https://h//"), "https://h");
        assert_eq!(
            base_url("HTTPS://api.truemed.com"),
            "HTTPS://api.truemed.com"
        );
    }

    proptest! {
        #[test]
        fn a_segment_is_always_one_segment(id in any::<String>()) {
            let encoded = segment(&id);
            prop_assert!(!encoded.contains('/'));
            prop_assert!(!encoded.contains('?'));
            prop_assert!(!encoded.contains('#'));
            prop_assert!(encoded.bytes().all(|b| b.is_ascii_graphic()));
            prop_assert_eq!(decode(&encoded), id.as_bytes());
        }

        #[test]
        fn query_values_round_trip(value in any::<String>()) {
            let mut encoded = String::new();
            push_query_value(&mut encoded, &value);
            prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)));
            prop_assert_eq!(decode(&encoded), value.as_bytes());
        }
    }
}
