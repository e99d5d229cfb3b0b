// "Loading everywhere" (DESIGN.md, issue 9): the packed tarball, installed into fresh projects
// under build/loading-tests/bundlers/, built with each bundler's stock configuration (Vite with
// no config file, webpack 5 with only entry/output, esbuild --bundle --format=esm with the .wasm
// copied as the README says) or not at all (an import map), then loaded in headless Chromium
// (and the Vite app in headless Firefox ESR). In every page and worker, right after the import:
// the constructors validate synchronously, and a call made in that same tick waits for the
// .wasm (served late on purpose) and resolves with the simulator's status. The same builds are
// served with a .wasm answering 404 (kind `network`) and 200 + HTML (kind `invalid_response`):
// every call rejects, nothing hangs or goes uncaught.
// Run: `node --test tests/loading/`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, posix, relative, resolve, sep } from 'node:path';
import { createSimulator } from '../../www/simulator/index.mjs';
import { launchChromium, serveStatic, startFirefox } from '../support/browser.mjs';
import { ROOT, installProject, killChildren, packPkg, run, show, walk } from '../support/packed.mjs';
import {
  PROJECTS, SIM_CREDENTIAL, assertLoadFailed, assertLoaded, flowId, limiter, openInChromium, openInFirefox,
  parseJs, serveSite, simRequests, wasmUrls,
} from './_helpers.mjs';

const WORK = join(ROOT, 'build', 'loading-tests', 'bundlers');
/** How each site answers the .wasm, and the error kind a failed load must give. */
const MODES = { ok: null, 404: 'network', garbage: 'invalid_response' };
const MODE_TITLES = {
  ok: 'constructors check at import; a call made then waits for the .wasm and resolves',
  404: '.wasm 404: every call rejects with kind network; constructors still check',
  garbage: '.wasm answers HTML: every call rejects with kind invalid_response; constructors still check',
};
const FIREFOX_BUNDLERS = ['vite'];

const sim = createSimulator();
let control; // a server with only the simulator: flows and the request log
let chromium;
let firefox;
let firefoxStart;
const dirs = {};
const builds = {};
const sites = new Map();
const loads = new Map();
const chromiumGate = limiter(3);
const firefoxGate = limiter(1);

/** Builds one project as its README-following user would; resolves { ok, why?, output, root, copied? }. */
async function build(name) {
  const project = PROJECTS[name];
  const dir = dirs[name];
  const root = resolve(dir, project.serve);
  if (!project.build) return { ok: true, output: '', root };
  const [cmd, args] = project.build;
  const r = await run(cmd, args, { cwd: dir, timeout: 120_000 });
  if (r.code !== 0) return { ok: false, why: `${name} build failed (${cmd.split(sep).pop()} ${args.join(' ')})\n${show(r)}` };
  const result = { ok: true, output: r.stdout + r.stderr, root, ms: r.ms };
  if (name === 'esbuild') {
    // esbuild leaves `new URL('….wasm', import.meta.url)` alone: copy the package's .wasm to the
    // place each bundle's URL resolves to.
    const dist = join(dir, 'dist');
    const source = join(dir, 'node_modules', 'token-status', 'web', 'token_status_bg.wasm');
    result.copied = [];
    for (const file of walk(dist).filter((f) => f.endsWith('.js'))) {
      for (const url of wasmUrls(readFileSync(file, 'utf8'), file)) {
        const target = resolve(dirname(file), url);
        mkdirSync(dirname(target), { recursive: true });
        copyFileSync(source, target);
        result.copied.push({ bundle: relative(dir, file), url, target: relative(dir, target) });
      }
    }
  }
  return result;
}

/** The built project `bundler`, served with its .wasm answered per `mode` (one server each). */
function siteFor(bundler, mode) {
  const key = `${bundler}:${mode}`;
  if (!sites.has(key)) {
    sites.set(key, (async () => {
      const built = await builds[bundler];
      assert.ok(built.ok, `no ${bundler} build to load (see the ${bundler} build test): ${built.why?.split('\n')[0]}`);
      return serveSite(built.root, mode, sim);
    })());
  }
  return sites.get(key);
}

