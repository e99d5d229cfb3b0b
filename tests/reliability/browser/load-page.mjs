// The Chromium side of the load scenario: imports the browser build (/pkg/index.js, which loads
// pkg/web/token_status_bg.wasm relative to itself) and exposes window.__run(simUrl, items, flows).
// Results land in window.__results (one entry per wait, in plan order) and window.__done.
import { TruemedClient, Gr4vyClient, TokenIoClient } from '/pkg/index.js';
// The same module instance index.js initialised: the wasm memory size is not public API.
import { __memoryBytes } from '/pkg/web/token_status.js';
import { CLIENT_OPTIONS, WAIT_OPTIONS } from '/rel/scenarios/load-plan.mjs';

const copy = (v) => JSON.parse(JSON.stringify(v));

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
  const waits = items.map((item, i) => {
    const flow = flows[i];
    const updates = [];
    const onUpdate = (status) => {
      updates.push(copy(status));
      if (status.state === 'action_required' && item.expect.approve) {
        approvals.sent++;
        fetch(status.actionUrl).then((r) => r.text().then(() => { if (!r.ok) approvals.failed++; }))
          .catch(() => { approvals.failed++; });
      }
    };
    const opts = { ...WAIT_OPTIONS, onUpdate };
    const p = flow.provider === 'truemed'
      ? clients.truemed.waitForProvisionTokenRequest(flow.id, opts)
      : flow.provider === 'gr4vy'
        ? clients.gr4vy.waitForPaymentServiceToken(flow.paymentMethodId, flow.id, opts)
        : clients.tokenio.waitForTokenRequestResult(flow.id, opts);
    return p.then(
      (status) => ({ ok: true, status: copy(status), updates }),
      (error) => ({ ok: false, error: `${error && error.kind}: ${error && error.message}`, updates }),
    );
  });
  Promise.all(waits).then((results) => {
    const ms = performance.now() - started;
    for (const c of Object.values(clients)) c.free();
    window.__results = { results, approvals, attempts: { ...attempts }, ms, memoryBefore, memoryAfter: __memoryBytes() };
    window.__done = true;
  });
};
window.__ready = true;
