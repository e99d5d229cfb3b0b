//! Verifying provider webhooks, decided without I/O: header access (any case, repeated
//! headers), the signature headers of Truemed and Gr4vy, HMAC-SHA256 checks in constant time
//! (through [`Crypto`]), the timestamp tolerance, and the verified [`WebhookEvent`]. Payload
//! shapes are the providers' (`providers::truemed`, `providers::gr4vy`).
//!
//! Repeated headers: Node gives `string[]`, `Headers` and Node join repeats with `, `. Both are
//! read the same way, as one list. A single-valued header (a timestamp, an id) whose copies
//! differ is refused, so that a forged copy can never pair an old, validly signed timestamp
//! with a fresh one that passes the tolerance. Signatures from every copy are candidates; one
//! match with a configured secret is enough (a forger cannot make one).

use crate::crypto::Crypto;
use crate::error::{Error, ErrorKind};
use crate::json::{self, Value};
use crate::providers::{gr4vy, truemed};
use crate::status::{Provider, TokenStatus};
use crate::text::push_u64;
use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

/// Default `toleranceSeconds`: how far a webhook's timestamp may lie from now, either side.
pub const DEFAULT_TOLERANCE_SECONDS: u64 = 300;

/// Largest body verified, in bytes (1 MiB). Read at most one byte more, then pass it in: a
/// longer body is refused before any HMAC is computed.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Why a webhook was refused: the `code` of an `invalid_webhook` error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookFailure {
    /// The client has no webhook secret.
    NotConfigured,
    /// No signature header, or one that cannot be read (no timestamp, conflicting copies, no
    /// well-formed signature).
    MissingSignature,
    /// No configured secret gives any listed signature for this body.
    SignatureMismatch,
    /// Genuine, but its timestamp lies outside the tolerance: a replay, or a clock that is off.
    TimestampOutOfRange,
    /// Too big, not JSON, or not the documented shape.
    InvalidBody,
}

impl WebhookFailure {
    /// The code as the JavaScript API spells it (`not_configured`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookFailure::NotConfigured => "not_configured",
            WebhookFailure::MissingSignature => "missing_signature",
            WebhookFailure::SignatureMismatch => "signature_mismatch",
            WebhookFailure::TimestampOutOfRange => "timestamp_out_of_range",
            WebhookFailure::InvalidBody => "invalid_body",
        }
    }
}

/// An `invalid_webhook` error: `code` is the failure, `status` null, not retryable.
pub fn webhook_error(
    provider: Provider,
    failure: WebhookFailure,
    message: impl Into<String>,
) -> Error {
    let mut error = Error::new(ErrorKind::InvalidWebhook, provider, message);
    error.code = Some(failure.as_str().to_owned());
    error
}

/// A verified webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    /// Who sent it.
    pub provider: Provider,
    /// Gr4vy `X-Gr4vy-Webhook-ID`; Truemed `webhook_delivery_id` (signed), else `None`.
    pub id: Option<String>,
    /// Gr4vy event `name`; Truemed `event_type`, or `payment_token_updated` (unsigned).
    pub event_type: String,
    /// The token status the event tells, if any.
    pub status: Option<TokenStatus>,
    /// Gr4vy `payment-method` target: waits on this payment method's tokens should poll now.
    pub poll_payment_method_id: Option<String>,
    /// The verified payload: Gr4vy the whole event; Truemed `data`, or the flat body.
    pub data: Value,
}

impl WebhookEvent {
    /// Appends the event as the JavaScript `WebhookEvent`: `{provider, id, type, status, data}`.
    pub fn write_json(&self, out: &mut String) {
        out.push_str("{\"provider\":\"");
        out.push_str(self.provider.as_str());
        out.push_str("\",\"id\":");
        match &self.id {
            Some(id) => json::write_string(out, id),
            None => out.push_str("null"),
        }
        out.push_str(",\"type\":");
        json::write_string(out, &self.event_type);
        out.push_str(",\"status\":");
        match &self.status {
            Some(status) => status.write_json(out),
            None => out.push_str("null"),
        }
        out.push_str(",\"data\":");
        self.data.write(out);
        out.push('}');
    }
}

/// The `toleranceSeconds` option: a finite number ≥ 0 (fractions are dropped); absent gives
/// [`DEFAULT_TOLERANCE_SECONDS`].
pub fn tolerance(provider: Provider, given: Option<f64>) -> Result<u64, Error> {
    match given {
        None => Ok(DEFAULT_TOLERANCE_SECONDS),
        Some(seconds) if seconds.is_finite() && seconds >= 0.0 => Ok(seconds as u64),
        Some(_) => Err(Error::invalid_argument(
            provider,
            "toleranceSeconds must be a finite number of seconds, 0 or more.",
        )),
    }
}

/// Equality of `given` and `expected` in time that depends only on `given.len()`: no exit on
/// the first difference, and no early exit when the lengths differ.
pub fn ct_eq(given: &[u8], expected: &[u8]) -> bool {
    let mut diff = u8::from(given.len() != expected.len());
    if let Some(len) = core::num::NonZeroUsize::new(expected.len()) {
        for (i, &byte) in given.iter().enumerate() {
            diff |= byte ^ expected[i % len];
        }
    }
    core::hint::black_box(diff) == 0
}

/// 64 hex digits (either case) as 32 bytes; `None` for anything else.
pub fn decode_hex32(text: &str) -> Option<[u8; 32]> {
    let digits = text.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let nibble = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}

