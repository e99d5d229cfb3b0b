// The token-status demo server: one port serving the demo page, the package's browser build,
// the built-in provider simulator, a credential-adding proxy that forwards ONLY the three
// status calls, and the webhook routes (verified with the package, pushed to the page).
// Plain Node (20+), no dependencies but the package it demonstrates (pkg/).
//
//   node www/server.mjs            # http://127.0.0.1:8080 (PORT and HOST change it)
//
//   import { startDemo } from './server.mjs';
//   const { url, close } = await startDemo({ port: 0, env: {} });
//
// By default every provider is simulated (no internet, no credentials). Setting a provider's
// credentials in the environment switches that provider to its real API:
//   TRUEMED_API_KEY [TRUEMED_ENVIRONMENT=sandbox|production]
//   GR4VY_INSTANCE_ID + GR4VY_BEARER_TOKEN [GR4VY_MERCHANT_ACCOUNT_ID] [GR4VY_ENVIRONMENT]
//   TOKENIO_BEARER_TOKEN or TOKENIO_BASIC_CREDENTIALS [TOKENIO_ENVIRONMENT]
//
// Webhooks: POST /webhooks/truemed and /webhooks/gr4vy verify each delivery with the package's
// TruemedClient / Gr4vyClient, answer 204 (400 with the error code when refused) and push what
// it says to the page, whose wait then ends at once (`client.notify`). The simulator's flows
// deliver there, signed with secrets generated per run; TRUEMED_WEBHOOK_SECRET and
// GR4VY_WEBHOOK_SECRETS (comma-separated) replace them, so the providers' own webhooks verify.
//
// The browser never holds a credential: the page's clients point `baseUrl` at /proxy/<provider>,
// and this server adds the credential. Credentials are never logged and never sent back (an
// upstream body that echoes one has it replaced by "[redacted]").

import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { realpathSync } from 'node:fs';
import { createSimulator } from './simulator/index.mjs';
import { exitOnSignals, isMain } from './simulator/serve.mjs';

// ---------------------------------------------------------------------------------------------
// Constants

const WWW_DIR = fileURLToPath(new URL('.', import.meta.url));
const PKG_DIR = fileURLToPath(new URL('../pkg/', import.meta.url));

/** The page's own files: URL path -> file in www/. Nothing else in www/ is served. */
const PAGE_FILES = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/app.js': 'app.js',
  '/style.css': 'style.css',
  '/favicon.svg': 'favicon.svg',
};

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ts': 'text/plain; charset=utf-8',
  '.cts': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '': 'text/plain; charset=utf-8',
};

/** The page runs wasm, talks only to its own origin, and is never framed. */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; " +
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** The simulator's own credentials (www/simulator/README.md). */
const SIM_CREDENTIALS = {
  truemed: { header: 'x-truemed-api-key', value: 'sim-truemed-key', secret: 'sim-truemed-key' },
  gr4vy: { header: 'authorization', value: 'bearer sim-gr4vy-token', secret: 'sim-gr4vy-token' },
  tokenio: { header: 'authorization', value: 'Basic c2ltOnRva2VuaW8=', secret: 'c2ltOnRva2VuaW8=' },
};

const PROVIDERS = ['truemed', 'gr4vy', 'tokenio'];

/** Headers of the upstream answer that reach the browser; nothing else does. */
const PASS_BACK_HEADERS = ['content-type', 'retry-after', 'retry-after-ms', 'token-external-error'];

const UPSTREAM_TIMEOUT_MS = 30_000;
/** The proxy buffers the upstream body (to redact it); beyond this it answers 502. */
const MAX_UPSTREAM_BODY = 16 * 1024 * 1024;
/** Raw body kept per timeline record. */
const RECORD_BODY_CHARS = 4096;
const LOOKUP_TTL_MS = 10 * 60 * 1000;
const MAX_LOOKUPS = 200;
const MAX_RECORDS_PER_LOOKUP = 500;
const MAX_SSE_CLIENTS = 100;
const SSE_PING_MS = 15_000;
const LOOKUP_KEY = /^[A-Za-z0-9_.:-]{1,100}$/;
/** The package refuses webhook bodies over 1 MiB: read one byte more, never the rest. */
const MAX_WEBHOOK_BODY = 1024 * 1024;
/** Ids (provider + id) whose lookups a webhook may reach; the oldest are forgotten. */
const MAX_SUBJECTS = 2000;
const WEBHOOK_PATHS = { truemed: '/webhooks/truemed', gr4vy: '/webhooks/gr4vy' };

