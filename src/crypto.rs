//! The cryptography the core needs, as a seam like [`crate::call::Env`]: `fetch.rs` implements
//! [`Crypto`] with WebCrypto (`crypto.subtle`), the tests with RustCrypto. The core decides what
//! to hash, sign and compare; this trait only computes.

use crate::error::Error;
use alloc::string::String;
use alloc::vec::Vec;

/// SHA-256, HMAC-SHA256 and ECDSA P-521 signing, asynchronous as WebCrypto is.
///
/// Errors are the implementation's to word (a runtime whose WebCrypto cannot sign P-521 answers
/// `invalid_argument` naming the runtime); they must never contain key bytes.
#[allow(async_fn_in_trait)]
pub trait Crypto {
    /// A private key ready to sign with (a non-extractable WebCrypto `CryptoKey` in the package).
    type SigningKey;

    /// SHA-256 of `data` (WebCrypto `digest('SHA-256', data)`).
    async fn sha256(&self, data: &[u8]) -> Result<[u8; 32], Error>;

    /// HMAC-SHA256 of `data` under `key` (WebCrypto `importKey('raw', key, {name: 'HMAC',
    /// hash: 'SHA-256'}, false, ['sign'])`, then `sign('HMAC', …)`).
    async fn hmac_sha256(&self, key: &[u8], data: &[u8]) -> Result<[u8; 32], Error>;

    /// Imports a PKCS#8 ECDSA P-521 private key (as [`crate::keys::PrivateKey::pkcs8_der`] gives
    /// it) for signing. When `want_public` is set, also returns the public point's JWK `x` and `y`
    /// (base64url, from `exportKey('jwk')`), for keys whose PEM does not carry the public key.
    async fn import_p521(
        &self,
        pkcs8: &[u8],
        want_public: bool,
    ) -> Result<(Self::SigningKey, Option<(String, String)>), Error>;

    /// ECDSA P-521 over SHA-512 of `data`, as raw `r‖s` (WebCrypto `sign({name: 'ECDSA', hash:
    /// 'SHA-512'}, key, data)`; 132 bytes).
    async fn sign_es512(&self, key: &Self::SigningKey, data: &[u8]) -> Result<Vec<u8>, Error>;
}

#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) mod testing {
    //! [`Crypto`] on RustCrypto (dev-dependencies only), so the flows run natively.

    use super::*;
    use crate::status::Provider;
    use crate::text::push_base64url;
    use hmac::{KeyInit, Mac};
    use p521::ecdsa::signature::Signer;
    use p521::pkcs8::DecodePrivateKey;
    use sha2::Digest;
    use std::cell::Cell;

    /// RustCrypto behind the [`Crypto`] seam; counts what it was asked to do.
    #[derive(Default)]
    pub struct NativeCrypto {
        pub hmacs: Cell<usize>,
        pub signatures: Cell<usize>,
    }

    impl Crypto for NativeCrypto {
        type SigningKey = p521::ecdsa::SigningKey;

        async fn sha256(&self, data: &[u8]) -> Result<[u8; 32], Error> {
            Ok(sha2::Sha256::digest(data).into())
        }

        async fn hmac_sha256(&self, key: &[u8], data: &[u8]) -> Result<[u8; 32], Error> {
            self.hmacs.set(self.hmacs.get() + 1);
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("any length");
            mac.update(data);
            Ok(mac.finalize().into_bytes().into())
        }

        async fn import_p521(
            &self,
            pkcs8: &[u8],
            want_public: bool,
        ) -> Result<(Self::SigningKey, Option<(String, String)>), Error> {
            let key = p521::ecdsa::SigningKey::from_pkcs8_der(pkcs8).map_err(|_| {
                Error::invalid_argument(Provider::Gr4vy, "the PKCS#8 key does not import")
            })?;
            let public = want_public.then(|| {
                let point = key.verifying_key().to_sec1_bytes();
                let (mut x, mut y) = (String::new(), String::new());
                push_base64url(&mut x, &point[1..67]);
                push_base64url(&mut y, &point[67..]);
                (x, y)
            });
            Ok((key, public))
        }

        async fn sign_es512(&self, key: &Self::SigningKey, data: &[u8]) -> Result<Vec<u8>, Error> {
            self.signatures.set(self.signatures.get() + 1);
            let signature: p521::ecdsa::Signature = key.sign(data);
            Ok(signature.to_bytes().to_vec())
        }
    }

    /// HMAC-SHA256 as lower-case hex, for building signed test requests.
    pub fn hmac_hex(key: &str, data: &[u8]) -> String {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).expect("any");
        mac.update(data);
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}
