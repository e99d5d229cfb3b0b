//! Gr4vy API keys: the PEM text the dashboard issues (PKCS#8 `BEGIN PRIVATE KEY` or SEC1
//! `BEGIN EC PRIVATE KEY`), checked to be ECDSA P-521 and turned into the canonical PKCS#8 DER
//! that WebCrypto `importKey('pkcs8', …, {name: 'ECDSA', namedCurve: 'P-521'})` takes; and the
//! RFC 7638 thumbprint input of its public key. Parsing only: no crypto here, and no byte of a
//! key ever reaches an error message or `Debug` output.

use crate::error::Error;
use crate::status::Provider;
use crate::text::{decode_base64, push_base64url};
use alloc::string::String;
use alloc::vec::Vec;

/// Bytes in a P-521 field element: the private scalar and each public coordinate.
pub const P521_BYTES: usize = 66;

/// OID 1.2.840.10045.2.1 (id-ecPublicKey), DER-encoded.
const OID_EC_PUBLIC_KEY: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// OID 1.3.132.0.35 (secp521r1, P-521), DER-encoded.
const OID_P521: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23];

/// A parsed ECDSA P-521 private key. `Debug` shows neither the key nor its length.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKey {
    pkcs8: Vec<u8>,
    public: Option<PublicPoint>,
}

/// An uncompressed P-521 public point (not secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicPoint {
    x: [u8; P521_BYTES],
    y: [u8; P521_BYTES],
}

impl core::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PrivateKey")
            .field("pkcs8", &"[redacted]")
            .field("public", &self.public)
            .finish()
    }
}

impl Drop for PrivateKey {
    fn drop(&mut self) {
        for byte in &mut self.pkcs8 {
            // SAFETY: `byte` is a valid, exclusive reference; a volatile write is not elided.
            unsafe { core::ptr::write_volatile(byte, 0) };
        }
    }
}

impl PrivateKey {
    /// Parses the `privateKey` option: one PEM private key block (text around it, `\r\n`, blank
    /// lines, and escaped `\n` as in `.env` files are tolerated; an `EC PARAMETERS` block beside
    /// it is ignored). Anything that is not an unencrypted ECDSA P-521 key is `invalid_argument`
    /// saying which it is.
    pub fn from_pem(pem: &str) -> Result<PrivateKey, Error> {
        let mut found: Option<(&str, &str)> = None;
        let mut other: Option<&str> = None;
        let mut rest = pem;
        while let Some(start) = rest.find("-----BEGIN ") {
            let after = &rest[start + 11..];
            let Some(label_end) = after.find("-----") else {
                return Err(bad_pem("a BEGIN line is not closed by -----"));
            };
            let label = &after[..label_end];
            let body_and_rest = &after[label_end + 5..];
            let Some(end) = body_and_rest.find("-----END ") else {
                return Err(bad_pem("a PEM block has no END line"));
            };
            let body = &body_and_rest[..end];
            let closing = &body_and_rest[end + 9..];
            match closing.strip_prefix(label) {
                Some(tail) if tail.starts_with("-----") => rest = &tail[5..],
                _ => {
                    return Err(bad_pem(
                        "a PEM block's END line does not match its BEGIN line",
                    ));
                }
            }
            if label.ends_with("PRIVATE KEY") {
                if found.is_some() {
                    return Err(invalid(
                        "privateKey holds more than one private key; pass one.",
                    ));
                }
                found = Some((label, body));
            } else if label != "EC PARAMETERS" {
                other = Some(label);
            }
        }
        let Some((label, body)) = found else {
            return Err(match other {
                None => bad_pem("there is no -----BEGIN PRIVATE KEY----- line"),
                Some("PUBLIC KEY" | "CERTIFICATE") => invalid(
                    "privateKey is a public key or certificate; pass the private key (-----BEGIN PRIVATE KEY-----) the Gr4vy dashboard issued.",
                ),
                Some(_) => bad_pem("no PEM block in it is a private key"),
            });
        };
        let der = match label {
            "PRIVATE KEY" | "EC PRIVATE KEY" if body.contains("Proc-Type:") => {
                return Err(encrypted());
            }
            "PRIVATE KEY" | "EC PRIVATE KEY" => pem_body(body)?,
            "RSA PRIVATE KEY" => return Err(rsa()),
            "ENCRYPTED PRIVATE KEY" => return Err(encrypted()),
            _ => {
                return Err(invalid(
                    "privateKey is not a PKCS#8 or SEC1 private key (such as an OpenSSH key); only ECDSA P-521 keys are supported. Pass the PEM the Gr4vy dashboard issued.",
                ));
            }
        };
        let parsed = if label == "PRIVATE KEY" {
            parse_pkcs8(&der)
        } else {
            parse_ec_private_key(&der, None)
        };
        parsed.map_err(KeyProblem::into_error)
    }

    /// The key as canonical PKCS#8 DER (version 0, id-ecPublicKey with secp521r1, the 66-byte
    /// scalar, and the public key when the PEM had one), for WebCrypto `importKey('pkcs8', …)`.
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The public point, when the PEM carried it. Without it, import the key extractable and
    /// read `x` and `y` from `exportKey('jwk')` ([`PublicPoint::from_jwk`]).
    pub fn public_point(&self) -> Option<&PublicPoint> {
        self.public.as_ref()
    }
}

impl PublicPoint {
    /// The point from JWK `x` and `y` (base64url, 66 bytes each), as WebCrypto exports them.
    pub fn from_jwk(x: &str, y: &str) -> Result<PublicPoint, Error> {
        let coordinate = |text: &str| {
            decode_base64(text)
                .and_then(|bytes| <[u8; P521_BYTES]>::try_from(bytes).ok())
                .ok_or_else(|| {
                    invalid("The runtime exported a public key that is not a P-521 point.")
                })
        };
        Ok(PublicPoint {
            x: coordinate(x)?,
            y: coordinate(y)?,
        })
    }

    /// The RFC 7638 thumbprint input: exactly `{"crv":"P-521","kty":"EC","x":"…","y":"…"}`
    /// (members in lexicographic order, no whitespace, base64url coordinates). The key id is the
    /// base64url SHA-256 of it.
    pub fn thumbprint_input(&self) -> String {
        let mut out = String::with_capacity(220);
        out.push_str("{\"crv\":\"P-521\",\"kty\":\"EC\",\"x\":\"");
        push_base64url(&mut out, &self.x);
        out.push_str("\",\"y\":\"");
        push_base64url(&mut out, &self.y);
        out.push_str("\"}");
        out
    }

