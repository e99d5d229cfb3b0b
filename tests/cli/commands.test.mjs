// `token-status check` and `wait` from the packed tarball, installed into a fresh project and run
// through its node_modules/.bin link, against the simulator over real HTTP: every exit code,
// the --json contract, usage errors, --help and --version, credentials from the environment
// (never in any output), signals. Run: node --test tests/cli/
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator } from '../../www/simulator/index.mjs';
import { SIM_ENV, control, installPackage, outputs, run, show } from './_helpers.mjs';

let project;
let bin;
let sim;
const base = (provider) => `${sim.url}/${provider}`;
const flow = (spec) => control(sim, '/_sim/flows', spec);
const faults = (match, list) => control(sim, '/_sim/faults', { match, faults: list });

/** Runs the installed command with the simulator's credentials (plus `env`). */
const cli = (args, env = {}, options = {}) => run(bin, args, { cwd: project, env: { ...SIM_ENV, ...env }, ...options });
const lines = (text) => text.split('\n').filter(Boolean);
const parseLine = (text) => {
  assert.equal(lines(text).length, 1, `one JSON line: ${JSON.stringify(text)}`);
  return JSON.parse(text);
};

before(async () => {
  [project, sim] = await Promise.all([installPackage('commands'), startSimulator({ port: 0 })]);
  bin = join(project, 'node_modules', '.bin', 'token-status');
});
after(() => sim?.close());

