// Webhooks in the simulator: a flow's status changes become deliveries to its webhook
// destination, signed as the provider signs them (the provider files build and sign the
// events; this file sends them). A delivery is retried on a non-2xx answer (Truemed: anything
// but 204), a network error or no answer within `timeoutMs`, after each of `retryDelaysMs` in
// turn; deliveries to one destination go one at a time, in the order the events happened.
// Every delivery and its attempts are kept for `GET /_sim/webhooks`. A destination's secrets
// stay in it: never in a delivery record, a log line or an error message.

import http from 'node:http';
import https from 'node:https';
import { SimError, isNonNegNum, isObject, iso } from './common.mjs';

/** Test-sized backoff: the providers retry for up to 7 days; here six attempts over ~8 s. */
export const DEFAULT_RETRY_DELAYS_MS = [250, 500, 1000, 2000, 4000];
/** Per attempt: Gr4vy expects an answer within 5000 ms. */
export const DEFAULT_TIMEOUT_MS = 5000;
const MAX_RETRIES = 50;
const RECORD_CAP = 1000;
const COMMON_KEYS = ['url', 'retryDelaysMs', 'timeoutMs'];

/**
 * The webhooks of one simulator. `providers` maps a provider name to its file's export (which
 * has `webhookDestination`, `webhookEvents`, `signWebhook`, `webhookAccepted` when it sends
 * webhooks); `say` logs one line.
 */
