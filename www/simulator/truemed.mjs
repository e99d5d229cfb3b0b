// Truemed in the simulator: `GET /truemed/api/v1/payment_tokens/provision_request/{id}`, the
// `x-truemed-api-key` credential, Truemed's error bodies and how a provision request's flow reads.

import { ALNUM, randomString, statusMessage } from './common.mjs';
import { serveFlowStatus } from './flows.mjs';

const API_KEY = 'sim-truemed-key';

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

  /** Why the request's credential is refused (the 401 message), or null when it passes. */
  authProblem(headers) {
    const key = headers['x-truemed-api-key'];
    if (key == null || key === '') return 'Missing API key: send the x-truemed-api-key header';
    return key === API_KEY ? null : 'Invalid API key';
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
};
