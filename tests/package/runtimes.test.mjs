// The packed package in Bun and Deno (both from npm, pinned in package.json): the same script
// a Node user would write, run by each runtime against the simulator; and what a merchant server
// does (tests/package/server-checks.js): Gr4vy keys, minted tokens, verified webhooks, waits they
// end. Each resolves the package through its own export conditions; both are servers (no
// browser guard). Run: `node --test tests/package/runtimes.test.mjs`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startSimulator } from '../../www/simulator/index.mjs';
import { BIN, ROOT, installProject, packPkg } from '../support/packed.mjs';
import { SERVER_CHECKS, SERVER_MAIN_ESM, runServerChecks, startServerSimulator } from '../support/server-fixtures.mjs';

const WORK = join(ROOT, 'build', 'runtime-tests');

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
let serverSim;
let dir;

before(async () => {
  const { tarball } = await packPkg(join(WORK, 'pack'));
  dir = await installProject(join(WORK, 'app'), tarball, {
    'package.json': { name: 'consumer-runtimes', private: true, type: 'module' },
    'check.mjs': SCRIPT,
    'server-checks.js': SERVER_CHECKS,
    'server.mjs': SERVER_MAIN_ESM,
  });
  [sim, serverSim] = await Promise.all([startSimulator({ port: 0 }), startServerSimulator()]);
});

after(async () => {
  await sim?.close();
  await serverSim?.close();
});

const ENV = { DENO_NO_UPDATE_CHECK: '1' };
const runtimes = {
  bun: (script, arg) => [join(BIN, 'bun'), [script, arg]],
  deno: (script, arg) => [join(BIN, 'deno'), ['run', '--allow-net', '--allow-read', '--allow-env', script, arg]],
};

for (const [name, command] of Object.entries(runtimes)) {
  test(`${name}: statuses, waits, errors and aborts; the process exits by itself`, { timeout: 60_000 }, async () => {
    const [bin, args] = command('check.mjs', sim.url);
    const version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim().split('\n')[0];
    // A runtime that keeps a timer alive would hit this timeout instead of exiting.
    const { stdout } = await promisify(execFile)(bin, args, {
      cwd: dir, timeout: 30_000, env: { ...process.env, NO_COLOR: '1', ...ENV },
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

for (const [name, command] of Object.entries(runtimes)) {
  test(`${name}: Gr4vy keys, minted tokens, the webhook security table, waits ended by webhooks, no secret in any output`, { timeout: 120_000 }, async (t) => {
    await runServerChecks(t, { sim: serverSim, dir, runtime: name, env: ENV, command: (file) => command('server.mjs', file) });
  });
}
