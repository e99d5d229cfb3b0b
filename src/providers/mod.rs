//! The three providers, one file each: default hosts, request building, wire types and the
//! mapping of their answers and error bodies. Pure: no I/O here.

use alloc::borrow::ToOwned;
use alloc::string::String;
pub mod gr4vy;
pub mod tokenio;
pub mod truemed;

use crate::error::Error;
use crate::http::Response;
use crate::json::{self, Value};
use crate::status::Provider;
use crate::text::truncate;

/// What a provider's error body says, where it says it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorDetails {
    /// The provider's own error code.
    pub code: Option<String>,
    /// The provider's human message (already truncated).
    pub message: Option<String>,
    /// Token.io `tokenTraceId`.
    pub trace_id: Option<String>,
}

/// Longest provider message carried into an error message, in bytes.
const MAX_PROVIDER_MESSAGE: usize = 300;

/// Reads a non-2xx body the way `provider` shapes its errors. A body that is not JSON is
/// described rather than quoted when it is HTML, and quoted (truncated) otherwise.
pub fn error_details(provider: Provider, response: &Response) -> ErrorDetails {
    let details = match json::parse(&response.body) {
        Ok(body) => match provider {
            Provider::Truemed => truemed::error_details(&body),
            Provider::Gr4vy => gr4vy::error_details(&body),
            Provider::TokenIo => tokenio::error_details(&body),
        },
        Err(_) => ErrorDetails {
            message: plain_text_message(&response.body),
            ..ErrorDetails::default()
        },
    };
    ErrorDetails {
        message: details
            .message
            .map(|m| truncate(m.trim(), MAX_PROVIDER_MESSAGE)),
        ..details
    }
}

fn plain_text_message(body: &[u8]) -> Option<String> {
    let text = crate::text::lossy(body);
    let text = text.trim();
    if text.is_empty() {
        None
    } else if text.starts_with('<') {
        Some("an HTML page instead of JSON".to_owned())
    } else {
        Some(text.to_owned())
    }
}

/// Parses a 2xx body as a JSON object, or says why it is not one.
pub(crate) fn object_body(provider: Provider, response: &Response) -> Result<Value, Error> {
    let bad = |what: &str| Error::invalid_response(provider, response.status, what);
    if response.truncated {
        return Err(bad("the body is larger than 4 MiB"));
    }
    if response.body.iter().all(u8::is_ascii_whitespace) {
        return Err(bad("the body is empty"));
    }
    match json::parse(&response.body) {
        Ok(value) if value.is_object() => Ok(value),
        Ok(_) => Err(bad("expected a JSON object")),
        Err(_) if response.body.trim_ascii_start().starts_with(b"<") => {
            Err(bad("an HTML page instead of JSON"))
        }
        Err(_) => Err(bad("the JSON is malformed or truncated")),
    }
}

/// A member that must be a string or absent/null; any other type is `Err(())`.
pub(crate) fn optional_string(object: &Value, key: &str) -> Result<Option<String>, ()> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(()),
    }
}

/// A member that may hold a string under any of `keys`, first found wins; other types ignored.
pub(crate) fn first_string(object: &Value, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|key| object.get(key).and_then(Value::as_str))
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned)
}

