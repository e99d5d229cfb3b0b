// Packaging tests: consume `token-status` exactly as a user does — `npm pack` the generated
// pkg/, `npm install` the tarball into fresh projects (Node ESM, Node CJS, mixed, a Vite app
// both built and under the dev server, TypeScript consumers) and check what each of them sees.
// Run: `node --test tests/package/`.
//
// Everything lives under build/package-tests/ (wiped at start, kept afterwards for CI
// artefacts). Two provider simulators run in this process: one checking credentials, one
// without (standing in for a merchant's credential-adding proxy). Child processes are always
// run asynchronously, since the simulators answer from this process's event loop.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { startSimulator } from '../../www/simulator/index.mjs';
import { launchChromium, serveStatic } from '../support/browser.mjs';
import { BIN, ROOT, installProject, killChildren, packPkg, run, show, walk } from '../support/packed.mjs';
import { KEYS } from '../support/server-fixtures.mjs';

const WORK = join(ROOT, 'build', 'package-tests');

const TOKENIO_BEARER = 'sim-tokenio-token';
const TRUEMED_KEY = 'sim-truemed-key';
const GR4VY_TOKEN = 'sim-gr4vy-token';

const TOKENIO_KEYS = ['provider', 'id', 'state', 'terminal', 'providerStatus', 'token', 'actionUrl', 'reason',
  'metadata', 'transferId', 'standingOrderSubmissionId', 'bankId', 'signature'].sort();
const TRUEMED_KEYS = ['provider', 'id', 'state', 'terminal', 'providerStatus', 'token', 'actionUrl', 'reason',
  'metadata'].sort();
const GR4VY_KEYS = ['provider', 'id', 'state', 'terminal', 'providerStatus', 'token', 'actionUrl', 'reason',
  'metadata', 'paymentMethodId', 'paymentServiceId', 'createdAt', 'updatedAt'].sort();
const ERROR_KINDS = ['invalid_argument', 'unauthorized', 'not_found', 'rate_limited', 'bad_request',
  'provider_error', 'network', 'timeout', 'aborted', 'invalid_response', 'insecure_credentials', 'invalid_webhook'];

// ---------------------------------------------------------------------------------------------
// Helpers

/** Runs a consumer script with `node`, expecting it to exit by itself with code 0 and to print
 * one JSON line (its last line of output). */
async function runNode(dir, script, cfg, { timeout = 15_000 } = {}) {
  const r = await run(process.execPath, [script], { cwd: dir, timeout, env: { TOKEN_STATUS_TEST: JSON.stringify(cfg) } });
  assert.equal(r.signal, null, `node ${script} did not exit by itself within ${timeout} ms (leftover timer or socket?)\n${show(r)}`);
  assert.equal(r.code, 0, `node ${script} failed\n${show(r)}`);
  const lines = r.stdout.trim().split('\n');
  let out;
  try {
    out = JSON.parse(lines[lines.length - 1]);
  } catch {
    assert.fail(`node ${script} printed no JSON result\n${show(r)}`);
  }
  return { out, result: r };
}

let tarball;
let packInfo;

/** A fresh project under build/package-tests/<name> with the tarball installed. */
const makeProject = (name, files) => installProject(join(WORK, name), tarball, files);

