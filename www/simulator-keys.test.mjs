// Tests for the simulator's Gr4vy API-key check (`gr4vyPublicKey`, www/simulator/README.md):
// ES512 JWTs minted here with node:crypto, accepted and refused over real HTTP.
// Run: node --test www/simulator-keys.test.mjs

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSimulator } from './simulator/index.mjs';
import { runNode } from './simulator-test-support.mjs';

const SIM_PATH = fileURLToPath(new URL('./simulator/serve.mjs', import.meta.url));
const p521 = () => generateKeyPairSync('ec', { namedCurve: 'secp521r1' });
const KEY = p521();
const OTHER = p521();
const PUBLIC_PEM = KEY.publicKey.export({ type: 'spki', format: 'pem' });

const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** The RFC 7638 thumbprint, computed here independently of the simulator. */
function kidOf(publicKey) {
  const { crv, x, y } = publicKey.export({ format: 'jwk' });
  return createHash('sha256').update(`{"crv":"${crv}","kty":"EC","x":"${x}","y":"${y}"}`).digest('base64url');
}

const now = () => Math.floor(Date.now() / 1000);

/** An ES512 JWT; `header` and `claims` override the valid defaults (undefined drops a claim). */
function jwt({ header = {}, claims = {}, key = KEY.privateKey, kidKey = KEY.publicKey, encoding = 'ieee-p1363' } = {}) {
  const iat = now();
  const h = { alg: 'ES512', typ: 'JWT', kid: kidOf(kidKey), ...header };
  const c = { iss: 'simulator-test', iat, nbf: iat, exp: iat + 60, jti: `j-${Math.random()}`, scopes: ['payment-methods.read', 'payment-methods.write'], ...claims };
  for (const k of Object.keys(c)) if (c[k] === undefined) delete c[k];
  const input = `${b64(h)}.${b64(c)}`;
  const signature = sign('sha512', Buffer.from(input), { key, dsaEncoding: encoding });
  return `${input}.${signature.toString('base64url')}`;
}

let sim;
const lines = [];
before(async () => {
  sim = await startSimulator({ port: 0, gr4vyPublicKey: PUBLIC_PEM, log: (l) => lines.push(l) });
});
after(() => sim.close());

const PM = 'pm-keys';
const listPath = `/gr4vy/payment-methods/${PM}/payment-service-tokens`;

async function gr4vy(token, { method = 'GET', body } = {}) {
  const headers = { 'content-type': 'application/json' };
  if (token != null) headers.authorization = `bearer ${token}`;
  const r = await fetch(sim.url + listPath, { method, headers, body });
  const text = await r.text();
  return { status: r.status, text, body: JSON.parse(text) };
}

const provisionBody = JSON.stringify({ payment_service_id: 'svc-1', redirect_url: 'https://shop.example/back' });

/** The request log's `auth` of the last Gr4vy request. */
const lastAuth = () => sim.sim.requests({ provider: 'gr4vy' }).at(-1).auth;

function assertRefused(r, token, status = 401) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.body.type, 'error');
  assert.equal(r.body.code, status === 401 ? 'unauthorized' : 'forbidden');
  assert.equal(r.body.status, status);
  assert.ok(!r.text.includes(token), 'the error body never echoes the token');
  for (const part of token.split('.')) if (part.length > 8) assert.ok(!r.text.includes(part));
}