const NOT_FOUND_PROXY = { error: 'not_found', message: 'This proxy only forwards status calls' };

// One path segment: RFC 3986 pchar, percent-escapes kept verbatim (never decoded and re-encoded).
const SEG = "((?:[A-Za-z0-9\\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})+)";
const ALLOWED = {
  truemed: new RegExp(`^/proxy/truemed(/api/v1/payment_tokens/provision_request/${SEG})$`),
  gr4vy: new RegExp(`^/proxy/gr4vy(/payment-methods/${SEG}/payment-service-tokens)$`),
  tokenio: new RegExp(`^/proxy/tokenio(/token-requests/${SEG}/result)$`),
};
/** The only query the Gr4vy list may carry. */
const GR4VY_QUERY = /^payment_service_id=(?:[A-Za-z0-9\-._~!$'()*+,;:@/?]|%[0-9A-Fa-f]{2})+$/;

// ---------------------------------------------------------------------------------------------
// Configuration from the environment

class ConfigError extends Error {}

function envValue(env, name) {
  const v = env[name];
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : null;
}

function environmentOf(env, name) {
  const v = envValue(env, name);
  if (v == null) return 'sandbox';
  const lower = v.toLowerCase();
  if (lower !== 'sandbox' && lower !== 'production') {
    throw new ConfigError(`${name} must be "sandbox" or "production" (got "${v}")`);
  }
  return lower;
}

/**
 * Per provider: { mode: 'simulated'|'live', environment, base (URL, live only), headers (the
 * credential headers to add), secrets (strings that must never reach the browser) }.
 */
export function resolveProviders(env = process.env) {
  const out = {};
  for (const p of PROVIDERS) {
    const c = SIM_CREDENTIALS[p];
    out[p] = { mode: 'simulated', environment: 'simulator', base: null, headers: { [c.header]: c.value }, secrets: [c.secret] };
  }

  const truemedKey = envValue(env, 'TRUEMED_API_KEY');
  if (truemedKey) {
    const environment = environmentOf(env, 'TRUEMED_ENVIRONMENT');
    out.truemed = {
      mode: 'live',
      environment,
      base: environment === 'production' ? 'https://api.truemed.com' : 'https://dev-api.truemed.com',
      headers: { 'x-truemed-api-key': truemedKey },
      secrets: [truemedKey],
    };
  }

  const gr4vyInstance = envValue(env, 'GR4VY_INSTANCE_ID');
  const gr4vyToken = envValue(env, 'GR4VY_BEARER_TOKEN');
  if (gr4vyInstance || gr4vyToken) {
    if (!gr4vyInstance || !gr4vyToken) {
      throw new ConfigError('Gr4vy needs both GR4VY_INSTANCE_ID and GR4VY_BEARER_TOKEN (or neither, to simulate it)');
    }
    if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i.test(gr4vyInstance)) {
      throw new ConfigError('GR4VY_INSTANCE_ID must be a plain instance name such as "acme"');
    }
    const environment = environmentOf(env, 'GR4VY_ENVIRONMENT');
    const headers = { authorization: `bearer ${gr4vyToken}` };
    const merchant = envValue(env, 'GR4VY_MERCHANT_ACCOUNT_ID');
    if (merchant) headers['x-gr4vy-merchant-account-id'] = merchant;
    out.gr4vy = {
      mode: 'live',
      environment,
      base:
        environment === 'production'
          ? `https://api.${gr4vyInstance.toLowerCase()}.gr4vy.app`
          : `https://api.sandbox.${gr4vyInstance.toLowerCase()}.gr4vy.app`,
      headers,
      secrets: [gr4vyToken],
    };
  }

  const tokenioBearer = envValue(env, 'TOKENIO_BEARER_TOKEN');
  const tokenioBasic = envValue(env, 'TOKENIO_BASIC_CREDENTIALS');
  if (tokenioBearer || tokenioBasic) {
    if (tokenioBearer && tokenioBasic) {
      throw new ConfigError('Set TOKENIO_BEARER_TOKEN or TOKENIO_BASIC_CREDENTIALS, not both');
    }
    const environment = environmentOf(env, 'TOKENIO_ENVIRONMENT');
    const secrets = [tokenioBearer ?? tokenioBasic];
    if (tokenioBasic) {
      // Providers may echo the decoded "user:password" too.
      const decoded = Buffer.from(tokenioBasic, 'base64').toString('utf8');
      if (/^[\x20-\x7e]{3,}:[\x20-\x7e]{3,}$/.test(decoded)) secrets.push(decoded);
    }
    out.tokenio = {
      mode: 'live',
      environment,
      base: environment === 'production' ? 'https://api.token.io' : 'https://api.sandbox.token.io',
      headers: { authorization: tokenioBearer ? `Bearer ${tokenioBearer}` : `Basic ${tokenioBasic}` },
      secrets,
    };
  }

  for (const p of PROVIDERS) {
    // JSON may escape "/" as "\/": redact that spelling as well.
    const extra = out[p].secrets.filter((s) => s.includes('/')).map((s) => s.replaceAll('/', '\\/'));
    out[p].secrets = [...new Set([...out[p].secrets, ...extra])].filter((s) => s.length > 0);
  }
  return out;
}

/**
 * The webhook secrets per provider: from the environment (TRUEMED_WEBHOOK_SECRET, one;
 * GR4VY_WEBHOOK_SECRETS, comma-separated) or generated for this run. `source` says which.
 */
export function resolveWebhookSecrets(env = process.env) {
  const generated = () => [randomBytes(24).toString('base64url')];
  const truemed = envValue(env, 'TRUEMED_WEBHOOK_SECRET');
  const gr4vyList = (envValue(env, 'GR4VY_WEBHOOK_SECRETS') ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
  return {
    truemed: truemed ? { source: 'environment', secrets: [truemed] } : { source: 'generated', secrets: generated() },
    gr4vy: gr4vyList.length ? { source: 'environment', secrets: gr4vyList } : { source: 'generated', secrets: generated() },
  };
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function noop() {}

function sendJson(res, status, body, headers = {}) {
  if (res.headersSent || res.destroyed) return;
  const buf = Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': buf.length,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(buf);
}

/** Replaces every occurrence of each secret in `buf` by "[redacted]" (byte-exact elsewhere). */
export function redactBuffer(buf, secrets) {
  let out = buf;
  for (const s of secrets) {
    const needle = Buffer.from(s);
    if (needle.length === 0 || out.indexOf(needle) < 0) continue;
    const parts = [];
    let from = 0;
    for (let at = out.indexOf(needle, from); at >= 0; at = out.indexOf(needle, from)) {
      parts.push(out.subarray(from, at), Buffer.from('[redacted]'));
      from = at + needle.length;
    }
    parts.push(out.subarray(from));
    out = Buffer.concat(parts);
  }
  return out;
}

function redactString(text, secrets) {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('[redacted]');
  return out;
}

function decodeId(raw) {
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}

/**
 * Matches an incoming proxy request against the allow-list. Returns { provider, path (provider
 * path plus query, escapes verbatim), id } or null.
 */
export function matchProxy(method, rawUrl) {
  if (method !== 'GET') return null;
  const q = rawUrl.indexOf('?');
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const rawQuery = q < 0 ? '' : rawUrl.slice(q + 1);
  if (rawUrl.includes('#')) return null;
  for (const provider of PROVIDERS) {
    const m = ALLOWED[provider].exec(rawPath);
    if (!m) continue;
    const id = decodeId(m[2]);
    // "." and ".." collapse in URL parsers even when encoded; control characters are never ids.
    // An id that decodes to "/", "\\", "?", "#" or "%" is refused too: an upstream that decodes
    // before routing would otherwise let the browser reach other endpoints with our credential.
    if (id == null || id === '' || id === '.' || id === '..' || id.length > 1024 || /[\x00-\x1f\x7f/\\?#%]/.test(id)) {
      return null;
    }
    let upstreamPath = m[1];
    if (rawQuery !== '') {
      if (provider !== 'gr4vy' || !GR4VY_QUERY.test(rawQuery)) return null;
      upstreamPath += `?${rawQuery}`;
    }
    return { provider, path: upstreamPath, id };
  }
  return null;
}

/** What the timeline shows of a provider body: the status value, or the Gr4vy items. */
function summarize(provider, text) {
  const out = { providerStatus: null, items: null, errorCode: null };
  if (text.length > 1024 * 1024) return out;
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    return out;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return out;
  if (typeof body.status === 'string') out.providerStatus = body.status;
  if (provider === 'gr4vy' && Array.isArray(body.items)) {
    out.items = body.items.slice(0, 50).map((it) => ({
      id: it && typeof it.id === 'string' ? it.id : null,
      status: it && typeof it.status === 'string' ? it.status : null,
    }));
  }
  if (typeof body.code === 'string') out.errorCode = body.code;
  else if (body.error && typeof body.error === 'object' && typeof body.error.errorCode === 'string') {
    out.errorCode = body.error.errorCode;
  } else if (typeof body.error === 'string') out.errorCode = body.error;
  return out;
}

// ---------------------------------------------------------------------------------------------
// The poll timeline: records per lookup key, streamed to the page over Server-Sent Events

function createTimeline() {
  /** key -> { touchedAt, records[] }, least recently touched first. */
  const lookups = new Map();
  /** "provider id" -> Set of lookup keys that polled it (Gr4vy: the payment method id). */
  const subjects = new Map();
  /** Open SSE streams: { res, keys:Set, ping }. */
  const clients = new Set();
  let seq = 0;

  function sweep(now) {
    for (const [key, entry] of lookups) {
      if (now - entry.touchedAt <= LOOKUP_TTL_MS && lookups.size <= MAX_LOOKUPS) break;
      lookups.delete(key);
    }
  }

  function add(key, record) {
    const now = Date.now();
    let entry = lookups.get(key);
    if (entry) lookups.delete(key);
    else entry = { records: [] };
    entry.touchedAt = now;
    lookups.set(key, entry); // re-inserted: the map stays ordered by last touch
    const full = { seq: ++seq, lookup: key, ...record };
    entry.records.push(full);
    if (entry.records.length > MAX_RECORDS_PER_LOOKUP) entry.records.shift();
    sweep(now);
    for (const c of clients) if (c.keys.has(key)) write(c, full);
  }

  /** Remembers that lookup `key` polled `id` of `provider`, for the webhooks about it. */
  function link(provider, id, key) {
    const name = `${provider} ${id}`;
    let keys = subjects.get(name);
    if (keys) subjects.delete(name);
    else keys = new Set();
    keys.add(key);
    subjects.set(name, keys); // re-inserted: the oldest subjects go first
    if (subjects.size > MAX_SUBJECTS) subjects.delete(subjects.keys().next().value);
  }

  /** The lookup keys that polled `id` of `provider`. */
  const linked = (provider, id) => [...(subjects.get(`${provider} ${id}`) ?? [])];

  function write(client, record) {
    if (client.res.destroyed) return;
    client.res.write(`id: ${record.seq}\nevent: exchange\ndata: ${JSON.stringify(record)}\n\n`);
  }

  /** GET /api/exchanges?lookup=KEY[&lookup=KEY2...][&after=SEQ] */
  function serve(req, res, query) {
    const keys = new Set(query.getAll('lookup').filter((k) => LOOKUP_KEY.test(k)));
    if (keys.size === 0 || keys.size > 50) {
      return sendJson(res, 400, { error: 'bad_request', message: 'Pass one to 50 lookup=KEY parameters' });
    }
    if (clients.size >= MAX_SSE_CLIENTS) {
      return sendJson(res, 503, { error: 'busy', message: 'Too many open timeline streams' }, { 'retry-after': '5' });
    }
    const afterParam = query.get('after') ?? req.headers['last-event-id'];
    const after = Number.isSafeInteger(Number(afterParam)) ? Number(afterParam) : 0;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
    });
    res.write('retry: 1000\n\n');
    const client = { res, keys, ping: null };
    const replay = [];
    for (const k of keys) {
      const entry = lookups.get(k);
      if (entry) for (const r of entry.records) if (r.seq > after) replay.push(r);
    }
    replay.sort((a, b) => a.seq - b.seq);
    for (const r of replay) write(client, r);
    client.ping = setInterval(() => {
      if (!res.destroyed) res.write(': ping\n\n');
    }, SSE_PING_MS);
    client.ping.unref();
    clients.add(client);
    const done = () => {
      clearInterval(client.ping);
      clients.delete(client);
    };
    // (Not req 'close': that fires as soon as the request itself has been read.)
    res.on('close', done);
  }

  function close() {
    for (const c of clients) {
      clearInterval(c.ping);
      c.res.destroy();
    }
    clients.clear();
  }

  return { add, serve, close, link, linked, lookups };
}

// ---------------------------------------------------------------------------------------------
// The proxy

function createProxy({ providers, timeline, simTarget, log, httpsAgent }) {
  /** Forwards one allow-listed request. */
  function forward(req, res, match) {
    const { provider, path: providerPath } = match;
    const cfg = providers[provider];
    const lookupHeader = req.headers['x-demo-lookup'];
    const lookup = typeof lookupHeader === 'string' && LOOKUP_KEY.test(lookupHeader) ? lookupHeader : null;
    if (lookup) timeline.link(provider, match.id, lookup);

    let target;
    const headers = {
      accept: 'application/json',
      'user-agent': 'token-status-demo-proxy',
      ...cfg.headers,
    };
    if (cfg.mode === 'simulated') {
      const t = simTarget();
      target = { protocol: 'http:', hostname: t.hostname, port: t.port, path: `/${provider}${providerPath}` };
      // The simulator builds Gr4vy approval links from Host: keep the page's own origin.
      headers.host = req.headers.host || `${t.hostname}:${t.port}`;
    } else {
      const base = new URL(cfg.base);
      target = { protocol: base.protocol, hostname: base.hostname, port: base.port || 443, path: providerPath };
    }

    const started = Date.now();
    const startedIso = new Date(started).toISOString();
    let finished = false;

    const record = (httpStatus, bodyText, extra = {}) => {
      if (!lookup) return;
      const body = bodyText.length > RECORD_BODY_CHARS ? bodyText.slice(0, RECORD_BODY_CHARS) : bodyText;
      timeline.add(lookup, {
        kind: 'poll',
        time: startedIso,
        latencyMs: Date.now() - started,
        provider,
        method: 'GET',
        path: providerPath,
        httpStatus,
        ...summarize(provider, bodyText),
        body,
        truncated: bodyText.length > RECORD_BODY_CHARS,
        ...extra,
      });
    };

    const fail = (status, error, message) => {
      if (finished) return;
      finished = true;
      const body = { error, message };
      record(status, JSON.stringify(body), { proxyError: true });
      sendJson(res, status, body);
      log(`${provider} GET ${providerPath} -> ${status} ${error}`);
    };

    const lib = target.protocol === 'https:' ? https : http;
    let upstream;
    try {
      upstream = lib.request({
        protocol: target.protocol,
        hostname: target.hostname,
        port: target.port,
        path: target.path,
        method: 'GET',
        headers,
        agent: target.protocol === 'https:' ? httpsAgent : false,
      });
    } catch {
      return fail(502, 'bad_gateway', `The demo proxy could not build the request to ${provider}`);
    }
    const timer = setTimeout(() => {
      upstream.destroy();
      fail(504, 'gateway_timeout', `${provider} did not answer within ${UPSTREAM_TIMEOUT_MS / 1000} s`);
    }, UPSTREAM_TIMEOUT_MS);

    // The browser went away (a cancelled wait): stop the upstream call too.
    res.on('close', () => {
      if (!finished) {
        finished = true;
        clearTimeout(timer);
        upstream.destroy();
      }
    });

    upstream.on('error', (err) => {
      clearTimeout(timer);
      const reason = err && err.code ? err.code : 'connection failed';
      fail(502, 'bad_gateway', `The demo proxy could not reach ${provider} (${reason}); try again`);
    });

    upstream.on('response', (up) => {
      const chunks = [];
      let size = 0;
      up.on('data', (c) => {
        size += c.length;
        if (size > MAX_UPSTREAM_BODY) {
          clearTimeout(timer);
          up.destroy();
          upstream.destroy();
          fail(502, 'bad_gateway', `${provider} sent a response over ${MAX_UPSTREAM_BODY} bytes`);
          return;
        }
        chunks.push(c);
      });
      up.on('error', noop);
      up.on('aborted', noop);
      up.on('end', () => {
        clearTimeout(timer);
        if (finished) return;
        finished = true;
        const body = redactBuffer(Buffer.concat(chunks), cfg.secrets);
        const out = { 'content-length': body.length, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };
        for (const h of PASS_BACK_HEADERS) {
          const v = up.headers[h];
          if (typeof v === 'string') out[h] = redactString(v, cfg.secrets);
        }
        const text = body.toString('utf8');
        record(up.statusCode, text);
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(up.statusCode, out);
          res.end(body);
        }
        log(`${provider} GET ${providerPath} -> ${up.statusCode} (${Date.now() - started} ms)`);
      });
    });
    upstream.end();
  }

  function handle(req, res) {
    const method = (req.method || 'GET').toUpperCase();
    const match = matchProxy(method, req.url || '/');
    req.resume(); // never read or forward a request body
    if (!match) return sendJson(res, 404, NOT_FOUND_PROXY);
    forward(req, res, match);
  }

  return { handle };
}

// ---------------------------------------------------------------------------------------------
// Webhooks

/**
 * The webhook routes. `verifiers`: `{ truemed, gr4vy }` clients of the package holding the
 * secrets; `TokenStatusError` its error class. Each verified delivery is answered 204 and
 * recorded on the timeline of every lookup that polled its id.
 */
function createWebhookReceiver({ verifiers, TokenStatusError, timeline, log }) {
  /** The id whose lookups a verified event concerns (Gr4vy: the payment method's). */
  function subjectOf(provider, event) {
    if (provider === 'truemed') return event.status?.id ?? event.data?.provision_token_request_id ?? null;
    const target = event.data?.target;
    if (target?.type === 'payment-service-token') return target.payment_method_id ?? null;
    if (target?.type === 'payment-method') return target.id ?? null;
    return null;
  }

  function record(provider, event, bodyText, receivedIso) {
    const subject = subjectOf(provider, event);
    const keys = typeof subject === 'string' ? timeline.linked(provider, subject) : [];
    const target = event.data?.target;
    for (const key of keys) {
      timeline.add(key, {
        kind: 'webhook',
        time: receivedIso,
        provider,
        type: event.type,
        webhookId: event.id,
        status: event.status,
        target: provider === 'gr4vy' && target && typeof target === 'object'
          ? { type: target.type ?? null, id: target.id ?? null, status: target.status ?? null }
          : null,
        httpStatus: 204,
        body: bodyText.length > RECORD_BODY_CHARS ? bodyText.slice(0, RECORD_BODY_CHARS) : bodyText,
        truncated: bodyText.length > RECORD_BODY_CHARS,
      });
    }
    return keys.length;
  }

  function handle(req, res, provider) {
    const method = (req.method || 'GET').toUpperCase();
    if (method !== 'POST') {
      req.resume();
      return sendJson(res, 405, { error: 'method_not_allowed', message: 'Webhooks are POSTed' }, { allow: 'POST' });
    }
    const receivedIso = new Date().toISOString();
    const chunks = [];
    let size = 0;
    let done = false;
    const verify = async () => {
      if (done) return;
      done = true;
      const body = Buffer.concat(chunks);
      let event;
      try {
        event = await verifiers[provider].verifyWebhook({ headers: req.headers, body });
      } catch (err) {
        const refused = err instanceof TokenStatusError && err.kind === 'invalid_webhook';
        log(`webhook ${provider} -> ${refused ? `400 ${err.code}` : '500'}`);
        const headers = size > MAX_WEBHOOK_BODY ? { connection: 'close' } : {};
        if (refused) return sendJson(res, 400, { error: 'invalid_webhook', code: err.code, message: err.message }, headers);
        return sendJson(res, 500, { error: 'internal_error' }, headers);
      }
      res.writeHead(204, { 'cache-control': 'no-store' });
      res.end();
      const reached = record(provider, event, body.toString('utf8'), receivedIso);
      log(`webhook ${provider} ${event.type} -> 204 (${reached} lookup${reached === 1 ? '' : 's'})`);
    };
    req.on('data', (c) => {
      if (done) return;
      size += c.length;
      chunks.push(c);
      // Over the limit: the package refuses it (invalid_body) without the rest being read.
      if (size > MAX_WEBHOOK_BODY) {
        req.pause();
        verify();
      }
    });
    req.on('end', verify);
  }

  return { handle };
}

// ---------------------------------------------------------------------------------------------
// Static files

async function serveFile(req, res, file) {
  const method = (req.method || 'GET').toUpperCase();
  if (method !== 'GET' && method !== 'HEAD') {
    return sendJson(res, 405, { error: 'method_not_allowed', message: 'Use GET' }, { allow: 'GET, HEAD' });
  }
  let data;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new Error('not a file');
    data = await readFile(file);
  } catch {
    return sendJson(res, 404, { error: 'not_found', message: 'No such file' });
  }
  const type = CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream';
  const headers = { 'content-type': type, 'content-length': data.length, 'cache-control': 'no-cache' };
  if (type.startsWith('text/html')) Object.assign(headers, PAGE_HEADERS);
  else headers['x-content-type-options'] = 'nosniff';
  res.writeHead(200, headers);
  res.end(method === 'HEAD' ? undefined : data);
}

