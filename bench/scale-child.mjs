// One scale run of `make bench`, in a process of its own (so that each implementation's heap and
// timing are its own): `node --expose-gc bench/scale-child.mjs <ts|raw|lists> <waits>`.
// Starts its own simulator child, scripts the flows, runs the waits, prints one JSON line.
//   ts:    token-status waitFor… on mixed providers (Truemed, Gr4vy, Token.io in turn)
//   raw:   hand-written fetch polling loops on the same flows, with the same schedule (no retries,
//          no timeouts, no coalescing: the baseline)
//   lists: <waits> token-status waits on <waits> tokens of one Gr4vy payment method, and beside
//          them <waits> waits on one token each of their own payment method (the rounds one wait
//          polls), on the same schedule
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// TOKEN_STATUS_PKG: another build of the package to run instead of pkg/ (see bench/builds.mjs).
const pkg = process.env.TOKEN_STATUS_PKG ?? join(root, 'pkg');
const [mode, waitsArg = '10000'] = process.argv.slice(2);
const waits = Number(waitsArg);

const sim = spawn(process.execPath, [join(root, 'www', 'simulator', 'serve.mjs'), '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
const base = await new Promise((resolve, reject) => {
  let buffer = '';
  sim.stdout.on('data', (chunk) => {
    buffer += chunk;
    const match = buffer.match(/http:\/\/[0-9.:]+/);
    if (match) resolve(match[0]);
  });
  sim.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
});
const post = async (path, body) =>
  (await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json();
const create = async (specs) => {
  const flows = [];
  for (let i = 0; i < specs.length; i += 200) flows.push(...await Promise.all(specs.slice(i, i + 200).map((s) => post('/_sim/flows', s))));
  return flows;
};
const credentials = { truemed: 'sim-truemed-key', gr4vy: 'sim-gr4vy-token', tokenio: 'c2ltOnRva2VuaW8=' };
const options = { retry: { maxRetries: 4, initialDelayMs: 100, maxDelayMs: 2000 } };
const schedule = { intervalMs: 500, maxIntervalMs: 2000, deadlineMs: 120_000 };

/** Peak JS heap (sampled every 25 ms) and wasm linear memory around `work`. */
async function measure(work, glue) {
  globalThis.gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const wasm0 = glue?.__memoryBytes();
  let peak = heap0;
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().heapUsed); }, 25);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await work();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().heapUsed);
  return {
    ...result,
    ms,
    cpuMs: (cpu.user + cpu.system) / 1000,
    peakHeap: peak - heap0,
    wasmGrowth: glue ? glue.__memoryBytes() - wasm0 : null,
  };
}

const outcomes = (settled, check) => {
  const right = settled.filter((r, i) => r.status === 'fulfilled' && check(r.value, i)).length;
  const failures = [...new Set(settled.filter((r) => r.status === 'rejected').map((r) => String(r.reason?.kind ?? r.reason?.cause?.code ?? r.reason?.message ?? r.reason)))];
  return { right, wrong: settled.length - right, failures };
};

