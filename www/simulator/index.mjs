// Provider simulator: Truemed, Gr4vy and Token.io token-status endpoints with their real wire
// formats and credentials (Gr4vy API-key JWTs included), the providers' signed webhooks, plus a
// control API (`/_sim/...`) to script flows, inject faults and read the request and delivery
// logs. Contract: README.md in this folder. Plain Node (20+), no dependencies.
//
//   import { createSimulator, startSimulator } from './index.mjs';
//   const { url, close } = await startSimulator({ port: 0 });
//
// This file routes a request to its provider (truemed.mjs, gr4vy.mjs, tokenio.mjs) or to the
// control API (control.mjs) and checks credentials and methods; flows.mjs holds the flows,
// faults.mjs the faults, webhooks.mjs the deliveries and jwt.mjs the Gr4vy key check. The
// command line is serve.mjs.

import http from 'node:http';
import { CORS, JSON_TYPE, PROVIDERS, decodeSegment, noop, send, sendPreflight } from './common.mjs';
import { control, createRequestLog } from './control.mjs';
import { applyFault, createFaults } from './faults.mjs';
import { createFlowStore } from './flows.mjs';
import { gr4vy } from './gr4vy.mjs';
import { createJwtVerifier } from './jwt.mjs';
import { tokenio } from './tokenio.mjs';
import { truemed } from './truemed.mjs';
import { createWebhooks } from './webhooks.mjs';

const IMPLS = { truemed, gr4vy, tokenio };
const MAX_BODY = 1024 * 1024; // request bodies beyond this are answered 413

/** The `webhooks` option (`{ truemed?, gr4vy? }`) as normalized destinations; throws TypeError. */
function webhookDefaults(webhooks, given) {
  const out = {};
  if (given == null) return out;
  if (typeof given !== 'object' || Array.isArray(given)) throw new TypeError('webhooks must be an object { truemed?, gr4vy? }');
  for (const [provider, spec] of Object.entries(given)) {
    if (spec == null) continue;
    if (provider !== 'truemed' && provider !== 'gr4vy') throw new TypeError(`webhooks.${provider}: only truemed and gr4vy send webhooks`);
    try {
      out[provider] = webhooks.destination(provider, spec, `webhooks.${provider}`);
    } catch (err) {
      throw new TypeError(err.message);
    }
  }
  return out;
}

/**
 * Creates a simulator. Options: `credentials` (default true: check provider credentials),
 * `gr4vyPublicKey` (PEM or KeyObject: Gr4vy routes also accept JWTs signed by its private key),
 * `webhooks` (`{ truemed?, gr4vy? }`: the webhook destination of every flow of that provider),
 * `origin` (for Gr4vy `approval_url`; default `http://${Host header}`), `log` (function taking
 * one human-readable line; credentials and secrets are never passed to it).
 */
