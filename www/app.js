// The token-status demo page. No framework: the package's browser build, the DOM, and the
// demo server's three routes (/api/config, /api/exchanges, /proxy/<provider>).
//
// The clients below hold NO credential. Their baseUrl is this server's proxy route, which
// forwards only the status calls and adds the provider credential on the way out. Webhooks
// land on the server, which verifies them and streams what they say here beside the polls;
// `client.notify(status)` then ends the wait at once, before its next poll.
import { TruemedClient, Gr4vyClient, TokenIoClient, TokenStatusError } from '/pkg/index.js';

// ---------------------------------------------------------------------------------------------
// What the page knows about each provider

const PROVIDERS = {
  truemed: {
    label: 'Truemed',
    outcomes: [
      {
        value: 'succeeded',
        label: 'Token provisioned',
        hint: 'payment_token is set after 2.5 s; its signed webhook usually ends the wait before the next poll.',
      },
      { value: 'pending', label: 'Stays pending', hint: 'payment_token stays null: the wait runs until you cancel it.' },
    ],
  },
  gr4vy: {
    label: 'Gr4vy',
    outcomes: [
      { value: 'succeeded', label: 'Succeeded', hint: 'processing → succeeded after 2.5 s, told by a webhook too.' },
      {
        value: 'action_required',
        label: 'Needs buyer approval',
        hint: 'processing → buyer_approval_required. Follow the approval link on the card: the webhook ends the wait.',
      },
      { value: 'failed', label: 'Failed', hint: 'processing → failed after 2.5 s, told by a webhook too.' },
      { value: 'pending', label: 'Stays processing', hint: 'processing until you cancel the wait.' },
    ],
  },
  tokenio: {
    label: 'Token.io',
    outcomes: [
      { value: 'succeeded', label: 'Processed', hint: 'PENDING → PROCESSED after 2.5 s (Token.io has no webhook: polls find it).' },
      { value: 'rejected', label: 'Rejected', hint: 'PENDING → REJECTED after 2.5 s, with the reason from the bank.' },
      { value: 'expired', label: 'Expired', hint: 'PENDING → EXPIRED after 2.5 s: the user never finished.' },
      { value: 'pending', label: 'Stays pending', hint: 'PENDING until you cancel the wait.' },
    ],
  },
};

/** Wait settings: quick first polls, polite later ones, two minutes at most. */
const WAIT = { intervalMs: 700, maxIntervalMs: 3000, deadlineMs: 120_000 };
/**
 * Simulated flows finish by time, as real ones do (nobody's poll moves them): the webhook then
 * usually reaches the page between two polls.
 */
const FLOW = { completeAfterMs: 2500 };

const STATE_TEXT = {
  starting: 'waiting',
  pending: 'pending',
  action_required: 'action required',
  succeeded: 'succeeded',
  failed: 'failed',
  expired: 'expired',
  unknown: 'unknown',
  error: 'error',
  cancelled: 'cancelled',
};

const ERROR_TITLES = {
  invalid_argument: 'That id cannot be looked up',
  unauthorized: 'The provider refused the credential',
  not_found: 'Not found',
  rate_limited: 'Rate limited',
  bad_request: 'The provider refused the request',
  provider_error: 'The provider had a problem',
  network: 'Could not reach the server',
  timeout: 'Stopped waiting',
  invalid_response: 'Unexpected answer',
  insecure_credentials: 'Credential in the browser',
};

// ---------------------------------------------------------------------------------------------
// Small helpers

const $ = (sel, root = document) => root.querySelector(sel);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v == null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c != null) node.append(c);
  return node;
}

function randomKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  return `lk-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** The poll row before `row` (webhook rows between them skipped), or null. */
function previousPoll(row) {
  let prev = row.previousElementSibling;
  while (prev && prev.dataset.kind === 'webhook') prev = prev.previousElementSibling;
  return prev;
}

/** A poll that follows a failed one (5xx, 429, no answer) is a retry: say so. */
function markRetry(row) {
  if (row.dataset.kind === 'webhook') return;
  const summary = row.querySelector('.poll__summary');
  const wanted = previousPoll(row)?.dataset.failed === 'true';
  const marker = summary.querySelector('.poll__retry');
  if (wanted && !marker) summary.append(el('span', { class: 'poll__retry', text: 'retry' }));
  else if (!wanted && marker) marker.remove();
}

/** Text split after each "_" with <wbr>, so buyer_approval_required wraps between words. */
function breakable(text) {
  const parts = String(text).split('_');
  return parts.flatMap((p, i) => (i < parts.length - 1 ? [`${p}_`, document.createElement('wbr')] : [p]));
}

function formatElapsed(ms) {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  return `${m} min ${String(s).padStart(2, '0')} s`;
}

function formatClock(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function prettyBody(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

// ---------------------------------------------------------------------------------------------
// The poll timeline stream: ONE EventSource for every lookup that is running (browsers allow
// only six connections per origin; one stream per card would starve the polls).

const exchanges = {
  handlers: new Map(),
  source: null,
  reopenTimer: 0,
  watch(key, handler) {
    this.handlers.set(key, handler);
    this.reopenSoon();
  },
  unwatch(key) {
    if (this.handlers.delete(key)) this.reopenSoon();
  },
  reopenSoon() {
    clearTimeout(this.reopenTimer);
    this.reopenTimer = setTimeout(() => this.reopen(), 30);
  },
  reopen() {
    if (this.source) this.source.close();
    this.source = null;
    if (this.handlers.size === 0) return;
    const query = new URLSearchParams();
    for (const key of this.handlers.keys()) query.append('lookup', key);
    // Every (re)open replays the records so far; cards ignore the ones they already have.
    const source = new EventSource(`/api/exchanges?${query}`);
    source.addEventListener('exchange', (event) => {
      let record;
      try {
        record = JSON.parse(event.data);
      } catch {
        return;
      }
      this.handlers.get(record.lookup)?.(record);
    });
    this.source = source;
  },
};

// ---------------------------------------------------------------------------------------------
// Provider modes (simulated or live), from the server

let config = null;

async function loadConfig() {
  try {
    const res = await fetch('/api/config', { headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    config = await res.json();
  } catch {
    config = null;
  }
  for (const badge of document.querySelectorAll('.mode-badge')) {
    const p = badge.dataset.provider;
    const info = config?.providers?.[p];
    const mode = $('.mode-badge__mode', badge);
    if (!info) {
      badge.dataset.mode = 'unknown';
      mode.textContent = 'unavailable';
    } else if (info.mode === 'live') {
      badge.dataset.mode = 'live';
      mode.textContent = info.environment ? `live · ${info.environment}` : 'live';
    } else {
      badge.dataset.mode = 'simulated';
      mode.textContent = 'simulated';
    }
  }
}

const isSimulated = (provider) => config?.providers?.[provider]?.mode !== 'live';

// ---------------------------------------------------------------------------------------------
// The form

const form = $('#lookup-form');
const outcomeSelect = $('#outcome');
const submitButton = $('#submit');
const formError = $('#form-error');

const currentProvider = () => form.elements.provider.value;
const currentMode = () => form.elements.mode.value;

function syncForm() {
  const provider = currentProvider();
  const simulated = isSimulated(provider);
  const simulateRadio = $('#mode-simulate');
  simulateRadio.disabled = !simulated;
  $('#mode-simulate-option').classList.toggle('is-disabled', !simulated);
  $('#simulate-hint').textContent = simulated
    ? 'A provisioning request that moves through its real states'
    : `${PROVIDERS[provider].label} is live: the simulator is not used for it`;
  if (!simulated && simulateRadio.checked) $('#mode-lookup').checked = true;

  const mode = currentMode();
  $('#simulate-fields').hidden = mode !== 'simulate';
  $('#lookup-fields').hidden = mode !== 'lookup';
  for (const field of document.querySelectorAll('#lookup-fields .field')) {
    field.hidden = field.dataset.for !== provider;
  }

  if (outcomeSelect.dataset.provider !== provider) {
    outcomeSelect.replaceChildren(
      ...PROVIDERS[provider].outcomes.map((o) => el('option', { value: o.value, text: o.label })),
    );
    outcomeSelect.dataset.provider = provider;
  }
  const chosen = PROVIDERS[provider].outcomes.find((o) => o.value === outcomeSelect.value);
  $('#outcome-hint').textContent = chosen ? chosen.hint : '';
  submitButton.textContent = mode === 'simulate' ? 'Start flow' : 'Check status';
  showFormError(null);
}

function showFormError(message, field) {
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
  formError.hidden = !message;
  formError.textContent = message ?? '';
  if (field) {
    field.setAttribute('aria-invalid', 'true');
    field.focus();
  }
}

/** Reads the lookup fields; returns the ids, or null after showing what is missing. */
function readIds(provider) {
  const need = (id, what) => {
    const input = $(`#${id}`);
    const value = input.value.trim();
    if (!value) {
      showFormError(`Enter the ${what}.`, input);
      return null;
    }
    return value;
  };
  if (provider === 'truemed') {
    const id = need('truemed-id', 'provision token request id');
    return id && { id };
  }
  if (provider === 'gr4vy') {
    const paymentMethodId = need('gr4vy-pm-id', 'payment method id');
    if (!paymentMethodId) return null;
    const id = need('gr4vy-token-id', 'payment service token id');
    return id && { id, paymentMethodId };
  }
  const id = need('tokenio-id', 'token request id');
  return id && { id };
}