describe('check', () => {
  test('succeeded: exit 0, the status on stdout (human, then --json)', async () => {
    const f = await flow({ provider: 'tokenio', outcome: 'succeeded', pendingPolls: 0 });
    const human = await cli(['check', 'tokenio', f.id, '--base-url', base('tokenio')]);
    assert.equal(human.code, 0, show(human));
    assert.match(human.stdout, /^state +succeeded$/m);
    assert.match(human.stdout, new RegExp(`^id +${f.id}$`, 'm'));
    assert.match(human.stdout, /^providerStatus +PROCESSED$/m);
    assert.match(human.stdout, /^token +tt:/m);
    assert.doesNotMatch(human.stdout, /\x1b/, 'no colour when stdout is not a terminal');
    assert.equal(human.stderr, '');

    const json = await cli(['check', 'tokenio', f.id, '--base-url', base('tokenio'), '--json']);
    assert.equal(json.code, 0, show(json));
    const status = parseLine(json.stdout);
    assert.equal(status.provider, 'tokenio');
    assert.equal(status.id, f.id);
    assert.equal(status.state, 'succeeded');
    assert.equal(status.terminal, true);
    assert.equal(status.token, f.token);
    assert.equal(status.bankId, 'ob-modelo');
    assert.equal(json.stderr, '');
  });

  test('each provider: Truemed (its API key) and Gr4vy (instance id, bearer token, merchant account)', async () => {
    const t = await flow({ provider: 'truemed', outcome: 'succeeded', pendingPolls: 0, metadata: 'order-77' });
    const tr = await cli(['check', 'truemed', t.id, '--base-url', base('truemed'), '--json']);
    assert.equal(tr.code, 0, show(tr));
    assert.deepEqual(
      (({ provider, state, token, metadata, providerStatus }) => ({ provider, state, token, metadata, providerStatus }))(parseLine(tr.stdout)),
      { provider: 'truemed', state: 'succeeded', token: t.token, metadata: 'order-77', providerStatus: null },
    );

    const g = await flow({ provider: 'gr4vy', outcome: 'succeeded', pendingPolls: 0 });
    const env = { GR4VY_INSTANCE_ID: 'acme', GR4VY_MERCHANT_ACCOUNT_ID: 'merchant-9' };
    const gr = await cli(['check', 'gr4vy', g.paymentMethodId, g.id, '--base-url', base('gr4vy'), '--json'], env);
    assert.equal(gr.code, 0, show(gr));
    const status = parseLine(gr.stdout);
    assert.equal(status.state, 'succeeded');
    assert.equal(status.paymentMethodId, g.paymentMethodId);
    const [sent] = sim.sim.requests({ id: g.paymentMethodId });
    assert.equal(sent.headers.authorization, 'bearer sim-gr4vy-token');
    assert.equal(sent.headers['x-gr4vy-merchant-account-id'], 'merchant-9');
  });

  test('Token.io Basic credentials from TOKENIO_BASIC_CREDENTIALS', async () => {
    const f = await flow({ provider: 'tokenio', outcome: 'succeeded', pendingPolls: 0 });
    const r = await cli(['check', 'tokenio', f.id, '--base-url', base('tokenio')],
      { TOKENIO_BEARER_TOKEN: '', TOKENIO_BASIC_CREDENTIALS: 'c2ltOnRva2VuaW8=' });
    assert.equal(r.code, 0, show(r));
    assert.equal(sim.sim.requests({ id: f.id })[0].headers.authorization, 'Basic c2ltOnRva2VuaW8=');
  });

  test('failed and expired: exit 3', async () => {
    const g = await flow({ provider: 'gr4vy', outcome: 'failed', pendingPolls: 0 });
    const failed = await cli(['check', 'gr4vy', g.paymentMethodId, g.id, '--base-url', base('gr4vy')]);
    assert.equal(failed.code, 3, show(failed));
    assert.match(failed.stdout, /^state +failed$/m);
    for (const outcome of ['expired', 'rejected']) {
      const f = await flow({ provider: 'tokenio', outcome, pendingPolls: 0 });
      const r = await cli(['check', 'tokenio', f.id, '--base-url', base('tokenio'), '--json']);
      assert.equal(r.code, 3, show(r));
      assert.equal(parseLine(r.stdout).state, outcome === 'expired' ? 'expired' : 'failed');
    }
  });

  test('pending, action_required and unknown: exit 4 (not terminal), with a hint on stderr', async () => {
    const cases = [
      [await flow({ provider: 'truemed', outcome: 'pending' }), 'truemed', 'pending'],
      [await flow({ provider: 'gr4vy', outcome: 'action_required', pendingPolls: 0 }), 'gr4vy', 'action_required'],
      [await flow({ provider: 'tokenio', outcome: 'unknown', pendingPolls: 0 }), 'tokenio', 'unknown'],
    ];
    for (const [f, provider, state] of cases) {
      const ids = provider === 'gr4vy' ? [f.paymentMethodId, f.id] : [f.id];
      const human = await cli(['check', provider, ...ids, '--base-url', base(provider)]);
      assert.equal(human.code, 4, show(human));
      assert.match(human.stdout, new RegExp(`^state +${state}$`, 'm'));
      assert.match(human.stderr, /not final yet/);
      const json = await cli(['check', provider, ...ids, '--base-url', base(provider), '--json']);
      assert.equal(json.code, 4, show(json));
      const status = parseLine(json.stdout);
      assert.equal(status.state, state);
      assert.equal(status.terminal, false);
      if (state === 'action_required') assert.match(status.actionUrl, /\/_sim\/approve\//);
      assert.equal(json.stderr, '', '--json: nothing but the status');
    }
  });

  test('a TokenStatusError: exit 1, kind and message on stderr; --json: its fields on stderr, stdout empty', async () => {
    const human = await cli(['check', 'tokenio', 'rq:unknown:1', '--base-url', base('tokenio')]);
    assert.equal(human.code, 1, show(human));
    assert.equal(human.stdout, '');
    assert.match(human.stderr, /^token-status: not_found: Token\.io answered HTTP 404/);
    assert.match(human.stderr, /HTTP 404 · code NOT_FOUND · trace [0-9a-f]{32}/);

    const json = await cli(['check', 'tokenio', 'rq:unknown:1', '--base-url', base('tokenio'), '--json']);
    assert.equal(json.code, 1, show(json));
    assert.equal(json.stdout, '');
    const error = parseLine(json.stderr);
    assert.equal(error.name, 'TokenStatusError');
    assert.equal(error.kind, 'not_found');
    assert.equal(error.status, 404);
    assert.equal(error.code, 'NOT_FOUND');
    assert.match(error.traceId, /^[0-9a-f]{32}$/);
    assert.match(error.message, /404/);

    const unauthorized = await cli(['check', 'truemed', 'ptr_x', '--base-url', base('truemed'), '--json'], { TRUEMED_API_KEY: '' });
    assert.equal(unauthorized.code, 1, show(unauthorized));
    assert.equal(parseLine(unauthorized.stderr).kind, 'unauthorized');

    const badUrl = await cli(['check', 'tokenio', 'rq:x', '--base-url', 'not a url']);
    assert.equal(badUrl.code, 1, show(badUrl));
    assert.match(badUrl.stderr, /^token-status: invalid_argument: baseUrl/);
  });

  test('--timeout bounds each attempt: a check that times out is exit 1 (kind timeout)', async () => {
    const f = await flow({ provider: 'tokenio', outcome: 'succeeded', pendingPolls: 0 });
    await faults({ id: f.id }, [{ delayMs: 3000, times: 3 }]);
    const r = await cli(['check', 'tokenio', f.id, '--base-url', base('tokenio'), '--timeout', '150', '--json']);
    assert.equal(r.code, 1, show(r));
    const error = parseLine(r.stderr);
    assert.equal(error.kind, 'timeout');
    assert.equal(error.attempts, 3, 'maxRetries 2: three attempts of 150 ms each');
    assert.ok(r.ms < 2500, `${r.ms} ms`);
  });
});

describe('wait', () => {
  test('succeeded: exit 0; one progress line per update on stderr; --json: only the final status', async () => {
    const f = await flow({ provider: 'tokenio', outcome: 'succeeded', pendingPolls: 2 });
    const human = await cli(['wait', 'tokenio', f.id, '--base-url', base('tokenio'), '--interval', '50']);
    assert.equal(human.code, 0, show(human));
    assert.deepEqual(lines(human.stderr).map((l) => l.replace(/ · \d+ polls? · [\d.]+s$/, '')),
      ['wait: pending (PENDING)', 'wait: succeeded (PROCESSED)']);
    assert.doesNotMatch(human.stderr, /[\r\x1b]/, 'no redraws or colour off a terminal');
    assert.match(human.stderr, /succeeded \(PROCESSED\) · 3 polls · /);
    assert.match(human.stdout, /^state +succeeded$/m);

    const g = await flow({ provider: 'gr4vy', outcome: 'succeeded', pendingPolls: 1 });
    const json = await cli(['wait', 'gr4vy', g.paymentMethodId, g.id, '--base-url', base('gr4vy'), '--interval', '50', '--json']);
    assert.equal(json.code, 0, show(json));
    assert.equal(parseLine(json.stdout).state, 'succeeded');
    assert.equal(json.stderr, '', '--json off a terminal: no progress lines');
  });

  test('failed: exit 3', async () => {
    const f = await flow({ provider: 'tokenio', outcome: 'rejected', pendingPolls: 1 });
    const r = await cli(['wait', 'tokenio', f.id, '--base-url', base('tokenio'), '--interval', '50', '--json']);
    assert.equal(r.code, 3, show(r));
    const status = parseLine(r.stdout);
    assert.equal(status.state, 'failed');
    assert.equal(status.reason, 'Consent rejected by the user');
  });

  test('deadline: exit 4, the last status on stdout and the timeout error on stderr', async () => {
    const f = await flow({ provider: 'truemed', outcome: 'pending' });
    const args = ['wait', 'truemed', f.id, '--base-url', base('truemed'), '--interval', '50', '--deadline', '400'];
    const human = await cli(args);
    assert.equal(human.code, 4, show(human));
    assert.match(human.stdout, /^state +pending$/m);
    assert.match(human.stderr, /^token-status: timeout: /m);

    const json = await cli([...args, '--json']);
    assert.equal(json.code, 4, show(json));
    const last = parseLine(json.stdout);
    assert.equal(last.state, 'pending');
    const error = parseLine(json.stderr);
    assert.equal(error.kind, 'timeout');
    assert.equal(error.retryable, true);
    assert.deepEqual(error.lastStatus, last);
  });

  test('deadline before any status: exit 4, stdout empty', async () => {
    const f = await flow({ provider: 'tokenio', outcome: 'succeeded' });
    await faults({ id: f.id }, [{ delayMs: 5000, times: 5 }]);
    const r = await cli(['wait', 'tokenio', f.id, '--base-url', base('tokenio'), '--deadline', '300', '--json']);
    assert.equal(r.code, 4, show(r));
    assert.equal(r.stdout, '');
    const error = parseLine(r.stderr);
    assert.equal(error.kind, 'timeout');
    assert.equal(error.lastStatus, null);
  });

  test('a non-retryable failure ends the wait: exit 1', async () => {
    const r = await cli(['wait', 'tokenio', 'rq:unknown:2', '--base-url', base('tokenio'), '--json']);
    assert.equal(r.code, 1, show(r));
    assert.equal(r.stdout, '');
    assert.equal(parseLine(r.stderr).kind, 'not_found');
  });

  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
    test(`${signal} aborts the wait at once: exit ${code}`, async () => {
      const f = await flow({ provider: 'tokenio', outcome: 'pending' });
      let sentAt = 0;
      const r = await cli(['wait', 'tokenio', f.id, '--base-url', base('tokenio'), '--interval', '2000'], {}, {
        onStderr: (text, child) => {
          if (!sentAt && text.includes('\n')) {
            sentAt = Date.now();
            child.kill(signal);
          }
        },
      });
      assert.equal(r.code, code, show(r));
      assert.match(r.stderr, /token-status: aborted: /);
      assert.ok(sentAt > 0 && Date.now() - sentAt < 1500, 'exits promptly, without sleeping out the interval');
    });
  }
});