/// The message for a field with the wrong type: "`field` is not a string".
pub(crate) fn wrong_type(field: &str, expected: &str) -> String {
    let mut what = String::with_capacity(field.len() + 24);
    what.push('`');
    what.push_str(field);
    what.push_str("` is not ");
    what.push_str(expected);
    what
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn response(status: u16, body: &[u8]) -> Response {
        Response {
            status,
            body: body.to_vec(),
            ..Response::default()
        }
    }

    #[test]
    fn non_json_error_bodies() {
        let html = response(502, b"<html><body>Bad gateway</body></html>");
        assert_eq!(
            error_details(Provider::Gr4vy, &html).message.as_deref(),
            Some("an HTML page instead of JSON")
        );
        let text = response(500, b"  upstream exploded \n");
        assert_eq!(
            error_details(Provider::Truemed, &text).message.as_deref(),
            Some("upstream exploded")
        );
        assert_eq!(
            error_details(Provider::TokenIo, &response(500, b"")),
            ErrorDetails::default()
        );
        let long = response(500, "x".repeat(10_000).as_bytes());
        assert!(
            error_details(Provider::TokenIo, &long)
                .message
                .unwrap()
                .len()
                < 400
        );
    }

    #[test]
    fn object_bodies() {
        let kinds = |body: &[u8]| {
            object_body(Provider::Truemed, &response(200, body)).map_err(|e| e.message)
        };
        assert!(kinds(b"{}").is_ok());
        assert!(kinds(b"").unwrap_err().contains("empty"));
        assert!(kinds(b"<!doctype html>").unwrap_err().contains("HTML"));
        assert!(kinds(b"{\"a\":").unwrap_err().contains("malformed"));
        assert!(kinds(b"[1]").unwrap_err().contains("object"));
        let mut big = response(200, b"{}");
        big.truncated = true;
        assert!(
            object_body(Provider::Truemed, &big)
                .unwrap_err()
                .message
                .contains("4 MiB")
        );
    }

    /// Arbitrary JSON text: random trees, biased towards the members the parsers look for, with
    /// values of every type (so documented fields arrive with the wrong types too).
    fn any_json() -> impl Strategy<Value = String> {
        let key = prop_oneof![
            Just("status".to_owned()),
            Just("payment_token".to_owned()),
            Just("metadata".to_owned()),
            Just("items".to_owned()),
            Just("id".to_owned()),
            Just("token".to_owned()),
            Just("approval_url".to_owned()),
            Just("tokenId".to_owned()),
            Just("signature".to_owned()),
            Just("error".to_owned()),
            Just("detail".to_owned()),
            Just("loc".to_owned()),
            Just("msg".to_owned()),
            "[a-zA-Z_]{0,8}",
        ];
        let leaf = prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            any::<i32>().prop_map(|n| n.to_string()),
            prop_oneof![
                Just("PENDING"),
                Just("PROCESSED"),
                Just("succeeded"),
                Just("paused"),
                Just("")
            ]
            .prop_map(|s| format!("\"{s}\"")),
            "\\PC{0,12}".prop_map(|s| {
                let mut out = String::new();
                crate::json::write_string(&mut out, &s);
                out
            }),
        ];
        leaf.prop_recursive(5, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec((key.clone(), inner), 0..6).prop_map(|members| {
                    let body: Vec<String> = members
                        .into_iter()
                        .map(|(k, v)| format!("\"{k}\":{v}"))
                        .collect();
                    format!("{{{}}}", body.join(","))
                }),
            ]
        })
    }

    /// Every 2xx parser and the error-body reader, on one body: never a panic, and a success
    /// always carries the id that was asked for.
    fn parse_everything(body: &[u8], status: u16) -> Result<(), TestCaseError> {
        let response = response(status, body);
        if let Ok(s) = truemed::parse_status("ptr_1", &response) {
            prop_assert_eq!(s.id, "ptr_1");
            prop_assert_eq!(s.provider_status, None);
        }
        if let Ok(s) = tokenio::parse_result("rq:a:b", &response) {
            prop_assert_eq!(s.id, "rq:a:b");
            prop_assert!(s.provider_status.is_some());
        }
        if let Ok(s) = gr4vy::parse_token(&response) {
            prop_assert!(s.provider_status.is_some());
        }
        let _ = gr4vy::parse_list(&response);
        if let Ok(s) = gr4vy::parse_one_of_list(&response, "pm", "t") {
            prop_assert_eq!(s.id, "t");
        }
        for provider in [Provider::Truemed, Provider::Gr4vy, Provider::TokenIo] {
            let _ = error_details(provider, &response);
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn parsers_never_panic_on_bytes(body in any::<Vec<u8>>(), status in 200u16..600) {
            parse_everything(&body, status)?;
        }

        #[test]
        fn parsers_never_panic_on_json(body in any_json(), status in prop_oneof![Just(200u16), Just(201), Just(404), Just(503)]) {
            prop_assert!(crate::json::parse(body.as_bytes()).is_ok(), "generated invalid JSON: {}", body);
            parse_everything(body.as_bytes(), status)?;
        }

        #[test]
        fn truncated_json_is_never_accepted_as_a_status(body in any_json(), cut in 0usize..64) {
            // A body cut short (as by a dropped connection) is never mistaken for a status.
            let cut = body.len().saturating_sub(cut + 1);
            if let Some(prefix) = body.get(..cut) {
                if crate::json::parse(prefix.as_bytes()).is_err() {
                    prop_assert!(tokenio::parse_result("rq", &response(200, prefix.as_bytes())).is_err());
                    prop_assert!(truemed::parse_status("p", &response(200, prefix.as_bytes())).is_err());
                    prop_assert!(gr4vy::parse_list(&response(200, prefix.as_bytes())).is_err());
                }
            }
        }

        #[test]
        fn error_bodies_never_panic(body in any::<Vec<u8>>(), status in 100u16..600) {
            for provider in [Provider::Truemed, Provider::Gr4vy, Provider::TokenIo] {
                let details = error_details(provider, &response(status, &body));
                if let Some(m) = details.message {
                    prop_assert!(m.len() <= MAX_PROVIDER_MESSAGE + 3);
                }
            }
        }
    }
}