async function startFlow(provider, outcome) {
  const res = await fetch('/_sim/flows', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ provider, outcome, ...FLOW }),
  });
  const body = await res.json().catch(() => null);
  if (!res.ok || !body || typeof body.id !== 'string') {
    throw new Error(body?.error ?? `The simulator answered HTTP ${res.status}`);
  }
  return body;
}

form.addEventListener('change', syncForm);
form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const provider = currentProvider();
  const mode = currentMode();
  showFormError(null);
  if (mode === 'lookup') {
    const ids = readIds(provider);
    if (!ids) return;
    startLookup({ provider, ...ids, simulated: false });
    return;
  }
  const outcome = outcomeSelect.value;
  submitButton.disabled = true;
  try {
    const flow = await startFlow(provider, outcome);
    const label = PROVIDERS[provider].outcomes.find((o) => o.value === outcome)?.label ?? outcome;
    startLookup({ provider, id: flow.id, paymentMethodId: flow.paymentMethodId, simulated: label });
  } catch (err) {
    showFormError(`Could not start a simulated flow: ${err.message}`);
  } finally {
    submitButton.disabled = false;
  }
});

// ---------------------------------------------------------------------------------------------
// Lookups: one card each, newest first

const cards = $('#cards');
const template = $('#card-template');
const running = new Set();
let tick = 0;

function updateCount() {
  const total = cards.children.length;
  $('#empty').hidden = total > 0;
  const active = running.size;
  $('#lookups-count').textContent = total
    ? `${active} running · ${total - active} finished`
    : '';
}

function ensureTicking() {
  if (tick || running.size === 0) return;
  tick = setInterval(() => {
    for (const card of running) card.renderElapsed();
    if (running.size === 0) {
      clearInterval(tick);
      tick = 0;
    }
  }, 100);
}

function makeClient(provider, lookupKey) {
  const options = {
    baseUrl: `${location.origin}/proxy/${provider}`,
    retry: { maxRetries: 3 },
    headers: { 'x-demo-lookup': lookupKey },
  };
  if (provider === 'truemed') return new TruemedClient(options);
  if (provider === 'gr4vy') return new Gr4vyClient(options);
  return new TokenIoClient(options);
}