export function createWebhooks({ providers, say }) {
  /** Public delivery records, oldest first (capped). */
  let records = [];
  let seq = 0;
  /** Destination -> { jobs: [{ rec, dest, body, cancelled }], busy }. */
  const queues = new Map();
  const timers = new Set();
  const inflight = new Set();
  let closed = false;

  /**
   * A destination spec (`{ url, retryDelaysMs?, timeoutMs?, ...provider fields }`) checked and
   * normalized; throws SimError(400) naming `where` (e.g. "webhook", "webhooks.truemed").
   */
  function destination(provider, spec, where) {
    const impl = providers[provider];
    if (!impl?.webhookDestination) {
      throw new SimError(400, `${where}: ${provider} sends no webhooks for token requests (Token.io's webhooks cover payments)`);
    }
    if (!isObject(spec)) throw new SimError(400, `${where} must be an object`);
    const allowed = [...COMMON_KEYS, ...impl.webhookKeys];
    for (const k of Object.keys(spec)) {
      if (!allowed.includes(k)) throw new SimError(400, `${where}.${k} is not an option (${allowed.join(', ')})`);
    }
    let url;
    try {
      url = typeof spec.url === 'string' ? new URL(spec.url) : null;
    } catch {
      url = null;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new SimError(400, `${where}.url must be an absolute http(s) URL`);
    }
    const retryDelaysMs = spec.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    if (!Array.isArray(retryDelaysMs) || retryDelaysMs.length > MAX_RETRIES || !retryDelaysMs.every(isNonNegNum)) {
      throw new SimError(400, `${where}.retryDelaysMs must be a list of at most ${MAX_RETRIES} numbers >= 0`);
    }
    const timeoutMs = spec.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!isNonNegNum(timeoutMs) || timeoutMs === 0) throw new SimError(400, `${where}.timeoutMs must be a number > 0`);
    return { provider, url: url.href, retryDelaysMs: [...retryDelaysMs], timeoutMs, ...impl.webhookDestination(spec, where) };
  }

  /** Queues the deliveries that `flow` reaching provider status `status` causes. */
  function emit(flow, status, origin) {
    const dest = flow.webhook;
    if (closed || !dest) return;
    const impl = providers[flow.provider];
    const now = Date.now();
    for (const event of impl.webhookEvents(flow, status, { dest, origin, now })) {
      const rec = {
        seq: ++seq,
        provider: flow.provider,
        flowId: flow.id,
        type: event.type,
        webhookId: event.webhookId,
        url: dest.url,
        method: dest.method,
        state: 'queued',
        createdAt: iso(now),
        deliveredAt: null,
        nextAttemptAt: null,
        body: JSON.stringify(event.body),
        attempts: [],
      };
      records.push(rec);
      if (records.length > RECORD_CAP) records.shift();
      let queue = queues.get(dest);
      if (!queue) queues.set(dest, (queue = { jobs: [], busy: false }));
      queue.jobs.push({ rec, dest, cancelled: false });
      say(`webhook queued: ${flow.provider} ${event.type} for ${flow.id}`);
      pump(queue);
    }
  }

  function pump(queue) {
    if (closed || queue.busy || queue.jobs.length === 0) return;
    queue.busy = true;
    attempt(queue, queue.jobs[0]);
  }

  function next(queue) {
    queue.jobs.shift();
    queue.busy = false;
    pump(queue);
  }

  function later(ms, fn) {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  }

  /** One POST of a delivery; on failure, the next attempt after its delay, or give up. */
  function attempt(queue, job) {
    const { rec, dest } = job;
    const impl = providers[rec.provider];
    const n = rec.attempts.length + 1;
    const started = Date.now();
    rec.state = 'sending';
    rec.nextAttemptAt = null;
    const headers = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(rec.body),
      'user-agent': 'token-status-simulator',
      ...impl.signWebhook(dest, rec, Math.floor(started / 1000)),
    };
    let done = false;
    let req;
    const finish = (status, error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      inflight.delete(req);
      rec.attempts.push({ n, at: iso(started), status, error, ms: Date.now() - started });
      say(`webhook ${rec.provider} ${rec.type} for ${rec.flowId}: attempt ${n} -> ${status ?? error}`);
      if (closed || job.cancelled) return;
      if (status != null && impl.webhookAccepted(status)) {
        rec.state = 'delivered';
        rec.deliveredAt = iso(Date.now());
        next(queue);
      } else if (n <= dest.retryDelaysMs.length) {
        const delay = dest.retryDelaysMs[n - 1];
        rec.state = 'retrying';
        rec.nextAttemptAt = iso(Date.now() + delay);
        later(delay, () => attempt(queue, job));
      } else {
        rec.state = 'failed';
        next(queue);
      }
    };
    const timer = setTimeout(() => {
      req.destroy();
      finish(null, 'timeout');
    }, dest.timeoutMs);
    const lib = dest.url.startsWith('https:') ? https : http;
    try {
      req = lib.request(dest.url, { method: 'POST', headers, agent: false });
    } catch {
      finish(null, 'request failed');
      return;
    }
    inflight.add(req);
    req.on('response', (res) => {
      res.on('error', () => finish(res.statusCode, null));
      res.on('end', () => finish(res.statusCode, null));
      res.resume();
    });
    req.on('error', (err) => finish(null, typeof err?.code === 'string' ? err.code : 'connection failed'));
    req.end(rec.body);
  }

  /** Delivery records (copies), oldest first; `filter`: `{ flow?, provider?, state? }`. */
  function list(filter = {}) {
    return records
      .filter(
        (r) =>
          (filter.flow == null || r.flowId === filter.flow) &&
          (filter.provider == null || r.provider === filter.provider) &&
          (filter.state == null || r.state === filter.state),
      )
      .map((r) => ({ ...r, attempts: r.attempts.map((a) => ({ ...a })) }));
  }

  /** Cancels every pending delivery and stops the ones in flight. */
  function cancelAll() {
    for (const t of timers) clearTimeout(t);
    timers.clear();
    for (const req of inflight) req.destroy();
    inflight.clear();
    for (const queue of queues.values()) {
      for (const job of queue.jobs) {
        job.cancelled = true;
        if (job.rec.state !== 'delivered' && job.rec.state !== 'failed') job.rec.state = 'cancelled';
        job.rec.nextAttemptAt = null;
      }
    }
    queues.clear();
  }

  return {
    destination,
    emit,
    list,
    /** `/_sim/reset`: cancels pending deliveries and forgets every record. */
    clear() {
      cancelAll();
      records = [];
      seq = 0;
    },
    /** The simulator is closing: nothing more is sent, no timer is left. */
    close() {
      closed = true;
      cancelAll();
    },
  };
}
