// Shared by the tests of what a merchant server does with the package (tests/package/): Gr4vy
// API keys in every form and in forms the package must refuse, webhook deliveries signed here
// with node:crypto (independently of the package's WebCrypto code), the forged ones of the
// security table, the simulator flows a runtime's checks run against, JWT verification of what
// the simulator logged, and the scan for secrets in everything a runtime printed. The checks
// themselves run inside each runtime (tests/package/server-checks.js); `assertServerChecks`
// judges what they report. Not a test file (no `.test.` in its name).
import assert from 'node:assert/strict';
import { createHash, createHmac, generateKeyPairSync, randomUUID, verify } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator } from '../../www/simulator/index.mjs';
import { ROOT, run, show } from './packed.mjs';

const VERSION = JSON.parse(readFileSync(join(ROOT, 'pkg', 'package.json'), 'utf8')).version;
/** The `iss` claim every minted token must carry. */
export const ISSUER = `token-status/${VERSION}`;
export const DEFAULT_SCOPES = ['payment-methods.read', 'payment-methods.write'];

// ---------------------------------------------------------------------------------------------
// Keys

const gr4vyKey = generateKeyPairSync('ec', { namedCurve: 'P-521' });
const pkcs8 = gr4vyKey.privateKey.export({ type: 'pkcs8', format: 'pem' });
const sec1 = gr4vyKey.privateKey.export({ type: 'sec1', format: 'pem' });
const passphrase = `pw-${randomUUID()}`;
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

/** The Gr4vy API key: PKCS#8 as issued, and SEC1 with \r\n line ends and whitespace around it. */
export const KEYS = {
  pkcs8,
  sec1Messy: `\n \t${sec1.trim().replace(/\n/g, '\r\n')}\r\n\r\n  `,
};

/** The key's public half, to verify minted tokens with. */
export const GR4VY_PUBLIC_KEY = gr4vyKey.publicKey;
/** The same, as PEM (what a simulator configured with the merchant's public key takes). */
export const GR4VY_PUBLIC_PEM = gr4vyKey.publicKey.export({ type: 'spki', format: 'pem' });

/** RFC 7638 thumbprint of the public key, computed here from node:crypto's JWK export. */
export const KID = (() => {
  const { crv, kty, x, y } = gr4vyKey.publicKey.export({ format: 'jwk' });
  return createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url');
})();

/** Keys every constructor must refuse with invalid_argument, and what the message must say. */
export const BAD_KEYS = [
  { label: 'not PEM', pem: 'this is not a key', message: /PEM text of your Gr4vy API key/ },
  { label: 'RSA (PKCS#8)', pem: rsa.export({ type: 'pkcs8', format: 'pem' }), message: /only ECDSA P-521 keys are supported/ },
  { label: 'RSA (PKCS#1)', pem: rsa.export({ type: 'pkcs1', format: 'pem' }), message: /only ECDSA P-521 keys are supported/ },
  { label: 'P-256 (PKCS#8)', pem: p256.export({ type: 'pkcs8', format: 'pem' }), message: /P-256, not P-521/ },
  { label: 'P-256 (SEC1)', pem: p256.export({ type: 'sec1', format: 'pem' }), message: /P-256, not P-521/ },
  {
    label: 'encrypted PKCS#8',
    pem: gr4vyKey.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }),
    message: /encrypted/,
  },
  {
    label: 'encrypted SEC1',
    pem: gr4vyKey.privateKey.export({ type: 'sec1', format: 'pem', cipher: 'aes-256-cbc', passphrase }),
    message: /encrypted/,
  },
  { label: 'public key', pem: GR4VY_PUBLIC_PEM, message: /public key/ },
  { label: 'PEM cut short', pem: pkcs8.split('\n').slice(0, 3).join('\n'), message: /END line/ },
];

/** The base64 lines of every PEM above (the key material a leak would show). */
const pemLines = () => [pkcs8, sec1, GR4VY_PUBLIC_PEM, ...BAD_KEYS.map((k) => k.pem)]
  .flatMap((pem) => pem.split(/\r?\n/))
  .map((line) => line.trim())
  .filter((line) => /^[A-Za-z0-9+/=]{16,}$/.test(line));

// ---------------------------------------------------------------------------------------------
// Webhook deliveries

/** Webhook secrets: Truemed's destination secret (and an older one, while rotating), Gr4vy's two. */
export const SECRETS = {
  truemed: `whsec_tm_${randomUUID()}`,
  truemedOld: `whsec_tm_old_${randomUUID()}`,
  gr4vy: [`gr4vy_whsec_a_${randomUUID()}`, `gr4vy_whsec_b_${randomUUID()}`],
  /** A secret no client has: forgeries are signed with it. */
  attacker: `whsec_attacker_${randomUUID()}`,
};

export const hmacHex = (secret, timestamp, body) =>
  createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');

const now = () => Math.floor(Date.now() / 1000);

/** A Truemed signed envelope's body for a provision token request that got its payment token. */
export const truemedEnvelope = ({ id, token, deliveryId = `wd_${randomUUID()}`, metadata = 'order-77' }) => JSON.stringify({
  webhook_delivery_id: deliveryId,
  event_type: 'payment_token.updated',
  data: { payment_token: token, provision_token_request_id: id, metadata, lmn_expires_at: '2027-01-01T00:00:00Z' },
});

