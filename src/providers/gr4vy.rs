//! Gr4vy payment service tokens: `GET` (list) and `POST` (provision) on
//! `/payment-methods/{payment_method_id}/payment-service-tokens`. There is no get-one endpoint:
//! one token's status is the list, matched by `id`.

use super::{ErrorDetails, first_string, object_body, optional_string, wrong_type};
use crate::config::{ClientConfig, Environment};
use crate::error::{Error, ErrorKind};
use crate::http::{Method, Request, Response, push_query_value, push_segment, validate_id};
use crate::json::{self, Value};
use crate::status::{Provider, ProviderFields, TokenState, TokenStatus};
use crate::text::{concat, contains};
use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

/// Header naming the merchant account a call acts for.
pub const MERCHANT_ACCOUNT_HEADER: &str = "x-gr4vy-merchant-account-id";

/// The default host for an instance and environment (no version prefix).
pub fn default_base_url(instance_id: &str, environment: Environment) -> String {
    let mut url = String::with_capacity(instance_id.len() + 32);
    url.push_str(match environment {
        Environment::Sandbox => "https://api.sandbox.",
        Environment::Production => "https://api.",
    });
    url.push_str(instance_id);
    url.push_str(".gr4vy.app");
    url
}

/// What the provision call sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionParams {
    /// The payment service (connection) to provision a token for.
    pub payment_service_id: String,
    /// Where Gr4vy sends the buyer back after approval.
    pub redirect_url: String,
    /// Card security code, 3–4 digits, when the connection needs it.
    pub security_code: Option<String>,
}

fn collection_url(config: &ClientConfig, payment_method_id: &str) -> Result<String, Error> {
    validate_id(Provider::Gr4vy, "paymentMethodId", payment_method_id)?;
    let mut url = String::with_capacity(config.base_url.len() + 48 + payment_method_id.len());
    url.push_str(&config.base_url);
    url.push_str("/payment-methods/");
    push_segment(&mut url, payment_method_id);
    url.push_str("/payment-service-tokens");
    Ok(url)
}

/// The list request, optionally filtered by payment service.
pub fn list_request(
    config: &ClientConfig,
    payment_method_id: &str,
    payment_service_id: Option<&str>,
) -> Result<Request, Error> {
    let mut url = collection_url(config, payment_method_id)?;
    if let Some(service) = payment_service_id {
        validate_id(Provider::Gr4vy, "paymentServiceId", service)?;
        url.push_str("?payment_service_id=");
        push_query_value(&mut url, service);
    }
    Ok(Request::new(Method::Get, url))
}

/// The provision request: `{"payment_service_id","redirect_url","security_code"?}` (no other
/// fields are allowed by Gr4vy; `security_code` is omitted when absent).
pub fn provision_request(
    config: &ClientConfig,
    payment_method_id: &str,
    params: &ProvisionParams,
) -> Result<Request, Error> {
    let url = collection_url(config, payment_method_id)?;
    validate_id(
        Provider::Gr4vy,
        "paymentServiceId",
        &params.payment_service_id,
    )?;
    if params.redirect_url.trim().is_empty() || params.redirect_url.chars().any(char::is_control) {
        return Err(Error::invalid_argument(
            Provider::Gr4vy,
            "redirectUrl must be a non-empty URL without control characters.",
        ));
    }
    if let Some(code) = &params.security_code {
        if !(3..=4).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid_argument(
                Provider::Gr4vy,
                "securityCode must be 3 or 4 digits.",
            ));
        }
    }
    let mut body = String::with_capacity(96 + params.redirect_url.len());
    body.push_str("{\"payment_service_id\":");
    json::write_string(&mut body, &params.payment_service_id);
    body.push_str(",\"redirect_url\":");
    json::write_string(&mut body, &params.redirect_url);
    if let Some(code) = &params.security_code {
        body.push_str(",\"security_code\":");
        json::write_string(&mut body, code);
    }
    body.push('}');
    let mut request = Request::new(Method::Post, url);
    request.set_header("content-type", "application/json".to_owned());
    request.body = Some(body);
    Ok(request)
}

