//! Gr4vy's short-lived API tokens: ES512 JWTs signed with the merchant's P-521 key. The header
//! names the key by its RFC 7638 thumbprint, the claims carry the scopes; a minted token is
//! reused while at least [`REUSE_MARGIN_SECONDS`] of it remain. The signature itself comes
//! through [`Crypto`] (WebCrypto in the package).

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

use crate::crypto::Crypto;
use crate::error::Error;
use crate::json::write_string;
use crate::keys::{PrivateKey, PublicPoint};
use crate::status::Provider;
use crate::text::{push_base64url, push_u32, push_u64};

/// The `iss` claim: this library and its version.
pub const ISSUER: &str = concat!("token-status/", env!("CARGO_PKG_VERSION"));

/// `exp - iat`, in seconds.
pub const LIFETIME_SECONDS: u64 = 60;

/// A cached token is reused only while at least this many seconds of it remain.
pub const REUSE_MARGIN_SECONDS: u64 = 15;

/// The scopes a token carries by default: least privilege for what this library calls.
pub const DEFAULT_SCOPES: [&str; 2] = ["payment-methods.read", "payment-methods.write"];

/// Bytes in a raw ES512 signature (`r‖s`, 66 bytes each).
pub const SIGNATURE_BYTES: usize = 132;

/// At most this many scopes, each at most [`MAX_SCOPE_BYTES`] long.
const MAX_SCOPES: usize = 64;
const MAX_SCOPE_BYTES: usize = 128;

/// The `scopes` option: `None` gives [`DEFAULT_SCOPES`]; a given list must be non-empty, of
/// non-empty names without control characters.
pub fn scopes(given: Option<Vec<String>>) -> Result<Vec<String>, Error> {
    let Some(scopes) = given else {
        return Ok(DEFAULT_SCOPES.map(str::to_owned).to_vec());
    };
    let valid = |scope: &String| {
        !scope.trim().is_empty()
            && scope.len() <= MAX_SCOPE_BYTES
            && !scope.chars().any(char::is_control)
    };
    if scopes.is_empty() || scopes.len() > MAX_SCOPES || !scopes.iter().all(valid) {
        return Err(Error::invalid_argument(
            Provider::Gr4vy,
            "scopes must be a non-empty list of scope names such as \"payment-methods.read\" (no empty names, no control characters).",
        ));
    }
    Ok(scopes)
}

/// The JWS header: `{"alg":"ES512","typ":"JWT","kid":K}`.
pub fn header_json(kid: &str) -> String {
    let mut out = String::with_capacity(40 + kid.len());
    out.push_str("{\"alg\":\"ES512\",\"typ\":\"JWT\",\"kid\":");
    write_string(&mut out, kid);
    out.push('}');
    out
}

/// The claims: `{"iss","iat","nbf","exp","jti","scopes"}`, `nbf` = `iat`, `exp` = `iat` + 60.
pub fn claims_json(iat: u64, jti: &str, scopes: &[String]) -> String {
    let mut out = String::with_capacity(160);
    out.push_str("{\"iss\":");
    write_string(&mut out, ISSUER);
    for (claim, value) in [
        ("iat", iat),
        ("nbf", iat),
        ("exp", iat.saturating_add(LIFETIME_SECONDS)),
    ] {
        out.push_str(",\"");
        out.push_str(claim);
        out.push_str("\":");
        push_u64(&mut out, value);
    }
    out.push_str(",\"jti\":");
    write_string(&mut out, jti);
    out.push_str(",\"scopes\":[");
    for (i, scope) in scopes.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(&mut out, scope);
    }
    out.push_str("]}");
    out
}

/// A token id from 16 random bytes, formatted as a UUID v4 (as Gr4vy's own SDK sends).
pub fn jti(random: [u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut bytes = random;
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut out = String::with_capacity(36);
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 15)]));
    }
    out
}

/// What is signed: `base64url(header).base64url(claims)`.
pub fn signing_input(kid: &str, iat: u64, jti: &str, scopes: &[String]) -> String {
    let mut out = String::with_capacity(400);
    push_base64url(&mut out, header_json(kid).as_bytes());
    out.push('.');
    push_base64url(&mut out, claims_json(iat, jti, scopes).as_bytes());
    out
}