class LookupCard {
  constructor(spec) {
    this.spec = spec;
    this.key = randomKey();
    this.controller = new AbortController();
    this.started = performance.now();
    this.ended = null;
    this.seen = new Set();
    this.client = null;
    /** The webhook whose status ended the wait (its record), if one did. */
    this.endedByWebhook = null;

    const node = template.content.firstElementChild.cloneNode(true);
    this.node = node;
    node.dataset.provider = spec.provider;
    node.dataset.lookup = this.key;
    $('.card__provider', node).textContent = PROVIDERS[spec.provider].label;
    const idEl = $('.card__id', node);
    idEl.textContent = spec.id;
    idEl.title = spec.id;
    $('.card__sub', node).textContent = spec.simulated ? `simulated flow · ${spec.simulated}` : 'existing id';
    node.setAttribute('aria-label', `${PROVIDERS[spec.provider].label} ${spec.id}`);

    this.cancelButton = $('.card__cancel', node);
    this.cancelButton.setAttribute('aria-label', `Cancel the ${PROVIDERS[spec.provider].label} lookup`);
    this.cancelButton.addEventListener('click', () => this.controller.abort());
    const remove = $('.card__remove', node);
    remove.setAttribute('aria-label', `Remove the ${PROVIDERS[spec.provider].label} card`);
    remove.addEventListener('click', () => {
      const next = node.nextElementSibling ?? node.previousElementSibling;
      node.remove();
      updateCount();
      (next ? $('.card__remove:not([hidden]), .card__cancel:not([hidden])', next) : submitButton)?.focus();
    });
    this.setState('starting');
    if (spec.provider === 'gr4vy') this.setFact('payment-method', spec.paymentMethodId);
  }

  setState(state) {
    this.node.dataset.state = state;
    $('.state__text', this.node).textContent = STATE_TEXT[state] ?? state;
  }

  setFact(name, value) {
    const wrap = $(`[data-fact="${name}"]`, this.node);
    wrap.hidden = value == null || value === '';
    $(`.fact--${name}`, this.node).textContent = value ?? '';
  }

  renderElapsed() {
    const end = this.ended ?? performance.now();
    $('.fact--elapsed', this.node).textContent = formatElapsed(end - this.started);
  }

  /** A status from the wait's onUpdate, or its final answer. */
  update(status) {
    this.status = status;
    this.setState(status.state);
    $('.fact--provider-status', this.node).textContent =
      status.providerStatus ?? (status.provider === 'truemed' ? (status.token ? 'payment_token set' : 'payment_token null') : '—');
    this.setFact('token', status.token);
    this.setFact('reason', status.reason);
    this.setFact('metadata', status.metadata);
    const action = $('.action', this.node);
    if (status.state === 'action_required' && status.actionUrl) {
      const link = $('a', action);
      link.href = status.actionUrl;
      action.hidden = false;
    } else {
      action.hidden = true;
    }
  }

  /** One record of the server's timeline stream: a proxied poll, or a verified webhook. */
  addRecord(record) {
    if (this.seen.has(record.seq)) return;
    this.seen.add(record.seq);
    if (record.kind === 'webhook') this.addWebhook(record);
    else this.addExchange(record);
  }

  /** Puts a timeline row in seq order (records may arrive out of order after a stream reopen). */
  insertRow(row, seq) {
    const list = $('.timeline__list', this.node);
    $('.timeline__empty', this.node).hidden = true;
    const next = Array.from(list.children).find((r) => Number(r.dataset.seq) > seq) ?? null;
    list.insertBefore(row, next);
    markRetry(row);
    if (next) markRetry(next);
    const polls = list.querySelectorAll('.poll:not([data-kind="webhook"])').length;
    const hooks = list.children.length - polls;
    $('.timeline__count', this.node).textContent = hooks ? `(${polls} polls, ${hooks} webhook${hooks === 1 ? '' : 's'})` : `(${polls})`;
    list.scrollTop = list.scrollHeight;
  }