    /// The point from SEC1 `04‖x‖y`; `None` for a compressed or malformed encoding.
    fn from_sec1(bytes: &[u8]) -> Option<PublicPoint> {
        let (&tag, coordinates) = bytes.split_first()?;
        if tag != 0x04 || coordinates.len() != 2 * P521_BYTES {
            return None;
        }
        let (x, y) = coordinates.split_at(P521_BYTES);
        Some(PublicPoint {
            x: x.try_into().ok()?,
            y: y.try_into().ok()?,
        })
    }
}

/// Why a PEM block's DER is refused; mapped to a message that names no key byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyProblem {
    /// Not well-formed DER, or not the PKCS#8 / SEC1 structure.
    Malformed,
    /// PKCS#8 rsaEncryption or RSASSA-PSS.
    Rsa,
    /// Another algorithm (Ed25519, DSA, ...).
    NotEc,
    /// An EC key on another curve, by name when known.
    Curve(&'static str),
    /// Curve parameters spelled out instead of named.
    ExplicitCurve,
    /// No curve named anywhere in the key.
    NoCurve,
}

impl KeyProblem {
    fn into_error(self) -> Error {
        match self {
            KeyProblem::Malformed => invalid(
                "privateKey is PEM, but its contents are not a valid PKCS#8 or SEC1 EC private key (truncated or edited?). Pass the PEM the Gr4vy dashboard issued, unchanged.",
            ),
            KeyProblem::Rsa => rsa(),
            KeyProblem::NotEc => invalid(
                "privateKey is not an EC key (e.g. Ed25519 or DSA); only ECDSA P-521 keys are supported.",
            ),
            KeyProblem::Curve(curve) => {
                let mut message = String::from("privateKey is an EC key on ");
                message.push_str(curve);
                message.push_str(", not P-521; only ECDSA P-521 keys are supported.");
                invalid(message)
            }
            KeyProblem::ExplicitCurve => invalid(
                "privateKey spells out its curve parameters instead of naming the curve; only ECDSA P-521 keys with the named curve secp521r1 are supported (openssl ec -param_enc named_curve converts it).",
            ),
            KeyProblem::NoCurve => invalid(
                "privateKey does not name its curve; only ECDSA P-521 keys (secp521r1) are supported.",
            ),
        }
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::invalid_argument(Provider::Gr4vy, message)
}

fn bad_pem(what: &str) -> Error {
    let mut message = String::from("privateKey must be the PEM text of your Gr4vy API key (");
    message.push_str(what);
    message.push_str(
        "). Pass the whole file, from -----BEGIN PRIVATE KEY----- to -----END PRIVATE KEY-----.",
    );
    invalid(message)
}

fn rsa() -> Error {
    invalid(
        "privateKey is an RSA key; only ECDSA P-521 keys are supported. Create an ECDSA API key in the Gr4vy dashboard.",
    )
}

fn encrypted() -> Error {
    invalid(
        "privateKey is encrypted with a passphrase; pass the unencrypted PEM the Gr4vy dashboard issued (or decrypt it: openssl pkcs8 -topk8 -nocrypt).",
    )
}

/// A PEM body's bytes: base64 with any whitespace, and `\n` / `\r` escapes, skipped.
fn pem_body(body: &str) -> Result<Vec<u8>, Error> {
    let mut text = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n' | 'r') => {}
                _ => return Err(bad_pem("the key text has a stray backslash")),
            },
            c if c.is_whitespace() => {}
            c => text.push(c),
        }
    }
    decode_base64(&text).ok_or_else(|| bad_pem("the key text is not base64"))
}

/// A cursor over DER (X.690) bytes: single-byte tags, definite lengths up to 4 bytes.
struct Der<'a> {
    rest: &'a [u8],
}

impl<'a> Der<'a> {
    fn new(bytes: &'a [u8]) -> Der<'a> {
        Der { rest: bytes }
    }

    fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The next element's tag and contents.
    fn any(&mut self) -> Result<(u8, &'a [u8]), KeyProblem> {
        let (&tag, rest) = self.rest.split_first().ok_or(KeyProblem::Malformed)?;
        let (&first, mut rest) = rest.split_first().ok_or(KeyProblem::Malformed)?;
        if tag & 0x1f == 0x1f {
            return Err(KeyProblem::Malformed); // high tag numbers: never in a key
        }
        let len = match first {
            0..=0x7f => usize::from(first),
            0x81..=0x84 => {
                let (bytes, tail) = rest
                    .split_at_checked(usize::from(first & 0x7f))
                    .ok_or(KeyProblem::Malformed)?;
                rest = tail;
                bytes.iter().fold(0usize, |n, &b| n << 8 | usize::from(b))
            }
            _ => return Err(KeyProblem::Malformed), // indefinite or absurd lengths
        };
        let (contents, rest) = rest.split_at_checked(len).ok_or(KeyProblem::Malformed)?;
        self.rest = rest;
        Ok((tag, contents))
    }

    /// The next element's contents; it must have tag `tag`.
    fn expect(&mut self, tag: u8) -> Result<&'a [u8], KeyProblem> {
        match self.any()? {
            (found, contents) if found == tag => Ok(contents),
            _ => Err(KeyProblem::Malformed),
        }
    }

    /// The contents of the next element if it has tag `tag`.
    fn optional(&mut self, tag: u8) -> Result<Option<&'a [u8]>, KeyProblem> {
        if self.peek_tag() == Some(tag) {
            self.expect(tag).map(Some)
        } else {
            Ok(None)
        }
    }

    /// The contents of the only element in `bytes`.
    fn only(bytes: &'a [u8], tag: u8) -> Result<&'a [u8], KeyProblem> {
        let mut der = Der::new(bytes);
        let contents = der.expect(tag)?;
        if der.rest.is_empty() {
            Ok(contents)
        } else {
            Err(KeyProblem::Malformed)
        }
    }
}