/** One load of `bundler`'s page per browser and mode, shared by the tests of its contexts. */
function loadIn(browserName, bundler, mode) {
  const key = `${browserName}:${bundler}:${mode}`;
  if (!loads.has(key)) {
    loads.set(key, (async () => {
      const site = await siteFor(bundler, mode);
      const load = browserName === 'chromium'
        ? await chromiumGate(() => openInChromium(chromium, `${site.url}/`))
        : await firefoxGate(async () => openInFirefox(await firefoxStart, `${site.url}/`));
      return { ...load, site };
    })());
  }
  return loads.get(key);
}

before(async () => {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  const launching = launchChromium();
  launching.catch(() => {});
  const { tarball } = await packPkg(join(WORK, 'pack'));
  await Promise.all(Object.entries(PROJECTS).map(async ([name, project]) => {
    dirs[name] = await installProject(join(WORK, name), tarball, project.files);
  }));
  // Every build starts now and runs alongside the others; each build test awaits its own.
  for (const name of Object.keys(PROJECTS)) builds[name] = build(name);
  control = await serveStatic({ roots: {}, handle: (req, res) => sim.handle(req, res) });
  for (const [bundler, project] of Object.entries(PROJECTS)) {
    for (const context of project.contexts) {
      const res = await fetch(`${control.url}/_sim/flows`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ provider: 'tokenio', id: flowId(bundler, context), outcome: 'succeeded', pendingPolls: 0 }),
      });
      assert.equal(res.status, 201, `flow for ${bundler} ${context}: ${await res.text()}`);
    }
  }
  chromium = await launching;
});

after(async () => {
  killChildren();
  await Promise.allSettled([
    chromium?.close(),
    firefoxStart?.then((f) => f.close()),
    control?.close(),
    ...[...sites.values()].map((s) => s.then((site) => site.close())),
  ]);
});

