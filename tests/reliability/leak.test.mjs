// Leaks: 100,000 sequential calls (8 chains of 12,500 calls, each call awaited before the next)
// mixing successes with failures. The wasm linear memory must not grow at all between the
// 10,000th and the 100,000th call, and the JS heap after GC must stay within 10 MB of its level
// after the first 10,000 calls. The calls run in a child (`node --expose-gc scenarios/leak.mjs`).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { RELIABILITY, mb, runNode, show, startSimulatorChild } from './support/harness.mjs';

const CALLS = 100_000;
const CHAINS = 8;
const CHECKPOINT = 10_000;
const MiB = 1024 * 1024;

describe('leak: 100,000 sequential calls', () => {
  let sim;
  before(async () => { sim = await startSimulatorChild(); }, { timeout: 30_000 });
  after(async () => { await sim?.stop(); }, { timeout: 30_000 });

  test('wasm memory flat and JS heap bounded from the 10,000th to the 100,000th call', { timeout: 240_000 }, async (t) => {
    const r = await runNode(join(RELIABILITY, 'scenarios', 'leak.mjs'), [sim.url, String(CALLS), String(CHAINS), String(CHECKPOINT)], {
      flags: ['--expose-gc'],
      timeoutMs: 230_000,
    });
    assert.equal(r.code, 0, show(r));
    assert.ok(r.json, `no JSON result\n${show(r)}`);
    const { calls, ms, tally, mismatchCount, mismatches, requests, checkpoints, events } = r.json;

    assert.equal(calls, CALLS);
    assert.deepEqual(mismatches, [], `${mismatchCount} call(s) ended differently than expected`);
    assert.deepEqual(tally, { ok: 40_000, not_found: 20_000, invalid_argument: 20_000, aborted: 20_000 });
    assert.equal(requests, 60_000, 'exactly one request per HTTP call (invalid arguments and aborts send nothing)');
    assert.deepEqual(events, { unhandledRejection: 0, uncaughtException: 0 });

    const at10k = checkpoints.find((c) => c.calls === 10_000);
    const at100k = checkpoints.find((c) => c.calls === CALLS);
    assert.ok(at10k && at100k, JSON.stringify(checkpoints));
    for (const c of checkpoints.filter((x) => x.calls >= 10_000)) {
      assert.equal(c.wasm, at10k.wasm, `wasm memory at call ${c.calls}: ${c.wasm} bytes, at call 10,000: ${at10k.wasm}`);
    }
    const heapGrowth = at100k.heap - at10k.heap;
    assert.ok(heapGrowth <= 10 * MiB, `JS heap after GC grew ${mb(heapGrowth)} MB between call 10,000 and ${CALLS}`);

    t.diagnostic(`${calls} calls (${CHAINS} chains) in ${ms} ms (${Math.round(calls / (ms / 1000))} calls/s), ${requests} HTTP requests; ` +
      `outcomes ${JSON.stringify(tally)}`);
    t.diagnostic(`wasm memory: start ${mb(checkpoints[0].wasm)} MB, at 10k ${mb(at10k.wasm)} MB, at 100k ${mb(at100k.wasm)} MB ` +
      `(max over checkpoints ${mb(Math.max(...checkpoints.map((c) => c.wasm)))} MB)`);
    t.diagnostic(`JS heap after GC: start ${mb(checkpoints[0].heap)} MB, at 10k ${mb(at10k.heap)} MB, at 100k ${mb(at100k.heap)} MB ` +
      `(max over checkpoints ${mb(Math.max(...checkpoints.map((c) => c.heap)))} MB)`);
    t.diagnostic(`checkpoints (calls: wasm bytes / heap MB / ms): ${checkpoints.map((c) => `${c.calls}: ${c.wasm}/${mb(c.heap)}/${c.ms}`).join(', ')}`);
  });
});