/// PKCS#8 PrivateKeyInfo / OneAsymmetricKey (RFC 5208, 5958) holding an EC key.
fn parse_pkcs8(der: &[u8]) -> Result<PrivateKey, KeyProblem> {
    let mut info = Der::new(Der::only(der, 0x30)?);
    if !matches!(info.expect(0x02)?, [0] | [1]) {
        return Err(KeyProblem::Malformed);
    }
    let mut algorithm = Der::new(info.expect(0x30)?);
    let oid = algorithm.expect(0x06)?;
    match oid {
        [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01] => {}
        // rsaEncryption (1.2.840.113549.1.1.1) and RSASSA-PSS (…1.1.10).
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 | 0x0a] => {
            return Err(KeyProblem::Rsa);
        }
        _ => return Err(KeyProblem::NotEc),
    }
    let curve = if algorithm.rest.is_empty() {
        None
    } else {
        match algorithm.any()? {
            (0x06, oid) => Some(oid),
            (0x05, []) => None,
            _ => return Err(KeyProblem::ExplicitCurve),
        }
    };
    if !algorithm.rest.is_empty() {
        return Err(KeyProblem::Malformed);
    }
    // Attributes and a PKCS#8 v2 public key may follow; the inner key is what counts.
    parse_ec_private_key(info.expect(0x04)?, curve)
}

/// SEC1 ECPrivateKey (RFC 5915); `outer_curve` is the curve OID of an enclosing PKCS#8.
fn parse_ec_private_key(der: &[u8], outer_curve: Option<&[u8]>) -> Result<PrivateKey, KeyProblem> {
    let mut key = Der::new(Der::only(der, 0x30)?);
    if key.expect(0x02)? != [1] {
        return Err(KeyProblem::Malformed);
    }
    let scalar = key.expect(0x04)?;
    let inner_curve = match key.optional(0xa0)? {
        Some(parameters) => match Der::new(parameters).any()? {
            (0x06, oid) if Der::only(parameters, 0x06).is_ok() => Some(oid),
            _ => return Err(KeyProblem::ExplicitCurve),
        },
        None => None,
    };
    let public_key = key.optional(0xa1)?;
    if !key.rest.is_empty() {
        return Err(KeyProblem::Malformed);
    }
    let curve = match (outer_curve, inner_curve) {
        (Some(a), Some(b)) if a != b => return Err(KeyProblem::Malformed),
        (Some(curve), _) | (None, Some(curve)) => curve,
        (None, None) => return Err(KeyProblem::NoCurve),
    };
    if curve != &OID_P521[2..] {
        return Err(KeyProblem::Curve(curve_name(curve)));
    }
    let public = match public_key {
        Some(wrapped) => match Der::only(wrapped, 0x03)? {
            // A compressed point is left to WebCrypto's export.
            [0, 0x02 | 0x03, x @ ..] if x.len() == P521_BYTES => None,
            [0, point @ ..] => Some(PublicPoint::from_sec1(point).ok_or(KeyProblem::Malformed)?),
            _ => return Err(KeyProblem::Malformed),
        },
        None => None,
    };
    // Some encoders drop leading zero bytes of the scalar; WebCrypto wants all 66.
    let significant = &scalar[scalar.iter().take_while(|&&b| b == 0).count()..];
    if significant.is_empty() || significant.len() > P521_BYTES {
        return Err(KeyProblem::Malformed);
    }
    let mut padded = [0u8; P521_BYTES];
    padded[P521_BYTES - significant.len()..].copy_from_slice(significant);
    let pkcs8 = canonical_pkcs8(&padded, public.as_ref());
    padded.fill(0);
    Ok(PrivateKey { pkcs8, public })
}

fn curve_name(oid: &[u8]) -> &'static str {
    match oid {
        [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07] => "P-256",
        [0x2b, 0x81, 0x04, 0x00, 0x22] => "P-384",
        [0x2b, 0x81, 0x04, 0x00, 0x0a] => "secp256k1",
        _ => "another curve",
    }
}

/// Appends one DER element (lengths below 64 KiB, all a key needs).
fn push_tlv(out: &mut Vec<u8>, tag: u8, contents: &[u8]) {
    out.push(tag);
    match contents.len() {
        len @ 0..=0x7f => out.push(len as u8),
        len @ 0x80..=0xff => out.extend_from_slice(&[0x81, len as u8]),
        len => out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]),
    }
    out.extend_from_slice(contents);
}

/// PKCS#8 v1 `{0, {id-ecPublicKey, secp521r1}, OCTET STRING {ECPrivateKey {1, d, [1] Q?}}}`.
/// The curve is named once, in the algorithm (WebCrypto would refuse a mismatch anyway).
fn canonical_pkcs8(scalar: &[u8; P521_BYTES], public: Option<&PublicPoint>) -> Vec<u8> {
    let mut ec_key = Vec::with_capacity(212);
    push_tlv(&mut ec_key, 0x02, &[1]);
    push_tlv(&mut ec_key, 0x04, scalar);
    if let Some(point) = public {
        let mut bits = Vec::with_capacity(134);
        bits.extend_from_slice(&[0x00, 0x04]);
        bits.extend_from_slice(&point.x);
        bits.extend_from_slice(&point.y);
        let mut bit_string = Vec::with_capacity(137);
        push_tlv(&mut bit_string, 0x03, &bits);
        push_tlv(&mut ec_key, 0xa1, &bit_string);
    }
    let mut sequence = Vec::with_capacity(215);
    push_tlv(&mut sequence, 0x30, &ec_key);
    let mut info = Vec::with_capacity(240);
    push_tlv(&mut info, 0x02, &[0]);
    let mut algorithm = Vec::with_capacity(18);
    algorithm.extend_from_slice(OID_EC_PUBLIC_KEY);
    algorithm.extend_from_slice(OID_P521);
    push_tlv(&mut info, 0x30, &algorithm);
    push_tlv(&mut info, 0x04, &sequence);
    let mut out = Vec::with_capacity(241);
    push_tlv(&mut out, 0x30, &info);
    for buffer in [&mut ec_key, &mut sequence, &mut info] {
        buffer.fill(0);
    }
    out
}

#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) mod testing {
    //! Test keys, generated with OpenSSL 3.0 for these tests only (never used anywhere else).

    /// P-521, PKCS#8 with its public key (`openssl genpkey -algorithm EC -pkeyopt
    /// ec_paramgen_curve:P-521`).
    pub const P521_PKCS8: &str = "-----BEGIN PRIVATE KEY-----
MIHuAgEAMBAGByqGSM49AgEGBSuBBAAjBIHWMIHTAgEBBEIBTdbf0QJhyHV9HvCT
IH3YHPXsEaOmCJGIkXAR9/MQ1gOhf8/h+ahAl9b5Pt8Htx3hIX35AROd9tNskRBb
HozyxY2hgYkDgYYABABFNl/rhckV59B5sFq6aYTfYG1h4YgXmXie7GGiRBx7Txi6
42BmHHWiTIKpDrqJEFhnOq9U07MvG21GKXJS/QvGFgEUrW9vb/H+KIFFbaqCOsyh
kGA6P7F+D7I+lLZUFyK0v3WrHFDq2pGX5erUKp8RhtIvmg+SURQovzwz96Q5ltct
ng==
-----END PRIVATE KEY-----
";
    /// The same key as SEC1 (`openssl ec`).
    pub const P521_SEC1: &str = "-----BEGIN EC PRIVATE KEY-----
