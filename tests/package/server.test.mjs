// What a merchant server does with the package, in Node from the installed tarball, through
// `import` and through `require`: Gr4vy keys refused at construction, calls with minted tokens
// (verified here against the generated key), the webhook security table, waits ended by
// webhooks, and no secret in any output (tests/package/server-checks.js runs in the consumer;
// tests/support/server-fixtures.mjs prepares and judges). Deno and Bun: runtimes.test.mjs;
// workerd: workerd.test.mjs. Run: `node --test tests/package/server.test.mjs`.
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import { ROOT, installProject, packPkg } from '../support/packed.mjs';
import { SERVER_CHECKS, SERVER_MAIN_CJS, SERVER_MAIN_ESM, runServerChecks, startServerSimulator } from '../support/server-fixtures.mjs';

const WORK = join(ROOT, 'build', 'server-tests');

let sim;
let dir;

before(async () => {
  const [{ tarball }, started] = await Promise.all([packPkg(join(WORK, 'pack')), startServerSimulator()]);
  sim = started;
  dir = await installProject(join(WORK, 'node'), tarball, {
    'package.json': { name: 'consumer-server', private: true, type: 'module' },
    'server-checks.js': SERVER_CHECKS,
    'main.mjs': SERVER_MAIN_ESM,
    'main.cjs': SERVER_MAIN_CJS,
  });
});

after(() => sim?.close());

for (const [runtime, script] of [['Node ESM', 'main.mjs'], ['Node CommonJS', 'main.cjs']]) {
  test(`${runtime}: Gr4vy keys, minted tokens, the webhook security table, waits ended by webhooks, no secret in any output`, { timeout: 120_000 }, async (t) => {
    await runServerChecks(t, { sim, dir, runtime, command: (file) => [process.execPath, [script, file]] });
  });
}
