// The module is never poisoned: after every kind of failure, the very next call on the SAME
// client to a good id succeeds with the right status; an aborted wait does not harm the next
// wait; and a Node process exits by itself after finished and aborted waits (no timer left).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PKG_NODE, RELIABILITY, SIM_CREDENTIALS, mb, runNode, show, startSimulatorChild, wasmMemoryBytes } from './support/harness.mjs';

const MALFORMED = ['html', 'truncated', 'wrong_types', 'empty', 'not_json', 'huge', 'huge_declared', 'huge_gzip'];

describe('poison: every failure leaves the client (and the module) usable', () => {
  let sim;
  let api;
  before(async () => {
    [sim, api] = await Promise.all([startSimulatorChild(), import(PKG_NODE)]);
  }, { timeout: 30_000 });
  after(async () => { await sim?.stop(); }, { timeout: 30_000 });

  /** Per provider: a client whose credential can be made wrong for one request, and its calls. */
  function setup(provider) {
    const { TruemedClient, Gr4vyClient, TokenIoClient } = api;
    const state = { wrongNext: false };
    const bearer = (good) => () => {
      if (state.wrongNext) {
        state.wrongNext = false;
        return 'definitely-not-the-right-token';
      }
      return good;
    };
    const base = { baseUrl: `${sim.url}/${provider}`, retry: false, timeoutMs: 5000 };
    if (provider === 'truemed') {
      const client = new TruemedClient({ ...base, apiKey: SIM_CREDENTIALS.truemed });
      return {
        client,
        state,
        get: (f, opts) => client.getProvisionTokenRequest(f.id, opts),
        getId: (f, id, opts) => client.getProvisionTokenRequest(id, opts),
        wait: (f, opts) => client.waitForProvisionTokenRequest(f.id, opts),
        matchId: (f) => f.id,
      };
    }
    if (provider === 'gr4vy') {
      const client = new Gr4vyClient({ ...base, bearerToken: bearer(SIM_CREDENTIALS.gr4vy) });
      return {
        client,
        state,
        get: (f, opts) => client.getPaymentServiceToken(f.paymentMethodId, f.id, opts),
        getId: (f, id, opts) => client.getPaymentServiceToken(f.paymentMethodId, id, opts),
        wait: (f, opts) => client.waitForPaymentServiceToken(f.paymentMethodId, f.id, opts),
        matchId: (f) => f.paymentMethodId,
      };
    }
    const client = new TokenIoClient({ ...base, bearerToken: bearer(SIM_CREDENTIALS.tokenioBearer) });
    return {
      client,
      state,
      get: (f, opts) => client.getTokenRequestResult(f.id, opts),
      getId: (f, id, opts) => client.getTokenRequestResult(id, opts),
      wait: (f, opts) => client.waitForTokenRequestResult(f.id, opts),
      matchId: (f) => f.id,
    };
  }

  /** The failures to trigger: [label, kind, status, trigger(ctx) -> Promise]. */
  function failures(provider) {
    const fault = (faults) => async (c) => {
      await sim.sim.faults({ provider, id: c.matchId(c.flow) }, faults);
      return c.get(c.flow);
    };
    const list = [
      ['empty id', 'invalid_argument', null, (c) => c.getId(c.flow, '')],
      ['control character in id', 'invalid_argument', null, (c) => c.getId(c.flow, 'a\u0007b')],
      ['id ".."', 'invalid_argument', null, (c) => c.getId(c.flow, '..')],
      ['non-string id', 'invalid_argument', null, (c) => c.getId(c.flow, { id: 1 })],
      ['1025-character id', 'invalid_argument', null, (c) => c.getId(c.flow, 'x'.repeat(1025))],
      ['401 fault', 'unauthorized', 401, fault([{ status: 401 }])],
      ['403 fault', 'unauthorized', 403, fault([{ status: 403 }])],
      ['unknown id', 'not_found', provider === 'gr4vy' ? null : 404, (c) => c.getId(c.flow, `missing-${provider}-id`)],
      ['404 fault', 'not_found', 404, fault([{ status: 404 }])],
      ['429 fault (retry disabled)', 'rate_limited', 429, fault([{ status: 429, retryAfter: '0' }])],
      ['400 fault', 'bad_request', 400, fault([{ status: 400 }])],
      ['405 fault', 'bad_request', 405, fault([{ status: 405 }])],
      ['409 fault', 'bad_request', 409, fault([{ status: 409 }])],
      ['422 fault', 'bad_request', 422, fault([{ status: 422 }])],
      ['500 fault', 'provider_error', 500, fault([{ status: 500 }])],
      ['500 fault with an HTML body', 'provider_error', 500,
        fault([{ status: 500, body: '<html><body><h1>Internal Server Error</h1></body></html>', contentType: 'text/html' }])],
      ['501 fault', 'provider_error', 501, fault([{ status: 501 }])],
      ['502 fault', 'provider_error', 502, fault([{ status: 502 }])],
      ['503 fault', 'provider_error', 503, fault([{ status: 503, external: provider === 'tokenio' }])],
      ['504 fault', 'provider_error', 504, fault([{ status: 504 }])],
      ['dropped connection (retry disabled)', 'network', null, fault([{ drop: true }])],
      ['slow answer (delay fault, timeoutMs 150)', 'timeout', null, async (c) => {
        await sim.sim.faults({ provider, id: c.matchId(c.flow) }, [{ delayMs: 1500 }]);
        return c.get(c.flow, { timeoutMs: 150 });
      }],
      ['signal aborted before the call', 'aborted', null, (c) => c.get(c.flow, { signal: AbortSignal.abort() })],
      ['signal aborted while the request is in flight', 'aborted', null, async (c) => {
        await sim.sim.faults({ provider, id: c.matchId(c.flow) }, [{ delayMs: 1500 }]);
        const ac = new AbortController();
        setTimeout(() => ac.abort(), 50);
        return c.get(c.flow, { signal: ac.signal });
      }],
      ...MALFORMED.map((kind) => [`malformed 2xx body: ${kind}`, 'invalid_response', 200, fault([{ malformed: kind }])]),
    ];
    if (provider !== 'truemed') {
      list.splice(7, 0, ['wrong credential from the bearer function (real 401)', 'unauthorized', 401, (c) => {
        c.state.wrongNext = true;
        return c.get(c.flow);
      }]);
    }
    return list;
  }

  for (const provider of ['truemed', 'gr4vy', 'tokenio']) {
    test(`${provider}: after each failure kind, the next call on the same client succeeds`, { timeout: 60_000 }, async (t) => {
      const { TokenStatusError } = api;
      const __memoryBytes = wasmMemoryBytes;
      const c = setup(provider);
      c.flow = await sim.sim.flow({ provider, outcome: 'succeeded', pendingPolls: 0 });
      const memBefore = __memoryBytes();
      const seen = new Set();
      for (const [label, kind, status, trigger] of failures(provider)) {
        const err = await trigger(c).then(
          (s) => assert.fail(`${label}: resolved ${JSON.stringify(s)}`),
          (e) => e,
        );
        assert.ok(err instanceof TokenStatusError, `${label}: not a TokenStatusError: ${err?.stack ?? err}`);
        assert.equal(err.kind, kind, `${label}: ${err.message}`);
        if (status !== null) assert.equal(err.status, status, `${label}: status`);
        assert.equal(err.provider, provider, label);
        seen.add(kind);
        const queued = await sim.sim.request('GET', '/_sim/faults');
        assert.equal(queued.queued, 0, `${label}: its fault was consumed by the failing call`);

        const s = await c.get(c.flow).catch((e) => assert.fail(`${label}: the next call failed: ${e.kind}: ${e.message}`));
        assert.equal(s.provider, provider, label);
        assert.equal(s.id, c.flow.id, label);
        assert.equal(s.state, 'succeeded', label);
        assert.equal(s.token, c.flow.token, label);
      }
      assert.deepEqual([...seen].sort(), ['aborted', 'bad_request', 'invalid_argument', 'invalid_response', 'network',
        'not_found', 'provider_error', 'rate_limited', 'timeout', 'unauthorized']);
      t.diagnostic(`${failures(provider).length} failures, each followed by a good call; wasm memory ${mb(memBefore)} MB -> ${mb(__memoryBytes())} MB`);
      c.client.free();
    });
  }

  test('a wait aborted mid-way, then a new wait on the same client succeeds', { timeout: 30_000 }, async () => {
    const { TokenStatusError } = api;
    for (const provider of ['truemed', 'gr4vy', 'tokenio']) {
      const c = setup(provider);
      // Abort during a backoff sleep, and during a request in flight (the third poll is slow).
      for (const where of ['sleep', 'request']) {
        const pending = await sim.sim.flow({ provider, outcome: 'pending' });
        if (where === 'request') {
          await sim.sim.faults({ provider, id: c.matchId(pending) }, [{ delayMs: 0 }, { delayMs: 0 }, { delayMs: 2000 }]);
        }
        const ac = new AbortController();
        const updates = [];
        const started = Date.now();
        const p = c.wait(pending, { signal: ac.signal, intervalMs: 30, maxIntervalMs: 60, deadlineMs: 20_000, onUpdate: (s) => updates.push(s.state) });
        setTimeout(() => ac.abort(), 200);
        const err = await p.then((s) => assert.fail(`resolved ${JSON.stringify(s)}`), (e) => e);
        assert.ok(err instanceof TokenStatusError);
        assert.equal(err.kind, 'aborted', `${provider}/${where}: ${err.message}`);
        assert.equal(err.lastStatus?.state, 'pending', `${provider}/${where}: lastStatus`);
        assert.ok(Date.now() - started < 1000, `${provider}/${where}: the abort ended the wait at once`);
        assert.deepEqual(updates, ['pending']);
        assert.equal((await sim.sim.request('GET', '/_sim/faults')).queued, 0, `${provider}/${where}: the slow poll happened`);
        const good = await sim.sim.flow({ provider, outcome: 'succeeded', pendingPolls: 2 });
        const s = await c.wait(good, { intervalMs: 20, maxIntervalMs: 50, deadlineMs: 10_000 });
        assert.equal(s.state, 'succeeded', `${provider}/${where}`);
        assert.equal(s.id, good.id);
        assert.equal(s.token, good.token);
      }
      c.client.free();
    }
  });

  test('a wait that ran out its deadline, then a new wait on the same client succeeds', { timeout: 30_000 }, async () => {
    for (const provider of ['truemed', 'gr4vy', 'tokenio']) {
      const c = setup(provider);
      const pending = await sim.sim.flow({ provider, outcome: 'pending' });
      const err = await c.wait(pending, { intervalMs: 20, maxIntervalMs: 50, deadlineMs: 250 }).then(
        (s) => assert.fail(`resolved ${JSON.stringify(s)}`), (e) => e);
      assert.equal(err.kind, 'timeout', `${provider}: ${err.message}`);
      assert.equal(err.lastStatus?.state, 'pending');
      const good = await sim.sim.flow({ provider, outcome: 'succeeded', pendingPolls: 1 });
      const s = await c.wait(good, { intervalMs: 20, maxIntervalMs: 50, deadlineMs: 10_000 });
      assert.equal(s.state, 'succeeded');
      assert.equal(s.token, good.token);
      c.client.free();
    }
  });

  test('an onUpdate callback that throws does not break the wait, the client or the process', { timeout: 30_000 }, async () => {
    const rejections = [];
    const onRejection = (r) => rejections.push(r);
    process.on('unhandledRejection', onRejection);
    try {
      for (const provider of ['truemed', 'gr4vy', 'tokenio']) {
        const c = setup(provider);
        const flow = await sim.sim.flow({ provider, outcome: 'succeeded', pendingPolls: 2 });
        let calls = 0;
        const s = await c.wait(flow, {
          intervalMs: 20,
          maxIntervalMs: 50,
          deadlineMs: 10_000,
          onUpdate: () => {
            calls++;
            throw new Error('callback bug');
          },
        });
        assert.equal(s.state, 'succeeded', provider);
        assert.equal(calls, 2, `${provider}: onUpdate still called for each change`);
        const again = await c.get(flow);
        assert.equal(again.token, flow.token);
        c.client.free();
      }
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(rejections, []);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });

  test('a client with a wrong credential fails (unauthorized); a good client right after is fine', { timeout: 30_000 }, async () => {
    const { TruemedClient, Gr4vyClient, TokenIoClient } = api;
    const flows = {
      truemed: await sim.sim.flow({ provider: 'truemed', outcome: 'succeeded', pendingPolls: 0 }),
      gr4vy: await sim.sim.flow({ provider: 'gr4vy', outcome: 'succeeded', pendingPolls: 0 }),
      tokenio: await sim.sim.flow({ provider: 'tokenio', outcome: 'succeeded', pendingPolls: 0 }),
    };
    const wrong = {
      truemed: new TruemedClient({ baseUrl: `${sim.url}/truemed`, apiKey: 'wrong-key', retry: false }),
      gr4vy: new Gr4vyClient({ baseUrl: `${sim.url}/gr4vy`, bearerToken: 'wrong-token', retry: false }),
      tokenio: new TokenIoClient({ baseUrl: `${sim.url}/tokenio`, basicCredentials: 'd3Jvbmc6d3Jvbmc=', retry: false }),
    };
    for (const provider of Object.keys(flows)) {
      const good = setup(provider);
      const f = flows[provider];
      const w = wrong[provider];
      const call = provider === 'truemed' ? () => w.getProvisionTokenRequest(f.id)
        : provider === 'gr4vy' ? () => w.getPaymentServiceToken(f.paymentMethodId, f.id) : () => w.getTokenRequestResult(f.id);
      const err = await call().then((s) => assert.fail(`resolved ${JSON.stringify(s)}`), (e) => e);
      assert.equal(err.kind, 'unauthorized');
      assert.equal(err.status, 401);
      const s = await good.get(f);
      assert.equal(s.state, 'succeeded');
      assert.equal(s.token, f.token);
      // The wrong client itself keeps answering (no stuck state).
      const again = await call().then(() => null, (e) => e.kind);
      assert.equal(again, 'unauthorized');
      good.client.free();
      w.free();
    }
  });

  test('a Node process exits by itself right after finished and aborted waits (no timer left)', { timeout: 30_000 }, async (t) => {
    const flows = {
      done: await sim.sim.flow({ provider: 'tokenio', outcome: 'succeeded', pendingPolls: 2 }),
      failed: await sim.sim.flow({ provider: 'gr4vy', outcome: 'failed', pendingPolls: 1 }),
      pending: await sim.sim.flow({ provider: 'truemed', outcome: 'pending' }),
      slow: await sim.sim.flow({ provider: 'tokenio', outcome: 'pending' }),
      deadline: await sim.sim.flow({ provider: 'tokenio', outcome: 'pending' }),
    };
    // The in-flight abort happens during a slow answer.
    await sim.sim.faults({ provider: 'tokenio', id: flows.slow.id }, [{ delayMs: 0 }, { delayMs: 5000 }]);
    const r = await runNode(join(RELIABILITY, 'scenarios', 'exit.mjs'), [sim.url, JSON.stringify(flows)], { timeoutMs: 20_000 });
    assert.equal(r.signal, null, `the child did not exit by itself\n${show(r)}`);
    assert.equal(r.code, 0, show(r));
    assert.ok(r.json, show(r));
    assert.deepEqual(r.json.outcomes, {
      done: 'succeeded',
      failed: 'failed',
      abortedInSleep: 'aborted',
      abortedInFlight: 'aborted',
      deadline: 'timeout',
      abortedCall: 'aborted',
    });
    const lingered = r.exitedAt - r.json.lastAwaitAt;
    assert.ok(lingered < 1000, `the process lingered ${lingered} ms after its last await`);
    t.diagnostic(`child exited ${lingered} ms after its last await (whole child ${r.ms} ms)`);
  });
});
