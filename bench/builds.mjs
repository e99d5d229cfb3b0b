// Compares builds of the package side by side in one process (not part of `make bench`): per-call
// median and throughput of 100 concurrent callers, each call its own id, against the raw-fetch
// floor, in interleaved rounds paired with the floor's (the method of bench/run.mjs), and this
// process's CPU time per call at 100 concurrent (the server runs in a child process). For
// experiments on a setting compiled into the .wasm, such as share::MAX_IN_FLIGHT: build pkg/ with
// each value (`node scripts/build-pkg.mjs`), copy it aside, then
//   node bench/builds.mjs [--tokenio|--gr4vy] [--rounds N] DIR...
// where each DIR is such a copy of pkg/. Prints one line per implementation. Numbers only.
import { spawn } from 'node:child_process';
import { basename, dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const rounds = flag('--rounds') ? Number(args[args.indexOf('--rounds') + 1]) : 8;
const dirs = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--rounds').map((d) => resolve(d));
const only = flag('--tokenio') ? 'tokenio' : flag('--gr4vy') ? 'gr4vy' : null;
if (dirs.length === 0) {
  process.stderr.write('usage: node bench/builds.mjs [--tokenio|--gr4vy] [--rounds N] PKG_DIR...\n');
  process.exit(2);
}

const server = spawn(process.execPath, [join(root, 'bench', 'server.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
const base = await new Promise((done) => {
  let buffer = '';
  server.stdout.on('data', (chunk) => {
    buffer += chunk;
    const match = buffer.match(/http:\/\/[0-9.:]+/);
    if (match) done(match[0]);
  });
});

// The floors of bench/run.mjs: fetch, res.json() and a hand-written mapping.
const TOKEN_REQUEST = 'rq:ej5ACWNwi1EcqBeuDPc4Z8C4Bgc:5zKtXEAq';
const PAYMENT_METHOD = '46973e9d-88a7-44a6-abfe-be4ff0134ff4';
const TOKEN_ID = '0b0d7b0e-1b4c-4b5a-9f0e-2a5b1f1c0a03';
const TOKENIO = { PENDING: 'pending', PROCESSED: 'succeeded', REJECTED: 'failed', EXPIRED: 'expired' };
const GR4VY = { processing: 'pending', buyer_approval_required: 'action_required', succeeded: 'succeeded', failed: 'failed' };
const impls = {
  'floor tokenio': async (key) => {
    const id = `${TOKEN_REQUEST}-${key}`;
    const b = await (await fetch(`${base}/token-requests/${encodeURIComponent(id).replaceAll('%3A', ':')}/result`)).json();
    const state = TOKENIO[b.status] ?? 'unknown';
    return {
      provider: 'tokenio', id, state, terminal: state !== 'pending' && state !== 'unknown', providerStatus: b.status,
      token: b.tokenId ?? null, actionUrl: null, reason: b.statusReasonInformation ?? null, metadata: null,
      transferId: b.transferId ?? null, standingOrderSubmissionId: b.standingOrderSubmissionId ?? null,
      bankId: b.bankId ?? null, signature: b.signature ?? null,
    };
  },
  'floor gr4vy': async (key) => {
    const res = await fetch(`${base}/payment-methods/${encodeURIComponent(`${PAYMENT_METHOD}-${key}`)}/payment-service-tokens`);
    const t = (await res.json()).items.find((item) => item.id === TOKEN_ID);
    const state = GR4VY[t.status] ?? 'unknown';
    return {
      provider: 'gr4vy', id: t.id, state, terminal: state === 'succeeded' || state === 'failed', providerStatus: t.status,
      token: t.token, actionUrl: t.approval_url, reason: null, metadata: null, paymentMethodId: t.payment_method_id,
      paymentServiceId: t.payment_service_id, createdAt: t.created_at, updatedAt: t.updated_at,
    };
  },
};
for (const dir of dirs) {
  const ts = await import(pathToFileURL(join(dir, 'index.mjs')).href);
  const tokenio = new ts.TokenIoClient({ baseUrl: base });
  const gr4vy = new ts.Gr4vyClient({ baseUrl: base });
  impls[`${basename(dir)} tokenio`] = (key) => tokenio.getTokenRequestResult(`${TOKEN_REQUEST}-${key}`);
  impls[`${basename(dir)} gr4vy`] = (key) => gr4vy.getPaymentServiceToken(`${PAYMENT_METHOD}-${key}`, TOKEN_ID);
}

const names = Object.keys(impls).filter((n) => only === null || n.endsWith(only));
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const rate = Object.fromEntries(names.map((n) => [n, []]));
const latency = Object.fromEntries(names.map((n) => [n, []]));
const cpu = Object.fromEntries(names.map((n) => [n, []]));
const calls = 3000;
for (let round = 0; round < rounds; round++) {
  for (const name of names.map((_, i) => names[(i + round) % names.length])) {
    const call = impls[name];
    const times = [];
    for (let i = 0; i < 300; i++) {
      const t0 = performance.now();
      await call(`s${round}i${i}`);
      times.push(performance.now() - t0);
    }
    let next = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 100 }, async () => {
      while (next < calls) await call(`r${round}c${next++}`);
    }));
    const perSecond = calls / ((performance.now() - t0) / 1000);
    const used = process.cpuUsage(cpu0);
    if (round > 0) { // round 0 warms up
      rate[name].push(perSecond);
      latency[name].push(median(times));
      cpu[name].push((used.user + used.system) / calls);
    }
  }
}
const paired = (of, name) => {
  const floor = of[name.endsWith('tokenio') ? 'floor tokenio' : 'floor gr4vy'];
  const r = of[name].map((v, i) => v / floor[i]).sort((a, b) => a - b);
  return `${median(r).toFixed(2)} (${r[0].toFixed(2)}–${r.at(-1).toFixed(2)})`;
};
for (const name of names) {
  console.log(`${name.padEnd(24)} median ${median(latency[name]).toFixed(3)} ms, × floor ${paired(latency, name)}; ` +
    `${Math.round(median(rate[name]))} calls/s at 100 concurrent, distinct ids, × floor ${paired(rate, name)}; ` +
    `CPU ${median(cpu[name]).toFixed(0)} µs/call, × floor ${paired(cpu, name)}`);
}
server.kill('SIGTERM');
process.exit(0);
