//! The normalized answer: [`TokenStatus`], its [`TokenState`], and the per-provider status
//! mapping tables from the design (provider value in, normalized state out).

use crate::json::{Value, write_string};
use alloc::borrow::ToOwned;
use alloc::string::String;

/// Which provider a status or an error belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// Truemed provision token requests.
    Truemed,
    /// Gr4vy payment service tokens.
    Gr4vy,
    /// Token.io token request results.
    TokenIo,
}

impl Provider {
    /// The provider's name as the JavaScript API spells it: `truemed`, `gr4vy`, `tokenio`.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Truemed => "truemed",
            Provider::Gr4vy => "gr4vy",
            Provider::TokenIo => "tokenio",
        }
    }

    /// The provider's name as people write it, for messages: `Truemed`, `Gr4vy`, `Token.io`.
    pub fn display_name(self) -> &'static str {
        match self {
            Provider::Truemed => "Truemed",
            Provider::Gr4vy => "Gr4vy",
            Provider::TokenIo => "Token.io",
        }
    }
}

/// Where a token's provisioning stands, the same for every provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenState {
    /// The provider is still working on it (Truemed `payment_token` null, Gr4vy `processing`,
    /// Token.io `PENDING`).
    Pending,
    /// The buyer must act before it can finish: Gr4vy `buyer_approval_required`, with `actionUrl`.
    ActionRequired,
    /// Provisioned: the token is available (Truemed `payment_token` set, Gr4vy `succeeded`,
    /// Token.io `PROCESSED`).
    Succeeded,
    /// Finished without a token: Gr4vy `failed`, Token.io `REJECTED`.
    Failed,
    /// Token.io `EXPIRED`: the request was not completed in time.
    Expired,
    /// A value this version does not know (Gr4vy `paused`, anything added later). Not terminal,
    /// never an error.
    Unknown,
}

impl TokenState {
    /// The state as the JavaScript API spells it (`pending`, `action_required`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            TokenState::Pending => "pending",
            TokenState::ActionRequired => "action_required",
            TokenState::Succeeded => "succeeded",
            TokenState::Failed => "failed",
            TokenState::Expired => "expired",
            TokenState::Unknown => "unknown",
        }
    }

    /// Every state, in the order the design lists them.
    pub const ALL: [TokenState; 6] = [
        TokenState::Pending,
        TokenState::ActionRequired,
        TokenState::Succeeded,
        TokenState::Failed,
        TokenState::Expired,
        TokenState::Unknown,
    ];

    /// The state spelled as the JavaScript API spells it, back: `None` for anything else.
    pub fn parse(text: &str) -> Option<TokenState> {
        TokenState::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
    }

    /// True for the final states (`succeeded`, `failed`, `expired`): polling can stop.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TokenState::Succeeded | TokenState::Failed | TokenState::Expired
        )
    }

    /// Gr4vy's `status` value to a state.
    pub fn from_gr4vy(status: &str) -> TokenState {
        match status {
            "processing" => TokenState::Pending,
            "buyer_approval_required" => TokenState::ActionRequired,
            "succeeded" => TokenState::Succeeded,
            "failed" => TokenState::Failed,
            _ => TokenState::Unknown,
        }
    }

    /// Token.io's `status` value to a state.
    pub fn from_tokenio(status: &str) -> TokenState {
        match status {
            "PENDING" => TokenState::Pending,
            "PROCESSED" => TokenState::Succeeded,
            "REJECTED" => TokenState::Failed,
            "EXPIRED" => TokenState::Expired,
            _ => TokenState::Unknown,
        }
    }

    /// Truemed has no status field: a `payment_token` means provisioned, none means pending.
    pub fn from_truemed(payment_token: Option<&str>) -> TokenState {
        match payment_token {
            Some(_) => TokenState::Succeeded,
            None => TokenState::Pending,
        }
    }
}

/// Token.io's signature over a token request result.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Signature {
    /// Id of the signing key.
    pub key_id: Option<String>,
    /// Token.io member that signed.
    pub member_id: Option<String>,
    /// The signature itself.
    pub signature: Option<String>,
}