export function createSimulator(options = {}) {
  const checkCredentials = options.credentials !== false;
  const fixedOrigin = typeof options.origin === 'string' ? options.origin.replace(/\/+$/, '') : null;
  let defaultOrigin = 'http://127.0.0.1';
  const auth = { gr4vyJwt: options.gr4vyPublicKey != null ? createJwtVerifier(options.gr4vyPublicKey) : null };
  const logLine = typeof options.log === 'function' ? options.log : null;
  const say = (line) => {
    if (!logLine) return;
    try {
      logLine(line);
    } catch {
      /* a broken logger must not break the simulator */
    }
  };

  const webhooks = createWebhooks({ providers: IMPLS, say });
  const store = createFlowStore({
    providers: IMPLS,
    say,
    webhooks: { defaults: webhookDefaults(webhooks, options.webhooks), destination: webhooks.destination },
    onStatus: (flow, status) => webhooks.emit(flow, status, fixedOrigin ?? flow.origin ?? defaultOrigin),
  });
  const faults = createFaults({ say });
  const log = createRequestLog();
  let seq = 0;
  /** Pending delay timers, cleared by close(). */
  const timers = new Set();
  let closed = false;
  const guardedSockets = new WeakSet();

  const origin = (ctx) => fixedOrigin ?? `http://${ctx.req.headers.host || 'localhost'}`;

  function sendError(ctx, status, message, headers) {
    send(ctx.res, status, ctx.impl.errorBody(status, message), { headers });
    say(`${ctx.method} ${ctx.rawPath} -> ${status}`);
  }

  /** What provider files and faults.mjs may use. */
  const kit = { store, say, origin, sendError, later, normal };

  function reset() {
    store.clear();
    webhooks.clear();
    faults.clear();
    log.clear();
    seq = 0;
    say('reset');
  }

  function close() {
    closed = true;
    for (const t of timers) clearTimeout(t);
    timers.clear();
    store.stop();
    webhooks.close();
  }

  /** Runs `fn` after `ms` unless the client went away or the simulator was closed. */
  function later(ctx, ms, fn) {
    if (closed) return;
    const t = setTimeout(() => {
      timers.delete(t);
      if (ctx.closed) return;
      run(ctx, fn);
    }, ms);
    timers.add(t);
  }

  function run(ctx, fn) {
    try {
      fn();
    } catch (err) {
      say(`internal error: ${err && err.message}`);
      if (!ctx.res.headersSent) send(ctx.res, 500, { error: 'internal simulator error' });
      else ctx.res.destroy();
    }
  }

  function guard(req, res) {
    req.on('error', noop);
    res.on('error', noop);
    const sock = req.socket;
    if (sock && !guardedSockets.has(sock)) {
      guardedSockets.add(sock);
      sock.on('error', noop);
    }
  }

  function readBody(ctx, done) {
    const { req } = ctx;
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      ctx.body = size === 0 ? null : Buffer.concat(chunks).toString('utf8');
      ctx.tooLarge = size > MAX_BODY;
      run(ctx, done);
    });
  }

  /** Entry point: serves `/truemed/`, `/gr4vy/`, `/tokenio/` and `/_sim/`; returns false otherwise. */
  function handle(req, res) {
    const url = req.url || '/';
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const rawQuery = q < 0 ? '' : url.slice(q + 1);
    let area = PROVIDERS.find((p) => rawPath.startsWith(`/${p}/`)) ?? null;
    if (!area && rawPath.startsWith('/_sim/')) area = '_sim';
    if (!area) return false;

    guard(req, res);
    const ctx = {
      req,
      res,
      area,
      provider: area === '_sim' ? null : area,
      impl: IMPLS[area] ?? null,
      method: (req.method || 'GET').toUpperCase(),
      rawPath,
      rawQuery,
      segments: rawPath.slice(area.length + 2).split('/'),
      body: null,
      tooLarge: false,
      closed: false,
    };
    res.on('close', () => {
      ctx.closed = true;
    });

    if (ctx.method === 'OPTIONS') {
      sendPreflight(req, res);
      return true;
    }

    readBody(ctx, () => (area === '_sim' ? control(ctx, { store, faults, log, webhooks, reset, origin }) : providerRequest(ctx)));
    return true;
  }

  function providerRequest(ctx) {
    const raw = ctx.impl.routeId(ctx.segments);
    ctx.id = (raw && decodeSegment(raw)) || null;
    const query = {};
    if (ctx.rawQuery) for (const [k, v] of new URLSearchParams(ctx.rawQuery)) query[k] = v;
    ctx.query = query;
    ctx.auth = checkCredentials ? ctx.impl.authenticate(ctx, auth) : null;
    const entry = {
      seq: ++seq,
      time: new Date().toISOString(),
      provider: ctx.provider,
      method: ctx.method,
      rawPath: ctx.rawPath,
      id: ctx.id,
      query,
      headers: { ...ctx.req.headers },
      body: ctx.body,
      auth: ctx.auth?.method ?? null,
      abandoned: false,
    };
    log.record(entry);
    // The client went away (aborted the request) before the whole answer was sent.
    ctx.res.on('close', () => {
      if (!ctx.res.writableFinished && !ctx.dropped) entry.abandoned = true;
    });

    const fault = faults.take(ctx);
    if (fault) applyFault(ctx, fault, kit);
    else normal(ctx);
  }

  /** The normal answer: 413, 404 (no route), 401 (credential), 405 (method), else the provider's. */
  function normal(ctx) {
    if (ctx.tooLarge) return sendError(ctx, 413, 'Request body too large');
    if (!ctx.id) return sendError(ctx, 404, ctx.impl.notFoundMessage);
    if (ctx.auth?.status) return sendError(ctx, ctx.auth.status, ctx.auth.message);
    const allowed = ctx.impl.methods;
    if (!allowed.includes(ctx.method)) {
      return sendError(ctx, 405, `Method ${ctx.method} not allowed`, { allow: allowed.join(', ') });
    }
    ctx.impl.serve(ctx, kit, Date.now());
  }

  return {
    handle,
    reset,
    close,
    flows: store.flows,
    createFlow: (spec) => store.view(store.create(spec)),
    getFlow: (id) => store.view(store.get(id)),
    advance: (id) => store.view(store.advance(id)),
    approve: (id) => store.view(store.approve(id)),
    complete: (id) => store.view(store.complete(id)),
    webhooks: (filter) => webhooks.list(filter),
    /** Where approval links in webhooks point when no request told (startSimulator sets its URL). */
    setDefaultOrigin(url) {
      defaultOrigin = String(url).replace(/\/+$/, '');
    },
    addFaults: faults.add,
    setFaultRates: faults.setRates,
    requests: log.list,
    clearRequests: log.clear,
  };
}