/** A Truemed unsigned (legacy) flat body. */
export const truemedFlat = ({ id, token }) => JSON.stringify({ payment_token: token, provision_token_request_id: id });

/** A Gr4vy event whose target is a payment service token (or another resource). */
export function gr4vyEvent(target, name = 'payment-service-token.updated') {
  return JSON.stringify({
    type: 'event', id: randomUUID(), name, merchant_account_id: 'default', gr4vy_id: 'acme',
    environment: 'sandbox', created_at: new Date().toISOString(), target,
  });
}

export const tokenTarget = ({ id, paymentMethodId, status, token = null, approvalUrl = null }) => ({
  type: 'payment-service-token', id, payment_method_id: paymentMethodId, payment_service_id: randomUUID(),
  status, approval_url: approvalUrl, token, created_at: '2026-12-01T10:00:00Z', updated_at: new Date().toISOString(),
});

/** Truemed's signed headers: `t=<unix>,v1=<hex>`. */
export const truemedSigned = (body, { secret = SECRETS.truemed, t = now() } = {}) =>
  [['x-truemed-signature', `t=${t},v1=${hmacHex(secret, t, body)}`]];

/** Gr4vy's headers: the timestamp, one signature per active secret, the delivery id. */
export const gr4vySigned = (body, { secrets = SECRETS.gr4vy, t = now(), id = randomUUID() } = {}) => [
  ['X-Gr4vy-Webhook-Timestamp', String(t)],
  ['X-Gr4vy-Webhook-Signatures', secrets.map((s) => hmacHex(s, t, body)).join(',')],
  ['X-Gr4vy-Webhook-ID', id],
];

/**
 * The security table and the accepted deliveries, for one runtime's checks: each case names
 * the client it goes to, its header pairs (a repeated name is a repeated header), its body,
 * and the outcome: 'ok' or the `code` of the invalid_webhook rejection. `forms` limits the
 * ways the runtime hands it over (default: all, see server-checks.js).
 */