/** /pkg/<rest>: a file inside pkg/, never outside it (no "..", no dotfiles, no symlink escape). */
function pkgFile(rawPath) {
  let rel;
  try {
    rel = decodeURIComponent(rawPath.slice('/pkg/'.length));
  } catch {
    return null;
  }
  if (rel === '' || rel.includes('\0') || rel.includes('\\')) return null;
  const parts = rel.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..' || p.startsWith('.'))) return null;
  const file = path.resolve(PKG_DIR, ...parts);
  if (!file.startsWith(PKG_DIR)) return null;
  try {
    const real = realpathSync(file);
    const realRoot = realpathSync(PKG_DIR);
    if (real !== realRoot && !real.startsWith(realRoot + path.sep)) return null;
    return real;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// The server

/** The package's Node entry (pkg/ is generated: `node scripts/build-pkg.mjs`). */
async function loadPackage() {
  try {
    return await import(new URL('../pkg/index.mjs', import.meta.url).href);
  } catch (err) {
    throw new ConfigError(`the package is not built (pkg/index.mjs: ${err?.code ?? err?.message}); run node scripts/build-pkg.mjs or make demo`);
  }
}

/**
 * Starts the demo. Options: `port` (default 8080; 0 picks one), `host` (default 127.0.0.1),
 * `env` (default process.env: provider credentials, webhook secrets), `log` (function taking
 * one line; never given a credential or secret). Resolves `{ url, server, sim, config, close }`.
 */
export async function startDemo(options = {}) {
  const { port = 8080, host = '127.0.0.1', env = process.env, log: logOption } = options;
  const providers = resolveProviders(env);
  const webhookSecrets = resolveWebhookSecrets(env);
  const log = typeof logOption === 'function' ? logOption : noop;
  const { TruemedClient, Gr4vyClient, TokenStatusError } = await loadPackage();
  // These clients only verify webhooks: they never call a provider (hence the unused baseUrl).
  const verifiers = {
    truemed: new TruemedClient({ baseUrl: 'http://127.0.0.1/truemed', webhookSecret: webhookSecrets.truemed.secrets }),
    gr4vy: new Gr4vyClient({ baseUrl: 'http://127.0.0.1/gr4vy', webhookSecrets: webhookSecrets.gr4vy.secrets }),
  };
  /** Created once the server listens: its flows deliver webhooks to this server's own routes. */
  let sim = null;
  const timeline = createTimeline();
  let address = null;
  const simTarget = () => address;
  // Live providers: reuse TLS connections between polls.
  const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 16 });
  const proxy = createProxy({ providers, timeline, simTarget, log, httpsAgent });
  const webhooks = createWebhookReceiver({ verifiers, TokenStatusError, timeline, log });

  const config = {
    providers: Object.fromEntries(
      PROVIDERS.map((p) => [p, { mode: providers[p].mode, environment: providers[p].environment }]),
    ),
    webhooks: Object.fromEntries(
      Object.entries(WEBHOOK_PATHS).map(([p, route]) => [p, { path: route, secrets: webhookSecrets[p].source }]),
    ),
  };

  const server = http.createServer((req, res) => {
    req.on('error', noop);
    res.on('error', noop);
    const url = req.url || '/';
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    try {
      if (rawPath === '/proxy' || rawPath.startsWith('/proxy/')) return proxy.handle(req, res);
      if (rawPath === WEBHOOK_PATHS.truemed) return webhooks.handle(req, res, 'truemed');
      if (rawPath === WEBHOOK_PATHS.gr4vy) return webhooks.handle(req, res, 'gr4vy');
      if (sim?.handle(req, res)) return;
      req.resume();
      const method = (req.method || 'GET').toUpperCase();
      if (rawPath === '/api/config') {
        if (method !== 'GET') return sendJson(res, 405, { error: 'method_not_allowed' }, { allow: 'GET' });
        return sendJson(res, 200, config);
      }
      if (rawPath === '/api/exchanges') {
        if (method !== 'GET') return sendJson(res, 405, { error: 'method_not_allowed' }, { allow: 'GET' });
        return timeline.serve(req, res, new URLSearchParams(q < 0 ? '' : url.slice(q + 1)));
      }
      if (Object.hasOwn(PAGE_FILES, rawPath)) return void serveFile(req, res, path.join(WWW_DIR, PAGE_FILES[rawPath]));
      if (rawPath.startsWith('/pkg/')) {
        const file = pkgFile(rawPath);
        if (!file) return sendJson(res, 404, { error: 'not_found', message: 'No such file' });
        return void serveFile(req, res, file);
      }
      return sendJson(res, 404, { error: 'not_found', message: 'Nothing here' });
    } catch (err) {
      log(`internal error: ${err && err.message}`);
      if (!res.headersSent) sendJson(res, 500, { error: 'internal_error' });
      else res.destroy();
    }
  });
  server.keepAliveTimeout = 5000;
  server.on('connection', (socket) => socket.on('error', noop));
  server.on('clientError', (err, socket) => {
    if (socket.writable && typeof err?.code === 'string' && err.code.startsWith('HPE_')) {
      socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
    } else socket.destroy();
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host }, () => {
      server.off('error', reject);
      server.on('error', noop);
      resolve();
    });
  });
  const addr = server.address();
  const v6 = addr.family === 'IPv6' || addr.family === 6;
  // Forward to ourselves over loopback even when listening on every interface.
  const loopback = addr.address === '0.0.0.0' ? '127.0.0.1' : addr.address === '::' ? '::1' : addr.address;
  address = { hostname: loopback, port: addr.port };
  const shown = v6 ? `[${addr.address}]` : addr.address;
  const url = `http://${shown}:${addr.port}`;
  const self = `http://${loopback.includes(':') ? `[${loopback}]` : loopback}:${addr.port}`;
  sim = createSimulator({
    webhooks: {
      truemed: { url: self + WEBHOOK_PATHS.truemed, secret: webhookSecrets.truemed.secrets[0] },
      gr4vy: { url: self + WEBHOOK_PATHS.gr4vy, secrets: webhookSecrets.gr4vy.secrets },
    },
  });

  let closing = null;
  const close = () => {
    if (!closing) {
      closing = new Promise((done) => {
        timeline.close();
        sim.close();
        verifiers.truemed.free();
        verifiers.gr4vy.free();
        httpsAgent.destroy();
        server.close(() => done());
        server.closeAllConnections();
      });
    }
    return closing;
  };
  return { url, server, sim, config, close };
}

