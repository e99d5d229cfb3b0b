// Tests for the simulator's webhooks (www/simulator/README.md, "Webhooks"): flows that finish
// by time, deliveries to a real HTTP receiver verified here with node:crypto, retries until
// 2xx (Truemed: 204), unsigned Truemed deliveries, ordering, the delivery log, and no timer or
// secret left behind. Run: node --test www/simulator-webhooks.test.mjs

import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { startSimulator } from './simulator/index.mjs';
import { runNode } from './simulator-test-support.mjs';

const TRUEMED_SECRET = 'tm-whsec-8a1f0c3e5b7d9f21';
const GR4VY_SECRETS = ['gr4vy-whsec-old-55aa', 'gr4vy-whsec-new-77bb'];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A webhook receiver. `answer(n, hit)` decides the n-th request's answer (1-based): a status,
 * 'drop' (destroy the socket) or 'hang' (never answer); default 204. Every request is kept in
 * `hits` as `{ n, at, done, path, headers, body }` (`done`: when it was answered).
 */
async function receiver(answer = () => 204) {
  const hits = [];
  const waiting = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const hit = { n: hits.length + 1, at: Date.now(), done: null, path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      hits.push(hit);
      for (const w of [...waiting]) if (hits.length >= w.n) w.resolve();
      const a = answer(hit.n, hit);
      if (a === 'hang') return;
      if (a === 'drop') return void req.socket.destroy();
      hit.done = Date.now();
      res.writeHead(a).end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}/hooks`;
  return {
    url,
    hits,
    /** Resolves once `n` requests arrived (rejects after `ms`). */
    waitFor(n, ms = 5000) {
      if (hits.length >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`receiver got ${hits.length} of ${n} requests`)), ms);
        waiting.push({ n, resolve: () => (clearTimeout(t), resolve()) });
      });
    },
    close: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

const hmac = (secret, t, body) => createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
const same = (a, b) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** Checks Truemed's `x-truemed-signature: t=<unix>,v1=<hex>` of a hit; returns `t`. */
function assertTruemedSigned(hit, secret = TRUEMED_SECRET) {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(hit.headers['x-truemed-signature'] ?? '');
  assert.ok(m, `signature header: ${hit.headers['x-truemed-signature']}`);
  assert.ok(same(m[2], hmac(secret, m[1], hit.body)), 'v1 is HMAC-SHA256(secret, "{t}.{raw body}")');
  assert.ok(Math.abs(Number(m[1]) - hit.at / 1000) < 5, 'signed just now');
  assert.equal(hit.headers['x-truemed-api-key'], undefined);
  return Number(m[1]);
}

/** Checks Gr4vy's headers of a hit: one signature per secret over "{timestamp}.{body}". */
function assertGr4vySigned(hit, secrets = GR4VY_SECRETS) {
  const t = hit.headers['x-gr4vy-webhook-timestamp'];
  assert.match(t, /^\d+$/);
  assert.ok(Math.abs(Number(t) - hit.at / 1000) < 5);
  const sigs = hit.headers['x-gr4vy-webhook-signatures'].split(',');
  assert.equal(sigs.length, secrets.length, 'one signature per active secret');
  secrets.forEach((s, i) => assert.ok(same(sigs[i], hmac(s, t, hit.body)), `signature ${i} is by secret ${i}`));
  assert.match(hit.headers['x-gr4vy-webhook-id'], /^[0-9a-f-]{36}$/);
  assert.equal(hit.headers['content-type'], 'application/json');
}

let sim;
let hook;
const lines = [];

before(async () => {
  sim = await startSimulator({ port: 0, log: (l) => lines.push(l) });
});
after(async () => {
  await hook?.close();
  await sim.close();
});
beforeEach(async () => {
  sim.sim.reset();
  await hook?.close();
  hook = null;
});

async function ctl(path, body, method = 'POST') {
  const r = await fetch(`${sim.url}/_sim/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

const truemedStatus = async (id) =>
  (await fetch(`${sim.url}/truemed/api/v1/payment_tokens/provision_request/${id}`, { headers: { 'x-truemed-api-key': 'sim-truemed-key' } })).json();

/** Waits until the delivery log has `n` records in a final state. */
async function settled(n, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const list = sim.sim.webhooks();
    if (list.filter((d) => ['delivered', 'failed'].includes(d.state)).length >= n) return list;
    if (Date.now() > end) throw new Error(`deliveries: ${JSON.stringify(list.map((d) => d.state))}`);
    await sleep(10);
  }
}

