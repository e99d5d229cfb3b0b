// `make bench`: size, per-call latency and throughput, start-up and scale of token-status,
// measured side by side in one run against the raw-fetch floor and the official Gr4vy SDK.
// Prints a markdown report and writes it to bench/RESULTS.md. No assertions: numbers only.
// Flags: --quick (fewer rounds), --only size|latency|startup|scale|server (one section, no file).
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { cpus, totalmem } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync, constants as zlib } from 'node:zlib';
import { performance } from 'node:perf_hooks';
import { TOKEN_ID, floorGr4vy, floorTokenIo, paymentMethod, tokenRequest } from './floor.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = join(root, 'pkg');
const out = join(root, 'build', 'bench');
const quick = process.argv.includes('--quick');
// `--only latency` (or size, startup, scale, server) runs one section, printing without writing RESULTS.md.
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : null;
const run = (name) => only === null || only === name;
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const gz = (bytes) => gzipSync(bytes, { level: zlib.Z_BEST_COMPRESSION }).length;
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const ms = (n) => `${n.toFixed(n < 1 ? 3 : 2)} ms`;
const log = (text) => process.stderr.write(`bench: ${text}\n`);
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const median = (values) => quantile([...values].sort((a, b) => a - b), 0.5);

/** Starts a child Node process that prints its URL on its first stdout line. */
function child(args, env = {}) {
  const proc = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = new Promise((resolve, reject) => {
    let buffer = '';
    proc.stdout.on('data', (chunk) => {
      buffer += chunk;
      const match = buffer.match(/http:\/\/[0-9.:]+/);
      if (match) resolve(match[0]);
    });
    proc.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
  return { proc, url, stop: () => new Promise((r) => { proc.once('exit', r); proc.kill('SIGTERM'); }) };
}

const report = [];
const section = (title) => report.push('', `## ${title}`, '');
const table = (head, rows) => {
  report.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
  for (const row of rows) report.push(`| ${row.join(' | ')} |`);
};

// ---------------------------------------------------------------------------------------
// 1. Size
// ---------------------------------------------------------------------------------------
async function size() {
  log('size');
  const esbuild = await import('esbuild');
  const wasm = readFileSync(join(pkg, 'web', 'token_status_bg.wasm'));
  const whole = await esbuild.build({
    entryPoints: [join(pkg, 'index.js')], bundle: true, minify: true, format: 'esm', platform: 'browser',
    write: false, logLevel: 'silent',
  });
  const wholeJs = whole.outputFiles[0].contents;
  const apps = {
    'token-status': `import { Gr4vyClient } from 'token-status';
      const client = new Gr4vyClient({ baseUrl: location.origin + '/gr4vy' });
      client.listPaymentServiceTokens(document.body.dataset.pm).then((t) => console.log(t));`,
    '@gr4vy/sdk (standalone function + Gr4vyCore)': `import { Gr4vyCore } from '@gr4vy/sdk/core.js';
      import { paymentMethodsPaymentServiceTokensList } from '@gr4vy/sdk/funcs/paymentMethodsPaymentServiceTokensList.js';
      const core = new Gr4vyCore({ serverURL: location.origin + '/gr4vy' });
      paymentMethodsPaymentServiceTokensList(core, document.body.dataset.pm).then((r) => console.log(r));`,
    'raw fetch': `fetch(location.origin + '/gr4vy/payment-methods/' + encodeURIComponent(document.body.dataset.pm) + '/payment-service-tokens')
      .then((r) => r.json()).then((j) => console.log(j.items.map((t) => ({ id: t.id, state: t.status }))));`,
  };
  const rows = [];
  const sizes = {};
  for (const [name, source] of Object.entries(apps)) {
    const built = await esbuild.build({
      stdin: { contents: source, resolveDir: root, loader: 'js' }, bundle: true, minify: true, format: 'esm',
      platform: 'browser', write: false, logLevel: 'silent', alias: { 'token-status': pkg },
    });
    const js = built.outputFiles[0].contents;
    const usesWasm = name === 'token-status';
    const total = gz(js) + (usesWasm ? gz(wasm) : 0);
    sizes[name] = total;
    rows.push([name, kb(js.length), kb(gz(js)), usesWasm ? kb(gz(wasm)) : '—', `**${kb(total)}**`]);
  }
  section('Size (browser, minified, gzip -9)');
  table(['what', 'JS min', 'JS gzip', '.wasm gzip', 'total gzip'], [
    ['whole package (index.js + glue + .wasm)', kb(wholeJs.length), kb(gz(wholeJs)), kb(gz(wasm)), `**${kb(gz(wholeJs) + gz(wasm))}**`],
    ...rows,
  ]);
  const gr4vyApp = sizes['@gr4vy/sdk (standalone function + Gr4vyCore)'];
  report.push('', `Raw .wasm: ${kb(wasm.length)}. One-call app vs @gr4vy/sdk: ${(sizes['token-status'] / gr4vyApp * 100).toFixed(0)} % of its size. Targets: whole package ≤ 40 KB gzip, one-call app < 50 % of @gr4vy/sdk's.`);
  sizes.whole = gz(wholeJs) + gz(wasm);

  // Where the wasm bytes go: a names-kept build of the browser package's release code (its own
  // target directory, so that it is neither the server build pkg/ made last nor rebuilt each
  // run), optimized the same way.
  try {
    const named = join(out, 'named');
    const targetDir = join(root, 'target', 'size-browser');
    execFileSync('cargo', ['build', '--quiet', '--release', '--target', 'wasm32-unknown-unknown', '--no-default-features',
      '--lib', '--target-dir', targetDir], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    execFileSync('wasm-bindgen', ['--target', 'web', '--no-typescript', '--keep-debug', '--out-dir', named,
      join(targetDir, 'wasm32-unknown-unknown', 'release', 'token_status.wasm')]);
    execFileSync('wasm-opt', ['-g', '-Oz', '--converge', '--low-memory-unused', '--enable-bulk-memory', '--enable-nontrapping-float-to-int', '--enable-sign-ext',
      '--enable-mutable-globals', '--enable-reference-types', '--enable-multivalue',
      join(named, 'token_status_bg.wasm'), '-o', join(named, 'opt.wasm')]);
    const top = execFileSync('twiggy', ['top', '-n', '15', join(named, 'opt.wasm')], { encoding: 'utf8' });
    section('Where the browser .wasm\'s bytes go (`twiggy top -n 15`, optimized build with names kept)');
    report.push('```', ...top.trimEnd().split('\n').map((l) => l.slice(0, 150)), '```');
  } catch (error) {
    report.push('', `(twiggy breakdown unavailable: ${error.message.split('\n')[0]})`);
  }
  return sizes;
}

// ---------------------------------------------------------------------------------------
// 2. Per-call latency and throughput in Node
// ---------------------------------------------------------------------------------------
async function latency() {
  log('latency and throughput');
  const server = child(['bench/server.mjs']);
  const base = await server.url;
  const ts = await import(pathToFileURL(join(pkg, 'index.mjs')).href);
  const { Gr4vy } = await import('@gr4vy/sdk');
  const tokenio = new ts.TokenIoClient({ baseUrl: base });
  const gr4vy = new ts.Gr4vyClient({ baseUrl: base });
  const sdk = new Gr4vy({ serverURL: base, bearerAuth: 'bench' });
  const impls = {
    'floor: fetch + json + mapping (Token.io)': floorTokenIo(base),
    'token-status getTokenRequestResult': (key) => tokenio.getTokenRequestResult(tokenRequest(key)),
    'floor: fetch + json + mapping (Gr4vy list)': floorGr4vy(base),
    'token-status getPaymentServiceToken': (key) => gr4vy.getPaymentServiceToken(paymentMethod(key), TOKEN_ID),
    '@gr4vy/sdk paymentServiceTokens.list': (key) => sdk.paymentMethods.paymentServiceTokens.list(paymentMethod(key)),
  };
  // Sanity: every implementation answers the same thing before it is timed.
  const a = await impls['floor: fetch + json + mapping (Token.io)']();
  const b = await impls['token-status getTokenRequestResult']();
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`floor and token-status disagree:\n${JSON.stringify(a)}\n${JSON.stringify(b)}`);
  const c = await impls['floor: fetch + json + mapping (Gr4vy list)']();
  const d = await impls['token-status getPaymentServiceToken']();
  if (JSON.stringify(c) !== JSON.stringify(d)) throw new Error(`gr4vy floor and token-status disagree:\n${JSON.stringify(c)}\n${JSON.stringify(d)}`);

  const names = Object.keys(impls);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  const roundMedians = Object.fromEntries(names.map((n) => [n, []]));
  const throughput = Object.fromEntries(names.map((n) => [n, []]));
  const sameThroughput = Object.fromEntries(names.map((n) => [n, []]));
  const rounds = quick ? 3 : 12;
  const perRound = quick ? 200 : 500;
  const concurrentCalls = quick ? 1000 : 3000;
  for (let round = 0; round < rounds; round++) {
    // Rotate the order every round so no implementation always runs first or last.
    const order = names.map((_, i) => names[(i + round) % names.length]);
    for (const name of order) {
      const call = impls[name];
      const times = [];
      for (let i = 0; i < perRound; i++) {
        const t0 = performance.now();
        await call();
        times.push(performance.now() - t0);
      }
      // 100 concurrent callers: each call reads an id of its own (what each request costs), then
      // all read the same id (identical reads in flight: token-status shares them).
      const rateOf = async (distinct) => {
        let next = 0;
        const t0 = performance.now();
        await Promise.all(Array.from({ length: 100 }, async () => {
          while (next < concurrentCalls) await call(distinct ? `r${round}c${next++}` : (next++, undefined));
        }));
        return concurrentCalls / ((performance.now() - t0) / 1000);
      };
      const rate = await rateOf(true);
      const same = await rateOf(false);
      if (round > 0) { // round 0 warms up
        samples[name].push(...times);
        roundMedians[name].push(median(times));
        throughput[name].push(rate);
        sameThroughput[name].push(same);
      }
    }
  }
  await server.stop();
  const floorOf = (name) => name.includes('Token.io') || name.includes('TokenRequest') ? names[0] : names[2];
  const stats = {};
  for (const name of names) {
    const sorted = samples[name].sort((x, y) => x - y);
    stats[name] = { median: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), rate: median(throughput[name]), same: median(sameThroughput[name]) };
  }
  // Paired ratios: each round's median against the same round's floor, so drift in the
  // machine's speed between rounds cancels out; the median and range of those are reported.
  const ratios = (name, of) => {
    const floor = of[floorOf(name)];
    const r = of[name].map((v, i) => v / floor[i]).sort((a, b) => a - b);
    return `${median(r).toFixed(2)} (${r[0].toFixed(2)}–${r[r.length - 1].toFixed(2)})`;
  };
  section(`Per-call latency and throughput (Node ${process.version}, local keep-alive server in a child process)`);
  table(['implementation', 'median', 'p99', '× floor, median (range) over rounds', 'calls/s, 100 concurrent, distinct ids', '× floor', 'calls/s, 100 concurrent, one id', '× floor'],
    names.map((name) => {
      const s = stats[name];
      return [name, ms(s.median), ms(s.p99), ratios(name, roundMedians), Math.round(s.rate).toString(), ratios(name, throughput),
        Math.round(s.same).toString(), ratios(name, sameThroughput)];
    }));
  report.push('', `${rounds - 1} interleaved rounds (plus one warm-up) of ${perRound} sequential calls and twice ${concurrentCalls} calls by 100 concurrent callers per implementation ` +
    '(each call its own id, then all the same id: token-status sends one request for the identical reads in flight); ratios are paired per round ' +
    "(each round's median over the same round's floor). Targets: median ≤ 1.15 × floor, throughput (distinct ids) ≥ 0.9 × floor, faster than @gr4vy/sdk.");
  return stats;
}

// ---------------------------------------------------------------------------------------
// 3. Start-up: import → first call resolved
// ---------------------------------------------------------------------------------------
async function startup() {
  log('start-up');
  const server = child(['bench/server.mjs']);
  const base = await server.url;
  const script = join(out, 'startup.mjs');
  writeFileSync(script, `const t0 = performance.now();
const { TokenIoClient } = await import(${JSON.stringify(pathToFileURL(join(pkg, 'index.mjs')).href)});
const loaded = performance.now();
await new TokenIoClient({ baseUrl: process.argv[2] }).getTokenRequestResult('rq:a:b');
console.log(JSON.stringify({ load: loaded - t0, total: performance.now() - t0 }));
`);
  const floorScript = join(out, 'startup-floor.mjs');
  writeFileSync(floorScript, `const t0 = performance.now();
await (await fetch(process.argv[2] + '/token-requests/rq:a:b/result')).json();
console.log(JSON.stringify({ total: performance.now() - t0 }));
`);
  const runs = quick ? 5 : 15;
  const node = [], floor = [];
  for (let i = 0; i < runs; i++) {
    node.push(JSON.parse(execFileSync(process.execPath, [script, base], { encoding: 'utf8' })));
    floor.push(JSON.parse(execFileSync(process.execPath, [floorScript, base], { encoding: 'utf8' })));
  }
  await server.stop();

  // Chromium: a page that imports the browser build and makes one call (same origin).
  let browser = null;
  try {
    const { chromium } = await import('playwright-core');
    const tokenioBody = '{"status":"PENDING"}';
    const page = '<!doctype html><script type="module">const t0 = performance.now();' +
      "const { TokenIoClient } = await import('/pkg/index.js'); const loaded = performance.now();" +
      "await new TokenIoClient({ baseUrl: location.origin }).getTokenRequestResult('rq:a:b');" +
      'window.__startup = { load: loaded - t0, total: performance.now() - t0 };</script>';
    const types = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };
    const http = createServer((req, res) => {
      const path = new URL(req.url, 'http://x').pathname;
      if (path === '/') return res.writeHead(200, { 'content-type': 'text/html' }).end(page);
      if (path.startsWith('/token-requests/')) return res.writeHead(200, { 'content-type': 'application/json' }).end(tokenioBody);
      const file = join(pkg, path.replace(/^\/pkg\//, ''));
      if (!path.startsWith('/pkg/') || file.includes('..') || !existsSync(file)) return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
    });
    await new Promise((r) => http.listen(0, '127.0.0.1', r));
    const origin = `http://127.0.0.1:${http.address().port}`;
    const instance = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox',
      '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
    const loads = [];
    for (let i = 0; i < (quick ? 3 : 8); i++) {
      const context = await instance.newContext(); // cold: no HTTP or compile cache
      const tab = await context.newPage();
      await tab.goto(origin + '/');
      await tab.waitForFunction(() => window.__startup);
      loads.push(await tab.evaluate(() => window.__startup));
      await context.close();
    }
    await instance.close();
    http.closeAllConnections();
    http.close();
    browser = loads;
  } catch (error) {
    log(`chromium start-up skipped: ${error.message}`);
  }
  section('Start-up: from `import` to the first call resolved (median)');
  const rows = [
    ['Node: token-status', ms(median(node.map((r) => r.load))), ms(median(node.map((r) => r.total)))],
    ['Node: raw fetch (no import)', '—', ms(median(floor.map((r) => r.total)))],
  ];
  if (browser) rows.push(['Chromium (cold context): token-status', ms(median(browser.map((r) => r.load))), ms(median(browser.map((r) => r.total)))]);
  table(['runtime', 'import (module + wasm compile)', 'import + first call'], rows);
  return { node, browser };
}

// ---------------------------------------------------------------------------------------
// 4. Scale: 10,000 concurrent waits against the simulator, beside hand-written loops
// ---------------------------------------------------------------------------------------
/** One scale run in a child process of its own (bench/scale-child.mjs): its JSON result. */
function scaleChild(mode, waits) {
  const text = execFileSync(process.execPath, ['--expose-gc', join(root, 'bench', 'scale-child.mjs'), mode, String(waits)], {
    cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24,
  });
  return JSON.parse(text.trim().split('\n').at(-1));
}

async function scale() {
  const waits = quick ? 2000 : 10_000;
  const pairs = quick ? 1 : 3;
  const runs = { ts: [], raw: [] };
  for (let pair = 0; pair < pairs; pair++) {
    // Alternate which goes first, each in a fresh process with a fresh simulator.
    for (const mode of pair % 2 ? ['raw', 'ts'] : ['ts', 'raw']) {
      log(`scale: ${waits} concurrent waits, ${mode} (pair ${pair + 1} of ${pairs})`);
      runs[mode].push(scaleChild(mode, waits));
    }
  }
  const fmt = (r) => `${(r.ms / 1000).toFixed(2)} s`;
  const mb = (n) => `${(n / 2 ** 20).toFixed(0)} MB`;
  section(`Scale: ${waits.toLocaleString('en')} concurrent waits against the simulator (Node, each run in a process of its own)`);
  table(['pair', 'token-status: right / wrong', 'time', 'peak JS heap Δ', 'wasm memory Δ per wait', 'reads per wait', 'hand-written loops: right / failed', 'time', 'peak JS heap Δ', 'time ×', 'heap ×'],
    runs.ts.map((t, i) => {
      const r = runs.raw[i];
      return [String(i + 1), `${t.right.toLocaleString('en')} / ${t.wrong}${t.failures.length ? ` (${t.failures.join(', ')})` : ''}`, fmt(t), mb(t.peakHeap),
        `${(t.wasmGrowth / waits).toFixed(0)} B`, t.readsPerWait.toFixed(2),
        `${r.right.toLocaleString('en')} / ${r.wrong}${r.failures.length ? ` (${r.failures.join(', ')})` : ''}`, fmt(r), mb(r.peakHeap),
        (t.ms / r.ms).toFixed(2), (t.peakHeap / r.peakHeap).toFixed(2)];
    }));
  const ratios = runs.ts.map((t, i) => t.ms / runs.raw[i].ms).sort((a, b) => a - b);
  const heaps = runs.ts.map((t, i) => t.peakHeap / runs.raw[i].peakHeap).sort((a, b) => a - b);
  report.push('', `Time × (token-status over the loops of the same pair): median ${median(ratios).toFixed(2)} (${ratios[0].toFixed(2)}–${ratios.at(-1).toFixed(2)}); ` +
    `peak JS heap ×: median ${median(heaps).toFixed(2)} (${heaps[0].toFixed(2)}–${heaps.at(-1).toFixed(2)}). ` +
    'Mixed providers (Truemed, Gr4vy, Token.io in turn), each flow pending for 2 reads then succeeded; the same schedule on both sides ' +
    '(interval 500 ms doubling to 2000 ms, equal jitter). The loops have no retries, timeouts or sharing: a dropped or reset connection fails their wait. ' +
    'Targets: time ≤ 1.0×, heap ≤ 1.2×, wasm ≤ 1 KB per wait in flight, every wait right.');

  log(`scale: 50 waits on 50 tokens of one Gr4vy payment method`);
  const lists = [];
  for (let i = 0; i < (quick ? 1 : 3); i++) lists.push(scaleChild('lists', 50));
  section('Shared lists: 50 waits on 50 tokens of one Gr4vy payment method, started together');
  table(['run', 'waits right (shared / alone)', 'list requests for the 50', 'rounds (requests of a wait alone)', 'list requests per round'],
    lists.map((l, i) => [String(i + 1), `${l.sharedRight} / ${l.loneRight}`, String(l.lists), l.rounds.toFixed(1), `**${l.listsPerRound.toFixed(2)}**`]));
  report.push('', 'Each token processing for 3 s, then succeeded; interval 200 ms doubling to 400 ms. Beside them, 50 waits with one token per payment method on the same schedule count the rounds a wait polls alone. Target: ≤ 1.5 list requests per round (50 without sharing).');
  return { runs, lists };
}

// ---------------------------------------------------------------------------------------
// 5. Server features: Gr4vy token minting, verifyWebhook, what they add to the .wasm
// ---------------------------------------------------------------------------------------
async function serverSection() {
  log('server features');
  const { serverFeatures } = await import('./server-features.mjs');
  const { lines } = await serverFeatures({ quick, log });
  section(`Server features: Gr4vy keys and webhooks (Node ${process.version})`);
  report.push(...lines);
}

// ---------------------------------------------------------------------------------------
const started = new Date();
const sizes = run('size') ? await size() : null;
if (run('latency')) await latency();
if (run('startup')) await startup();
if (run('scale')) await scale();
if (run('server')) await serverSection();

const versions = (() => {
  const v = (cmd, args) => { try { return execFileSync(cmd, args, { encoding: 'utf8' }).trim().split('\n')[0]; } catch { return 'n/a'; } };
  const lock = readFileSync(join(root, 'Cargo.lock'), 'utf8');
  const crate = (name) => lock.match(new RegExp(`name = "${name}"\\nversion = "([^"]+)"`))?.[1] ?? '?';
  const npmVersion = (name) => { try { return JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version; } catch { return '?'; } };
  return [
    `rustc: ${v('rustc', ['--version'])}`, `wasm-bindgen: ${crate('wasm-bindgen')}`,
    `wasm-opt: ${v('wasm-opt', ['--version'])}`, `node: ${process.version}`, `chromium: ${v('/usr/bin/chromium', ['--version'])}`,
    `@gr4vy/sdk: ${npmVersion('@gr4vy/sdk')}`, `esbuild: ${npmVersion('esbuild')}`, `token-status: ${JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).version}`,
  ];
})();
const header = [
  '# token-status benchmarks',
  '',
  `Measured ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC by \`make bench\`${quick ? ' (--quick)' : ''} on ${cpus().length} × ${cpus()[0]?.model?.trim() ?? "CPU"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM.`,
  '',
  versions.map((x) => `- ${x}`).join('\n'),
];
const text = [...header, ...report, ''].join('\n');
process.stdout.write(text);
if (only === null) {
  writeFileSync(join(root, 'bench', 'RESULTS.md'), text);
  log(`written bench/RESULTS.md (whole package ${kb(sizes.whole)} gzip)`);
}
process.exit(0);
