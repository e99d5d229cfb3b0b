// Shared by the "loading everywhere" tests (not a test file itself): the consumer projects
// (one per bundler, written from app/), the site server that serves a built project with the
// simulator mounted and a chosen .wasm answer, page loaders for Chromium and Firefox, the
// assertions every page and worker must pass, and two small acorn-based source checks.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'acorn';
import { serveStatic } from '../support/browser.mjs';
import { BIN } from '../support/packed.mjs';

const APP = join(dirname(fileURLToPath(import.meta.url)), 'app');

export const SIM_CREDENTIAL = 'sim-tokenio-token';
/** The options a TokenIoClient knows: an unknown key's message must name them. */
export const TOKENIO_OPTIONS = ['environment', 'baseUrl', 'timeoutMs', 'retry', 'headers', 'allowBrowserCredentials',
  'bearerToken', 'basicCredentials'];
/** How late the site server answers a good .wasm: calls made at import time must wait for it. */
export const WASM_DELAY_MS = 300;
/** What a dev server's SPA fallback answers for a missing file: 200, HTML. */
const SPA_FALLBACK = '<!doctype html><html><head><title>My app</title></head><body><div id="app"></div></body></html>\n';

// ---------------------------------------------------------------------------------------------
// Consumer projects

const readApp = (name) => readFileSync(join(APP, name), 'utf8');

/** An HTML page: app/prelude.html (records uncaught errors first) with `head` and `body` added. */
const page = ({ head = '', body }) => readApp('prelude.html').replace('<!-- HEAD -->', head).replace('<!-- BODY -->', body);

/**
 * The app's sources under `dir`: probe.js, main.js starting `workers` ({ label: [file, options
 * source or null] }), and one file per worker.
 */
function appFiles(bundler, workers, dir = '') {
  const entries = Object.entries(workers).map(([label, [file, options]]) =>
    `  '${label}': () => new Worker(new URL('./${file}', import.meta.url)${options ? `, ${options}` : ''}),`);
  const files = {
    [`${dir}probe.js`]: readApp('probe.js').replace("'__BUNDLER__'", `'${bundler}'`),
    [`${dir}main.js`]: readApp('main.js').replace('  // __WORKERS__', entries.join('\n')),
  };
  for (const [label, [file]] of Object.entries(workers)) {
    files[`${dir}${file}`] = `import { probe, report } from './probe.js';\n\nreport(probe('${label}'));\n`;
  }
  return files;
}

const manifest = (name, type) => ({ name: `loading-${name}`, private: true, ...(type ? { type } : {}) });

/**
 * Each consumer project: its files, how it builds (null: no build), which directory is served,
 * the contexts (page and workers) its page reports on, and files the page must fetch as they are.
 */
export const PROJECTS = {
  // Vite's defaults, no config file: worker.format is 'iife' for module and classic workers.
  vite: {
    files: {
      'package.json': manifest('vite', 'module'),
      'index.html': page({ body: '<script type="module" src="/main.js"></script>' }),
      ...appFiles('vite', { 'module-worker': ['w.js', "{ type: 'module' }"], 'classic-worker': ['w-classic.js', null] }),
    },
    build: [join(BIN, 'vite'), ['build']],
    serve: 'dist',
    contexts: ['page', 'module-worker', 'classic-worker'],
  },
  // webpack 5: a config with only mode, entry and output.
  webpack: {
    files: {
      'package.json': manifest('webpack'),
      'webpack.config.js': `const path = require('node:path');\n\nmodule.exports = {\n  mode: 'production',\n`
        + `  entry: './src/main.js',\n  output: { path: path.resolve(__dirname, 'dist') },\n};\n`,
      'index.html': page({ body: '<script src="/dist/main.js"></script>' }),
      ...appFiles('webpack', { worker: ['w.js', null] }, 'src/'),
    },
    build: [join(BIN, 'webpack'), []],
    serve: '.',
    contexts: ['page', 'worker'],
  },
  // esbuild leaves `new URL('….wasm', import.meta.url)` alone: the test copies the .wasm to where
  // that URL resolves, as the README tells esbuild users to.
  esbuild: {
    files: {
      'package.json': manifest('esbuild', 'module'),
      'index.html': page({ body: '<script type="module" src="/dist/main.js"></script>' }),
      ...appFiles('esbuild', { 'module-worker': ['w.js', "{ type: 'module' }"] }),
    },
    build: [join(BIN, 'esbuild'), ['main.js', 'w.js', '--bundle', '--format=esm', '--outdir=dist']],
    serve: '.',
    contexts: ['page', 'module-worker'],
  },
  // No bundler: an import map points 'token-status' at the installed package's browser entry.
  importmap: {
    files: {
      'package.json': manifest('importmap', 'module'),
      'index.html': page({
        head: `<script type="importmap">${JSON.stringify({ imports: { 'token-status': '/node_modules/token-status/index.js' } })}</script>`,
        body: '<script type="module" src="/main.js"></script>',
      }),
      ...appFiles('importmap', {}),
    },
    build: null,
    serve: '.',
    contexts: ['page'],
    // What the browser must have fetched from the installed package, unbundled.
    fetches: ['/node_modules/token-status/index.js', '/node_modules/token-status/web/token_status.js'],
  },
};