/// Fields only one provider has, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderFields {
    /// Truemed carries nothing beyond the common fields.
    Truemed,
    /// Gr4vy payment service token fields.
    Gr4vy {
        /// The payment method the token belongs to.
        payment_method_id: Option<String>,
        /// The payment service (connection) that holds the token.
        payment_service_id: Option<String>,
        /// When Gr4vy created the token (ISO 8601, verbatim).
        created_at: Option<String>,
        /// When Gr4vy last changed it (ISO 8601, verbatim).
        updated_at: Option<String>,
    },
    /// Token.io token request result fields.
    TokenIo {
        /// Transfer id, for payment token requests.
        transfer_id: Option<String>,
        /// Standing order submission id, for standing order token requests.
        standing_order_submission_id: Option<String>,
        /// The bank the user chose.
        bank_id: Option<String>,
        /// Token.io's signature over the result.
        signature: Option<Signature>,
    },
}

/// One normalized status answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenStatus {
    /// Who answered.
    pub provider: Provider,
    /// The id that was looked up.
    pub id: String,
    /// The normalized state.
    pub state: TokenState,
    /// The provider's own status value, verbatim; `None` for Truemed, which has none.
    pub provider_status: Option<String>,
    /// Truemed `payment_token`, Gr4vy `token`, Token.io `tokenId`.
    pub token: Option<String>,
    /// Where the buyer must go to act (Gr4vy `approval_url`).
    pub action_url: Option<String>,
    /// Why it failed (Token.io `statusReasonInformation`).
    pub reason: Option<String>,
    /// Truemed `metadata`.
    pub metadata: Option<String>,
    /// Provider-specific fields.
    pub fields: ProviderFields,
}

impl TokenStatus {
    /// True when polling can stop (`succeeded`, `failed`, `expired`).
    pub fn terminal(&self) -> bool {
        self.state.is_terminal()
    }

    /// True when `other` differs in what a waiter reports on: state or provider status.
    pub fn changed_from(&self, other: &TokenStatus) -> bool {
        self.state != other.state || self.provider_status != other.provider_status
    }