export function webhookCases() {
  const t = now();
  const tmBody = truemedEnvelope({ id: 'ptr_table_1', token: 'tm_pt_table_1' });
  const tmOther = truemedEnvelope({ id: 'ptr_table_2', token: 'tm_pt_table_2' });
  const tmSig = hmacHex(SECRETS.truemed, t, tmBody);
  const grBody = gr4vyEvent(tokenTarget({ id: 'pst-table-1', paymentMethodId: 'pm-table-1', status: 'succeeded', token: 'gr_tok_table' }));
  const grOther = gr4vyEvent(tokenTarget({ id: 'pst-table-2', paymentMethodId: 'pm-table-1', status: 'failed' }));
  const [grA, grB] = SECRETS.gr4vy.map((s) => hmacHex(s, t, grBody));
  const grAttack = hmacHex(SECRETS.attacker, t, grBody);
  const grHeaders = (signatures, extra = []) => [
    ['X-Gr4vy-Webhook-Timestamp', String(t)], ['X-Gr4vy-Webhook-Signatures', signatures], ['X-Gr4vy-Webhook-ID', 'wh-table-1'], ...extra,
  ];
  const old = t - 400;
  const future = t + 400;
  const flat = truemedFlat({ id: 'ptr_flat_1', token: 'tm_pt_flat_1' });
  const notJson = 'payment_token=tm_pt_1';
  const wrongShape = JSON.stringify({ webhook_delivery_id: 'wd_x', data: {} });
  const grNoName = JSON.stringify({ type: 'event', id: 'ev', target: null });
  const big = { big: (1 << 20) + 1 };
  const tm = 'truemed';
  const gr = 'gr4vy';
  return [
    // Accepted.
    { label: 'Truemed signed', client: tm, headers: truemedSigned(tmBody, { t }), body: tmBody, expect: 'ok',
      event: { provider: 'truemed', type: 'payment_token.updated', state: 'succeeded', id: 'ptr_table_1', token: 'tm_pt_table_1' } },
    { label: 'Truemed signed, header parts reordered (v1 before t), spaces around them', client: tm,
      headers: [['x-truemed-signature', ` v1=${tmSig} , t=${t} `]], body: tmBody, expect: 'ok' },
    { label: 'Truemed signed, several v1 (one genuine) and an unknown v2', client: tm,
      headers: [['x-truemed-signature', `t=${t},v1=${hmacHex(SECRETS.attacker, t, tmBody)},v2=abc,v1=${tmSig.toUpperCase()}`]], body: tmBody, expect: 'ok' },
    { label: 'Truemed signed with the older of two secrets (rotation)', client: tm,
      headers: truemedSigned(tmBody, { t, secret: SECRETS.truemedOld }), body: tmBody, expect: 'ok' },
    { label: 'Truemed unsigned (x-truemed-api-key), flat body', client: tm, headers: [['X-Truemed-Api-Key', SECRETS.truemed]], body: flat, expect: 'ok',
      event: { provider: 'truemed', type: 'payment_token_updated', state: 'succeeded', id: 'ptr_flat_1', token: 'tm_pt_flat_1', eventId: null } },
    { label: 'Gr4vy, two secrets, two signatures', client: gr, headers: grHeaders(`${grA},${grB}`), body: grBody, expect: 'ok',
      event: { provider: 'gr4vy', type: 'payment-service-token.updated', state: 'succeeded', id: 'pst-table-1', token: 'gr_tok_table', eventId: 'wh-table-1' } },
    { label: 'Gr4vy, a retired signature first, then the second secret\'s, upper-case, spaced', client: gr,
      headers: grHeaders(` ${grAttack} ,  ${grB.toUpperCase()} `), body: grBody, expect: 'ok' },
    { label: 'Gr4vy, two signature headers (the genuine one in the second)', client: gr,
      headers: grHeaders(grAttack, [['X-Gr4vy-Webhook-Signatures', grA]]), body: grBody, expect: 'ok' },
    { label: 'Gr4vy, a payment-method event (no status)', client: gr, ...signedGr4vy(gr4vyEvent({ type: 'payment-method', id: 'pm-table-9', status: 'succeeded' }, 'payment-method.updated'), t),
      expect: 'ok', event: { provider: 'gr4vy', type: 'payment-method.updated', state: null } },
    { label: 'Gr4vy, a transaction event (no status)', client: gr, ...signedGr4vy(gr4vyEvent({ type: 'transaction', id: 'tx-1', status: 'capture_succeeded' }, 'transaction.captured'), t),
      expect: 'ok', event: { provider: 'gr4vy', type: 'transaction.captured', state: null } },
    { label: 'Truemed, tolerance 600 s accepts a delivery 400 s old', client: tm, headers: truemedSigned(tmBody, { t: old }), body: tmBody,
      options: { toleranceSeconds: 600 }, expect: 'ok' },

    // Not configured.
    { label: 'Truemed client without webhookSecret', client: 'truemedNone', headers: truemedSigned(tmBody, { t }), body: tmBody, expect: 'not_configured' },
    { label: 'Gr4vy client without webhookSecrets', client: 'gr4vyNone', headers: grHeaders(grA), body: grBody, expect: 'not_configured' },

    // Forged: wrong secret, another body's signature, the body changed.
    { label: 'Truemed, signed with a wrong secret', client: tm, headers: truemedSigned(tmBody, { t, secret: SECRETS.attacker }), body: tmBody, expect: 'signature_mismatch' },
    { label: 'Truemed, the signature of another body', client: tm, headers: truemedSigned(tmOther, { t }), body: tmBody, expect: 'signature_mismatch' },
    { label: 'Truemed, body re-serialized (parsed and stringified again)', client: tm, headers: truemedSigned(tmBody, { t }),
      body: JSON.stringify(JSON.parse(tmBody), null, 1), expect: 'signature_mismatch' },
    { label: 'Truemed, body with a trailing newline added', client: tm, headers: truemedSigned(tmBody, { t }), body: `${tmBody}\n`, expect: 'signature_mismatch' },
    { label: 'Truemed, fresh t with an old genuine signature', client: tm,
      headers: [['x-truemed-signature', `t=${t + 1},v1=${tmSig}`]], body: tmBody, expect: 'signature_mismatch' },
    { label: 'Truemed, signature over the parts reordered ("{body}.{t}")', client: tm,
      headers: [['x-truemed-signature', `t=${t},v1=${createHmac('sha256', SECRETS.truemed).update(`${tmBody}.${t}`).digest('hex')}`]], body: tmBody, expect: 'signature_mismatch' },
    { label: 'Truemed unsigned, wrong api key', client: tm, headers: [['x-truemed-api-key', SECRETS.attacker]], body: flat, expect: 'signature_mismatch' },
    { label: 'Truemed unsigned, the secret with a suffix', client: tm, headers: [['x-truemed-api-key', `${SECRETS.truemed}x`]], body: flat, expect: 'signature_mismatch' },
    { label: 'Truemed, a signature header beside the right api key is judged alone', client: tm,
      headers: [...truemedSigned(tmBody, { t, secret: SECRETS.attacker }), ['x-truemed-api-key', SECRETS.truemed]], body: tmBody, expect: 'signature_mismatch' },
    { label: 'Gr4vy, signed with a wrong secret', client: gr, headers: grHeaders(grAttack), body: grBody, expect: 'signature_mismatch' },
    { label: 'Gr4vy, the signatures of another body', client: gr, headers: grHeaders(SECRETS.gr4vy.map((s) => hmacHex(s, t, grOther)).join(',')),
      body: grBody, expect: 'signature_mismatch' },
    { label: 'Gr4vy, body changed by one byte', client: gr, headers: grHeaders(`${grA},${grB}`), body: grBody.replace('succeeded', 'succeedee'), expect: 'signature_mismatch' },
    { label: 'Gr4vy, a delivery id does not change what is signed (another id still verifies)', client: gr,
      headers: [['X-Gr4vy-Webhook-Timestamp', String(t)], ['X-Gr4vy-Webhook-Signatures', grA], ['X-Gr4vy-Webhook-ID', 'wh-replaced']], body: grBody, expect: 'ok',
      event: { provider: 'gr4vy', eventId: 'wh-replaced', state: 'succeeded' } },

    // Malformed or missing signatures.
    { label: 'no headers at all', client: tm, headers: [], body: tmBody, expect: 'missing_signature' },
    { label: 'Truemed, no t=', client: tm, headers: [['x-truemed-signature', `v1=${tmSig}`]], body: tmBody, expect: 'missing_signature' },
    { label: 'Truemed, no v1=', client: tm, headers: [['x-truemed-signature', `t=${t}`]], body: tmBody, expect: 'missing_signature' },
    { label: 'Truemed, truncated hex (63 digits)', client: tm, headers: [['x-truemed-signature', `t=${t},v1=${tmSig.slice(0, 63)}`]], body: tmBody, expect: 'missing_signature' },
    { label: 'Truemed, empty hex', client: tm, headers: [['x-truemed-signature', `t=${t},v1=`]], body: tmBody, expect: 'missing_signature' },
    { label: 'Truemed, hex of 64 non-hex characters', client: tm, headers: [['x-truemed-signature', `t=${t},v1=${'g'.repeat(64)}`]], body: tmBody, expect: 'missing_signature' },
    { label: 'Truemed, t and v1 values swapped', client: tm, headers: [['x-truemed-signature', `t=${tmSig},v1=${t}`]], body: tmBody, expect: 'missing_signature' },
    { label: 'Truemed, t not Unix seconds', client: tm, headers: [['x-truemed-signature', `t=${new Date(t * 1000).toISOString()},v1=${tmSig}`]], body: tmBody, expect: 'missing_signature' },
    { label: 'Truemed, two signature headers with different timestamps (old genuine + fresh)', client: tm,
      headers: [...truemedSigned(tmBody, { t: old }), ['x-truemed-signature', `t=${t},v1=${'0'.repeat(64)}`]], body: tmBody, expect: 'missing_signature' },
    { label: 'Truemed, two t= in one header', client: tm, headers: [['x-truemed-signature', `t=${old},t=${t},v1=${hmacHex(SECRETS.truemed, old, tmBody)}`]], body: tmBody, expect: 'missing_signature' },
    // Joined with ', ' (Node's req.headers, Headers), two keys read as one value that is no secret.
    { label: 'Truemed unsigned, two different api keys', client: tm, headers: [['x-truemed-api-key', SECRETS.truemed], ['x-truemed-api-key', SECRETS.attacker]],
      body: flat, expect: 'signature_mismatch', expectByForm: { nodeArrays: 'missing_signature' } },
    { label: 'Gr4vy, no signatures header', client: gr, headers: [['X-Gr4vy-Webhook-Timestamp', String(t)]], body: grBody, expect: 'missing_signature' },
    { label: 'Gr4vy, no timestamp header', client: gr, headers: [['X-Gr4vy-Webhook-Signatures', grA]], body: grBody, expect: 'missing_signature' },
    { label: 'Gr4vy, truncated hex', client: gr, headers: grHeaders(grA.slice(0, 40)), body: grBody, expect: 'missing_signature' },
    { label: 'Gr4vy, empty signatures header', client: gr, headers: grHeaders(''), body: grBody, expect: 'missing_signature' },
    { label: 'Gr4vy, only commas and spaces', client: gr, headers: grHeaders(' , ,'), body: grBody, expect: 'missing_signature' },
    { label: 'Gr4vy, two timestamps (old genuine + fresh)', client: gr,
      headers: [['X-Gr4vy-Webhook-Timestamp', String(old)], ['X-Gr4vy-Webhook-Timestamp', String(t)],
        ['X-Gr4vy-Webhook-Signatures', hmacHex(SECRETS.gr4vy[0], old, grBody)]], body: grBody, expect: 'missing_signature' },
    { label: 'Gr4vy, two different delivery ids', client: gr, headers: grHeaders(grA, [['X-Gr4vy-Webhook-ID', 'wh-other']]), body: grBody, expect: 'missing_signature' },
    { label: 'Gr4vy, a Truemed signature header instead', client: gr, headers: truemedSigned(grBody, { t, secret: SECRETS.gr4vy[0] }), body: grBody, expect: 'missing_signature' },

    // Genuine, but outside the tolerance.
    { label: 'Truemed, replayed 400 s later', client: tm, headers: truemedSigned(tmBody, { t: old }), body: tmBody, expect: 'timestamp_out_of_range' },
    { label: 'Truemed, 400 s in the future', client: tm, headers: truemedSigned(tmBody, { t: future }), body: tmBody, expect: 'timestamp_out_of_range' },
    { label: 'Truemed, 100 s old with toleranceSeconds 30', client: tm, headers: truemedSigned(tmBody, { t: t - 100 }), body: tmBody,
      options: { toleranceSeconds: 30 }, expect: 'timestamp_out_of_range' },
    { label: 'Gr4vy, replayed a day later', client: gr, ...signedGr4vy(grBody, t - 86_400), expect: 'timestamp_out_of_range' },
    { label: 'Gr4vy, 400 s in the future', client: gr, ...signedGr4vy(grBody, future), expect: 'timestamp_out_of_range' },
    { label: 'Gr4vy, a timestamp too big for 64 bits', client: gr, ...signedGr4vy(grBody, '99999999999999999999999'), expect: 'timestamp_out_of_range' },

    // Bodies.
    { label: 'Truemed, a parsed JSON body', client: tm, headers: truemedSigned(tmBody, { t }), body: { json: JSON.parse(tmBody) }, expect: 'invalid_body', forms: ['object', 'nodeArrays'] },
    { label: 'Gr4vy, a parsed JSON body', client: gr, headers: grHeaders(grA), body: { json: JSON.parse(grBody) }, expect: 'invalid_body', forms: ['object', 'nodeArrays'] },
    { label: 'Truemed, no body', client: tm, headers: truemedSigned(tmBody, { t }), body: { json: null }, expect: 'invalid_body', forms: ['object'] },
    { label: 'Truemed, body over 1 MiB', client: tm, ...signedTruemed(big, t), expect: 'invalid_body' },
    { label: 'Gr4vy, body over 1 MiB', client: gr, ...signedGr4vy(big, t), expect: 'invalid_body' },
    { label: 'Truemed, authentic but not JSON', client: tm, ...signedTruemed(notJson, t), expect: 'invalid_body' },
    { label: 'Truemed, authentic envelope without event_type', client: tm, ...signedTruemed(wrongShape, t), expect: 'invalid_body' },
    { label: 'Truemed unsigned, authentic but not JSON', client: tm, headers: [['x-truemed-api-key', SECRETS.truemed]], body: notJson, expect: 'invalid_body' },
    { label: 'Gr4vy, authentic event without a name', client: gr, ...signedGr4vy(grNoName, t), expect: 'invalid_body' },
    { label: 'Gr4vy, authentic token target with status 42', client: gr,
      ...signedGr4vy(gr4vyEvent({ ...tokenTarget({ id: 'pst-x', paymentMethodId: 'pm-x', status: 'x' }), status: 42 }), t), expect: 'invalid_body' },
  ];
}