describe('usage', () => {
  const usageCases = [
    [[], /missing command/],
    [['status', 'tokenio', 'x'], /unknown command "status"/],
    [['check'], /needs a provider/],
    [['check', 'paypal', 'x'], /unknown provider "paypal"/],
    [['check', 'tokenio'], /tokenio takes one id/],
    [['check', 'gr4vy', 'pm'], /gr4vy takes two ids: <payment method id> <payment service token id>/],
    [['check', 'truemed', 'a', 'b'], /truemed takes one id/],
    [['check', 'tokenio', 'x', '--nope'], /Unknown option '--nope'/],
    [['check', 'tokenio', 'x', '--deadline', '5'], /--deadline is for wait only/],
    [['check', 'tokenio', 'x', '--interval', '5'], /--interval is for wait only/],
    [['wait', 'tokenio', 'x', '--port', '5'], /--port is for simulate only/],
    [['check', 'tokenio', 'x', '--timeout', 'soon'], /--timeout must be a number of milliseconds/],
    [['wait', 'tokenio', 'x', '--deadline=-1'], /--deadline must be a number of milliseconds/],
    [['wait', 'tokenio', 'x', '--deadline', '-1'], /'--deadline' argument is ambiguous/],
    [['check', 'tokenio', 'x', '--environment', 'staging'], /--environment must be sandbox or production/],
    [['check', 'tokenio', 'x', '--base-url'], /argument missing|requires an argument|'--base-url/],
    [['simulate', 'extra'], /simulate takes no arguments/],
    [['simulate', '--port', '70000'], /--port must be a port number/],
    [['simulate', '--json'], /--json is for check and wait only/],
  ];
  for (const [args, message] of usageCases) {
    test(`exit 2 with the usage on stderr: ${JSON.stringify(args)}`, async () => {
      const r = await cli(args);
      assert.equal(r.code, 2, show(r));
      assert.equal(r.stdout, '');
      assert.match(r.stderr, message);
      assert.match(r.stderr, /usage: token-status check <truemed\|gr4vy\|tokenio> <id>/);
      assert.match(r.stderr, /exit codes: 0 succeeded, 3 failed or expired, 4 not final yet/);
    });
  }

  test('--help: the usage on stdout, exit 0 (also after a command)', async () => {
    for (const args of [['--help'], ['wait', '--help']]) {
      const r = await cli(args);
      assert.equal(r.code, 0, show(r));
      assert.match(r.stdout, /^usage: token-status check/);
      for (const word of ['--base-url', '--environment', '--timeout', '--deadline', '--interval', '--json', '--port',
        'TRUEMED_API_KEY', 'GR4VY_PRIVATE_KEY_FILE', 'TOKENIO_BASIC_CREDENTIALS']) assert.ok(r.stdout.includes(word), word);
      assert.equal(r.stderr, '');
    }
  });

  test('--version: the installed package version', async () => {
    const { version } = JSON.parse(readFileSync(join(project, 'node_modules', 'token-status', 'package.json'), 'utf8'));
    const r = await cli(['--version']);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, `${version}\n`);
  });
});