/// Unix seconds from decimal digits only; a number too big for `u64` saturates (and so lies
/// outside any tolerance). `None` for an empty or non-digit text.
pub fn parse_timestamp(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.bytes().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

/// True when `timestamp` lies within `tolerance` seconds of `now`, either side.
pub fn within_tolerance(now: u64, timestamp: u64, tolerance: u64) -> bool {
    now.abs_diff(timestamp) <= tolerance
}

/// Every value of header `name` (ASCII case-insensitive), one per occurrence.
pub fn header_values<'a>(
    headers: &'a [(String, String)],
    name: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Every comma-separated item of every occurrence of header `name`, trimmed, empty ones skipped.
pub fn header_items<'a>(
    headers: &'a [(String, String)],
    name: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    header_values(headers, name)
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

/// The one value of a single-valued header (copies and `, `-joined repeats must agree):
/// `Ok(None)` when absent, `Err(())` when copies differ.
fn single_item<'a>(headers: &'a [(String, String)], name: &'a str) -> Result<Option<&'a str>, ()> {
    let mut found = None;
    for item in header_items(headers, name) {
        match found {
            None => found = Some(item),
            Some(previous) if previous == item => {}
            Some(_) => return Err(()),
        }
    }
    Ok(found)
}

/// A signature header, read: the timestamp as sent (it is signed as text) and as a number, and
/// the well-formed candidate signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders<'a> {
    /// The timestamp exactly as it is signed.
    pub timestamp: &'a str,
    /// The timestamp in Unix seconds.
    pub seconds: u64,
    /// Candidate HMAC-SHA256 values.
    pub signatures: Vec<[u8; 32]>,
}

/// Truemed's `x-truemed-signature: t=<unix>,v1=<hex>[,v1=<hex>…]` (items in any order,
/// whitespace around them ignored, unknown `vN=` and other items skipped, `v1` values that are
/// not 64 hex digits skipped). `Ok(None)` when the header is absent.
pub fn truemed_signature(headers: &[(String, String)]) -> Result<Option<SignedHeaders<'_>>, Error> {
    let name = truemed::WEBHOOK_SIGNATURE_HEADER;
    if header_values(headers, name).next().is_none() {
        return Ok(None);
    }
    let (mut timestamp, mut conflict, mut signatures) = (None, false, Vec::new());
    for item in header_items(headers, name) {
        let Some((key, value)) = item.split_once('=') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "t" => match timestamp {
                None => timestamp = Some(value),
                Some(previous) => conflict |= previous != value,
            },
            "v1" => signatures.extend(decode_hex32(value)),
            _ => {}
        }
    }
    let bad = |what: &str| {
        let mut message = String::from("The x-truemed-signature header ");
        message.push_str(what);
        message.push_str(". Pass the request's headers as received from Truemed.");
        webhook_error(Provider::Truemed, WebhookFailure::MissingSignature, message)
    };
    if conflict {
        return Err(bad("carries two different timestamps (t=)"));
    }
    let timestamp = timestamp.ok_or_else(|| bad("has no timestamp (t=)"))?;
    let seconds = parse_timestamp(timestamp)
        .ok_or_else(|| bad("has a timestamp (t=) that is not Unix seconds"))?;
    if signatures.is_empty() {
        return Err(bad("has no v1 signature of 64 hex digits"));
    }
    Ok(Some(SignedHeaders {
        timestamp,
        seconds,
        signatures,
    }))
}

/// Gr4vy's `X-Gr4vy-Webhook-Signatures` (comma-separated hex; items that are not 64 hex digits
/// are skipped) and `X-Gr4vy-Webhook-Timestamp`.
pub fn gr4vy_signature(headers: &[(String, String)]) -> Result<SignedHeaders<'_>, Error> {
    let bad = |what: &str| {
        let mut message = String::from("The request's ");
        message.push_str(what);
        message.push_str(". Is it from Gr4vy? Pass the request's headers as received.");
        webhook_error(Provider::Gr4vy, WebhookFailure::MissingSignature, message)
    };
    if header_values(headers, gr4vy::WEBHOOK_SIGNATURES_HEADER)
        .next()
        .is_none()
    {
        return Err(bad("X-Gr4vy-Webhook-Signatures header is missing"));
    }
    let signatures: Vec<[u8; 32]> = header_items(headers, gr4vy::WEBHOOK_SIGNATURES_HEADER)
        .filter_map(decode_hex32)
        .collect();
    if signatures.is_empty() {
        return Err(bad(
            "X-Gr4vy-Webhook-Signatures header has no signature of 64 hex digits",
        ));
    }
    let timestamp = single_item(headers, gr4vy::WEBHOOK_TIMESTAMP_HEADER)
        .map_err(|()| bad("X-Gr4vy-Webhook-Timestamp header appears with different values"))?
        .ok_or_else(|| bad("X-Gr4vy-Webhook-Timestamp header is missing"))?;
    let seconds = parse_timestamp(timestamp)
        .ok_or_else(|| bad("X-Gr4vy-Webhook-Timestamp header is not Unix seconds"))?;
    Ok(SignedHeaders {
        timestamp,
        seconds,
        signatures,
    })
}

/// The string a webhook signature covers: `"{timestamp}.{raw body}"`.
pub fn signed_payload(timestamp: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(timestamp.len() + 1 + body.len());
    out.extend_from_slice(timestamp.as_bytes());
    out.push(b'.');
    out.extend_from_slice(body);
    out
}

/// What the caller hands over for one verification.
#[derive(Debug, Clone, Copy)]
pub struct Inbound<'a> {
    /// Header names (any case) and values; a repeated header is repeated here.
    pub headers: &'a [(String, String)],
    /// The raw body bytes, at most [`MAX_BODY_BYTES`] + 1 of them.
    pub body: &'a [u8],
    /// Now, in Unix seconds.
    pub now: u64,
    /// `toleranceSeconds`.
    pub tolerance: u64,
}

/// What authenticates a request, read from its headers before any HMAC is computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proof<'a> {
    /// Signature headers whose HMAC must match (Gr4vy's delivery id rides along, unsigned).
    Signed(SignedHeaders<'a>, Option<&'a str>),
    /// Truemed's legacy `x-truemed-api-key`, already found equal to a secret.
    ApiKey,
}

/// Verifies a webhook: [`proof`], then the HMACs (the only step that needs [`Crypto`]), then
/// [`read_event`].
pub async fn verify<C: Crypto>(
    crypto: &C,
    provider: Provider,
    secrets: &[String],
    inbound: Inbound<'_>,
) -> Result<WebhookEvent, Error> {
    let proof = proof(provider, secrets, &inbound)?;
    if let Proof::Signed(signed, _) = &proof {
        check_signature(crypto, provider, secrets, signed, inbound).await?;
    }
    read_event(provider, &proof, inbound.body)
}

