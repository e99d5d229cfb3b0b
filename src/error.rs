//! [`Error`]: every way a call can fail, as one struct whose [`ErrorKind`] tells the caller what
//! to do next, plus the HTTP-status → kind table and credential redaction.

use crate::json::write_string;
use crate::status::{Provider, TokenStatus};
use crate::text::{contains, push_u32, replace};
use alloc::borrow::ToOwned;
use alloc::boxed::Box;
use alloc::string::String;

/// What went wrong, chosen by what the caller must do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// An argument or option is not acceptable; nothing was sent. Fix the call.
    InvalidArgument,
    /// HTTP 401 or 403: the credential is missing, wrong, expired or lacks the scope.
    Unauthorized,
    /// HTTP 404, or Gr4vy listed the payment method's tokens and the id is not among them.
    NotFound,
    /// HTTP 429: the provider wants fewer requests. Retryable.
    RateLimited,
    /// HTTP 400, 405, 409, 422 (and other 4xx): the provider refused the request as sent.
    BadRequest,
    /// HTTP 5xx: the provider failed. Retryable for 500, 502, 503, 504.
    ProviderError,
    /// No HTTP answer: DNS, connection refused or reset, CORS. Retryable.
    Network,
    /// An attempt (or a whole wait) ran out of time. Retryable.
    Timeout,
    /// The caller's `AbortSignal` fired.
    Aborted,
    /// A 2xx answer whose body is not the documented JSON (HTML, truncated, wrong types, too big).
    InvalidResponse,
    /// A credential was configured in a browser without `allowBrowserCredentials: true`.
    InsecureCredentials,
    /// `verifyWebhook` refused a request: `code` says why (see [`crate::webhook::WebhookFailure`]).
    InvalidWebhook,
}

impl ErrorKind {
    /// The kind as the JavaScript API spells it (`invalid_argument`, `not_found`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::NotFound => "not_found",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::ProviderError => "provider_error",
            ErrorKind::Network => "network",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Aborted => "aborted",
            ErrorKind::InvalidResponse => "invalid_response",
            ErrorKind::InsecureCredentials => "insecure_credentials",
            ErrorKind::InvalidWebhook => "invalid_webhook",
        }
    }

    /// The kind for a non-2xx HTTP status.
    pub fn from_http_status(status: u16) -> ErrorKind {
        match status {
            401 | 403 => ErrorKind::Unauthorized,
            404 => ErrorKind::NotFound,
            429 => ErrorKind::RateLimited,
            400..=499 => ErrorKind::BadRequest,
            500..=599 => ErrorKind::ProviderError,
            _ => ErrorKind::InvalidResponse,
        }
    }
}

/// True for the HTTP statuses worth retrying: 429, 500, 502, 503, 504.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

/// A failed call. Plain data; the JavaScript surface turns it into a `TokenStatusError`.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Which client raised it.
    pub provider: Provider,
    /// The HTTP status of the last answer, when there was one.
    pub status: Option<u16>,
    /// The provider's own error code (Gr4vy `code`, Token.io `errorCode`, Truemed `error`/`code`).
    pub code: Option<String>,
    /// Token.io `tokenTraceId`, for support tickets.
    pub trace_id: Option<String>,
    /// Whether the same call may succeed if tried again later.
    pub retryable: bool,
    /// Token.io `token-external-error: true`: the failure came from the bank.
    pub external: bool,
    /// HTTP requests sent for this call.
    pub attempts: u32,
    /// What happened and what to do. Never contains a credential.
    pub message: String,
    /// For a wait that ran out: the last status obtained, if any.
    pub last_status: Option<Box<TokenStatus>>,
    /// For a wait that ran out: the last failure, if any.
    pub cause: Option<Box<Error>>,
    /// The delay the provider asked for (`Retry-After`, `retry-after-ms`), in ms, if any.
    pub retry_after_ms: Option<f64>,
}

impl Error {
    /// A new error with no HTTP details, not retryable, zero attempts.
    pub fn new(kind: ErrorKind, provider: Provider, message: impl Into<String>) -> Error {
        Error {
            kind,
            provider,
            status: None,
            code: None,
            trace_id: None,
            retryable: matches!(
                kind,
                ErrorKind::Network | ErrorKind::Timeout | ErrorKind::RateLimited
            ),
            external: false,
            attempts: 0,
            message: message.into(),
            last_status: None,
            cause: None,
            retry_after_ms: None,
        }
    }