describe('Gr4vy JWTs', () => {
  test('a valid ES512 JWT lists (read scope) and provisions (write scope); the log says "jwt"', async () => {
    const token = jwt();
    const list = await gr4vy(token);
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(list.body, { items: [] });
    assert.equal(lastAuth(), 'jwt');

    const made = await gr4vy(token, { method: 'POST', body: provisionBody });
    assert.equal(made.status, 201, made.text);
    assert.equal(made.body.status, 'processing');
    const listed = await gr4vy(token);
    assert.deepEqual(listed.body.items.map((i) => i.id), [made.body.id]);

    // Read-only and write-only tokens each do their own part; the SDK's wildcards count too.
    assert.equal((await gr4vy(jwt({ claims: { scopes: ['payment-methods.read'] } }))).status, 200);
    assert.equal((await gr4vy(jwt({ claims: { scopes: ['*.read'] } }))).status, 200);
    assert.equal((await gr4vy(jwt({ claims: { scopes: ['*.write'] } }), { method: 'POST', body: provisionBody })).status, 201);
    // Lifetimes up to the library's 60 s (plus skew) and a missing nbf are fine.
    assert.equal((await gr4vy(jwt({ claims: { exp: now() + 64 } }))).status, 200);
    assert.equal((await gr4vy(jwt({ claims: { nbf: undefined } }))).status, 200);
  });

  test('the fixed test token keeps working beside JWTs', async () => {
    const r = await gr4vy('sim-gr4vy-token');
    assert.equal(r.status, 200);
    assert.equal(lastAuth(), 'sim-token');
  });

  const refusals = {
    'a flipped signature byte': [/signature does not verify/, () => {
      const t = jwt();
      const sig = Buffer.from(t.split('.')[2], 'base64url');
      sig[10] ^= 1;
      return `${t.split('.').slice(0, 2).join('.')}.${sig.toString('base64url')}`;
    }],
    'claims changed after signing': [/signature does not verify/, () => {
      const [h, , s] = jwt().split('.');
      return `${h}.${b64({ iat: now(), exp: now() + 60, scopes: ['*.write', '*.read'] })}.${s}`;
    }],
    'signed by another key (kid of the configured one)': [/signature does not verify/, () => jwt({ key: OTHER.privateKey })],
    'the kid of another key': [/kid/, () => jwt({ kidKey: OTHER.publicKey })],
    'another key altogether': [/kid/, () => jwt({ key: OTHER.privateKey, kidKey: OTHER.publicKey })],
    'no kid': [/kid/, () => jwt({ header: { kid: undefined } })],
    expired: [/expired/, () => jwt({ claims: { iat: now() - 120, nbf: now() - 120, exp: now() - 60 } })],
    'iat in the future': [/iat lies in the future/, () => jwt({ claims: { iat: now() + 60, nbf: now() + 60, exp: now() + 100 } })],
    'nbf in the future': [/nbf/, () => jwt({ claims: { nbf: now() + 60 } })],
    'a lifetime of an hour': [/lifetime/, () => jwt({ claims: { exp: now() + 3600 } })],
    'exp before iat': [/exp is not after iat/, () => jwt({ claims: { iat: now(), exp: now() - 1 } })],
    'no exp': [/exp claim/, () => jwt({ claims: { exp: undefined } })],
    'a string iat': [/iat claim/, () => jwt({ claims: { iat: String(now()) } })],
    'no scopes claim': [/scopes claim/, () => jwt({ claims: { scopes: undefined } })],
    'scopes as a string': [/scopes claim/, () => jwt({ claims: { scopes: 'payment-methods.read' } })],
    'alg none': [/alg must be ES512/, () => `${b64({ alg: 'none', typ: 'JWT', kid: kidOf(KEY.publicKey) })}.${b64({ iat: now(), exp: now() + 60, scopes: ['*.read'] })}.`],
    'HS256 keyed with the public key PEM': [/alg must be ES512/, () => {
      const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: kidOf(KEY.publicKey) })}.${b64({ iat: now(), exp: now() + 60, scopes: ['*.read'] })}`;
      return `${input}.${createHmac('sha256', PUBLIC_PEM).update(input).digest('base64url')}`;
    }],
    'ES256 in the header': [/alg must be ES512/, () => jwt({ header: { alg: 'ES256' } })],
    'a DER-encoded signature': [/raw 132-byte/, () => jwt({ encoding: 'der' })],
    'two parts': [/No valid API authentication/, () => jwt().split('.').slice(0, 2).join('.')],
    'four parts': [/No valid API authentication/, () => `${jwt()}.AAAA`],
    'a header that is not JSON': [/header is not a JSON object/, () => `${b64('not json')}.${jwt().split('.').slice(1).join('.')}`],
    'a header that is a JSON array': [/header is not a JSON object/, () => `${b64('[1]')}.${jwt().split('.').slice(1).join('.')}`],
    'characters outside base64url': [/three base64url parts/, () => jwt().replace('.', '.+/')],
  };
  for (const [name, [reason, make]] of Object.entries(refusals)) {
    test(`refuses ${name} with Gr4vy's 401`, async () => {
      const token = make();
      const r = await gr4vy(token);
      assertRefused(r, token);
      assert.match(r.body.message, reason);
      assert.equal(lastAuth(), null);
    });
  }

  test('a missing scope is 403 forbidden: read-only cannot provision, another scope cannot list', async () => {
    const readOnly = jwt({ claims: { scopes: ['payment-methods.read'] } });
    const r = await gr4vy(readOnly, { method: 'POST', body: provisionBody });
    assertRefused(r, readOnly, 403);
    assert.match(r.body.message, /payment-methods\.write/);
    const other = jwt({ claims: { scopes: ['transactions.read', 'payment-methods.write'] } });
    const l = await gr4vy(other);
    assertRefused(l, other, 403);
    assert.match(l.body.message, /payment-methods\.read/);
    assert.equal(sim.sim.requests({ provider: 'gr4vy', method: 'POST' }).at(-1).auth, null);
  });

  test('a missing or non-bearer Authorization is still 401; no log line carries a token', async () => {
    assertRefused(await gr4vy(null), 'x'.repeat(20));
    const basic = await fetch(sim.url + listPath, { headers: { authorization: `Basic ${jwt()}` } });
    assert.equal(basic.status, 401);
    await basic.text();
    const all = lines.join('\n');
    for (const e of sim.sim.requests({ provider: 'gr4vy' })) {
      const token = /^\S+\s+(\S+)/.exec(e.headers.authorization ?? '')?.[1];
      if (token && token.length > 20) assert.ok(!all.includes(token), 'log lines never carry a token');
    }
  });
});

