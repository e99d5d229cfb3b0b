// Reliability under load (Node): 1,000 concurrent waits over the three providers with 20 % of
// provider responses faulty (transient faults only), then a permanent fault (a malformed 2xx
// body) that must end one wait without harming the next. Run: node --test tests/reliability/
//
// The load itself runs in a child (`node --expose-gc scenarios/load.mjs`) so that memory can be
// measured after forced GCs; the simulator is another child, so the load spreads over two cores.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PKG_NODE, RELIABILITY, SIM_CREDENTIALS, mb, runNode, show, startSimulatorChild } from './support/harness.mjs';

const WAITS = 1000;
const WARMUP = 50;
const ROUNDS = 2;
const MiB = 1024 * 1024;

describe('load: 1,000 concurrent waits in Node under 20 % transient faults', () => {
  let sim;
  before(async () => { sim = await startSimulatorChild(); }, { timeout: 30_000 });
  after(async () => { await sim?.stop(); }, { timeout: 30_000 });

  test(`${WAITS} concurrent waits (x${ROUNDS} rounds) each resolve with exactly their own expected status`, { timeout: 60_000 }, async (t) => {
    const r = await runNode(join(RELIABILITY, 'scenarios', 'load.mjs'), [sim.url, String(WAITS), String(WARMUP), String(ROUNDS)], {
      flags: ['--expose-gc'],
      timeoutMs: 55_000,
    });
    assert.equal(r.code, 0, show(r));
    assert.ok(r.json, `no JSON result\n${show(r)}`);
    const { warmup, rounds, memory, events, approvals } = r.json;

    for (const [i, round] of [warmup, ...rounds].entries()) {
      const label = i === 0 ? 'warm-up' : `round ${i}`;
      assert.deepEqual(round.problems, [], `${label}: ${round.problemCount} problem(s)`);
      assert.equal(round.resolved, round.waits, `${label}: every wait resolves`);
      assert.equal(round.rejected, 0, `${label}: no wait rejects`);
    }
    for (const [i, round] of rounds.entries()) {
      // Failed and expired resolve; the mix is exactly what was scripted.
      assert.deepEqual(round.states, { succeeded: 667, failed: 222, expired: 111 }, `round ${i + 1} states`);
      assert.ok(round.logComplete, 'the request log covers the whole round (under its 10,000 cap)');
      assert.ok(round.faultShare >= 0.10, `faults actually happened: ${(round.faultShare * 100).toFixed(1)} % of ${round.requests} requests`);
      assert.ok(round.retriedWaits >= round.waits / 5, `many waits saw a faulted request (${round.retriedWaits})`);
    }
    assert.equal(approvals.failed, 0, 'every action_required flow was approved through its actionUrl');
    assert.deepEqual(events, { unhandledRejection: [], uncaughtException: [] }, 'no unhandled rejection or uncaught exception');

    // Memory: wasm linear memory only grows; it must settle near its post-warm-up level and not
    // grow again when the same load runs a second time.
    const growth = memory.final.wasm - memory.afterWarmup.wasm;
    assert.ok(growth <= 4 * MiB, `wasm memory grew ${mb(growth)} MB over its post-warm-up level`);
    if (rounds.length > 1) {
      const second = rounds.at(-1).memoryAfter.wasm - rounds[0].memoryAfter.wasm;
      assert.ok(second <= 1 * MiB, `wasm memory grew ${mb(second)} MB during the repeated round`);
    }
    // JS heap after GC: keep-alive sockets of the 1,000 connections are still open (undici
    // keeps them until the simulator's 5 s keep-alive timeout), so the bound is loose.
    const heapGrowth = memory.final.heap - memory.afterWarmup.heap;
    assert.ok(heapGrowth <= 40 * MiB, `JS heap grew ${mb(heapGrowth)} MB after GC`);

    for (const [i, round] of rounds.entries()) {
      t.diagnostic(`round ${i + 1}: ${round.waits} waits in ${round.ms} ms; ${round.requests} requests ` +
        `(${round.requestsPerWait.toFixed(2)} per wait, max ${round.maxRequestsPerWait}); ` +
        `fault share ${(round.faultShare * 100).toFixed(1)} % (${round.faulted} faulted); ` +
        `${round.retriedWaits} waits saw a faulted request; ${round.updatesTotal} onUpdate calls; ` +
        `states ${JSON.stringify(round.states)}; wasm after GC ${mb(round.memoryAfter.wasm)} MB`);
    }
    t.diagnostic(`warm-up: ${warmup.waits} waits in ${warmup.ms} ms, ${warmup.requests} requests`);
    t.diagnostic(`wasm memory: initial ${mb(memory.initial.wasm)} MB, after warm-up ${mb(memory.afterWarmup.wasm)} MB, ` +
      `peak ${mb(memory.peakWasm)} MB, final (after GC) ${mb(memory.final.wasm)} MB`);
    t.diagnostic(`JS heap (after GC): after warm-up ${mb(memory.afterWarmup.heap)} MB, peak (sampled) ${mb(memory.peakHeap)} MB, ` +
      `final ${mb(memory.final.heap)} MB`);
    t.diagnostic(`scenario child total ${r.ms} ms`);
  });
});

