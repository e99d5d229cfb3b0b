// Gr4vy API keys in the simulator: checks `authorization: bearer <JWT>` the way Gr4vy does —
// ES512 over the merchant's public key (node:crypto, raw r‖s signature), `kid` equal to the
// key's RFC 7638 thumbprint, the time claims, the lifetime and the scopes. The messages name the
// claim at fault, never the token or the key.

import { KeyObject, createHash, createPublicKey, verify } from 'node:crypto';

/** How far `iat`/`nbf` may lie in the future, and `exp` in the past (clock skew), in seconds. */
export const CLOCK_SKEW_SECONDS = 5;
/** Longest `exp - iat` accepted: the library's 60 s plus the skew. */
export const MAX_LIFETIME_SECONDS = 60 + CLOCK_SKEW_SECONDS;
/** The scope each kind of request needs, and the wildcard the official SDK sends instead. */
const READ = ['payment-methods.read', '*.read'];
const WRITE = ['payment-methods.write', '*.write'];

const B64URL = /^[A-Za-z0-9_-]+$/;
const SIGNATURE_BYTES = 132;
const CACHE_CAP = 1024;

/**
 * The `gr4vyPublicKey` option as a public KeyObject: a PEM string or Buffer (SPKI public key, or
 * a private key whose public half is taken) or a KeyObject. Throws TypeError for anything else,
 * or for a key that is not ECDSA P-521.
 */
export function loadPublicKey(given) {
  let key;
  try {
    if (given instanceof KeyObject) key = given.type === 'public' ? given : createPublicKey(given);
    else if (typeof given === 'string' || Buffer.isBuffer(given)) key = createPublicKey(given);
  } catch {
    key = undefined;
  }
  if (!key) throw new TypeError('gr4vyPublicKey must be a PEM public key (SPKI), a PEM private key or a KeyObject');
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'secp521r1') {
    throw new TypeError('gr4vyPublicKey must be an ECDSA P-521 key, as Gr4vy API keys are');
  }
  return key;
}

/** The RFC 7638 SHA-256 thumbprint of an EC public key, base64url: Gr4vy's `kid`. */
export function thumbprint(key) {
  const { crv, x, y } = key.export({ format: 'jwk' });
  const canonical = JSON.stringify({ crv, kty: 'EC', x, y });
  return createHash('sha256').update(canonical).digest('base64url');
}

function decodeJson(part) {
  try {
    const value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

const refuse = (message) => ({ status: 401, message });

/**
 * A verifier for the tokens of one public key. `check(token, method, nowMs)` resolves nothing
 * and returns null when the token may make a `method` request, else `{ status, message }`:
 * 401 for a token that is not one of this key's valid tokens, 403 for a missing scope.
 */
export function createJwtVerifier(publicKey) {
  const key = loadPublicKey(publicKey);
  const kid = thumbprint(key);
  /** Tokens whose header and signature passed -> their claims (time is checked on every use). */
  const verified = new Map();

  function claimsOf(token) {
    const cached = verified.get(token);
    if (cached) return cached;
    const parts = token.split('.');
    if (parts.length !== 3 || !B64URL.test(parts[0]) || !B64URL.test(parts[1])) {
      return refuse('Malformed JWT: expected three base64url parts');
    }
    const header = decodeJson(parts[0]);
    if (!header) return refuse('Malformed JWT: the header is not a JSON object');
    if (header.alg !== 'ES512') return refuse('JWT alg must be ES512 (Gr4vy API keys are ECDSA P-521)');
    if (header.kid !== kid) return refuse("JWT kid is not the thumbprint of the simulator's gr4vyPublicKey");
    const signature = B64URL.test(parts[2]) ? Buffer.from(parts[2], 'base64url') : null;
    if (!signature || signature.length !== SIGNATURE_BYTES) {
      return refuse('JWT signature is not a raw 132-byte ES512 signature');
    }
    const input = Buffer.from(`${parts[0]}.${parts[1]}`);
    if (!verify('sha512', input, { key, dsaEncoding: 'ieee-p1363' }, signature)) {
      return refuse("JWT signature does not verify with the simulator's gr4vyPublicKey");
    }
    const claims = decodeJson(parts[1]);
    if (!claims) return refuse('Malformed JWT: the claims are not a JSON object');
    if (verified.size >= CACHE_CAP) verified.clear();
    verified.set(token, claims);
    return claims;
  }

  function check(token, method, nowMs = Date.now()) {
    const claims = claimsOf(token);
    if (claims.status) return claims;
    const now = nowMs / 1000;
    const { iat, nbf, exp, scopes } = claims;
    const isTime = (v) => typeof v === 'number' && Number.isFinite(v);
    if (!isTime(iat)) return refuse('JWT has no numeric iat claim');
    if (!isTime(exp)) return refuse('JWT has no numeric exp claim');
    if (nbf !== undefined && !isTime(nbf)) return refuse('JWT nbf claim is not a number');
    if (iat > now + CLOCK_SKEW_SECONDS) return refuse('JWT iat lies in the future');
    if (nbf !== undefined && nbf > now + CLOCK_SKEW_SECONDS) return refuse('JWT is not valid yet (nbf)');
    if (exp <= now - CLOCK_SKEW_SECONDS) return refuse('JWT has expired (exp)');
    if (exp <= iat) return refuse('JWT exp is not after iat');
    if (exp - iat > MAX_LIFETIME_SECONDS) return refuse(`JWT lifetime (exp - iat) exceeds ${MAX_LIFETIME_SECONDS} s`);
    if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string')) {
      return refuse('JWT has no scopes claim (a list of strings)');
    }
    const needed = method === 'GET' || method === 'HEAD' ? READ : WRITE;
    if (!scopes.some((s) => needed.includes(s))) {
      return { status: 403, message: `JWT scopes do not include ${needed[0]}` };
    }
    return null;
  }

  return { kid, check };
}
