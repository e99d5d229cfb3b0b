// The control API under `/_sim/`: create, drive and complete flows, approve Gr4vy tokens, queue
// faults, set random fault rates, read and clear the request log, list webhook deliveries,
// reset. Answers `{ "error": message }` with a 4xx on bad input. The request log (a ring buffer
// of provider requests) lives here too.

import { HTML_TYPE, SimError, decodeSegment, send } from './common.mjs';

const LOG_CAP = 10_000;

/** The request log: the last 10,000 provider requests, in order. */
export function createRequestLog() {
  let buf = new Array(LOG_CAP);
  let start = 0;
  let len = 0;

  function record(entry) {
    if (len < LOG_CAP) {
      buf[(start + len) % LOG_CAP] = entry;
      len++;
    } else {
      buf[start] = entry;
      start = (start + 1) % LOG_CAP;
    }
  }

  function list(filter = {}) {
    const out = [];
    for (let i = 0; i < len; i++) {
      const e = buf[(start + i) % LOG_CAP];
      if (filter.id != null && e.id !== filter.id) continue;
      if (filter.provider != null && e.provider !== filter.provider) continue;
      if (filter.method != null && e.method !== String(filter.method).toUpperCase()) continue;
      out.push(e);
    }
    return out;
  }

  function clear() {
    buf = new Array(LOG_CAP);
    start = 0;
    len = 0;
  }

  return { record, list, clear };
}

function parseJson(ctx, emptyAs) {
  if (ctx.tooLarge) throw new SimError(413, 'body too large');
  if (ctx.body == null || ctx.body.trim() === '') {
    if (emptyAs !== undefined) return emptyAs;
    throw new SimError(400, 'body must be a JSON object');
  }
  try {
    return JSON.parse(ctx.body);
  } catch (err) {
    throw new SimError(400, `invalid JSON: ${err.message}`);
  }
}

/** Serves a `/_sim/...` request. `sim`: `{ store, faults, log, webhooks, reset, origin }` of the simulator. */
export function control(ctx, sim) {
  try {
    routes(ctx, sim);
  } catch (err) {
    if (!(err instanceof SimError)) throw err;
    send(ctx.res, err.status, { error: err.message }, err.allow ? { headers: { allow: err.allow } } : undefined);
  }
}

function routes(ctx, { store, faults, log, webhooks, reset, origin }) {
  const { res, method } = ctx;
  const s = ctx.segments;
  const need = (...methods) => {
    if (!methods.includes(method)) {
      throw Object.assign(new SimError(405, 'method not allowed'), { allow: methods.join(', ') });
    }
  };
  const idAt = (i) => {
    const id = decodeSegment(s[i]);
    if (!id) throw new SimError(404, 'flow not found');
    return id;
  };

  if (s.length === 1 && s[0] === 'flows') {
    need('POST');
    return send(res, 201, store.view(store.create(parseJson(ctx), origin(ctx))));
  }
  if (s.length === 2 && s[0] === 'flows') {
    need('GET');
    return send(res, 200, store.view(store.get(idAt(1))));
  }
  if (s.length === 3 && s[0] === 'flows' && s[2] === 'advance') {
    need('POST');
    return send(res, 200, store.view(store.advance(idAt(1))));
  }
  if (s.length === 3 && s[0] === 'flows' && s[2] === 'complete') {
    need('POST');
    return send(res, 200, store.view(store.complete(idAt(1))));
  }
  if (s.length === 1 && s[0] === 'webhooks') {
    need('GET');
    const p = new URLSearchParams(ctx.rawQuery);
    return send(res, 200, webhooks.list({ flow: p.get('flow'), provider: p.get('provider'), state: p.get('state') }));
  }
  if (s.length === 2 && s[0] === 'approve') {
    need('GET', 'POST');
    if (method === 'GET') {
      let status = 200;
      let text = 'Payment approved — you can close this tab';
      try {
        store.approve(idAt(1));
      } catch (err) {
        if (!(err instanceof SimError)) throw err;
        status = err.status;
        text = err.status === 404 ? 'Unknown payment' : 'Nothing to approve';
      }
      const page =
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Simulator</title></head>' +
        `<body><h1>${text}</h1></body></html>`;
      return send(res, status, page, { contentType: HTML_TYPE });
    }
    return send(res, 200, store.view(store.approve(idAt(1))));
  }
  if (s.length === 1 && s[0] === 'reset') {
    need('POST');
    reset();
    return send(res, 204, null);
  }
  if (s.length === 1 && s[0] === 'faults') {
    need('GET', 'POST');
    if (method === 'GET') return send(res, 200, faults.list());
    return send(res, 201, { queued: faults.add(parseJson(ctx)) });
  }
  if (s.length === 1 && s[0] === 'fault-rates') {
    need('POST');
    return send(res, 200, faults.setRates(parseJson(ctx, {})));
  }
  if (s.length === 1 && s[0] === 'requests') {
    need('GET', 'DELETE');
    if (method === 'DELETE') {
      log.clear();
      return send(res, 204, null);
    }
    const p = new URLSearchParams(ctx.rawQuery);
    return send(res, 200, log.list({ id: p.get('id'), provider: p.get('provider'), method: p.get('method') }));
  }
  throw new SimError(404, 'not found');
}