/// The checks before any crypto: a secret is configured, the body fits, and the headers carry
/// a readable proof. Truemed: `x-truemed-signature` when the request has one (and then it
/// alone counts), else `x-truemed-api-key` (the legacy unsigned method, compared here in
/// constant time; it has no timestamp, so no replay protection). Gr4vy: its signature headers.
pub fn proof<'a>(
    provider: Provider,
    secrets: &[String],
    inbound: &Inbound<'a>,
) -> Result<Proof<'a>, Error> {
    if provider == Provider::TokenIo {
        return Err(webhook_error(
            provider,
            WebhookFailure::NotConfigured,
            "Token.io sends no webhooks for token requests; wait with waitForTokenRequestResult instead.",
        ));
    }
    precheck(provider, secrets, inbound.body)?;
    let headers = inbound.headers;
    if provider == Provider::Gr4vy {
        let signed = gr4vy_signature(headers)?;
        let id = single_item(headers, gr4vy::WEBHOOK_ID_HEADER).map_err(|()| {
            webhook_error(
                provider,
                WebhookFailure::MissingSignature,
                "The X-Gr4vy-Webhook-ID header appears with different values. Pass the request's headers as received from Gr4vy.",
            )
        })?;
        return Ok(Proof::Signed(signed, id));
    }
    if let Some(signed) = truemed_signature(headers)? {
        return Ok(Proof::Signed(signed, None));
    }
    let mut keys = header_values(headers, truemed::API_KEY_HEADER).map(str::trim);
    let Some(key) = keys.next() else {
        return Err(webhook_error(
            provider,
            WebhookFailure::MissingSignature,
            "The request has neither an x-truemed-signature nor an x-truemed-api-key header. Is it from Truemed? Pass the request's headers as received.",
        ));
    };
    if keys.any(|other| other != key) {
        return Err(webhook_error(
            provider,
            WebhookFailure::MissingSignature,
            "The x-truemed-api-key header appears with different values. Pass the request's headers as received from Truemed.",
        ));
    }
    let mut matched = false;
    for secret in secrets {
        matched |= ct_eq(key.as_bytes(), secret.as_bytes());
    }
    if !matched {
        return Err(webhook_error(
            provider,
            WebhookFailure::SignatureMismatch,
            "The x-truemed-api-key header matches none of the configured webhookSecret values. Check that webhookSecret is this webhook destination's secret.",
        ));
    }
    Ok(Proof::ApiKey)
}

/// The authentic body as a [`WebhookEvent`]: Truemed's envelope (signed) or flat payload
/// (api key), Gr4vy's event.
pub fn read_event(
    provider: Provider,
    proof: &Proof<'_>,
    body: &[u8],
) -> Result<WebhookEvent, Error> {
    let shape = |what: String| {
        let mut message =
            String::from("The webhook is authentic, but its body is not the documented ");
        message.push_str(provider.display_name());
        message.push_str(" event (");
        message.push_str(&what);
        message.push_str(").");
        webhook_error(provider, WebhookFailure::InvalidBody, message)
    };
    let mut body = json::parse(body).map_err(|_| {
        webhook_error(
            provider,
            WebhookFailure::InvalidBody,
            "The webhook is authentic, but its body is not JSON. Pass the raw request body as received.",
        )
    })?;
    let mut event = WebhookEvent {
        provider,
        id: None,
        event_type: String::new(),
        status: None,
        poll_payment_method_id: None,
        data: Value::Null,
    };
    match (provider, proof) {
        (Provider::Gr4vy, Proof::Signed(_, id)) => {
            let payload = gr4vy::webhook_payload(&body).map_err(shape)?;
            event.id = id.map(str::to_owned);
            event.event_type = payload.name;
            event.status = payload.status;
            event.poll_payment_method_id = payload.payment_method_id;
            event.data = body;
        }
        (_, Proof::Signed(..)) => {
            (event.id, event.event_type) = truemed::webhook_envelope(&body).map_err(shape)?;
            event.data = take_member(&mut body, "data");
            event.status = truemed::webhook_status(&event.data).map_err(shape)?;
        }
        (_, Proof::ApiKey) => {
            event.event_type = truemed::UNSIGNED_EVENT_TYPE.to_owned();
            event.status = truemed::webhook_status(&body).map_err(shape)?;
            event.data = body;
        }
    }
    Ok(event)
}

/// The secret's option name, for messages.
fn secret_option(provider: Provider) -> &'static str {
    match provider {
        Provider::Gr4vy => "webhookSecrets",
        _ => "webhookSecret",
    }
}

/// The checks that need neither headers nor crypto: a secret is configured, the body fits.
fn precheck(provider: Provider, secrets: &[String], body: &[u8]) -> Result<(), Error> {
    if secrets.is_empty() {
        let mut message = String::from("This client has no ");
        message.push_str(secret_option(provider));
        message.push_str(", so it cannot verify webhooks. Pass ");
        message.push_str(secret_option(provider));
        message.push_str(" (from the ");
        message.push_str(provider.display_name());
        message.push_str(" dashboard) to the constructor.");
        return Err(webhook_error(
            provider,
            WebhookFailure::NotConfigured,
            message,
        ));
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(webhook_error(
            provider,
            WebhookFailure::InvalidBody,
            "The webhook body is larger than 1 MiB; it was not verified.",
        ));
    }
    Ok(())
}

/// HMAC-SHA256 under every secret, compared with every candidate (no early exit), then the
/// timestamp against the tolerance.
async fn check_signature<C: Crypto>(
    crypto: &C,
    provider: Provider,
    secrets: &[String],
    signed: &SignedHeaders<'_>,
    inbound: Inbound<'_>,
) -> Result<(), Error> {
    let payload = signed_payload(signed.timestamp, inbound.body);
    let mut matched = false;
    for secret in secrets {
        let expected = crypto.hmac_sha256(secret.as_bytes(), &payload).await?;
        for candidate in &signed.signatures {
            matched |= ct_eq(candidate, &expected);
        }
    }
    if !matched {
        let mut message = String::from(match provider {
            Provider::Gr4vy => "No signature in X-Gr4vy-Webhook-Signatures",
            _ => "No signature in x-truemed-signature",
        });
        message.push_str(" matches this body under any configured ");
        message.push_str(secret_option(provider));
        message.push_str(". Pass the raw request body exactly as received (not parsed and re-serialized JSON), and check that the secret is this webhook's.");
        return Err(webhook_error(
            provider,
            WebhookFailure::SignatureMismatch,
            message,
        ));
    }
    if !within_tolerance(inbound.now, signed.seconds, inbound.tolerance) {
        let mut message = String::from("The webhook is signed correctly, but its timestamp is ");
        push_u64(&mut message, inbound.now.abs_diff(signed.seconds));
        message.push_str(if signed.seconds < inbound.now {
            " s old"
        } else {
            " s in the future"
        });
        message.push_str(", more than toleranceSeconds (");
        push_u64(&mut message, inbound.tolerance);
        message
            .push_str("): a replayed request, or a clock that is off. Check this server's clock.");
        return Err(webhook_error(
            provider,
            WebhookFailure::TimestampOutOfRange,
            message,
        ));
    }
    Ok(())
}

