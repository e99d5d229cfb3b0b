// The packed package in Bun and Deno (both from npm, pinned in package.json): the same script
// a Node user would write, run by each runtime against the simulator. Each resolves the
// package through its own export conditions; both are servers (no browser guard).
// Run: `node --test tests/package/runtimes.test.mjs`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startSimulator } from '../../www/simulator/index.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WORK = join(ROOT, 'build', 'runtime-tests');
const BIN = join(ROOT, 'node_modules', '.bin');

const SCRIPT = `import { TokenIoClient, Gr4vyClient, TokenStatusError } from 'token-status';
const sim = (globalThis.Deno ? Deno.args : process.argv.slice(2))[0];
const post = async (path, body) => (await fetch(sim + path, {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
})).json();
const out = {};
const flow = await post('/_sim/flows', { provider: 'tokenio', outcome: 'succeeded', pendingPolls: 1 });
const tokenio = new TokenIoClient({ baseUrl: sim + '/tokenio', basicCredentials: 'c2ltOnRva2VuaW8=' });
out.first = await tokenio.getTokenRequestResult(flow.id);
out.waited = await tokenio.waitForTokenRequestResult(flow.id, { intervalMs: 10 });
const gr4vyFlow = await post('/_sim/flows', { provider: 'gr4vy', outcome: 'failed', pendingPolls: 1 });
const gr4vy = new Gr4vyClient({ baseUrl: sim + '/gr4vy', bearerToken: async () => 'sim-gr4vy-token' });
out.gr4vy = await gr4vy.waitForPaymentServiceToken(gr4vyFlow.paymentMethodId, gr4vyFlow.id, { intervalMs: 10 });
try { await tokenio.getTokenRequestResult('rq:missing:1'); } catch (e) {
  out.notFound = { instanceOf: e instanceof TokenStatusError, name: e.name, kind: e.kind, status: e.status };
}
const pending = await post('/_sim/flows', { provider: 'tokenio', outcome: 'pending' });
const controller = new AbortController();
const waiting = tokenio.waitForTokenRequestResult(pending.id, { signal: controller.signal, intervalMs: 20 });
setTimeout(() => controller.abort(), 60);
try { await waiting; } catch (e) { out.aborted = e.kind; }
console.log(JSON.stringify(out));
`;

let sim;

before(async () => {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  const tarball = execFileSync('npm', ['pack', join(ROOT, 'pkg'), '--pack-destination', WORK, '--silent'], { encoding: 'utf8' }).trim().split('\n').pop();
  writeFileSync(join(WORK, 'package.json'), JSON.stringify({ name: 'consumer-runtimes', private: true, type: 'module' }));
  execFileSync('npm', ['install', join(WORK, tarball), '--offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: WORK });
  writeFileSync(join(WORK, 'check.mjs'), SCRIPT);
  sim = await startSimulator({ port: 0 });
});

after(() => sim?.close());

const runtimes = {
  bun: (url) => [join(BIN, 'bun'), ['check.mjs', url]],
  deno: (url) => [join(BIN, 'deno'), ['run', '--allow-net', '--allow-read', '--allow-env', 'check.mjs', url]],
};

for (const [name, command] of Object.entries(runtimes)) {
  test(`${name}: statuses, waits, errors and aborts; the process exits by itself`, { timeout: 60_000 }, async () => {
    const [bin, args] = command(sim.url);
    const version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim().split('\n')[0];
    // A runtime that keeps a timer alive would hit this timeout instead of exiting.
    const { stdout } = await promisify(execFile)(bin, args, {
      cwd: WORK, timeout: 30_000, env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' },
    });
    const out = JSON.parse(stdout.trim().split('\n').pop());
    assert.equal(out.first.state, 'pending');
    assert.equal(out.first.providerStatus, 'PENDING');
    assert.equal(out.waited.state, 'succeeded');
    assert.match(out.waited.token, /^tt:/);
    assert.equal(out.gr4vy.state, 'failed');
    assert.equal(out.gr4vy.terminal, true);
    assert.deepEqual(out.notFound, { instanceOf: true, name: 'TokenStatusError', kind: 'not_found', status: 404 });
    assert.equal(out.aborted, 'aborted');
    console.log(`${version}: ok`);
  });
}
