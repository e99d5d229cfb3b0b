// The raw-fetch floor both benchmarks measure against (bench/run.mjs, bench/builds.mjs): fetch,
// res.json(), and a hand-written mapping to the same normalized shape as token-status returns,
// with the fixed ids of bench/server.mjs.
export const TOKEN_REQUEST = 'rq:ej5ACWNwi1EcqBeuDPc4Z8C4Bgc:5zKtXEAq';
export const PAYMENT_METHOD = '46973e9d-88a7-44a6-abfe-be4ff0134ff4';
export const TOKEN_ID = '0b0d7b0e-1b4c-4b5a-9f0e-2a5b1f1c0a03';

/** Provider states as the floor maps them. */
const TOKENIO_STATES = { PENDING: 'pending', PROCESSED: 'succeeded', REJECTED: 'failed', EXPIRED: 'expired' };
const GR4VY_STATES = { processing: 'pending', buyer_approval_required: 'action_required', succeeded: 'succeeded', failed: 'failed' };
// Each implementation takes an optional key: undefined reads the fixed id; a key reads an id of
// its own (so that the calls of the throughput runs are not identical reads in flight).
export const tokenRequest = (key) => (key === undefined ? TOKEN_REQUEST : `${TOKEN_REQUEST}-${key}`);
export const paymentMethod = (key) => (key === undefined ? PAYMENT_METHOD : `${PAYMENT_METHOD}-${key}`);
export function floorTokenIo(base) {
  return async (key) => {
    const id = tokenRequest(key);
    const res = await fetch(`${base}/token-requests/${encodeURIComponent(id).replaceAll('%3A', ':')}/result`);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const b = await res.json();
    const state = TOKENIO_STATES[b.status] ?? 'unknown';
    return {
      provider: 'tokenio', id, state, terminal: state !== 'pending' && state !== 'unknown',
      providerStatus: b.status, token: b.tokenId ?? null, actionUrl: null, reason: b.statusReasonInformation ?? null,
      metadata: null, transferId: b.transferId ?? null, standingOrderSubmissionId: b.standingOrderSubmissionId ?? null,
      bankId: b.bankId ?? null, signature: b.signature ?? null,
    };
  };
}
export function floorGr4vy(base) {
  return async (key) => {
    const res = await fetch(`${base}/payment-methods/${encodeURIComponent(paymentMethod(key))}/payment-service-tokens`);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const t = (await res.json()).items.find((item) => item.id === TOKEN_ID);
    const state = GR4VY_STATES[t.status] ?? 'unknown';
    return {
      provider: 'gr4vy', id: t.id, state, terminal: state === 'succeeded' || state === 'failed', providerStatus: t.status,
      token: t.token, actionUrl: t.approval_url, reason: null, metadata: null, paymentMethodId: t.payment_method_id,
      paymentServiceId: t.payment_service_id, createdAt: t.created_at, updatedAt: t.updated_at,
    };
  };
}
