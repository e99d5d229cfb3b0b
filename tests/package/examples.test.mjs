// The README's server examples, taken from README.md itself (each code block marked
// `<!-- example: NAME -->`), run from the packed tarball against the simulator over real HTTP:
// the Gr4vy key script in Node, the webhook server under node:http and Express in Node, and the
// Fetch-style handler under `deno serve`, Bun and workerd. Each server gets genuine deliveries
// (a webhook ends a long poll at once; a payment-method event makes it poll now), forged ones
// (refused, with the code logged), and must print no secret. Run:
// `node --test tests/package/examples.test.mjs`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { BIN, ROOT, installProject, packPkg, run, show, startServer } from '../support/packed.mjs';
import {
  KEYS, SECRETS, assertJwt, findLeaks, gr4vyEvent, gr4vySigned, simRequests, startServerSimulator, tokenTarget, truemedEnvelope,
  truemedFlat, truemedSigned,
} from '../support/server-fixtures.mjs';
import { freePort, startWorkerd } from '../support/workerd.mjs';

const WORK = join(ROOT, 'build', 'example-tests');
const EXAMPLES = ['gr4vy-status.mjs', 'webhooks-node-http.mjs', 'webhooks-express.mjs', 'webhooks-fetch.mjs'];
const EXPRESS = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).devDependencies.express;

/** `{ name: code }` of every marked example in a README. */
export function readmeExamples(markdown) {
  const out = {};
  for (const m of markdown.matchAll(/^<!-- example: (\S+) -->\n```js\n([\s\S]*?)\n```$/gm)) out[m[1]] = `${m[2]}\n`;
  return out;
}

const examples = readmeExamples(readFileSync(join(ROOT, 'README.md'), 'utf8'));
let sim;
let dir;

before(async () => {
  const [{ tarball }, started] = await Promise.all([packPkg(join(WORK, 'pack')), startServerSimulator()]);
  sim = started;
  dir = await installProject(join(WORK, 'app'), tarball, {
    'package.json': { name: 'consumer-examples', private: true, type: 'module' },
    'private_key.pem': KEYS.pkcs8,
    // Bun's auto-serve of a default export listens on every interface; the test keeps to loopback.
    'bun-serve.mjs': "import handler from './webhooks-fetch.mjs';\nBun.serve({ hostname: '127.0.0.1', port: Number(process.env.PORT), fetch: handler.fetch });\n",
    ...examples,
  }, { packages: [`express@${EXPRESS}`] });
});

after(() => sim?.close());

test('README.md marks the four server examples, and the packed README holds them unchanged', () => {
  assert.deepEqual(Object.keys(examples).sort(), [...EXAMPLES].sort());
  const packed = readmeExamples(readFileSync(join(dir, 'node_modules', 'token-status', 'README.md'), 'utf8'));
  assert.deepEqual(packed, examples);
});

test('gr4vy-status.mjs: a status read with a token minted from private_key.pem', async () => {
  const flow = await sim.sim.createFlow({ provider: 'gr4vy', outcome: 'succeeded', pendingPolls: 0 });
  const r = await run(process.execPath, ['gr4vy-status.mjs', flow.paymentMethodId, flow.id], {
    cwd: dir, env: { GR4VY_BASE_URL: `${sim.url}/gr4vy` },
  });
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /^succeeded gr4vy_pst_\S+\n$/);
  const log = await simRequests(sim, flow.paymentMethodId);
  assert.equal(log.length, 1);
  const { jwt } = assertJwt(log[0].headers.authorization, { what: 'gr4vy-status.mjs' });
  assert.deepEqual(findLeaks(r.stdout + r.stderr, [], [jwt]), []);
});

/** POSTs `body` with header pairs (a repeated name is sent as repeated header lines). */
function post(origin, path, pairs, body) {
  const headers = { 'content-type': 'application/json' };
  for (const [name, value] of pairs) {
    const key = name.toLowerCase();
    headers[key] = key in headers && key !== 'content-type' ? [].concat(headers[key], value) : value;
  }
  return new Promise((done) => {
    const req = request(`${origin}${path}`, { method: 'POST', headers }, (res) => {
      res.resume();
      res.on('end', () => done({ status: res.statusCode }));
    });
    req.on('error', (error) => done({ error: error.code }));
    req.end(body);
  });
}

