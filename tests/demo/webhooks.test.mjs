// The demo server's webhook routes (POST /webhooks/truemed, /webhooks/gr4vy): deliveries signed
// here with node:crypto and the secrets from the environment are verified by the package,
// answered 204 and streamed to the lookups that polled their id; forged, stale, tampered,
// oversized or unsigned ones get 400 with the error code and reach no page; no secret is ever
// shown. Without secrets in the environment, the simulator's own deliveries verify.
// Run: node --test tests/demo/
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startDemo } from '../../www/server.mjs';
import { postJson, rawRequest, readEvents } from './_helpers.mjs';

const TRUEMED_SECRET = 'tm-env-whsec-3f9a1c77d2';
const GR4VY_SECRETS = ['gr-env-whsec-old-81b2', 'gr-env-whsec-new-c4e0'];
const ENV = { TRUEMED_WEBHOOK_SECRET: TRUEMED_SECRET, GR4VY_WEBHOOK_SECRETS: ` ${GR4VY_SECRETS[0]} ,${GR4VY_SECRETS[1]}` };
const now = () => Math.floor(Date.now() / 1000);
const hmac = (secret, t, body) => createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');

/** A Truemed signed delivery of `body` (an object or raw text). */
function truemedSigned(body, { secret = TRUEMED_SECRET, t = now() } = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return { headers: { 'content-type': 'application/json', 'x-truemed-signature': `t=${t},v1=${hmac(secret, t, text)}` }, body: text };
}

/** A Gr4vy delivery of `event`, signed with `secrets` (one signature each). */
function gr4vySigned(event, { secrets = GR4VY_SECRETS, t = now(), id = 'f0e1d2c3-0000-4000-8000-000000000001' } = {}) {
  const text = JSON.stringify(event);
  return {
    headers: {
      'content-type': 'application/json',
      'x-gr4vy-webhook-id': id,
      'x-gr4vy-webhook-timestamp': String(t),
      'x-gr4vy-webhook-signatures': secrets.map((s) => hmac(s, t, text)).join(','),
    },
    body: text,
  };
}

const tokenEvent = (pm, token, status) => ({
  type: 'event',
  id: 'e-1',
  name: 'payment-service-token.updated',
  merchant_account_id: 'default',
  environment: 'sandbox',
  created_at: new Date().toISOString(),
  target: { type: 'payment-service-token', id: token, payment_method_id: pm, payment_service_id: 'svc', status, approval_url: null, token: status === 'succeeded' ? 'gr4vy_tok' : null },
});

const post = (base, path, { headers, body }) => rawRequest(base, { method: 'POST', path, headers, body });

function assertNoSecret(...texts) {
  for (const text of texts) for (const s of [TRUEMED_SECRET, ...GR4VY_SECRETS]) assert.ok(!text.includes(s), 'no secret shows');
}