/** The body of a case: text, or `{ big: n }` (n bytes of JSON, built the same way in the runtime). */
export const bodyText = (body) => (typeof body === 'string' ? body : bigBody(body.big));
export const bigBody = (n) => `{"pad":"${'x'.repeat(n - 10)}"}`;

function signedTruemed(body, t) {
  return { headers: truemedSigned(bodyText(body), { t }), body };
}

function signedGr4vy(body, t) {
  return { headers: gr4vySigned(bodyText(body), { t, id: 'wh-table-2' }), body };
}

// ---------------------------------------------------------------------------------------------
// One runtime's run

/**
 * The simulator the server checks talk to: it verifies Gr4vy JWTs against the generated key's
 * public half (and its own fixed credentials for the other providers); the tests check each logged
 * `authorization` independently too (see assertJwt).
 */
export const startServerSimulator = () => startSimulator({ port: 0, gr4vyPublicKey: GR4VY_PUBLIC_PEM });

const post = async (url, body) => {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(res.status, 201, `POST ${url}: ${res.status}`);
  return res.json();
};

/**
 * Creates the flows one runtime's checks use and returns their configuration (everything the
 * runtime needs: keys, secrets, flows, deliveries, the security table), as plain JSON.
 */
export async function prepareServerChecks(sim) {
  const flow = (spec) => post(`${sim.url}/_sim/flows`, spec);
  const [mintPkcs8, mintSec1, truemedWait, tokenEvent, methodEvent, nonTerminal] = await Promise.all([
    flow({ provider: 'gr4vy', outcome: 'succeeded', pendingPolls: 1 }),
    flow({ provider: 'gr4vy', outcome: 'pending' }),
    flow({ provider: 'truemed', outcome: 'pending' }),
    flow({ provider: 'gr4vy', outcome: 'pending' }),
    flow({ provider: 'gr4vy', outcome: 'succeeded', pendingPolls: 1 }),
    flow({ provider: 'gr4vy', outcome: 'pending' }),
  ]);
  const tmToken = `tm_pt_webhook_${randomUUID().slice(0, 8)}`;
  const grToken = `gr_tok_webhook_${randomUUID().slice(0, 8)}`;
  const tmEnvelope = truemedEnvelope({ id: truemedWait.id, token: tmToken });
  const tokenBody = gr4vyEvent(tokenTarget({ id: tokenEvent.id, paymentMethodId: tokenEvent.paymentMethodId, status: 'succeeded', token: grToken }));
  const methodBody = gr4vyEvent({ type: 'payment-method', id: methodEvent.paymentMethodId, status: 'succeeded' }, 'payment-method.updated');
  const approvalBody = gr4vyEvent(tokenTarget({
    id: nonTerminal.id, paymentMethodId: nonTerminal.paymentMethodId, status: 'buyer_approval_required', approvalUrl: 'https://approve.example/1',
  }));
  const otherMethodBody = gr4vyEvent(tokenTarget({ id: nonTerminal.id, paymentMethodId: randomUUID(), status: 'succeeded', token: 'gr_tok_wrong_pm' }));
  const big = { big: 64 << 20 };
  return {
    sim: sim.url,
    keys: KEYS,
    badKeys: BAD_KEYS.map(({ label, pem }) => ({ label, pem })),
    secrets: { truemed: [SECRETS.truemed, SECRETS.truemedOld], gr4vy: SECRETS.gr4vy },
    flows: { mintPkcs8, mintSec1, truemedWait, tokenEvent, methodEvent, nonTerminal },
    tokens: { truemed: tmToken, gr4vy: grToken },
    deliveries: {
      truemed: { headers: truemedSigned(tmEnvelope), body: tmEnvelope },
      gr4vyToken: { headers: gr4vySigned(tokenBody), body: tokenBody },
      gr4vyMethod: { headers: gr4vySigned(methodBody), body: methodBody },
      gr4vyApproval: { headers: gr4vySigned(approvalBody), body: approvalBody },
      gr4vyOtherMethod: { headers: gr4vySigned(otherMethodBody), body: otherMethodBody },
      // A Request whose body stream is far larger than 1 MiB, with genuine-looking headers.
      stream: { headers: truemedSigned(bigBody(1 << 20)), size: big.big },
    },
    cases: webhookCases(),
  };
}

