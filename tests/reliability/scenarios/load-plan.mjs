// The load scenario's plan, shared by the Node scenario (scenarios/load.mjs) and the Chromium
// page (browser/load-page.mjs): which flows to script, what each wait must resolve to, and how
// to check a wait's onUpdate sequence. Plain ESM, no Node APIs (it also runs in the browser).

/** Client options of every load client (credentials are added by the caller). */
export const CLIENT_OPTIONS = {
  timeoutMs: 300,
  retry: { maxRetries: 3, initialDelayMs: 10, maxDelayMs: 50 },
};

/** Options of every load wait (onUpdate is added per wait). */
export const WAIT_OPTIONS = { intervalMs: 20, maxIntervalMs: 100, deadlineMs: 60_000 };

/** Transient faults only, 20 % of provider requests; slowMs > timeoutMs. */
export const FAULT_RATES = {
  seed: 20251121,
  rate429: 0.06,
  retryAfter: '0',
  rate500: 0.05,
  rate503: 0.05,
  rateDrop: 0.02,
  rateSlow: 0.02,
  slowMs: 1000,
  rateMalformed: 0,
};

/** Scripted outcomes per provider, with the state (and provider status) each must end in. */
export const CASES = {
  truemed: [{ outcome: 'succeeded', state: 'succeeded', providerStatus: null }],
  gr4vy: [
    { outcome: 'succeeded', state: 'succeeded', providerStatus: 'succeeded' },
    { outcome: 'failed', state: 'failed', providerStatus: 'failed' },
    { outcome: 'action_required', state: 'succeeded', providerStatus: 'succeeded', approve: true },
  ],
  tokenio: [
    { outcome: 'succeeded', state: 'succeeded', providerStatus: 'PROCESSED' },
    { outcome: 'rejected', state: 'failed', providerStatus: 'REJECTED' },
    { outcome: 'expired', state: 'expired', providerStatus: 'EXPIRED' },
  ],
};

const PROVIDERS = ['truemed', 'gr4vy', 'tokenio'];

/**
 * `n` flow specs spread evenly over the providers, outcomes and pendingPolls 0..3. With
 * `tokensPerMethod`, that many consecutive Gr4vy tokens share one payment method (so their
 * waits share lists); otherwise each has its own.
 */
export function planFlows(n, tag, { tokensPerMethod = 1 } = {}) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const provider = PROVIDERS[i % 3];
    const cases = CASES[provider];
    const k = Math.floor(i / 3);
    const c = cases[k % cases.length];
    const pendingPolls = Math.floor(k / cases.length) % 4;
    const method = provider === 'gr4vy' && tokensPerMethod > 1 ? { paymentMethodId: `${tag}-pm-${Math.floor(k / tokensPerMethod)}` } : {};
    out.push({
      index: i,
      spec: { provider, outcome: c.outcome, pendingPolls, id: provider === 'gr4vy' ? undefined : `${tag}-${provider}-${i}`, ...method },
      expect: { state: c.state, providerStatus: c.providerStatus, approve: c.approve === true },
    });
  }
  return out;
}

const RANK = { pending: 0, unknown: 0, action_required: 1, succeeded: 2, failed: 2, expired: 2 };

/**
 * Checks one finished wait; returns a list of problems (empty when all is well).
 * `flow` is the simulator's answer to POST /_sim/flows, `item` the plan entry, `result`
 * `{ ok, status, error, updates }` with `updates` the onUpdate statuses (plain copies).
 */
export function checkWait(item, flow, result) {
  const problems = [];
  const where = `#${item.index} ${flow.provider} ${item.spec.outcome}/P${item.spec.pendingPolls} ${flow.id}`;
  if (!result) return [`${where}: no result recorded (lost wait)`];
  if (!result.ok) return [`${where}: rejected with ${result.error}`];
  const s = result.status;
  const e = item.expect;
  if (s.provider !== flow.provider) problems.push(`${where}: provider ${s.provider}`);
  if (s.id !== flow.id) problems.push(`${where}: resolved with id ${s.id}`);
  if (s.state !== e.state) problems.push(`${where}: state ${s.state}, expected ${e.state}`);
  if (s.providerStatus !== e.providerStatus) problems.push(`${where}: providerStatus ${s.providerStatus}, expected ${e.providerStatus}`);
  if (s.terminal !== true) problems.push(`${where}: not terminal`);
  if (e.state === 'succeeded' && s.token !== flow.token) problems.push(`${where}: token ${s.token}, expected ${flow.token}`);
  if (flow.provider === 'gr4vy' && s.paymentMethodId !== flow.paymentMethodId) {
    problems.push(`${where}: paymentMethodId ${s.paymentMethodId}`);
  }
  const u = result.updates;
  if (!Array.isArray(u) || u.length === 0) {
    problems.push(`${where}: onUpdate never called`);
    return problems;
  }
  for (let i = 0; i < u.length; i++) {
    if (u[i].id !== flow.id) problems.push(`${where}: onUpdate[${i}] has id ${u[i].id}`);
    if (i === 0) continue;
    const a = u[i - 1];
    const b = u[i];
    if (a.state === b.state && a.providerStatus === b.providerStatus) {
      problems.push(`${where}: onUpdate[${i}] repeats (${b.state}, ${b.providerStatus})`);
    }
    if (RANK[b.state] < RANK[a.state]) problems.push(`${where}: onUpdate went back from ${a.state} to ${b.state}`);
  }
  if (JSON.stringify(u[u.length - 1]) !== JSON.stringify(s)) {
    problems.push(`${where}: last onUpdate ${JSON.stringify(u[u.length - 1])} differs from the result ${JSON.stringify(s)}`);
  }
  if (e.approve && !u.some((x) => x.state === 'action_required')) {
    problems.push(`${where}: never reported action_required`);
  }
  return problems;
}

/**
 * Starts one wait of the plan on `clients` ({ truemed, gr4vy, tokenio }); resolves
 * `{ ok, status | error, updates }` (never rejects). A Gr4vy flow that needs the buyer is
 * approved from onUpdate by following its approval URL; `approvals` counts those.
 */
export function startWait(clients, flow, item, approvals) {
  const copy = (value) => JSON.parse(JSON.stringify(value));
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
    (error) => ({ ok: false, error: `${error?.kind}: ${error?.message}`, updates }),
  );
}