describe('load: 10,000 concurrent waits in Node under 20 % transient faults', () => {
  let sim;
  before(async () => { sim = await startSimulatorChild(); }, { timeout: 30_000 });
  after(async () => { await sim?.stop(); }, { timeout: 30_000 });

  test('10,000 concurrent waits (Gr4vy tokens five to a payment method) each resolve with exactly their own status', { timeout: 240_000 }, async (t) => {
    const r = await runNode(join(RELIABILITY, 'scenarios', 'load.mjs'), [sim.url, '10000', String(WARMUP), '1', '5'], {
      flags: ['--expose-gc'],
      timeoutMs: 230_000,
    });
    assert.equal(r.code, 0, show(r));
    assert.ok(r.json, `no JSON result\n${show(r)}`);
    const { rounds: [round], memory, events, approvals } = r.json;
    // 0 wrong (each its own id, token, state, provider status; onUpdate never repeats or goes
    // back), 0 lost (every wait resolves), 0 duplicated (no wait gets another's status).
    assert.deepEqual(round.problems, [], `${round.problemCount} problem(s)`);
    assert.equal(round.resolved, 10_000, 'every wait resolves');
    assert.equal(round.rejected, 0, 'no wait rejects');
    assert.deepEqual(round.states, round.expectedStates, 'exactly the scripted mix of outcomes');
    assert.ok(round.faultShare >= 0.10, `faults actually happened: ${(round.faultShare * 100).toFixed(1)} % of ${round.requests} requests`);
    assert.equal(approvals.failed, 0, 'every action_required flow was approved through its actionUrl');
    assert.deepEqual(events, { unhandledRejection: [], uncaughtException: [] }, 'no unhandled rejection or uncaught exception');
    const growth = memory.peakWasm - memory.afterWarmup.wasm;
    t.diagnostic(`${round.waits} waits in ${round.ms} ms; ${round.requests} requests (${round.requestsPerWait.toFixed(2)} per wait); ` +
      `fault share ${(round.faultShare * 100).toFixed(1)} %; states ${JSON.stringify(round.states)}; ` +
      `wasm memory grew ${mb(growth)} MB (${(growth / 10_000).toFixed(0)} bytes per wait); peak JS heap ${mb(memory.peakHeap)} MB`);
  });
});

describe('load: a permanent fault ends a wait, the next wait on the same client is unharmed', () => {
  let sim;
  let api;
  before(async () => {
    sim = await startSimulatorChild();
    api = await import(PKG_NODE);
  }, { timeout: 30_000 });
  after(async () => { await sim?.stop(); }, { timeout: 30_000 });

  const MALFORMED = ['html', 'truncated', 'wrong_types', 'empty', 'not_json'];

  test('malformed 2xx body mid-wait: invalid_response (with lastStatus), then a wait succeeds', { timeout: 30_000 }, async () => {
    const { TruemedClient, Gr4vyClient, TokenIoClient, TokenStatusError } = api;
    const base = { timeoutMs: 1000, retry: { maxRetries: 3, initialDelayMs: 10, maxDelayMs: 50 } };
    const clients = {
      truemed: new TruemedClient({ ...base, baseUrl: `${sim.url}/truemed`, apiKey: SIM_CREDENTIALS.truemed }),
      gr4vy: new Gr4vyClient({ ...base, baseUrl: `${sim.url}/gr4vy`, bearerToken: SIM_CREDENTIALS.gr4vy }),
      tokenio: new TokenIoClient({ ...base, baseUrl: `${sim.url}/tokenio`, basicCredentials: SIM_CREDENTIALS.tokenioBasic }),
    };
    const waitFor = (flow, opts) => (flow.provider === 'truemed'
      ? clients.truemed.waitForProvisionTokenRequest(flow.id, opts)
      : flow.provider === 'gr4vy'
        ? clients.gr4vy.waitForPaymentServiceToken(flow.paymentMethodId, flow.id, opts)
        : clients.tokenio.waitForTokenRequestResult(flow.id, opts));
    const opts = { intervalMs: 20, maxIntervalMs: 100, deadlineMs: 10_000 };

    for (const provider of ['truemed', 'gr4vy', 'tokenio']) {
      for (const kind of MALFORMED) {
        const flow = await sim.sim.flow({ provider, outcome: 'succeeded', pendingPolls: 2 });
        const matchId = provider === 'gr4vy' ? flow.paymentMethodId : flow.id;
        // First poll answers normally (a 0 ms delay fault passes through), the second is malformed.
        await sim.sim.faults({ id: matchId }, [{ delayMs: 0 }, { malformed: kind }]);
        const updates = [];
        const err = await waitFor(flow, { ...opts, onUpdate: (s) => updates.push(s.state) }).then(
          (s) => assert.fail(`${provider}/${kind}: resolved ${JSON.stringify(s)}`),
          (e) => e,
        );
        assert.ok(err instanceof TokenStatusError, `${provider}/${kind}: ${err}`);
        assert.equal(err.kind, 'invalid_response', `${provider}/${kind}: ${err.message}`);
        assert.equal(err.retryable, false, `${provider}/${kind}`);
        assert.equal(err.attempts, 2, `${provider}/${kind}: the malformed answer is not retried`);
        assert.equal(err.lastStatus?.state, 'pending', `${provider}/${kind}: lastStatus`);
        assert.deepEqual(updates, ['pending'], `${provider}/${kind}`);

        const status = await waitFor(flow, opts);
        assert.equal(status.state, 'succeeded', `${provider}/${kind}: the next wait succeeds`);
        assert.equal(status.id, flow.id);
        assert.equal(status.token, flow.token);
      }
    }
    for (const c of Object.values(clients)) c.free();
  });
});