/** The simulator's log of the requests for one payment method or id. */
export async function simRequests(sim, id) {
  const res = await fetch(`${sim.url}/_sim/requests?id=${encodeURIComponent(id)}`);
  return res.json();
}

/**
 * Checks one logged `authorization` header: `bearer <JWT>`, ES512 over the key's public half
 * (verified with node:crypto), the header and claims DESIGN.md names. Returns the claims.
 */
export function assertJwt(authorization, { scopes = DEFAULT_SCOPES, what = 'token' } = {}) {
  const match = /^bearer ([\w-]+)\.([\w-]+)\.([\w-]+)$/i.exec(authorization ?? '');
  assert.ok(match, `${what}: authorization is "bearer <JWT>" (${authorization === undefined ? 'absent' : 'malformed'})`);
  const [, h, p, s] = match;
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  const signature = Buffer.from(s, 'base64url');
  assert.deepEqual(header, { alg: 'ES512', typ: 'JWT', kid: KID }, `${what}: header`);
  assert.equal(signature.length, 132, `${what}: raw r‖s signature`);
  assert.ok(verify('sha512', Buffer.from(`${h}.${p}`), { key: GR4VY_PUBLIC_KEY, dsaEncoding: 'ieee-p1363' }, signature),
    `${what}: the signature verifies against the generated key`);
  assert.deepEqual(Object.keys(claims).sort(), ['exp', 'iat', 'iss', 'jti', 'nbf', 'scopes'], `${what}: claims`);
  assert.equal(claims.iss, ISSUER);
  assert.ok(Number.isInteger(claims.iat) && Math.abs(claims.iat - now()) < 120, `${what}: iat is now (${claims.iat})`);
  assert.equal(claims.nbf, claims.iat);
  assert.equal(claims.exp, claims.iat + 60);
  assert.match(claims.jti, /^[\w-]{16,}$/);
  assert.deepEqual(claims.scopes, scopes, `${what}: scopes`);
  return { claims, jwt: `${h}.${p}.${s}` };
}