function assertNoSecrets(...texts) {
  for (const text of texts) {
    for (const s of [TRUEMED_SECRET, ...GR4VY_SECRETS]) assert.ok(!text.includes(s), 'no secret shows');
  }
}

describe('Truemed webhooks', () => {
  test('a signed payment_token_updated arrives when the flow completes by time, with no poll', async () => {
    hook = await receiver();
    const created = await ctl('flows', { provider: 'truemed', completeAfterMs: 80, webhook: { url: hook.url, secret: TRUEMED_SECRET } });
    assert.equal(created.status, 201);
    const flow = created.body;
    assert.deepEqual(flow.webhook, { url: hook.url, method: 'signed' });
    assert.ok(Date.parse(flow.completeAt) - Date.parse(flow.createdAt) >= 80);
    await hook.waitFor(1);
    assert.equal(sim.sim.requests().length, 0, 'nobody polled');
    const [hit] = hook.hits;
    assert.equal(hit.path, '/hooks');
    assert.ok(hit.at - Date.parse(flow.createdAt) >= 75, 'not before completeAfterMs');
    assertTruemedSigned(hit);
    const body = JSON.parse(hit.body);
    const done = sim.sim.getFlow(flow.id);
    assert.equal(done.status, 'provisioned');
    assert.match(body.webhook_delivery_id, /^wd_[0-9a-f]{32}$/);
    assert.equal(body.event_type, 'payment_token.updated');
    assert.equal(body.data.payment_token, done.token);
    assert.equal(body.data.provision_token_request_id, flow.id);
    assert.ok(!Number.isNaN(Date.parse(body.data.lmn_expires_at)));
    // The status endpoint agrees with the webhook.
    assert.equal((await truemedStatus(flow.id)).payment_token, done.token);

    const [d] = await settled(1);
    assert.equal(d.state, 'delivered');
    assert.equal(d.provider, 'truemed');
    assert.equal(d.flowId, flow.id);
    assert.equal(d.type, 'payment_token.updated');
    assert.equal(d.webhookId, body.webhook_delivery_id);
    assert.equal(d.method, 'signed');
    assert.equal(d.body, hit.body);
    assert.deepEqual(d.attempts.map((a) => [a.n, a.status, a.error]), [[1, 204, null]]);
    const listed = await ctl(`webhooks?flow=${encodeURIComponent(flow.id)}`, undefined, 'GET');
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.map((x) => x.seq), [d.seq]);
    assert.deepEqual((await ctl('webhooks?provider=gr4vy', undefined, 'GET')).body, []);
    assertNoSecrets(JSON.stringify(listed.body), JSON.stringify(sim.sim.getFlow(flow.id)), lines.join('\n'));
  });

  test('retries until 204: a 500, a 200 (Truemed wants 204), a dropped connection, then 204', async () => {
    const answers = [500, 200, 'drop', 204];
    hook = await receiver((n) => answers[n - 1] ?? 204);
    const flow = sim.sim.createFlow({
      provider: 'truemed',
      completeAfterMs: 0,
      webhook: { url: hook.url, secret: TRUEMED_SECRET, retryDelaysMs: [30, 60, 90, 1000] },
    });
    await hook.waitFor(4);
    const [d] = await settled(1);
    assert.equal(d.state, 'delivered');
    assert.deepEqual(d.attempts.map((a) => a.status), [500, 200, null, 204]);
    assert.match(d.attempts[2].error, /^E[A-Z]+$/, 'a network error names its code');
    // The same delivery every time (same id and body), each attempt signed afresh.
    const bodies = new Set(hook.hits.map((h) => h.body));
    assert.equal(bodies.size, 1);
    assert.equal(JSON.parse(hook.hits[0].body).data.provision_token_request_id, flow.id);
    for (const h of hook.hits) assertTruemedSigned(h);
    // The backoff: each retry waits its delay.
    const gaps = hook.hits.slice(1).map((h, i) => h.at - hook.hits[i].at);
    [30, 60, 90].forEach((ms, i) => assert.ok(gaps[i] >= ms - 5, `gap ${i}: ${gaps[i]} ms >= ${ms}`));
    await sleep(150);
    assert.equal(hook.hits.length, 4, 'nothing after the 204');
  });

  test('gives up after its schedule, and an answer that never comes is a timeout', async () => {
    hook = await receiver(() => 503);
    sim.sim.createFlow({ provider: 'truemed', completeAfterMs: 0, webhook: { url: hook.url, secret: TRUEMED_SECRET, retryDelaysMs: [10, 10] } });
    const [d] = await settled(1);
    assert.equal(d.state, 'failed');
    assert.deepEqual(d.attempts.map((a) => a.status), [503, 503, 503]);
    await sleep(60);
    assert.equal(hook.hits.length, 3);

    const silent = await receiver(() => 'hang');
    try {
      sim.sim.createFlow({ provider: 'truemed', completeAfterMs: 0, webhook: { url: silent.url, secret: TRUEMED_SECRET, retryDelaysMs: [], timeoutMs: 100 } });
      const list = await settled(2);
      assert.equal(list[1].state, 'failed');
      assert.deepEqual(list[1].attempts.map((a) => [a.status, a.error]), [[null, 'timeout']]);
      assert.ok(list[1].attempts[0].ms >= 95);
    } finally {
      await silent.close();
    }
  });

  test('unsigned (legacy) destinations send the secret as x-truemed-api-key and the flat payload', async () => {
    hook = await receiver();
    const flow = (await ctl('flows', { provider: 'truemed', completeAfterMs: 0, webhook: { url: hook.url, secret: TRUEMED_SECRET, method: 'unsigned' } })).body;
    assert.deepEqual(flow.webhook, { url: hook.url, method: 'unsigned' });
    await hook.waitFor(1);
    const [hit] = hook.hits;
    assert.equal(hit.headers['x-truemed-api-key'], TRUEMED_SECRET);
    assert.equal(hit.headers['x-truemed-signature'], undefined);
    const body = JSON.parse(hit.body);
    assert.deepEqual(Object.keys(body).sort(), ['lmn_expires_at', 'payment_token', 'provision_token_request_id']);
    assert.equal(body.provision_token_request_id, flow.id);
    assert.equal(body.payment_token, sim.sim.getFlow(flow.id).token);
    const [d] = await settled(1);
    assert.deepEqual([d.type, d.method, d.webhookId], ['payment_token_updated', 'unsigned', null]);
    assertNoSecrets(JSON.stringify(sim.sim.webhooks()), JSON.stringify(sim.sim.getFlow(flow.id)), lines.join('\n'));
  });

  test('flows that never provision send nothing', async () => {
    hook = await receiver();
    sim.sim.createFlow({ provider: 'truemed', outcome: 'failed', completeAfterMs: 0, webhook: { url: hook.url, secret: TRUEMED_SECRET } });
    await sleep(100);
    assert.deepEqual(sim.sim.webhooks(), []);
    assert.equal(hook.hits.length, 0);
  });
});

