// The packed tarball itself (DESIGN.md "Loading everywhere"): publint and
// @arethetypeswrong/cli (both pinned in package.json) report no problem of any level, and no
// shipped JavaScript file awaits at top level (parsed with acorn, not matched by a regex).
// Run: `node --test tests/loading/`.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { BIN, ROOT, packPkg, run, show } from '../support/packed.mjs';
import { parseJs, topLevelAwaits } from './_helpers.mjs';

const WORK = join(ROOT, 'build', 'loading-tests', 'tarball');
let tarball;
let info;
let unpacked;

before(async () => {
  rmSync(WORK, { recursive: true, force: true });
  ({ tarball, info } = await packPkg(join(WORK, 'pack')));
  unpacked = join(WORK, 'unpacked');
  mkdirSync(unpacked, { recursive: true });
  const r = await run('tar', ['-xzf', tarball, '-C', unpacked]);
  assert.equal(r.code, 0, `tar failed\n${show(r)}`);
});

test('publint: no error, warning or suggestion on the tarball', async () => {
  const bytes = readFileSync(tarball);
  const { messages, pkg } = await publint({
    pack: { tarball: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) },
    level: 'suggestion',
  });
  assert.deepEqual(messages.map((m) => `${m.type}: ${formatMessage(m, pkg, { color: false })}`), []);
});

test('@arethetypeswrong/cli: no problem in any resolution mode', async () => {
  const r = await run(join(BIN, 'attw'), [tarball, '--format', 'json', '--no-color']);
  let report;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    assert.fail(`attw printed no JSON\n${show(r)}`);
  }
  const problems = Object.values(report.problems ?? {}).flat();
  assert.deepEqual(problems, [], 'attw problems');
  assert.equal(r.code, 0, show(r));
  const entrypoints = Object.keys(report.analysis.entrypoints);
  assert.ok(entrypoints.includes('.'), `attw checked the root entry point (it saw ${entrypoints.join(', ')})`);
});

test('no shipped .js, .mjs or .cjs file awaits at top level', () => {
  // The check itself can fail: it finds the await of a module body, not one inside a function.
  assert.deepEqual(topLevelAwaits('import init from "./x.js";\nawait init();\nfor await (const x of y) {}\n', 'sample'), [2, 3]);
  assert.deepEqual(topLevelAwaits('export async function f() { await g(); }\nexport const h = async () => { for await (const x of y) {} };\n', 'sample'), []);

  const scripts = info.files.map((f) => f.path).filter((f) => /\.(m|c)?js$/.test(f));
  assert.ok(scripts.includes('index.js') && scripts.includes('web/token_status.js'), `the browser files are packed: ${scripts.join(', ')}`);
  const found = {};
  for (const file of scripts) {
    const source = readFileSync(join(unpacked, 'package', file), 'utf8');
    if (file.endsWith('.cjs')) {
      // CommonJS cannot await at top level at all: it must parse as a script.
      parseJs(source, file, 'script');
      continue;
    }
    const lines = topLevelAwaits(source, file);
    if (lines.length) found[file] = lines;
  }
  assert.deepEqual(found, {}, 'top-level await (file: line numbers)');
});
