// Load scenario, run as a child by load.test.mjs:
//   node --expose-gc load.mjs <simulatorUrl> <waits> <warmup> <rounds> [<gr4vyTokensPerMethod>]
// Sets 20 % transient fault rates, runs a warm-up round of <warmup> waits, then <rounds> rounds
// of <waits> concurrent waits spread over the three providers, checks every result, and prints
// one JSON line of findings (memory measured after forced GCs).
import { PKG_NODE, wasmMemoryBytes as __memoryBytes, Sim } from '../support/harness.mjs';
import { CLIENT_OPTIONS, FAULT_RATES, checkWait, planFlows, startWait } from './load-plan.mjs';

const [url, waitsArg = '1000', warmupArg = '50', roundsArg = '2', perMethodArg = '1'] = process.argv.slice(2);
const TOKENS_PER_METHOD = Number(perMethodArg);
const ROUNDS = Number(roundsArg);
const WAITS = Number(waitsArg);
const WARMUP = Number(warmupArg);

const events = { unhandledRejection: [], uncaughtException: [] };
process.on('unhandledRejection', (reason) => events.unhandledRejection.push(String(reason?.stack ?? reason)));
process.on('uncaughtException', (error) => events.uncaughtException.push(String(error?.stack ?? error)));

const gc = globalThis.gc;
if (typeof gc !== 'function') throw new Error('run with --expose-gc');

const { TruemedClient, Gr4vyClient, TokenIoClient } = await import(PKG_NODE);

const control = (method, path, body) => new Sim(url).request(method, path, body);

async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  }));
  return out;
}

const clients = {
  truemed: new TruemedClient({ ...CLIENT_OPTIONS, baseUrl: `${url}/truemed`, apiKey: 'sim-truemed-key' }),
  gr4vy: new Gr4vyClient({ ...CLIENT_OPTIONS, baseUrl: `${url}/gr4vy`, bearerToken: 'sim-gr4vy-token' }),
  tokenio: new TokenIoClient({ ...CLIENT_OPTIONS, baseUrl: `${url}/tokenio`, basicCredentials: 'c2ltOnRva2VuaW8=' }),
};

const approvals = { sent: 0, failed: 0 };

async function round(n, tag) {
  const plan = planFlows(n, tag, { tokensPerMethod: TOKENS_PER_METHOD });
  const flows = await mapLimit(plan, 32, (item) => control('POST', '/_sim/flows', item.spec));
  // The log keeps the last 10,000 requests: note where it stands, then clear it for this round
  // (sequence numbers go on), so that the per-id counts below cover the whole round.
  const before = (await control('GET', '/_sim/requests')).at(-1)?.seq ?? 0;
  await control('DELETE', '/_sim/requests');
  const started = performance.now();
  const results = await Promise.all(plan.map((item, i) => startWait(clients, flows[i], item, approvals)));
  const ms = performance.now() - started;
  const log = await control('GET', '/_sim/requests');
  const after = log.at(-1)?.seq ?? before;
  const problems = plan.flatMap((item, i) => checkWait(item, flows[i], results[i]));
  // Simulator-side accounting: every provider request either read the flow (a normal answer)
  // or was answered by a fault (or cut off by the client before its delayed answer).
  const views = await mapLimit(flows, 32, (f) => control('GET', `/_sim/flows/${encodeURIComponent(f.id)}`));
  // Normal answers: each read of a flow, except that one Gr4vy list reads every token of its
  // payment method at once (the reads of any one of them count its lists).
  const answered = new Map();
  views.forEach((v, i) => {
    const key = flows[i].provider === 'gr4vy' ? `pm:${flows[i].paymentMethodId}` : `id:${flows[i].id}`;
    answered.set(key, Math.max(answered.get(key) ?? 0, v.reads));
  });
  const reads = [...answered.values()].reduce((sum, n) => sum + n, 0);
  const requests = after - before;
  const perId = new Map();
  for (const e of log) if (e.seq > before) perId.set(e.id, (perId.get(e.id) ?? 0) + 1);
  const keyOf = (f) => (f.provider === 'gr4vy' ? f.paymentMethodId : f.id);
  const perWait = flows.map((f) => perId.get(keyOf(f)) ?? 0);
  const retriedWaits = flows.filter((f, i) => perWait[i] > views[i].reads).length;
  const states = {};
  for (const r of results) if (r.ok) states[r.status.state] = (states[r.status.state] ?? 0) + 1;
  const expectedStates = {};
  for (const item of plan) expectedStates[item.expect.state] = (expectedStates[item.expect.state] ?? 0) + 1;
  return {
    waits: n,
    resolved: results.filter((r) => r.ok).length,
    rejected: results.filter((r) => !r.ok).length,
    states,
    expectedStates,
    problems: problems.slice(0, 20),
    problemCount: problems.length,
    ms: Math.round(ms),
    requests,
    logComplete: log.length > 0 && log[0].seq <= before + 1,
    reads,
    faulted: requests - reads,
    faultShare: requests ? (requests - reads) / requests : 0,
    requestsPerWait: requests / n,
    maxRequestsPerWait: Math.max(...perWait),
    retriedWaits,
    updatesTotal: results.reduce((s, r) => s + r.updates.length, 0),
  };
}

const mem = () => ({ wasm: __memoryBytes(), heap: process.memoryUsage().heapUsed });
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
  gc();
  return mem();
};

await control('POST', '/_sim/fault-rates', FAULT_RATES);
const initial = mem();
const warmup = await round(WARMUP, 'warm');
const afterWarmup = await settle();

let peakWasm = afterWarmup.wasm;
let peakHeap = afterWarmup.heap;
const sampler = setInterval(() => {
  const m = mem();
  peakWasm = Math.max(peakWasm, m.wasm);
  peakHeap = Math.max(peakHeap, m.heap);
}, 25);
const rounds = [];
for (let r = 0; r < ROUNDS; r++) {
  const result = await round(WAITS, `load${r}`);
  const atEnd = mem();
  peakWasm = Math.max(peakWasm, atEnd.wasm);
  peakHeap = Math.max(peakHeap, atEnd.heap);
  result.memoryAfter = await settle();
  rounds.push(result);
}
clearInterval(sampler);
const final = rounds.at(-1).memoryAfter;
await control('POST', '/_sim/fault-rates', {});
for (const c of Object.values(clients)) c.free();

console.log(JSON.stringify({
  warmup,
  rounds,
  approvals,
  memory: { initial, afterWarmup, peakWasm, peakHeap, final },
  events: { unhandledRejection: events.unhandledRejection.slice(0, 5), uncaughtException: events.uncaughtException.slice(0, 5) },
}));
