// The server features' cost, in Node: µs per call of Gr4vy token minting (a first token from a
// new client, a reused token, a fresh signature every call) and of verifyWebhook (Truemed signed;
// Gr4vy with two secrets and two signatures), beside their node:crypto floors; and what the
// features add to the .wasm (pkg/web, the browser build without them, vs pkg/server).
// Standalone: `node bench/server-features.mjs [--quick]` prints a markdown section; `make bench`
// includes it (bench/run.mjs). Numbers only, no assertions.
import { spawn } from 'node:child_process';
import { createHmac, generateKeyPairSync, timingSafeEqual, webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync, constants as zlib } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = join(root, 'pkg');
const PAYMENT_METHOD = '46973e9d-88a7-44a6-abfe-be4ff0134ff4';
const TOKEN_ID = '0b0d7b0e-1b4c-4b5a-9f0e-2a5b1f1c0a03';

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
const us = (ms) => `${Math.round(ms * 1000)} µs`;
const plus = (ms) => `${ms < 0 ? '−' : '+'}${us(Math.abs(ms))}`;

/** bench/server.mjs in a child process (its own core); resolves `{ url, stop }`. */
function instantServer() {
  const proc = spawn(process.execPath, [join(root, 'bench', 'server.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buffer = '';
    proc.stdout.on('data', (chunk) => {
      buffer += chunk;
      const match = buffer.match(/http:\/\/[0-9.:]+/);
      if (match) resolve({ url: match[0], stop: () => new Promise((r) => { proc.once('exit', r); proc.kill('SIGTERM'); }) });
    });
    proc.once('exit', (code) => reject(new Error(`bench/server.mjs exited with ${code}`)));
  });
}

/** Median ms per call of `call`, sequentially, over `n` calls after `warm` unmeasured ones. */
async function perCall(call, n, warm = 20) {
  for (let i = 0; i < warm; i++) await call(i);
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await call(i);
    times.push(performance.now() - t0);
  }
  return median(times);
}

/**
 * Interleaved rounds of every implementation (so drift in the machine's speed hits all alike);
 * returns each one's median of round medians and the rounds themselves.
 */
async function rounds(impls, { rounds: r, n }) {
  const names = Object.keys(impls);
  const got = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = 0; round < r; round++) {
    for (const name of names.map((_, i) => names[(i + round) % names.length])) got[name].push(await perCall(impls[name], n));
  }
  return Object.fromEntries(names.map((name) => [name, { median: median(got[name]), rounds: got[name] }]));
}