describe('Gr4vy webhooks', () => {
  test('every status change: a payment-service-token event, then a payment-method event, each signed per secret', async () => {
    hook = await receiver();
    const flow = (
      await ctl('flows', {
        provider: 'gr4vy',
        outcome: 'action_required',
        completeAfterMs: 30,
        merchantAccountId: 'merchant-7',
        webhook: { url: hook.url, secrets: GR4VY_SECRETS },
      })
    ).body;
    await hook.waitFor(2);
    // completeAfterMs stops at the buyer's approval.
    assert.equal(sim.sim.getFlow(flow.id).status, 'buyer_approval_required');
    sim.sim.approve(flow.id);
    await hook.waitFor(4);
    const list = await settled(4);

    const events = hook.hits.map((h) => JSON.parse(h.body));
    assert.deepEqual(
      events.map((e) => [e.name, e.target.type, e.target.status]),
      [
        ['payment-service-token.updated', 'payment-service-token', 'buyer_approval_required'],
        ['payment-method.updated', 'payment-method', 'buyer_approval_required'],
        ['payment-service-token.updated', 'payment-service-token', 'succeeded'],
        ['payment-method.updated', 'payment-method', 'succeeded'],
      ],
    );
    hook.hits.forEach((h, i) => {
      assertGr4vySigned(h);
      assert.equal(h.headers['x-gr4vy-webhook-id'], list[i].webhookId);
      assert.equal(h.body, list[i].body);
    });
    for (const e of events) {
      assert.equal(e.type, 'event');
      assert.match(e.id, /^[0-9a-f-]{36}$/);
      assert.equal(e.merchant_account_id, 'merchant-7');
      assert.equal(e.environment, 'sandbox');
      assert.equal(typeof e.gr4vy_id, 'string');
      assert.ok(!Number.isNaN(Date.parse(e.created_at)));
    }
    const [approval, , done, method] = events;
    assert.equal(approval.target.id, flow.id);
    assert.equal(approval.target.payment_method_id, flow.paymentMethodId);
    assert.equal(approval.target.approval_url, `${sim.url}/_sim/approve/${flow.id}`);
    assert.equal(approval.target.token, null);
    assert.equal(done.target.token, sim.sim.getFlow(flow.id).token);
    assert.equal(done.target.approval_url, null);
    assert.deepEqual(Object.keys(done.target).sort(), ['approval_url', 'created_at', 'id', 'payment_method_id', 'payment_service_id', 'status', 'token', 'type', 'updated_at']);
    assert.equal(method.target.id, flow.paymentMethodId);
    assert.equal(new Set(list.map((d) => d.webhookId)).size, 4, 'each delivery has its own id');
    assertNoSecrets(JSON.stringify(list), JSON.stringify(sim.sim.getFlow(flow.id)), lines.join('\n'));
  });

  test('deliveries go one at a time, in order, even while one is being retried; any 2xx is accepted', async () => {
    // The first delivery fails twice and the receiver is slow; later events wait behind it.
    hook = await receiver((n) => (n <= 2 ? 500 : n === 3 ? 202 : 200));
    const flow = sim.sim.createFlow({
      provider: 'gr4vy',
      steps: [{ status: 'processing', ms: 0 }, { status: 'paused', ms: 20 }, { status: 'succeeded' }],
      webhook: { url: hook.url, secret: GR4VY_SECRETS[0], targets: ['payment-service-token'], retryDelaysMs: [40, 40] },
    });
    await hook.waitFor(4);
    const list = await settled(2);
    assert.deepEqual(
      hook.hits.map((h) => JSON.parse(h.body).target.status),
      ['paused', 'paused', 'paused', 'succeeded'],
    );
    assert.ok(hook.hits[3].at >= hook.hits[2].done, 'the next delivery waited for the one before');
    assert.deepEqual(list.map((d) => [d.state, d.attempts.map((a) => a.status)]), [
      ['delivered', [500, 500, 202]],
      ['delivered', [200]],
    ]);
    for (const h of hook.hits) assertGr4vySigned(h, [GR4VY_SECRETS[0]]);
    assert.equal(sim.sim.getFlow(flow.id).status, 'succeeded', 'timed steps of a flow with a webhook move without polls');
    assert.equal(sim.sim.requests().length, 0);
  });

  test('targets: ["payment-method"] sends only payment method events', async () => {
    hook = await receiver();
    const flow = sim.sim.createFlow({ provider: 'gr4vy', outcome: 'failed', completeAfterMs: 0, webhook: { url: hook.url, secrets: GR4VY_SECRETS, targets: ['payment-method'] } });
    await hook.waitFor(1);
    await sleep(50);
    assert.equal(hook.hits.length, 1);
    const e = JSON.parse(hook.hits[0].body);
    assert.deepEqual([e.name, e.target.type, e.target.id, e.target.status], ['payment-method.updated', 'payment-method', flow.paymentMethodId, 'failed']);
  });
});