  /**
   * A webhook the server verified: a row in the timeline, and its status handed to the wait
   * (`notify`), which resolves at once when it is terminal.
   */
  addWebhook(record) {
    let reached = 0;
    if (record.status && this.client && running.has(this)) {
      reached = this.client.notify(record.status);
      if (reached > 0 && record.status.terminal) this.endedByWebhook = record;
    }
    const value = this.webhookValue(record);
    const note = this.endedByWebhook === record ? 'ended the wait' : reached > 0 ? 'reached the wait' : null;
    const summary = el(
      'summary',
      { class: 'poll__summary' },
      el('span', { class: 'poll__time mono', title: formatClock(record.time), text: formatClock(record.time).slice(0, 8) }),
      el('span', { class: 'poll__latency poll__kind', text: 'webhook' }),
      el('span', { class: 'poll__http http--2xx' }, el('span', { class: 'visually-hidden', text: 'answered HTTP ' }), String(record.httpStatus)),
      el(
        'span',
        { class: 'poll__cell' },
        el('span', { class: 'poll__status mono' }, ...breakable(value)),
        note ? el('span', { class: 'poll__tag', text: note }) : null,
      ),
    );
    const body = el(
      'div',
      { class: 'poll__body' },
      el('p', { class: 'poll__request mono', text: `${formatClock(record.time)} · POST /webhooks/${record.provider} · ${record.type}${record.webhookId ? ` · ${record.webhookId}` : ''}` }),
      el('pre', { class: 'poll__raw', tabindex: '0', 'aria-label': 'Verified webhook payload' }, prettyBody(record.body ?? '')),
      record.truncated ? el('p', { class: 'poll__note', text: 'Cut to the first 4 KB.' }) : null,
    );
    const row = el('li', { class: 'poll poll--webhook', 'data-seq': record.seq, 'data-kind': 'webhook' }, el('details', {}, summary, body));
    if (note === 'ended the wait') row.dataset.ended = 'true';
    this.insertRow(row, record.seq);
  }

  /** What a webhook says, for the timeline's status column. */
  webhookValue(record) {
    const s = record.status;
    if (s && s.provider === 'truemed') return s.token ? 'token: set' : 'token: null';
    if (s) return s.id === this.spec.id ? s.providerStatus ?? s.state : `another token: ${s.providerStatus ?? s.state}`;
    if (record.target?.type === 'payment-method') return `payment method: ${record.target.status ?? '—'}`;
    return record.type;
  }

  /** One proxied exchange from the server's timeline stream. */
  addExchange(record) {
    const http = record.httpStatus;
    const failed = Boolean(record.proxyError) || http == null || http === 429 || http >= 500;
    const summary = el(
      'summary',
      { class: 'poll__summary' },
      el('span', { class: 'poll__time mono', title: formatClock(record.time), text: formatClock(record.time).slice(0, 8) }),
      el('span', { class: 'poll__latency mono', text: `${record.latencyMs} ms` }),
      el('span', {
        class: `poll__http http--${http >= 500 ? '5xx' : http >= 400 ? '4xx' : http >= 200 ? '2xx' : 'none'}`,
      }, http != null ? el('span', { class: 'visually-hidden', text: 'HTTP ' }) : null, http != null ? String(http) : 'none'),
      el('span', { class: 'poll__status mono' }, ...breakable(this.providerValue(record))),
    );
    const body = el(
      'div',
      { class: 'poll__body' },
      el('p', { class: 'poll__request mono', text: `${formatClock(record.time)} · ${record.method} ${record.path}` }),
      el('pre', { class: 'poll__raw', tabindex: '0', 'aria-label': 'Raw provider response' }, prettyBody(record.body ?? '')),
      record.truncated ? el('p', { class: 'poll__note', text: 'Cut to the first 4 KB.' }) : null,
    );
    const row = el('li', { class: 'poll', 'data-seq': record.seq, 'data-kind': 'poll' }, el('details', {}, summary, body));
    if (failed) row.dataset.failed = 'true';
    this.insertRow(row, record.seq);
  }

  /** The provider's own value in one exchange, for the timeline. */
  providerValue(record) {
    if (record.proxyError) return 'proxy: upstream unreachable';
    if (record.provider === 'gr4vy' && Array.isArray(record.items)) {
      const item = record.items.find((i) => i.id === this.spec.id);
      return item ? item.status ?? '—' : `not listed (${record.items.length} tokens)`;
    }
    if (record.providerStatus) return record.providerStatus;
    if (record.errorCode) return record.errorCode;
    if (record.provider === 'truemed' && record.httpStatus === 200) {
      try {
        const body = JSON.parse(record.body);
        return body.payment_token == null ? 'token: null' : 'token: set';
      } catch {
        return 'not JSON';
      }
    }
    return '—';
  }