/**
 * Starts an HTTP server with the simulator. Resolves `{ url, server, sim, close }`;
 * `close()` resolves once the server is fully closed. Bad options reject with a TypeError.
 */
export function startSimulator(options = {}) {
  const { port = 8787, host = '127.0.0.1', ...simOptions } = options;
  let sim;
  try {
    sim = createSimulator(simOptions);
  } catch (err) {
    return Promise.reject(err); // bad options reject, as a failed listen does
  }
  const server = http.createServer((req, res) => {
    if (sim.handle(req, res)) return;
    req.on('error', noop);
    res.on('error', noop);
    if (req.method === 'OPTIONS') {
      sendPreflight(req, res);
      return;
    }
    send(res, 404, { error: 'not found' });
    req.resume();
  });
  server.keepAliveTimeout = 5000;
  server.headersTimeout = 10000;
  server.on('connection', (socket) => socket.on('error', noop));
  server.on('clientError', (err, socket) => {
    // Unparseable HTTP: answer a JSON 400 (with CORS) when we still can, else just hang up.
    if (socket.writable && typeof err?.code === 'string' && err.code.startsWith('HPE_')) {
      const body = JSON.stringify({ error: 'bad request' });
      const head = Object.entries({ ...CORS, 'content-type': JSON_TYPE, 'content-length': body.length })
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      socket.end(`HTTP/1.1 400 Bad Request\r\n${head}connection: close\r\n\r\n${body}`);
    } else {
      socket.destroy();
    }
  });

  return new Promise((resolve, reject) => {
    const onError = (err) => reject(err);
    server.once('error', onError);
    server.listen({ port, host, backlog: 4096 }, () => {
      server.off('error', onError);
      server.on('error', noop);
      const addr = server.address();
      const h = addr.family === 'IPv6' || addr.family === 6 ? `[${addr.address}]` : addr.address;
      const url = `http://${h}:${addr.port}`;
      sim.setDefaultOrigin(url);
      let closing = null;
      const close = () => {
        if (!closing) {
          closing = new Promise((done) => {
            sim.close();
            server.close(() => done());
            server.closeAllConnections();
          });
        }
        return closing;
      };
      resolve({ url, server, sim, close });
    });
  });
}
