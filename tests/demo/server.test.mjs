// `node www/server.mjs` as a process: first stdout line, PORT/HOST, clean stop on SIGINT/SIGTERM
// (even with a timeline stream open). Run: node --test tests/demo/
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

const SERVER = fileURLToPath(new URL('../../www/server.mjs', import.meta.url));

/** Starts the server on a free port; resolves { child, url, firstLine, exited }. */
function startServer(extraEnv = {}) {
  const env = { ...process.env, PORT: '0', HOST: '127.0.0.1', ...extraEnv };
  for (const k of Object.keys(env)) if (/^(TRUEMED|GR4VY|TOKENIO)_/.test(k) && !(k in extraEnv)) delete env[k];
  const child = spawn(process.execPath, [SERVER], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, out, err })));
  child.stderr.on('data', (c) => (err += c));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start: ${out} ${err}`));
    }, 5000);
    child.stdout.on('data', (c) => {
      out += c;
      const nl = out.indexOf('\n');
      if (nl >= 0 && !child.started) {
        child.started = true;
        clearTimeout(timer);
        const firstLine = out.slice(0, nl);
        resolve({ child, firstLine, url: firstLine.replace(/^token-status demo: /, ''), exited });
      }
    });
    child.on('exit', () => {
      clearTimeout(timer);
      if (!child.started) reject(new Error(`server exited early: ${out} ${err}`));
    });
  });
}

describe('node www/server.mjs', () => {
  for (const signal of ['SIGINT', 'SIGTERM']) {
    it(`prints its URL first and exits 0 on ${signal}, closing open streams`, async () => {
      const { child, firstLine, url, exited } = await startServer();
      try {
        assert.match(firstLine, /^token-status demo: http:\/\/127\.0\.0\.1:\d+$/);
        const config = await (await fetch(`${url}/api/config`)).json();
        assert.equal(config.providers.truemed.mode, 'simulated');
        // An open Server-Sent Events stream must not keep the process alive.
        const status = await new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('no SSE answer')), 3000);
          const req = http.get(`${url}/api/exchanges?lookup=lk-open`, (res) => {
            clearTimeout(timer);
            res.on('error', () => {});
            resolve(res.statusCode);
          });
          req.on('error', () => {});
        });
        assert.equal(status, 200);
        const started = Date.now();
        child.kill(signal);
        const { code } = await exited;
        assert.equal(code, 0);
        assert.ok(Date.now() - started < 3000, 'stops promptly');
      } finally {
        child.kill('SIGKILL');
      }
    });
  }

  it('never prints a credential, and refuses bad configuration with a readable message', async () => {
    const { child, url, exited } = await startServer({
      TOKENIO_BEARER_TOKEN: 'tok-secret-value-123',
      TRUEMED_WEBHOOK_SECRET: 'tm-whsec-value-456',
      DEMO_VERBOSE: '1',
    });
    try {
      const config = await (await fetch(`${url}/api/config`)).json();
      assert.equal(config.providers.tokenio.mode, 'live');
      child.kill('SIGTERM');
      const { code, out, err } = await exited;
      assert.equal(code, 0);
      assert.ok(!`${out}${err}`.includes('tok-secret-value-123'));
      assert.ok(!`${out}${err}`.includes('tm-whsec-value-456'));
      assert.match(out, /tokenio\s+live \(sandbox\)/);
      // Where to register webhooks, and whose secrets verify them.
      assert.match(out, new RegExp(`webhooks truemed +POST ${url}/webhooks/truemed \\(secret from the environment\\)`));
      assert.match(out, new RegExp(`webhooks gr4vy +POST ${url}/webhooks/gr4vy \\(a secret made for this run`));
    } finally {
      child.kill('SIGKILL');
    }

    const bad = spawn(process.execPath, [SERVER], {
      env: { ...process.env, PORT: '0', GR4VY_INSTANCE_ID: 'acme', GR4VY_BEARER_TOKEN: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    bad.stderr.on('data', (c) => (err += c));
    const code = await new Promise((resolve) => bad.on('exit', resolve));
    assert.equal(code, 2);
    assert.match(err, /GR4VY_BEARER_TOKEN/);
  });
});
