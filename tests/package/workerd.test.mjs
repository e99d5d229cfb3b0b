// The packed package inside real workerd (Cloudflare Workers' runtime, from npm `workerd`):
// the `workerd` export condition's entry imports the .wasm as a module, a client holding a
// credential is a server there (no browser guard), and calls, waits, timeouts and errors work
// against the simulator; and what a merchant server does (tests/package/server-checks.js): Gr4vy
// keys, minted tokens, verified webhooks, waits they end. Run: `node --test tests/package/workerd.test.mjs`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator } from '../../www/simulator/index.mjs';
import { ROOT, installProject, packPkg } from '../support/packed.mjs';
import { assertServerChecks, prepareServerChecks, startServerSimulator } from '../support/server-fixtures.mjs';
import { startWorkerd } from '../support/workerd.mjs';

const WORK = join(ROOT, 'build', 'workerd-test');

let sim;
let serverSim;
let worker;
let origin;

// The worker: one request runs the scenario named in the query and answers what it saw.
// POST /server-checks runs tests/package/server-checks.js with the configuration it is sent.
const WORKER = `import * as mod from 'token-status';
import { serverChecks } from './server-checks.js';
const { TokenIoClient, TruemedClient, Gr4vyClient, TokenStatusError } = mod;
export default {
  async fetch(request, env) {
    if (request.method === 'POST') return Response.json(await serverChecks(mod, await request.json()));
    const q = new URL(request.url).searchParams;
    const out = {};
    const caught = async (promise) => {
      try { return { value: await promise }; } catch (e) {
        return { error: { instanceOf: e instanceof TokenStatusError, name: e.name, kind: e.kind, status: e.status, attempts: e.attempts, message: e.message } };
      }
    };
    try {
      const tokenio = new TokenIoClient({ baseUrl: env.SIM + '/tokenio', basicCredentials: 'c2ltOnRva2VuaW8=' });
      out.first = await tokenio.getTokenRequestResult(q.get('tokenio'));
      out.waited = await tokenio.waitForTokenRequestResult(q.get('tokenio'), { intervalMs: 10 });
      out.notFound = await caught(tokenio.getTokenRequestResult('rq:missing:1'));
      out.invalid = await caught(tokenio.getTokenRequestResult(''));
      const gr4vy = new Gr4vyClient({ baseUrl: env.SIM + '/gr4vy', bearerToken: async () => 'sim-gr4vy-token' });
      out.gr4vy = await gr4vy.waitForPaymentServiceToken(q.get('pm'), q.get('gr4vy'), { intervalMs: 10 });
      const truemed = new TruemedClient({ baseUrl: env.SIM + '/truemed', apiKey: 'sim-truemed-key', timeoutMs: 150, retry: false });
      out.timeout = await caught(truemed.getProvisionTokenRequest(q.get('slow')));
    } catch (e) {
      out.fatal = String((e && e.stack) || e);
    }
    return Response.json(out);
  },
};
`;

before(async () => {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  const { tarball } = await packPkg(join(WORK, 'pack'));
  await installProject(join(WORK, 'app'), tarball, {
    'package.json': { name: 'consumer-workerd', private: true, type: 'module' },
    'worker.js': WORKER,
    'server-checks.js': readFileSync(join(ROOT, 'tests', 'package', 'server-checks.js'), 'utf8'),
  });
  [sim, serverSim] = await Promise.all([startSimulator({ port: 0 }), startServerSimulator()]);
  worker = await startWorkerd({
    dir: join(WORK, 'app'),
    main: 'worker.js',
    modules: [{ name: 'server-checks.js', file: 'server-checks.js' }],
    bindings: { SIM: sim.url },
  });
  origin = worker.origin;
});

after(async () => {
  await worker?.close();
  await sim?.close();
  await serverSim?.close();
});

test('the package works inside workerd', { timeout: 60_000 }, async () => {
  const post = async (path, body) => (await fetch(sim.url + path, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  })).json();
  const tokenio = await post('/_sim/flows', { provider: 'tokenio', outcome: 'expired', pendingPolls: 2 });
  const gr4vy = await post('/_sim/flows', { provider: 'gr4vy', outcome: 'succeeded', pendingPolls: 1 });
  const slow = await post('/_sim/flows', { provider: 'truemed', outcome: 'pending' });
  await post('/_sim/faults', { match: { id: slow.id }, faults: [{ delayMs: 2000 }] });
  const query = new URLSearchParams({ tokenio: tokenio.id, gr4vy: gr4vy.id, pm: gr4vy.paymentMethodId, slow: slow.id });
  const res = await fetch(`${origin}/?${query}`);
  const out = await res.json();
  assert.equal(out.fatal, undefined, `worker failed: ${out.fatal}\n${worker.output()}`);

  // A credentialed client is a server in workerd: no insecure_credentials.
  assert.equal(out.first.state, 'pending');
  assert.equal(out.first.provider, 'tokenio');
  assert.equal(out.first.id, tokenio.id);
  assert.equal(out.waited.state, 'expired');
  assert.equal(out.waited.terminal, true);
  assert.equal(out.gr4vy.state, 'succeeded');
  assert.equal(out.gr4vy.id, gr4vy.id);
  assert.match(out.gr4vy.token, /^gr4vy_pst_/);
  assert.deepEqual(
    { ...out.notFound.error, message: undefined },
    { instanceOf: true, name: 'TokenStatusError', kind: 'not_found', status: 404, attempts: 1, message: undefined },
  );
  assert.equal(out.invalid.error.kind, 'invalid_argument');
  assert.equal(out.invalid.error.attempts, 0);
  assert.equal(out.timeout.error.kind, 'timeout');
  assert.equal(out.timeout.error.attempts, 1);
  // Every status read the worker made reached the simulator with the credential.
  const log = await (await fetch(`${sim.url}/_sim/requests?id=${encodeURIComponent(tokenio.id)}`)).json();
  assert.ok(log.length >= 3, `the wait polled until EXPIRED (${log.length} reads)`);
  assert.ok(log.every((entry) => entry.headers.authorization === 'Basic c2ltOnRva2VuaW8='));
});

test('workerd: Gr4vy keys, minted tokens, the webhook security table, waits ended by webhooks, no secret in any output', { timeout: 90_000 }, async (t) => {
  const cfg = await prepareServerChecks(serverSim);
  const res = await fetch(`${origin}/server-checks`, { method: 'POST', body: JSON.stringify(cfg) });
  const text = await res.text();
  assert.equal(res.status, 200, `${text}\n${worker.output()}`);
  await assertServerChecks(t, { sim: serverSim, cfg, out: JSON.parse(text), output: text + worker.output(), runtime: 'workerd' });
});
