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
import { TOKEN_ID, floorGr4vy, floorTokenIo, paymentMethod, tokenRequest } from './floor.mjs';

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

// The floors of bench/run.mjs (bench/floor.mjs): fetch, res.json() and a hand-written mapping.
const impls = { 'floor tokenio': floorTokenIo(base), 'floor gr4vy': floorGr4vy(base) };
for (const dir of dirs) {
  const ts = await import(pathToFileURL(join(dir, 'index.mjs')).href);
  const tokenio = new ts.TokenIoClient({ baseUrl: base });
  const gr4vy = new ts.Gr4vyClient({ baseUrl: base });
  impls[`${basename(dir)} tokenio`] = (key) => tokenio.getTokenRequestResult(tokenRequest(key));
  impls[`${basename(dir)} gr4vy`] = (key) => gr4vy.getPaymentServiceToken(paymentMethod(key), TOKEN_ID);
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
