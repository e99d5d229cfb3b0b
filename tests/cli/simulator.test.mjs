// The simulator as the package ships it: `token-status simulate` (answers the three providers,
// stops on SIGINT and SIGTERM with exit 0) and `import { startSimulator } from
// 'token-status/simulator'` in a fresh user project, with its TypeScript types.
// Run: node --test tests/cli/
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, SIM_ENV, installPackage, run, show } from './_helpers.mjs';

let project;
let bin;

before(async () => {
  project = await installPackage('simulator');
  bin = join(project, 'node_modules', '.bin', 'token-status');
});

const AUTH = {
  truemed: { 'x-truemed-api-key': SIM_ENV.TRUEMED_API_KEY },
  gr4vy: { authorization: `bearer ${SIM_ENV.GR4VY_BEARER_TOKEN}` },
  tokenio: { authorization: `Bearer ${SIM_ENV.TOKENIO_BEARER_TOKEN}` },
};
const statusPath = {
  truemed: (f) => `/truemed/api/v1/payment_tokens/provision_request/${encodeURIComponent(f.id)}`,
  gr4vy: (f) => `/gr4vy/payment-methods/${encodeURIComponent(f.paymentMethodId)}/payment-service-tokens`,
  tokenio: (f) => `/tokenio/token-requests/${encodeURIComponent(f.id)}/result`,
};