/// The compact JWS: the signing input, `.`, and the base64url raw `r‖s` signature (which must
/// be [`SIGNATURE_BYTES`] long: a DER signature is refused).
pub fn assemble(mut signing_input: String, signature: &[u8]) -> Result<String, Error> {
    if signature.len() != SIGNATURE_BYTES {
        let mut message =
            String::from("This runtime's WebCrypto returned an ECDSA P-521 signature of ");
        push_u32(
            &mut message,
            u32::try_from(signature.len()).unwrap_or(u32::MAX),
        );
        message.push_str(" bytes instead of 132 (raw r‖s); it cannot sign Gr4vy tokens. Use bearerToken instead.");
        return Err(Error::invalid_argument(Provider::Gr4vy, message));
    }
    signing_input.push('.');
    push_base64url(&mut signing_input, signature);
    Ok(signing_input)
}

/// The key id: base64url SHA-256 of the public key's RFC 7638 thumbprint input.
pub async fn key_id<C: Crypto>(crypto: &C, point: &PublicPoint) -> Result<String, Error> {
    let digest = crypto.sha256(point.thumbprint_input().as_bytes()).await?;
    let mut kid = String::with_capacity(43);
    push_base64url(&mut kid, &digest);
    Ok(kid)
}

/// The last minted token and its `iat`. `Debug` does not show the token (it is a credential).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TokenCache {
    token: Option<(String, u64)>,
}

impl core::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let iat = self.token.as_ref().map(|(_, iat)| iat);
        f.debug_struct("TokenCache")
            .field("token", &iat.map(|_| "[redacted]"))
            .field("iat", &iat)
            .finish()
    }
}

impl TokenCache {
    /// The cached token, if at least [`REUSE_MARGIN_SECONDS`] of it remain at `now` (and the
    /// clock has not gone back past its `iat`).
    pub fn current(&self, now: u64) -> Option<&str> {
        let (token, iat) = self.token.as_ref()?;
        let usable_until = iat.saturating_add(LIFETIME_SECONDS - REUSE_MARGIN_SECONDS);
        (*iat <= now && now <= usable_until).then_some(token.as_str())
    }

    /// Remembers a token minted at `iat`.
    pub fn store(&mut self, token: String, iat: u64) {
        self.token = Some((token, iat));
    }
}

/// Mints (and reuses) the bearer tokens of one Gr4vy client: the imported key, its id, the
/// scopes and the cache.
pub struct TokenMinter<K> {
    key: K,
    kid: String,
    scopes: Vec<String>,
    cache: RefCell<TokenCache>,
}

impl<K> core::fmt::Debug for TokenMinter<K> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TokenMinter")
            .field("key", &"[redacted]")
            .field("kid", &self.kid)
            .field("scopes", &self.scopes)
            .field("cache", &self.cache.borrow())
            .finish()
    }
}

impl<K> TokenMinter<K> {
    /// Imports `key` and computes its id. `scopes` come from [`scopes`]. The public point is the
    /// PEM's own when it has one, else the runtime's export of the imported key.
    pub async fn new<C: Crypto<SigningKey = K>>(
        crypto: &C,
        key: &PrivateKey,
        scopes: Vec<String>,
    ) -> Result<TokenMinter<K>, Error> {
        let embedded = key.public_point();
        let (signing_key, exported) = crypto
            .import_p521(key.pkcs8_der(), embedded.is_none())
            .await?;
        let point = match (embedded, exported) {
            (Some(point), _) => point.clone(),
            (None, Some((x, y))) => PublicPoint::from_jwk(&x, &y)?,
            (None, None) => {
                return Err(Error::invalid_argument(
                    Provider::Gr4vy,
                    "This runtime's WebCrypto did not export the key's public point, which the key id needs.",
                ));
            }
        };
        Ok(TokenMinter {
            key: signing_key,
            kid: key_id(crypto, &point).await?,
            scopes,
            cache: RefCell::default(),
        })
    }