// ---------------------------------------------------------------------------------------------
// Command line

async function main() {
  const port = Number(process.env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`token-status demo: invalid PORT ${process.env.PORT}\n`);
    process.exit(2);
  }
  const host = process.env.HOST || '127.0.0.1';
  const whenStopped = exitOnSignals();
  let started;
  try {
    started = await startDemo({
      port,
      host,
      env: process.env,
      log: process.env.DEMO_VERBOSE ? (line) => process.stderr.write(`demo: ${line}\n`) : undefined,
    });
  } catch (err) {
    const msg = err instanceof ConfigError ? err.message : err && err.code === 'EADDRINUSE' ? `port ${port} is in use (set PORT)` : err?.message;
    process.stderr.write(`token-status demo: ${msg}\n`);
    process.exit(err instanceof ConfigError ? 2 : 1);
  }
  whenStopped(started.close);
  process.stdout.write(`token-status demo: ${started.url}\n`);
  for (const [p, c] of Object.entries(started.config.providers)) {
    process.stdout.write(`  ${p.padEnd(8)} ${c.mode === 'live' ? `live (${c.environment})` : 'simulated'}\n`);
  }
  for (const [p, w] of Object.entries(started.config.webhooks)) {
    const from = w.secrets === 'environment' ? `secret${p === 'gr4vy' ? 's' : ''} from the environment` : 'a secret made for this run (simulator)';
    process.stdout.write(`  webhooks ${p.padEnd(8)} POST ${started.url}${w.path} (${from})\n`);
  }
}

if (isMain(import.meta.url)) {
  main().catch((err) => {
    process.stderr.write(`token-status demo: ${err?.message}\n`);
    process.exit(1);
  });
}