describe('builds with stock configurations', { concurrency: true }, () => {
  for (const name of ['vite', 'webpack']) {
    test(`${name} build succeeds and emits the package's .wasm as an asset`, async (t) => {
      const built = await builds[name];
      assert.ok(built.ok, built.why);
      t.diagnostic(`${name} build: ${built.ms} ms`);
      const emitted = walk(built.root).filter((f) => f.endsWith('.wasm') && !f.includes(`${sep}node_modules${sep}`));
      assert.ok(emitted.length >= 1, `a .wasm was emitted into ${relative(dirs[name], built.root)}`);
      const original = readFileSync(join(dirs[name], 'node_modules', 'token-status', 'web', 'token_status_bg.wasm'));
      for (const f of emitted) assert.ok(readFileSync(f).equals(original), `${relative(dirs[name], f)} is the package's .wasm`);
      if (name === 'vite') {
        // Vite's default worker.format is iife, for module workers too: both worker bundles are
        // classic scripts (no import/export, no import.meta), which a top-level await cannot be in.
        const workers = walk(built.root).filter((f) => /\/w(-classic)?-[\w-]+\.js$/.test(f));
        assert.equal(workers.length, 2, `two worker bundles: ${walk(built.root).map((f) => relative(built.root, f)).join(', ')}`);
        for (const f of workers) parseJs(readFileSync(f, 'utf8'), relative(built.root, f), 'script');
      }
      const warnings = built.output.split('\n').filter((l) => /warn|\(!\)/i.test(l));
      if (warnings.length) t.diagnostic(`warnings:\n${warnings.join('\n')}`);
    });
  }

  test('esbuild bundle: each bundle references one .wasm, copied where its URL resolves', async (t) => {
    const built = await builds.esbuild;
    assert.ok(built.ok, built.why);
    t.diagnostic(`copied: ${JSON.stringify(built.copied)}`);
    assert.deepEqual(built.copied.map((c) => c.bundle).sort(), ['dist/main.js', 'dist/w.js'],
      'one new URL(\'….wasm\', import.meta.url) in each bundle');
    assert.equal(new Set(built.copied.map((c) => c.target)).size, 1, 'both bundles look in the same place');
  });

  test('the packed README tells esbuild users to copy the .wasm where the bundle looks for it', async () => {
    const built = await builds.esbuild;
    assert.ok(built.ok, built.why);
    // Where the bundle looks, relative to itself: e.g. `web/` for './web/token_status_bg.wasm'.
    const folder = posix.dirname(posix.normalize(built.copied[0].url));
    const readme = readFileSync(join(dirs.esbuild, 'node_modules', 'token-status', 'README.md'), 'utf8');
    // Paragraphs and list items that speak of esbuild and the .wasm.
    const advice = readme.split(/\n\s*\n|\n(?=\s*[-*] )/).filter((b) => /esbuild/i.test(b) && b.includes('token_status_bg.wasm'));
    assert.ok(advice.length > 0, 'the README says what esbuild users do with token_status_bg.wasm');
    const spans = advice.flatMap((b) => [...b.matchAll(/`([^`]+)`/g)].map((m) => m[1].trim()));
    const names = folder === '.' ? ['./', 'token_status_bg.wasm'] : [`${folder}/`, folder, `${folder}/token_status_bg.wasm`];
    assert.ok(spans.some((span) => names.includes(span) || (span.endsWith(`/${folder}/`) && !span.includes('node_modules'))),
      `the esbuild advice names the place the bundle looks (${names.join(' or ')}, beside the bundle): ${advice.join('\n')}`);
  });
});

const titled = (browserName, bundler, context, mode) => `${browserName} · ${bundler} · ${context}: ${MODE_TITLES[mode]}`;

async function checkContext(browserName, bundler, context, mode) {
  const load = await loadIn(browserName, bundler, mode);
  if (mode === 'ok') {
    const id = flowId(bundler, context);
    assertLoaded(load, context, id);
    assert.ok(load.site.served.some((s) => s.path.endsWith('.wasm') && s.type === 'application/wasm'), 'the .wasm was fetched');
    for (const path of PROJECTS[bundler].fetches ?? []) {
      assert.ok(load.site.served.some((s) => s.path === path), `${path} was fetched`);
    }
    const log = await simRequests(control.url, id);
    assert.ok(log.length >= 2, `the calls reached the simulator (${log.length} requests)`);
    for (const entry of log) assert.equal(entry.headers.authorization, `Bearer ${SIM_CREDENTIAL}`);
  } else {
    assertLoadFailed(load, context, mode, MODES[mode]);
    assert.ok(load.site.wasmAnswers.some((a) => a.mode === mode), `the page asked for the .wasm and got the ${mode} answer`);
  }
}

describe('Chromium', { concurrency: true }, () => {
  for (const [bundler, project] of Object.entries(PROJECTS)) {
    for (const mode of Object.keys(MODES)) {
      for (const context of project.contexts) {
        test(titled('chromium', bundler, context, mode), { timeout: 120_000 }, () => checkContext('chromium', bundler, context, mode));
      }
    }
  }
});

describe('Firefox ESR (geckodriver)', { concurrency: true }, () => {
  before(() => {
    firefoxStart = startFirefox();
    firefoxStart.catch(() => {});
  });
  test('headless Firefox starts under geckodriver', async (t) => {
    const ff = await firefoxStart;
    t.diagnostic(ff.version);
  });
  for (const bundler of FIREFOX_BUNDLERS) {
    for (const mode of Object.keys(MODES)) {
      for (const context of PROJECTS[bundler].contexts) {
        test(titled('firefox', bundler, context, mode), { timeout: 120_000 }, () => checkContext('firefox', bundler, context, mode));
      }
    }
  }
});