export async function serverFeatures({ quick = false, log = () => {} } = {}) {
  const lines = [];
  const table = (head, rows) => {
    lines.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
    for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  };
  const ts = await import(pathToFileURL(join(pkg, 'index.mjs')).href);
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-521' });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' });

  // Size: what minting and verification add to the .wasm.
  const size = (build) => {
    const bytes = readFileSync(join(pkg, build, 'token_status_bg.wasm'));
    return { raw: bytes.length, gzip: gzipSync(bytes, { level: zlib.Z_BEST_COMPRESSION }).length };
  };
  const web = size('web');
  const server = size('server');
  lines.push('### .wasm size (gzip -9)', '');
  table(['build', 'raw', 'gzip -9'], [
    ['pkg/web (browsers: no minting, no webhook verification)', `${web.raw} B`, `${web.gzip} B`],
    ['pkg/server (Node, Deno, Bun, workerd)', `${server.raw} B`, `${server.gzip} B`],
    ['the server features', `+${server.raw - web.raw} B`, `+${server.gzip - web.gzip} B`],
  ]);

  // Minting, through calls to a local keep-alive server answering instantly.
  log('minting');
  const http = await instantServer();
  const base = http.url;
  const call = (client) => () => client.getPaymentServiceToken(PAYMENT_METHOD, TOKEN_ID);
  const bearer = new ts.Gr4vyClient({ baseUrl: base, bearerToken: 'bench-token' });
  const reused = new ts.Gr4vyClient({ baseUrl: base, privateKey: pem });
  // A fresh signature on every call: the clock is moved 50 s on before each, so no minted token
  // has the 15 s left that reuse needs (the key stays imported).
  const fresh = new ts.Gr4vyClient({ baseUrl: base, privateKey: pem });
  const realNow = Date.now;
  let skew = 0;
  const skewed = (client) => async () => {
    skew += 50_000;
    Date.now = () => realNow() + skew;
    try {
      await client.getPaymentServiceToken(PAYMENT_METHOD, TOKEN_ID);
    } finally {
      Date.now = realNow;
    }
  };
  // A first token: a new client (the key parsed and imported) and its first call.
  const firstToken = () => new ts.Gr4vyClient({ baseUrl: base, privateKey: pem }).getPaymentServiceToken(PAYMENT_METHOD, TOKEN_ID);
  const minting = await rounds({
    'bearerToken string (no minting)': call(bearer),
    'privateKey, token reused': call(reused),
    'privateKey, a fresh signature every call': skewed(fresh),
    'control: bearerToken string, the clock moved the same way': skewed(bearer),
    'privateKey, a new client: first token': firstToken,
  }, { rounds: quick ? 3 : 7, n: quick ? 100 : 300 });
  await http.stop();

  // The floors: WebCrypto's P-521 signature alone, and the key import a first token adds.
  const subtle = webcrypto.subtle;
  const der = privateKey.export({ type: 'pkcs8', format: 'der' });
  const key = await subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-521' }, false, ['sign']);
  const input = new TextEncoder().encode('x'.repeat(300));
  const floors = await rounds({
    'WebCrypto ECDSA P-521 sign': () => subtle.sign({ name: 'ECDSA', hash: 'SHA-512' }, key, input),
    'WebCrypto importKey P-521 (pkcs8)': () => subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-521' }, true, ['sign']),
  }, { rounds: quick ? 3 : 5, n: quick ? 100 : 300 });
  const baseline = minting['bearerToken string (no minting)'].rounds;
  // Paired per round: each round's median minus the same round's bearerToken median.
  const over = (m) => plus(median(m.rounds.map((v, i) => v - baseline[i])));
  const range = (m) => `${us(Math.min(...m.rounds))}–${us(Math.max(...m.rounds))}`;
  lines.push('', '### Minting Gr4vy tokens (Node, per call to a local instant server)', '');
  table(['call', 'median per call', 'round medians', 'over the bearerToken call (paired per round)'], [
    ...Object.entries(minting).map(([name, m]) => [name, us(m.median), range(m), name.startsWith('bearer') ? '—' : over(m)]),
    ...Object.entries(floors).map(([name, m]) => [`floor: ${name}`, us(m.median), range(m), '—']),
  ]);

  // verifyWebhook, no I/O.
  log('verifyWebhook');
  const now = Math.floor(Date.now() / 1000);
  const hex = (secret, body) => createHmac('sha256', secret).update(`${now}.${body}`).digest('hex');
  const tmSecret = 'whsec_bench_truemed';
  const grSecrets = ['gr4vy_whsec_bench_a', 'gr4vy_whsec_bench_b'];
  const tmBody = JSON.stringify({ webhook_delivery_id: 'wd_1', event_type: 'payment_token.updated', data: { payment_token: 'tm_pt_1', provision_token_request_id: 'ptr_1', metadata: 'order-1' } });
  const grBody = JSON.stringify({
    type: 'event', id: 'ev_1', name: 'payment-service-token.updated', merchant_account_id: 'default', created_at: '2026-12-02T00:00:00Z',
    target: { type: 'payment-service-token', id: TOKEN_ID, payment_method_id: PAYMENT_METHOD, payment_service_id: 'ps_1', status: 'succeeded', approval_url: null, token: 'tok', created_at: '2026-12-01T00:00:00Z', updated_at: '2026-12-02T00:00:00Z' },
  });
  const truemed = new ts.TruemedClient({ webhookSecret: tmSecret });
  const gr4vy = new ts.Gr4vyClient({ baseUrl: base, webhookSecrets: grSecrets });
  const tmHeaders = { 'x-truemed-signature': `t=${now},v1=${hex(tmSecret, tmBody)}` };
  const grHeaders = {
    'x-gr4vy-webhook-timestamp': String(now),
    'x-gr4vy-webhook-signatures': grSecrets.map((s) => hex(s, grBody)).join(','),
    'x-gr4vy-webhook-id': 'wh_1',
  };
  const floorVerify = (secrets, headerHex, body) => () => {
    const given = headerHex.split(',').map((h) => Buffer.from(h, 'hex'));
    let ok = false;
    for (const secret of secrets) {
      const expected = createHmac('sha256', secret).update(`${now}.${body}`).digest();
      for (const g of given) ok = timingSafeEqual(g, expected) || ok;
    }
    if (!ok) throw new Error('floor mismatch');
    return JSON.parse(body);
  };
  const verify = await rounds({
    'Truemed signed ({ headers, body: string })': () => truemed.verifyWebhook({ headers: tmHeaders, body: tmBody }),
    'Truemed signed (a Fetch Request)': () => truemed.verifyWebhook(new Request('http://localhost/', { method: 'POST', headers: tmHeaders, body: tmBody })),
    'Gr4vy, 2 secrets × 2 signatures ({ headers, body: string })': () => gr4vy.verifyWebhook({ headers: grHeaders, body: grBody }),
    'floor: node:crypto HMAC + timingSafeEqual + JSON.parse (Truemed)': floorVerify([tmSecret], hex(tmSecret, tmBody), tmBody),
    'floor: the same, Gr4vy 2 × 2': floorVerify(grSecrets, grHeaders['x-gr4vy-webhook-signatures'], grBody),
    'floor: WebCrypto HMAC importKey + sign, one secret': async () => {
      const hmac = await subtle.importKey('raw', new TextEncoder().encode(tmSecret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
      return subtle.sign('HMAC', hmac, new TextEncoder().encode(`${now}.${tmBody}`));
    },
  }, { rounds: quick ? 3 : 7, n: quick ? 300 : 1000 });
  lines.push('', '### verifyWebhook (Node, per call, no I/O)', '');
  table(['delivery', 'median per call', 'round medians'], Object.entries(verify).map(([name, m]) => [name, us(m.median), range(m)]));
  lines.push('', `Bodies: Truemed ${tmBody.length} B, Gr4vy ${grBody.length} B. Medians of ${quick ? 3 : 7} interleaved rounds of sequential calls.`);
  return { lines, numbers: { web, server, minting, floors, verify } };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { lines } = await serverFeatures({ quick: process.argv.includes('--quick'), log: (t) => process.stderr.write(`bench: ${t}\n`) });
  process.stdout.write(`## Server features: Gr4vy keys and webhooks (Node ${process.version})\n\n${lines.join('\n')}\n`);
  process.exit(0);
}
