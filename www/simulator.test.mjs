// Tests for the provider simulator (www/simulator/README.md), over real HTTP with global fetch.
// Run: node --test www/simulator.test.mjs

import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { createSimulator, startSimulator } from './simulator/index.mjs';
import { runNode } from './simulator-test-support.mjs';

const SIM_PATH = fileURLToPath(new URL('./simulator/serve.mjs', import.meta.url));
const MiB5 = 5 * 1024 * 1024;

const AUTH = {
  truemed: { 'x-truemed-api-key': 'sim-truemed-key' },
  gr4vy: { authorization: 'bearer sim-gr4vy-token' },
  tokenio: { authorization: 'Bearer sim-tokenio-token' },
};

let base;
let server;

before(async () => {
  server = await startSimulator({ port: 0 });
  base = server.url;
});
after(() => server.close());
beforeEach(async () => {
  const r = await fetch(`${base}/_sim/reset`, { method: 'POST' });
  assert.equal(r.status, 204);
});

// ---- helpers ---------------------------------------------------------------------------------

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function ctl(path, body, method = 'POST') {
  const r = await fetch(`${base}/_sim/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, headers: r.headers, body: text ? JSON.parse(text) : null };
}

async function flow(spec) {
  const r = await ctl('flows', spec);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

async function faults(match, list) {
  const r = await ctl('faults', { match, faults: list });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

const enc = encodeURIComponent;
const paths = {
  truemed: (id) => `/truemed/api/v1/payment_tokens/provision_request/${enc(id)}`,
  gr4vy: (pm, q = '') => `/gr4vy/payment-methods/${enc(pm)}/payment-service-tokens${q}`,
  tokenio: (id) => `/tokenio/token-requests/${enc(id)}/result`,
};

async function call(provider, path, { method = 'GET', headers, body, auth = true } = {}) {
  const r = await fetch(base + path, {
    method,
    headers: { ...(auth ? AUTH[provider] : {}), ...headers },
    body,
  });
  const text = await r.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: r.headers, text, body: json };
}

const truemed = (id, o) => call('truemed', paths.truemed(id), o);
const gr4vy = (pm, o, q) => call('gr4vy', paths.gr4vy(pm, q), o);
const tokenio = (id, o) => call('tokenio', paths.tokenio(id), o);

async function reads(fn, n) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await fn());
  return out;
}

function assertCors(headers) {
  assert.equal(headers.get('access-control-allow-origin'), '*');
  assert.equal(
    headers.get('access-control-expose-headers'),
    'retry-after, retry-after-ms, token-external-error, content-length',
  );
}

// ---- Truemed ---------------------------------------------------------------------------------

describe('truemed', () => {
  test('succeeded: pending x2 then provisioned, holds', async () => {
    const f = await flow({ provider: 'truemed', outcome: 'succeeded' });
    assert.match(f.id, /^ptr_[A-Za-z0-9]{20}$/);
    const rs = await reads(() => truemed(f.id), 4);
    for (const r of rs) {
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-type'), 'application/json');
      assertCors(r.headers);
    }
    assert.deepEqual(rs[0].body, { metadata: 'order-1234', payment_token: null });
    assert.deepEqual(rs[1].body, { metadata: 'order-1234', payment_token: null });
    assert.match(rs[2].body.payment_token, /^tm_pt_/);
    assert.equal(rs[2].body.metadata, 'order-1234');
    assert.deepEqual(rs[3].body, rs[2].body);
    const view = (await ctl(`flows/${enc(f.id)}`, undefined, 'GET')).body;
    assert.equal(view.status, 'provisioned');
    assert.equal(view.reads, 4);
    assert.equal(view.step, 1);
  });

  test('action_required behaves as succeeded; metadata option', async () => {
    const f = await flow({ provider: 'truemed', outcome: 'action_required', pendingPolls: 1, metadata: null });
    const [a, b] = await reads(() => truemed(f.id), 2);
    assert.deepEqual(a.body, { metadata: null, payment_token: null });
    assert.match(b.body.payment_token, /^tm_pt_/);
  });

  for (const outcome of ['failed', 'rejected', 'expired', 'unknown', 'pending']) {
    test(`${outcome}: pending forever`, async () => {
      const f = await flow({ provider: 'truemed', outcome, pendingPolls: 1 });
      const rs = await reads(() => truemed(f.id), 4);
      for (const r of rs) assert.deepEqual(r.body, { metadata: 'order-1234', payment_token: null });
    });
  }

  test('unknown id → 404, other method → 405, bad path → 404', async () => {
    const r = await truemed('ptr_nope');
    assert.equal(r.status, 404);
    assert.deepEqual(r.body, { error: 'not_found', message: 'Provision token request not found' });
    assertCors(r.headers);
    const f = await flow({ provider: 'truemed' });
    const m = await truemed(f.id, { method: 'POST', body: '{}' });
    assert.equal(m.status, 405);
    assert.equal(m.body.error, 'method_not_allowed');
    assert.equal(typeof m.body.message, 'string');
    for (const p of [
      `/truemed/api/v1/payment_tokens/provision_request/${f.id}/extra`,
      '/truemed/api/v1/payment_tokens/provision_request',
      '/truemed/api/v1/payment_tokens/provision_request/',
      `/truemed/api/v2/payment_tokens/provision_request/${f.id}`,
    ]) {
      const x = await call('truemed', p);
      assert.equal(x.status, 404, p);
      assert.equal(x.body.error, 'not_found');
    }
  });
});

// ---- Gr4vy -----------------------------------------------------------------------------------

describe('gr4vy', () => {
  const expect = {
    succeeded: 'succeeded',
    failed: 'failed',
    rejected: 'failed',
    expired: 'failed',
    unknown: 'paused',
  };
  for (const [outcome, final] of Object.entries(expect)) {
    test(`${outcome}: processing x2 then ${final}`, async () => {
      const f = await flow({ provider: 'gr4vy', outcome });
      assert.match(f.id, /^[0-9a-f-]{36}$/);
      assert.match(f.paymentMethodId, /^[0-9a-f-]{36}$/);
      const rs = await reads(() => gr4vy(f.paymentMethodId), 4);
      const statuses = rs.map((r) => r.body.items[0].status);
      assert.deepEqual(statuses, ['processing', 'processing', final, final]);
      const t = rs[3].body.items[0];
      assert.deepEqual(Object.keys(t), [
        'type',
        'id',
        'payment_method_id',
        'payment_service_id',
        'status',
        'approval_url',
        'token',
        'created_at',
        'updated_at',
      ]);
      assert.equal(t.type, 'payment-service-token');
      assert.equal(t.id, f.id);
      assert.equal(t.payment_method_id, f.paymentMethodId);
      assert.equal(t.payment_service_id, f.paymentServiceId);
      assert.equal(t.approval_url, null);
      if (final === 'succeeded') assert.match(t.token, /^gr4vy_pst_/);
      else assert.equal(t.token, null);
      assert.equal(rs[0].body.items[0].token, null);
      assert.ok(!Number.isNaN(Date.parse(t.created_at)));
      assert.ok(Date.parse(t.updated_at) >= Date.parse(t.created_at));
    });
  }

  test('pending: processing forever', async () => {
    const f = await flow({ provider: 'gr4vy', outcome: 'pending' });
    const rs = await reads(() => gr4vy(f.paymentMethodId), 4);
    assert.deepEqual(
      rs.map((r) => r.body.items[0].status),
      ['processing', 'processing', 'processing', 'processing'],
    );
  });

  test('action_required: holds until approved, updated_at changes', async () => {
    const f = await flow({ provider: 'gr4vy', outcome: 'action_required', pendingPolls: 1 });
    await sleep(5); // so the step change gets a later timestamp than created_at
    const first = (await gr4vy(f.paymentMethodId)).body.items[0];
    assert.equal(first.status, 'processing');
    assert.equal(first.updated_at, first.created_at);
    const rs = await reads(() => gr4vy(f.paymentMethodId), 3);
    for (const r of rs) {
      const t = r.body.items[0];
      assert.equal(t.status, 'buyer_approval_required');
      assert.equal(t.approval_url, `${base}/_sim/approve/${enc(f.id)}`);
      assert.equal(t.token, null);
    }
    assert.notEqual(rs[0].body.items[0].updated_at, first.updated_at);
    const page = await fetch(rs[0].body.items[0].approval_url);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type'), /^text\/html/);
    assertCors(page.headers);
    assert.match(await page.text(), /Payment approved — you can close this tab/);
    const done = (await gr4vy(f.paymentMethodId)).body.items[0];
    assert.equal(done.status, 'succeeded');
    assert.match(done.token, /^gr4vy_pst_/);
    assert.equal(done.approval_url, null);
  });

  test('list: many tokens per payment method, payment_service_id filter, unknown pm', async () => {
    const pm = 'pm-shared';
    const a = await flow({ provider: 'gr4vy', paymentMethodId: pm, paymentServiceId: 'svc-a', pendingPolls: 1 });
    const b = await flow({ provider: 'gr4vy', paymentMethodId: pm, paymentServiceId: 'svc-b', pendingPolls: 1 });
    await flow({ provider: 'gr4vy', paymentMethodId: 'pm-other' });
    const all = await gr4vy(pm);
    assert.deepEqual(
      all.body.items.map((t) => t.id),
      [a.id, b.id],
    );
    const onlyB = await gr4vy(pm, {}, '?payment_service_id=svc-b');
    assert.deepEqual(
      onlyB.body.items.map((t) => [t.id, t.status]),
      [[b.id, 'succeeded']],
    );
    // the filtered list read only b: a still has one pending read left
    const again = await gr4vy(pm);
    assert.deepEqual(
      again.body.items.map((t) => t.status),
      ['succeeded', 'succeeded'],
    );
    assert.equal((await ctl(`flows/${a.id}`, undefined, 'GET')).body.reads, 2);
    assert.equal((await ctl(`flows/${b.id}`, undefined, 'GET')).body.reads, 3);
    const none = await gr4vy('pm-unknown');
    assert.equal(none.status, 200);
    assert.deepEqual(none.body, { items: [] });
  });

  test('POST provisions (201), then list shows it; merchant header and body recorded', async () => {
    const pm = 'pm-provision';
    const body = JSON.stringify({ payment_service_id: 'svc-1', redirect_url: 'https://shop.example/back' });
    const r = await gr4vy(pm, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'x-gr4vy-merchant-account-id': 'merchant-7' },
    });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.equal(r.body.type, 'payment-service-token');
    assert.equal(r.body.status, 'processing');
    assert.equal(r.body.payment_method_id, pm);
    assert.equal(r.body.payment_service_id, 'svc-1');
    assert.equal(r.body.approval_url, null);
    assert.equal(r.body.token, null);
    assert.match(r.body.id, /^[0-9a-f-]{36}$/);
    const view = (await ctl(`flows/${r.body.id}`, undefined, 'GET')).body;
    assert.equal(view.outcome, 'action_required');
    assert.equal(view.merchantAccountId, 'merchant-7');
    assert.equal(view.reads, 0);
    const statuses = (await reads(() => gr4vy(pm), 3)).map((x) => x.body.items[0].status);
    assert.deepEqual(statuses, ['processing', 'processing', 'buyer_approval_required']);
    const log = (await ctl(`requests?provider=gr4vy&id=${pm}`, undefined, 'GET')).body;
    const post = log.find((e) => e.method === 'POST');
    assert.equal(post.body, body);
    assert.equal(post.headers['x-gr4vy-merchant-account-id'], 'merchant-7');
    // security_code: 3-4 digits or null are fine
    for (const security_code of ['123', '1234', null]) {
      const ok = await gr4vy(pm, {
        method: 'POST',
        body: JSON.stringify({ payment_service_id: 's', redirect_url: 'u', security_code }),
      });
      assert.equal(ok.status, 201, String(security_code));
    }
  });

  test('POST validation → 422 FastAPI-like detail', async () => {
    const post = (body) => gr4vy('pm-v', { method: 'POST', body });
    const extra = await post(JSON.stringify({ payment_service_id: 's', redirect_url: 'u', amount: 1 }));
    assert.equal(extra.status, 422);
    assertCors(extra.headers);
    assert.deepEqual(extra.body, {
      detail: [{ loc: ['body', 'amount'], msg: 'extra fields not permitted', type: 'value_error.extra' }],
    });
    const missing = await post(JSON.stringify({ redirect_url: 'u' }));
    assert.equal(missing.status, 422);
    assert.deepEqual(missing.body.detail[0].loc, ['body', 'payment_service_id']);
    assert.equal(missing.body.detail[0].type, 'value_error.missing');
    const wrongType = await post(JSON.stringify({ payment_service_id: 5, redirect_url: 'u' }));
    assert.equal(wrongType.status, 422);
    assert.deepEqual(wrongType.body.detail[0].loc, ['body', 'payment_service_id']);
    for (const code of ['12', '12345', 'abc', '12a']) {
      const bad = await post(JSON.stringify({ payment_service_id: 's', redirect_url: 'u', security_code: code }));
      assert.equal(bad.status, 422, code);
      assert.deepEqual(bad.body.detail[0].loc, ['body', 'security_code']);
    }
    const badNum = await post(JSON.stringify({ payment_service_id: 's', redirect_url: 'u', security_code: 123 }));
    assert.equal(badNum.status, 422);
    for (const body of ['not json', '[1,2]', '"str"', undefined]) {
      const x = await post(body);
      assert.equal(x.status, 422, String(body));
      assert.ok(Array.isArray(x.body.detail));
      assert.equal(x.body.detail[0].loc[0], 'body');
    }
    // nothing was created
    assert.deepEqual((await gr4vy('pm-v')).body, { items: [] });
  });

  test('bad paths → 404 and other methods → 405 in Gr4vy shape', async () => {
    for (const p of [
      '/gr4vy/payment-methods/pm/payment-service-tokens/extra',
      '/gr4vy/payment-methods/pm',
      '/gr4vy/payment-methods//payment-service-tokens',
      '/gr4vy/buyers/pm/payment-service-tokens',
    ]) {
      const r = await call('gr4vy', p);
      assert.equal(r.status, 404, p);
      assert.equal(r.body.type, 'error');
      assert.equal(r.body.code, 'not_found');
      assert.equal(r.body.status, 404);
      assert.deepEqual(r.body.details, []);
    }
    const put = await gr4vy('pm', { method: 'PUT', body: '{}' });
    assert.equal(put.status, 405);
    assert.equal(put.body.code, 'method_not_allowed');
  });
});

// ---- Token.io --------------------------------------------------------------------------------

describe('tokenio', () => {
  test('succeeded: PENDING x2 then PROCESSED with token fields', async () => {
    const f = await flow({ provider: 'tokenio', outcome: 'succeeded' });
    assert.match(f.id, /^rq:[1-9A-HJ-NP-Za-km-z]{27}:[1-9A-HJ-NP-Za-km-z]{8}$/);
    const rs = await reads(() => tokenio(f.id), 4);
    assert.deepEqual(rs[0].body, { status: 'PENDING' });
    assert.deepEqual(rs[1].body, { status: 'PENDING' });
    const p = rs[2].body;
    assert.equal(p.status, 'PROCESSED');
    assert.match(p.tokenId, /^tt:/);
    assert.equal(typeof p.transferId, 'string');
    assert.equal(p.bankId, 'ob-modelo');
    assert.deepEqual(Object.keys(p.signature).sort(), ['keyId', 'memberId', 'signature']);
    assert.deepEqual(rs[3].body, p);
  });

  const expect = {
    action_required: ['PROCESSED'],
    failed: ['REJECTED'],
    rejected: ['REJECTED', 'Consent rejected by the user'],
    expired: ['EXPIRED'],
    unknown: ['ON_HOLD'],
    pending: ['PENDING'],
  };
  for (const [outcome, [final, reason]] of Object.entries(expect)) {
    test(`${outcome}: → ${final}`, async () => {
      const f = await flow({ provider: 'tokenio', outcome, pendingPolls: 1 });
      const [a, b, c] = await reads(() => tokenio(f.id), 3);
      assert.equal(a.body.status, 'PENDING');
      assert.equal(b.body.status, final);
      assert.equal(c.body.status, final);
      if (final === 'REJECTED') assert.equal(typeof b.body.statusReasonInformation, 'string');
      if (reason) assert.equal(b.body.statusReasonInformation, reason);
      if (final !== 'PROCESSED') assert.equal(b.body.tokenId, undefined);
    });
  }

  test('unknown id → 404 NOT_FOUND with a trace id; bad path → 404; POST → 405', async () => {
    const r = await tokenio('rq:nope:nope');
    assert.equal(r.status, 404);
    assert.equal(r.body.error.errorCode, 'NOT_FOUND');
    assert.equal(typeof r.body.error.message, 'string');
    assert.equal(typeof r.body.error.tokenTraceId, 'string');
    const f = await flow({ provider: 'tokenio' });
    for (const p of [`/tokenio/token-requests/${enc(f.id)}`, `/tokenio/token-requests/${enc(f.id)}/result/x`]) {
      const x = await call('tokenio', p);
      assert.equal(x.status, 404, p);
      assert.equal(x.body.error.errorCode, 'NOT_FOUND');
    }
    const m = await tokenio(f.id, { method: 'POST', body: '{}' });
    assert.equal(m.status, 405);
    // a Truemed id is not a Token.io request
    const t = await flow({ provider: 'truemed', id: 'shared-looking-id' });
    assert.equal((await tokenio(t.id)).status, 404);
  });
});

// ---- flows -----------------------------------------------------------------------------------

describe('flows', () => {
  test('custom steps with fields, polls, and a step that holds until /advance', async () => {
    const f = await flow({
      provider: 'tokenio',
      id: 'rq:custom:1',
      steps: [
        { status: 'PENDING', polls: 1 },
        { status: 'PENDING', fields: { note: 'held' } },
        { status: 'REJECTED', fields: { statusReasonInformation: 'Bank said no' } },
      ],
    });
    assert.equal(f.id, 'rq:custom:1');
    assert.equal(f.outcome, 'custom');
    assert.equal(f.steps.length, 3);
    assert.deepEqual((await tokenio(f.id)).body, { status: 'PENDING' });
    for (let i = 0; i < 3; i++) assert.deepEqual((await tokenio(f.id)).body, { status: 'PENDING', note: 'held' });
    const adv = await ctl(`flows/${enc(f.id)}/advance`);
    assert.equal(adv.status, 200);
    assert.equal(adv.body.step, 2);
    assert.equal(adv.body.status, 'REJECTED');
    assert.deepEqual((await tokenio(f.id)).body, { status: 'REJECTED', statusReasonInformation: 'Bank said no' });
    // the last step holds, advancing past it is a no-op
    assert.equal((await ctl(`flows/${enc(f.id)}/advance`)).body.step, 2);
  });

  test('stepMs: a step ends after ms even without reads (whichever first)', async () => {
    const f = await flow({ provider: 'truemed', pendingPolls: 100, stepMs: 40 });
    assert.equal(f.steps[0].ms, 40);
    assert.equal(f.steps[1].ms, null);
    assert.equal((await truemed(f.id)).body.payment_token, null);
    await sleep(60);
    assert.match((await truemed(f.id)).body.payment_token, /^tm_pt_/);
    // chained ms steps are skipped in one read
    const g = await flow({
      provider: 'gr4vy',
      steps: [
        { status: 'processing', ms: 10 },
        { status: 'paused', ms: 10 },
        { status: 'failed' },
      ],
    });
    await sleep(40);
    assert.equal((await gr4vy(g.paymentMethodId)).body.items[0].status, 'failed');
    // stepMs does not time out the approval step
    const h = await flow({ provider: 'gr4vy', outcome: 'action_required', stepMs: 10 });
    assert.equal(h.steps[1].status, 'buyer_approval_required');
    assert.equal(h.steps[1].ms, null);
    await sleep(40);
    assert.equal((await gr4vy(h.paymentMethodId)).body.items[0].status, 'buyer_approval_required');
  });

  test('pendingPolls 0 starts at the final state', async () => {
    const f = await flow({ provider: 'tokenio', pendingPolls: 0 });
    assert.equal((await tokenio(f.id)).body.status, 'PROCESSED');
  });

  test('ids: duplicate → 409; validation → 400; unknown → 404', async () => {
    await flow({ provider: 'truemed', id: 'dup' });
    const d = await ctl('flows', { provider: 'gr4vy', id: 'dup' });
    assert.equal(d.status, 409);
    assert.deepEqual(d.body, { error: 'duplicate id' });
    assertCors(d.headers);
    for (const body of ['{not json', '[]', { provider: 'nope' }, { provider: 'truemed', outcome: 'meh' }, {
      provider: 'truemed',
      steps: [],
    }, { provider: 'truemed', steps: [{ polls: 1 }] }, { provider: 'truemed', pendingPolls: -1 }]) {
      const r = await ctl('flows', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(typeof r.body.error, 'string');
    }
    const empty = await ctl('flows');
    assert.equal(empty.status, 400);
    const u = await ctl('flows/nope', undefined, 'GET');
    assert.equal(u.status, 404);
    assert.equal(typeof u.body.error, 'string');
    assert.equal((await ctl('flows/nope/advance')).status, 404);
    const unknownRoute = await ctl('nothing-here', undefined, 'GET');
    assert.equal(unknownRoute.status, 404);
    assertCors(unknownRoute.headers);
    const wrongMethod = await ctl('reset', undefined, 'GET');
    assert.equal(wrongMethod.status, 405);
  });

  test('approve: POST answers the flow; not awaiting → 409; unknown → 404', async () => {
    const f = await flow({ provider: 'gr4vy', outcome: 'action_required', pendingPolls: 1 });
    const early = await ctl(`approve/${f.id}`);
    assert.equal(early.status, 409);
    await gr4vy(f.paymentMethodId); // processing → buyer_approval_required
    const ok = await ctl(`approve/${f.id}`);
    assert.equal(ok.status, 200);
    assert.equal(ok.body.status, 'succeeded');
    assert.equal(ok.body.approved, true);
    assert.equal((await ctl(`approve/${f.id}`)).status, 200); // idempotent
    assert.equal((await ctl('approve/nope')).status, 404);
    const page = await fetch(`${base}/_sim/approve/nope`);
    assert.equal(page.status, 404);
    assert.match(page.headers.get('content-type'), /^text\/html/);
    await page.text();
  });
});

// ---- credentials -----------------------------------------------------------------------------

describe('credentials', () => {
  test('missing or wrong → 401 in each provider shape, never echoing the credential', async () => {
    const t = await flow({ provider: 'truemed' });
    const g = await flow({ provider: 'gr4vy' });
    const k = await flow({ provider: 'tokenio' });
    const secret = 'sup3r-s3cret-value';

    for (const headers of [{}, { 'x-truemed-api-key': secret }, { authorization: `Bearer ${secret}` }]) {
      const r = await truemed(t.id, { auth: false, headers });
      assert.equal(r.status, 401);
      assert.equal(r.body.error, 'unauthorized');
      assert.equal(typeof r.body.message, 'string');
      assert.ok(!r.text.includes(secret));
      assertCors(r.headers);
    }
    for (const headers of [{}, { authorization: `bearer ${secret}` }, { authorization: 'Basic c2ltOnRva2VuaW8=' }]) {
      const r = await gr4vy(g.paymentMethodId, { auth: false, headers });
      assert.equal(r.status, 401);
      assert.deepEqual(Object.keys(r.body), ['type', 'code', 'status', 'message', 'details']);
      assert.equal(r.body.type, 'error');
      assert.equal(r.body.code, 'unauthorized');
      assert.equal(r.body.status, 401);
      assert.deepEqual(r.body.details, []);
      assert.ok(!r.text.includes(secret));
    }
    for (const headers of [{}, { authorization: `Bearer ${secret}` }, { authorization: `Basic ${secret}` }]) {
      const r = await tokenio(k.id, { auth: false, headers });
      assert.equal(r.status, 401);
      assert.deepEqual(Object.keys(r.body.error).sort(), ['message', 'tokenTraceId']);
      assert.ok(!r.text.includes(secret));
    }
    // a POST without credentials creates nothing
    const p = await gr4vy('pm-auth', {
      auth: false,
      method: 'POST',
      body: JSON.stringify({ payment_service_id: 's', redirect_url: 'u' }),
    });
    assert.equal(p.status, 401);
    // no read was counted
    assert.equal((await ctl(`flows/${t.id}`, undefined, 'GET')).body.reads, 0);
  });

  test('accepted variants: Gr4vy scheme case, Token.io Basic', async () => {
    const g = await flow({ provider: 'gr4vy' });
    for (const a of ['bearer sim-gr4vy-token', 'Bearer sim-gr4vy-token', 'BEARER sim-gr4vy-token']) {
      assert.equal((await gr4vy(g.paymentMethodId, { auth: false, headers: { authorization: a } })).status, 200, a);
    }
    const k = await flow({ provider: 'tokenio' });
    for (const a of ['Bearer sim-tokenio-token', 'Basic c2ltOnRva2VuaW8=']) {
      assert.equal((await tokenio(k.id, { auth: false, headers: { authorization: a } })).status, 200, a);
    }
  });

  test('credentials: false turns the check off; origin option sets approval_url', async () => {
    const other = await startSimulator({ port: 0, credentials: false, origin: 'https://sim.example' });
    try {
      const f = await (
        await fetch(`${other.url}/_sim/flows`, {
          method: 'POST',
          body: JSON.stringify({ provider: 'gr4vy', outcome: 'action_required', pendingPolls: 0 }),
        })
      ).json();
      const r = await fetch(other.url + paths.gr4vy(f.paymentMethodId));
      assert.equal(r.status, 200);
      assert.equal((await r.json()).items[0].approval_url, `https://sim.example/_sim/approve/${f.id}`);
    } finally {
      await other.close();
    }
  });
});

