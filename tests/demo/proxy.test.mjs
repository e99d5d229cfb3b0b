// The demo server's credential-adding proxy: allow-list, credentials, redaction, headers, the
// poll timeline, live-mode configuration. Run: node --test tests/demo/
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo } from '../../www/server.mjs';
import { rawRequest, postJson, simRequests, readEvents } from './_helpers.mjs';

const NOT_FOUND = { error: 'not_found', message: 'This proxy only forwards status calls' };
const SIM_SECRETS = ['sim-truemed-key', 'sim-gr4vy-token', 'c2ltOnRva2VuaW8='];

describe('demo proxy (simulated providers)', () => {
  let demo;
  before(async () => {
    demo = await startDemo({ port: 0, env: {} });
  });
  after(() => demo.close());
  beforeEach(async () => {
    await rawRequest(demo.url, { method: 'POST', path: '/_sim/reset' });
  });

  it('refuses every path outside the allow-list with 404 and never forwards it', async () => {
    const refused = [
      ['POST', '/proxy/gr4vy/payment-methods/pm-1/payment-service-tokens'],
      ['PUT', '/proxy/gr4vy/payment-methods/pm-1/payment-service-tokens'],
      ['DELETE', '/proxy/gr4vy/payment-methods/pm-1/payment-service-tokens/tok-1'],
      ['HEAD', '/proxy/tokenio/token-requests/rq-1/result'],
      ['POST', '/proxy/tokenio/token-requests/rq-1/result'],
      ['GET', '/proxy/tokenio/token-requests/x/result/extra'],
      ['GET', '/proxy/tokenio/token-requests/a/b/result'],
      ['GET', '/proxy/tokenio/token-requests//result'],
      ['GET', '/proxy/tokenio/token-requests/rq-1'],
      ['GET', '/proxy/tokenio/token-requests/rq-1/result?x=1'],
      ['GET', '/proxy/truemed/api/v1/other'],
      ['GET', '/proxy/truemed/api/v1/payment_tokens/provision_request/'],
      ['GET', '/proxy/truemed/api/v1/payment_tokens/provision_request/ptr_1/'],
      ['GET', '/proxy/truemed/payments/v1/payment_session/ptr_1'],
      ['GET', '/proxy/gr4vy/payment-methods/x/payment-service-tokens?foo=1'],
      ['GET', '/proxy/gr4vy/payment-methods/x/payment-service-tokens?payment_service_id=a&foo=1'],
      ['GET', '/proxy/gr4vy/payment-methods/x/payment-service-tokens?payment_service_id=a&payment_service_id=b'],
      ['GET', '/proxy/gr4vy/payment-methods/x/payment-service-tokens/tok-1'],
      ['GET', '/proxy/gr4vy/buyers'],
      ['GET', '/proxy/unknown/x'],
      ['GET', '/proxy/'],
      ['GET', '/proxy'],
      ['GET', '/proxy/tokenio/token-requests/../result'],
      ['GET', '/proxy/tokenio/token-requests/%2e%2e/result'],
      ['GET', '/proxy/tokenio/token-requests/%2E/result'],
      ['GET', '/proxy/truemed/api/v1/payment_tokens/provision_request/..'],
      ['GET', '/proxy/truemed/api/v1/payment_tokens/provision_request/%2e%2e'],
      ['GET', '/proxy/tokenio/../truemed/api/v1/payment_tokens/provision_request/ptr_1'],
      ['GET', '/proxy/tokenio/%2e%2e/_sim/requests'],
      ['GET', '/proxy/tokenio/token-requests/..%2F..%2F_sim%2Freset/result'],
      ['GET', '/proxy/tokenio/token-requests/a%5Cb/result'],
      ['GET', '/proxy/tokenio/token-requests/a%00b/result'],
      ['GET', '/proxy/tokenio/token-requests/a%ZZ/result'],
      ['GET', '/proxy/tokenio/token-requests/a%3Fb/result'],
      ['GET', '/proxy/tokenio/token-requests/a%252Fb/result'],
    ];
    for (const [method, path] of refused) {
      const res = await rawRequest(demo.url, {
        method,
        path,
        headers: method === 'POST' ? { 'content-type': 'application/json' } : {},
        body: method === 'POST' ? JSON.stringify({ payment_service_id: 'x', redirect_url: 'https://x' }) : undefined,
      });
      assert.equal(res.status, 404, `${method} ${path}`);
      if (method !== 'HEAD') assert.deepEqual(JSON.parse(res.body), NOT_FOUND, `${method} ${path}`);
    }
    assert.deepEqual(await simRequests(demo.url), [], 'nothing reached the simulator');
  });

  it('forwards the allowed shapes with the right credential, escapes verbatim', async () => {
    const tm = (await postJson(demo.url, '/_sim/flows', { provider: 'truemed', outcome: 'succeeded' })).body;
    const gr = (await postJson(demo.url, '/_sim/flows', { provider: 'gr4vy', outcome: 'succeeded' })).body;
    const tk = (await postJson(demo.url, '/_sim/flows', { provider: 'tokenio', id: 'rq:abc DEF:xyz', outcome: 'succeeded' })).body;

    const a = await rawRequest(demo.url, { path: `/proxy/truemed/api/v1/payment_tokens/provision_request/${tm.id}` });
    assert.equal(a.status, 200);
    assert.deepEqual(Object.keys(JSON.parse(a.body)).sort(), ['metadata', 'payment_token']);

    const b = await rawRequest(demo.url, {
      path: `/proxy/gr4vy/payment-methods/${gr.paymentMethodId}/payment-service-tokens?payment_service_id=${gr.paymentServiceId}`,
    });
    assert.equal(b.status, 200);
    assert.equal(JSON.parse(b.body).items[0].id, gr.id);

    const c = await rawRequest(demo.url, { path: '/proxy/tokenio/token-requests/rq:abc%20DEF%3axyz/result' });
    assert.equal(c.status, 200);
    assert.equal(JSON.parse(c.body).status, 'PENDING');
    assert.match(c.headers['content-type'], /application\/json/);

    const log = await simRequests(demo.url);
    assert.equal(log.length, 3);
    const [lt, lg, lk] = log;
    assert.equal(lt.provider, 'truemed');
    assert.equal(lt.headers['x-truemed-api-key'], 'sim-truemed-key');
    assert.equal(lg.provider, 'gr4vy');
    assert.equal(lg.headers.authorization, 'bearer sim-gr4vy-token');
    assert.deepEqual(lg.query, { payment_service_id: gr.paymentServiceId });
    assert.equal(lk.provider, 'tokenio');
    assert.equal(lk.headers.authorization, 'Basic c2ltOnRva2VuaW8=');
    assert.equal(lk.rawPath, '/tokenio/token-requests/rq:abc%20DEF%3axyz/result', 'percent-encoding kept verbatim');
    assert.equal(lk.id, 'rq:abc DEF:xyz');
    for (const entry of log) assert.equal(entry.method, 'GET');
  });

  it('drops browser-supplied credentials, cookies and x-demo-lookup', async () => {
    const tm = (await postJson(demo.url, '/_sim/flows', { provider: 'truemed' })).body;
    const gr = (await postJson(demo.url, '/_sim/flows', { provider: 'gr4vy' })).body;
    const evil = {
      authorization: 'Bearer browser-supplied',
      'x-truemed-api-key': 'browser-key',
      cookie: 'session=abc',
      'x-demo-lookup': 'lk-headers',
      'x-gr4vy-merchant-account-id': 'browser-merchant',
    };
    const a = await rawRequest(demo.url, { path: `/proxy/truemed/api/v1/payment_tokens/provision_request/${tm.id}`, headers: evil });
    assert.equal(a.status, 200);
    const b = await rawRequest(demo.url, { path: `/proxy/gr4vy/payment-methods/${gr.paymentMethodId}/payment-service-tokens`, headers: evil });
    assert.equal(b.status, 200);
    const [lt, lg] = await simRequests(demo.url);
    assert.equal(lt.headers['x-truemed-api-key'], 'sim-truemed-key');
    assert.equal(lt.headers.authorization, undefined);
    assert.equal(lg.headers.authorization, 'bearer sim-gr4vy-token');
    assert.equal(lg.headers['x-truemed-api-key'], undefined);
    for (const entry of [lt, lg]) {
      assert.equal(entry.headers.cookie, undefined);
      assert.equal(entry.headers['x-demo-lookup'], undefined);
      assert.equal(entry.headers['x-gr4vy-merchant-account-id'], undefined);
      assert.ok(!JSON.stringify(entry.headers).includes('browser'), JSON.stringify(entry.headers));
    }
  });

  it('never echoes a credential back, and passes back only the allowed headers', async () => {
    const cases = [
      ['truemed', (id) => `/proxy/truemed/api/v1/payment_tokens/provision_request/${id}`, 'sim-truemed-key'],
      ['gr4vy', (id) => `/proxy/gr4vy/payment-methods/${id}/payment-service-tokens`, 'sim-gr4vy-token'],
      ['tokenio', (id) => `/proxy/tokenio/token-requests/${id}/result`, 'c2ltOnRva2VuaW8='],
    ];
    for (const [provider, path, secret] of cases) {
      const id = `echo-${provider}`;
      const queued = await postJson(demo.url, '/_sim/faults', {
        match: { provider, id },
        faults: [
          {
            status: 503,
            body: { error: { message: `credential "${secret}" refused; header was Basic ${secret}`, errorCode: 'UNAVAILABLE' } },
            headers: {
              'retry-after': '1',
              'retry-after-ms': '150',
              'set-cookie': 'upstream=1',
              'x-upstream-secret': secret,
              'access-control-allow-origin': '*',
            },
            external: true,
          },
        ],
      });
      assert.equal(queued.status, 201);
      const res = await rawRequest(demo.url, { path: path(id), headers: { 'x-demo-lookup': `lk-echo-${provider}` } });
      assert.equal(res.status, 503, provider);
      assert.ok(!res.body.includes(secret), `${provider}: ${res.body}`);
      assert.match(res.body, /\[redacted\]/);
      assert.equal(res.headers['retry-after'], '1');
      assert.equal(res.headers['retry-after-ms'], '150');
      assert.equal(res.headers['token-external-error'], 'true');
      assert.equal(res.headers['set-cookie'], undefined);
      assert.equal(res.headers['x-upstream-secret'], undefined);
      assert.equal(res.headers['access-control-allow-origin'], undefined);
      for (const s of SIM_SECRETS) assert.ok(!JSON.stringify(res.headers).includes(s));

      // The timeline keeps the redacted body too.
      const [record] = await readEvents(demo.url, `/api/exchanges?lookup=lk-echo-${provider}`, (r) => r.length >= 1);
      assert.equal(record.httpStatus, 503);
      assert.ok(!JSON.stringify(record).includes(secret));
    }
  });

  it('answers 502 JSON when the provider drops the connection, and records it', async () => {
    await postJson(demo.url, '/_sim/faults', { match: { provider: 'tokenio', id: 'dropped' }, faults: [{ drop: true }] });
    const res = await rawRequest(demo.url, {
      path: '/proxy/tokenio/token-requests/dropped/result',
      headers: { 'x-demo-lookup': 'lk-drop' },
    });
    assert.equal(res.status, 502);
    const body = JSON.parse(res.body);
    assert.equal(body.error, 'bad_gateway');
    assert.match(body.message, /tokenio/);
    const [record] = await readEvents(demo.url, '/api/exchanges?lookup=lk-drop', (r) => r.length >= 1);
    assert.equal(record.httpStatus, 502);
    assert.equal(record.proxyError, true);
  });

  it('streams the poll timeline per lookup over Server-Sent Events, replaying earlier records', async () => {
    const tk = (await postJson(demo.url, '/_sim/flows', { provider: 'tokenio', outcome: 'rejected', pendingPolls: 1 })).body;
    const gr = (await postJson(demo.url, '/_sim/flows', { provider: 'gr4vy', outcome: 'succeeded', pendingPolls: 1 })).body;
    const tkPath = `/proxy/tokenio/token-requests/${encodeURIComponent(tk.id)}/result`;
    await rawRequest(demo.url, { path: tkPath, headers: { 'x-demo-lookup': 'lk-a' } });
    await rawRequest(demo.url, { path: tkPath, headers: { 'x-demo-lookup': 'lk-a' } });
    await rawRequest(demo.url, {
      path: `/proxy/gr4vy/payment-methods/${gr.paymentMethodId}/payment-service-tokens`,
      headers: { 'x-demo-lookup': 'lk-b' },
    });
    await rawRequest(demo.url, { path: '/proxy/tokenio/token-requests/nope/result', headers: { 'x-demo-lookup': 'lk-a' } });

    const pending = readEvents(demo.url, '/api/exchanges?lookup=lk-a', (r) => r.length >= 4);
    // A live record after the replay.
    setTimeout(() => rawRequest(demo.url, { path: tkPath, headers: { 'x-demo-lookup': 'lk-a' } }), 100);
    const records = await pending;
    assert.equal(records.length, 4);
    assert.deepEqual(records.map((r) => r.httpStatus), [200, 200, 404, 200]);
    assert.deepEqual(records.map((r) => r.providerStatus), ['PENDING', 'REJECTED', null, 'REJECTED']);
    assert.equal(records[2].errorCode, 'NOT_FOUND');
    for (const r of records) {
      assert.equal(r.lookup, 'lk-a');
      assert.equal(r.method, 'GET');
      assert.equal(r.provider, 'tokenio');
      assert.equal(typeof r.latencyMs, 'number');
      assert.ok(r.latencyMs >= 0);
      assert.ok(!Number.isNaN(Date.parse(r.time)));
      assert.equal(typeof r.body, 'string');
    }
    assert.ok(records[0].seq < records[1].seq);

    const [g] = await readEvents(demo.url, '/api/exchanges?lookup=lk-b', (r) => r.length >= 1);
    assert.deepEqual(g.items, [{ id: gr.id, status: 'processing' }]);
    assert.equal(JSON.parse(g.body).items[0].id, gr.id);

    const bad = await rawRequest(demo.url, { path: '/api/exchanges' });
    assert.equal(bad.status, 400);
  });

  it('keeps at most 4 KB of a raw body per record', async () => {
    await postJson(demo.url, '/_sim/faults', {
      match: { provider: 'tokenio', id: 'big' },
      faults: [{ status: 500, body: { error: { message: 'x'.repeat(10_000) } } }],
    });
    const res = await rawRequest(demo.url, { path: '/proxy/tokenio/token-requests/big/result', headers: { 'x-demo-lookup': 'lk-big' } });
    assert.equal(res.status, 500);
    assert.ok(res.body.length > 10_000, 'the browser gets the whole body');
    const [record] = await readEvents(demo.url, '/api/exchanges?lookup=lk-big', (r) => r.length >= 1);
    assert.equal(record.body.length, 4096);
    assert.equal(record.truncated, true);
  });

  it('serves the page and the package build, nothing else', async () => {
    const page = await rawRequest(demo.url, { path: '/' });
    assert.equal(page.status, 200);
    assert.match(page.headers['content-type'], /^text\/html/);
    assert.match(page.headers['content-security-policy'], /wasm-unsafe-eval/);
    const wasm = await rawRequest(demo.url, { path: '/pkg/web/token_status_bg.wasm' });
    assert.equal(wasm.status, 200);
    assert.equal(wasm.headers['content-type'], 'application/wasm');
    const js = await rawRequest(demo.url, { path: '/pkg/index.js' });
    assert.match(js.headers['content-type'], /^text\/javascript/);
    for (const name of ['/app.js', '/style.css']) assert.equal((await rawRequest(demo.url, { path: name })).status, 200);
    for (const path of [
      '/pkg/../package.json',
      '/pkg/%2e%2e/package.json',
      '/pkg/..%2fpackage.json',
      '/pkg/web/..%2F..%2FCargo.toml',
      '/pkg/',
      '/pkg/web',
      '/server.mjs',
      '/simulator.mjs',
      '/simulator/index.mjs',
      '/www/server.mjs',
      '/pkg/%00',
    ]) {
      assert.equal((await rawRequest(demo.url, { path })).status, 404, path);
    }
  });

  it('reports every provider as simulated in /api/config', async () => {
    const res = await fetch(`${demo.url}/api/config`);
    assert.deepEqual(await res.json(), {
      providers: {
        truemed: { mode: 'simulated', environment: 'simulator' },
        gr4vy: { mode: 'simulated', environment: 'simulator' },
        tokenio: { mode: 'simulated', environment: 'simulator' },
      },
      webhooks: {
        truemed: { path: '/webhooks/truemed', secrets: 'generated' },
        gr4vy: { path: '/webhooks/gr4vy', secrets: 'generated' },
      },
    });
  });
});

