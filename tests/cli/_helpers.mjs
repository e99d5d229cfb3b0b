// Shared helpers of the command-line tests (not a test file: no `.test.` in its name).
//
// - installPackage(name): `npm pack` pkg/ and `npm install` the tarball into a fresh project
//   under build/cli-tests/<name>/, as a user would; resolves the project directory.
// - run(): runs a command asynchronously (the tests' simulators answer from this process's
//   event loop), with a clean environment (no TRUEMED_/GR4VY_/TOKENIO_ variable, no NO_COLOR
//   unless given), and records every output for the credential checks.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PKG = join(ROOT, 'pkg');
const WORK = join(ROOT, 'build', 'cli-tests');

/** The simulator's own credentials (www/simulator/README.md). */
export const SIM_ENV = {
  TRUEMED_API_KEY: 'sim-truemed-key',
  GR4VY_BEARER_TOKEN: 'sim-gr4vy-token',
  TOKENIO_BEARER_TOKEN: 'sim-tokenio-token',
};

/** Every output run() saw: `{ args, stdout, stderr }`. */
export const outputs = [];

const children = new Set();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/**
 * Runs `cmd args` and resolves `{ code, signal, stdout, stderr, ms }` (never rejects). `env` is
 * added to a copy of this process's environment without any provider variable or NO_COLOR.
 * `onStderr(text, child)` sees stderr as it grows.
 */
export function run(cmd, args, { cwd = ROOT, env = {}, timeout = 30_000, onStderr } = {}) {
  const base = { ...process.env };
  for (const k of Object.keys(base)) if (/^(TRUEMED|GR4VY|TOKENIO)_|^NO_COLOR$|^FORCE_COLOR$/.test(k)) delete base[k];
  return new Promise((done) => {
    const started = Date.now();
    const child = spawn(cmd, args, {
      cwd,
      env: { ...base, npm_config_update_notifier: 'false', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout,
      killSignal: 'SIGKILL',
    });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => {
      stderr += d;
      onStderr?.(stderr, child);
    });
    child.on('error', (error) => { stderr += String(error); });
    child.on('close', (code, signal) => {
      children.delete(child);
      outputs.push({ args, stdout, stderr });
      done({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

export const show = (r) => `exit ${r.code} signal ${r.signal}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

/** A fresh project under build/cli-tests/<name> with the packed tarball installed. */
export async function installPackage(name) {
  if (!existsSync(join(PKG, 'package.json'))) throw new Error('pkg/ is not built: run `node scripts/build-pkg.mjs`');
  const dir = join(WORK, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'pack'), { recursive: true });
  const packed = await run('npm', ['pack', PKG, '--pack-destination', join(dir, 'pack'), '--json']);
  if (packed.code !== 0) throw new Error(`npm pack failed\n${show(packed)}`);
  const tarball = join(dir, 'pack', JSON.parse(packed.stdout)[0].filename);
  const project = join(dir, 'project');
  mkdirSync(project);
  await run('npm', ['init', '-y'], { cwd: project });
  const args = ['install', tarball, '--no-audit', '--no-fund', '--no-package-lock'];
  let r = await run('npm', [...args, '--offline'], { cwd: project });
  if (r.code !== 0) r = await run('npm', [...args, '--prefer-offline'], { cwd: project });
  if (r.code !== 0) throw new Error(`npm install failed\n${show(r)}`);
  return project;
}

/** POSTs JSON to the simulator's control API and resolves the answer's JSON. */
export async function control(sim, path, body) {
  const res = await fetch(`${sim.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`simulator ${path} answered ${res.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}
