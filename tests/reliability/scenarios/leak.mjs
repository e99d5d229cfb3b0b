// Leak scenario, run as a child by leak.test.mjs:
//   node --expose-gc leak.mjs <simulatorUrl> <totalCalls> <chains> <checkpointEvery>
// <chains> chains each make calls one after another (successes on existing flows, 404s, Gr4vy
// "listed but absent", invalid arguments, pre-aborted signals), in phases of <checkpointEvery>
// calls in total; after each phase: forced GC, then wasm linear memory and JS heap are recorded.
// Prints one JSON line.
import { PKG_NODE, wasmMemoryBytes as __memoryBytes, Sim } from '../support/harness.mjs';

const [url, totalArg = '100000', chainsArg = '8', everyArg = '10000'] = process.argv.slice(2);
const TOTAL = Number(totalArg);
const CHAINS = Number(chainsArg);
const EVERY = Number(everyArg);

const events = { unhandledRejection: 0, uncaughtException: 0 };
process.on('unhandledRejection', () => { events.unhandledRejection++; });
process.on('uncaughtException', () => { events.uncaughtException++; });

const gc = globalThis.gc;
if (typeof gc !== 'function') throw new Error('run with --expose-gc');
const { TruemedClient, Gr4vyClient, TokenIoClient, TokenStatusError } = await import(PKG_NODE);

const control = (method, path, body) => new Sim(url).request(method, path, body);

const common = { timeoutMs: 5000, retry: { maxRetries: 2, initialDelayMs: 10, maxDelayMs: 50 } };
const truemed = new TruemedClient({ ...common, baseUrl: `${url}/truemed`, apiKey: 'sim-truemed-key' });
const gr4vy = new Gr4vyClient({ ...common, baseUrl: `${url}/gr4vy`, bearerToken: () => 'sim-gr4vy-token' });
const tokenio = new TokenIoClient({ ...common, baseUrl: `${url}/tokenio`, basicCredentials: 'c2ltOnRva2VuaW8=' });
const tokenioBearer = new TokenIoClient({ ...common, baseUrl: `${url}/tokenio`, bearerToken: async () => 'sim-tokenio-token' });

// A few flows per provider and chain, created once and read over and over. Each chain reads its
// own (and its own missing ids): identical reads in flight would share one request, and this
// scenario counts one request per HTTP call.
const flows = { truemed: [], gr4vy: [], tokenio: [] };
for (let i = 0; i < 8 * CHAINS; i++) {
  flows.truemed.push(await control('POST', '/_sim/flows', { provider: 'truemed', outcome: 'succeeded', pendingPolls: 0 }));
  flows.gr4vy.push(await control('POST', '/_sim/flows', { provider: 'gr4vy', outcome: 'succeeded', pendingPolls: 0 }));
  flows.tokenio.push(await control('POST', '/_sim/flows', { provider: 'tokenio', outcome: 'rejected', pendingPolls: 0 }));
}

const aborted = AbortSignal.abort();
const BAD_IDS = ['', 'a\u0000b', '..', 'x'.repeat(1025), 42, null, 'line\nbreak'];

const emptyBearer = new TokenIoClient({ ...common, baseUrl: `${url}/tokenio`, bearerToken: () => '' });

/**
 * Call number `n` (0-based) of chain `c`: [promise, expected kind or 'ok', expected id].
 * Per 10 calls: 4 successes, 2 HTTP failures (404, Gr4vy listed-but-absent), 2 invalid
 * arguments (a bad id, a bearer function returning ''), 2 aborted (a call, a wait); 6 requests.
 */
function call(n, c) {
  const t = flows.tokenio[c * 8 + (n % 8)];
  const m = flows.truemed[c * 8 + (n % 8)];
  const g = flows.gr4vy[c * 8 + (n % 8)];
  const k = Math.floor(n / 10);
  switch (n % 10) {
    case 0: return [tokenio.getTokenRequestResult(t.id), 'ok', t.id];
    case 1: return [truemed.getProvisionTokenRequest(m.id), 'ok', m.id];
    case 2: return [gr4vy.getPaymentServiceToken(g.paymentMethodId, g.id), 'ok', g.id];
    case 3: return [tokenioBearer.getTokenRequestResult(t.id), 'ok', t.id];
    case 4: return [(k % 2 ? truemed.getProvisionTokenRequest(`ptr_missing_${c}_${n}`) : tokenio.getTokenRequestResult(`rq:missing:${c}x${n}`)), 'not_found'];
    case 5: return [gr4vy.getPaymentServiceToken(g.paymentMethodId, `missing-${c}-${n}`), 'not_found'];
    case 6: {
      const bad = BAD_IDS[(k + c) % BAD_IDS.length];
      const clients = [() => tokenio.getTokenRequestResult(bad), () => truemed.getProvisionTokenRequest(bad),
        () => gr4vy.getPaymentServiceToken(g.paymentMethodId, bad)];
      return [clients[k % 3](), 'invalid_argument'];
    }
    case 7: return [emptyBearer.getTokenRequestResult(t.id), 'invalid_argument'];
    case 8: return [tokenio.getTokenRequestResult(t.id, { signal: aborted }), 'aborted'];
    default: return [truemed.waitForProvisionTokenRequest(m.id, { signal: aborted, intervalMs: 10 }), 'aborted'];
  }
}

const tally = { ok: 0, not_found: 0, invalid_argument: 0, aborted: 0 };
if (!Number.isInteger(TOTAL / CHAINS) || !Number.isInteger(EVERY / CHAINS)) throw new Error('calls must divide by chains');
const mismatches = [];

async function chain(c, from, to) {
  for (let n = from; n < to; n++) {
    const [p, want, id] = call(n, c);
    let got;
    try {
      const status = await p;
      got = status.id === id ? 'ok' : `ok with id ${status.id}`;
    } catch (e) {
      got = e instanceof TokenStatusError ? e.kind : `foreign ${e}`;
    }
    if (got === want) tally[want]++;
    else if (mismatches.length < 20) mismatches.push(`chain ${c} call ${n}: ${got}, expected ${want}`);
    else mismatches.push(null);
  }
}

const mem = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
  gc();
  return { wasm: __memoryBytes(), heap: process.memoryUsage().heapUsed };
};

const perChain = TOTAL / CHAINS;
const phaseLen = EVERY / CHAINS;
const checkpoints = [{ calls: 0, ms: 0, ...(await mem()) }];
const started = performance.now();
let done = 0;
while (done < perChain) {
  const to = Math.min(perChain, done + phaseLen);
  await Promise.all(Array.from({ length: CHAINS }, (_, c) => chain(c, done, to)));
  done = to;
  checkpoints.push({ calls: done * CHAINS, ms: Math.round(performance.now() - started), ...(await mem()) });
}
const ms = performance.now() - started;
const log = await control('GET', '/_sim/requests');
for (const client of [truemed, gr4vy, tokenio, tokenioBearer, emptyBearer]) client.free();

console.log(JSON.stringify({
  calls: done * CHAINS,
  ms: Math.round(ms),
  tally,
  mismatchCount: mismatches.length,
  mismatches: mismatches.filter(Boolean),
  requests: log.at(-1)?.seq ?? 0,
  checkpoints,
  events,
}));