describe('demo webhook routes (secrets from the environment)', () => {
  let demo;
  const lines = [];
  before(async () => {
    demo = await startDemo({ port: 0, env: ENV, log: (l) => lines.push(l) });
  });
  after(() => demo?.close());

  /** A lookup that polled `id` through the proxy, so that webhooks about it reach its stream. */
  async function pollAs(lookup, path) {
    const r = await rawRequest(demo.url, { path, headers: { 'x-demo-lookup': lookup } });
    assert.ok(r.status === 200 || r.status === 404, `${path}: ${r.status}`);
  }

  it('says where to send webhooks and where the secrets come from, never what they are', async () => {
    const config = await (await fetch(`${demo.url}/api/config`)).json();
    assert.deepEqual(config.webhooks, {
      truemed: { path: '/webhooks/truemed', secrets: 'environment' },
      gr4vy: { path: '/webhooks/gr4vy', secrets: 'environment' },
    });
    assertNoSecret(JSON.stringify(config));
  });

  it('verifies a signed Truemed delivery, answers 204 and streams it to the lookup that polled the id', async () => {
    const id = 'ptr_realWebhook1';
    await pollAs('lk-wh-tm', `/proxy/truemed/api/v1/payment_tokens/provision_request/${id}`);
    const data = { payment_token: 'tm_pt_fromTruemed', provision_token_request_id: id };
    const r = await post(demo.url, '/webhooks/truemed', truemedSigned({ webhook_delivery_id: 'wd_1', event_type: 'payment_token.updated', data }));
    assert.equal(r.status, 204, r.body);
    assert.equal(r.body, '');
    const records = await readEvents(demo.url, '/api/exchanges?lookup=lk-wh-tm', (rs) => rs.some((x) => x.kind === 'webhook'));
    const hook = records.find((x) => x.kind === 'webhook');
    assert.equal(hook.provider, 'truemed');
    assert.equal(hook.type, 'payment_token.updated');
    assert.equal(hook.webhookId, 'wd_1');
    assert.equal(hook.httpStatus, 204);
    assert.deepEqual(
      [hook.status.provider, hook.status.id, hook.status.state, hook.status.terminal, hook.status.token],
      ['truemed', id, 'succeeded', true, 'tm_pt_fromTruemed'],
    );
    assert.deepEqual(JSON.parse(hook.body).data, data);
    assertNoSecret(JSON.stringify(records));

    // The legacy unsigned form: the secret itself in x-truemed-api-key, the flat payload.
    const unsigned = await post(demo.url, '/webhooks/truemed', { headers: { 'x-truemed-api-key': TRUEMED_SECRET }, body: JSON.stringify(data) });
    assert.equal(unsigned.status, 204, unsigned.body);
    const again = await readEvents(demo.url, '/api/exchanges?lookup=lk-wh-tm', (rs) => rs.filter((x) => x.kind === 'webhook').length >= 2);
    assert.deepEqual(again.filter((x) => x.kind === 'webhook').map((x) => [x.type, x.webhookId]), [
      ['payment_token.updated', 'wd_1'],
      ['payment_token_updated', null],
    ]);
  });

  it('verifies Gr4vy deliveries signed by any one active secret and routes them by payment method', async () => {
    const pm = 'pm-real-1';
    await pollAs('lk-wh-gr', `/proxy/gr4vy/payment-methods/${pm}/payment-service-tokens`);
    for (const secrets of [GR4VY_SECRETS, [GR4VY_SECRETS[1]], ['someone-else', GR4VY_SECRETS[0]]]) {
      const r = await post(demo.url, '/webhooks/gr4vy', gr4vySigned(tokenEvent(pm, 'tok-1', 'succeeded'), { secrets }));
      assert.equal(r.status, 204, r.body);
    }
    const method = { ...tokenEvent(pm, 'x', 'x'), name: 'payment-method.updated', target: { type: 'payment-method', id: pm, status: 'succeeded' } };
    assert.equal((await post(demo.url, '/webhooks/gr4vy', gr4vySigned(method))).status, 204);
    const records = await readEvents(demo.url, '/api/exchanges?lookup=lk-wh-gr', (rs) => rs.filter((x) => x.kind === 'webhook').length >= 4);
    const hooks = records.filter((x) => x.kind === 'webhook');
    assert.deepEqual(hooks.map((h) => [h.type, h.status?.state ?? null, h.target.type, h.target.status]), [
      ['payment-service-token.updated', 'succeeded', 'payment-service-token', 'succeeded'],
      ['payment-service-token.updated', 'succeeded', 'payment-service-token', 'succeeded'],
      ['payment-service-token.updated', 'succeeded', 'payment-service-token', 'succeeded'],
      ['payment-method.updated', null, 'payment-method', 'succeeded'],
    ]);
    assert.equal(hooks[0].status.paymentMethodId, pm);
    assert.equal(hooks[0].webhookId, 'f0e1d2c3-0000-4000-8000-000000000001');
  });

  it('refuses forged, stale, tampered, unsigned and oversized deliveries with 400 and the error code', async () => {
    const id = 'ptr_forgeTarget';
    await pollAs('lk-wh-forged', `/proxy/truemed/api/v1/payment_tokens/provision_request/${id}`);
    const envelope = { webhook_delivery_id: 'wd_f', event_type: 'payment_token.updated', data: { payment_token: 'tm_pt_forged', provision_token_request_id: id } };
    const good = truemedSigned(envelope);
    const cases = [
      ['truemed', 'another secret', truemedSigned(envelope, { secret: 'guessed-secret' }), 'signature_mismatch'],
      ['truemed', 'a tampered body', { headers: good.headers, body: good.body.replace('tm_pt_forged', 'tm_pt_evil__') }, 'signature_mismatch'],
      ['truemed', 'a stale timestamp (a replay)', truemedSigned(envelope, { t: now() - 3600 }), 'timestamp_out_of_range'],
      ['truemed', 'no signature at all', { headers: { 'content-type': 'application/json' }, body: good.body }, 'missing_signature'],
      ['truemed', 'a wrong unsigned key', { headers: { 'x-truemed-api-key': 'guessed-secret' }, body: JSON.stringify(envelope.data) }, 'signature_mismatch'],
      ['truemed', 'a signed body that is not JSON', truemedSigned('not json'), 'invalid_body'],
      ['truemed', 'a body over 1 MiB', truemedSigned('x'.repeat(1024 * 1024 + 10)), 'invalid_body'],
      ['gr4vy', 'a Gr4vy event signed with another secret', gr4vySigned(tokenEvent('pm-x', 't', 'succeeded'), { secrets: ['guessed'] }), 'signature_mismatch'],
      ['gr4vy', 'a Gr4vy event with no headers', { headers: {}, body: JSON.stringify(tokenEvent('pm-x', 't', 'succeeded')) }, 'missing_signature'],
      ['gr4vy', 'a Truemed delivery sent to the Gr4vy route', good, 'missing_signature'],
    ];
    for (const [provider, what, delivery, code] of cases) {
      const r = await post(demo.url, `/webhooks/${provider}`, delivery);
      assert.equal(r.status, 400, `${what}: ${r.status} ${r.body}`);
      const body = JSON.parse(r.body);
      assert.equal(body.error, 'invalid_webhook', what);
      assert.equal(body.code, code, what);
      assert.equal(typeof body.message, 'string');
      assertNoSecret(r.body);
      assert.ok(!r.body.includes(delivery.headers['x-truemed-signature'] ?? '\0'), 'the signature is not echoed');
    }
    const get = await rawRequest(demo.url, { path: '/webhooks/truemed' });
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'POST');
    // None of them reached the page; only the genuine one does.
    assert.equal((await post(demo.url, '/webhooks/truemed', good)).status, 204);
    const records = await readEvents(demo.url, '/api/exchanges?lookup=lk-wh-forged', (rs) => rs.some((x) => x.kind === 'webhook'));
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(records.filter((x) => x.kind === 'webhook').map((x) => x.status.token), ['tm_pt_forged']);
    assertNoSecret(lines.join('\n'));
    assert.ok(lines.some((l) => /webhook truemed -> 400 signature_mismatch/.test(l)), lines.join('\n'));
  });
});