    /// Reads back a status as [`TokenStatus::write_json`] writes it (what the JavaScript API
    /// returned, perhaps sent through a server to a page): `provider`, `id` and `state` are
    /// required, every other field may be absent or null, `terminal` is derived from `state`.
    /// `None` when it is not a status.
    pub fn from_json(value: &Value) -> Option<TokenStatus> {
        let text = |v: Option<&Value>, key: &str| -> Option<String> {
            v.and_then(|v| v.get(key))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let field = |key: &str| text(Some(value), key);
        let provider = match value.get("provider")?.as_str()? {
            "truemed" => Provider::Truemed,
            "gr4vy" => Provider::Gr4vy,
            "tokenio" => Provider::TokenIo,
            _ => return None,
        };
        let fields = match provider {
            Provider::Truemed => ProviderFields::Truemed,
            Provider::Gr4vy => ProviderFields::Gr4vy {
                payment_method_id: field("paymentMethodId"),
                payment_service_id: field("paymentServiceId"),
                created_at: field("createdAt"),
                updated_at: field("updatedAt"),
            },
            Provider::TokenIo => {
                let signature = value.get("signature").filter(|v| v.is_object());
                ProviderFields::TokenIo {
                    transfer_id: field("transferId"),
                    standing_order_submission_id: field("standingOrderSubmissionId"),
                    bank_id: field("bankId"),
                    signature: signature.map(|_| Signature {
                        key_id: text(signature, "keyId"),
                        member_id: text(signature, "memberId"),
                        signature: text(signature, "signature"),
                    }),
                }
            }
        };
        Some(TokenStatus {
            provider,
            id: field("id")?,
            state: TokenState::parse(value.get("state")?.as_str()?)?,
            provider_status: field("providerStatus"),
            token: field("token"),
            action_url: field("actionUrl"),
            reason: field("reason"),
            metadata: field("metadata"),
            fields,
        })
    }

    /// Appends this status as the JSON object the JavaScript API returns (camelCase keys,
    /// `null` for absent values, provider-specific fields after the common ones).
    pub fn write_json(&self, out: &mut String) {
        out.push_str("{\"provider\":\"");
        out.push_str(self.provider.as_str());
        out.push_str("\",\"id\":");
        write_string(out, &self.id);
        out.push_str(",\"state\":\"");
        out.push_str(self.state.as_str());
        out.push_str("\",\"terminal\":");
        out.push_str(if self.terminal() { "true" } else { "false" });
        let common = [
            ("providerStatus", &self.provider_status),
            ("token", &self.token),
            ("actionUrl", &self.action_url),
            ("reason", &self.reason),
            ("metadata", &self.metadata),
        ];
        write_members(out, &common);
        match &self.fields {
            ProviderFields::Truemed => {}
            ProviderFields::Gr4vy {
                payment_method_id,
                payment_service_id,
                created_at,
                updated_at,
            } => write_members(
                out,
                &[
                    ("paymentMethodId", payment_method_id),
                    ("paymentServiceId", payment_service_id),
                    ("createdAt", created_at),
                    ("updatedAt", updated_at),
                ],
            ),
            ProviderFields::TokenIo {
                transfer_id,
                standing_order_submission_id,
                bank_id,
                signature,
            } => {
                write_members(
                    out,
                    &[
                        ("transferId", transfer_id),
                        ("standingOrderSubmissionId", standing_order_submission_id),
                        ("bankId", bank_id),
                    ],
                );
                out.push_str(",\"signature\":");
                match signature {
                    None => out.push_str("null"),
                    Some(sig) => {
                        out.push('{');
                        write_members(
                            out,
                            &[
                                ("keyId", &sig.key_id),
                                ("memberId", &sig.member_id),
                                ("signature", &sig.signature),
                            ],
                        );
                        out.push('}');
                    }
                }
            }
        }
        out.push('}');
    }
}

/// Appends `,"key":value` for each member (`null` when absent); the separator is left out
/// right after an opening brace.
fn write_members(out: &mut String, members: &[(&str, &Option<String>)]) {
    for (key, value) in members {
        if !out.ends_with('{') {
            out.push(',');
        }
        out.push('"');
        out.push_str(key);
        out.push_str("\":");
        match value {
            Some(text) => write_string(out, text),
            None => out.push_str("null"),
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn gr4vy_table() {
        assert_eq!(TokenState::from_gr4vy("processing"), TokenState::Pending);
        assert_eq!(
            TokenState::from_gr4vy("buyer_approval_required"),
            TokenState::ActionRequired
        );
        assert_eq!(TokenState::from_gr4vy("succeeded"), TokenState::Succeeded);
        assert_eq!(TokenState::from_gr4vy("failed"), TokenState::Failed);
        assert_eq!(TokenState::from_gr4vy("paused"), TokenState::Unknown);
        assert_eq!(TokenState::from_gr4vy("SUCCEEDED"), TokenState::Unknown);
    }

    #[test]
    fn tokenio_table() {
        assert_eq!(TokenState::from_tokenio("PENDING"), TokenState::Pending);
        assert_eq!(TokenState::from_tokenio("PROCESSED"), TokenState::Succeeded);
        assert_eq!(TokenState::from_tokenio("REJECTED"), TokenState::Failed);
        assert_eq!(TokenState::from_tokenio("EXPIRED"), TokenState::Expired);
        assert_eq!(TokenState::from_tokenio("ON_HOLD"), TokenState::Unknown);
        assert_eq!(TokenState::from_tokenio(""), TokenState::Unknown);
    }

    #[test]
    fn truemed_table() {
        assert_eq!(TokenState::from_truemed(None), TokenState::Pending);
        assert_eq!(
            TokenState::from_truemed(Some("pt_1")),
            TokenState::Succeeded
        );
    }

    #[test]
    fn json_shapes() {
        let status = TokenStatus {
            provider: Provider::TokenIo,
            id: "rq:\"1\"".into(),
            state: TokenState::Succeeded,
            provider_status: Some("PROCESSED".into()),
            token: Some("tt:1".into()),
            action_url: None,
            reason: None,
            metadata: None,
            fields: ProviderFields::TokenIo {
                transfer_id: None,
                standing_order_submission_id: None,
                bank_id: Some("ob".into()),
                signature: Some(Signature {
                    key_id: Some("k".into()),
                    member_id: None,
                    signature: Some("s".into()),
                }),
            },
        };
        let mut out = String::new();
        status.write_json(&mut out);
        assert_eq!(
            out,
            r#"{"provider":"tokenio","id":"rq:\"1\"","state":"succeeded","terminal":true,"providerStatus":"PROCESSED","token":"tt:1","actionUrl":null,"reason":null,"metadata":null,"transferId":null,"standingOrderSubmissionId":null,"bankId":"ob","signature":{"keyId":"k","memberId":null,"signature":"s"}}"#
        );
        assert!(crate::json::parse(out.as_bytes()).is_ok());
        let truemed = TokenStatus {
            provider: Provider::Truemed,
            id: "p".into(),
            state: TokenState::Pending,
            provider_status: None,
            token: None,
            action_url: None,
            reason: None,
            metadata: Some("m".into()),
            fields: ProviderFields::Truemed,
        };
        let mut out = String::new();
        truemed.write_json(&mut out);
        assert_eq!(
            out,
            r#"{"provider":"truemed","id":"p","state":"pending","terminal":false,"providerStatus":null,"token":null,"actionUrl":null,"reason":null,"metadata":"m"}"#
        );
    }

    #[test]
    fn terminal_states() {
        let terminal: Vec<_> = TokenState::ALL
            .into_iter()
            .filter(|s| s.is_terminal())
            .map(TokenState::as_str)
            .collect();
        assert_eq!(terminal, ["succeeded", "failed", "expired"]);
    }

    fn text() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(any::<String>())
    }

    fn any_status() -> impl Strategy<Value = TokenStatus> {
        let state = proptest::sample::select(TokenState::ALL.to_vec());
        let fields = prop_oneof![
            Just(ProviderFields::Truemed),
            (text(), text(), text(), text()).prop_map(|(a, b, c, d)| ProviderFields::Gr4vy {
                payment_method_id: a,
                payment_service_id: b,
                created_at: c,
                updated_at: d,
            }),
            (
                text(),
                text(),
                text(),
                proptest::option::of((text(), text(), text()))
            )
                .prop_map(|(a, b, c, sig)| ProviderFields::TokenIo {
                    transfer_id: a,
                    standing_order_submission_id: b,
                    bank_id: c,
                    signature: sig.map(|(key_id, member_id, signature)| Signature {
                        key_id,
                        member_id,
                        signature,
                    }),
                }),
        ];
        (
            any::<String>(),
            state,
            text(),
            text(),
            text(),
            text(),
            text(),
            fields,
        )
            .prop_map(
                |(id, state, provider_status, token, action_url, reason, metadata, fields)| {
                    TokenStatus {
                        provider: match fields {
                            ProviderFields::Truemed => Provider::Truemed,
                            ProviderFields::Gr4vy { .. } => Provider::Gr4vy,
                            ProviderFields::TokenIo { .. } => Provider::TokenIo,
                        },
                        id,
                        state,
                        provider_status,
                        token,
                        action_url,
                        reason,
                        metadata,
                        fields,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn statuses_read_back_as_written(status in any_status()) {
            let mut out = String::new();
            status.write_json(&mut out);
            let value = crate::json::parse(out.as_bytes()).unwrap();
            prop_assert_eq!(TokenStatus::from_json(&value), Some(status));
        }

        #[test]
        fn reading_any_json_never_panics(text in "\\PC{0,80}") {
            if let Ok(value) = crate::json::parse(text.as_bytes()) {
                let _ = TokenStatus::from_json(&value);
            }
        }
    }

    #[test]
    fn what_is_not_a_status_is_refused() {
        for text in [
            "{}",
            "[]",
            r#"{"provider":"stripe","id":"x","state":"pending"}"#,
            r#"{"provider":"truemed","state":"pending"}"#,
            r#"{"provider":"truemed","id":"x","state":"done"}"#,
            r#"{"provider":"truemed","id":7,"state":"pending"}"#,
        ] {
            let value = crate::json::parse(text.as_bytes()).unwrap();
            assert_eq!(TokenStatus::from_json(&value), None, "{text}");
        }
    }
}