// ---- ids and paths ---------------------------------------------------------------------------

describe('paths', () => {
  const weird = 'rq:a b/c?d#e%f:g';
  test('ids with : / ? # % and spaces are percent-decoded once', async () => {
    const k = await flow({ provider: 'tokenio', id: weird, pendingPolls: 0 });
    const r = await tokenio(weird);
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'PROCESSED');
    assert.equal(k.id, weird);
    const t = await flow({ provider: 'truemed', id: `ptr ${weird}` });
    assert.equal((await truemed(t.id)).status, 200);
    const g = await flow({ provider: 'gr4vy', paymentMethodId: `pm/${weird}` });
    const list = await gr4vy(g.paymentMethodId);
    assert.equal(list.body.items[0].id, g.id);
    // decoded only once: %2541 is "%41", not "A"
    await flow({ provider: 'tokenio', id: 'rq:%41' });
    assert.equal((await call('tokenio', '/tokenio/token-requests/rq%3A%2541/result')).status, 200);
    assert.equal((await call('tokenio', '/tokenio/token-requests/rq%3AA/result')).status, 404);
    // the control API decodes the same way
    assert.equal((await ctl(`flows/${enc(weird)}`, undefined, 'GET')).body.id, weird);
    const log = (await ctl(`requests?id=${enc(weird)}`, undefined, 'GET')).body;
    assert.equal(log.length, 1);
    assert.equal(log[0].rawPath, paths.tokenio(weird));
    assert.equal(log[0].id, weird);
  });
});

