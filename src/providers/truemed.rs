//! Truemed "Retrieve Provision Token Request":
//! `GET /api/v1/payment_tokens/provision_request/{provision_token_request_id}`, authenticated
//! with `x-truemed-api-key`. The body has no status field: `payment_token` null means pending.

use super::{ErrorDetails, first_string, object_body, optional_string, wrong_type};
use crate::config::{ClientConfig, Environment};
use crate::error::Error;
use crate::http::{Method, Request, Response, push_segment, validate_id};
use crate::json::Value;
use crate::status::{Provider, ProviderFields, TokenState, TokenStatus};
use alloc::borrow::ToOwned;
use alloc::string::String;

/// The header that carries the sales channel API key.
pub const API_KEY_HEADER: &str = "x-truemed-api-key";

/// The default host for an environment.
pub fn default_base_url(environment: Environment) -> &'static str {
    match environment {
        Environment::Sandbox => "https://dev-api.truemed.com",
        Environment::Production => "https://api.truemed.com",
    }
}

/// The status request for one provision token request id.
pub fn status_request(
    config: &ClientConfig,
    provision_token_request_id: &str,
) -> Result<Request, Error> {
    validate_id(
        Provider::Truemed,
        "provisionTokenRequestId",
        provision_token_request_id,
    )?;
    let mut url =
        String::with_capacity(config.base_url.len() + 48 + provision_token_request_id.len());
    url.push_str(&config.base_url);
    url.push_str("/api/v1/payment_tokens/provision_request/");
    push_segment(&mut url, provision_token_request_id);
    Ok(Request::new(Method::Get, url))
}

/// Maps a 2xx answer: `{"metadata": string|null, "payment_token": string|null}`.
pub fn parse_status(
    provision_token_request_id: &str,
    response: &Response,
) -> Result<TokenStatus, Error> {
    let body = object_body(Provider::Truemed, response)?;
    let bad = |what: String| Error::invalid_response(Provider::Truemed, response.status, &what);
    let token = optional_string(&body, "payment_token")
        .map_err(|()| bad(wrong_type("payment_token", "a string or null")))?
        .filter(|t| !t.is_empty());
    let metadata = optional_string(&body, "metadata")
        .map_err(|()| bad(wrong_type("metadata", "a string or null")))?;
    Ok(TokenStatus {
        provider: Provider::Truemed,
        id: provision_token_request_id.to_owned(),
        state: TokenState::from_truemed(token.as_deref()),
        provider_status: None,
        token,
        action_url: None,
        reason: None,
        metadata,
        fields: ProviderFields::Truemed,
    })
}

/// Header of the signed webhooks: `t=<unix seconds>,v1=<hex>[,v1=<hex>…]`.
pub const WEBHOOK_SIGNATURE_HEADER: &str = "x-truemed-signature";

/// The event type an unsigned (legacy) webhook stands for.
pub const UNSIGNED_EVENT_TYPE: &str = "payment_token_updated";

/// A signed webhook's envelope `{webhook_delivery_id, event_type, data}`: the delivery id and
/// the event type (the error says what is not the documented shape).
pub fn webhook_envelope(body: &Value) -> Result<(Option<String>, String), String> {
    if !body.is_object() {
        return Err("the envelope is not a JSON object".to_owned());
    }
    let id = optional_string(body, "webhook_delivery_id")
        .map_err(|()| wrong_type("webhook_delivery_id", "a string"))?;
    let event_type = optional_string(body, "event_type")
        .map_err(|()| wrong_type("event_type", "a string"))?
        .filter(|t| !t.is_empty())
        .ok_or("the envelope has no `event_type`")?;
    if body.get("data").is_none() {
        return Err("the envelope has no `data`".to_owned());
    }
    Ok((id, event_type))
}

/// The status a webhook payload (`data`, or an unsigned flat body) tells: with a
/// `provision_token_request_id` and a non-null `payment_token`, that request succeeded.
pub fn webhook_status(payload: &Value) -> Result<Option<TokenStatus>, String> {
    if !payload.is_object() {
        return Err("the payload is not a JSON object".to_owned());
    }
    let string =
        |key: &str| optional_string(payload, key).map_err(|()| wrong_type(key, "a string or null"));
    let id = string("provision_token_request_id")?.filter(|id| !id.is_empty());
    let token = string("payment_token")?.filter(|t| !t.is_empty());
    let metadata = string("metadata")?;
    let (Some(id), Some(token)) = (id, token) else {
        return Ok(None);
    };
    Ok(Some(TokenStatus {
        provider: Provider::Truemed,
        id,
        state: TokenState::Succeeded,
        provider_status: None,
        token: Some(token),
        action_url: None,
        reason: None,
        metadata,
        fields: ProviderFields::Truemed,
    }))
}