describe('gr4vyPublicKey option', () => {
  test('without it, a JWT is refused with a hint; credentials: false still accepts anything', async () => {
    const plain = await startSimulator({ port: 0 });
    const off = await startSimulator({ port: 0, credentials: false, gr4vyPublicKey: PUBLIC_PEM });
    try {
      const token = jwt();
      const r = await fetch(plain.url + listPath, { headers: { authorization: `bearer ${token}` } });
      const body = await r.json();
      assert.equal(r.status, 401);
      assert.match(body.message, /gr4vyPublicKey/);
      for (const auth of [undefined, 'bearer nonsense', `bearer ${jwt({ key: OTHER.privateKey })}`]) {
        const ok = await fetch(off.url + listPath, { headers: auth ? { authorization: auth } : {} });
        assert.equal(ok.status, 200);
        await ok.text();
      }
      assert.deepEqual(off.sim.requests().map((e) => e.auth), [null, null, null]);
    } finally {
      await plain.close();
      await off.close();
    }
  });

  test('takes a KeyObject or the private key PEM (its public half); refuses other keys', async () => {
    const pkcs8 = KEY.privateKey.export({ type: 'pkcs8', format: 'pem' });
    for (const given of [KEY.publicKey, KEY.privateKey, pkcs8, createPrivateKey(pkcs8), Buffer.from(PUBLIC_PEM)]) {
      const s = await startSimulator({ port: 0, gr4vyPublicKey: given });
      try {
        const r = await fetch(s.url + listPath, { headers: { authorization: `bearer ${jwt()}` } });
        assert.equal(r.status, 200);
        await r.text();
      } finally {
        await s.close();
      }
    }
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' });
    const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
    for (const [bad, message] of [
      [rsa, /P-521/],
      [p256, /P-521/],
      ['not a key', /PEM/],
      [42, /PEM/],
    ]) {
      await assert.rejects(startSimulator({ port: 0, gr4vyPublicKey: bad }), (err) => {
        assert.ok(err instanceof TypeError);
        assert.match(err.message, message);
        return true;
      });
    }
  });

  test('serve.mjs --gr4vy-public-key FILE checks JWTs; an unreadable file is a usage error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-keys-'));
    try {
      const file = join(dir, 'gr4vy.pub.pem');
      writeFileSync(file, PUBLIC_PEM);
      let result;
      const r = await runNode([SIM_PATH, '--port', '0', '--gr4vy-public-key', file], {
        onLine: (line, child) => {
          result = (async () => {
            const url = /(http:\/\/\S+)/.exec(line)[1];
            const good = await fetch(url + listPath, { headers: { authorization: `bearer ${jwt()}` } });
            const bad = await fetch(url + listPath, { headers: { authorization: `bearer ${jwt({ key: OTHER.privateKey })}` } });
            await good.text();
            await bad.text();
            child.kill('SIGTERM');
            return [good.status, bad.status];
          })();
        },
      });
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(await result, [200, 401]);
      const missing = await runNode([SIM_PATH, '--gr4vy-public-key', join(dir, 'absent.pem')]);
      assert.equal(missing.code, 2);
      assert.match(missing.err, /cannot read --gr4vy-public-key/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