describe('on a terminal (a real pseudo-terminal, through util-linux `script`)', () => {
  const quote = (a) => `'${a.replace(/'/g, "'\\''")}'`;
  /** Runs the command under `script -qec`: stdout and stderr are one terminal. */
  const tty = (args, env = {}) => run('script', ['-qec', [bin, ...args].map(quote).join(' '), '/dev/null'],
    { cwd: project, env: { ...SIM_ENV, COLUMNS: '120', ...env } });
  const ERASE = '\r\x1b[2K';
  const SGR = /\x1b\[[0-9;]*m/;

  for (const noColor of [false, true]) {
    test(`wait: one live line redrawn in place${noColor ? ', no colour with NO_COLOR' : ', in colour'}`, async () => {
      const f = await flow({ provider: 'tokenio', outcome: 'succeeded', pendingPolls: 4 });
      const r = await tty(['wait', 'tokenio', f.id, '--base-url', base('tokenio'), '--interval', '150'], noColor ? { NO_COLOR: '1' } : {});
      assert.equal(r.code, 0, show(r));
      const text = r.stdout;
      const first = text.indexOf(ERASE);
      const summary = text.indexOf('\n', first);
      assert.ok(first >= 0 && summary > first, JSON.stringify(text));
      // Everything up to the summary line is one line, redrawn: erase sequences, no line feed.
      const live = text.slice(first, summary);
      const redraws = live.split(ERASE).length - 1;
      assert.ok(redraws >= 5, `${redraws} redraws: ${JSON.stringify(live)}`);
      const plain = live.replace(/\x1b\[[0-9;]*m/g, '');
      assert.match(plain, /pending \(PENDING\) · [1-5] polls? · \d+\.\ds/);
      assert.match(plain, /✔ succeeded \(PROCESSED\) · 5 polls · \d+\.\ds\r?$/);
      // Then the result block.
      assert.match(text.slice(summary), /state +(\x1b\[32m)?succeeded/);
      if (noColor) assert.doesNotMatch(text, SGR, 'NO_COLOR: no colour sequence at all');
      else assert.match(text, /\x1b\[32msucceeded\x1b\[0m/, 'the state is coloured');
    });
  }

  test('check: the state in colour on a terminal, plain with NO_COLOR', async () => {
    const f = await flow({ provider: 'tokenio', outcome: 'expired', pendingPolls: 0 });
    const args = ['check', 'tokenio', f.id, '--base-url', base('tokenio')];
    const coloured = await tty(args);
    assert.equal(coloured.code, 3, show(coloured));
    assert.match(coloured.stdout, /state +\x1b\[31mexpired\x1b\[0m/);
    const plain = await tty(args, { NO_COLOR: '1' });
    assert.equal(plain.code, 3, show(plain));
    assert.match(plain.stdout, /state +expired/);
    assert.doesNotMatch(plain.stdout, SGR);
  });

  test('wait --json on a terminal: the live line is erased, leaving only the JSON', async () => {
    const f = await flow({ provider: 'truemed', outcome: 'succeeded', pendingPolls: 1 });
    const r = await tty(['wait', 'truemed', f.id, '--base-url', base('truemed'), '--interval', '100', '--json'], { NO_COLOR: '1' });
    assert.equal(r.code, 0, show(r));
    const visible = r.stdout.slice(r.stdout.lastIndexOf(ERASE) + ERASE.length);
    assert.equal(JSON.parse(visible.trim()).state, 'succeeded');
  });
});

describe('credentials', () => {
  const PEM = ['-----BEGIN PRIVATE KEY-----', 'MIHuAgEAMBAGByqGSM49AgEGBSuBBAAjBIHWMIHTAgEBBEIBq1u6cM0ZnkfMzXwlRFVC',
    'pFdDeIVu7WtfGdaPBZxwEaXzpHt3R1Ixj5wTeKzOvnjZrZXcX5sC0RBpEzMuDL2ngumhgYkDgYYABAGlbQ', '-----END PRIVATE KEY-----'].join('\n');

  test('a credential the provider echoes back is never printed (error body and status fields)', async () => {
    const f = await flow({ provider: 'tokenio', outcome: 'succeeded', pendingPolls: 0 });
    await faults({ id: f.id }, [{ status: 400, body: { error: { message: 'Bearer sim-tokenio-token is not valid here' } } }]);
    const error = await cli(['check', 'tokenio', f.id, '--base-url', base('tokenio')]);
    assert.equal(error.code, 1, show(error));
    assert.match(error.stderr, /bad_request/);

    const echo = await flow({ provider: 'tokenio', steps: [{ status: 'REJECTED', fields: { statusReasonInformation: 'key sim-tokenio-token refused' } }] });
    for (const json of [false, true]) {
      const r = await cli(['check', 'tokenio', echo.id, '--base-url', base('tokenio'), ...(json ? ['--json'] : [])]);
      assert.equal(r.code, 3, show(r));
      assert.match(r.stdout, /key \[redacted\] refused/);
    }
  });

  test('Gr4vy private key (GR4VY_PRIVATE_KEY, GR4VY_PRIVATE_KEY_FILE): errors name the variable, never a key byte', async () => {
    const file = join(project, 'gr4vy-key.pem');
    writeFileSync(file, PEM);
    const both = await cli(['check', 'gr4vy', 'pm', 'tok', '--base-url', base('gr4vy')], { GR4VY_PRIVATE_KEY: PEM, GR4VY_PRIVATE_KEY_FILE: file });
    assert.equal(both.code, 1, show(both));
    assert.match(both.stderr, /^token-status: invalid_argument: Set GR4VY_PRIVATE_KEY or GR4VY_PRIVATE_KEY_FILE, not both/);

    const missing = await cli(['check', 'gr4vy', 'pm', 'tok', '--base-url', base('gr4vy'), '--json'], { GR4VY_PRIVATE_KEY_FILE: join(project, 'nope.pem') });
    assert.equal(missing.code, 1, show(missing));
    const error = parseLine(missing.stderr);
    assert.equal(error.kind, 'invalid_argument');
    assert.match(error.message, /GR4VY_PRIVATE_KEY_FILE .*nope\.pem.*ENOENT/);

    // With a bearer token too, the client refuses the pair (invalid_argument) before sending.
    for (const env of [{ GR4VY_PRIVATE_KEY: PEM }, { GR4VY_PRIVATE_KEY_FILE: file }]) {
      const r = await cli(['check', 'gr4vy', 'pm', 'tok', '--base-url', base('gr4vy'), '--json'], env);
      assert.equal(r.code, 1, show(r));
      assert.equal(parseLine(r.stderr).kind, 'invalid_argument');
    }
  });

  // The real key below and the tokens minted from it: none may appear in any output either.
  const minted = [];

  test('Gr4vy private key: check mints tokens that a simulator holding the public key accepts', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-521' });
    const pem = privateKey.export({ type: 'sec1', format: 'pem' });
    minted.push(...pem.split('\n').filter((l) => l && !l.startsWith('-----')));
    const keySim = await startSimulator({ port: 0, gr4vyPublicKey: publicKey.export({ type: 'spki', format: 'pem' }) });
    try {
      const f = await control(keySim, '/_sim/flows', { provider: 'gr4vy', outcome: 'succeeded', pendingPolls: 0 });
      const file = join(project, 'gr4vy-real-key.pem');
      writeFileSync(file, pem);
      for (const env of [{ GR4VY_PRIVATE_KEY: pem }, { GR4VY_PRIVATE_KEY_FILE: file }]) {
        // A blank GR4VY_BEARER_TOKEN counts as unset: the key alone authenticates.
        const r = await cli(['check', 'gr4vy', f.paymentMethodId, f.id, '--base-url', `${keySim.url}/gr4vy`, '--json'],
          { ...env, GR4VY_BEARER_TOKEN: '' });
        assert.equal(r.code, 0, show(r));
        assert.equal(parseLine(r.stdout).state, 'succeeded');
      }
      const log = await (await fetch(`${keySim.url}/_sim/requests?id=${encodeURIComponent(f.paymentMethodId)}`)).json();
      assert.equal(log.length, 2, 'one request per run');
      for (const entry of log) {
        assert.equal(entry.auth, 'jwt', 'the simulator verified the minted JWT');
        const [, jwt] = /^bearer (\S+)$/.exec(entry.headers.authorization);
        minted.push(jwt.split('.')[2]);
      }
    } finally {
      await keySim.close();
    }
  });

  test('no output of any run held a credential or a byte of the private key', () => {
    const secrets = [...Object.values(SIM_ENV), 'c2ltOnRva2VuaW8=', ...PEM.split('\n').filter((l) => !l.startsWith('-----')), ...minted];
    assert.ok(minted.length > 2, 'the real key and its tokens are checked too');
    assert.ok(outputs.length > 40, `${outputs.length} runs recorded`);
    for (const { args, stdout, stderr } of outputs) {
      for (const secret of secrets) {
        assert.ok(!stdout.includes(secret) && !stderr.includes(secret), `${JSON.stringify(args)} printed ${secret.slice(0, 12)}…`);
      }
    }
  });
});