/// Maps one PaymentServiceToken object (a list item, or a webhook event's target); the error
/// says what is wrong with it.
fn map_token(item: &Value) -> Result<TokenStatus, String> {
    if !item.is_object() {
        return Err("a payment service token is not an object".to_owned());
    }
    let string = |key: &str| optional_string(item, key).map_err(|()| wrong_type(key, "a string"));
    let id = string("id")?.ok_or("a payment service token has no `id`")?;
    let status = string("status")?.ok_or("a payment service token has no `status`")?;
    Ok(TokenStatus {
        provider: Provider::Gr4vy,
        state: TokenState::from_gr4vy(&status),
        id,
        provider_status: Some(status),
        token: string("token")?,
        action_url: string("approval_url")?,
        reason: None,
        metadata: None,
        fields: ProviderFields::Gr4vy {
            payment_method_id: string("payment_method_id")?,
            payment_service_id: string("payment_service_id")?,
            created_at: string("created_at")?,
            updated_at: string("updated_at")?,
        },
    })
}

/// [`map_token`] for a 2xx answer.
fn token_status(item: &Value, status_code: u16) -> Result<TokenStatus, Error> {
    map_token(item).map_err(|what| Error::invalid_response(Provider::Gr4vy, status_code, &what))
}

/// Header: the webhook's Unix time in seconds.
pub const WEBHOOK_TIMESTAMP_HEADER: &str = "x-gr4vy-webhook-timestamp";
/// Header: comma-separated hex HMAC-SHA256 signatures, one per active secret.
pub const WEBHOOK_SIGNATURES_HEADER: &str = "x-gr4vy-webhook-signatures";
/// Header: the delivery id, stable across retries (not covered by the signature).
pub const WEBHOOK_ID_HEADER: &str = "x-gr4vy-webhook-id";

/// What a verified Gr4vy event says.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookPayload {
    /// The event `name`.
    pub name: String,
    /// A `payment-service-token` target, mapped exactly like a list item.
    pub status: Option<TokenStatus>,
    /// A `payment-method` target's id: waits on its tokens should poll now.
    pub payment_method_id: Option<String>,
}

/// Reads a verified event `{"type":"event","id","name",…,"target":{…}}`; the error says what
/// is not the documented shape.
pub fn webhook_payload(event: &Value) -> Result<WebhookPayload, String> {
    if !event.is_object() {
        return Err("the event is not a JSON object".to_owned());
    }
    let name = optional_string(event, "name")
        .map_err(|()| wrong_type("name", "a string"))?
        .ok_or("the event has no `name`")?;
    let mut payload = WebhookPayload {
        name,
        status: None,
        payment_method_id: None,
    };
    match event.get("target") {
        None | Some(Value::Null) => {}
        Some(target) if !target.is_object() => return Err(wrong_type("target", "an object")),
        Some(target) => match target.get("type").and_then(Value::as_str) {
            Some("payment-service-token") => payload.status = Some(map_token(target)?),
            Some("payment-method") => {
                payload.payment_method_id = optional_string(target, "id")
                    .map_err(|()| wrong_type("target.id", "a string"))?;
            }
            _ => {}
        },
    }
    Ok(payload)
}

/// Maps the provision answer (201, one PaymentServiceToken).
pub fn parse_token(response: &Response) -> Result<TokenStatus, Error> {
    token_status(&object_body(Provider::Gr4vy, response)?, response.status)
}

/// The `items` of a list answer `{"items": [PaymentServiceToken, ...]}`.
fn list_items(body: &Value, status: u16) -> Result<&[Value], Error> {
    body.get("items").and_then(Value::as_array).ok_or_else(|| {
        Error::invalid_response(Provider::Gr4vy, status, &wrong_type("items", "a list"))
    })
}