/** The simulator flow id the probe of `bundler`/`context` reads (see app/probe.js). */
export const flowId = (bundler, context) => `rq:loading:${bundler}:${context}`;

// ---------------------------------------------------------------------------------------------
// Serving

/**
 * Serves `root` with the simulator `sim` mounted (so a page's `location.origin + '/tokenio'` is
 * the simulator) and every `.wasm` answered according to `mode`: 'ok' (the file, WASM_DELAY_MS
 * late), '404', or 'garbage' (200 with an HTML page). `wasmAnswers` logs what each .wasm
 * request got.
 */
export async function serveSite(root, mode, sim) {
  const wasmAnswers = [];
  const site = await serveStatic({
    roots: { '/': root },
    handle: async (req, res, path) => {
      if (sim.handle(req, res)) return true;
      if (!path.endsWith('.wasm')) return false;
      wasmAnswers.push({ path, mode });
      if (mode === '404') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return true;
      }
      if (mode === 'garbage') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(SPA_FALLBACK);
        return true;
      }
      await new Promise((done) => setTimeout(done, WASM_DELAY_MS));
      return false;
    },
  });
  return { ...site, wasmAnswers };
}

/** The simulator's request log for one flow id, through any server it is mounted on. */
export async function simRequests(base, id) {
  const res = await fetch(`${base}/_sim/requests?id=${encodeURIComponent(id)}`);
  assert.equal(res.status, 200, 'the simulator answers its request log');
  return res.json();
}

/** At most `n` of the functions passed run at once. */
export function limiter(n) {
  let running = 0;
  const queue = [];
  const next = () => {
    if (running >= n || queue.length === 0) return;
    running++;
    const { fn, resolve, reject } = queue.shift();
    fn().then(resolve, reject).finally(() => {
      running--;
      next();
    });
  };
  return (fn) => new Promise((resolve, reject) => {
    queue.push({ fn, resolve, reject });
    next();
  });
}

// ---------------------------------------------------------------------------------------------
// Loading a page

/** How long a page that reported an uncaught error still gets to publish its results. */
const GRACE_AFTER_ERROR_MS = 3000;

/**
 * Polls `read()` (resolving `{ results, errors }` from the page) until results arrive, or the
 * page has reported an error (or `failed()` says so) and GRACE_AFTER_ERROR_MS passed without
 * results (an import that threw publishes nothing), or `timeoutMs` passed.
 */
async function waitForResults(read, timeoutMs, failed = () => false) {
  const deadline = Date.now() + timeoutMs;
  let firstErrorAt = null;
  for (;;) {
    const seen = await read();
    if (seen.results) return seen;
    if (seen.errors.length || failed()) firstErrorAt ??= Date.now();
    if (Date.now() > deadline || (firstErrorAt && Date.now() - firstErrorAt > GRACE_AFTER_ERROR_MS)) return seen;
    await new Promise((done) => setTimeout(done, 100));
  }
}

/** Opens `url` in a fresh Chromium context; resolves `{ results, errorsSoFar, logged, url }` (results null if none came). */
export async function openInChromium(browser, url, timeoutMs = 30_000) {
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    const logged = [];
    tab.on('console', (m) => logged.push({ type: m.type(), text: m.text(), url: m.location().url ?? '' }));
    tab.on('pageerror', (e) => logged.push({ type: 'pageerror', text: String(e.message), url: '' }));
    await tab.goto(url);
    const read = () => tab.evaluate(() => ({ results: window.__results || null, errors: window.__errors || [] }));
    const seen = await waitForResults(read, timeoutMs, () => logged.some((l) => l.type === 'pageerror'));
    return { results: seen.results, errorsSoFar: seen.errors, logged, url };
  } finally {
    await context.close();
  }
}

/** Opens `url` in the Firefox session `firefox`; resolves like openInChromium. */
export async function openInFirefox(firefox, url, timeoutMs = 30_000) {
  await firefox.goto(url);
  const read = () => firefox.execute('return { results: window.__results || null, errors: window.__errors || [] };');
  const seen = await waitForResults(read, timeoutMs);
  // WebDriver classic has no console: the page's own error listeners are what is checked.
  return { results: seen.results, errorsSoFar: seen.errors, logged: [], url };
}

