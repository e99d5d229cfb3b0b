//! Token.io "Get a token request result": `GET /token-requests/{tokenRequestId}/result`,
//! authenticated with `Authorization: Bearer <JWS>` or (sandbox) `Basic <base64>`.

use super::{ErrorDetails, first_string, object_body, optional_string, wrong_type};
use crate::config::{ClientConfig, Environment};
use crate::error::Error;
use crate::http::{Method, Request, Response, push_segment, validate_id};
use crate::json::Value;
use crate::status::{Provider, ProviderFields, Signature, TokenState, TokenStatus};
use alloc::borrow::ToOwned;
use alloc::string::String;

/// The response header Token.io sets to `true` on a 5xx that came from the bank.
pub const EXTERNAL_ERROR_HEADER: &str = "token-external-error";

/// The default host for an environment.
pub fn default_base_url(environment: Environment) -> &'static str {
    match environment {
        Environment::Sandbox => "https://api.sandbox.token.io",
        Environment::Production => "https://api.token.io",
    }
}

/// The result request for one token request id (ids contain `:`, kept as is).
pub fn result_request(config: &ClientConfig, token_request_id: &str) -> Result<Request, Error> {
    validate_id(Provider::TokenIo, "tokenRequestId", token_request_id)?;
    let mut url = String::with_capacity(config.base_url.len() + 24 + token_request_id.len());
    url.push_str(&config.base_url);
    url.push_str("/token-requests/");
    push_segment(&mut url, token_request_id);
    url.push_str("/result");
    Ok(Request::new(Method::Get, url))
}

/// Maps a 2xx answer: always `status`; optional `tokenId`, `transferId`,
/// `standingOrderSubmissionId`, `signature {keyId, memberId, signature}`,
/// `statusReasonInformation`, `bankId`.
pub fn parse_result(token_request_id: &str, response: &Response) -> Result<TokenStatus, Error> {
    let body = object_body(Provider::TokenIo, response)?;
    let bad = |what: String| Error::invalid_response(Provider::TokenIo, response.status, &what);
    let string = |object: &Value, key: &str| {
        optional_string(object, key).map_err(|()| bad(wrong_type(key, "a string")))
    };
    let status = string(&body, "status")?.ok_or_else(|| bad("`status` is missing".to_owned()))?;
    let signature = match body.get("signature") {
        None | Some(Value::Null) => None,
        Some(sig) if sig.is_object() => Some(Signature {
            key_id: string(sig, "keyId")?,
            member_id: string(sig, "memberId")?,
            signature: string(sig, "signature")?,
        }),
        Some(_) => return Err(bad(wrong_type("signature", "an object"))),
    };
    Ok(TokenStatus {
        provider: Provider::TokenIo,
        id: token_request_id.to_owned(),
        state: TokenState::from_tokenio(&status),
        provider_status: Some(status),
        token: string(&body, "tokenId")?,
        action_url: None,
        reason: string(&body, "statusReasonInformation")?,
        metadata: None,
        fields: ProviderFields::TokenIo {
            transfer_id: string(&body, "transferId")?,
            standing_order_submission_id: string(&body, "standingOrderSubmissionId")?,
            bank_id: string(&body, "bankId")?,
            signature,
        },
    })
}

/// Token.io error bodies: `{"error": {"errorCode"?, "message", "tokenTraceId"?}}` (a flat
/// object is read the same way).
pub fn error_details(body: &Value) -> ErrorDetails {
    let inner = match body.get("error") {
        Some(inner) if inner.is_object() => inner,
        _ => body,
    };
    ErrorDetails {
        code: first_string(inner, &["errorCode", "code"]),
        message: first_string(inner, &["message"]),
        trace_id: first_string(inner, &["tokenTraceId"])
            .or_else(|| first_string(body, &["tokenTraceId"])),
    }
}

/// Whether the answer carries `token-external-error: true`.
pub fn is_external(response: &Response) -> bool {
    response
        .header(EXTERNAL_ERROR_HEADER)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::json;

    const ID: &str = "rq:ej5ACWNwi1EcqBeuDPc4Z8C4Bgc:5zKtXEAq";

    fn ok(body: &str) -> Response {
        Response {
            status: 200,
            body: body.as_bytes().to_vec(),
            ..Response::default()
        }
    }

    #[test]
    fn request() {
        let config = ClientConfig::new(Provider::TokenIo, "https://api.sandbox.token.io".into());
        let request = result_request(&config, ID).unwrap();
        assert_eq!(
            request.url,
            [
                "https://api.sandbox.token.io/token-requests/",
                ID,
                "/result"
            ]
            .concat()
        );
        assert_eq!(
            result_request(&config, "a/b?c#d").unwrap().url,
            "https://api.sandbox.token.io/token-requests/a%2Fb%3Fc%23d/result"
        );
        assert!(result_request(&config, "..").is_err());
    }

    #[test]
    fn results() {
        let processed = parse_result(
            ID,
            &ok(
                r#"{"status":"PROCESSED","tokenId":"tt:1","transferId":"t:2","bankId":"ob-modelo",
                "signature":{"keyId":"k","memberId":"m","signature":"s"},"future":true}"#,
            ),
        )
        .unwrap();
        assert_eq!(processed.state, TokenState::Succeeded);
        assert!(processed.terminal());
        assert_eq!(processed.token.as_deref(), Some("tt:1"));
        assert_eq!(
            processed.fields,
            ProviderFields::TokenIo {
                transfer_id: Some("t:2".into()),
                standing_order_submission_id: None,
                bank_id: Some("ob-modelo".into()),
                signature: Some(Signature {
                    key_id: Some("k".into()),
                    member_id: Some("m".into()),
                    signature: Some("s".into()),
                }),
            }
        );
        let rejected = parse_result(
            ID,
            &ok(r#"{"status":"REJECTED","statusReasonInformation":"Consent rejected"}"#),
        )
        .unwrap();
        assert_eq!(rejected.state, TokenState::Failed);
        assert_eq!(rejected.reason.as_deref(), Some("Consent rejected"));
        let soon = parse_result(ID, &ok(r#"{"status":"SOMETHING_NEW"}"#)).unwrap();
        assert_eq!(soon.state, TokenState::Unknown);
        assert_eq!(soon.provider_status.as_deref(), Some("SOMETHING_NEW"));
        for bad in [
            "{}",
            r#"{"status":42}"#,
            r#"{"status":"PENDING","tokenId":1}"#,
            r#"{"status":"PENDING","signature":"x"}"#,
            "",
        ] {
            assert_eq!(
                parse_result(ID, &ok(bad)).unwrap_err().kind,
                ErrorKind::InvalidResponse,
                "{bad}"
            );
        }
    }

    #[test]
    fn errors() {
        let body = json::parse(
            br#"{"error":{"errorCode":"UNAVAILABLE","message":"Try again","tokenTraceId":"tr-1"}}"#,
        )
        .unwrap();
        assert_eq!(
            error_details(&body),
            ErrorDetails {
                code: Some("UNAVAILABLE".into()),
                message: Some("Try again".into()),
                trace_id: Some("tr-1".into()),
            }
        );
        let body =
            json::parse(br#"{"error":{"message":"Unauthorized","tokenTraceId":"tr-2"}}"#).unwrap();
        assert_eq!(error_details(&body).code, None);
        let mut response = ok("");
        assert!(!is_external(&response));
        response
            .headers
            .push(("token-external-error".into(), "true".into()));
        assert!(is_external(&response));
    }
}