MIHcAgEBBEIBTdbf0QJhyHV9HvCTIH3YHPXsEaOmCJGIkXAR9/MQ1gOhf8/h+ahA
l9b5Pt8Htx3hIX35AROd9tNskRBbHozyxY2gBwYFK4EEACOhgYkDgYYABABFNl/r
hckV59B5sFq6aYTfYG1h4YgXmXie7GGiRBx7Txi642BmHHWiTIKpDrqJEFhnOq9U
07MvG21GKXJS/QvGFgEUrW9vb/H+KIFFbaqCOsyhkGA6P7F+D7I+lLZUFyK0v3Wr
HFDq2pGX5erUKp8RhtIvmg+SURQovzwz96Q5ltctng==
-----END EC PRIVATE KEY-----
";
    /// The same key, PKCS#8 without the public key (`openssl ec -no_public`, then `pkcs8`).
    pub const P521_PKCS8_NO_PUBLIC: &str = "-----BEGIN PRIVATE KEY-----
MGACAQAwEAYHKoZIzj0CAQYFK4EEACMESTBHAgEBBEIBTdbf0QJhyHV9HvCTIH3Y
HPXsEaOmCJGIkXAR9/MQ1gOhf8/h+ahAl9b5Pt8Htx3hIX35AROd9tNskRBbHozy
xY0=
-----END PRIVATE KEY-----
";
    /// The same key, SEC1 without the public key (`openssl ec -no_public`).
    pub const P521_SEC1_NO_PUBLIC: &str = "-----BEGIN EC PRIVATE KEY-----
MFACAQEEQgFN1t/RAmHIdX0e8JMgfdgc9ewRo6YIkYiRcBH38xDWA6F/z+H5qECX
1vk+3we3HeEhffkBE53202yREFsejPLFjaAHBgUrgQQAIw==
-----END EC PRIVATE KEY-----
";
    /// Its thumbprint, computed with Node: `createPublicKey(pem).export({format: 'jwk'})`,
    /// `{crv, kty, x, y}` stringified, SHA-256, base64url.
    pub const P521_KID: &str = "tEyQvVlH2enMVKqKZmbJFtV2NfK5NHBwWFdKysUt-gk";
    /// Its JWK coordinates, from the same Node export.
    pub const P521_X: &str =
        "AEU2X-uFyRXn0HmwWrpphN9gbWHhiBeZeJ7sYaJEHHtPGLrjYGYcdaJMgqkOuokQWGc6r1TTsy8bbUYpclL9C8YW";
    /// See [`P521_X`].
    pub const P521_Y: &str =
        "ARStb29v8f4ogUVtqoI6zKGQYDo_sX4Psj6UtlQXIrS_dascUOrakZfl6tQqnxGG0i-aD5JRFCi_PDP3pDmW1y2e";
    /// Another P-521 key as `openssl ecparam -genkey` writes it: EC PARAMETERS, then SEC1.
    pub const P521_ECPARAM: &str = "-----BEGIN EC PARAMETERS-----
BgUrgQQAIw==
-----END EC PARAMETERS-----
-----BEGIN EC PRIVATE KEY-----
MIHcAgEBBEIBBUX0AXpfRjUxCP0Bwe+jrVMa5LbamAnVvDu81m8q7QcQkdFAXeHc
NQu3Bi3etrsMKGwmpQpUDyZzFv/QdJ+5/xygBwYFK4EEACOhgYkDgYYABAEJx3tk
ADPwieC2UC4G9f6sDkQINCyiuBjCcdOWZKMKASCyWquPe0X6GHqt7e8V9TMJX5iR
QrIMR2DZjIxruLlD5AFQvCTIDMdOBohvciuvG4+TSUT5ZLS03TNJtiiRkr4YXbi7
9uxft3v27dEdALlR5+5O6UdQ2UGgwCV0MKpdLKN1GQ==
-----END EC PRIVATE KEY-----
";
    /// Its thumbprint (Node, as for [`P521_KID`]).
    pub const P521_ECPARAM_KID: &str = "jKKn4PD-HqnfimxZghyKFUHJnLi_Hx5XCn_M5dBNmlM";
    /// The first key with explicit curve parameters (`openssl ec -param_enc explicit`).
    pub const P521_EXPLICIT: &str = "-----BEGIN EC PRIVATE KEY-----
MIICngIBAQRCAU3W39ECYch1fR7wkyB92Bz17BGjpgiRiJFwEffzENYDoX/P4fmo
QJfW+T7fB7cd4SF9+QETnfbTbJEQWx6M8sWNoIIBxzCCAcMCAQEwTQYHKoZIzj0B
AQJCAf//////////////////////////////////////////////////////////
////////////////////////////MIGfBEIB////////////////////////////
//////////////////////////////////////////////////////////wEQgBR
lT65YY4cmh+SmiGgtoVA7qLacluZsxXzuLSJkY7xCeFWGTlR7H6TexZSwL07sb8H
NXPfiD0sNPHvRR/Ua1A/AAMVANCeiAApHLhTlsxnFzkyhKqg2mS6BIGFBADGhY4G
twQE6c2ePstmI5W0QpxkgTkFP7Uh+CivYGtNPbqhS1537+dZKP4dwSei/6jeM0iz
wYVqQpv5fn4xwuW9ZgEYOSlqeJo7wARcil+0LH0b2Zj1RElXm0RoF6+9Fyc+ZiyX
7nKZXvQmQMVQuQE/rQdhNTxwhqJywkCIvpR2n9FmUAJCAf//////////////////
////////////////////////+lGGh4O/L5Zrf8wBSPcJpdA7tcm4iZxHrrtvtx6R
OGQJAgEBoYGJA4GGAAQARTZf64XJFefQebBaummE32BtYeGIF5l4nuxhokQce08Y
uuNgZhx1okyCqQ66iRBYZzqvVNOzLxttRilyUv0LxhYBFK1vb2/x/iiBRW2qgjrM
oZBgOj+xfg+yPpS2VBcitL91qxxQ6tqRl+Xq1CqfEYbSL5oPklEUKL88M/ekOZbX
LZ4=
-----END EC PRIVATE KEY-----
";
    /// The first key, encrypted PKCS#8 (passphrase `x`).
    pub const P521_ENCRYPTED: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----
MIIBXTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI5GcMi8J5sU8CAggA
MAwGCCqGSIb3DQIJBQAwHQYJYIZIAWUDBAEqBBDzgAiWxsRAX+dWLKra0kxyBIIB
AGux3dcKVPv2p7pAACmNPh6czViChMSxn6PDeRgEIx/jdp02S2VKAy+k6RXK1FHz
ybeyoFSHXr/HFhBUDtRcvL/vLBKPp1MYsZ1FepN9q3sSF9kL0wUlFJod8Xizd3ZQ
coP86Wn4beIyO4H8uNlGZMcrTCzTJW5/lSzEsRFrK+nHk+yckk0dLBGuhdk0uLJ2
WCIkv5+SK15Ikk5VuaZBp1KDMCQ8pCK11VWIxQNCQR+L3mzOPP+8adavyWEE5dKY
m7nYJRTUAU2xZnvHxldvRdxJCiC/FZ7psZMgs3SmpU/yTqPBOTuqUDo9xjqjBFfM
tBuHRALr20dB3SE7wwDjvFI=
-----END ENCRYPTED PRIVATE KEY-----
";
    /// The first key, legacy OpenSSL-encrypted SEC1 (`openssl ec -aes128`).
    pub const P521_LEGACY_ENCRYPTED: &str = "-----BEGIN EC PRIVATE KEY-----
Proc-Type: 4,ENCRYPTED
DEK-Info: AES-128-CBC,9E6C7077287AF8D35FE4222728CC7EC6

+mzEY+lxdXVWYCyR9O63fFbnF1G+ZRafO7+V4GuKiAhWiR/WXdb9Ep/7z/0Kod9r
LNqilE7lnU69YchxFYj0iafvfHh9AxYpsSiLz8gU2qi6laRbK2y/L8NCt+931cMh
VUAXbg7IlVGjfmjjMCUMD5i7ZnFwl4kzHep6M3MxnPpUYzPXMq5SfXa3LCa63gXD
JgHQM2sEdQWo/OiOeVXmvEibu0cE6gVSU7d9l0odzd2SeOb9kHZ/mIpxjLNno7yI
+/OQzizg/V/yox4b2MGuIqeQRl20JchRrsWJOqFFup8=
-----END EC PRIVATE KEY-----
";
    /// The first key's public key.
    pub const P521_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MIGbMBAGByqGSM49AgEGBSuBBAAjA4GGAAQARTZf64XJFefQebBaummE32BtYeGI
F5l4nuxhokQce08YuuNgZhx1okyCqQ66iRBYZzqvVNOzLxttRilyUv0LxhYBFK1v
b2/x/iiBRW2qgjrMoZBgOj+xfg+yPpS2VBcitL91qxxQ6tqRl+Xq1CqfEYbSL5oP
klEUKL88M/ekOZbXLZ4=
-----END PUBLIC KEY-----
";
    /// P-256, PKCS#8.
    pub const P256: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg/CDzRtXiWHjkZ9/w
rlY32qEDqU0YRhmbh25rOcT4enOhRANCAASvvnoI6j9AGz8WkgNUI3iKCbUJm2un
ny3Yz46Z0PtBNq33xBYDWbAZ3gqmL9mwrWdI+1zDqSQFFYKnLGowfw5g
-----END PRIVATE KEY-----
";
    /// P-384, PKCS#8.
    pub const P384: &str = "-----BEGIN PRIVATE KEY-----
MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDB4+AO/jguko4LH/YzX
vIh8ZapmrTAQOtQQBG4421IoQiMnf2dw4qNNXnGx4LjVUC+hZANiAARL2x+I3+kp
2uIhpNhY2LzIrTs7pdG93n/OW+kkHQq/XivMo8CIfp7le7VYFkxz0IJOd725eT5f
CGt6Vr+Rxnbyekr6o6LpJtQdJ04VEHaC8L0pxFwdR6JNMTaDIQWkFvY=
-----END PRIVATE KEY-----
";
    /// secp256k1, PKCS#8.
    pub const SECP256K1: &str = "-----BEGIN PRIVATE KEY-----
MIGEAgEAMBAGByqGSM49AgEGBSuBBAAKBG0wawIBAQQgNwuRr3pEYXtt60/yOD2d
TT4l9Slw9MrY2KTYc2lKKYWhRANCAAT8dNeaTF0RcRHMTqS0A03c8EOBBc8NCvJH
KJKemM7tY6e/4yStd5jMbqnjYIVmojujvuxDY99diUPJXboVIzUj
-----END PRIVATE KEY-----
";
    /// Ed25519, PKCS#8.
    pub const ED25519: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEINZ9+SFGdfFHrGkEAVAzRhS6q+fdIg2wEjxFkgEUGOGH
-----END PRIVATE KEY-----
";
    /// RSA 1024, PKCS#8.
    pub const RSA_PKCS8: &str = "-----BEGIN PRIVATE KEY-----
MIICdQIBADANBgkqhkiG9w0BAQEFAASCAl8wggJbAgEAAoGBAMF2uEX0Y0PEfBQk
QmntzZlNBhUO9v+DBCiHdXYLXAZ3a4A7kLjJcTK69g+bZang3W2cbwVM84BW4hz/
qjoKmn8WZWKzcmDHX9aS707Ao6wbR4adRrgddaTUuv0RfXeELVL/9rZgE0MhC/dw
wup+v+Dn74Mbgwa+5C/GOxZyodGdAgMBAAECgYAx7IEBDF/RTRL336OD0moL9WRs
asAyj4yzKMGXBLdqs8Z6AOUHynP7s2NsA53oiK6bapL7uy/bHpCbCx7Se4oCbpa2
TK9m3M74i5uyC9mLJNjzteIbuCpH1BRggRU0E5uP8/nncth2YHd9jWiaR0X+agwS
KimOU7tM9JGRChwjwQJBAO4Gjg7yAoEbB0kzxglOaJBVOWPziE0X5zi6WoI+6+AS
b4csbWxYugrD3Pq7i3UuYpI17vBmSZFTo3Zdy2uN0B8CQQDQErUbFzO0nxE/QQTZ
EJ3n4yfxjBQMVvWUy0hhYhHtAtt8hB4h/T3fF+/Cth6di5g/xMbvWtrETmsiHKnK
knbDAkAKcCsmqKJHeyH0qdqTaebX/YTIx1NA3j17lWCGua+qYeSWLvKVf8aY1kII
lNTmzKPx+X+C91lekCZo+HAFRXDNAkAjvwMEG3FTl3xEDKyDihpGqzzCf5k2IX5h
SKcvq8R+nl4MvznaBwKpIBidr+IEmOXYFrtCha5NyVcYbioxVgY3AkBgDLcoQKA0
F8Pn/Ngi/PqM53IoJjrVK9YFfxFTFPwPnSOsGwBD3raNR1+SAtkm1+XtuIJZMDOh
5SfYnOO80mSU
-----END PRIVATE KEY-----
";
    /// The same RSA key, PKCS#1.
    pub const RSA_PKCS1: &str = "-----BEGIN RSA PRIVATE KEY-----