    /// The key id sent as `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// A token for an attempt at `now` (Unix seconds): the cached one while it is fresh enough,
    /// else a new one whose `jti` comes from `random`.
    pub async fn bearer<C: Crypto<SigningKey = K>>(
        &self,
        crypto: &C,
        now: u64,
        random: impl FnOnce() -> [u8; 16],
    ) -> Result<String, Error> {
        if let Some(token) = self.cache.borrow().current(now) {
            return Ok(token.to_owned());
        }
        let input = signing_input(&self.kid, now, &jti(random()), &self.scopes);
        let signature = crypto.sign_es512(&self.key, input.as_bytes()).await?;
        let token = assemble(input, &signature)?;
        self.cache.borrow_mut().store(token.clone(), now);
        Ok(token)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::call::testing::block_on;
    use crate::crypto::testing::NativeCrypto;
    use crate::error::ErrorKind;
    use crate::json::{self, Value};
    use crate::keys::testing::*;
    use crate::text::decode_base64;
    use p521::ecdsa::signature::Verifier;

    const IAT: u64 = 1_795_251_600;
    const JTI: &str = "00010203-0405-4607-8809-0a0b0c0d0e0f";

    fn defaults() -> Vec<String> {
        scopes(None).unwrap()
    }

    #[test]
    fn header_and_claims_vectors() {
        // Expected strings and base64url written independently, with Node's JSON.stringify and
        // Buffer.toString('base64url').
        assert_eq!(
            header_json(P521_KID),
            r#"{"alg":"ES512","typ":"JWT","kid":"tEyQvVlH2enMVKqKZmbJFtV2NfK5NHBwWFdKysUt-gk"}"#
        );
        let input = signing_input(P521_KID, IAT, JTI, &defaults());
        let (header, claims) = input.split_once('.').unwrap();
        assert_eq!(
            header,
            "eyJhbGciOiJFUzUxMiIsInR5cCI6IkpXVCIsImtpZCI6InRFeVF2VmxIMmVuTVZLcUtabWJKRnRWMk5mSzVOSEJ3V0ZkS3lzVXQtZ2sifQ"
        );
        let expected_claims = [
            r#"{"iss":"token-status/"#,
            env!("CARGO_PKG_VERSION"),
            r#"","iat":1795251600,"nbf":1795251600,"exp":1795251660,"jti":"00010203-0405-4607-8809-0a0b0c0d0e0f","scopes":["payment-methods.read","payment-methods.write"]}"#,
        ]
        .concat();
        assert_eq!(claims_json(IAT, JTI, &defaults()), expected_claims);
        assert_eq!(decode_base64(claims).unwrap(), expected_claims.as_bytes());
        assert_eq!(
            claims_json(0, "a\"b", &["x\\y".to_owned()]),
            [
                r#"{"iss":""#,
                ISSUER,
                r#"","iat":0,"nbf":0,"exp":60,"jti":"a\"b","scopes":["x\\y"]}"#
            ]
            .concat()
        );
        // No overflow at the end of time.
        assert!(claims_json(u64::MAX, JTI, &defaults()).contains(r#""exp":18446744073709551615"#));
    }

    #[test]
    fn token_ids_are_uuid_v4() {
        let mut counter = 0u8;
        let bytes = [(); 16].map(|()| {
            counter += 1;
            counter - 1
        });
        assert_eq!(jti(bytes), JTI);
        assert_eq!(jti([0; 16]), "00000000-0000-4000-8000-000000000000");
        assert_eq!(jti([0xff; 16]), "ffffffff-ffff-4fff-bfff-ffffffffffff");
    }

    #[test]
    fn scope_options() {
        assert_eq!(
            defaults(),
            ["payment-methods.read", "payment-methods.write"]
        );
        let custom = vec!["payment-methods.read".to_owned()];
        assert_eq!(scopes(Some(custom.clone())), Ok(custom));
        for bad in [
            vec![],
            vec![String::new()],
            vec![" ".to_owned()],
            vec!["a\nb".to_owned()],
            vec!["ok".to_owned(), "\u{7f}".to_owned()],
            vec!["x".repeat(129)],
            vec!["s".to_owned(); 65],
        ] {
            assert_eq!(
                scopes(Some(bad.clone())).unwrap_err().kind,
                ErrorKind::InvalidArgument,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn signatures_must_be_raw() {
        let token = assemble("a.b".to_owned(), &[7; 132]).unwrap();
        assert!(token.starts_with("a.b.Bwc"));
        assert_eq!(token.len(), 4 + 176);
        for len in [0, 64, 131, 133, 139] {
            let error = assemble("a.b".to_owned(), &vec![0x30; len]).unwrap_err();
            assert_eq!(error.kind, ErrorKind::InvalidArgument);
            assert!(
                error.message.contains(&format!("of {len} bytes")),
                "{}",
                error.message
            );
        }
    }

    #[test]
    fn reuse_window() {
        let mut cache = TokenCache::default();
        assert_eq!(cache.current(IAT), None);
        cache.store("jwt-1".to_owned(), IAT);
        assert_eq!(cache.current(IAT), Some("jwt-1"));
        assert_eq!(cache.current(IAT + 45), Some("jwt-1")); // 15 s left: still reused
        assert_eq!(cache.current(IAT + 46), None); // 14 s left: mint anew
        assert_eq!(cache.current(IAT - 1), None); // the clock went back
        assert_eq!(cache.current(u64::MAX), None);
        cache.store("jwt-2".to_owned(), u64::MAX - 1);
        assert_eq!(cache.current(u64::MAX), Some("jwt-2"));
        let debug = format!("{cache:?}");
        assert!(
            !debug.contains("jwt-2") && debug.contains("[redacted]"),
            "{debug}"
        );
    }

    /// The public key from Node's JWK export, independent of the signing path.
    fn node_verifying_key() -> p521::ecdsa::VerifyingKey {
        let point = [
            &[4u8][..],
            &decode_base64(P521_X).unwrap(),
            &decode_base64(P521_Y).unwrap(),
        ]
        .concat();
        p521::ecdsa::VerifyingKey::from_sec1_bytes(&point).unwrap()
    }

    fn decode_part(part: &str) -> Value {
        json::parse(&decode_base64(part).unwrap()).unwrap()
    }

    #[test]
    fn minted_tokens_verify_end_to_end() {
        let crypto = NativeCrypto::default();
        for pem in [
            P521_PKCS8,
            P521_SEC1,
            P521_PKCS8_NO_PUBLIC,
            P521_SEC1_NO_PUBLIC,
        ] {
            let key = PrivateKey::from_pem(pem).unwrap();
            let minter = block_on(TokenMinter::new(&crypto, &key, defaults())).unwrap();
            assert_eq!(minter.kid(), P521_KID, "{pem}");
            let token = block_on(minter.bearer(&crypto, IAT, || [9; 16])).unwrap();
            let parts: Vec<&str> = token.split('.').collect();
            assert_eq!(parts.len(), 3);
            let header = decode_part(parts[0]);
            assert_eq!(header.get("alg").and_then(Value::as_str), Some("ES512"));
            assert_eq!(header.get("kid").and_then(Value::as_str), Some(P521_KID));
            let claims = decode_part(parts[1]);
            assert_eq!(
                claims.get("exp").and_then(Value::as_f64),
                Some((IAT + 60) as f64)
            );
            assert_eq!(
                claims.get("jti").and_then(Value::as_str),
                Some(jti([9; 16]).as_str())
            );
            let signature = decode_base64(parts[2]).unwrap();
            assert_eq!(signature.len(), SIGNATURE_BYTES);
            let signature = p521::ecdsa::Signature::from_slice(&signature).unwrap();
            let signed = [parts[0], ".", parts[1]].concat();
            assert!(
                node_verifying_key()
                    .verify(signed.as_bytes(), &signature)
                    .is_ok()
            );
            // Tampered claims do not verify.
            let forged = [parts[0], ".", &parts[1].replace('A', "B")].concat();
            assert!(
                node_verifying_key()
                    .verify(forged.as_bytes(), &signature)
                    .is_err()
            );
        }
        let other = PrivateKey::from_pem(P521_ECPARAM).unwrap();
        let minter = block_on(TokenMinter::new(&crypto, &other, defaults())).unwrap();
        assert_eq!(minter.kid(), P521_ECPARAM_KID);
    }

    #[test]
    fn tokens_are_reused_while_fresh() {
        let crypto = NativeCrypto::default();
        let key = PrivateKey::from_pem(P521_PKCS8).unwrap();
        let minter = block_on(TokenMinter::new(&crypto, &key, defaults())).unwrap();
        let mut draws = 0u8;
        let mut mint = |now: u64| {
            block_on(minter.bearer(&crypto, now, || {
                draws += 1;
                [draws; 16]
            }))
            .unwrap()
        };
        let first = mint(IAT);
        assert_eq!(mint(IAT + 10), first);
        assert_eq!(mint(IAT + 45), first);
        let second = mint(IAT + 46);
        assert_ne!(second, first);
        assert_eq!(mint(IAT + 50), second);
        assert_eq!(crypto.signatures.get(), 2);
        assert_eq!(draws, 2);
        let claims = decode_part(second.split('.').nth(1).unwrap());
        assert_eq!(
            claims.get("iat").and_then(Value::as_f64),
            Some((IAT + 46) as f64)
        );
        let debug = format!("{minter:?}");
        assert!(
            !debug.contains(&second) && !debug.contains(&first),
            "{debug}"
        );
    }
}