/// Moves member `key` (the last one, as [`Value::get`] reads) out of an object.
fn take_member(object: &mut Value, key: &str) -> Value {
    match object {
        Value::Object(members) => members
            .iter_mut()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| core::mem::replace(v, Value::Null))
            .unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::call::testing::block_on;
    use crate::crypto::testing::{NativeCrypto, hmac_hex};
    use crate::status::TokenState;
    use proptest::prelude::*;

    const NOW: u64 = 1_795_251_600;
    const SECRET: &str = "whsec_test_5f3c1d";
    const OTHER: &str = "whsec_other_81a0e2";
    const MARKER: &str = "body-marker-3f9a";
    const TRUEMED_BODY: &str = r#"{"webhook_delivery_id":"wd_1","event_type":"payment_token_updated","data":{"payment_token":"tm_pt_1","provision_token_request_id":"ptr_1","metadata":"body-marker-3f9a"}}"#;
    const GR4VY_BODY: &str = r#"{"type":"event","id":"ev_1","name":"payment-service-token.updated","merchant_account_id":"default","created_at":"2026-12-02T00:00:00Z","target":{"type":"payment-service-token","id":"pst_1","payment_method_id":"pm_1","payment_service_id":"ps_1","status":"succeeded","approval_url":null,"token":"tok_body-marker-3f9a","created_at":"2026-12-01T00:00:00Z","updated_at":"2026-12-02T00:00:00Z"}}"#;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The event as the JavaScript API receives it, parsed back.
    fn written(event: &WebhookEvent) -> Value {
        let mut out = String::new();
        event.write_json(&mut out);
        json::parse(out.as_bytes()).unwrap()
    }

    /// A nested string member, such as `status.state`.
    fn text_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
        path.iter().try_fold(value, |v, key| v.get(key))?.as_str()
    }

    fn sig(secret: &str, t: u64, body: &str) -> String {
        hmac_hex(secret, &signed_payload(&t.to_string(), body.as_bytes()))
    }

    /// Everything each verification sees, and every error it produced, for the leak scan.
    struct Run {
        crypto: NativeCrypto,
        errors: std::cell::RefCell<Vec<Error>>,
    }

    impl Run {
        fn new() -> Run {
            Run {
                crypto: NativeCrypto::default(),
                errors: Default::default(),
            }
        }

        fn verify(
            &self,
            provider: Provider,
            secrets: &[&str],
            pairs: &[(&str, &str)],
            body: &[u8],
        ) -> Result<WebhookEvent, Error> {
            let secrets: Vec<String> = secrets.iter().map(|s| (*s).to_owned()).collect();
            let headers = headers(pairs);
            let inbound = Inbound {
                headers: &headers,
                body,
                now: NOW,
                tolerance: DEFAULT_TOLERANCE_SECONDS,
            };
            let result = block_on(verify(&self.crypto, provider, &secrets, inbound));
            if let Err(error) = &result {
                assert_eq!(error.kind, ErrorKind::InvalidWebhook);
                assert_eq!(error.provider, provider);
                assert_eq!((error.status, error.retryable), (None, false));
                self.errors.borrow_mut().push(error.clone());
            }
            result
        }

        /// A Truemed request signed with [`SECRET`] at [`NOW`].
        fn signed_truemed(&self, body: &str) -> Result<WebhookEvent, Error> {
            let header = format!("t={NOW},v1={}", sig(SECRET, NOW, body));
            let pairs = [("x-truemed-signature", header.as_str())];
            self.verify(Provider::Truemed, &[SECRET], &pairs, body.as_bytes())
        }

        fn code(
            &self,
            provider: Provider,
            secrets: &[&str],
            pairs: &[(&str, &str)],
            body: &str,
        ) -> &'static str {
            match self.verify(provider, secrets, pairs, body.as_bytes()) {
                Ok(_) => "ok",
                Err(error) => [
                    WebhookFailure::NotConfigured,
                    WebhookFailure::MissingSignature,
                    WebhookFailure::SignatureMismatch,
                    WebhookFailure::TimestampOutOfRange,
                    WebhookFailure::InvalidBody,
                ]
                .into_iter()
                .find(|f| error.code.as_deref() == Some(f.as_str()))
                .map(WebhookFailure::as_str)
                .expect("every webhook error has a code"),
            }
        }
    }

    #[test]
    fn constant_time_equality() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(ct_eq(b"", b""));
        for (a, b) in [
            (&b"abc"[..], &b"abd"[..]),
            (b"abc", b"ab"),
            (b"ab", b"abc"),
            (b"abcabc", b"abc"), // a repetition of the secret is not the secret
            (b"", b"a"),
            (b"a", b""),
            (b"\x00", b""),
        ] {
            assert!(!ct_eq(a, b), "{a:?} {b:?}");
        }
    }

    #[test]
    fn hex_and_timestamps() {
        let lower = "00ff10aa".repeat(8);
        let expected = [0x00, 0xff, 0x10, 0xaa].repeat(8);
        assert_eq!(
            decode_hex32(&lower).map(|b| b.to_vec()),
            Some(expected.clone())
        );
        assert_eq!(
            decode_hex32(&lower.to_uppercase()).map(|b| b.to_vec()),
            Some(expected)
        );
        for bad in [
            String::new(),
            lower[..63].to_owned(),
            lower[..62].to_owned(),
            [lower.as_str(), "00"].concat(),
            lower.replacen('a', "g", 1),
            lower.replacen('0', " ", 1),
            "é".repeat(32),
        ] {
            assert_eq!(decode_hex32(&bad), None, "{bad}");
        }
        assert_eq!(parse_timestamp("0"), Some(0));
        assert_eq!(parse_timestamp("1795251600"), Some(NOW));
        assert_eq!(parse_timestamp("0001795251600"), Some(NOW));
        assert_eq!(parse_timestamp("99999999999999999999999"), Some(u64::MAX));
        for bad in ["", "-1", "+1", "1.5", "1e9", " 1", "１"] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn tolerance_arithmetic() {
        for (t, ok) in [
            (NOW, true),
            (NOW - 300, true),
            (NOW - 301, false),
            (NOW + 300, true),
            (NOW + 301, false),
            (0, false),
            (u64::MAX, false),
        ] {
            assert_eq!(within_tolerance(NOW, t, 300), ok, "{t}");
        }
        assert!(within_tolerance(0, u64::MAX, u64::MAX));
        assert!(within_tolerance(u64::MAX, 0, u64::MAX));
        assert!(!within_tolerance(u64::MAX, 0, u64::MAX - 1));
        assert!(within_tolerance(5, 5, 0) && !within_tolerance(5, 6, 0));
        assert_eq!(tolerance(Provider::Gr4vy, None), Ok(300));
        assert_eq!(tolerance(Provider::Gr4vy, Some(0.0)), Ok(0));
        assert_eq!(tolerance(Provider::Gr4vy, Some(30.9)), Ok(30));
        assert_eq!(tolerance(Provider::Gr4vy, Some(1e300)), Ok(u64::MAX));
        for bad in [-1.0, f64::NAN, f64::INFINITY, -0.5] {
            assert!(tolerance(Provider::Gr4vy, Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn header_access() {
        let list = headers(&[("X-A", "1, 2"), ("x-a", " 3 ,,"), ("x-b", "9")]);
        assert_eq!(
            header_values(&list, "x-a").collect::<Vec<_>>(),
            ["1, 2", " 3 ,,"]
        );
        assert_eq!(
            header_items(&list, "X-A").collect::<Vec<_>>(),
            ["1", "2", "3"]
        );
        assert_eq!(header_items(&list, "x-c").count(), 0);
        let same = headers(&[("x-t", "5"), ("X-T", "5"), ("x-t", "5, 5")]);
        assert_eq!(single_item(&same, "x-t"), Ok(Some("5")));
        assert_eq!(single_item(&list, "x-a"), Err(()));
        assert_eq!(single_item(&list, "x-c"), Ok(None));
    }

    #[test]
    fn signed_payloads() {
        assert_eq!(
            signed_payload("1795251600", b"{\"a\":1}"),
            b"1795251600.{\"a\":1}"
        );
        assert_eq!(signed_payload("0", b""), b"0.");
        // A known HMAC-SHA256 vector (RFC 4231 test case 2) through the native stand-in.
        assert_eq!(
            hmac_hex("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn truemed_signature_headers() {
        let run = Run::new();
        let body = TRUEMED_BODY;
        let good = sig(SECRET, NOW, body);
        let other_body = sig(SECRET, NOW, "{}");
        let wrong_secret = sig(OTHER, NOW, body);
        let t = NOW.to_string();
        let old = NOW - 301;
        let old_sig = sig(SECRET, old, body);
        let cases: Vec<(String, &str)> = vec![
            (format!("t={t},v1={good}"), "ok"),
            (format!("v1={good},t={t}"), "ok"),
            (format!("  t = {t} ,  v1 = {good}  "), "ok"),
            (format!("t={t},v1={}", good.to_uppercase()), "ok"),
            (
                format!("t={t},v0=abc,v2={other_body},v1={good},x=1,junk"),
                "ok",
            ),
            (format!("t={t},v1={other_body},v1={good}"), "ok"),
            (format!("t={t},v1={},v1={good}", &good[..63]), "ok"),
            (format!("t={t},t={t},v1={good}"), "ok"),
            (format!("t={t},v1={good},"), "ok"),
            (format!("t={t},v1={other_body}"), "signature_mismatch"),
            (format!("t={t},v1={wrong_secret}"), "signature_mismatch"),
            (format!("t={},v1={good}", NOW + 1), "signature_mismatch"),
            (format!("t={t},v2={good}"), "missing_signature"),
            (format!("t={t}"), "missing_signature"),
            (format!("v1={good}"), "missing_signature"),
            (format!("t=,v1={good}"), "missing_signature"),
            (format!("t=abc,v1={good}"), "missing_signature"),
            (format!("t=-{t},v1={good}"), "missing_signature"),
            (format!("t={t},t={old},v1={good}"), "missing_signature"),
            (
                format!("t={old},v1={old_sig}, t={t},v1={good}"),
                "missing_signature",
            ),
            (format!("t={t},v1="), "missing_signature"),
            (format!("t={t},v1={}", &good[..63]), "missing_signature"),
            (format!("t={t},v1={}", &good[..62]), "missing_signature"),
            (format!("t={t},v1={}g", &good[..63]), "missing_signature"),
            (format!("t={t},v1={good}00"), "missing_signature"),
            (format!("T={t},V1={good}"), "missing_signature"),
            (format!("t={t};v1={good}"), "missing_signature"),
            (String::new(), "missing_signature"),
            ("garbage".to_owned(), "missing_signature"),
            (format!("t={old},v1={old_sig}"), "timestamp_out_of_range"),
            (
                format!("t={},v1={}", NOW + 301, sig(SECRET, NOW + 301, body)),
                "timestamp_out_of_range",
            ),
            (
                format!("t={},v1={}", NOW - 300, sig(SECRET, NOW - 300, body)),
                "ok",
            ),
            (
                format!("t={},v1={}", NOW + 300, sig(SECRET, NOW + 300, body)),
                "ok",
            ),
            (
                format!("t=0,v1={}", sig(SECRET, 0, body)),
                "timestamp_out_of_range",
            ),
            (
                format!(
                    "t=99999999999999999999999,v1={}",
                    hmac_hex(SECRET, format!("99999999999999999999999.{body}").as_bytes())
                ),
                "timestamp_out_of_range",
            ),
        ];
        for (header, expected) in &cases {
            let got = run.code(
                Provider::Truemed,
                &[SECRET],
                &[("X-Truemed-Signature", header)],
                body,
            );
            assert_eq!(got, *expected, "{header}");
        }
        // Repeated headers: identical copies are fine; an old signed copy beside a fresh
        // timestamp is refused, however the copies arrive.
        let fresh = format!("t={t},v1={good}");
        let stale = format!("t={old},v1={old_sig}");
        let name = "x-truemed-signature";
        assert_eq!(
            run.code(
                Provider::Truemed,
                &[SECRET],
                &[(name, &fresh), ("X-TRUEMED-SIGNATURE", &fresh)],
                body
            ),
            "ok"
        );
        assert_eq!(
            run.code(
                Provider::Truemed,
                &[SECRET],
                &[(name, &stale), (name, &fresh)],
                body
            ),
            "missing_signature"
        );
        assert_eq!(
            run.code(
                Provider::Truemed,
                &[SECRET],
                &[(name, &stale), (name, &format!("t={t}"))],
                body
            ),
            "missing_signature"
        );
        // With a signature header, the api key header is not consulted.
        let forged = format!("t={t},v1={other_body}");
        assert_eq!(
            run.code(
                Provider::Truemed,
                &[SECRET],
                &[(name, &forged), ("x-truemed-api-key", SECRET)],
                body
            ),
            "signature_mismatch"
        );
        assert_eq!(
            run.code(
                Provider::Truemed,
                &[SECRET],
                &[(name, ""), ("x-truemed-api-key", SECRET)],
                body
            ),
            "missing_signature"
        );
        scan_for_leaks(&run, &[SECRET, OTHER], body);
    }

    #[test]
    fn truemed_events() {
        let run = Run::new();
        let event = run.signed_truemed(TRUEMED_BODY).unwrap();
        assert_eq!(event.id.as_deref(), Some("wd_1"));
        assert_eq!(event.event_type, "payment_token_updated");
        let status = event.status.clone().unwrap();
        assert_eq!(
            (status.id.as_str(), status.state, status.token.as_deref()),
            ("ptr_1", TokenState::Succeeded, Some("tm_pt_1"))
        );
        assert_eq!(status.metadata.as_deref(), Some(MARKER));
        assert_eq!(
            event
                .data
                .get("provision_token_request_id")
                .and_then(Value::as_str),
            Some("ptr_1")
        );
        assert_eq!(event.poll_payment_method_id, None);
        let written = written(&event);
        assert_eq!(text_at(&written, &["provider"]), Some("truemed"));
        assert_eq!(text_at(&written, &["type"]), Some("payment_token_updated"));
        assert_eq!(written.get("data"), Some(&event.data));
        assert_eq!(text_at(&written, &["status", "state"]), Some("succeeded"));

        // Unsigned: the flat payload, by x-truemed-api-key, with secret rotation.
        let flat = r#"{"payment_token":"tm_pt_2","provision_token_request_id":"ptr_2"}"#;
        for (secrets, key, expected) in [
            (&[SECRET][..], SECRET, "ok"),
            (&[OTHER, SECRET][..], SECRET, "ok"),
            (&[OTHER][..], SECRET, "signature_mismatch"),
            (
                &[SECRET][..],
                &SECRET[..SECRET.len() - 1],
                "signature_mismatch",
            ),
            (
                &[SECRET][..],
                "whsec_test_5f3c1d_and_more",
                "signature_mismatch",
            ),
            (&[SECRET][..], "", "signature_mismatch"),
        ] {
            assert_eq!(
                run.code(
                    Provider::Truemed,
                    secrets,
                    &[("X-Truemed-Api-Key", key)],
                    flat
                ),
                expected,
                "{key}"
            );
        }
        let unsigned = run
            .verify(
                Provider::Truemed,
                &[SECRET],
                &[("x-truemed-api-key", &format!(" {SECRET} "))],
                flat.as_bytes(),
            )
            .unwrap();
        assert_eq!(
            (unsigned.id, unsigned.event_type.as_str()),
            (None, "payment_token_updated")
        );
        assert_eq!(unsigned.status.unwrap().id, "ptr_2");
        assert_eq!(unsigned.data, json::parse(flat.as_bytes()).unwrap());
        let key = "x-truemed-api-key";
        assert_eq!(
            run.code(
                Provider::Truemed,
                &[SECRET],
                &[(key, SECRET), (key, SECRET)],
                flat
            ),
            "ok"
        );
        assert_eq!(
            run.code(
                Provider::Truemed,
                &[SECRET],
                &[(key, "guess"), (key, SECRET)],
                flat
            ),
            "missing_signature"
        );
        assert_eq!(
            run.code(
                Provider::Truemed,
                &[SECRET],
                &[(key, SECRET), (key, "guess")],
                flat
            ),
            "missing_signature"
        );
        assert_eq!(
            run.code(Provider::Truemed, &[SECRET], &[], flat),
            "missing_signature"
        );
        assert_eq!(
            run.code(Provider::Truemed, &[], &[(key, SECRET)], flat),
            "not_configured"
        );
        // A pending update and another event type carry no status.
        let pending = r#"{"payment_token":null,"provision_token_request_id":"ptr_3"}"#;
        assert_eq!(
            run.verify(
                Provider::Truemed,
                &[SECRET],
                &[(key, SECRET)],
                pending.as_bytes()
            )
            .unwrap()
            .status,
            None
        );
        let other = r#"{"webhook_delivery_id":"wd_2","event_type":"payment_session.completed","data":{"payment_session_id":"ps_1"}}"#;
        let event = run.signed_truemed(other).unwrap();
        assert_eq!(
            (event.event_type.as_str(), event.status),
            ("payment_session.completed", None)
        );
        // Bodies that are authentic but not the documented shape.
        // (body, as a signed envelope, as an unsigned flat payload)
        for (body, signed, unsigned) in [
            ("not json", "invalid_body", "invalid_body"),
            ("", "invalid_body", "invalid_body"),
            ("[1]", "invalid_body", "invalid_body"),
            (r#"{"event_type":"x"}"#, "invalid_body", "ok"),
            (r#"{"event_type":"x","data":[]}"#, "invalid_body", "ok"),
            (
                r#"{"event_type":"x","data":{"payment_token":1}}"#,
                "invalid_body",
                "ok",
            ),
            (r#"{"payment_token":1}"#, "invalid_body", "invalid_body"),
        ] {
            let error = run.signed_truemed(body).unwrap_err();
            assert_eq!(error.code.as_deref(), Some(signed), "{body}");
            assert_eq!(
                run.code(Provider::Truemed, &[SECRET], &[(key, SECRET)], body),
                unsigned,
                "{body}"
            );
        }
        scan_for_leaks(&run, &[SECRET, OTHER], TRUEMED_BODY);
    }

    #[test]
    fn gr4vy_headers_and_rotation() {
        let run = Run::new();
        let body = GR4VY_BODY;
        let t = NOW.to_string();
        let secrets = ["whsec_a_0001", "whsec_b_0002", "whsec_c_0003"];
        let unknown = sig("whsec_x_9999", NOW, body);
        // Every non-empty set of configured secrets against every list of signatures drawn
        // from the secrets' signatures and an unknown one, in both orders.
        for configured in 1..8u32 {
            let chosen: Vec<&str> = (0..3)
                .filter(|i| configured >> i & 1 == 1)
                .map(|i| secrets[i])
                .collect();
            for listed in 1..16u32 {
                let mut sigs: Vec<String> = (0..3)
                    .filter(|i| listed >> i & 1 == 1)
                    .map(|i| sig(secrets[i], NOW, body))
                    .collect();
                if listed & 8 != 0 {
                    sigs.push(unknown.clone());
                }
                let expected = if configured & listed & 7 != 0 {
                    "ok"
                } else {
                    "signature_mismatch"
                };
                for order in [
                    sigs.join(","),
                    sigs.iter().rev().cloned().collect::<Vec<_>>().join(" , "),
                ] {
                    let before = run.crypto.hmacs.get();
                    let got = run.code(
                        Provider::Gr4vy,
                        &chosen,
                        &[
                            ("X-Gr4vy-Webhook-Timestamp", &t),
                            ("X-Gr4vy-Webhook-Signatures", &order),
                        ],
                        body,
                    );
                    assert_eq!(got, expected, "{chosen:?} {order}");
                    // One HMAC per configured secret, whatever matched first.
                    assert_eq!(run.crypto.hmacs.get() - before, chosen.len());
                }
            }
        }
        let good = sig(secrets[0], NOW, body);
        let ts = "x-gr4vy-webhook-timestamp";
        let ss = "x-gr4vy-webhook-signatures";
        let old = (NOW - 301).to_string();
        let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
            (vec![(ts, t.clone()), (ss, good.to_uppercase())], "ok"),
            (
                vec![(ts, t.clone()), (ss, format!("{},{good}", &good[..63]))],
                "ok",
            ),
            (vec![(ts, t.clone()), (ss, format!(",{good},"))], "ok"),
            (
                vec![(ts, t.clone()), (ts, t.clone()), (ss, good.clone())],
                "ok",
            ),
            (vec![(ts, format!("{t}, {t}")), (ss, good.clone())], "ok"),
            (
                vec![(ts, t.clone()), (ss, "zz".repeat(32)), (ss, good.clone())],
                "ok",
            ),
            (vec![(ss, good.clone())], "missing_signature"),
            (vec![(ts, t.clone())], "missing_signature"),
            (
                vec![(ts, t.clone()), (ss, String::new())],
                "missing_signature",
            ),
            (
                vec![(ts, t.clone()), (ss, " , ".to_owned())],
                "missing_signature",
            ),
            (
                vec![(ts, t.clone()), (ss, good[..63].to_owned())],
                "missing_signature",
            ),
            (
                vec![(ts, t.clone()), (ss, format!("sha256={good}"))],
                "missing_signature",
            ),
            (
                vec![(ts, String::new()), (ss, good.clone())],
                "missing_signature",
            ),
            (
                vec![(ts, "soon".to_owned()), (ss, good.clone())],
                "missing_signature",
            ),
            (
                vec![(ts, format!("{t}.5")), (ss, good.clone())],
                "missing_signature",
            ),
            (
                vec![(ts, old.clone()), (ts, t.clone()), (ss, good.clone())],
                "missing_signature",
            ),
            (
                vec![(ts, format!("{old}, {t}")), (ss, good.clone())],
                "missing_signature",
            ),
            (
                vec![
                    (ts, t.clone()),
                    (ss, good.clone()),
                    ("x-gr4vy-webhook-id", "a".into()),
                    ("X-Gr4vy-Webhook-Id", "b".into()),
                ],
                "missing_signature",
            ),
            (
                vec![(ts, old.clone()), (ss, sig(secrets[0], NOW - 301, body))],
                "timestamp_out_of_range",
            ),
            (
                vec![(ts, old.clone()), (ss, good.clone())],
                "signature_mismatch",
            ),
            (
                vec![(ts, t.clone()), (ss, sig(secrets[0], NOW, "{}"))],
                "signature_mismatch",
            ),
        ];
        for (pairs, expected) in &cases {
            let pairs: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (*n, v.as_str())).collect();
            assert_eq!(
                run.code(Provider::Gr4vy, &secrets[..1], &pairs, body),
                *expected,
                "{pairs:?}"
            );
        }
        assert_eq!(
            run.code(Provider::Gr4vy, &[], &[(ts, &t), (ss, &good)], body),
            "not_configured"
        );
        scan_for_leaks(&run, &secrets, body);
    }

    #[test]
    fn gr4vy_events() {
        let run = Run::new();
        let verify = |body: &str, id: Option<&str>| {
            let t = NOW.to_string();
            let s = sig(SECRET, NOW, body);
            let mut pairs = vec![
                ("X-Gr4vy-Webhook-Timestamp", t.as_str()),
                ("X-Gr4vy-Webhook-Signatures", s.as_str()),
            ];
            if let Some(id) = id {
                pairs.push(("X-Gr4vy-Webhook-ID", id));
            }
            run.verify(Provider::Gr4vy, &[SECRET], &pairs, body.as_bytes())
        };
        let event = verify(GR4VY_BODY, Some("wh_1")).unwrap();
        assert_eq!(
            (event.id.as_deref(), event.event_type.as_str()),
            (Some("wh_1"), "payment-service-token.updated")
        );
        let status = event.status.clone().unwrap();
        assert_eq!(
            (status.id.as_str(), status.state),
            ("pst_1", TokenState::Succeeded)
        );
        assert_eq!(event.data, json::parse(GR4VY_BODY.as_bytes()).unwrap());
        let written = written(&event);
        assert_eq!(text_at(&written, &["id"]), Some("wh_1"));
        assert_eq!(written.get("data"), Some(&event.data));
        assert_eq!(
            text_at(&written, &["status", "paymentMethodId"]),
            Some("pm_1")
        );

        let method = r#"{"type":"event","name":"payment-method.updated","target":{"type":"payment-method","id":"pm_7","status":"succeeded"}}"#;
        let event = verify(method, None).unwrap();
        assert_eq!(
            (
                event.id,
                event.status,
                event.poll_payment_method_id.as_deref()
            ),
            (None, None, Some("pm_7"))
        );
        let mut out = String::new();
        verify(method, None).unwrap().write_json(&mut out);
        assert!(out.starts_with(r#"{"provider":"gr4vy","id":null,"type":"payment-method.updated","status":null,"data":{"#), "{out}");
        let transaction = r#"{"type":"event","name":"transaction.captured","target":{"type":"transaction","id":"tx_1","status":"capture_succeeded"}}"#;
        let event = verify(transaction, Some("wh_2")).unwrap();
        assert_eq!((event.status, event.poll_payment_method_id), (None, None));
        for bad in [
            "",
            "nope",
            "[]",
            r#"{"target":{}}"#,
            r#"{"name":"x","target":{"type":"payment-service-token","id":"t"}}"#,
        ] {
            let error = verify(bad, None).unwrap_err();
            assert_eq!(error.code.as_deref(), Some("invalid_body"), "{bad}");
        }
        scan_for_leaks(&run, &[SECRET], GR4VY_BODY);
    }

    #[test]
    fn body_limit() {
        let run = Run::new();
        let t = NOW.to_string();
        // Exactly 1 MiB is verified; one byte more is refused before any HMAC.
        let prefix = r#"{"name":"big","pad":""#;
        let fits = [
            prefix,
            &"a".repeat(MAX_BODY_BYTES - prefix.len() - 2),
            "\"}",
        ]
        .concat();
        assert_eq!(fits.len(), MAX_BODY_BYTES);
        let s = sig(SECRET, NOW, &fits);
        let pairs = [
            ("x-gr4vy-webhook-timestamp", t.as_str()),
            ("x-gr4vy-webhook-signatures", s.as_str()),
        ];
        assert_eq!(run.code(Provider::Gr4vy, &[SECRET], &pairs, &fits), "ok");
        let hmacs = run.crypto.hmacs.get();
        let too_big = [&fits, " "].concat();
        let s = sig(SECRET, NOW, &too_big);
        let pairs = [
            ("x-gr4vy-webhook-timestamp", t.as_str()),
            ("x-gr4vy-webhook-signatures", s.as_str()),
        ];
        assert_eq!(
            run.code(Provider::Gr4vy, &[SECRET], &pairs, &too_big),
            "invalid_body"
        );
        let header = format!("t={t},v1={s}");
        assert_eq!(
            run.code(
                Provider::Truemed,
                &[SECRET],
                &[("x-truemed-signature", &header)],
                &too_big
            ),
            "invalid_body"
        );
        assert_eq!(run.crypto.hmacs.get(), hmacs);
        // Token.io has no webhooks.
        assert_eq!(
            run.code(Provider::TokenIo, &[SECRET], &[], "{}"),
            "not_configured"
        );
    }

    /// No error message or Debug output holds a secret, a signature (either case) or the body.
    fn scan_for_leaks(run: &Run, secrets: &[&str], body: &str) {
        let errors = run.errors.borrow();
        assert!(errors.len() > 3, "the table produced errors to scan");
        let mut forbidden: Vec<String> = secrets.iter().map(|s| (*s).to_owned()).collect();
        for secret in secrets {
            for t in [NOW, NOW - 301, NOW + 301] {
                let s = sig(secret, t, body);
                forbidden.push(s[..16].to_owned());
                forbidden.push(s[..16].to_uppercase());
            }
        }
        forbidden.push(MARKER.to_owned());
        forbidden.push(body.to_owned());
        for error in errors.iter() {
            let shown = format!("{error:?}\n{}", error.message);
            for secret in &forbidden {
                assert!(!shown.contains(secret.as_str()), "{secret} in {shown}");
            }
            let mut fields = String::new();
            error.write_fields_json(&mut fields);
            assert!(fields.contains(r#""kind":"invalid_webhook""#), "{fields}");
            assert!(fields.contains(r#""status":null"#) && fields.contains(r#""retryable":false"#));
        }
    }

    proptest! {
        #[test]
        fn arbitrary_requests_never_panic(
            names in prop::collection::vec(prop::sample::select(vec![
                "x-truemed-signature", "X-Truemed-Api-Key", "x-gr4vy-webhook-timestamp",
                "X-Gr4vy-Webhook-Signatures", "x-gr4vy-webhook-id", "other",
            ]), 0..5),
            values in prop::collection::vec("[ -~]{0,80}|(t=[0-9]{0,12},v1=[0-9a-fA-F]{60,66})", 0..5),
            body in prop::collection::vec(any::<u8>(), 0..200),
            now in any::<u64>(),
            tolerance in any::<u64>(),
        ) {
            let headers: Vec<(String, String)> = names.iter().zip(values.iter()).map(|(n, v)| ((*n).to_owned(), v.clone())).collect();
            let crypto = NativeCrypto::default();
            for provider in [Provider::Truemed, Provider::Gr4vy] {
                let inbound = Inbound { headers: &headers, body: &body, now, tolerance };
                let result = block_on(verify(&crypto, provider, &[SECRET.to_owned()], inbound));
                // Random input cannot forge a signature or the api key.
                let error = result.unwrap_err();
                prop_assert_eq!(error.kind, ErrorKind::InvalidWebhook);
                prop_assert!(!error.message.contains(SECRET));
            }
        }
    }
}