describe('flows that finish without polls', () => {
  test('completeAfterMs holds the pending step until the timer, whatever the polls; pendingPolls still counts when given', async () => {
    const timed = sim.sim.createFlow({ provider: 'truemed', completeAfterMs: 150 });
    for (let i = 0; i < 5; i++) assert.equal((await truemedStatus(timed.id)).payment_token, null);
    await sleep(200);
    assert.equal(sim.sim.getFlow(timed.id).status, 'provisioned');
    assert.match((await truemedStatus(timed.id)).payment_token, /^tm_pt_/);

    const both = sim.sim.createFlow({ provider: 'truemed', completeAfterMs: 60_000, pendingPolls: 1 });
    await truemedStatus(both.id);
    assert.match((await truemedStatus(both.id)).payment_token, /^tm_pt_/);
  });

  test('POST /_sim/flows/{id}/complete moves a flow to its outcome now, and sends its webhook', async () => {
    hook = await receiver();
    const flow = (await ctl('flows', { provider: 'truemed', webhook: { url: hook.url, secret: TRUEMED_SECRET } })).body;
    const r = await ctl(`flows/${encodeURIComponent(flow.id)}/complete`);
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'provisioned');
    assert.ok(r.body.completeAt);
    await hook.waitFor(1);
    assertTruemedSigned(hook.hits[0]);
    // Gr4vy's action_required stops at the approval; a finished flow stays as it is.
    const g = sim.sim.createFlow({ provider: 'gr4vy', outcome: 'action_required' });
    assert.equal(sim.sim.complete(g.id).status, 'buyer_approval_required');
    assert.equal(sim.sim.complete(g.id).status, 'buyer_approval_required');
    assert.equal((await ctl('flows/nope/complete')).status, 404);
    assert.equal((await ctl(`flows/${encodeURIComponent(flow.id)}/complete`, undefined, 'GET')).status, 405);
  });

  test('the simulator-wide webhooks option reaches every flow of its provider, Gr4vy provisions included', async () => {
    const wide = await receiver();
    const own = await receiver();
    const s = await startSimulator({
      port: 0,
      webhooks: {
        truemed: { url: `${wide.url}/truemed`, secret: TRUEMED_SECRET, method: 'unsigned' },
        gr4vy: { url: `${wide.url}/gr4vy`, secrets: GR4VY_SECRETS, targets: ['payment-service-token'] },
      },
    });
    try {
      const post = async (path, body, headers = {}) =>
        (await fetch(s.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })).json();
      const t = await post('/_sim/flows', { provider: 'truemed', completeAfterMs: 0 });
      assert.deepEqual(t.webhook, { url: `${wide.url}/truemed`, method: 'unsigned' });
      const quiet = await post('/_sim/flows', { provider: 'truemed', completeAfterMs: 0, webhook: null });
      assert.equal(quiet.webhook, null);
      await post('/_sim/flows', { provider: 'truemed', completeAfterMs: 0, webhook: { url: own.url, secret: 'own-secret' } });
      const token = await post(
        '/gr4vy/payment-methods/pm-wide/payment-service-tokens',
        { payment_service_id: 'svc', redirect_url: 'https://shop.example/' },
        { authorization: 'bearer sim-gr4vy-token' },
      );
      s.sim.complete(token.id);
      await wide.waitFor(2);
      await own.waitFor(1);
      await sleep(50);
      assert.deepEqual(wide.hits.map((h) => h.path).sort(), ['/hooks/gr4vy', '/hooks/truemed']);
      const g = wide.hits.find((h) => h.path.endsWith('gr4vy'));
      assertGr4vySigned(g);
      const e = JSON.parse(g.body);
      assert.equal(e.target.id, token.id);
      assert.equal(e.target.payment_method_id, 'pm-wide');
      assert.equal(e.target.approval_url, `${s.url}/_sim/approve/${token.id}`, 'links use the origin the provision came through');
      assertTruemedSigned(own.hits[0], 'own-secret');
      assert.equal(s.sim.webhooks().length, 3);
    } finally {
      await s.close();
      await wide.close();
      await own.close();
    }
  });

  test('bad webhook options: 400 for a flow, a TypeError for the simulator', async () => {
    const bad = [
      [{ provider: 'tokenio', webhook: { url: 'http://127.0.0.1:1/', secret: 'x' } }, /tokenio sends no webhooks/],
      [{ provider: 'truemed', webhook: { secret: 'x' } }, /webhook\.url/],
      [{ provider: 'truemed', webhook: { url: 'ftp://x/', secret: 'x' } }, /webhook\.url/],
      [{ provider: 'truemed', webhook: { url: 'http://x/' } }, /webhook\.secret/],
      [{ provider: 'truemed', webhook: { url: 'http://x/', secret: 'a\nb' } }, /webhook\.secret/],
      [{ provider: 'truemed', webhook: { url: 'http://x/', secret: 'x', method: 'hmac' } }, /webhook\.method/],
      [{ provider: 'truemed', webhook: { url: 'http://x/', secret: 'x', secrets: ['y'] } }, /webhook\.secrets is not an option/],
      [{ provider: 'gr4vy', webhook: { url: 'http://x/', secrets: [] } }, /webhook\.secrets/],
      [{ provider: 'gr4vy', webhook: { url: 'http://x/', secret: 'a', secrets: ['b'] } }, /not both/],
      [{ provider: 'gr4vy', webhook: { url: 'http://x/', secret: 'a', targets: ['transaction'] } }, /webhook\.targets/],
      [{ provider: 'gr4vy', webhook: { url: 'http://x/', secret: 'a', retryDelaysMs: [-1] } }, /retryDelaysMs/],
      [{ provider: 'gr4vy', webhook: { url: 'http://x/', secret: 'a', timeoutMs: 0 } }, /timeoutMs/],
      [{ provider: 'gr4vy', webhook: 'http://x/' }, /webhook must be an object/],
      [{ provider: 'truemed', completeAfterMs: -5 }, /completeAfterMs/],
    ];
    for (const [spec, message] of bad) {
      const r = await ctl('flows', spec);
      assert.equal(r.status, 400, JSON.stringify(spec));
      assert.match(r.body.error, message);
      assert.ok(!JSON.stringify(r.body).includes('a\nb'));
    }
    for (const [webhooks, message] of [
      [{ tokenio: { url: 'http://x/', secret: 'x' } }, /only truemed and gr4vy/],
      [{ truemed: { url: 'http://x/' } }, /webhooks\.truemed\.secret/],
      ['http://x/', /webhooks must be an object/],
    ]) {
      await assert.rejects(startSimulator({ port: 0, webhooks }), (err) => err instanceof TypeError && message.test(err.message));
    }
    assert.deepEqual(sim.sim.webhooks(), []);
  });

  test('reset cancels pending deliveries; close() leaves no timer or socket behind', async () => {
    hook = await receiver(() => 500);
    sim.sim.createFlow({ provider: 'truemed', completeAfterMs: 0, webhook: { url: hook.url, secret: TRUEMED_SECRET, retryDelaysMs: [50, 50, 50] } });
    await hook.waitFor(1);
    assert.equal((await ctl('reset')).status, 204);
    assert.deepEqual(sim.sim.webhooks(), []);
    await sleep(120);
    assert.equal(hook.hits.length, 1, 'no retry after reset');

    const script = `
      import http from 'node:http';
      import { startSimulator } from ${JSON.stringify(new URL('./simulator/index.mjs', import.meta.url).href)};
      const hang = http.createServer(() => {});
      await new Promise((r) => hang.listen(0, '127.0.0.1', r));
      const s = await startSimulator({ port: 0, webhooks: {
        truemed: { url: 'http://127.0.0.1:' + hang.address().port + '/', secret: 'x', timeoutMs: 60000 },
        gr4vy: { url: 'http://127.0.0.1:1/', secret: 'x', retryDelaysMs: [60000] },
      } });
      s.sim.createFlow({ provider: 'truemed', completeAfterMs: 60000 });
      s.sim.createFlow({ provider: 'truemed', completeAfterMs: 0 });
      s.sim.createFlow({ provider: 'gr4vy', completeAfterMs: 0 });
      s.sim.createFlow({ provider: 'gr4vy', stepMs: 60000 });
      while (!s.sim.webhooks().some((d) => d.state === 'retrying') || !s.sim.webhooks().some((d) => d.state === 'sending')) {
        await new Promise((r) => setTimeout(r, 10));
      }
      await s.close();
      hang.closeAllConnections();
      hang.close();
      console.log('closed', s.sim.webhooks().map((d) => d.state).sort().join(','));
    `;
    const t0 = Date.now();
    const r = await runNode(['--input-type=module', '-'], { input: script, timeoutMs: 8000 });
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^closed /);
    assert.ok(Date.now() - t0 < 6000, 'the process exited by itself');
  });
});