    /// An `invalid_argument` error.
    pub fn invalid_argument(provider: Provider, message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidArgument, provider, message)
    }

    /// An `invalid_response` error for a 2xx body that is not what the provider documents.
    pub fn invalid_response(provider: Provider, status: u16, what: &str) -> Error {
        let mut message = String::with_capacity(160);
        message.push_str(provider.display_name());
        message.push_str(" answered HTTP ");
        push_u32(&mut message, u32::from(status));
        message.push_str(" but the body is not the documented JSON (");
        message.push_str(what);
        message.push_str("). Check that baseUrl points at the provider or a proxy that forwards its answers unchanged.");
        let mut error = Error::new(ErrorKind::InvalidResponse, provider, message);
        error.status = Some(status);
        error
    }

    /// Appends the error's fields (everything but `message` and `cause`) as the JSON object the
    /// JavaScript `TokenStatusError` is built from.
    pub fn write_fields_json(&self, out: &mut String) {
        out.push_str("{\"kind\":\"");
        out.push_str(self.kind.as_str());
        out.push_str("\",\"provider\":\"");
        out.push_str(self.provider.as_str());
        out.push_str("\",\"status\":");
        match self.status {
            Some(status) => push_u32(out, u32::from(status)),
            None => out.push_str("null"),
        }
        for (key, value) in [("code", &self.code), ("traceId", &self.trace_id)] {
            out.push_str(",\"");
            out.push_str(key);
            out.push_str("\":");
            match value {
                Some(text) => write_string(out, text),
                None => out.push_str("null"),
            }
        }
        out.push_str(",\"retryable\":");
        out.push_str(if self.retryable { "true" } else { "false" });
        out.push_str(",\"external\":");
        out.push_str(if self.external { "true" } else { "false" });
        out.push_str(",\"attempts\":");
        push_u32(out, self.attempts);
        out.push_str(",\"lastStatus\":");
        match &self.last_status {
            Some(status) => status.write_json(out),
            None => out.push_str("null"),
        }
        out.push('}');
    }

    /// Replaces every occurrence of each secret in every text field (and the cause's) with
    /// `[redacted]`: the message, and the provider-supplied code and trace id, which a provider
    /// could fill with whatever it was sent.
    pub fn redact(&mut self, secrets: &[String]) {
        self.message = redact(&self.message, secrets);
        for text in [&mut self.code, &mut self.trace_id].into_iter().flatten() {
            *text = redact(text, secrets);
        }
        if let Some(cause) = &mut self.cause {
            cause.redact(secrets);
        }
    }
}

/// Secrets shorter than this are not redacted (they would match ordinary words).
const MIN_SECRET_LEN: usize = 4;

/// `text` with every occurrence of each secret replaced by `[redacted]`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for secret in secrets {
        if secret.len() >= MIN_SECRET_LEN && contains(&out, secret) {
            out = replace(&out, secret, "[redacted]");
        }
    }
    out
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_status() {
        for (status, kind) in [
            (400, "bad_request"),
            (405, "bad_request"),
            (409, "bad_request"),
            (422, "bad_request"),
            (401, "unauthorized"),
            (403, "unauthorized"),
            (404, "not_found"),
            (429, "rate_limited"),
            (500, "provider_error"),
            (501, "provider_error"),
            (502, "provider_error"),
            (503, "provider_error"),
            (504, "provider_error"),
            (302, "invalid_response"),
        ] {
            assert_eq!(
                ErrorKind::from_http_status(status).as_str(),
                kind,
                "{status}"
            );
        }
    }

    #[test]
    fn retryable_statuses() {
        let retryable: Vec<u16> = (100..600).filter(|s| is_retryable_status(*s)).collect();
        assert_eq!(retryable, [429, 500, 502, 503, 504]);
    }

    #[test]
    fn fields_json() {
        let mut error = Error::new(ErrorKind::ProviderError, Provider::TokenIo, "m");
        error.status = Some(503);
        error.trace_id = Some("tr\"1".into());
        error.external = true;
        error.retryable = true;
        error.attempts = 3;
        let mut out = String::new();
        error.write_fields_json(&mut out);
        assert_eq!(
            out,
            r#"{"kind":"provider_error","provider":"tokenio","status":503,"code":null,"traceId":"tr\"1","retryable":true,"external":true,"attempts":3,"lastStatus":null}"#
        );
    }

    #[test]
    fn every_text_field_is_redacted() {
        let secrets = vec!["s3cr3t-value".to_owned()];
        let mut error = Error::new(
            ErrorKind::Unauthorized,
            Provider::TokenIo,
            "bad s3cr3t-value",
        );
        error.code = Some("code-s3cr3t-value".into());
        error.trace_id = Some("s3cr3t-value".into());
        let mut cause = Error::new(ErrorKind::Network, Provider::TokenIo, "s3cr3t-value!");
        cause.trace_id = Some("t-s3cr3t-value".into());
        error.cause = Some(Box::new(cause));
        error.redact(&secrets);
        let text = format!("{error:?}");
        assert!(!text.contains("s3cr3t-value"), "{text}");
        assert_eq!(error.trace_id.as_deref(), Some("[redacted]"));
    }

    #[test]
    fn redaction() {
        let secrets = vec!["sk_live_123".to_owned(), "ab".to_owned()];
        assert_eq!(
            redact("bad key sk_live_123 (sk_live_123)", &secrets),
            "bad key [redacted] ([redacted])"
        );
        // Too-short secrets are left alone rather than mangling every word.
        assert_eq!(redact("about", &secrets), "about");
    }
}