async function simJson(sim, path, body, method = body === undefined ? 'GET' : 'POST') {
  const res = await fetch(sim.url + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `simulator ${method} ${path} answered ${res.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

const createFlow = (sim, body) => simJson(sim, '/_sim/flows', body);

/** Removes comments from TypeScript source (good enough for a .d.ts: no comment markers in strings). */
const stripComments = (src) => src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '');

/** Names of a WebAssembly module's custom sections. */
function wasmCustomSections(bytes) {
  assert.deepEqual([...bytes.subarray(0, 4)], [0, 0x61, 0x73, 0x6d], 'not a WebAssembly module');
  const names = [];
  let at = 8;
  const leb = () => {
    let value = 0;
    let shift = 0;
    for (;;) {
      const byte = bytes[at++];
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if (byte < 0x80) return value;
    }
  };
  while (at < bytes.length) {
    const id = bytes[at++];
    const size = leb();
    const end = at + size;
    if (id === 0) {
      const len = leb();
      names.push(Buffer.from(bytes.subarray(at, at + len)).toString('utf8'));
    }
    at = end;
  }
  return names;
}

// ---------------------------------------------------------------------------------------------
// Consumer programs

/** The core checks, shared by the ESM and CommonJS consumers: `mod` is what they imported. */
const CORE_CHECKS = String.raw`
async function checks(mod, cfg) {
  const { TokenIoClient, TruemedClient, Gr4vyClient, TokenStatusError } = mod;
  const isDeepStrictEqual = cfg.isDeepStrictEqual;
  const describeError = (err) => ({
    rejected: true,
    instanceOf: err instanceof TokenStatusError,
    instanceOfError: err instanceof Error,
    name: err && err.name,
    kind: err && err.kind,
    provider: err && err.provider,
    status: err && err.status,
    code: err && err.code,
    traceId: err && err.traceId,
    retryable: err && err.retryable,
    attempts: err && err.attempts,
    message: err && err.message,
    string: String(err),
    json: JSON.stringify(err),
    stackMentionsName: typeof (err && err.stack) === 'string' && err.stack.includes('TokenStatusError'),
  });
  const settle = (p) => p.then((value) => ({ rejected: false, value }), describeError);
  const out = { exportNames: Object.keys(mod).filter((k) => k !== 'default' && k !== '__esModule').sort() };

  // Token.io: pending, then succeeded.
  const tokenio = new TokenIoClient({ baseUrl: cfg.sim + '/tokenio', bearerToken: '${TOKENIO_BEARER}' });
  out.first = await tokenio.getTokenRequestResult(cfg.tokenio);
  out.second = await tokenio.getTokenRequestResult(cfg.tokenio);
  out.cloneEqual = isDeepStrictEqual(structuredClone(out.second), out.second);
  out.jsonEqual = isDeepStrictEqual(JSON.parse(JSON.stringify(out.second)), out.second);
  out.plainObject = Object.getPrototypeOf(out.second) === Object.prototype;

  // Unknown id: a TokenStatusError.
  out.notFound = await settle(tokenio.getTokenRequestResult('rq:does-not-exist'));

  // An aborted call rejects at once (and leaves no timer behind).
  const controller = new AbortController();
  const aborted = tokenio.getTokenRequestResult(cfg.tokenio, { signal: controller.signal });
  controller.abort();
  out.aborted = await settle(aborted);

  // Truemed: pending, then succeeded.
  const truemed = new TruemedClient({ baseUrl: cfg.sim + '/truemed/', apiKey: '${TRUEMED_KEY}' });
  out.truemedFirst = await truemed.getProvisionTokenRequest(cfg.truemed);
  out.truemedSecond = await truemed.getProvisionTokenRequest(cfg.truemed);

  // Gr4vy with an async bearer token function: get, list, provision.
  const gr4vy = new Gr4vyClient({ baseUrl: cfg.sim + '/gr4vy', bearerToken: async () => '${GR4VY_TOKEN}' });
  out.gr4vy = await gr4vy.getPaymentServiceToken(cfg.gr4vy.paymentMethodId, cfg.gr4vy.id);
  out.gr4vyList = await gr4vy.listPaymentServiceTokens(cfg.gr4vy.paymentMethodId);
  out.gr4vyProvisioned = await gr4vy.provisionPaymentServiceToken(cfg.gr4vy.paymentMethodId, {
    paymentServiceId: cfg.gr4vy.paymentServiceId,
    redirectUrl: 'https://merchant.example/return',
  });

  // A wrong credential: unauthorized, and the message does not echo it.
  const wrong = new TokenIoClient({ baseUrl: cfg.sim + '/tokenio', bearerToken: 'wrong-secret-value', retry: false });
  out.unauthorized = await settle(wrong.getTokenRequestResult(cfg.tokenio));

  // A constructor with an unknown option throws synchronously, a TokenStatusError.
  try {
    new TokenIoClient({ baseUrl: cfg.sim + '/tokenio', bogus: 1 });
    out.badOption = { threw: false };
  } catch (err) {
    out.badOption = { threw: true, ...describeError(err) };
  }

  // Node is a server: credentials are fine without allowBrowserCredentials.
  out.doneAt = Date.now();
  return out;
}
`;

const ESM_CONSUMER = `import { TokenIoClient, TruemedClient, Gr4vyClient, TokenStatusError } from 'token-status';
import * as namespace from 'token-status';
import { isDeepStrictEqual } from 'node:util';
${CORE_CHECKS}
const cfg = { ...JSON.parse(process.env.TOKEN_STATUS_TEST), isDeepStrictEqual };
const out = await checks({ TokenIoClient, TruemedClient, Gr4vyClient, TokenStatusError }, cfg);
out.exportNames = Object.keys(namespace).sort();
out.resolved = import.meta.resolve('token-status');
out.doneAt = Date.now();
console.log(JSON.stringify(out));
`;

const CJS_CONSUMER = `'use strict';
const mod = require('token-status');
const { isDeepStrictEqual } = require('node:util');
${CORE_CHECKS}
const cfg = { ...JSON.parse(process.env.TOKEN_STATUS_TEST), isDeepStrictEqual };
checks(mod, cfg).then(
  (out) => {
    out.resolved = require.resolve('token-status');
    out.doneAt = Date.now();
    console.log(JSON.stringify(out));
  },
  (err) => {
    console.error(err);
    process.exitCode = 1;
  },
);
`;

const MIXED_CONSUMER = `import * as esm from 'token-status';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const cjs = require('token-status');
const cfg = JSON.parse(process.env.TOKEN_STATUS_TEST);
const out = { same: {} };
for (const name of ['TokenStatusError', 'TruemedClient', 'Gr4vyClient', 'TokenIoClient']) {
  out.same[name] = typeof esm[name] === 'function' && esm[name] === cjs[name];
}
out.esmResolved = import.meta.resolve('token-status');
out.cjsResolved = require.resolve('token-status');
const report = (err) => ({
  kind: err.kind,
  instanceOfImported: err instanceof esm.TokenStatusError,
  instanceOfRequired: err instanceof cjs.TokenStatusError,
});
try {
  await new esm.TokenIoClient({ baseUrl: cfg.sim + '/tokenio', bearerToken: '${TOKENIO_BEARER}' })
    .getTokenRequestResult('rq:missing');
  out.fromImported = null;
} catch (err) {
  out.fromImported = report(err);
}
try {
  await new cjs.TokenIoClient({ baseUrl: cfg.sim + '/tokenio', bearerToken: '${TOKENIO_BEARER}' })
    .getTokenRequestResult('rq:missing');
  out.fromRequired = null;
} catch (err) {
  out.fromRequired = report(err);
}
out.doneAt = Date.now();
console.log(JSON.stringify(out));
`;

/** Invalid arguments: every method returns a Promise that rejects with invalid_argument. */
const INVALID_ARGS_CONSUMER = `import { TokenIoClient, TruemedClient, Gr4vyClient, TokenStatusError } from 'token-status';
const cfg = JSON.parse(process.env.TOKEN_STATUS_TEST);
const tokenio = new TokenIoClient({ baseUrl: cfg.sim + '/tokenio', bearerToken: '${TOKENIO_BEARER}' });
const truemed = new TruemedClient({ baseUrl: cfg.sim + '/truemed', apiKey: '${TRUEMED_KEY}' });
const gr4vy = new Gr4vyClient({ baseUrl: cfg.sim + '/gr4vy', bearerToken: '${GR4VY_TOKEN}' });
const pm = '3f2a0f5e-7c1b-4a5e-9c1d-2b9e8f7a6d5c';
const bad = { empty: '', number: 42, undefined: undefined, null: null, object: {}, dot: '.', dotdot: '..',
  control: 'rq:a\\u0000b', newline: 'rq:a\\nb', long: 'x'.repeat(1025) };
const calls = [];
for (const [label, id] of Object.entries(bad)) {
  calls.push(['tokenio.getTokenRequestResult ' + label, () => tokenio.getTokenRequestResult(id)]);
  calls.push(['truemed.getProvisionTokenRequest ' + label, () => truemed.getProvisionTokenRequest(id)]);
  calls.push(['gr4vy.getPaymentServiceToken(pm) ' + label, () => gr4vy.getPaymentServiceToken(id, pm)]);
  calls.push(['gr4vy.getPaymentServiceToken(, id) ' + label, () => gr4vy.getPaymentServiceToken(pm, id)]);
  calls.push(['gr4vy.listPaymentServiceTokens ' + label, () => gr4vy.listPaymentServiceTokens(id)]);
}
calls.push(['tokenio bad call options', () => tokenio.getTokenRequestResult('rq:ok', { bogus: 1 })]);
calls.push(['gr4vy bad securityCode', () => gr4vy.provisionPaymentServiceToken(pm,
  { paymentServiceId: pm, redirectUrl: 'https://merchant.example/', securityCode: '12' })]);
calls.push(['gr4vy missing params', () => gr4vy.provisionPaymentServiceToken(pm)]);
const bearerThrows = new TokenIoClient({ baseUrl: cfg.sim + '/tokenio', bearerToken: () => { throw new Error('no token'); } });
calls.push(['bearerToken function throws', () => bearerThrows.getTokenRequestResult('rq:ok')]);
const bearerEmpty = new TokenIoClient({ baseUrl: cfg.sim + '/tokenio', bearerToken: async () => '' });
calls.push(['bearerToken function returns ""', () => bearerEmpty.getTokenRequestResult('rq:ok')]);
const results = [];
for (const [label, call] of calls) {
  let returned;
  try {
    returned = call();
  } catch (err) {
    results.push({ label, syncThrow: true, kind: err && err.kind });
    continue;
  }
  const isPromise = returned instanceof Promise;
  try {
    await returned;
    results.push({ label, isPromise, rejected: false });
  } catch (err) {
    results.push({ label, isPromise, rejected: true, kind: err.kind, instanceOf: err instanceof TokenStatusError, attempts: err.attempts });
  }
}
console.log(JSON.stringify({ results, doneAt: Date.now() }));
`;

const VITE_INDEX_HTML = `<!doctype html>
<html>
  <head><meta charset="utf-8"><title>token-status package test</title></head>
  <body>
    <pre id="out">running</pre>
    <script type="module" src="/main.js"></script>
  </body>
</html>
`;

/** Secrets handed to clients in the browser: they must appear in no error. */
const BROWSER_SECRETS = ['whsec-browser-1', 'whsec-browser-2', 'whsec-browser-3'];

const VITE_MAIN_JS = `import { TokenIoClient, TruemedClient, Gr4vyClient, TokenStatusError } from 'token-status';
import { shellChecks } from './shell-checks.js';

const PEM = ${JSON.stringify(KEYS.pkcs8)};

const query = new URLSearchParams(location.search);
const sim = query.get('sim');
const proxy = query.get('proxy');
const results = {};

const describeError = (err) => ({
  threw: true,
  instanceOf: err instanceof TokenStatusError,
  name: err && err.name,
  kind: err && err.kind,
  provider: err && err.provider,
  status: err && err.status,
  message: err && err.message,
});
const construct = (make) => {
  try {
    make();
    return { threw: false };
  } catch (err) {
    return describeError(err);
  }
};

async function main() {
  // (a) credentials in a browser without allowBrowserCredentials: the constructor throws.
  results.insecure = {
    tokenioBearer: construct(() => new TokenIoClient({ baseUrl: sim + '/tokenio', bearerToken: '${TOKENIO_BEARER}' })),
    tokenioBasic: construct(() => new TokenIoClient({ baseUrl: sim + '/tokenio', basicCredentials: 'c2ltOnRva2VuaW8=' })),
    truemedApiKey: construct(() => new TruemedClient({ baseUrl: sim + '/truemed', apiKey: '${TRUEMED_KEY}' })),
    gr4vyBearerFn: construct(() => new Gr4vyClient({ baseUrl: sim + '/gr4vy', bearerToken: () => '${GR4VY_TOKEN}' })),
    headerLower: construct(() => new TokenIoClient({ baseUrl: sim + '/tokenio', headers: { authorization: 'Bearer x' } })),
    headerCapitalized: construct(() => new TokenIoClient({ baseUrl: sim + '/tokenio', headers: { Authorization: 'Bearer x' } })),
    truemedHeader: construct(() => new TruemedClient({ baseUrl: sim + '/truemed', headers: { 'x-truemed-api-key': 'k' } })),
    gr4vyPrivateKey: construct(() => new Gr4vyClient({ baseUrl: sim + '/gr4vy', privateKey: PEM })),
    truemedWebhookSecret: construct(() => new TruemedClient({ baseUrl: sim + '/truemed', webhookSecret: '${BROWSER_SECRETS[0]}' })),
    gr4vyWebhookSecrets: construct(() => new Gr4vyClient({ baseUrl: sim + '/gr4vy', webhookSecrets: ['${BROWSER_SECRETS[1]}', '${BROWSER_SECRETS[2]}'] })),
  };

  // (f) with allowBrowserCredentials, the browser build still neither verifies webhooks nor mints
  // Gr4vy tokens: it says so (invalid_argument), and sends nothing.
  const signed = { 'x-truemed-signature': 't=' + Math.floor(Date.now() / 1000) + ',v1=' + 'ab'.repeat(32) };
  const optedIn = new TruemedClient({ baseUrl: sim + '/truemed', webhookSecret: '${BROWSER_SECRETS[0]}', allowBrowserCredentials: true });
  const gr4vyOptedIn = new Gr4vyClient({ baseUrl: sim + '/gr4vy', webhookSecrets: '${BROWSER_SECRETS[1]}', allowBrowserCredentials: true });
  results.browserBuild = {
    truemedVerify: await optedIn.verifyWebhook({ headers: signed, body: '{}' }).then(() => ({ threw: false }), describeError),
    gr4vyVerify: await gr4vyOptedIn.verifyWebhook(new Request(location.href, { method: 'POST', body: '{}', headers: { 'x-gr4vy-webhook-timestamp': '1', 'x-gr4vy-webhook-signatures': 'ab'.repeat(32) } }))
      .then(() => ({ threw: false }), describeError),
    mint: await (async () => {
      try {
        const minting = new Gr4vyClient({ baseUrl: sim + '/gr4vy', privateKey: PEM, allowBrowserCredentials: true, headers: { 'x-test-marker': 'browser-mint' } });
        await minting.getPaymentServiceToken('pm-browser', 'pst-browser');
        return { threw: false };
      } catch (err) {
        return describeError(err);
      }
    })(),
  };

  // (b) the proxy pattern: no credential, baseUrl at the merchant's route.
  const client = new TokenIoClient({ baseUrl: proxy + '/tokenio' });
  results.first = await client.getTokenRequestResult(query.get('proxyFlow'));
  results.second = await client.getTokenRequestResult(query.get('proxyFlow'));

  // (c) errors are TokenStatusErrors.
  try {
    await client.getTokenRequestResult('rq:missing');
    results.notFound = { threw: false };
  } catch (err) {
    results.notFound = describeError(err);
  }
  try {
    await client.getTokenRequestResult('');
    results.invalid = { threw: false };
  } catch (err) {
    results.invalid = describeError(err);
  }

  // (d) an explicit opt-in allows a credential in the browser.
  const allowed = new TokenIoClient({ baseUrl: sim + '/tokenio', bearerToken: '${TOKENIO_BEARER}', allowBrowserCredentials: true });
  results.allowed = await allowed.getTokenRequestResult(query.get('directFlow'));

  // (g) notify() in the page (a status your server pushed to it) ends a wait at once.
  const pending = new TokenIoClient({ baseUrl: proxy + '/tokenio' });
  let first;
  const polled = new Promise((done) => { first = done; });
  const waiting = pending.waitForTokenRequestResult(query.get('pendingFlow'), { intervalMs: 60000, onUpdate: (s) => first(s) });
  const seen = await polled;
  const began = performance.now();
  const reached = pending.notify({ ...seen, state: 'succeeded', terminal: true, providerStatus: 'PROCESSED', token: 'tt:pushed' });
  const ended = await waiting;
  results.notify = { reached, ms: performance.now() - began, state: ended.state, token: ended.token, other: pending.notify({ ...seen, id: 'rq:other:1' }) };

  // (e) every option and argument check of the shell, as a browser sees them.
  results.shell = await shellChecks({ TokenIoClient, TruemedClient, Gr4vyClient, TokenStatusError }, { sim, browser: true });
}

main().then(
  () => { results.ok = true; },
  (err) => { results.ok = false; results.fatal = String(err && err.stack || err); },
).then(() => {
  document.getElementById('out').textContent = JSON.stringify(results, null, 2);
  window.__results = results;
});
`;

// The shell's option and argument checks (tests/package/shell-checks.js), in Node.
const SHELL_CHECKS = readFileSync(join(ROOT, 'tests', 'package', 'shell-checks.js'), 'utf8');
const SHELL_CONSUMER = `import * as mod from 'token-status';
import { shellChecks } from './shell-checks.js';
const cfg = JSON.parse(process.env.TOKEN_STATUS_TEST);
console.log(JSON.stringify(await shellChecks(mod, { sim: cfg.sim, browser: false })));
`;

// TypeScript consumers. `Equals` is exact type equality (not mere assignability).
const TS_PRELUDE = `type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
function expectType<T extends true>(): void {}
type Kinds = ${ERROR_KINDS.map((k) => `'${k}'`).join(' | ')};
`;

const TS_ESM_CONSUMER = `import { TokenIoClient, TruemedClient, Gr4vyClient, TokenStatusError } from 'token-status';
import type {
  TokenStatus, TokenState, ClientOptions, CallOptions, TokenStatusErrorKind, TokenIoTokenStatus,
  Gr4vyTokenStatus, TruemedTokenStatus, WaitOptions, WebhookEvent, WebhookFailureCode, WebhookRequest,
} from 'token-status';
${TS_PRELUDE}
expectType<Equals<TokenStatusErrorKind, Kinds>>();
expectType<Equals<TokenState, 'pending' | 'action_required' | 'succeeded' | 'failed' | 'expired' | 'unknown'>>();

const options: ClientOptions = {
  environment: 'sandbox',
  baseUrl: 'https://merchant.example/api/token-status',
  timeoutMs: 5000,
  retry: { maxRetries: 1, initialDelayMs: 100, maxDelayMs: 1000 },
  headers: { 'x-request-id': 'abc' },
};
const tokenio = new TokenIoClient({ ...options, bearerToken: async () => 'jwt' });
const tokenioBasic = new TokenIoClient({ basicCredentials: 'c2ltOnRva2VuaW8=', retry: false });
const truemed = new TruemedClient({ apiKey: 'key', environment: 'production' });
const gr4vy = new Gr4vyClient({ instanceId: 'acme', bearerToken: () => 'jwt', merchantAccountId: 'default' });
const proxied = new TokenIoClient({ baseUrl: '/api/tokenio' });
proxied.free();

function describeStatus(status: TokenStatus): string {
  const state: TokenState = status.state;
  // @ts-expect-error TS2367 'done' is not a TokenState: the comparison has no overlap
  if (state === 'done') return 'never';
  // @ts-expect-error TS2339 transferId only exists once narrowed to Token.io
  status.transferId;
  if (status.provider === 'tokenio') {
    expectType<Equals<typeof status, TokenIoTokenStatus>>();
    expectType<Equals<typeof status.transferId, string | null>>();
    const keyId: string | null | undefined = status.signature?.keyId;
    return (status.transferId ?? '') + (status.bankId ?? '') + (keyId ?? '');
  }
  if (status.provider === 'gr4vy') {
    expectType<Equals<typeof status, Gr4vyTokenStatus>>();
    return (status.paymentMethodId ?? '') + (status.actionUrl ?? '');
  }
  expectType<Equals<typeof status, TruemedTokenStatus>>();
  const terminal: boolean = status.terminal;
  return String(terminal) + (status.metadata ?? '') + (status.providerStatus ?? '');
}

export async function check(id: string, signal: AbortSignal): Promise<string> {
  const call: CallOptions = { signal, timeoutMs: 1000 };
  try {
    const a = await tokenio.getTokenRequestResult(id, call);
    expectType<Equals<typeof a, TokenIoTokenStatus>>();
    const b = await truemed.getProvisionTokenRequest(id);
    const c = await gr4vy.getPaymentServiceToken('pm', id);
    const list = await gr4vy.listPaymentServiceTokens('pm', { paymentServiceId: 'ps' });
    const provisioned = await gr4vy.provisionPaymentServiceToken('pm', { paymentServiceId: 'ps', redirectUrl: 'https://x', securityCode: '123' });
    await tokenioBasic.getTokenRequestResult(id);
    const waited = await tokenio.waitForTokenRequestResult(id, {
      signal,
      deadlineMs: 60_000,
      intervalMs: 500,
      maxIntervalMs: 5000,
      onUpdate: (update) => {
        expectType<Equals<typeof update, TokenIoTokenStatus>>();
      },
    });
    expectType<Equals<typeof waited, TokenIoTokenStatus>>();
    const approved = await gr4vy.waitForPaymentServiceToken('pm', id, { onUpdate: (u) => u.actionUrl });
    const provisionedLater = await truemed.waitForProvisionTokenRequest(id);
    const anyWait: WaitOptions = { deadlineMs: 1, onUpdate: (u: TokenStatus) => u.state };
    return [a, b, c, provisioned, waited, approved, provisionedLater, ...list].map(describeStatus).join() + String(anyWait.deadlineMs);
  } catch (err) {
    // @ts-expect-error TS18046 a caught value is unknown until narrowed
    err.kind;
    if (err instanceof TokenStatusError) {
      expectType<Equals<typeof err.kind, Kinds>>();
      expectType<Equals<typeof err.status, number | null>>();
      expectType<Equals<typeof err.lastStatus, TokenStatus | null>>();
      // @ts-expect-error TS2367 'oops' is not an error kind
      if (err.kind === 'oops') return 'never';
      const asError: Error = err;
      const name: 'TokenStatusError' = err.name;
      const json = err.toJSON();
      const retryable: boolean = err.retryable;
      return asError.message + name + json.kind + String(retryable) + (err.code ?? '') + (err.traceId ?? '');
    }
    throw err;
  }
}

// @ts-expect-error TS2353 unknown option key
new TokenIoClient({ bogus: 1 });
// @ts-expect-error TS2345 ids are strings
tokenio.getTokenRequestResult(42);
// @ts-expect-error TS2322 retry is false or an options object
new TokenIoClient({ retry: true });
// @ts-expect-error TS2322 environment is 'sandbox' or 'production'
new TruemedClient({ environment: 'staging' });
// @ts-expect-error TS2353 apiKey is Truemed's, not Token.io's
new TokenIoClient({ apiKey: 'k' });
// @ts-expect-error TS2353 unknown call option
tokenio.getTokenRequestResult('id', { deadline: 5 });
// @ts-expect-error TS2353 wait options are for waitFor… methods only
tokenio.getTokenRequestResult('id', { deadlineMs: 5 });
// @ts-expect-error TS2345 redirectUrl is required
gr4vy.provisionPaymentServiceToken('pm', { paymentServiceId: 'ps' });
// @ts-expect-error TS2673 TokenStatusError is not constructible by users
new TokenStatusError();

expectType<Equals<WebhookFailureCode, 'not_configured' | 'missing_signature' | 'signature_mismatch' | 'timestamp_out_of_range' | 'invalid_body'>>();
export async function webhooks(request: Request, raw: Uint8Array, headers: Record<string, string | string[] | undefined>): Promise<number> {
  const truemedHooks = new TruemedClient({ webhookSecret: ['whsec-new', 'whsec-old'] });
  const gr4vyKeys = new Gr4vyClient({ instanceId: 'acme', privateKey: 'pem', scopes: ['payment-methods.read'], webhookSecrets: 'whsec' });
  const a = await truemedHooks.verifyWebhook(request);
  expectType<Equals<typeof a, WebhookEvent<TruemedTokenStatus>>>();
  const b = await gr4vyKeys.verifyWebhook({ headers, body: raw }, { toleranceSeconds: 60 });
  expectType<Equals<typeof b.status, Gr4vyTokenStatus | null>>();
  expectType<Equals<typeof b.id, string | null>>();
  const input: WebhookRequest = { headers: new Headers(), body: new ArrayBuffer(0) };
  await truemedHooks.verifyWebhook(input);
  return (b.status ? gr4vyKeys.notify(b.status) : 0) + (a.status ? truemedHooks.notify(a.status) : 0);
}
// @ts-expect-error TS2339 Token.io sends no token-request webhooks
tokenio.verifyWebhook(new Request('https://x'));
// @ts-expect-error TS2561 webhookSecrets is Gr4vy's option (TypeScript suggests Truemed's webhookSecret)
new TruemedClient({ webhookSecrets: 's' });
// @ts-expect-error TS2353 privateKey is Gr4vy's
new TokenIoClient({ privateKey: 'pem' });
`;

const TS_CJS_CONSUMER = `import TS = require('token-status');
${TS_PRELUDE}
const client = new TS.TokenIoClient({ baseUrl: 'https://merchant.example/tokenio', retry: { maxRetries: 1 } });
export async function check(id: string): Promise<string | null> {
  try {
    const status = await client.getTokenRequestResult(id);
    expectType<Equals<typeof status, TS.TokenIoTokenStatus>>();
    const any: TS.TokenStatus = status;
    if (any.provider === 'tokenio') return any.transferId;
    return null;
  } catch (err) {
    if (err instanceof TS.TokenStatusError) {
      expectType<Equals<typeof err.kind, Kinds>>();
      const kind: TS.TokenStatusErrorKind = err.kind;
      return kind;
    }
    throw err;
  }
}
// @ts-expect-error TS2353 unknown option key
new TS.TokenIoClient({ bogus: 1 });
// @ts-expect-error TS2345 ids are strings
client.getTokenRequestResult(42);
`;

/** Must NOT compile: proves the type checks can fail. */
const TS_MUST_FAIL = `import { TokenIoClient } from 'token-status';
new TokenIoClient({ baseUrl: 'https://merchant.example/tokenio', notARealOption: 1 });
`;

const tsconfig = (module, moduleResolution, files) => ({
  compilerOptions: {
    strict: true,
    noEmit: true,
    target: 'es2022',
    module,
    moduleResolution,
    lib: ['es2022', 'dom'],
    types: [],
    skipLibCheck: false,
    noUnusedLocals: false,
    forceConsistentCasingInFileNames: true,
  },
  files,
});

/** The same source with every `// @ts-expect-error TSxxxx …` turned into a plain comment, and the
 * error expected on the line after each: {line number: 'TSxxxx'}. */
function uncheck(source) {
  const expected = {};
  const lines = source.split('\n').map((line, i) => {
    const m = line.match(/\/\/ @ts-expect-error (TS\d+)/);
    if (!m) return line;
    expected[i + 2] = m[1];
    return line.replace('@ts-expect-error', '(expected error)');
  });
  return { source: lines.join('\n'), expected };
}

// ---------------------------------------------------------------------------------------------
// Setup

let sim; // checks credentials
let proxySim; // credentials: false — the merchant's credential-adding proxy
let browser;
let staticServer;
const projects = {};

before(async () => {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  const browserLaunch = launchChromium();
  browserLaunch.catch(() => {});
  const sims = Promise.all([startSimulator({ port: 0 }), startSimulator({ port: 0, credentials: false })]);

  ({ tarball, info: packInfo } = await packPkg(join(WORK, 'pack')));

  const [installed] = await Promise.all([
    Promise.all([
      makeProject('node-esm', {
        'package.json': { name: 'consumer-esm', private: true, type: 'module' },
        'main.js': ESM_CONSUMER,
        'invalid-args.js': INVALID_ARGS_CONSUMER,
        'shell-checks.js': SHELL_CHECKS,
        'shell.js': SHELL_CONSUMER,
      }),
      makeProject('node-cjs', {
        'package.json': { name: 'consumer-cjs', private: true },
        'main.js': CJS_CONSUMER,
      }),
      makeProject('node-mixed', {
        'package.json': { name: 'consumer-mixed', private: true, type: 'module' },
        'main.js': MIXED_CONSUMER,
      }),
      makeProject('vite-app', {
        'package.json': { name: 'consumer-vite', private: true, type: 'module' },
        'index.html': VITE_INDEX_HTML,
        'main.js': VITE_MAIN_JS,
        'shell-checks.js': SHELL_CHECKS,
      }),
      makeProject('ts-bundler', {
        'package.json': { name: 'consumer-ts-bundler', private: true, type: 'module' },
        'consumer.ts': TS_ESM_CONSUMER,
        'must-fail.ts': TS_MUST_FAIL,
        'consumer.unchecked.ts': uncheck(TS_ESM_CONSUMER).source,
        'tsconfig.json': tsconfig('esnext', 'bundler', ['consumer.ts']),
        'tsconfig.fail.json': tsconfig('esnext', 'bundler', ['must-fail.ts']),
        'tsconfig.unchecked.json': tsconfig('esnext', 'bundler', ['consumer.unchecked.ts']),
      }),
      makeProject('ts-node16', {
        'package.json': { name: 'consumer-ts-node16', private: true },
        'consumer.mts': TS_ESM_CONSUMER,
        'consumer.cts': TS_CJS_CONSUMER,
        'must-fail.mts': TS_MUST_FAIL,
        'consumer.unchecked.mts': uncheck(TS_ESM_CONSUMER).source,
        'consumer.unchecked.cts': uncheck(TS_CJS_CONSUMER).source,
        'tsconfig.json': tsconfig('node16', 'node16', ['consumer.mts', 'consumer.cts']),
        'tsconfig.fail.json': tsconfig('node16', 'node16', ['must-fail.mts']),
        'tsconfig.unchecked.json': tsconfig('node16', 'node16', ['consumer.unchecked.mts', 'consumer.unchecked.cts']),
      }),
    ]),
    sims.then((s) => { [sim, proxySim] = s; }),
    browserLaunch.then((b) => { browser = b; }),
  ]);
  [projects.esm, projects.cjs, projects.mixed, projects.vite, projects.tsBundler, projects.tsNode16] = installed;
});

after(async () => {
  killChildren();
  await Promise.allSettled([browser?.close(), sim?.close(), proxySim?.close(), staticServer?.close()]);
});

// ---------------------------------------------------------------------------------------------
// Tests

async function nodeFlows() {
  return {
    sim: sim.url,
    tokenio: (await createFlow(sim, { provider: 'tokenio', outcome: 'succeeded', pendingPolls: 1 })).id,
    truemedFlow: await createFlow(sim, { provider: 'truemed', outcome: 'succeeded', pendingPolls: 1 }),
    gr4vy: await createFlow(sim, { provider: 'gr4vy', outcome: 'succeeded', pendingPolls: 0 }),
  };
}

function assertTokenIoPair(first, second, id) {
  assert.deepEqual(Object.keys(first).sort(), TOKENIO_KEYS);
  assert.deepEqual(first, {
    provider: 'tokenio', id, state: 'pending', terminal: false, providerStatus: 'PENDING', token: null,
    actionUrl: null, reason: null, metadata: null, transferId: null, standingOrderSubmissionId: null,
    bankId: null, signature: null,
  });
  assert.deepEqual(Object.keys(second).sort(), TOKENIO_KEYS);
  assert.equal(second.provider, 'tokenio');
  assert.equal(second.id, id);
  assert.equal(second.state, 'succeeded');
  assert.equal(second.terminal, true);
  assert.equal(second.providerStatus, 'PROCESSED');
  assert.match(second.token, /^tt:/);
  assert.match(second.transferId, /^t:/);
  assert.equal(second.bankId, 'ob-modelo');
  assert.equal(second.standingOrderSubmissionId, null);
  assert.equal(second.actionUrl, null);
  assert.equal(second.reason, null);
  assert.equal(second.metadata, null);
  assert.deepEqual(Object.keys(second.signature).sort(), ['keyId', 'memberId', 'signature']);
  for (const v of Object.values(second.signature)) assert.equal(typeof v, 'string');
}

function assertCoreResults(out, flows, installedDir, entry) {
  assert.deepEqual(out.exportNames, ['Gr4vyClient', 'TokenIoClient', 'TokenStatusError', 'TruemedClient']);
  const resolved = out.resolved.startsWith('file:') ? fileURLToPath(out.resolved) : out.resolved;
  assert.equal(resolved, join(installedDir, 'node_modules', 'token-status', entry), 'resolved to the installed package entry');

  assertTokenIoPair(out.first, out.second, flows.tokenio);
  assert.equal(out.cloneEqual, true, 'structuredClone(status) deep-equals status');
  assert.equal(out.jsonEqual, true, 'JSON round trip deep-equals status');
  assert.equal(out.plainObject, true, 'status is a plain object');

  const nf = out.notFound;
  assert.equal(nf.rejected, true);
  assert.equal(nf.instanceOf, true, 'instanceof TokenStatusError');
  assert.equal(nf.instanceOfError, true, 'instanceof Error');
  assert.equal(nf.name, 'TokenStatusError');
  assert.equal(nf.kind, 'not_found');
  assert.equal(nf.provider, 'tokenio');
  assert.equal(nf.status, 404);
  assert.equal(nf.code, 'NOT_FOUND');
  assert.equal(typeof nf.traceId, 'string');
  assert.equal(nf.retryable, false);
  assert.equal(nf.attempts, 1);
  assert.ok(nf.string.startsWith('TokenStatusError: '), nf.string);
  assert.ok(nf.json.includes('"kind":"not_found"'), nf.json);
  assert.equal(JSON.parse(nf.json).name, 'TokenStatusError');
  assert.equal(nf.stackMentionsName, true, 'stack names TokenStatusError');
  assert.ok(!nf.message.includes(TOKENIO_BEARER), 'message never contains the credential');

  assert.equal(out.aborted.rejected, true);
  assert.equal(out.aborted.instanceOf, true);
  assert.equal(out.aborted.kind, 'aborted');

  assert.deepEqual(Object.keys(out.truemedFirst).sort(), TRUEMED_KEYS);
  assert.deepEqual(out.truemedFirst, {
    provider: 'truemed', id: flows.truemedFlow.id, state: 'pending', terminal: false, providerStatus: null,
    token: null, actionUrl: null, reason: null, metadata: 'order-1234',
  });
  assert.equal(out.truemedSecond.state, 'succeeded');
  assert.equal(out.truemedSecond.terminal, true);
  assert.match(out.truemedSecond.token, /^tm_pt_/);
  assert.equal(out.truemedSecond.metadata, 'order-1234');

  const g = flows.gr4vy;
  assert.deepEqual(Object.keys(out.gr4vy).sort(), GR4VY_KEYS);
  assert.deepEqual(out.gr4vy, {
    provider: 'gr4vy', id: g.id, state: 'succeeded', terminal: true, providerStatus: 'succeeded', token: g.token,
    actionUrl: null, reason: null, metadata: null, paymentMethodId: g.paymentMethodId,
    paymentServiceId: g.paymentServiceId, createdAt: g.createdAt, updatedAt: g.updatedAt,
  });
  assert.ok(Array.isArray(out.gr4vyList));
  assert.ok(out.gr4vyList.some((s) => s.id === g.id && s.state === 'succeeded'), 'list holds the token');
  assert.equal(out.gr4vyProvisioned.provider, 'gr4vy');
  assert.equal(out.gr4vyProvisioned.state, 'pending');
  assert.equal(out.gr4vyProvisioned.providerStatus, 'processing');
  assert.equal(out.gr4vyProvisioned.paymentMethodId, g.paymentMethodId);

  assert.equal(out.unauthorized.instanceOf, true);
  assert.equal(out.unauthorized.kind, 'unauthorized');
  assert.equal(out.unauthorized.status, 401);
  assert.ok(!out.unauthorized.message.includes('wrong-secret-value'), 'message never contains the credential');

  assert.equal(out.badOption.threw, true, 'unknown option key throws in the constructor');
  assert.equal(out.badOption.instanceOf, true);
  assert.equal(out.badOption.kind, 'invalid_argument');
}

async function assertRequestsSentWithCredentials(flows) {
  const log = await simJson(sim, `/_sim/requests?id=${encodeURIComponent(flows.gr4vy.paymentMethodId)}`);
  assert.ok(log.length >= 3, 'gr4vy calls reached the simulator');
  for (const entry of log) assert.match(entry.headers.authorization, new RegExp(`^bearer ${GR4VY_TOKEN}$`, 'i'));
}

describe('Node', () => {
  test('ESM project: import { … } from "token-status"', async (t) => {
    const flows = await nodeFlows();
    const { out, result } = await runNode(projects.esm, 'main.js', { ...flows, truemed: flows.truemedFlow.id });
    assertCoreResults(out, flows, projects.esm, 'index.mjs');
    await assertRequestsSentWithCredentials(flows);
    const lingered = result.exitedAt - out.doneAt;
    t.diagnostic(`process exited ${lingered} ms after its last call`);
    assert.ok(lingered < 2000, `process exited ${lingered} ms after its last call (leftover timer?)`);
  });

  test('CommonJS project: require("token-status")', async (t) => {
    const flows = await nodeFlows();
    const { out, result } = await runNode(projects.cjs, 'main.js', { ...flows, truemed: flows.truemedFlow.id });
    assertCoreResults(out, flows, projects.cjs, 'index.cjs');
    const lingered = result.exitedAt - out.doneAt;
    t.diagnostic(`process exited ${lingered} ms after its last call`);
    assert.ok(lingered < 2000, `process exited ${lingered} ms after its last call (leftover timer?)`);
  });

  test('mixed: import and createRequire share one module instance', async () => {
    const { out } = await runNode(projects.mixed, 'main.js', { sim: sim.url });
    const installed = join(projects.mixed, 'node_modules', 'token-status');
    assert.equal(fileURLToPath(out.esmResolved), join(installed, 'index.mjs'));
    assert.equal(out.cjsResolved, join(installed, 'index.cjs'));
    assert.deepEqual(out.same, { TokenStatusError: true, TruemedClient: true, Gr4vyClient: true, TokenIoClient: true });
    assert.deepEqual(out.fromImported, { kind: 'not_found', instanceOfImported: true, instanceOfRequired: true });
    assert.deepEqual(out.fromRequired, { kind: 'not_found', instanceOfImported: true, instanceOfRequired: true });
  });

  test('invalid arguments reject (never throw synchronously) and send nothing', async () => {
    const before = (await simJson(sim, '/_sim/requests')).length;
    const { out } = await runNode(projects.esm, 'invalid-args.js', { sim: sim.url });
    const afterCount = (await simJson(sim, '/_sim/requests')).length;
    assert.ok(out.results.length > 50);
    const wrong = out.results.filter((r) => r.syncThrow || !r.isPromise || !r.rejected || r.kind !== 'invalid_argument' || !r.instanceOf || r.attempts !== 0);
    assert.deepEqual(wrong, [], 'every bad call returns a Promise rejecting with invalid_argument, 0 attempts');
    assert.equal(afterCount, before, 'no request reached the simulator');
  });
});

test('Node: every option and argument check of the shell (constructors throw, methods reject, nothing sent)', async () => {
  const { out } = await runNode(projects.esm, 'shell.js', { sim: sim.url }, { timeout: 30_000 });
  assert.ok(out.checks >= 294, `only ${out.checks} checks ran`);
  assert.deepEqual(out.failures, []);
});

/**
 * Opens the Vite app at `origin` with fresh simulator flows, waits for its results and returns
 * them with everything the page logged (console lines and `pageerror: …`).
 */
async function runApp(t, origin, timeout, serverOutput = '') {
  const proxyFlow = await createFlow(proxySim, { provider: 'tokenio', outcome: 'succeeded', pendingPolls: 1 });
  const directFlow = await createFlow(sim, { provider: 'tokenio', outcome: 'succeeded', pendingPolls: 0 });
  const pendingFlow = await createFlow(proxySim, { provider: 'tokenio', outcome: 'pending' });
  const query = new URLSearchParams({ sim: sim.url, proxy: proxySim.url, proxyFlow: proxyFlow.id, directFlow: directFlow.id, pendingFlow: pendingFlow.id });
  const context = await browser.newContext();
  t.after(() => context.close());
  const page = await context.newPage();
  const console_ = [];
  page.on('console', (m) => console_.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => console_.push(`pageerror: ${e.message}`));
  await page.goto(`${origin}/?${query}`);
  try {
    await page.waitForFunction(() => window.__results, null, { timeout });
  } catch (err) {
    assert.fail(`page produced no results: ${err.message}\nconsole:\n${console_.join('\n')}\n${serverOutput}`);
  }
  return { results: await page.evaluate(() => window.__results), console_, proxyFlow, directFlow };
}

describe('Vite app in Chromium', () => {
  let dist;
  let browserResults;

  test('vite build bundles the package with exactly one .wasm asset', async () => {
    const r = await run(join(BIN, 'vite'), ['build'], { cwd: projects.vite, timeout: 60_000 });
    assert.equal(r.code, 0, `vite build failed\n${show(r)}`);
    assert.doesNotMatch(r.stdout + r.stderr, /warn|\(!\)|doesn't exist at build time/i, `vite build warned\n${show(r)}`);
    dist = join(projects.vite, 'dist');
    const files = walk(dist).map((f) => relative(dist, f).split(sep).join('/'));
    const wasm = files.filter((f) => f.endsWith('.wasm'));
    assert.equal(wasm.length, 1, `one .wasm asset, got ${JSON.stringify(files)}`);
    assert.deepEqual(files.filter((f) => f.endsWith('.map')), [], 'no source maps');
    const wasmBytes = readFileSync(join(dist, wasm[0]));
    assert.ok(wasmBytes.equals(readFileSync(join(projects.vite, 'node_modules', 'token-status', 'web', 'token_status_bg.wasm'))),
      'the emitted .wasm is the package\'s');
    const js = files.filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(dist, f), 'utf8')).join('\n');
    assert.ok(!js.includes('require("fs")') && !js.includes("require('fs')") && !js.includes('node:fs'),
      'no Node glue in the browser bundle');
  });

  test('the built app runs: insecure_credentials, proxy pattern, errors', async (t) => {
    assert.ok(dist, 'vite build ran');
    staticServer = await serveStatic({ roots: { '/': dist } });
    const { url: origin, served } = staticServer;

    const { results, console_, proxyFlow, directFlow } = await runApp(t, origin, 20_000);
    browserResults = results;
    assert.equal(results.ok, true, `page failed: ${results.fatal}\nconsole:\n${console_.join('\n')}`);
    // The 404 lookups the app makes on purpose are logged by Chromium as failed resources.
    const problems = console_.filter((l) => /instantiateStreaming|pageerror|^error/.test(l) && !/Failed to load resource: .* 404/.test(l));
    assert.deepEqual(problems, [], 'no errors or MIME warnings');
    assert.ok(served.some((s) => s.path.endsWith('.wasm') && s.type === 'application/wasm'), 'the .wasm was fetched');

    // (a) credentials in a browser are refused at construction.
    for (const [label, r] of Object.entries(results.insecure)) {
      if (label === 'headerCapitalized') continue; // checked below
      assert.equal(r.threw, true, `${label}: constructor throws`);
      assert.equal(r.kind, 'insecure_credentials', `${label}: kind`);
      assert.equal(r.instanceOf, true, `${label}: instanceof TokenStatusError`);
      assert.equal(r.name, 'TokenStatusError');
      assert.ok(!/sim-(tokenio|truemed|gr4vy)-token|sim-truemed-key|c2ltOnRva2VuaW8/.test(r.message), `${label}: message holds no credential`);
    }
    assert.equal(results.insecure.truemedApiKey.provider, 'truemed');
    assert.equal(results.insecure.gr4vyBearerFn.provider, 'gr4vy');
    // privateKey, webhookSecret and webhookSecrets are credentials too; no error holds them.
    const pemLines = KEYS.pkcs8.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'));
    for (const label of ['gr4vyPrivateKey', 'truemedWebhookSecret', 'gr4vyWebhookSecrets']) {
      const r = results.insecure[label];
      assert.deepEqual([r.kind, r.instanceOf], ['insecure_credentials', true], `${label}: ${r.message}`);
      for (const secret of [...BROWSER_SECRETS, ...pemLines]) assert.ok(!r.message.includes(secret), `${label}: the message holds no secret`);
    }

    // (f) the browser build neither verifies webhooks nor mints, and says so.
    for (const label of ['truemedVerify', 'gr4vyVerify']) {
      const r = results.browserBuild[label];
      assert.deepEqual([r.threw, r.instanceOf, r.kind], [true, true, 'invalid_argument'], `${label}: ${JSON.stringify(r)}`);
      assert.match(r.message, /the browser build does not verify webhooks/, label);
    }
    const mint = results.browserBuild.mint;
    assert.deepEqual([mint.threw, mint.instanceOf, mint.kind, mint.provider], [true, true, 'invalid_argument', 'gr4vy'], JSON.stringify(mint));
    assert.match(mint.message, /the browser build does not mint Gr4vy tokens/);
    for (const r of Object.values(results.browserBuild)) {
      for (const secret of [...BROWSER_SECRETS, ...pemLines]) assert.ok(!r.message.includes(secret), 'no secret in the message');
    }
    const minted = (await simJson(sim, '/_sim/requests?provider=gr4vy')).filter((e) => e.headers['x-test-marker'] === 'browser-mint');
    assert.deepEqual(minted, [], 'the browser sent no Gr4vy request for the privateKey client');

    // (g) notify() ends a wait in the page at once and counts the waits it reached.
    assert.deepEqual({ ...results.notify, ms: undefined }, { reached: 1, ms: undefined, state: 'succeeded', token: 'tt:pushed', other: 0 });
    assert.ok(results.notify.ms < 1000, `the wait ended ${results.notify.ms} ms after notify()`);

    // (b) the proxy pattern.
    assertTokenIoPair(results.first, results.second, proxyFlow.id);
    const log = await simJson(proxySim, `/_sim/requests?id=${encodeURIComponent(proxyFlow.id)}`);
    assert.equal(log.length, 2, 'two status reads reached the proxy');
    for (const entry of log) assert.equal(entry.headers.authorization, undefined, 'the browser sent no credential');

    // (c) errors.
    assert.equal(results.notFound.threw, true);
    assert.equal(results.notFound.instanceOf, true);
    assert.equal(results.notFound.kind, 'not_found');
    assert.equal(results.notFound.status, 404);
    assert.equal(results.invalid.instanceOf, true);
    assert.equal(results.invalid.kind, 'invalid_argument');

    // (d) explicit opt-in.
    assert.equal(results.allowed.state, 'succeeded');
    assert.equal(results.allowed.id, directFlow.id);

    // (e) the shell's checks, browser rules (insecure_credentials) included.
    assert.ok(results.shell.checks >= 294, `only ${results.shell.checks} checks ran`);
    assert.deepEqual(results.shell.failures, []);

    t.diagnostic(`served: ${served.map((s) => `${s.path} (${s.type})`).join(', ')}`);
  });

  test('the same app runs under the Vite dev server (dependency pre-bundling)', async (t) => {
    // Pre-bundling moves the package's JS into node_modules/.vite: the .wasm must still load.
    const port = await new Promise((done) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address();
        probe.close(() => done(free));
      });
    });
    const dev = spawn(join(BIN, 'vite'), ['--host', '127.0.0.1', '--port', String(port), '--strictPort'], {
      cwd: projects.vite, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    dev.stdout.on('data', (d) => { output += d; });
    dev.stderr.on('data', (d) => { output += d; });
    t.after(() => dev.kill('SIGTERM'));
    const origin = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100 && !output.includes(`${port}`); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(output.includes(`${port}`), `vite dev server did not start:\n${output}`);

    const { results, console_, proxyFlow } = await runApp(t, origin, 30_000, output);
    assert.equal(results.ok, true, `page failed: ${results.fatal}\n${console_.join('\n')}`);
    assert.deepEqual(console_.filter((l) => l.startsWith('pageerror')), [], 'no page errors');
    assertTokenIoPair(results.first, results.second, proxyFlow.id);
    assert.equal(results.notFound.instanceOf, true);
    assert.equal(results.notFound.kind, 'not_found');
    assert.equal(results.insecure.truemedApiKey.kind, 'insecure_credentials');
    assert.equal(results.allowed.state, 'succeeded');
  });

  test('an "Authorization" header (any case) counts as a credential in the browser', () => {
    assert.ok(browserResults, 'the app ran');
    const r = browserResults.insecure.headerCapitalized;
    assert.equal(r.threw, true, 'constructor throws');
    assert.equal(r.kind, 'insecure_credentials');
    assert.equal(r.instanceOf, true);
  });
});

