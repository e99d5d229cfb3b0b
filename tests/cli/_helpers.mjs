// Shared helpers of the command-line tests (not a test file: no `.test.` in its name).
//
// - installPackage(name): `npm pack` pkg/ and `npm install` the tarball into a fresh project
//   under build/cli-tests/<name>/, as a user would; resolves the project directory.
// - run(): runs a command asynchronously (the tests' simulators answer from this process's
//   event loop), with a clean environment (no TRUEMED_/GR4VY_/TOKENIO_ variable, no NO_COLOR
//   unless given), and records every output for the credential checks.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, installProject, packPkg, run as runCommand, show } from '../support/packed.mjs';

export { ROOT, show };
const WORK = join(ROOT, 'build', 'cli-tests');

/** The simulator's own credentials (www/simulator/README.md). */
export const SIM_ENV = {
  TRUEMED_API_KEY: 'sim-truemed-key',
  GR4VY_BEARER_TOKEN: 'sim-gr4vy-token',
  TOKENIO_BEARER_TOKEN: 'sim-tokenio-token',
};

/** Every output run() saw: `{ args, stdout, stderr }`. */
export const outputs = [];

/**
 * Runs `cmd args` and resolves `{ code, signal, stdout, stderr, ms }` (never rejects). `env` is
 * added to a copy of this process's environment without any provider variable or NO_COLOR.
 * `onStderr(text, child)` sees stderr as it grows.
 */
export async function run(cmd, args, { cwd = ROOT, env = {}, timeout = 30_000, onStderr } = {}) {
  const baseEnv = { ...process.env };
  for (const k of Object.keys(baseEnv)) if (/^(TRUEMED|GR4VY|TOKENIO)_|^NO_COLOR$|^FORCE_COLOR$/.test(k)) delete baseEnv[k];
  const r = await runCommand(cmd, args, { cwd, env, timeout, baseEnv, onStderr });
  outputs.push({ args, stdout: r.stdout, stderr: r.stderr });
  return r;
}

/** A fresh project under build/cli-tests/<name> with the packed tarball installed. */
export async function installPackage(name) {
  const dir = join(WORK, name);
  rmSync(dir, { recursive: true, force: true });
  const { tarball } = await packPkg(join(dir, 'pack'));
  return installProject(join(dir, 'project'), tarball, { 'package.json': { name: `cli-${name}`, private: true } });
}

/** POSTs JSON to the simulator's control API and resolves the answer's JSON. */
export async function control(sim, path, body) {
  const res = await fetch(`${sim.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`simulator ${path} answered ${res.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}
