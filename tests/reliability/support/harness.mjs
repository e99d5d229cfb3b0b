// Shared helpers of the reliability suites (not a test file: no `.test.` in its name).
//
// - startSimulatorChild(): the provider simulator as a CHILD process (`node www/simulator/serve.mjs
//   --port 0`, or a wrapper script), so its load runs on the other core; `stop()` kills it.
// - Sim: the simulator's control API (`/_sim/...`) over HTTP.
// - runNode(): runs a scenario script as a child (`--expose-gc` when asked), captures its output,
//   enforces a time limit (SIGKILL) and parses the JSON result it prints on its last line.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const RELIABILITY = resolve(HERE, '..');
export const ROOT = resolve(RELIABILITY, '..', '..');
export const PKG_NODE = join(ROOT, 'pkg', 'index.mjs');

/**
 * The wasm linear memory's size in bytes (it only grows), read through the package's Node glue:
 * the same module instance the public entries load (require cache), not part of the public API.
 */
export const wasmMemoryBytes = () => createRequire(import.meta.url)(join(ROOT, 'pkg', 'node', 'token_status.cjs')).__memoryBytes();
export const SIMULATOR = join(ROOT, 'www', 'simulator', 'serve.mjs');

/** The simulator's own credentials (www/simulator/README.md). */
export const SIM_CREDENTIALS = {
  truemed: 'sim-truemed-key',
  gr4vy: 'sim-gr4vy-token',
  tokenioBearer: 'sim-tokenio-token',
  tokenioBasic: 'c2ltOnRva2VuaW8=',
};

const children = new Set();
process.once('exit', () => {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

/**
 * Starts the simulator as a child process and resolves `{ url, sim, child, stop }` once it has
 * printed its URL. `script` defaults to www/simulator/serve.mjs; `args` are extra arguments.
 */
export function startSimulatorChild({ script = SIMULATOR, args = [], startTimeoutMs = 10_000 } = {}) {
  return new Promise((resolveStart, rejectStart) => {
    const child = spawn(process.execPath, [script, '--port', '0', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let out = '';
    let err = '';
    let settled = false;
    const exited = new Promise((done) => child.once('exit', (code, signal) => {
      children.delete(child);
      done({ code, signal });
    }));
    const fail = (why) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      rejectStart(new Error(`simulator did not start: ${why}\n${out}\n${err}`));
    };
    const timer = setTimeout(() => fail('no URL printed in time'), startTimeoutMs);
    child.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      if (settled) return;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      const m = /(http:\/\/\S+)/.exec(out.slice(0, nl));
      if (!m) return fail(`unexpected first line ${JSON.stringify(out.slice(0, nl))}`);
      settled = true;
      clearTimeout(timer);
      const url = m[1];
      const stop = async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), 3000);
          await exited;
          clearTimeout(t);
        }
        return exited;
      };
      resolveStart({ url, sim: new Sim(url), child, stop, stderr: () => err });
    });
    child.once('error', (e) => fail(String(e)));
    child.once('exit', (code, signal) => fail(`exited early (${code ?? signal})`));
  });
}

/** The simulator's control API. */
export class Sim {
  constructor(url) {
    this.url = url;
  }

  async request(method, path, body) {
    const init = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'content-type': 'application/json' };
    }
    const res = await fetch(this.url + path, init);
    const text = await res.text();
    if (!res.ok) throw new Error(`simulator ${method} ${path} answered ${res.status}: ${text}`);
    return text ? JSON.parse(text) : null;
  }

  flow(spec) { return this.request('POST', '/_sim/flows', spec); }
  getFlow(id) { return this.request('GET', `/_sim/flows/${encodeURIComponent(id)}`); }
  faults(match, faults) { return this.request('POST', '/_sim/faults', { match, faults }); }
  faultRates(rates) { return this.request('POST', '/_sim/fault-rates', rates); }
  reset() { return this.request('POST', '/_sim/reset'); }
  requests(query = {}) {
    const q = new URLSearchParams(Object.entries(query).filter(([, v]) => v != null)).toString();
    return this.request('GET', `/_sim/requests${q ? `?${q}` : ''}`);
  }
  clearRequests() { return this.request('DELETE', '/_sim/requests'); }
  approve(id) { return this.request('POST', `/_sim/approve/${encodeURIComponent(id)}`); }
}

/** Runs `fn` over `items` with at most `limit` in flight; resolves the results in order. */
export async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Runs `node [flags] script ...args` as a child; resolves `{ code, signal, stdout, stderr, ms,
 * exitedAt, json }` where `json` is the last stdout line parsed (or undefined). Killed with
 * SIGKILL after `timeoutMs`.
 */
export function runNode(script, args = [], { flags = [], timeoutMs = 60_000, env = {} } = {}) {
  return new Promise((done) => {
    const started = Date.now();
    const child = spawn(process.execPath, [...flags, script, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    child.on('error', (e) => { stderr += String(e); });
    child.on('exit', () => { child.exitedAt = Date.now(); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      let json;
      const lines = stdout.trim().split('\n');
      try {
        json = JSON.parse(lines[lines.length - 1]);
      } catch {
        json = undefined;
      }
      done({ code, signal, stdout, stderr, ms: Date.now() - started, exitedAt: child.exitedAt ?? Date.now(), json });
    });
  });
}

export const show = (r) => `exit ${r.code} signal ${r.signal} after ${r.ms} ms\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`;

export const mb = (bytes) => Math.round((bytes / 1048576) * 100) / 100;