describe('TypeScript consumers (tsc --strict, no @types/node)', () => {
  const tsc = join(BIN, 'tsc');

  test('moduleResolution bundler: consumer compiles, types are precise', async () => {
    const r = await run(tsc, ['-p', 'tsconfig.json', '--strict', '--noEmit', '--pretty', 'false', '--listFiles'], { cwd: projects.tsBundler });
    assert.equal(r.code, 0, `tsc failed\n${show(r)}`);
    const listed = r.stdout.split('\n').map((l) => l.trim());
    assert.ok(listed.includes(join(projects.tsBundler, 'node_modules', 'token-status', 'index.d.ts')), 'types come from the installed index.d.ts');
    assert.ok(!listed.some((f) => f.includes('@types')), 'no @types package was loaded');
  });

  test('moduleResolution node16: .mts (import) and .cts (require) compile', async () => {
    const r = await run(tsc, ['-p', 'tsconfig.json', '--strict', '--noEmit', '--pretty', 'false', '--listFiles'], { cwd: projects.tsNode16 });
    assert.equal(r.code, 0, `tsc failed\n${show(r)}`);
    const listed = r.stdout.split('\n').map((l) => l.trim());
    const installed = join(projects.tsNode16, 'node_modules', 'token-status');
    assert.ok(listed.includes(join(installed, 'index.d.ts')), '.mts resolves index.d.ts (import condition)');
    assert.ok(listed.includes(join(installed, 'index.d.cts')), '.cts resolves index.d.cts (require condition)');
    assert.ok(!listed.some((f) => f.includes('@types')), 'no @types package was loaded');
  });

  for (const [label, key] of [['bundler', 'tsBundler'], ['node16', 'tsNode16']]) {
    test(`${label}: an unknown option key fails compilation (the checks can fail)`, async () => {
      const r = await run(tsc, ['-p', 'tsconfig.fail.json', '--strict', '--noEmit', '--pretty', 'false'], { cwd: projects[key] });
      assert.notEqual(r.code, 0, `tsc must fail\n${show(r)}`);
      assert.match(r.stdout, /must-fail\.m?ts\(2,\d+\): error TS2353: .*'notARealOption'/, show(r));
    });
  }

  for (const [label, key, files] of [
    ['bundler', 'tsBundler', { 'consumer.unchecked.ts': TS_ESM_CONSUMER }],
    ['node16', 'tsNode16', { 'consumer.unchecked.mts': TS_ESM_CONSUMER, 'consumer.unchecked.cts': TS_CJS_CONSUMER }],
  ]) {
    test(`${label}: each @ts-expect-error fails for the stated reason, and nothing else fails`, async () => {
      const r = await run(tsc, ['-p', 'tsconfig.unchecked.json', '--strict', '--noEmit', '--pretty', 'false'], { cwd: projects[key] });
      assert.notEqual(r.code, 0, show(r));
      const errors = {};
      for (const m of r.stdout.matchAll(/^(\S+)\((\d+),\d+\): error (TS\d+)/gm)) {
        (errors[m[1]] ??= {})[m[2]] = m[3];
      }
      const expected = {};
      for (const [file, source] of Object.entries(files)) expected[file] = uncheck(source).expected;
      assert.deepEqual(errors, expected, show(r));
    });
  }

  test('the .d.ts files use no `any`', () => {
    for (const file of ['index.d.ts', 'index.d.cts']) {
      const src = stripComments(readFileSync(join(projects.tsBundler, 'node_modules', 'token-status', file), 'utf8'));
      const hits = src.split('\n').filter((l) => /\bany\b/.test(l));
      assert.deepEqual(hits, [], `${file} has \`any\``);
    }
  });
});