async function until(what, check, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`timed out waiting for ${what}`);
}

/**
 * What every example server must do: end a long poll at once on a genuine webhook, poll now on a
 * payment-method event, accept Truemed deliveries, refuse forgeries with 400 (the code logged),
 * and print no secret.
 */
async function exercise(t, server, { oversized = 400 } = {}) {
  const { origin } = server;
  const sent = [];
  const deliver = async (provider, headers, body) => {
    sent.push(headers);
    return post(origin, `/webhooks/${provider}`, headers, body);
  };
  /** Starts the long poll and resolves `{ answer }` once the server's wait has polled once. */
  const longPoll = async (flow) => {
    const answer = fetch(`${origin}/payments/${flow.paymentMethodId}/tokens/${flow.id}`).then((r) => r.json());
    await until('the first poll', async () => (await simRequests(sim, flow.paymentMethodId)).length >= 1);
    return { answer };
  };

  // A Gr4vy token event ends the long poll at once; no second poll.
  const pending = await sim.sim.createFlow({ provider: 'gr4vy', outcome: 'pending' });
  const token = `gr_tok_example_${randomUUID().slice(0, 8)}`;
  const { answer } = await longPoll(pending);
  const event = gr4vyEvent(tokenTarget({ id: pending.id, paymentMethodId: pending.paymentMethodId, status: 'succeeded', token }));
  const began = Date.now();
  assert.deepEqual(await deliver('gr4vy', gr4vySigned(event), event), { status: 204 });
  const status = await answer;
  const ms = Date.now() - began;
  assert.deepEqual([status.state, status.token, status.id], ['succeeded', token, pending.id], JSON.stringify(status));
  assert.ok(ms < 1000, `the long poll ended ${ms} ms after the webhook`);
  t.diagnostic(`long poll ended ${ms} ms after the webhook`);

  // A payment-method event makes it poll now: the simulator's second answer ends it.
  const method = await sim.sim.createFlow({ provider: 'gr4vy', outcome: 'succeeded', pendingPolls: 1 });
  const { answer: methodAnswer } = await longPoll(method);
  const methodEvent = gr4vyEvent({ type: 'payment-method', id: method.paymentMethodId, status: 'succeeded' }, 'payment-method.updated');
  const methodBegan = Date.now();
  assert.deepEqual(await deliver('gr4vy', gr4vySigned(methodEvent), methodEvent), { status: 204 });
  const methodStatus = await methodAnswer;
  assert.equal(methodStatus.state, 'succeeded');
  assert.match(methodStatus.token, /^gr4vy_pst_/);
  assert.ok(Date.now() - methodBegan < 1000, `the payment-method event made the wait poll at once (${Date.now() - methodBegan} ms)`);

  // Every poll carried a minted token that verifies.
  const jwts = [];
  for (const flow of [pending, method]) {
    const log = await simRequests(sim, flow.paymentMethodId);
    assert.equal(log.length, flow === pending ? 1 : 2, 'polls per long poll');
    for (const entry of log) jwts.push(assertJwt(entry.headers.authorization, { what: 'a long poll' }).jwt);
  }

  // Truemed, signed and unsigned.
  const envelope = truemedEnvelope({ id: 'ptr_example_1', token: 'tm_pt_example_1' });
  assert.deepEqual(await deliver('truemed', truemedSigned(envelope), envelope), { status: 204 });
  const flat = truemedFlat({ id: 'ptr_example_2', token: 'tm_pt_example_2' });
  assert.deepEqual(await deliver('truemed', [['x-truemed-api-key', SECRETS.truemed]], flat), { status: 204 });

  // Forgeries over real HTTP: refused, and the code logged.
  const now = Math.floor(Date.now() / 1000);
  const forged = [
    ['truemed', truemedSigned(envelope, { secret: SECRETS.attacker }), envelope, 'signature_mismatch'],
    ['truemed', truemedSigned(envelope, { t: now - 400 }), envelope, 'timestamp_out_of_range'],
    ['truemed', [['x-truemed-api-key', SECRETS.attacker]], flat, 'signature_mismatch'],
    ['gr4vy', [['x-gr4vy-webhook-timestamp', String(now - 400)], ['x-gr4vy-webhook-timestamp', String(now)],
      ['x-gr4vy-webhook-signatures', gr4vySigned(event, { t: now - 400 })[1][1]]], event, 'missing_signature'],
    ['gr4vy', [['x-gr4vy-webhook-timestamp', String(now)]], event, 'missing_signature'],
    ['gr4vy', gr4vySigned(event), event.replace('succeeded', 'failed'), 'signature_mismatch'],
  ];
  for (const [provider, headers, body, code] of forged) {
    assert.deepEqual(await deliver(provider, headers, body), { status: 400 }, `${provider} ${code}`);
  }
  const big = `{"pad":"${'x'.repeat(2 << 20)}"}`;
  const tooBig = await deliver('truemed', truemedSigned(big), big);
  t.diagnostic(`a 2 MiB body: ${JSON.stringify(tooBig)}`);
  assert.deepEqual(tooBig, { status: oversized }, 'a 2 MiB body is refused');

  await new Promise((r) => setTimeout(r, 100));
  const output = server.output();
  const refused = [...output.matchAll(/webhook refused: (\w+)/g)].map((m) => m[1]);
  assert.deepEqual(refused.slice(0, forged.length), forged.map((f) => f[3]), `the refusals logged:\n${output}`);
  assert.deepEqual(refused.slice(forged.length), oversized === 400 ? ['invalid_body'] : [], 'the 2 MiB body reached verifyWebhook (unless Express refused it first)');
  assert.match(output, /gr4vy webhook payment-service-token\.updated: succeeded/);
  assert.match(output, /truemed webhook payment_token\.updated: succeeded/);
  assert.match(output, /truemed webhook payment_token_updated: succeeded/);
  assert.deepEqual(findLeaks(output, sent, jwts), [], `secrets in the server's output:\n${output}`);
}