// ---- faults ----------------------------------------------------------------------------------

describe('faults', () => {
  test('status with the provider error body, per provider', async () => {
    const t = await flow({ provider: 'truemed' });
    const g = await flow({ provider: 'gr4vy' });
    const k = await flow({ provider: 'tokenio' });
    await faults({ provider: 'truemed' }, [{ status: 503 }]);
    await faults({ provider: 'gr4vy' }, [{ status: 429 }, { status: 422 }]);
    await faults({ provider: 'tokenio' }, [{ status: 500 }, { status: 401 }, { status: 403 }]);

    const tm = await truemed(t.id);
    assert.equal(tm.status, 503);
    assert.equal(tm.headers.get('content-type'), 'application/json');
    assertCors(tm.headers);
    assert.equal(tm.body.error, 'service_unavailable');
    assert.equal(typeof tm.body.message, 'string');

    const g1 = await gr4vy(g.paymentMethodId);
    assert.equal(g1.status, 429);
    assert.deepEqual(Object.keys(g1.body), ['type', 'code', 'status', 'message', 'details']);
    assert.equal(g1.body.code, 'too_many_requests');
    assert.equal(g1.body.status, 429);
    const g2 = await gr4vy(g.paymentMethodId);
    assert.equal(g2.status, 422);
    assert.ok(Array.isArray(g2.body.detail));

    const k1 = await tokenio(k.id);
    assert.equal(k1.status, 500);
    assert.equal(k1.body.error.errorCode, 'InternalServerError');
    assert.equal(typeof k1.body.error.tokenTraceId, 'string');
    const k2 = await tokenio(k.id);
    assert.equal(k2.status, 401);
    assert.equal(k2.body.error.errorCode, undefined);
    const k3 = await tokenio(k.id);
    assert.equal(k3.body.error.errorCode, 'PermissionDenied');

    // faults are not status reads; the queue is now empty
    assert.equal((await truemed(t.id)).status, 200);
    assert.equal((await ctl(`flows/${t.id}`, undefined, 'GET')).body.reads, 1);
    assert.equal((await ctl('faults', undefined, 'GET')).body.queued, 0);
  });

  test('custom body, content type, headers, Retry-After, retry-after-ms, external', async () => {
    const k = await flow({ provider: 'tokenio' });
    await faults({ provider: 'tokenio' }, [
      { status: 503, external: true, retryAfter: '2', retryAfterMs: 150, headers: { 'X-Custom': 'yes' } },
      { status: 502, body: '<html><body>Bad gateway</body></html>', contentType: 'text/html' },
      { status: 400, body: { error: { message: 'custom', tokenTraceId: 't1' } } },
    ]);
    const a = await tokenio(k.id);
    assert.equal(a.status, 503);
    assert.equal(a.headers.get('token-external-error'), 'true');
    assert.equal(a.headers.get('retry-after'), '2');
    assert.equal(a.headers.get('retry-after-ms'), '150');
    assert.equal(a.headers.get('x-custom'), 'yes');
    assert.equal(a.body.error.errorCode, 'UNAVAILABLE');
    assertCors(a.headers);
    const b = await tokenio(k.id);
    assert.equal(b.status, 502);
    assert.equal(b.headers.get('content-type'), 'text/html');
    assert.equal(b.text, '<html><body>Bad gateway</body></html>');
    assert.equal(b.headers.get('token-external-error'), null);
    const c = await tokenio(k.id);
    assert.deepEqual(c.body, { error: { message: 'custom', tokenTraceId: 't1' } });
  });

  test('matching by id and method, times, unmatched faults stay queued', async () => {
    const a = await flow({ provider: 'truemed', id: 'ptr:a/1' });
    const b = await flow({ provider: 'truemed', id: 'ptr_b' });
    await faults({ provider: 'truemed', id: 'ptr:a/1' }, [{ status: 500, times: 2 }]);
    await faults({ provider: 'gr4vy', method: 'post' }, [{ status: 409 }]);
    assert.equal((await truemed(b.id)).status, 200);
    assert.equal((await truemed(a.id)).status, 500);
    assert.equal((await truemed(b.id)).status, 200);
    assert.equal((await truemed(a.id)).status, 500);
    assert.equal((await truemed(a.id)).status, 200);
    // the POST fault ignores GETs
    assert.equal((await gr4vy('pm-x')).status, 200);
    const q = await ctl('faults', undefined, 'GET');
    assert.equal(q.body.queued, 1);
    const p = await gr4vy('pm-x', { method: 'POST', body: JSON.stringify({ payment_service_id: 's', redirect_url: 'u' }) });
    assert.equal(p.status, 409);
    assert.equal(p.body.code, 'duplicate_record');
    // reset forgets queued faults
    await faults({ provider: 'tokenio' }, [{ status: 500 }]);
    await ctl('reset');
    assert.equal((await ctl('faults', undefined, 'GET')).body.queued, 0);
  });

  test('queue order across matches', async () => {
    const t = await flow({ provider: 'truemed' });
    await faults({}, [{ status: 500 }, { status: 502 }]);
    await faults({ provider: 'truemed' }, [{ status: 504 }]);
    const s = [];
    for (let i = 0; i < 4; i++) s.push((await truemed(t.id)).status);
    assert.deepEqual(s, [500, 502, 504, 200]);
  });

  test('a request the client aborts before its delayed answer is logged as abandoned', async () => {
    const f = await flow({ provider: 'tokenio' });
    await faults({ id: f.id }, [{ delayMs: 2000 }]);
    const controller = new AbortController();
    const pending = fetch(`${base}/tokenio/token-requests/${encodeURIComponent(f.id)}/result`, {
      headers: { authorization: 'Bearer sim-tokenio-token' },
      signal: controller.signal,
    }).catch((e) => e);
    for (let i = 0; i < 100 && (await ctl(`requests?id=${encodeURIComponent(f.id)}`, undefined, 'GET')).body.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    controller.abort();
    assert.equal((await pending).name, 'AbortError');
    let entries = [];
    for (let i = 0; i < 100; i++) {
      entries = (await ctl(`requests?id=${encodeURIComponent(f.id)}`, undefined, 'GET')).body;
      if (entries[0]?.abandoned) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(entries.length, 1);
    assert.equal(entries[0].abandoned, true);
  });

  test('drop destroys the socket: fetch rejects', async () => {
    const t = await flow({ provider: 'truemed' });
    await faults({ provider: 'truemed' }, [{ drop: true }]);
    await assert.rejects(fetch(base + paths.truemed(t.id), { headers: AUTH.truemed }));
    assert.equal((await truemed(t.id)).status, 200);
  });

  test('delay, delay + status, client leaving during a delay', async () => {
    const t = await flow({ provider: 'truemed', pendingPolls: 0 });
    await faults({ provider: 'truemed' }, [{ delayMs: 80 }, { delayMs: 50, status: 504 }]);
    let t0 = Date.now();
    const a = await truemed(t.id);
    assert.ok(Date.now() - t0 >= 75, `delay was ${Date.now() - t0} ms`);
    assert.equal(a.status, 200);
    assert.match(a.body.payment_token, /^tm_pt_/);
    t0 = Date.now();
    const b = await truemed(t.id);
    assert.ok(Date.now() - t0 >= 45);
    assert.equal(b.status, 504);
    assert.equal(b.body.error, 'gateway_timeout');
    // aborting during the delay: the simulator skips answering and keeps working
    await faults({ provider: 'truemed' }, [{ delayMs: 100 }]);
    const ac = new AbortController();
    const p = fetch(base + paths.truemed(t.id), { headers: AUTH.truemed, signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await assert.rejects(p, { name: 'AbortError' });
    await sleep(120);
    assert.equal((await truemed(t.id)).status, 200);
    const view = (await ctl(`flows/${t.id}`, undefined, 'GET')).body;
    assert.equal(view.reads, 2);
  });

  test('malformed: html, truncated, wrong_types, empty, not_json', async () => {
    const t = await flow({ provider: 'truemed' });
    const g = await flow({ provider: 'gr4vy' });
    const k = await flow({ provider: 'tokenio' });
    const kinds = ['html', 'truncated', 'wrong_types', 'empty', 'not_json'];
    for (const provider of ['truemed', 'gr4vy', 'tokenio']) {
      await faults({ provider }, kinds.map((malformed) => ({ malformed })));
    }
    const get = { truemed: () => truemed(t.id), gr4vy: () => gr4vy(g.paymentMethodId), tokenio: () => tokenio(k.id) };
    for (const provider of ['truemed', 'gr4vy', 'tokenio']) {
      const [html, truncated, wrong, empty, notJson] = await reads(get[provider], 5);
      for (const r of [html, truncated, wrong, empty, notJson]) {
        assert.equal(r.status, 200);
        assertCors(r.headers);
      }
      assert.match(html.headers.get('content-type'), /^text\/html/);
      assert.match(html.text, /<html/i);
      assert.equal(truncated.headers.get('content-type'), 'application/json');
      assert.equal(truncated.body, undefined);
      assert.ok(truncated.text.startsWith('{'));
      assert.ok(wrong.body);
      if (provider === 'truemed') assert.equal(typeof wrong.body.payment_token, 'number');
      if (provider === 'gr4vy') assert.deepEqual(wrong.body.items, {});
      if (provider === 'tokenio') assert.equal(typeof wrong.body.status, 'number');
      assert.equal(empty.text, '');
      assert.equal(empty.headers.get('content-length'), '0');
      assert.equal(notJson.body, undefined);
      assert.ok(notJson.text.length > 0);
    }
    // none of these were status reads
    assert.equal((await ctl(`flows/${t.id}`, undefined, 'GET')).body.reads, 0);
  });

  test('malformed: huge (chunked) and huge_declared (Content-Length), 5 MiB each', async () => {
    const t = await flow({ provider: 'truemed' });
    await faults({ provider: 'truemed' }, [{ malformed: 'huge' }, { malformed: 'huge_declared' }]);
    const a = await fetch(base + paths.truemed(t.id), { headers: AUTH.truemed });
    assert.equal(a.status, 200);
    assert.equal(a.headers.get('content-length'), null);
    assert.equal(a.headers.get('transfer-encoding'), 'chunked');
    assertCors(a.headers);
    const abuf = await a.arrayBuffer();
    assert.equal(abuf.byteLength, MiB5);
    assert.ok(Buffer.from(abuf.slice(0, 10)).toString().startsWith('{"items":['));
    const b = await fetch(base + paths.truemed(t.id), { headers: AUTH.truemed });
    assert.equal(b.headers.get('content-length'), String(MiB5));
    assert.equal((await b.arrayBuffer()).byteLength, MiB5);
  });

  test('malformed: huge_gzip is 5 MiB decoded behind a compressed Content-Length under 4 MiB', async () => {
    const t = await flow({ provider: 'tokenio' });
    await faults({ id: t.id }, [{ malformed: 'huge_gzip' }]);
    const r = await fetch(base + paths.tokenio(t.id), { headers: AUTH.tokenio });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-encoding'), 'gzip');
    // Under the client's 4 MiB limit as declared, over it once decoded.
    assert.ok(Number(r.headers.get('content-length')) < 4 * 1024 * 1024, 'declared length under 4 MiB');
    assertCors(r.headers);
    assert.equal((await r.arrayBuffer()).byteLength, MiB5, 'fetch decodes it to 5 MiB');
  });

  test('huge: a client aborting mid-stream does not disturb the simulator', async () => {
    const t = await flow({ provider: 'truemed' });
    await faults({ provider: 'truemed' }, [{ malformed: 'huge', times: 3 }]);
    for (let i = 0; i < 3; i++) {
      const ac = new AbortController();
      const r = await fetch(base + paths.truemed(t.id), { headers: AUTH.truemed, signal: ac.signal });
      const reader = r.body.getReader();
      const first = await reader.read();
      assert.ok(first.value.length > 0);
      ac.abort();
      await assert.rejects(reader.read());
    }
    await sleep(20);
    assert.equal((await truemed(t.id)).status, 200);
  });

  test('fault validation → 400', async () => {
    for (const body of [
      '{oops',
      { faults: [] },
      { faults: [{}] },
      { faults: [{ status: 42 }] },
      { faults: [{ malformed: 'weird' }] },
      { faults: [{ status: 500, times: 0 }] },
      { match: { provider: 'stripe' }, faults: [{ status: 500 }] },
    ]) {
      const r = await ctl('faults', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(typeof r.body.error, 'string');
    }
    const single = await ctl('faults', { faults: [{ status: 500 }, { drop: true }] });
    assert.deepEqual(single.body, { queued: 2 });
  });

  test('fault rates: deterministic by seed, Token.io 503 external, {} turns off', async () => {
    const k = await flow({ provider: 'tokenio', outcome: 'pending' });
    const rates = { seed: 7, rate429: 0.15, rate500: 0.15, rate503: 0.15, rateDrop: 0.1, rateMalformed: 0.1, retryAfter: '0' };
    async function sample() {
      const set = await ctl('fault-rates', rates);
      assert.equal(set.status, 200);
      const out = [];
      for (let i = 0; i < 40; i++) {
        try {
          const r = await fetch(base + paths.tokenio(k.id), { headers: AUTH.tokenio });
          const text = await r.text();
          if (r.status === 503) assert.equal(r.headers.get('token-external-error'), 'true');
          if (r.status === 429 || r.status === 503) assert.equal(r.headers.get('retry-after'), '0');
          out.push(`${r.status}:${r.status === 200 ? text.slice(0, 12) : ''}`);
        } catch {
          out.push('drop');
        }
      }
      return out;
    }
    const one = await sample();
    const two = await sample();
    assert.deepEqual(one, two);
    const kinds = new Set(one.map((s) => s.split(':')[0]));
    for (const k2 of ['200', '429', '500', '503', 'drop']) assert.ok(kinds.has(k2), `saw ${[...kinds]}`);
    const other = await ctl('fault-rates', { ...rates, seed: 8 });
    assert.equal(other.status, 200);
    const three = [];
    for (let i = 0; i < 40; i++) {
      try {
        three.push((await fetch(base + paths.tokenio(k.id), { headers: AUTH.tokenio })).status);
      } catch {
        three.push('drop');
      }
    }
    assert.notDeepEqual(three, one.map((s) => (s === 'drop' ? 'drop' : Number(s.split(':')[0]))));
    // queued faults win over rates
    await faults({ provider: 'tokenio' }, [{ status: 418 }]);
    assert.equal((await tokenio(k.id)).status, 418);
    // {} turns them off
    assert.equal((await ctl('fault-rates', {})).status, 200);
    for (let i = 0; i < 20; i++) assert.equal((await tokenio(k.id)).status, 200);
    assert.equal((await ctl('fault-rates', { rate429: 2 })).status, 400);
  });

  test('fault rates: 503 is external for Token.io only', async () => {
    const t = await flow({ provider: 'truemed' });
    const k = await flow({ provider: 'tokenio' });
    await ctl('fault-rates', { seed: 3, rate503: 1 });
    const a = await truemed(t.id);
    assert.equal(a.status, 503);
    assert.equal(a.body.error, 'service_unavailable');
    assert.equal(a.headers.get('token-external-error'), null);
    const b = await tokenio(k.id);
    assert.equal(b.status, 503);
    assert.equal(b.headers.get('token-external-error'), 'true');
  });

  test('fault rates: slow requests wait slowMs', async () => {
    const k = await flow({ provider: 'tokenio' });
    await ctl('fault-rates', { seed: 1, rateSlow: 1, slowMs: 60 });
    const t0 = Date.now();
    assert.equal((await tokenio(k.id)).status, 200);
    assert.ok(Date.now() - t0 >= 55);
  });
});

// ---- request log, CORS, robustness ---------------------------------------------------------

describe('control', () => {
  test('request log: fields, filters, DELETE, reset', async () => {
    const t = await flow({ provider: 'truemed' });
    const k = await flow({ provider: 'tokenio' });
    await truemed(t.id, { headers: { 'X-Custom-Header': 'Value' } });
    await call('gr4vy', paths.gr4vy('pm-log', '?payment_service_id=svc&x=1'));
    await tokenio(k.id, { auth: false });
    const all = (await ctl('requests', undefined, 'GET')).body;
    assert.equal(all.length, 3);
    assert.deepEqual(
      all.map((e) => e.seq),
      [1, 2, 3],
    );
    const e = all[0];
    assert.deepEqual(Object.keys(e), ['seq', 'time', 'provider', 'method', 'rawPath', 'id', 'query', 'headers', 'body', 'auth', 'abandoned']);
    assert.deepEqual(all.map((r) => r.abandoned), [false, false, false], 'answered in full');
    // Which credential authenticated: Truemed's API key, Gr4vy's fixed token; a refused one, none.
    assert.deepEqual(all.map((r) => r.auth), ['api-key', 'sim-token', null]);
    assert.equal(e.provider, 'truemed');
    assert.equal(e.method, 'GET');
    assert.equal(e.id, t.id);
    assert.equal(e.body, null);
    assert.equal(e.headers['x-custom-header'], 'Value');
    assert.equal(e.headers['x-truemed-api-key'], 'sim-truemed-key');
    assert.ok(!Number.isNaN(Date.parse(e.time)));
    assert.deepEqual(all[1].query, { payment_service_id: 'svc', x: '1' });
    assert.equal(all[1].rawPath, '/gr4vy/payment-methods/pm-log/payment-service-tokens');
    assert.equal((await ctl('requests?provider=tokenio', undefined, 'GET')).body.length, 1);
    assert.equal((await ctl(`requests?id=${t.id}`, undefined, 'GET')).body.length, 1);
    // control requests are not logged
    assert.equal((await ctl('requests', undefined, 'GET')).body.length, 3);
    const del = await fetch(`${base}/_sim/requests`, { method: 'DELETE' });
    assert.equal(del.status, 204);
    assertCors(del.headers);
    assert.deepEqual((await ctl('requests', undefined, 'GET')).body, []);
    await truemed(t.id);
    await ctl('reset');
    assert.deepEqual((await ctl('requests', undefined, 'GET')).body, []);
    assert.equal((await truemed(t.id)).status, 404); // flows forgotten
  });

  test('request log is capped at the last 10,000 requests', async () => {
    const n = 10_050;
    const socket = net.connect(new URL(base).port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const req = 'GET /tokenio/token-requests/x/result HTTP/1.1\r\nHost: sim\r\n\r\n';
    socket.write(req.repeat(n));
    let seen = 0;
    let tail = '';
    await new Promise((resolve, reject) => {
      socket.on('error', reject);
      socket.on('data', (chunk) => {
        const s = tail + chunk.toString('latin1');
        seen += s.split('HTTP/1.1 ').length - 1;
        tail = s.slice(-9);
        if (seen >= n) resolve();
      });
    });
    socket.destroy();
    const log = (await ctl('requests', undefined, 'GET')).body;
    assert.equal(log.length, 10_000);
    assert.equal(log[0].seq, n - 10_000 + 1);
    assert.equal(log.at(-1).seq, n);
  });

  test('CORS: preflight 204 on any path, headers on every response', async () => {
    const pre = await fetch(base + paths.tokenio('rq:x'), {
      method: 'OPTIONS',
      headers: { 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization, x-foo' },
    });
    assert.equal(pre.status, 204);
    assertCors(pre.headers);
    assert.equal(pre.headers.get('access-control-allow-methods'), 'GET, POST, DELETE, OPTIONS');
    assert.equal(pre.headers.get('access-control-allow-headers'), 'authorization, x-foo');
    assert.equal(pre.headers.get('access-control-max-age'), '600');
    const bare = await fetch(`${base}/anything/else`, { method: 'OPTIONS' });
    assert.equal(bare.status, 204);
    assert.equal(
      bare.headers.get('access-control-allow-headers'),
      'authorization, content-type, x-truemed-api-key, x-gr4vy-merchant-account-id',
    );
    const nf = await fetch(`${base}/not-a-provider`);
    assert.equal(nf.status, 404);
    assert.equal(nf.headers.get('content-type'), 'application/json');
    assertCors(nf.headers);
    assert.equal(typeof (await nf.json()).error, 'string');
    // preflights are not provider requests
    assert.deepEqual((await ctl('requests', undefined, 'GET')).body, []);
  });

  test('unparseable HTTP → JSON 400 with CORS, server keeps serving', async () => {
    const socket = net.connect(new URL(base).port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write('BROKEN REQUEST LINE\r\n\r\n');
    let text = '';
    for await (const chunk of socket) text += chunk;
    assert.match(text, /^HTTP\/1\.1 400 /);
    assert.match(text, /access-control-allow-origin: \*/);
    assert.match(text, /\{"error":"bad request"\}$/);
    assert.equal((await ctl('requests', undefined, 'GET')).status, 200);
  });

  test('handle() returns false for paths it does not own', () => {
    const sim = createSimulator();
    const fake = (url) => ({ url, method: 'GET', headers: {} });
    assert.equal(sim.handle(fake('/'), {}), false);
    assert.equal(sim.handle(fake('/truemed'), {}), false);
    assert.equal(sim.handle(fake('/api/truemed/x'), {}), false);
    assert.equal(sim.handle(fake('/_simx/'), {}), false);
    sim.close();
  });

  test('1,000 concurrent requests', async () => {
    const f = await flow({ provider: 'gr4vy', outcome: 'pending' });
    const rs = await Promise.all(
      Array.from({ length: 1000 }, () =>
        fetch(base + paths.gr4vy(f.paymentMethodId), { headers: AUTH.gr4vy }).then((r) => r.json()),
      ),
    );
    assert.equal(rs.length, 1000);
    for (const r of rs) assert.equal(r.items[0].id, f.id);
    assert.equal((await ctl(`flows/${f.id}`, undefined, 'GET')).body.reads, 1000);
  });

  test('bad bodies to the control API → 400, never a crash', async () => {
    const r = await ctl('fault-rates', 'nope');
    assert.equal(r.status, 400);
    const big = await fetch(`${base}/_sim/flows`, { method: 'POST', body: 'x'.repeat(1024 * 1024 + 10) });
    assert.equal(big.status, 413);
    await big.text();
    assert.equal((await ctl('requests', undefined, 'GET')).status, 200);
  });
});

// ---- process lifecycle -----------------------------------------------------------------------

describe('lifecycle', () => {
  test('close() leaves no handles: a process exits by itself, even with a pending delay', async () => {
    const script = `
      import { startSimulator } from ${JSON.stringify(new URL('./simulator/index.mjs', import.meta.url).href)};
      const s = await startSimulator({ port: 0 });
      const post = (p, b) => fetch(s.url + p, { method: 'POST', body: JSON.stringify(b) }).then((r) => r.json());
      const f = await post('/_sim/flows', { provider: 'truemed' });
      await post('/_sim/faults', { faults: [{ delayMs: 60000 }] });
      const pending = fetch(s.url + '/truemed/api/v1/payment_tokens/provision_request/' + f.id, {
        headers: { 'x-truemed-api-key': 'sim-truemed-key' },
      }).catch(() => 'rejected');
      while ((await (await fetch(s.url + '/_sim/requests')).json()).length === 0) {
        await new Promise((r) => setTimeout(r, 10));
      }
      await s.close();
      console.log('closed', await pending);
    `;
    const t0 = Date.now();
    const r = await runNode(['--input-type=module', '-'], { input: script, timeoutMs: 5000 });
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /closed rejected/);
    assert.ok(Date.now() - t0 < 4000);
  });

  for (const signal of ['SIGTERM', 'SIGINT']) {
    test(`CLI: prints the URL first, serves, exits 0 on ${signal}`, async () => {
      let served;
      const r = await runNode([SIM_PATH, '--port', '0'], {
        onLine: (line, child) => {
          served = (async () => {
            const m = /^simulator listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
            assert.ok(m, line);
            const f = await (
              await fetch(`${m[1]}/_sim/flows`, { method: 'POST', body: '{"provider":"tokenio"}' })
            ).json();
            const res = await fetch(m[1] + paths.tokenio(f.id), { headers: AUTH.tokenio });
            assert.equal(res.status, 200);
            await res.text();
            child.kill(signal);
          })();
        },
      });
      await served;
      assert.equal(r.signal, null);
      assert.equal(r.code, 0, r.err);
    });
  }

  test('CLI: --port=N, PORT from the environment, bad arguments', async () => {
    const free = await startSimulator({ port: 0 });
    const port = Number(new URL(free.url).port);
    await free.close();
    for (const [args, env] of [
      [['--port=' + port, '--host', '127.0.0.1'], {}],
      [[], { PORT: String(port) }],
    ]) {
      let first;
      const r = await runNode([SIM_PATH, ...args], {
        env,
        onLine: (line, child) => {
          first = line;
          child.kill('SIGTERM');
        },
      });
      assert.equal(first, `simulator listening on http://127.0.0.1:${port}`);
      assert.equal(r.code, 0, JSON.stringify(r));
    }
    const bad = await runNode([SIM_PATH, '--nope']);
    assert.equal(bad.code, 2);
  });
});
