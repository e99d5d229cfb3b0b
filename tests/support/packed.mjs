// Shared by the JavaScript test layers that consume the package as a user does: run a command
// without blocking the event loop, `npm pack` pkg/ and `npm install` the tarball (offline, from
// the npm cache) into a fresh project. Not a test file (no `.test.` in its name).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PKG = join(ROOT, 'pkg');
export const BIN = join(ROOT, 'node_modules', '.bin');

const children = new Set();

/** Kills every command `run` started that is still running (for an `after` hook; also on exit). */
export function killChildren() {
  for (const child of children) child.kill('SIGKILL');
}
process.once('exit', killChildren);

/**
 * Runs a command without blocking the event loop; never rejects. Its environment is `baseEnv`
 * (default: this process's, with NO_COLOR=1) plus `env`; `onStderr(stderr so far, child)` sees
 * stderr as it grows.
 */
export function run(cmd, args, { cwd = ROOT, env = {}, timeout = 60_000, baseEnv = { ...process.env, NO_COLOR: '1' }, onStderr } = {}) {
  return new Promise((done) => {
    const started = Date.now();
    const child = spawn(cmd, args, {
      cwd,
      env: { ...baseEnv, npm_config_update_notifier: 'false', ...env },
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
      done({ code, signal, stdout, stderr, startedAt: started, exitedAt: Date.now(), ms: Date.now() - started });
    });
  });
}

export const show = (r) => `exit ${r.code} signal ${r.signal}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

/** Writes `{ relative path: string | JSON value }` under `dir`. */
export function writeFiles(dir, files) {
  for (const [name, content] of Object.entries(files)) {
    const file = join(dir, name);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2) + '\n');
  }
}

/** Every file below `dir`, as absolute paths. */
export function walk(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(full));
    else out.push(full);
  }
  return out;
}

/** `npm pack` pkg/ into `dest`; resolves `{ tarball, info }` (info: npm's JSON about the pack). */
export async function packPkg(dest) {
  assert.ok(existsSync(join(PKG, 'package.json')), 'pkg/ is not built: run `node scripts/build-pkg.mjs`');
  mkdirSync(dest, { recursive: true });
  const packed = await run('npm', ['pack', PKG, '--pack-destination', dest, '--json']);
  assert.equal(packed.code, 0, `npm pack failed\n${show(packed)}`);
  const [info] = JSON.parse(packed.stdout);
  const tarball = join(dest, info.filename);
  assert.ok(existsSync(tarball), `no tarball at ${tarball}`);
  return { tarball, info };
}

/**
 * A fresh project in `dir` holding `files`, with `tarball` installed as a user installs it, and
 * `packages` (exact `name@version` specs, from the npm cache) beside it.
 */
export async function installProject(dir, tarball, files, { packages = [] } = {}) {
  mkdirSync(dir, { recursive: true });
  writeFiles(dir, files);
  const args = ['install', tarball, ...packages, '--no-audit', '--no-fund', '--no-package-lock'];
  let r = await run('npm', [...args, '--offline'], { cwd: dir });
  if (r.code !== 0) r = await run('npm', [...args, '--prefer-offline'], { cwd: dir });
  assert.equal(r.code, 0, `npm install in ${dir} failed\n${show(r)}`);
  assert.ok(existsSync(join(dir, 'node_modules', 'token-status', 'package.json')), `token-status not installed in ${dir}`);
  return dir;
}

/**
 * Starts a long-running server command and resolves `{ origin, output(), close() }` once it
 * answers HTTP on `origin` (any status); rejects, having stopped it, when it exits first or does
 * not answer within `timeout` ms. Its environment is this process's with NO_COLOR=1 plus `env`.
 */
export async function startServer(cmd, args, { cwd = ROOT, env = {}, origin, timeout = 15_000 }) {
  const child = spawn(cmd, args, { cwd, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d) => { output += d; });
  child.stderr.setEncoding('utf8').on('data', (d) => { output += d; });
  const exited = new Promise((done) => child.once('exit', () => {
    children.delete(child);
    done();
  }));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + timeout;
  while (child.exitCode === null && Date.now() < deadline) {
    try {
      await fetch(`${origin}/`);
      return { origin, output: () => output, close };
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  await close();
  throw new Error(`${cmd} ${args.join(' ')} did not answer on ${origin}:\n${output}`);
}