/// Maps the list answer `{"items": [PaymentServiceToken, ...]}`.
pub fn parse_list(response: &Response) -> Result<Vec<TokenStatus>, Error> {
    let body = object_body(Provider::Gr4vy, response)?;
    list_items(&body, response.status)?
        .iter()
        .map(|item| token_status(item, response.status))
        .collect()
}

/// Maps only the listed token with this id (the others are not materialized); `not_found`
/// (no HTTP status, no code) when it is not listed.
pub fn parse_one_of_list(
    response: &Response,
    payment_method_id: &str,
    payment_service_token_id: &str,
) -> Result<TokenStatus, Error> {
    let body = object_body(Provider::Gr4vy, response)?;
    let item = list_items(&body, response.status)?
        .iter()
        .find(|item| item.get("id").and_then(Value::as_str) == Some(payment_service_token_id));
    match item {
        Some(item) => token_status(item, response.status),
        None => Err(not_listed(payment_method_id, payment_service_token_id)),
    }
}

/// Gr4vy listed the payment method's tokens and this one is not among them.
pub fn not_listed(payment_method_id: &str, payment_service_token_id: &str) -> Error {
    let mut message = String::with_capacity(200);
    message.push_str("Gr4vy lists no payment service token \"");
    message.push_str(payment_service_token_id);
    message.push_str("\" for payment method \"");
    message.push_str(payment_method_id);
    message.push_str("\". Check both ids, and that the client uses the same instance, environment and merchant account that provisioned it.");
    Error::new(ErrorKind::NotFound, Provider::Gr4vy, message)
}

