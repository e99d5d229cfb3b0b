// Secrets scenario, run as a child by secrets.test.mjs:
//   node secrets.mjs <openSimulatorUrl> <checkingSimulatorUrl> <outFile>
// With distinctive credentials (Truemed apiKey and x-truemed-api-key header, Gr4vy bearer string
// and bearer function, Token.io bearer string, bearer function and Basic credentials), triggers
// every error kind, including provider error bodies that echo the credential back, and records
// where (if anywhere) a credential shows up in each error. Writes its findings to <outFile> as
// JSON and prints NOTHING itself: whatever appears on stdout/stderr came from the package.
import { writeFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { PKG_NODE, Sim } from '../support/harness.mjs';

const [openUrl, checkingUrl, outFile] = process.argv.slice(2);
const { TruemedClient, Gr4vyClient, TokenIoClient, TokenStatusError } = await import(PKG_NODE);

export const SECRETS = {
  truemedKey: 'tmkey-SECRET-7f3a9c1e5b2d',
  truemedHeader: 'tmhdr-SECRET-0a9b8c7d6e5f',
  gr4vyToken: 'eyJhbGciOiJFUzUxMiJ9.gr4vy-SECRET-jwt-4d2c.c2lnbmF0dXJl',
  gr4vyFnToken: 'eyJhbGciOiJFUzUxMiJ9.gr4vy-SECRET-fn-8a6b.c2lnbmF0dXJl',
  tokenioBearer: 'tokenio-SECRET-bearer-4c6e8a0b2d',
  tokenioFnBearer: 'tokenio-SECRET-fnbearer-13579b',
  tokenioBasicRaw: 'secretuser:SECRET-pass-1a2b3c',
};
const TOKENIO_BASIC = Buffer.from(SECRETS.tokenioBasicRaw).toString('base64');
const ALL = [...Object.values(SECRETS), TOKENIO_BASIC];

const common = { timeoutMs: 3000, retry: { maxRetries: 1, initialDelayMs: 5, maxDelayMs: 10 } };

/** The clients under test: each with its credential(s) and how to call it. */
const CLIENTS = [
  {
    name: 'truemed apiKey',
    provider: 'truemed',
    secrets: [SECRETS.truemedKey],
    make: (url, extra = {}) => new TruemedClient({ ...common, baseUrl: `${url}/truemed`, apiKey: SECRETS.truemedKey, ...extra }),
  },
  {
    name: 'truemed x-truemed-api-key header',
    provider: 'truemed',
    secrets: [SECRETS.truemedHeader],
    make: (url, extra = {}) => new TruemedClient({ ...common, baseUrl: `${url}/truemed`, headers: { 'x-truemed-api-key': SECRETS.truemedHeader }, ...extra }),
  },
  {
    name: 'gr4vy bearerToken string',
    provider: 'gr4vy',
    secrets: [SECRETS.gr4vyToken],
    make: (url, extra = {}) => new Gr4vyClient({ ...common, baseUrl: `${url}/gr4vy`, bearerToken: SECRETS.gr4vyToken, ...extra }),
  },
  {
    name: 'gr4vy bearerToken function',
    provider: 'gr4vy',
    secrets: [SECRETS.gr4vyFnToken],
    make: (url, extra = {}) => new Gr4vyClient({ ...common, baseUrl: `${url}/gr4vy`, bearerToken: async () => SECRETS.gr4vyFnToken, ...extra }),
  },
  {
    name: 'tokenio bearerToken string',
    provider: 'tokenio',
    secrets: [SECRETS.tokenioBearer],
    make: (url, extra = {}) => new TokenIoClient({ ...common, baseUrl: `${url}/tokenio`, bearerToken: SECRETS.tokenioBearer, ...extra }),
  },
  {
    name: 'tokenio bearerToken function',
    provider: 'tokenio',
    secrets: [SECRETS.tokenioFnBearer],
    make: (url, extra = {}) => new TokenIoClient({ ...common, baseUrl: `${url}/tokenio`, bearerToken: () => SECRETS.tokenioFnBearer, ...extra }),
  },
  {
    name: 'tokenio basicCredentials',
    provider: 'tokenio',
    secrets: [TOKENIO_BASIC, SECRETS.tokenioBasicRaw],
    make: (url, extra = {}) => new TokenIoClient({ ...common, baseUrl: `${url}/tokenio`, basicCredentials: TOKENIO_BASIC, ...extra }),
  },
];

const control = (method, path, body) => new Sim(openUrl).request(method, path, body);

/** Every place a credential could surface in an error, as text. */
function surfaces(err) {
  const safe = (f) => {
    try {
      return String(f());
    } catch (e) {
      return `<threw ${e}>`;
    }
  };
  return {
    message: safe(() => err.message),
    'String(err)': safe(() => String(err)),
    'JSON.stringify(err)': safe(() => JSON.stringify(err)),
    stack: safe(() => err.stack),
    'util.inspect(err)': safe(() => inspect(err, { depth: 10, showHidden: true })),
    'JSON.stringify(err.cause ?? null)': safe(() => JSON.stringify(err.cause ?? null)),
    'err.cause.message': safe(() => err.cause?.message),
    'err.cause.stack': safe(() => err.cause?.stack),
    code: safe(() => err.code),
    traceId: safe(() => err.traceId),
    'JSON.stringify(err.lastStatus)': safe(() => JSON.stringify(err.lastStatus ?? null)),
    'own properties': safe(() => JSON.stringify(Object.getOwnPropertyNames(err).map((k) => [k, String(err[k])]))),
  };
}

const cases = [];

/** Records one outcome: which secrets showed up where. */
function record(client, label, err) {
  const entry = { client: client.name, label, kind: null, status: null, leaks: [], message: null };
  if (!(err instanceof TokenStatusError)) {
    entry.kind = `not a TokenStatusError: ${err && typeof err === 'object' ? `${err.constructor?.name}: ${err.message}` : JSON.stringify(err)}`;
    // Still check it for secrets.
  } else {
    entry.kind = err.kind;
    entry.status = err.status;
    entry.message = err.message;
    entry.code = err.code;
    entry.causeKind = err.cause?.kind ?? null;
  }
  const where = err && typeof err === 'object' ? surfaces(err) : { value: String(err) };
  for (const [place, text] of Object.entries(where)) {
    for (const secret of ALL) {
      if (text.includes(secret)) entry.leaks.push({ place, secret, own: client.secrets.includes(secret) });
    }
  }
  cases.push(entry);
}

async function expectFailure(client, label, fn) {
  try {
    const v = await fn();
    cases.push({ client: client.name, label, kind: `resolved: ${JSON.stringify(v)?.slice(0, 200)}`, status: null, leaks: [] });
  } catch (err) {
    record(client, label, err);
  }
}

/** Provider error bodies that echo `s` back, in each provider's shapes. */
function echoBodies(provider, s, status) {
  const generic = [
    ['HTML page echoing it', `<html><body><h1>Error</h1><p>Authorization: ${s}</p></body></html>`, 'text/html'],
    ['plain text echoing it', `request with credential ${s} refused`, 'text/plain'],
  ];
  if (provider === 'truemed') {
    return [
      ['message', { error: 'unauthorized', message: `API key ${s} is not valid` }],
      ['error (code)', { error: s, message: 'refused' }],
      ['code', { error: 'refused', code: s, message: 'refused' }],
      ['detail', { detail: `bad key ${s}` }],
      ['nested error.message', { error: { message: `bad key ${s}`, code: s } }],
      ...generic,
    ];
  }
  if (provider === 'gr4vy') {
    return [
      ['message + details', { type: 'error', code: 'unauthorized', status, message: `No valid API authentication found for ${s}`,
        details: [{ location: 'header', type: 'value_error', pointer: '/authorization', message: `Bearer ${s}` }] }],
      ['code', { type: 'error', code: s, status, message: 'refused', details: [] }],
      ['422 detail', { detail: [{ loc: ['header', 'authorization'], msg: `invalid token ${s}`, type: 'value_error' }] }],
      ['error', { error: `Bearer ${s}` }],
      ...generic,
    ];
  }
  return [
    ['error.message', { error: { errorCode: 'UNAUTHENTICATED', message: `Authorization: Bearer ${s}`, tokenTraceId: 'trace-1' } }],
    ['error.errorCode', { error: { errorCode: s, message: 'refused', tokenTraceId: 'trace-2' } }],
    ['error.tokenTraceId', { error: { message: 'refused', tokenTraceId: s } }],
    ['top-level message/error', { message: `Basic ${s}`, error: s }],
    ...generic,
  ];
}

const ECHO_STATUSES = [400, 401, 403, 404, 405, 409, 422, 429, 500, 501, 502, 503, 504];

for (const c of CLIENTS) {
  const client = c.make(openUrl);
  const ok = await control('POST', '/_sim/flows', { provider: c.provider, outcome: 'succeeded', pendingPolls: 0 });
  const matchId = c.provider === 'gr4vy' ? ok.paymentMethodId : ok.id;
  const get = (cl, id, opts) => (c.provider === 'truemed' ? cl.getProvisionTokenRequest(id, opts)
    : c.provider === 'gr4vy' ? cl.getPaymentServiceToken(ok.paymentMethodId, id, opts) : cl.getTokenRequestResult(id, opts));
  const wait = (cl, flow, opts) => (c.provider === 'truemed' ? cl.waitForProvisionTokenRequest(flow.id, opts)
    : c.provider === 'gr4vy' ? cl.waitForPaymentServiceToken(flow.paymentMethodId, flow.id, opts) : cl.waitForTokenRequestResult(flow.id, opts));
  const fault = (faults, match = { id: matchId }) => control('POST', '/_sim/faults', { match: { provider: c.provider, ...match }, faults });

  // Sanity: the open simulator accepts this client (so the cases below reach their code paths).
  const status = await get(client, ok.id);
  if (status.state !== 'succeeded') throw new Error(`${c.name}: ${JSON.stringify(status)}`);

  await expectFailure(c, 'invalid_argument: empty id', () => get(client, ''));
  await expectFailure(c, 'invalid_argument: control character', () => get(client, `x${'\u0001'}y`));
  await expectFailure(c, 'not_found: unknown id', () => get(client, 'missing-id-1'));
  await expectFailure(c, 'unauthorized: wrong credential (real 401 from the checking simulator)', () => get(c.make(checkingUrl), ok.id));
  await expectFailure(c, 'unauthorized: wrong credential, wait', () => {
    const cl = c.make(checkingUrl);
    return c.provider === 'gr4vy' ? cl.waitForPaymentServiceToken(ok.paymentMethodId, ok.id, { deadlineMs: 2000 })
      : c.provider === 'truemed' ? cl.waitForProvisionTokenRequest(ok.id, { deadlineMs: 2000 }) : cl.waitForTokenRequestResult(ok.id, { deadlineMs: 2000 });
  });

  for (const s of c.secrets) {
    for (const st of ECHO_STATUSES) {
      for (const [shape, body, contentType] of echoBodies(c.provider, s, st)) {
        // Retryable statuses are sent twice (maxRetries 1): queue exactly as many faults as requests.
        const times = [429, 500, 502, 503, 504].includes(st) ? 2 : 1;
        await fault([{ status: st, body, ...(contentType ? { contentType } : {}), ...(st === 503 && c.provider === 'tokenio' ? { external: true } : {}), times }]);
        await expectFailure(c, `HTTP ${st} echoing the credential (${shape})`, () => get(client, ok.id));
      }
    }
    // 2xx bodies that echo it: invalid_response.
    for (const [shape, body] of [
      ['wrong types', { status: 42, payment_token: 7, items: {}, note: s }],
      ['not JSON', `token ${s} accepted`],
      ['truncated JSON', `{"status":"PROCESSED","tokenId":"${s}`],
    ]) {
      await fault([{ status: 200, body }]);
      await expectFailure(c, `200 echoing the credential (${shape})`, () => get(client, ok.id));
    }
  }

  // Transport failures and malformed bodies.
  await fault([{ drop: true, times: 2 }]);
  await expectFailure(c, 'network: dropped connection', () => get(client, ok.id));
  await fault([{ delayMs: 2000, times: 2 }]);
  await expectFailure(c, 'timeout: slow answer', () => get(client, ok.id, { timeoutMs: 100 }));
  await expectFailure(c, 'aborted: signal aborted before the call', () => get(client, ok.id, { signal: AbortSignal.abort() }));
  for (const kind of ['html', 'truncated', 'wrong_types', 'empty', 'not_json', 'huge', 'huge_declared']) {
    await fault([{ malformed: kind }]);
    await expectFailure(c, `invalid_response: malformed ${kind}`, () => get(client, ok.id));
  }

  // A bearer function that fails, mentioning the credential: invalid_argument, nothing sent.
  if (c.name.endsWith('function')) {
    const s = c.secrets[0];
    for (const [label, fn] of [
      ['throws an Error mentioning it', () => { throw new Error(`could not refresh ${s}`); }],
      ['rejects with it', () => Promise.reject(s)],
      ['rejects with an Error mentioning it', async () => { throw new Error(`expired: ${s}`); }],
      ['returns an empty string', () => ''],
    ]) {
      await expectFailure(c, `invalid_argument: bearer function ${label}`, () => get(c.make(openUrl, { bearerToken: fn }), ok.id));
    }
  }

  // insecure_credentials: constructing a client with a credential where a `document` exists.
  globalThis.document = {};
  try {
    c.make(openUrl);
    cases.push({ client: c.name, label: 'insecure_credentials: constructor in a browser-like global', kind: 'did not throw', status: null, leaks: [] });
  } catch (err) {
    record(c, 'insecure_credentials: constructor in a browser-like global', err);
  } finally {
    delete globalThis.document;
  }
  // Waits: one that runs out its deadline after echoing failures (the cause carries the provider's
  // text), one that ends on an echoing 401 after a pending poll (with lastStatus).
  const pending = await control('POST', '/_sim/flows', { provider: c.provider, outcome: 'pending' });
  const pendingMatch = c.provider === 'gr4vy' ? pending.paymentMethodId : pending.id;
  await fault([{ delayMs: 0 }, { status: 503, body: echoBodies(c.provider, c.secrets[0], 503)[0][1], times: 200 }], { id: pendingMatch });
  await expectFailure(c, 'timeout: wait deadline after echoing 503s (cause)', () => wait(client, pending, { intervalMs: 10, maxIntervalMs: 30, deadlineMs: 400 }));
  await control('POST', '/_sim/reset'); // drops the unused 503 faults (and every flow)
  const pending2 = await control('POST', '/_sim/flows', { provider: c.provider, outcome: 'pending' });
  const pending2Match = c.provider === 'gr4vy' ? pending2.paymentMethodId : pending2.id;
  await fault([{ delayMs: 0 }, { status: 401, body: echoBodies(c.provider, c.secrets[0], 401)[0][1] }], { id: pending2Match });
  await expectFailure(c, 'unauthorized: wait ends on an echoing 401 (lastStatus)', () => wait(client, pending2, { intervalMs: 10, deadlineMs: 5000 }));
  await expectFailure(c, 'aborted: wait aborted mid-way', () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 60);
    return wait(client, pending2, { intervalMs: 10, maxIntervalMs: 20, deadlineMs: 5000, signal: ac.signal });
  });
  await control('POST', '/_sim/reset');

  client.free();
}

writeFileSync(outFile, JSON.stringify({ secrets: ALL, basicRaw: SECRETS.tokenioBasicRaw, cases }));
