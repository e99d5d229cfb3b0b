// Browsers for the JavaScript test layers: headless Chromium through playwright-core, headless
// Firefox (ESR) through geckodriver's WebDriver HTTP API (playwright-core drives only its own
// patched Firefox, which cannot be installed here), and a small static file server with the
// right MIME types. Not a test file (no `.test.` in its name).
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];
export const FIREFOX = '/usr/bin/firefox-esr';
export const GECKODRIVER = join(homedir(), '.cargo', 'bin', 'geckodriver');

export const MIME_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
}

const listening = (server) => new Promise((resolve) => {
  server.listen(0, '127.0.0.1', () => {
    resolve({
      url: `http://127.0.0.1:${server.address().port}`,
      close: () => new Promise((done) => { server.close(() => done()); server.closeAllConnections(); }),
    });
  });
});

/**
 * Serves files: `roots` maps a URL path prefix ('/', '/pkg/') to a directory; a path ending in
 * '/' serves its index.html. `handle(req, res, path)`, when given, runs first and returns true
 * when it answered (it may be async). Every file answer is logged in `served` as
 * `{ path, type, at }`. Resolves `{ url, close, served }`.
 */
export async function serveStatic({ roots, handle }) {
  const served = [];
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (handle && (await handle(req, res, path))) return;
    const prefix = Object.keys(roots).filter((p) => path.startsWith(p)).sort((a, b) => b.length - a.length)[0];
    const root = prefix && normalize(roots[prefix]);
    const file = root && normalize(join(root, path.slice(prefix.length) + (path.endsWith('/') ? 'index.html' : '')));
    try {
      if (!file || !file.startsWith(root + sep) || !(await stat(file)).isFile()) throw new Error('not a file');
      const body = await readFile(file);
      const type = MIME_TYPES[extname(file)] ?? 'application/octet-stream';
      served.push({ path, type, at: Date.now() });
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  return { ...(await listening(server)), served };
}

/**
 * Starts geckodriver and one headless Firefox session. Resolves `{ goto(url), execute(script,
 * ...args), version, close() }`; `execute` runs `script` as a function body in the page
 * (WebDriver "execute sync") and resolves its return value.
 */
export async function startFirefox({ startTimeoutMs = 30_000 } = {}) {
  const driver = spawn(GECKODRIVER, ['--port', '0', '--websocket-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const exited = new Promise((done) => driver.once('close', done));
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`geckodriver did not start:\n${log}`)), startTimeoutMs);
    const read = (d) => {
      log += d;
      const m = /Listening on (\S+:\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(`http://${m[1]}`);
      }
    };
    driver.stdout.setEncoding('utf8').on('data', read);
    driver.stderr.setEncoding('utf8').on('data', read);
    driver.once('error', (e) => { clearTimeout(timer); reject(e); });
  });
  const call = async (method, path, body) => {
    const res = await fetch(base + path, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer = await res.json();
    if (!res.ok) throw new Error(`WebDriver ${method} ${path}: ${res.status} ${JSON.stringify(answer.value ?? answer)}`);
    return answer.value;
  };
  const stopDriver = async () => {
    driver.kill('SIGTERM');
    const t = setTimeout(() => driver.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  };
  let session;
  try {
    session = await call('POST', '/session', {
      capabilities: {
        alwaysMatch: {
          browserName: 'firefox',
          'moz:firefoxOptions': { binary: FIREFOX, args: ['-headless'], prefs: { 'app.update.enabled': false } },
        },
      },
    });
  } catch (err) {
    await stopDriver();
    throw new Error(`${err.message}\ngeckodriver log:\n${log}`);
  }
  const id = session.sessionId;
  return {
    version: `${session.capabilities.browserName} ${session.capabilities.browserVersion}`,
    goto: (url) => call('POST', `/session/${id}/url`, { url }),
    execute: (script, ...args) => call('POST', `/session/${id}/execute/sync`, { script, args }),
    log: () => log,
    async close() {
      await call('DELETE', `/session/${id}`).catch(() => {});
      await stopDriver();
    },
  };
}
