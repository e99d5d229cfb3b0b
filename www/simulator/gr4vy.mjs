// Gr4vy in the simulator: `GET` (list) and `POST` (provision) on
// `/gr4vy/payment-methods/{id}/payment-service-tokens`, the bearer credential (the fixed test
// token, or an API-key JWT checked by jwt.mjs), Gr4vy's error bodies (422 `detail` lists
// included), how a payment service token's flow reads, and its signed webhook events.

import { randomUUID } from 'node:crypto';
import { ALNUM, SimError, isObject, isSecret, iso, parseAuthorization, randomString, refused, send, statusMessage, webhookSignature } from './common.mjs';
import { APPROVAL_STATUS } from './flows.mjs';

const BEARER = 'sim-gr4vy-token';

/** Event names (simulator choices: Gr4vy documents no payment-service-token event). */
export const TOKEN_EVENT = 'payment-service-token.updated';
export const METHOD_EVENT = 'payment-method.updated';
/** The targets a destination may ask for, and the default: both, token event first. */
const TARGETS = ['payment-service-token', 'payment-method'];
const MAX_SECRETS = 10;

const CODES = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'duplicate_record',
  425: 'too_early',
  429: 'too_many_requests',
  500: 'server_error',
  502: 'bad_gateway',
  503: 'service_unavailable',
  504: 'gateway_timeout',
};

/** The Gr4vy provider of the simulator (the interface every provider file exports). */
export const gr4vy = {
  name: 'gr4vy',
  methods: ['GET', 'POST'],
  notFoundMessage: 'The resource could not be found',
  pendingStatus: 'processing',
  outcomeTails: {
    succeeded: ['succeeded'],
    action_required: [APPROVAL_STATUS, 'succeeded'],
    failed: ['failed'],
    rejected: ['failed'],
    expired: ['failed'],
    unknown: ['paused'],
    pending: null,
  },

  /** The payment method id segment of the tokens path, or null. */
  routeId: (s) => (s.length === 3 && s[0] === 'payment-methods' && s[2] === 'payment-service-tokens' ? s[1] : null),

  /**
   * The fixed test token, or (with `gr4vyPublicKey`) a JWT signed by that key whose scopes
   * allow the request (401, or 403 for a missing scope).
   */
  authenticate(ctx, auth) {
    const given = parseAuthorization(ctx.req.headers);
    if (!given) return refused('Missing Authorization header');
    if (given.scheme !== 'bearer') return refused('No valid API authentication found');
    if (given.value === BEARER) return { method: 'sim-token' };
    if (given.value.split('.').length !== 3) return refused('No valid API authentication found');
    if (!auth.gr4vyJwt) {
      return refused('No valid API authentication found: this simulator checks Gr4vy JWTs only when started with gr4vyPublicKey');
    }
    const problem = auth.gr4vyJwt.check(given.value, ctx.method);
    return problem ?? { method: 'jwt' };
  },

  errorBody(status, message) {
    const msg = message ?? statusMessage(status);
    if (status === 422) return { detail: [{ loc: ['body'], msg, type: 'value_error' }] };
    return {
      type: 'error',
      code: CODES[status] ?? (status >= 500 ? 'server_error' : 'bad_request'),
      status,
      message: msg,
      details: [],
    };
  },

  newId: () => randomUUID(),

  initFlow(flow, spec) {
    flow.paymentMethodId = spec.paymentMethodId ?? randomUUID();
    flow.paymentServiceId = spec.paymentServiceId ?? randomUUID();
    flow.redirectUrl = spec.redirectUrl ?? null;
    flow.merchantAccountId = spec.merchantAccountId ?? null;
    flow.token = `gr4vy_pst_${randomString(ALNUM, 24)}`;
  },

  /** A PaymentServiceToken; `approval_url` points at the simulator's own approval page. */
  render(flow, status, origin) {
    return {
      type: 'payment-service-token',
      id: flow.id,
      payment_method_id: flow.paymentMethodId,
      payment_service_id: flow.paymentServiceId,
      status,
      approval_url: status === APPROVAL_STATUS ? `${origin}/_sim/approve/${encodeURIComponent(flow.id)}` : null,
      token: status === 'succeeded' ? flow.token : null,
      created_at: iso(flow.createdAt),
      updated_at: iso(flow.updatedAt),
    };
  },

  viewIds: (flow) => ({ paymentMethodId: flow.paymentMethodId, paymentServiceId: flow.paymentServiceId }),
  viewExtra(flow) {
    const v = {};
    if (flow.redirectUrl != null) v.redirectUrl = flow.redirectUrl;
    if (flow.merchantAccountId != null) v.merchantAccountId = flow.merchantAccountId;
    return v;
  },

  truncatedSample: (ctx) => ({
    items: [{ type: 'payment-service-token', id: ctx.id ?? randomUUID(), status: 'processing', approval_url: null, token: null }],
  }),
  wrongTypes: () => ({ items: {} }),

  webhookKeys: ['secret', 'secrets', 'targets'],
  /** A subscription's active secrets (`secrets`, or one `secret`) and the event targets it gets. */
  webhookDestination(spec, where) {
    let secrets = spec.secrets ?? spec.secret;
    if (typeof secrets === 'string') secrets = [secrets];
    if (spec.secrets !== undefined && spec.secret !== undefined) {
      throw new SimError(400, `${where}: give secrets or secret, not both`);
    }
    if (!Array.isArray(secrets) || secrets.length === 0 || secrets.length > MAX_SECRETS || !secrets.every(isSecret)) {
      throw new SimError(400, `${where}.secrets must be 1 to ${MAX_SECRETS} non-empty strings without control characters`);
    }
    const targets = spec.targets ?? TARGETS;
    if (!Array.isArray(targets) || targets.length === 0 || !targets.every((t) => TARGETS.includes(t))) {
      throw new SimError(400, `${where}.targets must be a non-empty list of ${TARGETS.join(', ')}`);
    }
    return { secrets: [...secrets], targets: TARGETS.filter((t) => targets.includes(t)), method: 'signed' };
  },
  /** Gr4vy wants any 2xx (within 5000 ms). */
  webhookAccepted: (status) => status >= 200 && status < 300,
  /**
   * Every status change of a token is an event with the token as its target, then one with its
   * payment method as the target (carrying the token's status: the simulator has no other).
   */
  webhookEvents(flow, status, { dest, origin, now }) {
    const event = (name, target) => ({
      type: name,
      webhookId: randomUUID(),
      body: {
        type: 'event',
        id: randomUUID(),
        name,
        merchant_account_id: flow.merchantAccountId ?? 'default',
        gr4vy_id: 'simulator',
        environment: 'sandbox',
        created_at: iso(now),
        target,
      },
    });
    return dest.targets.map((t) =>
      t === 'payment-service-token'
        ? event(TOKEN_EVENT, gr4vy.render(flow, status, origin))
        : event(METHOD_EVENT, {
            type: 'payment-method',
            id: flow.paymentMethodId,
            method: 'card',
            status,
            merchant_account_id: flow.merchantAccountId ?? 'default',
            created_at: iso(flow.createdAt),
            updated_at: iso(flow.updatedAt),
          }),
    );
  },
  /** One signature per active secret over `"{timestamp}.{body}"`, fresh per attempt; the id stays. */
  signWebhook(dest, rec, now) {
    return {
      'x-gr4vy-webhook-id': rec.webhookId,
      'x-gr4vy-webhook-timestamp': String(now),
      'x-gr4vy-webhook-signatures': dest.secrets.map((s) => webhookSignature(s, now, rec.body)).join(','),
    };
  },

  /** GET lists the payment method's tokens (a status read of each); POST provisions one. */
  serve(ctx, kit, now) {
    if (ctx.method === 'POST') return provision(ctx, kit, now);
    const tokens = kit.store.byPaymentMethod(ctx.id);
    const items = [];
    if (tokens) {
      const origin = kit.origin(ctx);
      const svc = ctx.query.payment_service_id;
      for (const flow of tokens.values()) {
        if (svc != null && flow.paymentServiceId !== svc) continue;
        items.push(kit.store.read(flow, now, origin));
      }
    }
    send(ctx.res, 200, { items });
    kit.say(`${ctx.method} ${ctx.rawPath} -> 200 (${items.length} items)`);
  },
};