/**
 * Every secret, signature and key line a runtime could leak, with what it is: the webhook
 * secrets, every api key and hex signature in `headerSets` (lists of header pairs sent), every
 * PEM line of every key, and the minted `jwts`.
 */
function leakables(headerSets, jwts) {
  const items = new Map();
  const add = (what, value) => { if (value && value.length >= 8 && !items.has(value)) items.set(value, what); };
  [SECRETS.truemed, SECRETS.truemedOld].forEach((s, i) => add(`truemed webhook secret ${i}`, s));
  SECRETS.gr4vy.forEach((s, i) => add(`gr4vy webhook secret ${i}`, s));
  add('attacker secret', SECRETS.attacker);
  for (const headers of headerSets) {
    for (const [name, value] of headers) {
      if (/api-key/i.test(name)) add(`${name} value`, value.trim());
      for (const hex of value.match(/[0-9a-fA-F]{16,}/g) ?? []) add(`signature hex in ${name}`, hex.toLowerCase());
    }
  }
  for (const line of pemLines()) add('a PEM line', line);
  for (const jwt of jwts) {
    add('a minted JWT', jwt);
    add('a JWT signature', jwt.split('.')[2]);
  }
  return items;
}

/** The header sets a runtime's checks sent. */
const cfgHeaders = (cfg) => [...cfg.cases.map((c) => c.headers), ...Object.values(cfg.deliveries).map((d) => d.headers)];

/** What of `leakables(headerSets, jwts)` appears in `text` (hex compared in either case). */
export function findLeaks(text, headerSets, jwts) {
  const lower = text.toLowerCase();
  return [...leakables(headerSets, jwts)].filter(([value]) => text.includes(value) || (/^[0-9a-f]+$/.test(value) && lower.includes(value))).map(([, what]) => what);
}

/**
 * Judges one runtime's report `out` (what server-checks.js returned) and everything the runtime
 * printed (`output`): keys, minted tokens, the security table, waits ended by webhooks, and no
 * secret anywhere.
 */