  finish() {
    this.ended = performance.now();
    this.renderElapsed();
    $('.fact__elapsed-label', this.node).textContent = 'Took';
    running.delete(this);
    const hadFocus = document.activeElement === this.cancelButton;
    this.cancelButton.hidden = true;
    const remove = $('.card__remove', this.node);
    remove.hidden = false;
    if (hadFocus) remove.focus();
    updateCount();
    // Let the last exchange arrive, then stop streaming this lookup.
    setTimeout(() => exchanges.unwatch(this.key), 1500);
  }

  resolved(status) {
    // The wait resolved: the state badge is final (succeeded, failed or expired).
    this.update(status);
    this.node.dataset.final = 'true';
    const hook = this.endedByWebhook;
    this.node.dataset.endedBy = hook ? 'webhook' : 'poll';
    this.setFact('ended-by', hook ? `webhook · ${hook.type}` : 'poll');
    this.finish();
  }

  rejected(err) {
    const box = $('.outcome', this.node);
    if (err instanceof TokenStatusError && err.kind === 'aborted') {
      this.setState('cancelled');
      box.className = 'outcome outcome--cancelled';
      box.replaceChildren(
        el('p', { class: 'outcome__title', text: 'Cancelled' }),
        el('p', { class: 'outcome__message', text: 'You stopped waiting. The provider may still finish; look the id up again any time.' }),
      );
    } else {
      this.setState('error');
      const e = err instanceof TokenStatusError ? err : null;
      const facts = [
        ['Kind', e ? e.kind : 'unexpected'],
        ['HTTP status', e?.status ?? '—'],
        ['Provider code', e?.code ?? '—'],
        ['Trace id', e?.traceId ?? '—'],
        ['Retryable', e ? (e.retryable ? 'yes' : 'no') : '—'],
        ['Requests sent', e ? e.attempts : '—'],
      ];
      box.className = 'outcome outcome--error';
      box.setAttribute('role', 'alert');
      box.replaceChildren(
        el('p', { class: 'outcome__title', text: e ? ERROR_TITLES[e.kind] ?? 'Error' : 'Unexpected error' }),
        el('p', { class: 'outcome__message', text: err?.message ?? String(err) }),
        el(
          'dl',
          { class: 'error-facts' },
          ...facts.map(([k, v]) =>
            el('div', { class: 'error-fact', 'data-field': k.toLowerCase().replaceAll(' ', '-') }, el('dt', { text: k }), el('dd', { class: 'mono', text: String(v) })),
          ),
        ),
      );
    }
    box.hidden = false;
    $('.action', this.node).hidden = true;
    this.finish();
  }

  async run() {
    const { provider, id, paymentMethodId } = this.spec;
    running.add(this);
    ensureTicking();
    updateCount();
    exchanges.watch(this.key, (record) => this.addRecord(record));
    let client;
    try {
      client = makeClient(provider, this.key);
      this.client = client;
      const options = { ...WAIT, signal: this.controller.signal, onUpdate: (s) => this.update(s) };
      const status =
        provider === 'truemed'
          ? await client.waitForProvisionTokenRequest(id, options)
          : provider === 'gr4vy'
            ? await client.waitForPaymentServiceToken(paymentMethodId, id, options)
            : await client.waitForTokenRequestResult(id, options);
      this.resolved(status);
    } catch (err) {
      this.rejected(err);
    } finally {
      this.client = null;
      client?.free();
    }
  }
}

function startLookup(spec) {
  const card = new LookupCard(spec);
  cards.prepend(card.node);
  updateCount();
  card.run();
  return card;
}

// ---------------------------------------------------------------------------------------------

await loadConfig();
syncForm();
updateCount();
document.documentElement.dataset.ready = 'true';