describe('package shape', () => {
  test('exports map points at files that exist in the installed package', () => {
    const installed = join(projects.esm, 'node_modules', 'token-status');
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
    assert.equal(manifest.name, 'token-status');
    const targets = [];
    const collect = (value, path) => {
      if (typeof value === 'string') targets.push([path, value]);
      else for (const [k, v] of Object.entries(value)) collect(v, `${path}.${k}`);
    };
    collect(manifest.exports, 'exports');
    for (const field of ['main', 'module', 'types']) if (manifest[field]) targets.push([field, manifest[field]]);
    for (const [path, target] of targets) {
      assert.ok(target.startsWith('./'), `${path} is relative: ${target}`);
      assert.ok(existsSync(join(installed, target)), `${path} -> ${target} exists`);
    }
    const root = manifest.exports['.'];
    // Node ESM, Node CJS, browser/bundler ESM, and types for both module systems.
    assert.equal(root.import.node, './index.mjs');
    assert.equal(root.import.default, './index.js');
    assert.equal(root.import.workerd, './index.workerd.js');
    assert.ok(existsSync(join(installed, root.import.workerd)), 'the workerd entry is packed');
    assert.equal(root.require.default, './index.cjs');
    assert.ok(root.import.types && root.require.types);
    // `types` must come first in each condition object, or TypeScript never sees it.
    assert.equal(Object.keys(root.import)[0], 'types');
    assert.equal(Object.keys(root.require)[0], 'types');
    assert.ok(existsSync(join(installed, root.import.types)) && existsSync(join(installed, root.require.types)));
    // The browser entry imports only the web glue, never Node built-ins.
    const browserEntry = readFileSync(join(installed, root.import.default), 'utf8');
    assert.match(browserEntry, /from ["']\.\/web\/token_status\.js["']/);
    assert.doesNotMatch(browserEntry, /require\(|node:/);
    assert.deepEqual(manifest.dependencies ?? {}, {}, 'no runtime dependencies');
  });

  test('tarball holds no source maps, Rust sources or stray files; a browser and a server .wasm', () => {
    const files = packInfo.files.map((f) => f.path);
    assert.deepEqual(files.filter((f) => /\.map$|\.rs$|Cargo\.(toml|lock)$|^src\/|^target\/|\.ts$(?<!\.d\.ts$)/.test(f)), []);
    const allowed = new Set(['LICENSE', 'README.md', 'package.json', 'index.js', 'index.workerd.js', 'index.cjs', 'index.mjs', 'index.d.ts',
      'index.d.cts', 'web/token_status.js', 'web/token_status_bg.wasm', 'node/token_status.cjs',
      'server/token_status.js', 'server/token_status_bg.wasm',
      // The command (tests/cli/) and token-status/simulator.
      'cli.mjs', 'simulator/README.md', 'simulator/index.d.ts', 'simulator/index.d.cts', 'simulator/index.cjs',
      ...['index', 'common', 'control', 'faults', 'flows', 'serve', 'truemed', 'gr4vy', 'tokenio', 'jwt', 'webhooks'].map((f) => `simulator/${f}.mjs`)]);
    assert.deepEqual(files.filter((f) => !allowed.has(f)), [], 'only the expected files');
    for (const required of allowed) assert.ok(files.includes(required), `${required} is packed`);
    assert.deepEqual(files.filter((f) => f.endsWith('.wasm')).sort(), ['server/token_status_bg.wasm', 'web/token_status_bg.wasm'],
      'the browser .wasm, and the server one Node and workerd share');

    const installed = join(projects.esm, 'node_modules', 'token-status');
    for (const f of files.filter((f) => /\.(c|m)?js$/.test(f))) {
      assert.doesNotMatch(readFileSync(join(installed, f), 'utf8'), /sourceMappingURL/, `${f} references no source map`);
    }
    for (const build of ['web', 'server']) {
      const sections = wasmCustomSections(readFileSync(join(installed, build, 'token_status_bg.wasm')));
      assert.deepEqual(sections.filter((s) => s.startsWith('.debug') || s === 'sourceMappingURL' || s === 'external_debug_info'), [],
        `no debug info in ${build}/token_status_bg.wasm (custom sections: ${sections.join(', ')})`);
    }
  });

  test('sizes (diagnostic)', (t) => {
    const installed = join(projects.esm, 'node_modules', 'token-status');
    const tarBytes = statSync(tarball).size;
    const lines = [`tarball ${packInfo.filename}: ${tarBytes} B (unpacked ${packInfo.unpackedSize} B)`];
    let raw = 0;
    let gz = 0;
    for (const f of ['web/token_status_bg.wasm', 'index.js', 'web/token_status.js']) {
      const bytes = readFileSync(join(installed, f));
      const z = gzipSync(bytes, { level: 9 }).length;
      raw += bytes.length;
      gz += z;
      lines.push(`${f}: ${bytes.length} B, gzip ${z} B`);
    }
    lines.push(`browser total (wasm + index.js + web glue): ${raw} B, gzip ${gz} B`);
    for (const line of lines) {
      console.log(line);
      t.diagnostic(line);
    }
    assert.ok(tarBytes > 0);
  });
});

describe('API surface promised by DESIGN.md', () => {
  test('wait methods and WaitOptions exist', async () => {
    const installed = join(projects.esm, 'node_modules', 'token-status');
    const mod = await import(pathToFileURL(join(installed, 'index.mjs')).href);
    assert.equal(typeof mod.TruemedClient.prototype.waitForProvisionTokenRequest, 'function');
    assert.equal(typeof mod.Gr4vyClient.prototype.waitForPaymentServiceToken, 'function');
    assert.equal(typeof mod.TokenIoClient.prototype.waitForTokenRequestResult, 'function');
    const dts = readFileSync(join(installed, 'index.d.ts'), 'utf8');
    assert.match(dts, /export interface WaitOptions\b/);
    assert.match(dts, /waitForTokenRequestResult\(/);
  });
});