describe('token-status simulate', () => {
  /** Spawns the command directly, to see its stdout as it comes and to signal it. */
  async function start() {
    const child = spawn(bin, ['simulate', '--port', '0'], { cwd: project, env: { ...process.env, ...SIM_ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    const exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr, at: Date.now() })));
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL within 10 s: ${stdout} ${stderr}`)), 10_000);
      child.stdout.setEncoding('utf8').on('data', (d) => {
        stdout += d;
        const m = /^simulator listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(stdout);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.on('exit', () => reject(new Error(`exited before printing its URL: ${stdout} ${stderr}`)));
    });
    return { child, url, exit, stderr: () => stderr };
  }

  for (const signal of ['SIGINT', 'SIGTERM']) {
    test(`answers the three providers and the command, then stops on ${signal} with exit 0`, async () => {
      const s = await start();
      try {
        for (const provider of ['truemed', 'gr4vy', 'tokenio']) {
          const res = await fetch(`${s.url}/_sim/flows`, { method: 'POST', body: JSON.stringify({ provider, outcome: 'succeeded', pendingPolls: 0 }) });
          assert.equal(res.status, 201);
          const f = await res.json();
          const read = await fetch(s.url + statusPath[provider](f), { headers: AUTH[provider] });
          assert.equal(read.status, 200, provider);
          const body = await read.json();
          const token = { truemed: body.payment_token, gr4vy: body.items?.[0]?.token, tokenio: body.tokenId }[provider];
          assert.equal(token, f.token, provider);
          const denied = await fetch(s.url + statusPath[provider](f));
          assert.equal(denied.status, 401, `${provider} checks credentials`);
          await denied.text();
        }
        // The command against the simulator it serves, as the README shows.
        const f = await (await fetch(`${s.url}/_sim/flows`, { method: 'POST', body: '{"provider":"tokenio","pendingPolls":1}' })).json();
        const waited = await run(bin, ['wait', 'tokenio', f.id, '--base-url', `${s.url}/tokenio`, '--interval', '50', '--json'],
          { cwd: project, env: SIM_ENV });
        assert.equal(waited.code, 0, show(waited));
        assert.equal(JSON.parse(waited.stdout).state, 'succeeded');
        assert.match(s.stderr(), new RegExp(`--base-url ${s.url.replace(/[.]/g, '\\.')}/tokenio`), 'stderr says where to point a client');
        assert.ok(!s.stderr().includes(SIM_ENV.TOKENIO_BEARER_TOKEN), 'the credential in the environment is not printed');
      } finally {
        const sentAt = Date.now();
        s.child.kill(signal);
        const r = await s.exit;
        assert.equal(r.signal, null, show(r));
        assert.equal(r.code, 0, show(r));
        assert.ok(r.at - sentAt < 2000, `stopped ${r.at - sentAt} ms after ${signal}`);
      }
    });
  }

  test('a port in use: exit 1 with the reason', async () => {
    const busy = createServer();
    await new Promise((resolve) => busy.listen(0, '127.0.0.1', resolve));
    try {
      const r = await run(bin, ['simulate', '--port', String(busy.address().port)], { cwd: project, timeout: 10_000 });
      assert.equal(r.code, 1, show(r));
      assert.match(r.stderr, /EADDRINUSE/);
    } finally {
      busy.close();
    }
  });
});

describe("import { startSimulator } from 'token-status/simulator'", () => {
  test('a user project starts it on port 0, creates a flow, reads it with the client, closes it; the process exits', async () => {
    writeFileSync(join(project, 'sim-user.mjs'), `
import { startSimulator } from 'token-status/simulator';
import { TokenIoClient, TruemedClient } from 'token-status';

const sim = await startSimulator({ port: 0 });
const flow = sim.sim.createFlow({ provider: 'tokenio', outcome: 'succeeded', pendingPolls: 1 });
const client = new TokenIoClient({ baseUrl: sim.url + '/tokenio', bearerToken: 'sim-tokenio-token' });
const first = await client.getTokenRequestResult(flow.id);
const final = await client.waitForTokenRequestResult(flow.id, { intervalMs: 20 });
// The control API over HTTP too.
const res = await fetch(sim.url + '/_sim/flows', { method: 'POST', body: JSON.stringify({ provider: 'truemed', pendingPolls: 0 }) });
const truemedFlow = await res.json();
const truemed = await new TruemedClient({ baseUrl: sim.url + '/truemed', apiKey: 'sim-truemed-key' }).getProvisionTokenRequest(truemedFlow.id);
await sim.close();
console.log(JSON.stringify({ url: sim.url, first: first.state, final, flowToken: flow.token, truemed, truemedToken: truemedFlow.token,
  reads: sim.sim.getFlow(flow.id).reads }));
`);
    const r = await run(process.execPath, ['sim-user.mjs'], { cwd: project, timeout: 15_000 });
    assert.equal(r.signal, null, `exits by itself after close()\n${show(r)}`);
    assert.equal(r.code, 0, show(r));
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1));
    assert.match(out.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(out.url, 'http://127.0.0.1:8787', 'port 0 picked a free port');
    assert.equal(out.first, 'pending');
    assert.equal(out.final.state, 'succeeded');
    assert.equal(out.final.token, out.flowToken);
    assert.equal(out.truemed.state, 'succeeded');
    assert.equal(out.truemed.token, out.truemedToken);
    assert.equal(out.reads, 2);
  });

  test('CommonJS: require(\'token-status/simulator\') gives the same simulator (Node 20.19+ requires ES modules)', async () => {
    writeFileSync(join(project, 'sim-user.cjs'), `
const { startSimulator } = require('token-status/simulator');
const { TruemedClient } = require('token-status');
(async () => {
  const sim = await startSimulator({ port: 0, credentials: false });
  const flow = sim.sim.createFlow({ provider: 'truemed', pendingPolls: 0 });
  const status = await new TruemedClient({ baseUrl: sim.url + '/truemed' }).getProvisionTokenRequest(flow.id);
  await sim.close();
  console.log(JSON.stringify({ state: status.state, same: status.token === flow.token }));
})();
`);
    const r = await run(process.execPath, ['sim-user.cjs'], { cwd: project, timeout: 15_000 });
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').at(-1)), { state: 'succeeded', same: true });
    assert.doesNotMatch(r.stderr, /Warning/, 'no experimental warning');
  });

  test('its types compile under --strict (no @types/node), reject a wrong option, and use no `any`', async () => {
    const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
    writeFileSync(join(project, 'sim-types.ts'), `
import { startSimulator, type RunningSimulator, type SimulatorFlow } from 'token-status/simulator';
async function main(): Promise<string> {
  const sim: RunningSimulator = await startSimulator({ port: 0, credentials: false, log: (line: string) => void line });
  const flow: SimulatorFlow = sim.sim.createFlow({ provider: 'gr4vy', outcome: 'action_required', steps: [{ status: 'processing', polls: 1 }] });
  const queued: number = sim.sim.addFaults({ match: { provider: 'gr4vy' }, faults: [{ status: 503, retryAfter: '1' }] });
  const seen: string[] = sim.sim.requests({ provider: 'gr4vy' }).map((r) => r.rawPath);
  await sim.close();
  return [flow.paymentMethodId, queued, seen.length, sim.url].join();
}
void main;
`);
    writeFileSync(join(project, 'sim-types-fail.ts'), `
import { startSimulator } from 'token-status/simulator';
void startSimulator({ prot: 0 });
`);
    const tsconfig = (file) => ({
      compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022', 'dom'], types: [], skipLibCheck: false },
      files: [file],
    });
    writeFileSync(join(project, 'tsconfig.sim.json'), JSON.stringify(tsconfig('sim-types.ts')));
    writeFileSync(join(project, 'tsconfig.sim-fail.json'), JSON.stringify(tsconfig('sim-types-fail.ts')));
    writeFileSync(join(project, 'package.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')), type: 'module' }));
    const ok = await run(tsc, ['-p', 'tsconfig.sim.json', '--pretty', 'false'], { cwd: project, timeout: 60_000 });
    assert.equal(ok.code, 0, show(ok));
    const fail = await run(tsc, ['-p', 'tsconfig.sim-fail.json', '--pretty', 'false'], { cwd: project, timeout: 60_000 });
    assert.notEqual(fail.code, 0, show(fail));
    assert.match(fail.stdout, /sim-types-fail\.ts\(3,\d+\): error TS2353: .*'prot'/, show(fail));

    for (const file of ['index.d.ts', 'index.d.cts']) {
      const dts = readFileSync(join(project, 'node_modules', 'token-status', 'simulator', file), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '');
      assert.deepEqual(dts.split('\n').filter((l) => /\bany\b/.test(l)), [], file);
    }
  });
});