const env = (key) => ({
  GR4VY_BASE_URL: `${sim.url}/gr4vy`,
  GR4VY_PRIVATE_KEY: key,
  GR4VY_WEBHOOK_SECRETS: SECRETS.gr4vy.join(','),
  TRUEMED_WEBHOOK_SECRET: SECRETS.truemed,
});

describe('the README webhook examples, over real HTTP', () => {
  const servers = {
    'node:http (Node)': async (port) => [process.execPath, ['webhooks-node-http.mjs'], { ...env(KEYS.sec1Messy), PORT: String(port) }],
    'Express (Node)': async (port) => [process.execPath, ['webhooks-express.mjs'], { ...env(KEYS.pkcs8), PORT: String(port) }],
    'Fetch handler (deno serve)': async (port) => [join(BIN, 'deno'),
      ['serve', '--allow-net', '--allow-env', '--allow-read', '--host', '127.0.0.1', '--port', String(port), 'webhooks-fetch.mjs'], env(KEYS.pkcs8)],
    'Fetch handler (Bun.serve)': async (port) => [join(BIN, 'bun'), ['bun-serve.mjs'], { ...env(KEYS.sec1Messy), PORT: String(port) }],
  };
  for (const [label, command] of Object.entries(servers)) {
    test(label, { timeout: 60_000 }, async (t) => {
      const port = await freePort();
      const [cmd, args, vars] = await command(port);
      const server = await startServer(cmd, args, { cwd: dir, env: { DENO_NO_UPDATE_CHECK: '1', ...vars }, origin: `http://127.0.0.1:${port}` });
      t.after(() => server.close());
      // Express's own body limit (100 KB) answers 413 before the route runs.
      await exercise(t, server, { oversized: label.startsWith('Express') ? 413 : 400 });
    });
  }

  test('Fetch handler (workerd; the long poll and the webhook are separate requests)', { timeout: 60_000 }, async (t) => {
    const worker = await startWorkerd({ dir, main: 'webhooks-fetch.mjs', bindings: env(KEYS.pkcs8), config: 'examples.capnp' });
    t.after(() => worker.close());
    await exercise(t, worker);
  });
});