MIICWwIBAAKBgQDBdrhF9GNDxHwUJEJp7c2ZTQYVDvb/gwQoh3V2C1wGd2uAO5C4
yXEyuvYPm2Wp4N1tnG8FTPOAVuIc/6o6Cpp/FmVis3Jgx1/Wku9OwKOsG0eGnUa4
HXWk1Lr9EX13hC1S//a2YBNDIQv3cMLqfr/g5++DG4MGvuQvxjsWcqHRnQIDAQAB
AoGAMeyBAQxf0U0S99+jg9JqC/VkbGrAMo+MsyjBlwS3arPGegDlB8pz+7NjbAOd
6Iium2qS+7sv2x6Qmwse0nuKAm6WtkyvZtzO+IubsgvZiyTY87XiG7gqR9QUYIEV
NBObj/P553LYdmB3fY1omkdF/moMEiopjlO7TPSRkQocI8ECQQDuBo4O8gKBGwdJ
M8YJTmiQVTlj84hNF+c4ulqCPuvgEm+HLG1sWLoKw9z6u4t1LmKSNe7wZkmRU6N2
XctrjdAfAkEA0BK1GxcztJ8RP0EE2RCd5+Mn8YwUDFb1lMtIYWIR7QLbfIQeIf09
3xfvwrYenYuYP8TG71raxE5rIhypypJ2wwJACnArJqiiR3sh9Knak2nm1/2EyMdT
QN49e5VghrmvqmHkli7ylX/GmNZCCJTU5syj8fl/gvdZXpAmaPhwBUVwzQJAI78D
BBtxU5d8RAysg4oaRqs8wn+ZNiF+YUinL6vEfp5eDL852gcCqSAYna/iBJjl2Ba7
QoWuTclXGG4qMVYGNwJAYAy3KECgNBfD5/zYIvz6jOdyKCY61SvWBX8RUxT8D50j
rBsAQ962jUdfkgLZJtfl7biCWTAzoeUn2JzjvNJklA==
-----END RSA PRIVATE KEY-----
";

    /// PEM text around DER bytes (base64url: the decoder takes both alphabets).
    pub fn pem_of(der: &[u8], label: &str) -> String {
        let mut body = String::new();
        crate::text::push_base64url(&mut body, der);
        [
            "-----BEGIN ",
            label,
            "-----\n",
            &body,
            "\n-----END ",
            label,
            "-----\n",
        ]
        .concat()
    }

    /// The PEM body of a key as one base64 line (what must never show up in output).
    pub fn base64_of(pem: &str) -> String {
        pem.lines().filter(|l| !l.starts_with("-----")).collect()
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::testing::*;
    use super::*;
    use crate::error::ErrorKind;
    use proptest::prelude::*;

    fn message(pem: &str) -> String {
        let error = PrivateKey::from_pem(pem).unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidArgument);
        assert_eq!(error.provider, Provider::Gr4vy);
        error.message
    }

    /// The 66-byte private scalar inside a DER key, found by its `04 42` prefix.
    fn scalar_of(der: &[u8]) -> Vec<u8> {
        let at = der.windows(2).position(|w| w == [0x04, 0x42]).unwrap();
        der[at + 2..at + 2 + P521_BYTES].to_vec()
    }

    fn pkcs8_of(pem: &str) -> Vec<u8> {
        decode_base64(&base64_of(pem)).unwrap()
    }

    #[test]
    fn pkcs8_and_sec1_give_the_same_canonical_pkcs8() {
        let pkcs8 = PrivateKey::from_pem(P521_PKCS8).unwrap();
        // OpenSSL's PKCS#8 is already canonical: it passes through byte for byte.
        assert_eq!(pkcs8.pkcs8_der(), pkcs8_of(P521_PKCS8));
        assert_eq!(PrivateKey::from_pem(P521_SEC1).unwrap(), pkcs8);
        let no_public = PrivateKey::from_pem(P521_PKCS8_NO_PUBLIC).unwrap();
        assert_eq!(no_public.pkcs8_der(), pkcs8_of(P521_PKCS8_NO_PUBLIC));
        assert_eq!(no_public.public_point(), None);
        assert_eq!(
            PrivateKey::from_pem(P521_SEC1_NO_PUBLIC).unwrap(),
            no_public
        );
        assert_eq!(
            scalar_of(no_public.pkcs8_der()),
            scalar_of(pkcs8.pkcs8_der())
        );
    }

    #[test]
    fn thumbprint_inputs() {
        let expected = [
            r#"{"crv":"P-521","kty":"EC","x":""#,
            P521_X,
            r#"","y":""#,
            P521_Y,
            r#""}"#,
        ]
        .concat();
        for pem in [P521_PKCS8, P521_SEC1] {
            let key = PrivateKey::from_pem(pem).unwrap();
            assert_eq!(key.public_point().unwrap().thumbprint_input(), expected);
        }
        let from_jwk = PublicPoint::from_jwk(P521_X, P521_Y).unwrap();
        assert_eq!(from_jwk.thumbprint_input(), expected);
        assert_eq!(
            Some(&from_jwk),
            PrivateKey::from_pem(P521_PKCS8).unwrap().public_point()
        );
        for (x, y) in [("", P521_Y), (P521_X, "AQAB"), ("!!", P521_Y)] {
            assert_eq!(
                PublicPoint::from_jwk(x, y).unwrap_err().kind,
                ErrorKind::InvalidArgument
            );
        }
    }

    #[test]
    fn pem_framing_is_tolerated() {
        let canonical = PrivateKey::from_pem(P521_PKCS8).unwrap();
        let crlf = P521_PKCS8.replace('\n', "\r\n");
        let spaced = ["\n\n  \t", &P521_PKCS8.replace('\n', "\n\n   "), "  \n"].concat();
        let escaped = P521_PKCS8.trim_end().replace('\n', "\\n");
        let one_line = P521_PKCS8.replace('\n', " ");
        let no_newlines = P521_PKCS8.replace('\n', "");
        let with_text = ["Bag Attributes\n  localKeyID: 01\n", P521_PKCS8, "trailer"].concat();
        for pem in [crlf, spaced, escaped, one_line, no_newlines, with_text] {
            assert_eq!(
                PrivateKey::from_pem(&pem).as_ref(),
                Ok(&canonical),
                "{pem:?}"
            );
        }
        // `openssl ecparam -genkey` output: an EC PARAMETERS block, then the key.
        let ecparam = PrivateKey::from_pem(P521_ECPARAM).unwrap();
        assert_ne!(ecparam, canonical);
        assert!(ecparam.public_point().is_some());
    }

    #[test]
    fn refusals_say_which() {
        let cases: &[(&str, &str)] = &[
            ("", "no -----BEGIN PRIVATE KEY----- line"),
            ("not a key", "no -----BEGIN PRIVATE KEY----- line"),
            (
                "MIHuAgEAMBAGByqGSM49AgEGBSuBBAAjBIHWMIHTAgEBBEIBTd",
                "no -----BEGIN",
            ),
            (RSA_PKCS8, "only ECDSA P-521 keys are supported"),
            (RSA_PKCS1, "only ECDSA P-521 keys are supported"),
            (P256, "on P-256, not P-521"),
            (P384, "on P-384, not P-521"),
            (SECP256K1, "on secp256k1, not P-521"),
            (P521_EXPLICIT, "spells out its curve parameters"),
            (ED25519, "not an EC key"),
            (P521_ENCRYPTED, "encrypted"),
            (P521_LEGACY_ENCRYPTED, "encrypted"),
            (P521_PUBLIC, "public key"),
            (
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
                "certificate",
            ),
            (
                "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----",
                "OpenSSH",
            ),
            ("-----BEGIN PRIVATE KEY-----\nMIHu", "no END line"),
            ("-----BEGIN PRIVATE KEY", "not closed"),
            (
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----",
                "does not match",
            ),
            (
                "-----BEGIN PRIVATE KEY-----\nAA*A\n-----END PRIVATE KEY-----",
                "not base64",
            ),
            (
                "-----BEGIN PRIVATE KEY-----\nAA\\tA\n-----END PRIVATE KEY-----",
                "backslash",
            ),
            (
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
                "not a valid PKCS#8",
            ),
            (
                "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----",
                "not a valid PKCS#8",
            ),
        ];
        for &(pem, expected) in cases {
            let text = message(pem);
            assert!(text.contains(expected), "{pem:?}: {text}");
        }
        let two = [P521_PKCS8, P521_SEC1].concat();
        assert!(message(&two).contains("more than one"));
    }

    /// Hand-made DER variants of the test key: what other encoders write, and broken forms.
    #[test]
    fn der_variants() {
        let canonical = PrivateKey::from_pem(P521_PKCS8).unwrap();
        let der = pkcs8_of(P521_PKCS8);
        let scalar = scalar_of(&der);
        let ec_key_with = |scalar: &[u8], params: Option<&[u8]>, public: Option<&[u8]>| {
            let mut content = vec![0x02, 0x01, 0x01];
            push_tlv(&mut content, 0x04, scalar);
            if let Some(oid) = params {
                push_tlv(&mut content, 0xa0, oid);
            }
            if let Some(bits) = public {
                let mut bit_string = Vec::new();
                push_tlv(&mut bit_string, 0x03, bits);
                push_tlv(&mut content, 0xa1, &bit_string);
            }
            let mut out = Vec::new();
            push_tlv(&mut out, 0x30, &content);
            out
        };
        let ec_key = |scalar: &[u8], params: Option<&[u8]>| ec_key_with(scalar, params, None);
        let pkcs8 = |version: u8, algorithm: &[u8], key: &[u8], trailer: &[u8]| {
            let mut content = vec![0x02, 0x01, version];
            push_tlv(&mut content, 0x30, algorithm);
            push_tlv(&mut content, 0x04, key);
            content.extend_from_slice(trailer);
            let mut out = Vec::new();
            push_tlv(&mut out, 0x30, &content);
            out
        };
        let ec_p521 = [OID_EC_PUBLIC_KEY, OID_P521].concat();
        let no_public = PrivateKey::from_pem(P521_PKCS8_NO_PUBLIC).unwrap();

        // Curve only inside the ECPrivateKey, PKCS#8 v2, attributes: all accepted.
        let inner_only = pkcs8(0, OID_EC_PUBLIC_KEY, &ec_key(&scalar, Some(OID_P521)), &[]);
        let v2_attrs = pkcs8(1, &ec_p521, &ec_key(&scalar, None), &[0xa0, 0x00]);
        for der in [inner_only, v2_attrs] {
            assert_eq!(
                PrivateKey::from_pem(&pem_of(&der, "PRIVATE KEY")),
                Ok(no_public.clone())
            );
        }
        // A scalar written without its leading zero byte is padded back to 66 bytes.
        let mut small = scalar.clone();
        small[0] = 0;
        let short = PrivateKey::from_pem(&pem_of(
            &ec_key(&small[1..], Some(OID_P521)),
            "EC PRIVATE KEY",
        ))
        .unwrap();
        assert_eq!(scalar_of(short.pkcs8_der()), small);
        assert_ne!(short, canonical);

        let p256 = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
        let refused: Vec<(Vec<u8>, &str, &str)> = vec![
            (
                ec_key(&scalar, None),
                "EC PRIVATE KEY",
                "does not name its curve",
            ),
            (
                ec_key(&scalar, Some(&[0x30, 0x00])),
                "EC PRIVATE KEY",
                "spells out",
            ),
            (
                pkcs8(
                    0,
                    &[OID_EC_PUBLIC_KEY, &[0x30, 0x00]].concat(),
                    &ec_key(&scalar, None),
                    &[],
                ),
                "PRIVATE KEY",
                "spells out",
            ),
            (
                pkcs8(
                    0,
                    &[&ec_p521[..], &[0x05, 0x00]].concat(),
                    &ec_key(&scalar, None),
                    &[],
                ),
                "PRIVATE KEY",
                "not a valid",
            ),
            (
                ec_key_with(&scalar, Some(OID_P521), Some(&[0x00, 0x02, 0x01])),
                "EC PRIVATE KEY",
                "not a valid",
            ),
            (
                ec_key_with(&scalar, Some(OID_P521), Some(&[])),
                "EC PRIVATE KEY",
                "not a valid",
            ),
            (
                pkcs8(0, OID_EC_PUBLIC_KEY, &ec_key(&scalar, None), &[]),
                "PRIVATE KEY",
                "does not name its curve",
            ),
            (
                pkcs8(0, &ec_p521, &ec_key(&scalar, Some(&p256)), &[]),
                "PRIVATE KEY",
                "not a valid",
            ),
            (
                pkcs8(2, &ec_p521, &ec_key(&scalar, None), &[]),
                "PRIVATE KEY",
                "not a valid",
            ),
            (
                ec_key(&[0; 66], Some(OID_P521)),
                "EC PRIVATE KEY",
                "not a valid",
            ),
            (
                ec_key(&[1; 67], Some(OID_P521)),
                "EC PRIVATE KEY",
                "not a valid",
            ),
            (ec_key(&[], Some(OID_P521)), "EC PRIVATE KEY", "not a valid"),
            (
                [der.as_slice(), &[0]].concat(),
                "PRIVATE KEY",
                "not a valid",
            ),
            (der[..der.len() - 1].to_vec(), "PRIVATE KEY", "not a valid"),
            // Indefinite length.
            (
                [&[0x30, 0x80], &der[3..], &[0, 0]].concat(),
                "PRIVATE KEY",
                "not a valid",
            ),
            // A compressed-looking but malformed public key, and a bit string with unused bits.
            (
                replace(
                    &der,
                    &[0x03, 0x81, 0x86, 0x00, 0x04],
                    &[0x03, 0x81, 0x86, 0x00, 0x05],
                ),
                "PRIVATE KEY",
                "not a valid",
            ),
            (
                replace(&der, &[0x03, 0x81, 0x86, 0x00], &[0x03, 0x81, 0x86, 0x01]),
                "PRIVATE KEY",
                "not a valid",
            ),
        ];
        for (der, label, expected) in refused {
            let text = message(&pem_of(&der, label));
            assert!(text.contains(expected), "{der:02x?}: {text}");
        }
        // A compressed public key is dropped: WebCrypto's export supplies the point. A NULL
        // in place of the algorithm's curve is read as "named inside".
        let x = decode_base64(P521_X).unwrap();
        let compressed = ec_key_with(
            &scalar,
            Some(OID_P521),
            Some(&[&[0x00, 0x03][..], &x].concat()),
        );
        let null_params = pkcs8(
            0,
            &[OID_EC_PUBLIC_KEY, &[0x05, 0x00]].concat(),
            &ec_key(&scalar, Some(OID_P521)),
            &[],
        );
        for (der, label) in [(compressed, "EC PRIVATE KEY"), (null_params, "PRIVATE KEY")] {
            assert_eq!(
                PrivateKey::from_pem(&pem_of(&der, label)),
                Ok(no_public.clone())
            );
        }
    }

    fn replace(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
        let at = haystack
            .windows(from.len())
            .position(|w| w == from)
            .unwrap();
        [&haystack[..at], to, &haystack[at + from.len()..]].concat()
    }

    #[test]
    fn no_key_byte_in_debug_or_errors() {
        let key = PrivateKey::from_pem(P521_SEC1).unwrap();
        let debug = format!("{key:?}");
        let scalar = scalar_of(key.pkcs8_der());
        assert!(debug.contains("[redacted]"), "{debug}");
        assert!(
            !debug.contains(&format!("{:?}", &scalar[..4])[1..]),
            "{debug}"
        );
        let mut secrets = vec![base64_of(P521_PKCS8), base64_of(P521_SEC1)];
        secrets.extend(
            base64_of(P521_PKCS8)
                .as_bytes()
                .chunks(16)
                .map(|c| String::from_utf8(c.to_vec()).unwrap()),
        );
        for pem in [
            P521_ENCRYPTED,
            P521_LEGACY_ENCRYPTED,
            P521_EXPLICIT,
            RSA_PKCS1,
            RSA_PKCS8,
            P256,
        ] {
            secrets.push(base64_of(pem).chars().take(40).collect());
            let error = PrivateKey::from_pem(pem).unwrap_err();
            let shown = format!("{error:?} {}", error.message);
            for secret in &secrets {
                assert!(!shown.contains(secret.as_str()), "{shown}");
            }
        }
        // Corrupted copies of the real key: the error names no part of it.
        let lines: Vec<&str> = P521_PKCS8.lines().collect();
        for cut in 1..lines.len() - 1 {
            let broken = [lines[..cut].join("\n"), lines[cut + 1..].join("\n")].join("\n");
            let error = PrivateKey::from_pem(&broken).unwrap_err();
            let shown = format!("{error:?}");
            for secret in &secrets {
                assert!(!shown.contains(secret.as_str()), "{shown}");
            }
        }
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
            let _ = PrivateKey::from_pem(&text);
            let framed = ["-----BEGIN PRIVATE KEY-----\n", &text, "\n-----END PRIVATE KEY-----"].concat();
            let _ = PrivateKey::from_pem(&framed);
        }

        #[test]
        fn arbitrary_der_never_panics(der in prop::collection::vec(any::<u8>(), 0..300)) {
            for label in ["PRIVATE KEY", "EC PRIVATE KEY"] {
                if let Ok(key) = PrivateKey::from_pem(&pem_of(&der, label)) {
                    // Whatever is accepted re-parses to itself.
                    let again = pem_of(key.pkcs8_der(), "PRIVATE KEY");
                    prop_assert_eq!(PrivateKey::from_pem(&again), Ok(key));
                }
            }
        }

        #[test]
        fn mutated_keys_never_panic(
            source in prop::sample::select(vec![P521_PKCS8, P521_SEC1, P521_PKCS8_NO_PUBLIC, P521_EXPLICIT, RSA_PKCS8]),
            edits in crate::json::testing::edits(6),
        ) {
            let mut der = pkcs8_of(source);
            crate::json::testing::mutate(&mut der, &edits);
            let label = if source.contains("EC PRIVATE") { "EC PRIVATE KEY" } else { "PRIVATE KEY" };
            match PrivateKey::from_pem(&pem_of(&der, label)) {
                Ok(key) => prop_assert!(key.pkcs8_der().len() >= 96),
                Err(error) => {
                    let shown = format!("{error:?}");
                    prop_assert!(!shown.contains(&base64_of(source)[..24]));
                }
            }
        }
    }
}
