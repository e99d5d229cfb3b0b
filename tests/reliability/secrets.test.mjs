// No credential ever appears: with distinctive credentials of every form the clients take, every
// error kind is triggered (including provider error bodies that echo the credential back, in each
// provider's shape), and the credential must be absent from err.message, String(err),
// JSON.stringify(err), err.stack, util.inspect(err), the cause, code and traceId, and from
// anything the package wrote to stdout/stderr (the scenario runs in a child that prints nothing).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RELIABILITY, runNode, show, startSimulatorChild } from './support/harness.mjs';

const KIND_BY_STATUS = {
  400: 'bad_request', 405: 'bad_request', 409: 'bad_request', 422: 'bad_request',
  401: 'unauthorized', 403: 'unauthorized', 404: 'not_found', 429: 'rate_limited',
  500: 'provider_error', 501: 'provider_error', 502: 'provider_error', 503: 'provider_error', 504: 'provider_error',
};
const ALL_KINDS = ['aborted', 'bad_request', 'insecure_credentials', 'invalid_argument', 'invalid_response', 'network',
  'not_found', 'provider_error', 'rate_limited', 'timeout', 'unauthorized'];

const TRACE_PLACES = new Set(['traceId', 'JSON.stringify(err)', 'util.inspect(err)', 'own properties']);

/** Leaks of the two kinds once found here (trace id echo, decoded Basic value), each held to zero by its own test; null for any other leak. */
function knownBug(c, leak, basicRaw) {
  if (leak.secret === basicRaw) return 'basicDecoded';
  if (c.label.includes('tokenTraceId') && TRACE_PLACES.has(leak.place)) return 'traceId';
  return null;
}

/** The kind a case must end with, from its label. */
function expectedKind(label) {
  const m = /^(\w+): /.exec(label);
  if (m && ALL_KINDS.includes(m[1])) return m[1];
  const h = /^HTTP (\d+) /.exec(label);
  if (h) return KIND_BY_STATUS[h[1]];
  if (label.startsWith('200 ')) return 'invalid_response';
  return null;
}

describe('secrets: no credential ever appears', () => {
  let open;
  let checking;
  let dir;
  before(async () => {
    [open, checking] = await Promise.all([
      startSimulatorChild({ script: join(RELIABILITY, 'support', 'sim-open.mjs') }),
      startSimulatorChild(),
    ]);
    dir = mkdtempSync(join(tmpdir(), 'token-status-secrets-'));
  }, { timeout: 30_000 });
  after(async () => {
    await Promise.all([open?.stop(), checking?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, { timeout: 30_000 });

  test("the simulator's own 401 for a wrong credential does not echo it", { timeout: 10_000 }, async () => {
    const secret = 'wrong-SECRET-never-echoed-0042';
    for (const [path, headers] of [
      ['/truemed/api/v1/payment_tokens/provision_request/ptr_x', { 'x-truemed-api-key': secret }],
      ['/gr4vy/payment-methods/pm/payment-service-tokens', { authorization: `bearer ${secret}` }],
      ['/tokenio/token-requests/rq:x:y/result', { authorization: `Bearer ${secret}` }],
      ['/tokenio/token-requests/rq:x:y/result', { authorization: `Basic ${secret}` }],
    ]) {
      const res = await fetch(checking.url + path, { headers });
      const body = await res.text();
      assert.equal(res.status, 401, path);
      assert.ok(!body.includes(secret), `${path}: ${body}`);
      assert.ok(![...res.headers.values()].some((v) => v.includes(secret)), `${path}: a header echoes it`);
    }
  });

  test('every error kind, every credential form: the credential is nowhere', { timeout: 90_000 }, async (t) => {
    const outFile = join(dir, 'secrets.json');
    const r = await runNode(join(RELIABILITY, 'scenarios', 'secrets.mjs'), [open.url, checking.url, outFile], { timeoutMs: 80_000 });
    assert.equal(r.code, 0, show(r));
    const { secrets, basicRaw, cases } = JSON.parse(readFileSync(outFile, 'utf8'));

    // The package logs nothing, and certainly no credential.
    for (const s of secrets) {
      assert.ok(!r.stdout.includes(s) && !r.stderr.includes(s), `a credential appeared on stdout/stderr\n${show(r)}`);
    }
    assert.equal(r.stdout, '', 'the package wrote to stdout');
    assert.equal(r.stderr, '', 'the package wrote to stderr');

    // Every case ended the way it should, and every error kind was covered.
    const wrongKind = cases.filter((c) => expectedKind(c.label) !== c.kind)
      .map((c) => `${c.client} | ${c.label}: ${c.kind}, expected ${expectedKind(c.label)}`);
    assert.deepEqual(wrongKind, []);
    assert.deepEqual([...new Set(cases.map((c) => c.kind))].sort(), ALL_KINDS);

    const clients = [...new Set(cases.map((c) => c.client))];
    const known = { traceId: [], basicDecoded: [] };
    for (const client of clients) {
      const mine = cases.filter((c) => c.client === client);
      await t.test(`${client}: ${mine.length} errors, no credential in any`, () => {
        const unexpected = [];
        for (const c of mine) {
          for (const leak of c.leaks) {
            const bug = knownBug(c, leak, basicRaw);
            if (bug) known[bug].push(`${c.client} | ${c.label}: ${leak.place}`);
            else unexpected.push(`${c.label} (${c.kind}): ${leak.place} contains ${leak.own ? 'its own' : 'another'} credential ${leak.secret}`);
          }
        }
        assert.deepEqual(unexpected, []);
      });
    }
    await t.test('Token.io tokenTraceId echoing the credential is redacted in err.traceId', () => {
      assert.equal(known.traceId.length, 0, `${known.traceId.length} leak(s), e.g.\n${known.traceId.slice(0, 4).join('\n')}`);
    });
    await t.test('basicCredentials echoed in decoded form (user:password) are redacted', () => {
      assert.equal(known.basicDecoded.length, 0, `${known.basicDecoded.length} leak(s), e.g.\n${known.basicDecoded.slice(0, 4).join('\n')}`);
    });

    const kinds = {};
    for (const c of cases) kinds[c.kind] = (kinds[c.kind] ?? 0) + 1;
    t.diagnostic(`${cases.length} errors over ${clients.length} clients (${secrets.length} distinct credential strings); by kind ${JSON.stringify(kinds)}`);
    t.diagnostic(`trace-id and decoded-Basic leaks: traceId ${known.traceId.length} case(s), decoded Basic ${known.basicDecoded.length} case(s); child ${r.ms} ms, stdout ${r.stdout.length} bytes, stderr ${r.stderr.length} bytes`);
  });
});