describe('demo webhook routes (per-run secrets, the simulator delivering)', () => {
  let demo;
  before(async () => {
    demo = await startDemo({ port: 0, env: {} });
  });
  after(() => demo?.close());

  it("accepts the simulator's deliveries, signed with this run's secrets, and refuses a guess", async () => {
    const t = (await postJson(demo.url, '/_sim/flows', { provider: 'truemed', completeAfterMs: 0 })).body;
    const g = (await postJson(demo.url, '/_sim/flows', { provider: 'gr4vy', outcome: 'failed', completeAfterMs: 0 })).body;
    assert.equal(t.webhook.url, `${demo.url}/webhooks/truemed`);
    assert.equal(g.webhook.url, `${demo.url}/webhooks/gr4vy`);
    let deliveries = [];
    for (let i = 0; i < 100 && deliveries.filter((d) => d.state === 'delivered').length < 3; i++) {
      await new Promise((r) => setTimeout(r, 20));
      deliveries = await (await fetch(`${demo.url}/_sim/webhooks`)).json();
    }
    assert.deepEqual(deliveries.map((d) => [d.provider, d.state, d.attempts.map((a) => a.status)]), [
      ['truemed', 'delivered', [204]],
      ['gr4vy', 'delivered', [204]],
      ['gr4vy', 'delivered', [204]],
    ]);
    const guess = truemedSigned({ webhook_delivery_id: 'wd', event_type: 'x', data: {} }, { secret: 'sim-truemed-key' });
    const r = await post(demo.url, '/webhooks/truemed', guess);
    assert.equal(r.status, 400);
    assert.equal(JSON.parse(r.body).code, 'signature_mismatch');
  });
});