/// Gr4vy error bodies: `{"type":"error","code","status","message","details":[...]}`, or for 422
/// `{"detail":[{"loc":[...],"msg","type"}]}`.
pub fn error_details(body: &Value) -> ErrorDetails {
    let mut message = first_string(body, &["message"]);
    if let Some(details) = body.get("detail").and_then(Value::as_array) {
        let mut text = String::new();
        for detail in details.iter().take(5) {
            let Some(msg) = detail.get("msg").and_then(Value::as_str) else {
                continue;
            };
            if !text.is_empty() {
                text.push_str("; ");
            }
            if let Some(loc) = detail.get("loc").and_then(Value::as_array) {
                let mut path = String::new();
                for part in loc {
                    let part = match part {
                        Value::String(s) => s,
                        Value::Number(n) if n.bytes().all(|b| b.is_ascii_digit()) => n,
                        _ => continue,
                    };
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(part);
                }
                if !path.is_empty() {
                    text.push_str(&path);
                    text.push_str(": ");
                }
            }
            text.push_str(msg);
        }
        if !text.is_empty() {
            message = Some(text);
        }
    } else if let Some(detail) = body.get("details").and_then(Value::as_array) {
        // Append the first detail's own message when the top-level one is generic.
        if let (Some(top), Some(first)) = (
            &message,
            detail
                .first()
                .and_then(|d| d.get("message"))
                .and_then(Value::as_str),
        ) {
            if !contains(top, first) {
                message = Some(concat(&[top, " (", first, ")"]));
            }
        }
    }
    ErrorDetails {
        code: first_string(body, &["code"]),
        message,
        trace_id: None,
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    const PM: &str = "46973e9d-88a7-44a6-abfe-be4ff0134ff4";

    fn config() -> ClientConfig {
        ClientConfig::new(Provider::Gr4vy, "http://sim/gr4vy".into())
    }

    fn response(status: u16, body: &str) -> Response {
        Response {
            status,
            body: body.as_bytes().to_vec(),
            ..Response::default()
        }
    }

    fn token_json(id: &str, status: &str) -> String {
        [
            r#"{"type":"payment-service-token","id":""#,
            id,
            r#"","payment_method_id":"pm","payment_service_id":"ps","status":""#,
            status,
            r#"","approval_url":null,"token":null,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:01Z"}"#,
        ]
        .concat()
    }

    #[test]
    fn hosts() {
        assert_eq!(
            default_base_url("acme", Environment::Sandbox),
            "https://api.sandbox.acme.gr4vy.app"
        );
        assert_eq!(
            default_base_url("acme", Environment::Production),
            "https://api.acme.gr4vy.app"
        );
    }

    #[test]
    fn requests() {
        let list = list_request(&config(), PM, None).unwrap();
        assert_eq!(
            list.url,
            [
                "http://sim/gr4vy/payment-methods/",
                PM,
                "/payment-service-tokens"
            ]
            .concat()
        );
        let filtered = list_request(&config(), "a b", Some("x&y=z")).unwrap();
        assert_eq!(
            filtered.url,
            "http://sim/gr4vy/payment-methods/a%20b/payment-service-tokens?payment_service_id=x%26y%3Dz"
        );
        let params = ProvisionParams {
            payment_service_id: "ps-1".into(),
            redirect_url: "https://shop.example/back?x=\"1\"".into(),
            security_code: None,
        };
        let post = provision_request(&config(), PM, &params).unwrap();
        assert_eq!(post.method, Method::Post);
        assert_eq!(
            post.body.as_deref(),
            Some(
                r#"{"payment_service_id":"ps-1","redirect_url":"https://shop.example/back?x=\"1\""}"#
            )
        );
        assert!(
            post.headers
                .contains(&("content-type".into(), "application/json".into()))
        );
        let with_code = ProvisionParams {
            security_code: Some("123".into()),
            ..params.clone()
        };
        assert!(
            provision_request(&config(), PM, &with_code)
                .unwrap()
                .body
                .unwrap()
                .ends_with(r#","security_code":"123"}"#)
        );
        for bad in ["12", "12345", "12a", "", "１２３"] {
            let p = ProvisionParams {
                security_code: Some(bad.into()),
                ..params.clone()
            };
            assert_eq!(
                provision_request(&config(), PM, &p).unwrap_err().kind,
                ErrorKind::InvalidArgument,
                "{bad:?}"
            );
        }
        let no_redirect = ProvisionParams {
            redirect_url: " ".into(),
            ..params
        };
        assert!(provision_request(&config(), PM, &no_redirect).is_err());
    }

    #[test]
    fn statuses() {
        for (status, state) in [
            ("processing", TokenState::Pending),
            ("buyer_approval_required", TokenState::ActionRequired),
            ("succeeded", TokenState::Succeeded),
            ("failed", TokenState::Failed),
            ("paused", TokenState::Unknown),
        ] {
            let token = parse_token(&response(201, &token_json("t1", status))).unwrap();
            assert_eq!(token.state, state);
            assert_eq!(token.provider_status.as_deref(), Some(status));
            assert_eq!(
                token.fields,
                ProviderFields::Gr4vy {
                    payment_method_id: Some("pm".into()),
                    payment_service_id: Some("ps".into()),
                    created_at: Some("2026-01-01T00:00:00Z".into()),
                    updated_at: Some("2026-01-01T00:00:01Z".into()),
                }
            );
        }
    }

    #[test]
    fn lists_and_finding() {
        let body = [
            "{\"items\":[",
            &token_json("a", "processing"),
            ",",
            &token_json("b", "succeeded"),
            "]}",
        ]
        .concat();
        let tokens = parse_list(&response(200, &body)).unwrap();
        assert_eq!(tokens.len(), 2);
        let listed = response(200, &body);
        let b = parse_one_of_list(&listed, PM, "b").unwrap();
        assert_eq!(b.state, TokenState::Succeeded);
        assert_eq!(b, tokens[1]);
        let missing = parse_one_of_list(&listed, PM, "c").unwrap_err();
        assert!(missing.message.contains("\"c\" for payment method"));
        assert_eq!(missing.kind, ErrorKind::NotFound);
        assert_eq!((missing.status, missing.code), (None, None));
        assert!(
            parse_list(&response(200, r#"{"items":[]}"#))
                .unwrap()
                .is_empty()
        );
        for bad in [
            r#"{"items":{}}"#,
            r#"{}"#,
            r#"{"items":[1]}"#,
            r#"{"items":[{"id":"a"}]}"#,
            r#"{"items":[{"id":"a","status":3}]}"#,
        ] {
            assert_eq!(
                parse_list(&response(200, bad)).unwrap_err().kind,
                ErrorKind::InvalidResponse,
                "{bad}"
            );
        }
    }

    #[test]
    fn webhook_payloads() {
        let event = |target: &str| {
            json::parse(
                [
                    r#"{"type":"event","id":"ev-1","name":"payment-method.updated","merchant_account_id":"default","target":"#,
                    target,
                    "}",
                ]
                .concat()
                .as_bytes(),
            )
            .unwrap()
        };
        // A payment-service-token target maps exactly like the same token in a list.
        let token = token_json("t1", "succeeded");
        let listed = parse_one_of_list(
            &response(200, &["{\"items\":[", &token, "]}"].concat()),
            PM,
            "t1",
        );
        let payload = webhook_payload(&event(&token)).unwrap();
        assert_eq!(payload.name, "payment-method.updated");
        assert_eq!(payload.status, Some(listed.unwrap()));
        assert_eq!(payload.payment_method_id, None);
        let method = webhook_payload(&event(
            r#"{"type":"payment-method","id":"pm-9","status":"succeeded"}"#,
        ))
        .unwrap();
        assert_eq!(
            (method.status, method.payment_method_id.as_deref()),
            (None, Some("pm-9"))
        );
        for other in [
            r#"{"type":"transaction","id":"tx","status":"captured"}"#,
            "null",
            r#"{"id":"x"}"#,
        ] {
            let payload = webhook_payload(&event(other)).unwrap();
            assert_eq!(
                (payload.status, payload.payment_method_id),
                (None, None),
                "{other}"
            );
        }
        let no_target = json::parse(br#"{"name":"report.created"}"#).unwrap();
        assert_eq!(webhook_payload(&no_target).unwrap().name, "report.created");
        for (bad, what) in [
            (
                event(r#"{"type":"payment-service-token","id":"t"}"#),
                "no `status`",
            ),
            (
                event(r#"{"type":"payment-service-token","id":"t","status":1}"#),
                "`status` is not a string",
            ),
            (event(r#"{"type":"payment-method","id":7}"#), "`target.id`"),
            (event("[]"), "`target` is not an object"),
            (
                json::parse(br#"{"name":5}"#).unwrap(),
                "`name` is not a string",
            ),
            (json::parse(br#"{"target":null}"#).unwrap(), "no `name`"),
            (json::parse(b"[1]").unwrap(), "not a JSON object"),
        ] {
            let error = webhook_payload(&bad).unwrap_err();
            assert!(error.contains(what), "{error}");
        }
    }

    #[test]
    fn errors() {
        let body = json::parse(br#"{"type":"error","code":"unauthorized","status":401,"message":"No valid API authentication found","details":[]}"#).unwrap();
        let details = error_details(&body);
        assert_eq!(details.code.as_deref(), Some("unauthorized"));
        assert_eq!(
            details.message.as_deref(),
            Some("No valid API authentication found")
        );
        let body = json::parse(br#"{"type":"error","code":"bad_request","message":"Request failed validation","details":[{"location":"body","pointer":"/redirect_url","message":"field required","type":"value_error"}]}"#).unwrap();
        assert_eq!(
            error_details(&body).message.as_deref(),
            Some("Request failed validation (field required)")
        );
        let body = json::parse(br#"{"detail":[{"loc":["body","security_code"],"msg":"string does not match regex","type":"value_error.str.regex"},{"loc":["body",0],"msg":"x","type":"t"}]}"#).unwrap();
        let details = error_details(&body);
        assert_eq!(
            details.message.as_deref(),
            Some("body.security_code: string does not match regex; body.0: x")
        );
        assert_eq!(details.code, None);
    }
}
