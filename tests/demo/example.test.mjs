// examples/status.mjs (the package's `token-status` command, run from the repository) against
// an in-process simulator. The command itself is tested from the tarball in tests/cli/.
// Run: node --test tests/demo/
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startSimulator } from '../../www/simulator/index.mjs';

const SCRIPT = fileURLToPath(new URL('../../examples/status.mjs', import.meta.url));
const CREDENTIALS = { TRUEMED_API_KEY: 'sim-truemed-key', GR4VY_BEARER_TOKEN: 'sim-gr4vy-token', TOKENIO_BEARER_TOKEN: 'sim-tokenio-token' };

/** Runs the example (asynchronously: the simulator lives in this process). */
function runExample(args) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(TRUEMED|GR4VY|TOKENIO)_/.test(k)) delete env[k];
  const child = spawn(process.execPath, [SCRIPT, ...args], { env: { ...env, ...CREDENTIALS }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`example did not exit by itself: ${stdout} ${stderr}`));
    }, 15_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('examples/status.mjs', () => {
  let sim;
  before(async () => {
    sim = await startSimulator({ port: 0 });
  });
  after(() => sim.close());

  it('waits for a Token.io request to be processed: one line per update, exit 0 with the final status', async () => {
    const flow = sim.sim.createFlow({ provider: 'tokenio', outcome: 'succeeded', pendingPolls: 1, stepMs: 300 });
    const { code, stdout, stderr } = await runExample(['wait', 'tokenio', flow.id, '--base-url', `${sim.url}/tokenio`, '--json']);
    assert.equal(code, 0, stderr);
    assert.equal(stderr, '');
    const final = JSON.parse(stdout);
    assert.equal(final.state, 'succeeded');
    assert.equal(final.terminal, true);
    assert.equal(final.providerStatus, 'PROCESSED');
    assert.match(final.token, /^tt:/);

    // The poll count alone moves the flow on (no stepMs): a slow start cannot skip the pending line.
    const again = sim.sim.createFlow({ provider: 'tokenio', outcome: 'succeeded', pendingPolls: 1 });
    const human = await runExample(['wait', 'tokenio', again.id, '--base-url', `${sim.url}/tokenio`, '--interval', '50']);
    assert.equal(human.code, 0, human.stderr);
    assert.deepEqual(human.stderr.trim().split('\n').map((l) => l.split(' · ')[0]), ['wait: pending (PENDING)', 'wait: succeeded (PROCESSED)']);
    assert.match(human.stdout, /^state +succeeded$/m);
  });

  it('checks a Gr4vy token once: exit 3 on failed', async () => {
    const flow = sim.sim.createFlow({ provider: 'gr4vy', outcome: 'failed', pendingPolls: 0 });
    const { code, stdout } = await runExample(['check', 'gr4vy', flow.paymentMethodId, flow.id, '--base-url', `${sim.url}/gr4vy`, '--json']);
    assert.equal(code, 3);
    assert.equal(JSON.parse(stdout).state, 'failed');
  });

  it('exits 1 with the error kind and message for an unknown id', async () => {
    const { code, stdout, stderr } = await runExample(['check', 'truemed', 'ptr_unknown', '--base-url', `${sim.url}/truemed`]);
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.match(stderr, /^token-status: not_found: /);
  });

  it('exits 2 on bad usage', async () => {
    const { code, stderr } = await runExample(['check', 'paypal', 'x']);
    assert.equal(code, 2);
    assert.match(stderr, /usage: token-status/);
  });
});
