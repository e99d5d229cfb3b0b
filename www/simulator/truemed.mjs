// Truemed in the simulator: `GET /truemed/api/v1/payment_tokens/provision_request/{id}`, the
// `x-truemed-api-key` credential, Truemed's error bodies, how a provision request's flow reads,
// and its `payment_token_updated` webhook (signed, or the legacy unsigned kind).

import { createHash } from 'node:crypto';
import { ALNUM, SimError, isSecret, iso, randomString, refused, statusMessage, webhookSignature } from './common.mjs';
import { serveFlowStatus } from './flows.mjs';

const API_KEY = 'sim-truemed-key';

/** The signed envelope's `event_type` (a simulator choice: Truemed's dot-notation spelling is not published). */
export const SIGNED_EVENT_TYPE = 'payment_token.updated';
const UNSIGNED_EVENT_TYPE = 'payment_token_updated';
const LMN_LIFETIME_MS = 365 * 24 * 3600 * 1000;

const CODES = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  429: 'too_many_requests',
  500: 'internal_server_error',
  501: 'not_implemented',
  502: 'bad_gateway',
  503: 'service_unavailable',
  504: 'gateway_timeout',
};

/** The Truemed provider of the simulator (the interface every provider file exports). */
export const truemed = {
  name: 'truemed',
  /** Methods the status path answers; any other is a 405. */
  methods: ['GET'],
  notFoundMessage: 'Provision token request not found',
  pendingStatus: 'pending',
  /** The steps after the pending ones, per outcome; null = pending forever. */
  outcomeTails: {
    succeeded: ['provisioned'],
    action_required: ['provisioned'],
    failed: null,
    rejected: null,
    expired: null,
    unknown: null,
    pending: null,
  },

  /** The raw id segment of a status path (the segments after `/truemed/`), or null. */
  routeId(s) {
    const ok = s.length === 5 && s[0] === 'api' && s[1] === 'v1' && s[2] === 'payment_tokens' && s[3] === 'provision_request';
    return ok ? s[4] : null;
  },

  /**
   * Checks the request's credential: `{ method }` (how it authenticated, for the request log) or
   * `{ status, message }` (the refusal). `auth`: the simulator's key settings (Gr4vy uses them).
   */
  authenticate(ctx) {
    const key = ctx.req.headers['x-truemed-api-key'];
    if (key == null || key === '') return refused('Missing API key: send the x-truemed-api-key header');
    return key === API_KEY ? { method: 'api-key' } : refused('Invalid API key');
  },

  /** Truemed's own error body for an HTTP status. */
  errorBody(status, message) {
    return { error: CODES[status] ?? `http_${status}`, message: message ?? statusMessage(status) };
  },

  newId: () => `ptr_${randomString(ALNUM, 20)}`,

  /** Sets the provider's own fields of a new flow from its `POST /_sim/flows` spec. */
  initFlow(flow, spec) {
    flow.metadata = spec.metadata === undefined ? 'order-1234' : spec.metadata;
    flow.token = `tm_pt_${randomString(ALNUM, 24)}`;
  },

  /** The status body for a step's provider status (the step's `fields` are merged after). */
  render(flow, status) {
    return { metadata: flow.metadata, payment_token: status === 'provisioned' ? flow.token : null };
  },

  /** Fields of the control API's flow view after `id`, and after `token`. */
  viewIds: () => ({}),
  viewExtra: (flow) => ({ metadata: flow.metadata }),

  /** Bodies of the `truncated` (cut in half when sent) and `wrong_types` faults. */
  truncatedSample: () => ({ metadata: 'order-1234', payment_token: 'tm_pt_truncatedtruncated' }),
  wrongTypes: () => ({ metadata: 12, payment_token: 7 }),

  /** Serves a status request that passed the route, credential and method checks. */
  serve: serveFlowStatus,

  /** Fields of a webhook destination besides url, retryDelaysMs and timeoutMs. */
  webhookKeys: ['secret', 'method'],
  /** A destination's own fields: its one `secret`, and `method` signed (default) or unsigned. */
  webhookDestination(spec, where) {
    if (!isSecret(spec.secret)) {
      throw new SimError(400, `${where}.secret must be a non-empty string without control characters`);
    }
    const method = spec.method ?? 'signed';
    if (method !== 'signed' && method !== 'unsigned') throw new SimError(400, `${where}.method must be "signed" or "unsigned"`);
    return { secret: spec.secret, method };
  },
  /** Truemed's receiver MUST answer 204; anything else is retried. */
  webhookAccepted: (status) => status === 204,
  /** A provisioned token is told by `payment_token_updated`; nothing else is. */
  webhookEvents(flow, status, { dest, now }) {
    if (status !== 'provisioned') return [];
    const payload = {
      payment_token: flow.token,
      provision_token_request_id: flow.id,
      lmn_expires_at: iso(now + LMN_LIFETIME_MS),
    };
    if (dest.method === 'unsigned') return [{ type: UNSIGNED_EVENT_TYPE, webhookId: null, body: payload }];
    // Deterministic, as Truemed's idempotency key is: the same event always has the same id.
    const webhookId = `wd_${createHash('sha256').update(`${flow.id}\n${SIGNED_EVENT_TYPE}\n${flow.token}`).digest('hex').slice(0, 32)}`;
    return [{ type: SIGNED_EVENT_TYPE, webhookId, body: { webhook_delivery_id: webhookId, event_type: SIGNED_EVENT_TYPE, data: payload } }];
  },
  /** Signed: `x-truemed-signature: t=<unix>,v1=<hex>` (fresh per attempt). Unsigned: the secret itself. */
  signWebhook(dest, rec, now) {
    if (dest.method === 'unsigned') return { 'x-truemed-api-key': dest.secret };
    return { 'x-truemed-signature': `t=${now},v1=${webhookSignature(dest.secret, now, rec.body)}` };
  },
};
