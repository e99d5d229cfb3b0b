// The Chromium side of the load scenario: imports the browser build (/pkg/index.js, which loads
// pkg/web/token_status_bg.wasm relative to itself) and exposes window.__run(simUrl, items, flows).
// Results land in window.__results (one entry per wait, in plan order) and window.__done.
import { TruemedClient, Gr4vyClient, TokenIoClient } from '/pkg/index.js';
// The same module instance index.js initialised: the wasm memory size is not public API.
import { __memoryBytes } from '/pkg/web/token_status.js';
import { CLIENT_OPTIONS, startWait } from '/rel/scenarios/load-plan.mjs';


window.__memoryBytes = () => __memoryBytes();

// Counts what the package's fetch calls became (the package calls the global fetch): answered,
// aborted (its own per-attempt timeout, including time queued behind Chromium's 6 connections
// per host), or failed (dropped connections).
const attempts = { sent: 0, answered: 0, aborted: 0, failed: 0 };
const realFetch = window.fetch.bind(window);
window.fetch = (input, init) => {
  const url = typeof input === 'string' ? input : input.url;
  const counted = /\/(truemed|gr4vy|tokenio)\//.test(url);
  if (counted) attempts.sent++;
  const p = realFetch(input, init);
  if (counted) {
    p.then(() => { attempts.answered++; }, (e) => { if (e && e.name === 'AbortError') attempts.aborted++; else attempts.failed++; });
  }
  return p;
};

window.__run = (url, items, flows, overrides = {}) => {
  window.__done = false;
  window.__results = null;
  const common = { ...CLIENT_OPTIONS, ...overrides, allowBrowserCredentials: true };
  const clients = {
    truemed: new TruemedClient({ ...common, baseUrl: `${url}/truemed`, apiKey: 'sim-truemed-key' }),
    gr4vy: new Gr4vyClient({ ...common, baseUrl: `${url}/gr4vy`, bearerToken: 'sim-gr4vy-token' }),
    tokenio: new TokenIoClient({ ...common, baseUrl: `${url}/tokenio`, basicCredentials: 'c2ltOnRva2VuaW8=' }),
  };
  const approvals = { sent: 0, failed: 0 };
  for (const k of Object.keys(attempts)) attempts[k] = 0;
  const memoryBefore = __memoryBytes();
  const started = performance.now();
  const waits = items.map((item, i) => startWait(clients, flows[i], item, approvals));

  Promise.all(waits).then((results) => {
    const ms = performance.now() - started;
    for (const c of Object.values(clients)) c.free();
    window.__results = { results, approvals, attempts: { ...attempts }, ms, memoryBefore, memoryAfter: __memoryBytes() };
    window.__done = true;
  });
};
window.__ready = true;