export async function assertServerChecks(t, { sim, cfg, out, output, runtime }) {
  assert.equal(out.fatal, undefined, `${runtime}: the checks crashed: ${out.fatal}`);

  // Keys refused at construction, synchronously, saying which.
  assert.equal(out.keys.length, BAD_KEYS.length);
  for (const [i, r] of out.keys.entries()) {
    const { label, message } = BAD_KEYS[i];
    assert.equal(r.threw, true, `${runtime}: ${label}: the constructor throws`);
    assert.deepEqual([r.instanceOf, r.name, r.kind, r.provider, r.status, r.retryable], [true, 'TokenStatusError', 'invalid_argument', 'gr4vy', null, false],
      `${runtime}: ${label}: ${r.message}`);
    assert.match(r.message, message, `${runtime}: ${label}`);
  }
  for (const [label, r] of Object.entries(out.options)) {
    assert.equal(r.kind, 'invalid_argument', `${runtime}: ${label}: ${JSON.stringify(r)}`);
  }

  // Mint and call: every request carried a JWT that verifies; one token served the client's
  // calls in a row; the SEC1 form of the same key gives the same kid and its own scopes.
  const { mintPkcs8, mintSec1 } = cfg.flows;
  assert.equal(out.mint.pkcs8.map((s) => s.state).join(), 'pending,succeeded,succeeded', `${runtime}: statuses read with minted tokens`);
  assert.equal(out.mint.sec1.state, 'pending');
  const pkcs8Log = await simRequests(sim, mintPkcs8.paymentMethodId);
  const sec1Log = await simRequests(sim, mintSec1.paymentMethodId);
  assert.equal(pkcs8Log.length, 3, `${runtime}: three requests with the PKCS#8 key`);
  for (const entry of [...pkcs8Log, ...sec1Log]) {
    assert.equal(entry.auth, 'jwt', `${runtime}: the simulator accepted the request by its verified JWT`);
  }
  const pkcs8Tokens = pkcs8Log.map((e, i) => assertJwt(e.headers.authorization, { what: `${runtime} PKCS#8 request ${i + 1}` }));
  assert.equal(new Set(pkcs8Tokens.map((x) => x.jwt)).size, 1, `${runtime}: the token is reused while 15 s of it remain`);
  assert.equal(sec1Log.length, 1);
  const sec1Token = assertJwt(sec1Log[0].headers.authorization, { scopes: ['payment-methods.read'], what: `${runtime} SEC1 request` });
  assert.notEqual(sec1Token.claims.jti, pkcs8Tokens[0].claims.jti, 'each minted token has its own jti');
  const jwts = [...pkcs8Tokens, sec1Token].map((x) => x.jwt);
  for (const entry of [...pkcs8Log, ...sec1Log]) assert.equal(entry.method, 'GET');

  // The security table: every case in every form gives the expected outcome.
  const wrong = [];
  let verified = 0;
  for (const [i, c] of cfg.cases.entries()) {
    const results = out.webhooks[i];
    assert.ok(results && Object.keys(results).length > 0, `${runtime}: case "${c.label}" ran`);
    for (const [form, r] of Object.entries(results)) {
      verified += 1;
      const got = r.ok ? 'ok' : r.kind === 'invalid_webhook' ? r.code : `${r.kind}/${r.code}: ${r.message}`;
      const expected = c.expectByForm?.[form] ?? c.expect;
      if (got !== expected) { wrong.push(`${c.label} [${form}]: ${got}, expected ${expected}`); continue; }
      if (!r.ok) {
        if (r.instanceOf !== true || r.status !== null || r.retryable !== false || r.provider !== (c.client.startsWith('gr4vy') ? 'gr4vy' : 'truemed')) {
          wrong.push(`${c.label} [${form}]: fields ${JSON.stringify(r)}`);
        }
        continue;
      }
      const e = c.event;
      if (!e) continue;
      const summary = { provider: r.event.provider, type: r.event.type, state: r.event.status?.state ?? null, id: r.event.status?.id, token: r.event.status?.token, eventId: r.event.id };
      for (const [k, v] of Object.entries(e)) if (summary[k] !== v) wrong.push(`${c.label} [${form}]: event ${k} = ${summary[k]}, expected ${v}`);
    }
  }
  assert.deepEqual(wrong, [], `${runtime}: the security table`);
  t.diagnostic(`${runtime}: ${verified} verifications over ${cfg.cases.length} cases`);
  assert.equal(out.tolerance.kind, 'invalid_argument', `${runtime}: a negative toleranceSeconds`);
  assert.equal(out.usedBody.code, 'invalid_body', `${runtime}: a Request whose body was read already`);

  // A Request whose body stream is larger than 1 MiB is refused without being read further.
  assert.equal(out.stream.code, 'invalid_body', `${runtime}: oversized stream: ${JSON.stringify(out.stream)}`);
  assert.ok(out.stream.pulled > 1 << 20 && out.stream.pulled <= 3 << 20,
    `${runtime}: read ${out.stream.pulled} bytes of a ${cfg.deliveries.stream.size}-byte stream`);
  t.diagnostic(`${runtime}: oversized stream: ${out.stream.pulled} of ${cfg.deliveries.stream.size} bytes pulled, cancelled: ${out.stream.cancelled}`);

  // Waits ended by webhooks (polling every 60 s): at once, and without another poll.
  const w = out.waits;
  for (const [label, r, token] of [['Truemed signed delivery', w.truemed, cfg.tokens.truemed], ['Gr4vy payment-service-token event', w.gr4vyToken, cfg.tokens.gr4vy]]) {
    assert.equal(r.resolved, true, `${runtime}: ${label}: the wait ended (${JSON.stringify(r)})`);
    assert.ok(r.ms < 1000, `${runtime}: ${label}: ended ${r.ms} ms after the webhook`);
    assert.deepEqual([r.status.state, r.status.terminal, r.status.token], ['succeeded', true, token], `${runtime}: ${label}`);
    assert.deepEqual(r.updates, ['pending', 'succeeded'], `${runtime}: ${label}: onUpdate saw the first poll, then the webhook's status`);
    assert.equal(r.eventState, 'succeeded');
  }
  assert.equal((await simRequests(sim, cfg.flows.truemedWait.id)).length, 1, `${runtime}: the Truemed wait polled once`);
  assert.equal((await simRequests(sim, cfg.flows.tokenEvent.paymentMethodId)).length, 1, `${runtime}: the Gr4vy wait polled once`);
  // A payment-method event makes the wait poll now: its second read gives the simulator's token.
  assert.equal(w.gr4vyMethod.resolved, true, `${runtime}: payment-method event: ${JSON.stringify(w.gr4vyMethod)}`);
  assert.ok(w.gr4vyMethod.ms < 1000, `${runtime}: payment-method event: ${w.gr4vyMethod.ms} ms`);
  assert.equal(w.gr4vyMethod.status.state, 'succeeded');
  assert.match(w.gr4vyMethod.status.token, /^gr4vy_pst_/, 'the token came from the poll, not the webhook');
  assert.equal(w.gr4vyMethod.eventStatus, null, 'a payment-method event tells no token status');
  const methodLog = await simRequests(sim, cfg.flows.methodEvent.paymentMethodId);
  assert.equal(methodLog.length, 2, `${runtime}: the payment-method event caused exactly one extra poll`);
  for (const [i, entry] of methodLog.entries()) assertJwt(entry.headers.authorization, { what: `${runtime} wait poll ${i + 1}` });
  // A non-terminal status reaches onUpdate and the wait goes on; a status of the same token id
  // on another payment method reaches nothing; notify() ends it and counts.
  const n = w.nonTerminal;
  assert.deepEqual(n.updates, ['pending', 'action_required', 'succeeded'], `${runtime}: non-terminal webhook: ${JSON.stringify(n)}`);
  assert.equal(n.actionUrl, 'https://approve.example/1');
  assert.equal(n.stillWaiting, true, `${runtime}: a non-terminal status does not end the wait`);
  assert.equal(n.afterOtherMethod, true, `${runtime}: another payment method's token does not end the wait`);
  assert.deepEqual(n.notified, { other: 0, otherProvider: 0, own: 1 }, `${runtime}: notify() counts`);
  assert.equal(n.status.state, 'succeeded');
  assert.equal(n.status.token, 'gr_tok_notified');

  // No secret, signature, key line or minted token in anything the runtime printed: errors
  // (message, stack, String, JSON, cause) included, as the report carries them.
  assert.ok(out.errorRenderings >= 100, `${runtime}: the report carries the errors' renderings (${out.errorRenderings})`);
  assert.ok(output.includes('"stack"') && output.includes('TokenStatusError'), `${runtime}: the output holds the errors`);
  assert.deepEqual(findLeaks(output, cfgHeaders(cfg), jwts), [], `${runtime}: secrets in the output`);
  // The scan finds what it looks for (it would fail if a secret were printed).
  const probe = findLeaks(JSON.stringify(cfg) + jwts.join(), cfgHeaders(cfg), jwts);
  for (const what of ['truemed webhook secret 0', 'gr4vy webhook secret 1', 'a PEM line', 'a minted JWT', 'x-truemed-api-key value']) {
    assert.ok(probe.includes(what), `the leak scan finds ${what}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Runtimes that run a script (Node, Deno, Bun)

/** tests/package/server-checks.js, to copy into a consumer project. */
export const SERVER_CHECKS = readFileSync(join(ROOT, 'tests', 'package', 'server-checks.js'), 'utf8');

/** An ES module entry (Node, Deno, Bun): runs the checks with the configuration file it is given. */
export const SERVER_MAIN_ESM = `import * as mod from 'token-status';
import { readFileSync, writeFileSync } from 'node:fs';
import { serverChecks } from './server-checks.js';
const file = (globalThis.Deno ? Deno.args : process.argv.slice(2))[0];
console.log(JSON.stringify(await serverChecks(mod, JSON.parse(readFileSync(file, 'utf8')))));
`;

/** The same through require() (the checks module itself is ESM, imported). */
export const SERVER_MAIN_CJS = `const mod = require('token-status');
const { readFileSync } = require('node:fs');
const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
import('./server-checks.js').then(({ serverChecks }) => serverChecks(mod, cfg)).then((out) => console.log(JSON.stringify(out)));
`;

/**
 * Runs the server checks in a runtime that takes a script: `command(configFile)` gives
 * `[bin, args]`, run in `dir` (where the tarball, server-checks.js and the entry are installed).
 * The process must exit by itself (no timer or socket left behind) with code 0.
 */
export async function runServerChecks(t, { sim, dir, runtime, command, env = {} }) {
  const cfg = await prepareServerChecks(sim);
  const file = join(dir, `server-checks.${runtime.replace(/\W+/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(cfg));
  const [bin, args] = command(file);
  const r = await run(bin, args, { cwd: dir, timeout: 90_000, env });
  assert.equal(r.signal, null, `${runtime}: did not exit by itself\n${show(r)}`);
  assert.equal(r.code, 0, `${runtime} failed\n${show(r)}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  await assertServerChecks(t, { sim, cfg, out, output: r.stdout + r.stderr, runtime });
}
