// examples/status.mjs against an in-process simulator. Run: node --test tests/demo/
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startSimulator } from '../../www/simulator.mjs';

const SCRIPT = fileURLToPath(new URL('../../examples/status.mjs', import.meta.url));

/** Runs the example (asynchronously: the simulator lives in this process). */
function runExample(args, simulatorUrl) {
  const env = { ...process.env, SIMULATOR_URL: simulatorUrl };
  for (const k of Object.keys(env)) if (/^(TRUEMED|GR4VY|TOKENIO)_/.test(k)) delete env[k];
  const child = spawn(process.execPath, [SCRIPT, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
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
      const lines = stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
      resolve({ code, lines, stderr });
    });
  });
}

describe('examples/status.mjs', () => {
  let sim;
  before(async () => {
    sim = await startSimulator({ port: 0 });
  });
  after(() => sim.close());

  it('waits for a Token.io request to be processed and exits 0 with the final status', async () => {
    const flow = sim.sim.createFlow({ provider: 'tokenio', outcome: 'succeeded', pendingPolls: 1, stepMs: 300 });
    const { code, lines, stderr } = await runExample(['tokenio', flow.id, '--wait'], sim.url);
    assert.equal(code, 0, stderr);
    const updates = lines.filter((l) => l.update).map((l) => l.update.state);
    assert.deepEqual(updates, ['pending', 'succeeded']);
    const final = lines.at(-1).final;
    assert.equal(final.state, 'succeeded');
    assert.equal(final.terminal, true);
    assert.equal(final.providerStatus, 'PROCESSED');
    assert.match(final.token, /^tt:/);
  });

  it('checks a Gr4vy token once and exits 0 on a terminal status', async () => {
    const flow = sim.sim.createFlow({ provider: 'gr4vy', outcome: 'failed', pendingPolls: 0 });
    const { code, lines } = await runExample(['gr4vy', flow.paymentMethodId, flow.id], sim.url);
    assert.equal(code, 0);
    assert.equal(lines.at(-1).final.state, 'failed');
  });

  it('exits 1 with the error kind and message for an unknown id', async () => {
    const { code, lines, stderr } = await runExample(['truemed', 'ptr_unknown'], sim.url);
    assert.equal(code, 1);
    assert.equal(lines.at(-1).error.kind, 'not_found');
    assert.equal(lines.at(-1).error.status, 404);
    assert.match(stderr, /^status: not_found: /);
  });

  it('exits 2 on bad usage', async () => {
    const { code, stderr } = await runExample(['paypal', 'x'], sim.url);
    assert.equal(code, 2);
    assert.match(stderr, /usage:/);
  });
});