/** Every uncaught error, unhandled rejection and console error seen during a load. */
function problems(load, mode) {
  const out = [];
  for (const e of load.results?.errors ?? load.errorsSoFar) out.push(`${e.where}: ${e.type}: ${e.message}`);
  for (const c of Object.values(load.results?.contexts ?? {})) {
    for (const e of c.errors ?? []) out.push(`${c.label}: ${e.type}: ${e.message}`);
  }
  for (const l of load.logged) {
    // A .wasm answering 404 is logged by Chromium as a failed resource: that is the 404 itself.
    const expected404 = mode === '404' && /Failed to load resource/.test(l.text) && l.url.endsWith('.wasm');
    if (l.type === 'pageerror') out.push(`pageerror: ${l.text}`);
    else if (l.type === 'error' && !expected404) out.push(`console error: ${l.text} (${l.url})`);
  }
  return out;
}

const showLoad = (load) => `page ${load.url}\nresults: ${JSON.stringify(load.results, null, 1)?.slice(0, 6000)}\n`
  + `console:\n${load.logged.map((l) => `  ${l.type}: ${l.text} ${l.url}`).join('\n')}`;

/** The result of `context` in a load, after checking that the load produced results at all. */
function contextOf(load, context, mode) {
  assert.ok(load.results, `the page published no results (an import that threw or hung?)\n`
    + `problems: ${JSON.stringify(problems(load, mode))}\n${showLoad(load)}`);
  assert.equal(load.results.fatal, undefined, `the page failed\n${showLoad(load)}`);
  const r = load.results.contexts?.[context];
  assert.ok(r, `no result from ${context}\n${showLoad(load)}`);
  assert.equal(r.fatal, undefined, `${context} failed (the import threw?)\n${showLoad(load)}`);
  assert.equal(r.hung, undefined, `${context} hung\n${showLoad(load)}`);
  assert.equal(r.inWorker, context !== 'page', `${context} ran in ${r.inWorker ? 'a worker' : 'the page'}`);
  return r;
}

/** The synchronous constructor checks: unknown key, and a credential in a browser. */
function assertConstructorChecks(checks, when) {
  const { unknownOption, credential, truemedCredential } = checks;
  assert.equal(unknownOption.threw, true, `${when}: an unknown option throws in the constructor`);
  assert.equal(unknownOption.instanceOf, true, `${when}: a TokenStatusError (${unknownOption.name}: ${unknownOption.message})`);
  assert.equal(unknownOption.name, 'TokenStatusError');
  assert.equal(unknownOption.kind, 'invalid_argument', `${when}: ${unknownOption.message}`);
  assert.match(unknownOption.message, /bogus/, `${when}: the message names the unknown key`);
  for (const name of TOKENIO_OPTIONS) {
    assert.ok(unknownOption.message.includes(name), `${when}: the message names the known option ${name}: ${unknownOption.message}`);
  }
  for (const [label, r] of [['bearerToken', credential], ['apiKey', truemedCredential]]) {
    assert.equal(r.threw, true, `${when}: a ${label} in a browser throws in the constructor`);
    assert.equal(r.instanceOf, true, `${when}: a TokenStatusError (${r.name}: ${r.message})`);
    assert.equal(r.kind, 'insecure_credentials', `${when}: ${r.message}`);
    assert.ok(!r.message.includes(SIM_CREDENTIAL) && !r.message.includes('sim-truemed-key'), 'the message holds no credential');
  }
}

function assertSucceeded(call, id, when) {
  assert.ok(call && !call.hung, `${when}: the call settled within the probe's bound`);
  assert.equal(call.rejected, undefined, `${when}: rejected: ${JSON.stringify(call.error)}`);
  assert.equal(call.resolved, true);
  const s = call.value;
  assert.equal(s.provider, 'tokenio');
  assert.equal(s.id, id);
  assert.equal(s.state, 'succeeded');
  assert.equal(s.terminal, true);
  assert.equal(s.providerStatus, 'PROCESSED');
  assert.match(s.token, /^tt:/);
}

/**
 * A load with a good .wasm: in `context`, the constructors validated synchronously at import
 * time, the call made in that same tick waited for the (late) .wasm and resolved with the
 * flow's status, a later call did too, and nothing went uncaught.
 */