let result;
if (mode === 'ts' || mode === 'raw') {
  const providers = ['truemed', 'gr4vy', 'tokenio'];
  const flows = await create(Array.from({ length: waits }, (_, i) => ({ provider: providers[i % 3], outcome: 'succeeded', pendingPolls: 2 })));
  if (mode === 'ts') {
    const ts = await import(pathToFileURL(join(pkg, 'index.mjs')).href);
    const glue = createRequire(import.meta.url)(join(pkg, 'node', 'token_status.cjs')); // the same instance
    const clients = {
      truemed: new ts.TruemedClient({ baseUrl: `${base}/truemed`, apiKey: credentials.truemed, ...options }),
      gr4vy: new ts.Gr4vyClient({ baseUrl: `${base}/gr4vy`, bearerToken: credentials.gr4vy, ...options }),
      tokenio: new ts.TokenIoClient({ baseUrl: `${base}/tokenio`, basicCredentials: credentials.tokenio, ...options }),
    };
    const wait = (f) => (f.provider === 'truemed' ? clients.truemed.waitForProvisionTokenRequest(f.id, schedule)
      : f.provider === 'gr4vy' ? clients.gr4vy.waitForPaymentServiceToken(f.paymentMethodId, f.id, schedule)
        : clients.tokenio.waitForTokenRequestResult(f.id, schedule));
    result = await measure(async () => {
      const settled = await Promise.allSettled(flows.map(wait));
      return outcomes(settled, (s, i) => s.state === 'succeeded' && s.id === flows[i].id && s.token === flows[i].token);
    }, glue);
  } else {
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    const read = {
      truemed: async (f) => {
        const b = await (await fetch(`${base}/truemed/api/v1/payment_tokens/provision_request/${encodeURIComponent(f.id)}`, { headers: { 'x-truemed-api-key': credentials.truemed } })).json();
        return b.payment_token ?? null;
      },
      gr4vy: async (f) => {
        const b = await (await fetch(`${base}/gr4vy/payment-methods/${encodeURIComponent(f.paymentMethodId)}/payment-service-tokens`, { headers: { authorization: `bearer ${credentials.gr4vy}` } })).json();
        const t = b.items.find((x) => x.id === f.id);
        return t.status === 'succeeded' || t.status === 'failed' ? t.token : null;
      },
      tokenio: async (f) => {
        const b = await (await fetch(`${base}/tokenio/token-requests/${encodeURIComponent(f.id).replaceAll('%3A', ':')}/result`, { headers: { authorization: `Basic ${credentials.tokenio}` } })).json();
        return b.status === 'PENDING' ? null : b.tokenId;
      },
    };
    const loop = async (f) => {
      for (let n = 1; ; n++) {
        const token = await read[f.provider](f);
        if (token !== null) return token;
        await sleep(Math.min(schedule.maxIntervalMs, schedule.intervalMs * 2 ** (n - 1)) * (0.5 + Math.random() / 2));
      }
    };
    result = await measure(async () => {
      const settled = await Promise.allSettled(flows.map(loop));
      return outcomes(settled, (token, i) => token === flows[i].token);
    });
  }
  // Status reads per wait: the simulator counts the reads of each flow (a Gr4vy list reads the
  // token it lists).
  let reads = 0;
  for (let i = 0; i < flows.length; i += 500) {
    const views = await Promise.all(flows.slice(i, i + 500).map(async (f) => (await (await fetch(`${base}/_sim/flows/${encodeURIComponent(f.id)}`)).json()).reads ?? 0));
    reads += views.reduce((x, y) => x + y, 0);
  }
  result.readsPerWait = reads / waits;
} else if (mode === 'lists') {
  const ts = await import(pathToFileURL(join(pkg, 'index.mjs')).href);
  const pm = `bench-pm-${process.pid}`;
  // Processing for 3 s, then succeeded: the rounds depend on time only, not on reads.
  const steps = [{ status: 'processing', ms: 3000 }, { status: 'succeeded' }];
  const shared = await create(Array.from({ length: waits }, () => ({ provider: 'gr4vy', paymentMethodId: pm, steps })));
  const lone = await create(Array.from({ length: waits }, (_, i) => ({ provider: 'gr4vy', paymentMethodId: `${pm}-lone-${i}`, steps })));
  const client = () => new ts.Gr4vyClient({ baseUrl: `${base}/gr4vy`, bearerToken: credentials.gr4vy, ...options });
  const [a, b] = [client(), client()];
  const listSchedule = { intervalMs: 200, maxIntervalMs: 400, deadlineMs: 60_000 };
  const both = await Promise.all([
    Promise.allSettled(shared.map((f) => a.waitForPaymentServiceToken(f.paymentMethodId, f.id, listSchedule))),
    Promise.allSettled(lone.map((f) => b.waitForPaymentServiceToken(f.paymentMethodId, f.id, listSchedule))),
  ]);
  const count = async (id) => (await (await fetch(`${base}/_sim/requests?id=${encodeURIComponent(id)}`)).json()).length;
  const lists = await count(pm);
  let loneRequests = 0;
  for (const f of lone) loneRequests += await count(f.paymentMethodId);
  const rounds = loneRequests / waits;
  result = {
    sharedRight: outcomes(both[0], (s, i) => s.state === 'succeeded' && s.id === shared[i].id && s.token === shared[i].token).right,
    loneRight: outcomes(both[1], (s, i) => s.state === 'succeeded' && s.id === lone[i].id).right,
    lists,
    rounds,
    listsPerRound: lists / rounds,
  };
} else {
  throw new Error(`unknown mode ${mode}`);
}

sim.kill('SIGTERM');
console.log(JSON.stringify({ mode, waits, ...result }));
process.exit(0);
