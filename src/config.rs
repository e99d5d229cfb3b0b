//! A client's settled configuration (pure data, validated): where requests go, how they
//! authenticate, and the timeout and retry policy. `js.rs` builds it from JavaScript options.

use crate::retry::RetryPolicy;
use crate::status::Provider;
use crate::text::decode_base64;
use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

/// Which provider environment the default host is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Environment {
    /// The provider's sandbox / test host (the default).
    #[default]
    Sandbox,
    /// The live host.
    Production,
}

/// How a request carries its credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// No credential: a proxy in front of the provider adds it.
    None,
    /// A fixed header value, such as `x-truemed-api-key: <key>` or `authorization: Basic <b64>`.
    Static {
        /// Lower-case header name.
        header: &'static str,
        /// Full header value.
        value: String,
        /// The secret part of `value`, redacted wherever text could echo it.
        secret: String,
    },
    /// A Gr4vy API token minted from the client's private key for the attempt (or reused while
    /// fresh, see [`crate::jwt`]), sent as `authorization: bearer <JWT>`.
    Minted,
    /// A bearer token obtained before every attempt (a JavaScript function), sent as
    /// `authorization: <scheme> <token>`.
    Dynamic {
        /// The scheme word exactly as the provider documents it (`bearer`, `Bearer`).
        scheme: &'static str,
    },
}

/// Header names that carry a credential when a user sets them in `headers`.
pub const CREDENTIAL_HEADERS: [&str; 2] = ["authorization", "x-truemed-api-key"];

/// Everything a client needs to build and send its calls.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// Whose API this is.
    pub provider: Provider,
    /// Base URL without a trailing slash.
    pub base_url: String,
    /// The credential.
    pub auth: Auth,
    /// Extra headers sent on every request (lower-case names), after the library's own.
    pub headers: Vec<(String, String)>,
    /// Per-attempt timeout in ms.
    pub timeout_ms: f64,
    /// GET retry policy.
    pub retry: RetryPolicy,
}

/// Default per-attempt timeout: 30 s.
pub const DEFAULT_TIMEOUT_MS: f64 = 30_000.0;

impl ClientConfig {
    /// A configuration with no credential, no extra headers and the default timeout and retry policy.
    pub fn new(provider: Provider, base_url: String) -> ClientConfig {
        ClientConfig {
            provider,
            base_url,
            auth: Auth::None,
            headers: Vec::new(),
            timeout_ms: DEFAULT_TIMEOUT_MS,
            retry: RetryPolicy::default(),
        }
    }

    /// True when a credential is configured (an auth option, or a credential header in `headers`).
    pub fn has_credential(&self) -> bool {
        self.auth != Auth::None
            || self
                .headers
                .iter()
                .any(|(name, _)| CREDENTIAL_HEADERS.contains(&name.as_str()))
    }

    /// The headers a request carries, in order: its own (a minted or `bearerToken` credential,
    /// a content type), then the static credential, then the configured `headers`, each
    /// replacing an earlier one of the same name (so the configured ones win, as documented).
    /// The static part is the same for every request, so the I/O seam may build it once.
    pub fn request_headers<'a>(&'a self, own: &'a [(String, String)]) -> Vec<(&'a str, &'a str)> {
        let mut out: Vec<(&str, &str)> = Vec::with_capacity(own.len() + self.headers.len() + 1);
        let mut set = |name: &'a str, value: &'a str| {
            out.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            out.push((name, value));
        };
        for (name, value) in own {
            set(name, value);
        }
        if let Auth::Static { header, value, .. } = &self.auth {
            set(header, value);
        }
        for (name, value) in &self.headers {
            set(name, value);
        }
        out
    }

    /// The configured secret strings, for redaction: each credential as configured, and for a
    /// Basic credential also its decoded `user:password` and the password alone, in case a
    /// provider echoes what it decoded.
    pub fn secrets(&self) -> Vec<String> {
        let mut secrets = Vec::new();
        if let Auth::Static { secret, value, .. } = &self.auth {
            secrets.push(secret.clone());
            if value.starts_with("Basic ") {
                if let Some(decoded) = decode_base64(secret).and_then(|b| String::from_utf8(b).ok())
                {
                    if let Some((_, password)) = crate::text::split_at_byte(&decoded, b':') {
                        secrets.push(password.to_owned());
                    }
                    secrets.push(decoded);
                }
            }
        }
        for (name, value) in &self.headers {
            if CREDENTIAL_HEADERS.contains(&name.as_str()) {
                secrets.push(value.clone());
                // The token after a scheme word, in case a provider echoes only that.
                if let Some((_, token)) = crate::text::split_at_byte(value, b' ') {
                    secrets.push(token.trim().to_owned());
                }
            }
        }
        secrets
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_headers_count() {
        let mut config = ClientConfig::new(Provider::TokenIo, "https://x".into());
        assert!(!config.has_credential());
        config.headers.push(("x-request-id".into(), "1".into()));
        assert!(!config.has_credential());
        config
            .headers
            .push(("authorization".into(), "Bearer abc.def".into()));
        assert!(config.has_credential());
        assert_eq!(config.secrets(), ["Bearer abc.def", "abc.def"]);
    }

    #[test]
    fn configured_headers_win_over_the_librarys_own() {
        let mut config = ClientConfig::new(Provider::Gr4vy, "https://x".into());
        config.auth = Auth::Static {
            header: "authorization",
            value: "bearer static".into(),
            secret: "static".into(),
        };
        config
            .headers
            .push(("x-gr4vy-merchant-account-id".into(), "m".into()));
        assert_eq!(
            config.request_headers(&[]),
            [
                ("authorization", "bearer static"),
                ("x-gr4vy-merchant-account-id", "m")
            ]
        );
        config
            .headers
            .push(("authorization".into(), "bearer mine".into()));
        let own = [("content-type".to_owned(), "application/json".to_owned())];
        assert_eq!(
            config.request_headers(&own),
            [
                ("content-type", "application/json"),
                ("x-gr4vy-merchant-account-id", "m"),
                ("authorization", "bearer mine")
            ]
        );
    }

    #[test]
    fn basic_credentials_are_secret_decoded_too() {
        let mut config = ClientConfig::new(Provider::TokenIo, "https://x".into());
        config.auth = Auth::Static {
            header: "authorization",
            value: "Basic c2ltOnRva2VuaW8=".into(),
            secret: "c2ltOnRva2VuaW8=".into(),
        };
        assert_eq!(
            config.secrets(),
            ["c2ltOnRva2VuaW8=", "tokenio", "sim:tokenio"]
        );
    }
}