export function assertLoaded(load, context, id) {
  const r = contextOf(load, context, 'ok');
  assertConstructorChecks(r.atImport, 'at import');
  assert.equal(r.callThrew, undefined, `a call made at import time threw: ${JSON.stringify(r.callThrew)}`);
  assert.equal(r.returnsPromise, true, 'a call returns a Promise');
  assertSucceeded(r.first, id, 'the call made at import time');
  assert.ok(r.first.ms >= WASM_DELAY_MS - 50, `the call made at import time resolved after ${r.first.ms} ms although the .wasm `
    + `is served ${WASM_DELAY_MS} ms late: the import itself waited for the .wasm (top-level await?), not the call`);
  assertConstructorChecks(r.later, 'once loaded');
  assertSucceeded(r.second, id, 'a call made once loaded');
  assert.deepEqual(problems(load, 'ok'), [], 'nothing uncaught, no console error');
}

/**
 * A load whose .wasm cannot be used (`mode` '404' or 'garbage'): in `context`, the constructors
 * still validated synchronously, and every call rejected (never hung) with a TokenStatusError of
 * `kind` whose message names the .wasm it asked for (and the HTTP status of a 404) and says what to
 * check; nothing went uncaught. `load.site` is the serveSite that answered.
 */
export function assertLoadFailed(load, context, mode, kind) {
  const r = contextOf(load, context, mode);
  assertConstructorChecks(r.atImport, 'at import');
  assert.equal(r.callThrew, undefined, `a call made at import time threw synchronously: ${JSON.stringify(r.callThrew)}`);
  assert.equal(r.returnsPromise, true, 'a call returns a Promise');
  for (const [when, call] of [['the call made at import time', r.first], ['a later call', r.second]]) {
    assert.ok(call && !call.hung, `${when} settled within the probe's bound: ${JSON.stringify(call)}`);
    assert.equal(call.resolved, undefined, `${when} resolved: ${JSON.stringify(call.value)}`);
    assert.equal(call.rejected, true);
    const e = call.error;
    assert.equal(e.instanceOf, true, `${when}: a TokenStatusError, got ${e.name}: ${e.message}`);
    assert.equal(e.name, 'TokenStatusError');
    assert.equal(e.kind, kind, `${when}: kind (message: ${e.message})`);
    const asked = load.site.wasmAnswers.map((a) => a.path);
    assert.ok(asked.some((path) => e.message.includes(path)), `${when}: the message names the .wasm it asked for (${asked.join(', ')}): ${e.message}`);
    assert.match(e.message, /\bcheck\b/i, `${when}: the message says what to check: ${e.message}`);
    if (mode === '404') assert.match(e.message, /\b404\b/, `${when}: the message gives the HTTP status: ${e.message}`);
    assert.ok(!e.message.includes(SIM_CREDENTIAL), 'the message holds no credential');
  }
  assertConstructorChecks(r.later, 'after the failed load');
  assert.deepEqual(problems(load, mode), [], 'nothing uncaught, no console error');
}

// ---------------------------------------------------------------------------------------------
// Source checks (acorn)

/** Calls `visit(node, insideFunction)` for every node of an acorn AST. */
function walkAst(node, visit, insideFunction = false) {
  if (!node || typeof node.type !== 'string') return;
  visit(node, insideFunction);
  const inner = insideFunction || /^(FunctionDeclaration|FunctionExpression|ArrowFunctionExpression)$/.test(node.type);
  for (const [key, value] of Object.entries(node)) {
    if (key === 'loc' || key === 'start' || key === 'end') continue;
    if (Array.isArray(value)) for (const child of value) walkAst(child, visit, inner);
    else if (value && typeof value === 'object') walkAst(value, visit, inner);
  }
}

/** Parses JavaScript with acorn (a syntax error throws, naming `file`). */
export function parseJs(source, file, sourceType = 'module') {
  try {
    return parse(source, { ecmaVersion: 'latest', sourceType, locations: true });
  } catch (err) {
    throw new Error(`${file} does not parse as ${sourceType}: ${err.message}`);
  }
}

/** Line numbers of every top-level `await` (an await expression or `for await`) in a module. */
export function topLevelAwaits(source, file) {
  const lines = [];
  walkAst(parseJs(source, file), (node, insideFunction) => {
    if (insideFunction) return;
    if (node.type === 'AwaitExpression' || (node.type === 'ForOfStatement' && node.await)) lines.push(node.loc.start.line);
  });
  return lines;
}

/** The string of every `new URL('<…>.wasm', import.meta.url)` in a module. */
export function wasmUrls(source, file) {
  const urls = [];
  walkAst(parseJs(source, file), (node) => {
    if (node.type !== 'NewExpression' || node.callee.type !== 'Identifier' || node.callee.name !== 'URL') return;
    const [what, base] = node.arguments;
    const isImportMetaUrl = base?.type === 'MemberExpression' && base.object.type === 'MetaProperty'
      && base.object.meta.name === 'import' && base.property.name === 'url';
    if (isImportMetaUrl && what?.type === 'Literal' && typeof what.value === 'string' && what.value.endsWith('.wasm')) urls.push(what.value);
  });
  return urls;
}
