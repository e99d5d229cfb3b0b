// The packed package inside real workerd (Cloudflare Workers' runtime, from npm `workerd`):
// the `workerd` export condition's entry imports the .wasm as a module, a client holding a
// credential is a server there (no browser guard), and calls, waits, timeouts and errors work
// against the simulator. Run: `node --test tests/package/workerd.test.mjs`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSimulator } from '../../www/simulator/index.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WORK = join(ROOT, 'build', 'workerd-test');
const WORKERD = join(ROOT, 'node_modules', '.bin', 'workerd');

let sim;
let workerd;
let origin;
let output = '';

const freePort = () => new Promise((done) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port } = probe.address();
    probe.close(() => done(port));
  });
});

// The worker: one request runs the scenario named in the query and answers what it saw.
const WORKER = `import { TokenIoClient, TruemedClient, Gr4vyClient, TokenStatusError } from 'token-status';
export default {
  async fetch(request, env) {
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
  // Install the packed tarball the way a user does.
  const tarball = execFileSync('npm', ['pack', join(ROOT, 'pkg'), '--pack-destination', WORK, '--silent'], { encoding: 'utf8' }).trim().split('\n').pop();
  writeFileSync(join(WORK, 'package.json'), JSON.stringify({ name: 'consumer-workerd', private: true, type: 'module' }));
  execFileSync('npm', ['install', join(WORK, tarball), '--offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: WORK });
  writeFileSync(join(WORK, 'worker.js'), WORKER);

  // Resolve 'token-status' through its exports map with the workerd condition, as a
  // Workers bundler does, and list the modules it needs.
  const installed = join(WORK, 'node_modules', 'token-status');
  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
  const entry = manifest.exports['.'].import.workerd;
  assert.ok(entry, 'the exports map has a workerd condition');
  sim = await startSimulator({ port: 0 });
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  const mod = (name, kind, file) => `(name = "${name}", ${kind} = embed "${file}")`;
  writeFileSync(join(WORK, 'config.capnp'), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [
    ${mod('worker.js', 'esModule', 'worker.js')},
    ${mod('token-status', 'esModule', `node_modules/token-status/${entry.replace('./', '')}`)},
    ${mod('server/token_status.js', 'esModule', 'node_modules/token-status/server/token_status.js')},
    ${mod('server/token_status_bg.wasm', 'wasm', 'node_modules/token-status/server/token_status_bg.wasm')},
  ],
  bindings = [ (name = "SIM", text = "${sim.url}") ],
  compatibilityDate = "2026-11-01",
  globalOutbound = "internet",
);
`);
  workerd = spawn(WORKERD, ['serve', 'config.capnp'], { cwd: WORK, stdio: ['ignore', 'pipe', 'pipe'] });
  workerd.stdout.on('data', (d) => { output += d; });
  workerd.stderr.on('data', (d) => { output += d; });
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(origin + '/?probe=1');
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`workerd did not start:\n${output}`);
});

after(async () => {
  workerd?.kill('SIGTERM');
  await sim?.close();
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
  assert.equal(out.fatal, undefined, `worker failed: ${out.fatal}\n${output}`);

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
