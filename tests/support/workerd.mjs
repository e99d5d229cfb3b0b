// Runs a worker in real workerd (Cloudflare Workers' runtime, npm `workerd`, pinned in
// package.json) with the package installed from the tarball: resolves `token-status` through its
// exports map with the `workerd` condition, as a Workers bundler does, and lists the modules the
// entry imports. Shared by tests/package/workerd.test.mjs and the README examples' test. Not a
// test file (no `.test.` in its name).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { ROOT, startServer } from './packed.mjs';

const WORKERD = join(ROOT, 'node_modules', '.bin', 'workerd');

/** A free TCP port on 127.0.0.1. */
export const freePort = () => new Promise((done) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port } = probe.address();
    probe.close(() => done(port));
  });
});

/** The package's modules as workerd sees them: its workerd entry as `token-status`, and what it imports. */
export function packageModules(dir) {
  const installed = join(dir, 'node_modules', 'token-status');
  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
  const entry = manifest.exports['.'].import.workerd;
  assert.ok(entry, 'the exports map has a workerd condition');
  const source = readFileSync(join(installed, entry), 'utf8');
  const imported = [...new Set([...source.matchAll(/from\s*["']\.\/([^"']+)["']/g)].map((m) => m[1]))];
  assert.ok(imported.length > 0, `${entry} imports its glue and .wasm`);
  return [
    { name: 'token-status', file: `node_modules/token-status/${entry.replace('./', '')}` },
    ...imported.map((name) => ({ name, file: `node_modules/token-status/${name}`, wasm: name.endsWith('.wasm') })),
  ];
}

const capnpString = (value) => JSON.stringify(value);

/**
 * Starts workerd serving `main` (a file in `dir`) plus `modules` ({ name, file, wasm? }), with
 * text `bindings` ({ NAME: value }; they are also `process.env` there). Resolves
 * `{ origin, output(), close() }` once it answers HTTP (see packed.mjs startServer).
 */
export async function startWorkerd({ dir, main, modules = [], bindings = {}, config = 'config.capnp' }) {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const mods = [{ name: main, file: main }, ...packageModules(dir), ...modules]
    .map((m) => `(name = ${capnpString(m.name)}, ${m.wasm ? 'wasm' : 'esModule'} = embed ${capnpString(m.file)})`);
  const binds = Object.entries(bindings).map(([name, value]) => `(name = ${capnpString(name)}, text = ${capnpString(value)})`);
  writeFileSync(join(dir, config), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [
    ${mods.join(',\n    ')}
  ],
  bindings = [ ${binds.join(', ')} ],
  compatibilityDate = "2026-11-01",
  globalOutbound = "internet",
);
`);
  return startServer(WORKERD, ['serve', config], { cwd: dir, origin });
}
