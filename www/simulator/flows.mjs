// Flows: scripted provisioning requests, the simulator's state. A flow is a list of steps, each a
// provider-native status that lasts some status reads or some milliseconds; `completeAfterMs`
// moves it to its outcome on a timer. Every status change is reported (webhooks.mjs turns it
// into deliveries). Provider-agnostic: ids, bodies and fields come from the provider files
// (truemed.mjs, gr4vy.mjs, tokenio.mjs).

import { PROVIDERS, SimError, isNonNegInt, isNonNegNum, isObject, isPosInt, iso, send } from './common.mjs';

export const OUTCOMES = ['succeeded', 'action_required', 'failed', 'rejected', 'expired', 'unknown', 'pending'];

/** A step that holds until the buyer approves (`/_sim/approve/{id}`): `stepMs` never ends it. */
export const APPROVAL_STATUS = 'buyer_approval_required';

/**
 * The flow store. `providers` maps a provider name to its file's export; `say` logs one line.
 * `webhooks`: `{ defaults: { provider: destination }, destination(provider, spec, where) }`;
 * `onStatus(flow, status)` hears every status change. Flow ids are unique across providers.
 */
export function createFlowStore({ providers, say, webhooks, onStatus }) {
  /** id -> flow. */
  const flows = new Map();
  /** Gr4vy payment method id -> Map(token id -> flow), insertion ordered (what a list returns). */
  const gr4vyMethods = new Map();
  /** Flow timers (completeAfterMs, and timed steps of flows with a webhook), cleared by stop(). */
  const timers = new Set();
  let stopped = false;

  function normalizeStep(s, i) {
    if (!isObject(s)) throw new SimError(400, `steps[${i}] must be an object`);
    if (typeof s.status !== 'string' || s.status === '') {
      throw new SimError(400, `steps[${i}].status must be a non-empty string`);
    }
    if (s.polls != null && !isPosInt(s.polls)) throw new SimError(400, `steps[${i}].polls must be an integer >= 1`);
    if (s.ms != null && !isNonNegNum(s.ms)) throw new SimError(400, `steps[${i}].ms must be a number >= 0`);
    if (s.fields != null && !isObject(s.fields)) throw new SimError(400, `steps[${i}].fields must be an object`);
    return { status: s.status, polls: s.polls ?? null, ms: s.ms ?? null, fields: s.fields ?? {} };
  }

  function enterStep(flow, index, at) {
    const before = flow.steps[flow.step].status;
    flow.step = index;
    flow.stepStartedAt = at;
    flow.stepReads = 0;
    flow.updatedAt = at;
    const status = flow.steps[index].status;
    if (status !== before) {
      try {
        onStatus?.(flow, status);
      } catch (err) {
        say(`internal error in a status hook: ${err && err.message}`);
      }
    }
    schedule(flow);
  }

  /**
   * Sets the flow's one timer for its next timed change: `completeAt` (unless it waits for the
   * buyer) and, when it has a webhook to send, the end of a timed step (so the webhook is not
   * held back until someone polls).
   */
  function schedule(flow) {
    if (flow.timer) {
      clearTimeout(flow.timer);
      timers.delete(flow.timer);
      flow.timer = null;
    }
    if (stopped || flow.step >= flow.steps.length - 1) return;
    const s = flow.steps[flow.step];
    let at = Infinity;
    if (flow.completeAt != null && s.status !== APPROVAL_STATUS) at = flow.completeAt;
    if (flow.webhook && s.ms != null) at = Math.min(at, flow.stepStartedAt + s.ms);
    if (at === Infinity) return;
    const t = setTimeout(() => {
      timers.delete(t);
      flow.timer = null;
      if (flows.get(flow.id) !== flow) return;
      const now = Date.now();
      settle(flow, now);
      if (flow.completeAt != null && now >= flow.completeAt) finishNow(flow, now);
      schedule(flow);
    }, Math.max(0, at - Date.now()));
    flow.timer = t;
    timers.add(t);
  }

  /** Moves the flow through its steps to the last one, stopping at a buyer approval. */
  function finishNow(flow, now) {
    settle(flow, now);
    const last = flow.steps.length - 1;
    while (flow.step < last && flow.steps[flow.step].status !== APPROVAL_STATUS) enterStep(flow, flow.step + 1, now);
  }

  /** Advances past every step whose `ms` has elapsed (the last step always holds). */
  function settle(flow, now) {
    while (flow.step < flow.steps.length - 1) {
      const s = flow.steps[flow.step];
      if (s.ms == null || now - flow.stepStartedAt < s.ms) break;
      enterStep(flow, flow.step + 1, Math.min(now, flow.stepStartedAt + s.ms));
    }
  }

  /** A status read: settle, render the current step, count the read, maybe advance. */
  function read(flow, now, origin) {
    settle(flow, now);
    const body = render(flow, origin);
    flow.reads++;
    flow.stepReads++;
    const s = flow.steps[flow.step];
    if (flow.step < flow.steps.length - 1 && s.polls != null && flow.stepReads >= s.polls) {
      enterStep(flow, flow.step + 1, now);
    }
    return body;
  }

  /** The provider body for the flow's current step (no side effects). */
  function render(flow, origin) {
    const s = flow.steps[flow.step];
    return Object.assign(providers[flow.provider].render(flow, s.status, origin), s.fields);
  }

  /** The control API's view of a flow. */
  function view(flow) {
    settle(flow, Date.now());
    const p = providers[flow.provider];
    return {
      provider: flow.provider,
      id: flow.id,
      ...p.viewIds(flow),
      outcome: flow.outcome,
      steps: flow.steps.map((s) => ({ status: s.status, polls: s.polls, ms: s.ms, fields: { ...s.fields } })),
      step: flow.step,
      status: flow.steps[flow.step].status,
      reads: flow.reads,
      stepReads: flow.stepReads,
      approved: flow.approved,
      token: flow.token,
      webhook: flow.webhook ? { url: flow.webhook.url, method: flow.webhook.method } : null,
      completeAt: flow.completeAt != null ? iso(flow.completeAt) : null,
      ...p.viewExtra(flow),
      createdAt: iso(flow.createdAt),
      updatedAt: iso(flow.updatedAt),
    };
  }

  /**
   * Creates a flow from the `POST /_sim/flows` JSON; throws SimError on bad input. `origin`: the
   * simulator origin its webhooks' approval links use.
   */
  function create(spec, origin = null) {
    if (!isObject(spec)) throw new SimError(400, 'body must be a JSON object');
    const provider = spec.provider;
    if (!PROVIDERS.includes(provider)) throw new SimError(400, `provider must be one of ${PROVIDERS.join(', ')}`);
    if (spec.id != null && (typeof spec.id !== 'string' || spec.id === '')) {
      throw new SimError(400, 'id must be a non-empty string');
    }
    if (spec.outcome != null && !OUTCOMES.includes(spec.outcome)) {
      throw new SimError(400, `outcome must be one of ${OUTCOMES.join(', ')}`);
    }
    if (spec.pendingPolls != null && !isNonNegInt(spec.pendingPolls)) {
      throw new SimError(400, 'pendingPolls must be an integer >= 0');
    }
    if (spec.stepMs != null && !isNonNegNum(spec.stepMs)) throw new SimError(400, 'stepMs must be a number >= 0');
    if (spec.completeAfterMs != null && !isNonNegNum(spec.completeAfterMs)) {
      throw new SimError(400, 'completeAfterMs must be a number >= 0');
    }
    if (spec.steps != null && (!Array.isArray(spec.steps) || spec.steps.length === 0)) {
      throw new SimError(400, 'steps must be a non-empty array');
    }
    for (const k of ['paymentMethodId', 'paymentServiceId', 'redirectUrl', 'merchantAccountId']) {
      if (spec[k] != null && (typeof spec[k] !== 'string' || spec[k] === '')) {
        throw new SimError(400, `${k} must be a non-empty string`);
      }
    }
    if (spec.metadata !== undefined && spec.metadata !== null && typeof spec.metadata !== 'string') {
      throw new SimError(400, 'metadata must be a string or null');
    }

    let webhook = webhooks?.defaults[provider] ?? null;
    if (spec.webhook === null || spec.webhook === false) webhook = null;
    else if (spec.webhook !== undefined) webhook = webhooks.destination(provider, spec.webhook, 'webhook');

    const p = providers[provider];
    const outcome = spec.outcome ?? (spec.steps ? 'custom' : 'succeeded');
    const completeAfterMs = spec.completeAfterMs ?? null;
    // A flow that finishes by time stays pending until then, unless pendingPolls says otherwise.
    const pendingPolls = spec.pendingPolls ?? (completeAfterMs != null ? null : 2);
    const stepMs = spec.stepMs ?? null;

    let steps;
    if (spec.steps) {
      steps = spec.steps.map(normalizeStep);
    } else {
      const tail = p.outcomeTails[outcome];
      if (tail === null) {
        steps = [{ status: p.pendingStatus, polls: null, ms: null, fields: {} }];
      } else {
        steps = [];
        if (pendingPolls !== 0) steps.push({ status: p.pendingStatus, polls: pendingPolls, ms: null, fields: {} });
        for (const status of tail) steps.push({ status, polls: null, ms: null, fields: {} });
      }
    }
    if (stepMs != null) {
      for (let i = 0; i < steps.length - 1; i++) {
        if (steps[i].status !== APPROVAL_STATUS && steps[i].ms == null) steps[i].ms = stepMs;
      }
    }

    let id = spec.id;
    if (id == null) {
      do id = p.newId();
      while (flows.has(id));
    } else if (flows.has(id)) {
      throw new SimError(409, 'duplicate id');
    }

    const now = Date.now();
    const flow = {
      provider,
      id,
      outcome,
      steps,
      step: 0,
      stepStartedAt: now,
      stepReads: 0,
      reads: 0,
      approved: false,
      createdAt: now,
      updatedAt: now,
      token: null,
      webhook,
      origin,
      completeAt: completeAfterMs != null ? now + completeAfterMs : null,
      timer: null,
    };
    p.initFlow(flow, spec);

    flows.set(id, flow);
    if (provider === 'gr4vy') {
      let tokens = gr4vyMethods.get(flow.paymentMethodId);
      if (!tokens) gr4vyMethods.set(flow.paymentMethodId, (tokens = new Map()));
      tokens.set(id, flow);
    }
    say(`flow created: ${provider} ${id} (${outcome}, ${steps.map((s) => s.status).join(' -> ')})`);
    schedule(flow);
    return flow;
  }

  function get(id) {
    const flow = flows.get(id);
    if (!flow) throw new SimError(404, 'flow not found');
    return flow;
  }

  function advance(id) {
    const flow = get(id);
    const now = Date.now();
    settle(flow, now);
    if (flow.step < flow.steps.length - 1) enterStep(flow, flow.step + 1, now);
    return flow;
  }

  function approve(id) {
    const flow = get(id);
    const now = Date.now();
    settle(flow, now);
    if (flow.steps[flow.step].status === APPROVAL_STATUS) {
      if (flow.step < flow.steps.length - 1) enterStep(flow, flow.step + 1, now);
      flow.approved = true;
      say(`approved: ${flow.provider} ${id}`);
      return flow;
    }
    if (flow.approved) return flow; // approving twice is harmless
    throw new SimError(409, 'flow is not awaiting approval');
  }

  /** Moves a flow to its outcome now (`POST /_sim/flows/{id}/complete`). */
  function complete(id) {
    const flow = get(id);
    const now = Date.now();
    finishNow(flow, now);
    if (flow.completeAt == null || flow.completeAt > now) flow.completeAt = now;
    schedule(flow);
    return flow;
  }

  function clearTimers() {
    for (const t of timers) clearTimeout(t);
    timers.clear();
    for (const flow of flows.values()) flow.timer = null;
  }

  function clear() {
    clearTimers();
    flows.clear();
    gr4vyMethods.clear();
  }

  return {
    flows,
    create,
    get,
    advance,
    approve,
    complete,
    read,
    render,
    view,
    clear,
    /** The simulator is closing: no flow timer is left, none is set again. */
    stop() {
      stopped = true;
      clearTimers();
    },
    /** The Gr4vy tokens of a payment method (id -> flow), or undefined. */
    byPaymentMethod: (id) => gr4vyMethods.get(id),
  };
}

/**
 * Serves a status read of one flow by its path id (Truemed, Token.io): 200 with the current
 * step's body, or the provider's 404 when no flow of that provider has the id.
 */
export function serveFlowStatus(ctx, kit, now) {
  const flow = kit.store.flows.get(ctx.id);
  if (!flow || flow.provider !== ctx.provider) return kit.sendError(ctx, 404, ctx.impl.notFoundMessage);
  const body = kit.store.read(flow, now, kit.origin(ctx));
  send(ctx.res, 200, body);
  kit.say(`${ctx.method} ${ctx.rawPath} -> 200 (${flow.steps[flow.step].status})`);
}