/** The body's problems in Gr4vy's 422 `detail` form (empty when it is valid). */
function provisionErrors(ctx) {
  let body;
  try {
    body = ctx.body == null ? undefined : JSON.parse(ctx.body);
  } catch (err) {
    return { errors: [{ loc: ['body'], msg: `Invalid JSON: ${err.message}`, type: 'value_error.jsondecode' }] };
  }
  if (body === undefined) return { errors: [{ loc: ['body'], msg: 'field required', type: 'value_error.missing' }] };
  if (!isObject(body)) return { errors: [{ loc: ['body'], msg: 'value is not a valid dict', type: 'type_error.dict' }] };
  const errors = [];
  for (const k of ['payment_service_id', 'redirect_url']) {
    if (!(k in body)) errors.push({ loc: ['body', k], msg: 'field required', type: 'value_error.missing' });
    else if (typeof body[k] !== 'string') errors.push({ loc: ['body', k], msg: 'str type expected', type: 'type_error.str' });
  }
  if ('security_code' in body && body.security_code !== null) {
    if (typeof body.security_code !== 'string') {
      errors.push({ loc: ['body', 'security_code'], msg: 'str type expected', type: 'type_error.str' });
    } else if (!/^[0-9]{3,4}$/.test(body.security_code)) {
      errors.push({
        loc: ['body', 'security_code'],
        msg: 'string does not match regex "^\\d{3,4}$"',
        type: 'value_error.str.regex',
      });
    }
  }
  for (const k of Object.keys(body)) {
    if (k !== 'payment_service_id' && k !== 'redirect_url' && k !== 'security_code') {
      errors.push({ loc: ['body', k], msg: 'extra fields not permitted', type: 'value_error.extra' });
    }
  }
  return { body, errors };
}

/** `POST`: a new token (status `processing`) that becomes an `action_required` flow. */
function provision(ctx, kit, now) {
  const { body, errors } = provisionErrors(ctx);
  if (errors.length) {
    send(ctx.res, 422, { detail: errors });
    kit.say(`${ctx.method} ${ctx.rawPath} -> 422`);
    return;
  }
  const flow = kit.store.create({ provider: 'gr4vy', outcome: 'action_required', paymentMethodId: ctx.id }, kit.origin(ctx));
  flow.paymentServiceId = body.payment_service_id;
  flow.redirectUrl = body.redirect_url;
  const merchant = ctx.req.headers['x-gr4vy-merchant-account-id'];
  if (merchant) flow.merchantAccountId = merchant;
  flow.createdAt = flow.updatedAt = flow.stepStartedAt = now;
  send(ctx.res, 201, kit.store.render(flow, kit.origin(ctx)));
  kit.say(`${ctx.method} ${ctx.rawPath} -> 201 (${flow.id})`);
}