/// Truemed's error body shape is unconfirmed: reads `message`, `detail` or `error` as the
/// message and a string `code` or `error` as the code.
pub fn error_details(body: &Value) -> ErrorDetails {
    ErrorDetails {
        code: first_string(body, &["code", "error"]),
        message: first_string(body, &["message", "detail", "error"]),
        trace_id: None,
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::json;

    fn config() -> ClientConfig {
        ClientConfig::new(Provider::Truemed, "http://sim/truemed".into())
    }

    fn ok(body: &str) -> Response {
        Response {
            status: 200,
            body: body.as_bytes().to_vec(),
            ..Response::default()
        }
    }

    #[test]
    fn request() {
        let request = status_request(&config(), "ptr_1/../x").unwrap();
        assert_eq!(request.method, Method::Get);
        assert_eq!(
            request.url,
            "http://sim/truemed/api/v1/payment_tokens/provision_request/ptr_1%2F..%2Fx"
        );
        assert!(request.body.is_none());
        assert!(status_request(&config(), "").is_err());
    }

    #[test]
    fn pending_and_provisioned() {
        let pending =
            parse_status("ptr_1", &ok(r#"{"metadata":null,"payment_token":null}"#)).unwrap();
        assert_eq!(pending.state, TokenState::Pending);
        assert!(!pending.terminal());
        assert_eq!(pending.provider_status, None);
        let done = parse_status(
            "ptr_1",
            &ok(r#"{"metadata":"order-1","payment_token":"tm_pt_9","extra":[1]}"#),
        )
        .unwrap();
        assert_eq!(done.state, TokenState::Succeeded);
        assert_eq!(done.token.as_deref(), Some("tm_pt_9"));
        assert_eq!(done.metadata.as_deref(), Some("order-1"));
        assert_eq!(done.id, "ptr_1");
        // Absent fields are pending too.
        assert_eq!(
            parse_status("p", &ok("{}")).unwrap().state,
            TokenState::Pending
        );
    }

    #[test]
    fn wrong_types_are_invalid_responses() {
        for body in [
            r#"{"payment_token":7}"#,
            "[]",
            "null",
            "<html>",
            r#"{"payment_token":"#,
        ] {
            let error = parse_status("p", &ok(body)).unwrap_err();
            assert_eq!(error.kind.as_str(), "invalid_response", "{body}");
            assert_eq!(error.status, Some(200));
        }
    }

    #[test]
    fn webhook_payloads() {
        let parse = |text: &str| json::parse(text.as_bytes()).unwrap();
        let done = webhook_status(&parse(
            r#"{"payment_token":"tm_pt_1","provision_token_request_id":"ptr_1","metadata":"m","lmn_expires_at":"2027-01-01T00:00:00Z"}"#,
        ))
        .unwrap()
        .unwrap();
        // The same status the status endpoint gives for that request.
        let polled = parse_status(
            "ptr_1",
            &ok(r#"{"metadata":"m","payment_token":"tm_pt_1"}"#),
        )
        .unwrap();
        assert_eq!(done, polled);
        for no_status in [
            r#"{"payment_token":null,"provision_token_request_id":"ptr_1"}"#,
            r#"{"payment_token":"","provision_token_request_id":"ptr_1"}"#,
            r#"{"payment_token":"tm_pt_1","payment_session_id":"ps_1"}"#,
            r#"{"payment_token":"tm_pt_1","failed_payment_session_id":"ps_1"}"#,
            "{}",
        ] {
            assert_eq!(webhook_status(&parse(no_status)), Ok(None), "{no_status}");
        }
        for bad in [
            r#"{"payment_token":5}"#,
            r#"{"provision_token_request_id":[]}"#,
            r#"{"metadata":{}}"#,
            "[]",
        ] {
            assert!(webhook_status(&parse(bad)).is_err(), "{bad}");
        }
        assert_eq!(
            webhook_envelope(&parse(
                r#"{"webhook_delivery_id":"wd_1","event_type":"payment_token.updated","data":{}}"#
            )),
            Ok((Some("wd_1".to_owned()), "payment_token.updated".to_owned()))
        );
        assert_eq!(
            webhook_envelope(&parse(r#"{"event_type":"x","data":null}"#)),
            Ok((None, "x".to_owned()))
        );
        for (bad, what) in [
            (r#"{"event_type":"x"}"#, "no `data`"),
            (r#"{"data":{}}"#, "no `event_type`"),
            (r#"{"event_type":"","data":{}}"#, "no `event_type`"),
            (
                r#"{"event_type":1,"data":{}}"#,
                "`event_type` is not a string",
            ),
            (
                r#"{"webhook_delivery_id":1,"event_type":"x","data":{}}"#,
                "`webhook_delivery_id`",
            ),
            ("\"x\"", "not a JSON object"),
        ] {
            let error = webhook_envelope(&parse(bad)).unwrap_err();
            assert!(error.contains(what), "{bad}: {error}");
        }
    }

    #[test]
    fn errors() {
        let body = json::parse(br#"{"error":"not_found","message":"No such request"}"#).unwrap();
        let details = error_details(&body);
        assert_eq!(details.code.as_deref(), Some("not_found"));
        assert_eq!(details.message.as_deref(), Some("No such request"));
        let body = json::parse(br#"{"detail":"Method not allowed"}"#).unwrap();
        assert_eq!(
            error_details(&body).message.as_deref(),
            Some("Method not allowed")
        );
        assert_eq!(error_details(&body).code, None);
    }
}