describe('demo proxy (live mode configuration)', () => {
  it('reports live for the providers whose credentials are set, simulated for the others', async () => {
    const demo = await startDemo({
      port: 0,
      env: { TRUEMED_API_KEY: 'fake-truemed-key', TRUEMED_ENVIRONMENT: 'production', TOKENIO_BASIC_CREDENTIALS: 'ZmFrZTpmYWtl' },
    });
    try {
      const config = await (await fetch(`${demo.url}/api/config`)).json();
      assert.deepEqual(config.providers, {
        truemed: { mode: 'live', environment: 'production' },
        gr4vy: { mode: 'simulated', environment: 'simulator' },
        tokenio: { mode: 'live', environment: 'sandbox' },
      });
      assert.ok(!JSON.stringify(config).includes('fake'));
      // The allow-list still applies before anything could go out.
      const res = await rawRequest(demo.url, { path: '/proxy/truemed/api/v1/other' });
      assert.equal(res.status, 404);
    } finally {
      await demo.close();
    }

    const gr = await startDemo({ port: 0, env: { GR4VY_INSTANCE_ID: 'acme', GR4VY_BEARER_TOKEN: 'fake.jwt.token' } });
    try {
      const config = await (await fetch(`${gr.url}/api/config`)).json();
      assert.deepEqual(config.providers.gr4vy, { mode: 'live', environment: 'sandbox' });
      assert.equal(config.providers.truemed.mode, 'simulated');
      assert.equal(config.providers.tokenio.mode, 'simulated');
    } finally {
      await gr.close();
    }
  });

  it('refuses incomplete or conflicting credentials at start', async () => {
    await assert.rejects(startDemo({ port: 0, env: { GR4VY_INSTANCE_ID: 'acme' } }), /GR4VY_BEARER_TOKEN/);
    await assert.rejects(
      startDemo({ port: 0, env: { TOKENIO_BEARER_TOKEN: 'a', TOKENIO_BASIC_CREDENTIALS: 'b' } }),
      /not both/,
    );
    await assert.rejects(startDemo({ port: 0, env: { TRUEMED_API_KEY: 'k', TRUEMED_ENVIRONMENT: 'prod' } }), /TRUEMED_ENVIRONMENT/);
    await assert.rejects(
      startDemo({ port: 0, env: { GR4VY_INSTANCE_ID: 'evil.com/x', GR4VY_BEARER_TOKEN: 't' } }),
      /GR4VY_INSTANCE_ID/,
    );
  });
});
