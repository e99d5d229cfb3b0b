// Provider simulator: Truemed, Gr4vy and Token.io token-status endpoints with their real wire
// formats, plus a control API (`/_sim/...`) to script flows, inject faults and read the request
// log. Contract: docs/SIMULATOR.md. Plain Node (20+), no dependencies.
//
//   node www/simulator.mjs [--port 8787] [--host 127.0.0.1] [--verbose]
//
//   import { createSimulator, startSimulator } from './simulator.mjs';
//   const { url, close } = await startSimulator({ port: 0 });

import http from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { pathToFileURL } from 'node:url';
import { realpathSync } from 'node:fs';

// ---------------------------------------------------------------------------------------------
// Constants

const PROVIDERS = ['truemed', 'gr4vy', 'tokenio'];
const OUTCOMES = ['succeeded', 'action_required', 'failed', 'rejected', 'expired', 'unknown', 'pending'];
const MALFORMED = ['html', 'truncated', 'wrong_types', 'empty', 'huge', 'huge_declared', 'huge_gzip', 'not_json'];
/** Malformed kinds drawn by `rateMalformed` (the 5 MiB ones are left to explicit faults). */
const RANDOM_MALFORMED = ['html', 'truncated', 'wrong_types', 'empty', 'not_json'];

const CREDENTIALS = {
  truemed: 'sim-truemed-key',
  gr4vy: 'sim-gr4vy-token',
  tokenioBearer: 'sim-tokenio-token',
  tokenioBasic: 'c2ltOnRva2VuaW8=', // base64("sim:tokenio")
};

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'retry-after, retry-after-ms, token-external-error, content-length',
};
const PREFLIGHT_ALLOW_HEADERS = 'authorization, content-type, x-truemed-api-key, x-gr4vy-merchant-account-id';

const JSON_TYPE = 'application/json';
const HTML_TYPE = 'text/html; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';

const LOG_CAP = 10_000;
const MAX_BODY = 1024 * 1024; // request bodies beyond this are answered 413
const HUGE_SIZE = 5 * 1024 * 1024;
const HUGE_CHUNK = 64 * 1024;

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

const PENDING_STATUS = { truemed: 'pending', gr4vy: 'processing', tokenio: 'PENDING' };
const APPROVAL_STATUS = 'buyer_approval_required';
const REASON_REJECTED = 'Consent rejected by the user';
const REASON_FAILED = 'Payment rejected by the bank';

/** Steps after the pending ones, per provider and outcome; null = pending forever. */
const OUTCOME_TAILS = {
  truemed: {
    succeeded: ['provisioned'],
    action_required: ['provisioned'],
    failed: null,
    rejected: null,
    expired: null,
    unknown: null,
    pending: null,
  },
  gr4vy: {
    succeeded: ['succeeded'],
    action_required: [APPROVAL_STATUS, 'succeeded'],
    failed: ['failed'],
    rejected: ['failed'],
    expired: ['failed'],
    unknown: ['paused'],
    pending: null,
  },
  tokenio: {
    succeeded: ['PROCESSED'],
    action_required: ['PROCESSED'],
    failed: ['REJECTED'],
    rejected: ['REJECTED'],
    expired: ['EXPIRED'],
    unknown: ['ON_HOLD'],
    pending: null,
  },
};

const GR4VY_CODES = {
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
const TOKENIO_CODES = {
  403: 'PermissionDenied',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'ALREADY_EXISTS',
  429: 'RESOURCE_EXHAUSTED',
  500: 'InternalServerError',
  501: 'UNIMPLEMENTED',
  502: 'UNAVAILABLE',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};
const TRUEMED_CODES = {
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

// ---------------------------------------------------------------------------------------------
// Small helpers

/** Unbiased random string from `alphabet` (rejection sampling on random bytes). */
function randomString(alphabet, n) {
  const limit = 256 - (256 % alphabet.length);
  let out = '';
  while (out.length < n) {
    for (const b of randomBytes(n * 2)) {
      if (b < limit) {
        out += alphabet[b % alphabet.length];
        if (out.length === n) break;
      }
    }
  }
  return out;
}

const traceId = () => randomBytes(16).toString('hex');

/** mulberry32: tiny deterministic PRNG, returns floats in [0, 1). */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const isPosInt = (v) => Number.isInteger(v) && v >= 1;
const isNonNegInt = (v) => Number.isInteger(v) && v >= 0;
const isNonNegNum = (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const iso = (ms) => new Date(ms).toISOString();

function decodeSegment(seg) {
  try {
    return decodeURIComponent(seg);
  } catch {
    return null;
  }
}

/** An error the control API turns into `{ "error": message }` with `status`. */
class SimError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

let hugeBuffer = null;
/** 5 MiB of valid JSON (`{"items":[{...},...]}` padded with whitespace), built once. */
function hugeBody() {
  if (hugeBuffer) return hugeBuffer;
  const prefix = '{"items":[';
  const suffix = ']}';
  const parts = [prefix];
  let len = prefix.length;
  for (let i = 0; ; i++) {
    const unit = `${i ? ',' : ''}{"type":"filler","index":${i},"pad":"${'x'.repeat(64)}"}`;
    if (len + unit.length + suffix.length > HUGE_SIZE) break;
    parts.push(unit);
    len += unit.length;
  }
  parts.push(' '.repeat(HUGE_SIZE - len - suffix.length), suffix);
  hugeBuffer = Buffer.from(parts.join(''));
  return hugeBuffer;
}

// ---------------------------------------------------------------------------------------------
// Provider error bodies

function providerErrorBody(provider, status, message) {
  const msg = message ?? `Simulated ${status} ${http.STATUS_CODES[status] ?? 'error'}`;
  switch (provider) {
    case 'gr4vy':
      if (status === 422) {
        return { detail: [{ loc: ['body'], msg, type: 'value_error' }] };
      }
      return {
        type: 'error',
        code: GR4VY_CODES[status] ?? (status >= 500 ? 'server_error' : 'bad_request'),
        status,
        message: msg,
        details: [],
      };
    case 'tokenio':
      if (status === 400 || status === 401) return { error: { message: msg, tokenTraceId: traceId() } };
      return {
        error: {
          errorCode: TOKENIO_CODES[status] ?? (status >= 500 ? 'UNKNOWN' : 'INVALID_ARGUMENT'),
          message: msg,
          tokenTraceId: traceId(),
        },
      };
    default:
      return { error: TRUEMED_CODES[status] ?? `http_${status}`, message: msg };
  }
}

const NOT_FOUND_MESSAGES = {
  truemed: 'Provision token request not found',
  gr4vy: 'The resource could not be found',
  tokenio: 'Token request not found',
};

// ---------------------------------------------------------------------------------------------
// Responses

/** Sends a complete response (JSON unless `contentType` says otherwise) with the CORS headers. */
function send(res, status, body, { headers, contentType } = {}) {
  if (res.headersSent || res.destroyed) return;
  let buf;
  if (body === undefined || body === null) buf = Buffer.alloc(0);
  else if (Buffer.isBuffer(body)) buf = body;
  else if (typeof body === 'string') buf = Buffer.from(body);
  else buf = Buffer.from(JSON.stringify(body));
  const h = { ...CORS };
  if (status === 204 || status === 304) {
    buf = Buffer.alloc(0);
  } else {
    h['content-type'] = contentType ?? JSON_TYPE;
    h['content-length'] = buf.length;
  }
  if (headers) Object.assign(h, headers);
  res.writeHead(status, h);
  res.end(buf);
}

/** Streams the 5 MiB body in chunks, honouring backpressure; stops when the client goes away. */
let hugeGzipBuffer = null;

/**
 * The 5 MiB body gzip-compressed (well under 4 MiB), sent with `content-encoding: gzip` and the
 * compressed `content-length`: a client that trusts Content-Length would decode all of it.
 */
function sendHugeGzip(ctx) {
  const { res } = ctx;
  if (res.headersSent || res.destroyed) return;
  hugeGzipBuffer ??= gzipSync(hugeBody());
  res.writeHead(200, {
    ...CORS,
    'content-type': JSON_TYPE,
    'content-encoding': 'gzip',
    'content-length': hugeGzipBuffer.length,
  });
  res.end(hugeGzipBuffer);
}

function streamHuge(ctx, declared) {
  const { res } = ctx;
  if (res.headersSent || res.destroyed) return;
  const buf = hugeBody();
  const headers = { ...CORS, 'content-type': JSON_TYPE };
  if (declared) headers['content-length'] = buf.length;
  res.writeHead(200, headers);
  let off = 0;
  const pump = () => {
    while (!ctx.closed && off < buf.length) {
      const end = Math.min(off + HUGE_CHUNK, buf.length);
      const chunk = buf.subarray(off, end);
      off = end;
      if (off >= buf.length) {
        res.end(chunk);
        return;
      }
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
  };
  pump();
}

// ---------------------------------------------------------------------------------------------
// The simulator

/**
 * Creates a simulator. Options: `credentials` (default true: check provider credentials),
 * `origin` (for Gr4vy `approval_url`; default `http://${Host header}`), `log` (function taking
 * one human-readable line; credentials are never passed to it).
 */
export function createSimulator(options = {}) {
  const checkCredentials = options.credentials !== false;
  const fixedOrigin = typeof options.origin === 'string' ? options.origin.replace(/\/+$/, '') : null;
  const logLine = typeof options.log === 'function' ? options.log : null;
  const say = (line) => {
    if (!logLine) return;
    try {
      logLine(line);
    } catch {
      /* a broken logger must not break the simulator */
    }
  };

  /** id -> flow (ids are unique across providers). */
  const flows = new Map();
  /** Gr4vy payment method id -> Map(token id -> flow), insertion ordered. */
  const gr4vyMethods = new Map();
  /** Queued faults: { match, fault, remaining }. */
  let faultQueue = [];
  /** Random fault settings, or null when off. */
  let rates = null;
  /** Pending delay timers, cleared by close(). */
  const timers = new Set();
  let closed = false;

  // Request log: ring buffer.
  let logBuf = new Array(LOG_CAP);
  let logStart = 0;
  let logLen = 0;
  let seq = 0;

  const guardedSockets = new WeakSet();

  // ---- request log -------------------------------------------------------------------------

  function record(entry) {
    if (logLen < LOG_CAP) {
      logBuf[(logStart + logLen) % LOG_CAP] = entry;
      logLen++;
    } else {
      logBuf[logStart] = entry;
      logStart = (logStart + 1) % LOG_CAP;
    }
  }

  function requests(filter = {}) {
    const out = [];
    for (let i = 0; i < logLen; i++) {
      const e = logBuf[(logStart + i) % LOG_CAP];
      if (filter.id != null && e.id !== filter.id) continue;
      if (filter.provider != null && e.provider !== filter.provider) continue;
      if (filter.method != null && e.method !== String(filter.method).toUpperCase()) continue;
      out.push(e);
    }
    return out;
  }

  function clearRequests() {
    logBuf = new Array(LOG_CAP);
    logStart = 0;
    logLen = 0;
  }

  // ---- flows -------------------------------------------------------------------------------

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
    flow.step = index;
    flow.stepStartedAt = at;
    flow.stepReads = 0;
    flow.updatedAt = at;
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
  function readFlow(flow, now, origin) {
    settle(flow, now);
    const body = renderFlow(flow, origin);
    flow.reads++;
    flow.stepReads++;
    const s = flow.steps[flow.step];
    if (flow.step < flow.steps.length - 1 && s.polls != null && flow.stepReads >= s.polls) {
      enterStep(flow, flow.step + 1, now);
    }
    return body;
  }

  /** The provider body for the flow's current step (no side effects). */
  function renderFlow(flow, origin) {
    const s = flow.steps[flow.step];
    const status = s.status;
    let body;
    if (flow.provider === 'truemed') {
      body = { metadata: flow.metadata, payment_token: status === 'provisioned' ? flow.token : null };
    } else if (flow.provider === 'gr4vy') {
      body = {
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
    } else {
      body = { status };
      if (status === 'PROCESSED') {
        body.tokenId = flow.token;
        body.transferId = flow.transferId;
        body.signature = { ...flow.signature };
        body.bankId = 'ob-modelo';
      } else if (status === 'REJECTED') {
        body.statusReasonInformation = flow.reason;
      }
    }
    return Object.assign(body, s.fields);
  }

  function flowView(flow) {
    settle(flow, Date.now());
    const v = { provider: flow.provider, id: flow.id };
    if (flow.provider === 'gr4vy') {
      v.paymentMethodId = flow.paymentMethodId;
      v.paymentServiceId = flow.paymentServiceId;
    }
    v.outcome = flow.outcome;
    v.steps = flow.steps.map((s) => ({ status: s.status, polls: s.polls, ms: s.ms, fields: { ...s.fields } }));
    v.step = flow.step;
    v.status = flow.steps[flow.step].status;
    v.reads = flow.reads;
    v.stepReads = flow.stepReads;
    v.approved = flow.approved;
    v.token = flow.token;
    if (flow.provider === 'truemed') v.metadata = flow.metadata;
    if (flow.provider === 'gr4vy') {
      if (flow.redirectUrl != null) v.redirectUrl = flow.redirectUrl;
      if (flow.merchantAccountId != null) v.merchantAccountId = flow.merchantAccountId;
    }
    v.createdAt = iso(flow.createdAt);
    v.updatedAt = iso(flow.updatedAt);
    return v;
  }

  /** Creates a flow from the `POST /_sim/flows` JSON; throws SimError on bad input. */
  function createFlow(spec) {
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

    const outcome = spec.outcome ?? (spec.steps ? 'custom' : 'succeeded');
    const pendingPolls = spec.pendingPolls ?? 2;
    const stepMs = spec.stepMs ?? null;

    let steps;
    if (spec.steps) {
      steps = spec.steps.map(normalizeStep);
    } else {
      const tail = OUTCOME_TAILS[provider][outcome];
      const pending = PENDING_STATUS[provider];
      if (tail === null) {
        steps = [{ status: pending, polls: null, ms: null, fields: {} }];
      } else {
        steps = [];
        if (pendingPolls > 0) steps.push({ status: pending, polls: pendingPolls, ms: null, fields: {} });
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
      do {
        id =
          provider === 'truemed'
            ? `ptr_${randomString(ALNUM, 20)}`
            : provider === 'gr4vy'
              ? randomUUID()
              : `rq:${randomString(BASE58, 27)}:${randomString(BASE58, 8)}`;
      } while (flows.has(id));
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
    };
    if (provider === 'truemed') {
      flow.metadata = spec.metadata === undefined ? 'order-1234' : spec.metadata;
      flow.token = `tm_pt_${randomString(ALNUM, 24)}`;
    } else if (provider === 'gr4vy') {
      flow.paymentMethodId = spec.paymentMethodId ?? randomUUID();
      flow.paymentServiceId = spec.paymentServiceId ?? randomUUID();
      flow.redirectUrl = spec.redirectUrl ?? null;
      flow.merchantAccountId = spec.merchantAccountId ?? null;
      flow.token = `gr4vy_pst_${randomString(ALNUM, 24)}`;
    } else {
      const member = `m:${randomString(BASE58, 28)}:5zKtXEAq`;
      flow.token = `tt:${randomString(BASE58, 44)}:5zKtXEAq`;
      flow.transferId = `t:${randomString(BASE58, 44)}:5zKtXEAq`;
      flow.signature = {
        keyId: `sim-key-${randomString(ALNUM, 8)}`,
        memberId: member,
        signature: randomBytes(64).toString('base64url'),
      };
      flow.reason = outcome === 'rejected' ? REASON_REJECTED : REASON_FAILED;
    }

    flows.set(id, flow);
    if (provider === 'gr4vy') {
      let tokens = gr4vyMethods.get(flow.paymentMethodId);
      if (!tokens) gr4vyMethods.set(flow.paymentMethodId, (tokens = new Map()));
      tokens.set(id, flow);
    }
    say(`flow created: ${provider} ${id} (${outcome}, ${steps.map((s) => s.status).join(' -> ')})`);
    return flow;
  }

  function getFlow(id) {
    const flow = flows.get(id);
    if (!flow) throw new SimError(404, 'flow not found');
    return flow;
  }

  function advance(id) {
    const flow = getFlow(id);
    const now = Date.now();
    settle(flow, now);
    if (flow.step < flow.steps.length - 1) enterStep(flow, flow.step + 1, now);
    return flow;
  }

  function approve(id) {
    const flow = getFlow(id);
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

  // ---- faults ------------------------------------------------------------------------------

  function normalizeFault(f, i) {
    if (!isObject(f)) throw new SimError(400, `faults[${i}] must be an object`);
    if (f.times != null && !isPosInt(f.times)) throw new SimError(400, `faults[${i}].times must be an integer >= 1`);
    if (f.status != null && !(Number.isInteger(f.status) && f.status >= 200 && f.status <= 599)) {
      throw new SimError(400, `faults[${i}].status must be an integer in 200..599`);
    }
    if (f.delayMs != null && !isNonNegNum(f.delayMs)) throw new SimError(400, `faults[${i}].delayMs must be >= 0`);
    if (f.malformed != null && !MALFORMED.includes(f.malformed)) {
      throw new SimError(400, `faults[${i}].malformed must be one of ${MALFORMED.join(', ')}`);
    }
    if (f.headers != null && !isObject(f.headers)) throw new SimError(400, `faults[${i}].headers must be an object`);
    if (f.contentType != null && typeof f.contentType !== 'string') {
      throw new SimError(400, `faults[${i}].contentType must be a string`);
    }
    if (f.retryAfterMs != null && !isNonNegNum(f.retryAfterMs)) {
      throw new SimError(400, `faults[${i}].retryAfterMs must be a number >= 0`);
    }
    if (f.status == null && !f.drop && f.delayMs == null && f.malformed == null) {
      throw new SimError(400, `faults[${i}] needs status, drop, delayMs or malformed`);
    }
    const headers = {};
    for (const [k, v] of Object.entries(f.headers ?? {})) headers[k.toLowerCase()] = String(v);
    return {
      times: f.times ?? 1,
      status: f.status ?? null,
      body: f.body,
      headers,
      contentType: f.contentType ?? null,
      external: f.external === true,
      retryAfter: f.retryAfter != null ? String(f.retryAfter) : null,
      retryAfterMs: f.retryAfterMs ?? null,
      drop: f.drop === true,
      delayMs: f.delayMs ?? null,
      malformed: f.malformed ?? null,
    };
  }

  /** Queues faults (`POST /_sim/faults` JSON); returns how many were queued. */
  function addFaults(spec) {
    if (!isObject(spec)) throw new SimError(400, 'body must be a JSON object');
    const match = spec.match ?? {};
    if (!isObject(match)) throw new SimError(400, 'match must be an object');
    if (match.provider != null && !PROVIDERS.includes(match.provider)) {
      throw new SimError(400, `match.provider must be one of ${PROVIDERS.join(', ')}`);
    }
    if (match.id != null && typeof match.id !== 'string') throw new SimError(400, 'match.id must be a string');
    if (match.method != null && typeof match.method !== 'string') throw new SimError(400, 'match.method must be a string');
    let list = spec.faults;
    if (isObject(list)) list = [list];
    if (!Array.isArray(list) || list.length === 0) throw new SimError(400, 'faults must be a non-empty array');
    const m = {
      provider: match.provider ?? null,
      id: match.id ?? null,
      method: match.method != null ? match.method.toUpperCase() : null,
    };
    const entries = list.map((f, i) => {
      const fault = normalizeFault(f, i);
      return { match: m, fault, remaining: fault.times };
    });
    faultQueue.push(...entries);
    say(`faults queued: ${entries.length}`);
    return entries.length;
  }

  /** Takes the first queued fault matching the request, or null. */
  function takeQueuedFault(ctx) {
    if (faultQueue.length === 0) return null;
    for (let i = 0; i < faultQueue.length; i++) {
      const e = faultQueue[i];
      const m = e.match;
      if (m.provider != null && m.provider !== ctx.provider) continue;
      if (m.id != null && m.id !== ctx.id) continue;
      if (m.method != null && m.method !== ctx.method) continue;
      e.remaining--;
      if (e.remaining <= 0) faultQueue.splice(i, 1);
      return e.fault;
    }
    return null;
  }

  /** Sets random fault rates (`POST /_sim/fault-rates` JSON); `{}` turns them off. */
  function setFaultRates(spec) {
    if (!isObject(spec)) throw new SimError(400, 'body must be a JSON object');
    const r = {};
    for (const k of ['rate429', 'rate500', 'rate503', 'rateDrop', 'rateSlow', 'rateMalformed']) {
      const v = spec[k] ?? 0;
      if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new SimError(400, `${k} must be a number in 0..1`);
      r[k] = v;
    }
    const seed = spec.seed ?? 1;
    if (!Number.isInteger(seed)) throw new SimError(400, 'seed must be an integer');
    const slowMs = spec.slowMs ?? 3000;
    if (!isNonNegNum(slowMs)) throw new SimError(400, 'slowMs must be a number >= 0');
    const retryAfter = spec.retryAfter != null ? String(spec.retryAfter) : null;
    const settings = { seed, ...r, slowMs, retryAfter };
    const total = r.rate429 + r.rate500 + r.rate503 + r.rateDrop + r.rateSlow + r.rateMalformed;
    rates = total > 0 ? { ...settings, next: mulberry32(seed) } : null;
    say(rates ? `fault rates set (seed ${seed})` : 'fault rates off');
    return settings;
  }

  /** Draws a random fault for one provider request, or null. */
  function drawRandomFault(ctx) {
    if (!rates) return null;
    const x = rates.next();
    let edge = rates.rate429;
    const ra = rates.retryAfter;
    const statusFault = (status, external) => ({
      status,
      headers: {},
      external,
      retryAfter: ra,
      retryAfterMs: null,
      body: undefined,
      contentType: null,
    });
    if (x < edge) return statusFault(429, false);
    if (x < (edge += rates.rate500)) return { ...statusFault(500, false), retryAfter: null };
    if (x < (edge += rates.rate503)) return statusFault(503, ctx.provider === 'tokenio');
    if (x < (edge += rates.rateDrop)) return { drop: true };
    if (x < (edge += rates.rateSlow)) return { delayMs: rates.slowMs };
    if (x < (edge += rates.rateMalformed)) {
      return { malformed: RANDOM_MALFORMED[Math.floor(rates.next() * RANDOM_MALFORMED.length)] };
    }
    return null;
  }

  // ---- reset / close -----------------------------------------------------------------------

  function reset() {
    flows.clear();
    gr4vyMethods.clear();
    faultQueue = [];
    rates = null;
    clearRequests();
    seq = 0;
    say('reset');
  }

  function close() {
    closed = true;
    for (const t of timers) clearTimeout(t);
    timers.clear();
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

  // ---- HTTP plumbing -----------------------------------------------------------------------

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
    let area = null;
    for (const p of PROVIDERS) {
      if (rawPath.startsWith(`/${p}/`)) {
        area = p;
        break;
      }
    }
    if (!area && rawPath.startsWith('/_sim/')) area = '_sim';
    if (!area) return false;

    guard(req, res);
    const ctx = {
      req,
      res,
      area,
      provider: area === '_sim' ? null : area,
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
      send(res, 204, null, {
        headers: {
          'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
          'access-control-allow-headers': req.headers['access-control-request-headers'] || PREFLIGHT_ALLOW_HEADERS,
          'access-control-max-age': '600',
        },
      });
      return true;
    }

    readBody(ctx, () => (area === '_sim' ? control(ctx) : providerRequest(ctx)));
    return true;
  }

  // ---- provider requests -------------------------------------------------------------------

  /** Matches the provider path; sets ctx.route = { kind, id } or null. */
  function route(ctx) {
    const s = ctx.segments;
    let raw = null;
    let kind = null;
    if (ctx.provider === 'truemed') {
      if (
        s.length === 5 &&
        s[0] === 'api' &&
        s[1] === 'v1' &&
        s[2] === 'payment_tokens' &&
        s[3] === 'provision_request'
      ) {
        raw = s[4];
        kind = 'truemed';
      }
    } else if (ctx.provider === 'gr4vy') {
      if (s.length === 3 && s[0] === 'payment-methods' && s[2] === 'payment-service-tokens') {
        raw = s[1];
        kind = 'gr4vy';
      }
    } else if (s.length === 3 && s[0] === 'token-requests' && s[2] === 'result') {
      raw = s[1];
      kind = 'tokenio';
    }
    const id = raw ? decodeSegment(raw) : null;
    ctx.id = id || null;
    ctx.route = ctx.id ? kind : null;
  }

  function providerRequest(ctx) {
    route(ctx);
    const query = {};
    if (ctx.rawQuery) for (const [k, v] of new URLSearchParams(ctx.rawQuery)) query[k] = v;
    ctx.query = query;
    record({
      seq: ++seq,
      time: new Date().toISOString(),
      provider: ctx.provider,
      method: ctx.method,
      rawPath: ctx.rawPath,
      id: ctx.id,
      query,
      headers: { ...ctx.req.headers },
      body: ctx.body,
    });

    const fault = takeQueuedFault(ctx) ?? drawRandomFault(ctx);
    if (fault) applyFault(ctx, fault);
    else normal(ctx);
  }

  function applyFault(ctx, fault) {
    if (fault.delayMs != null && fault.delayMs > 0) {
      const rest = { ...fault, delayMs: null };
      later(ctx, fault.delayMs, () => applyFault(ctx, rest));
      return;
    }
    say(`${ctx.method} ${ctx.rawPath} -> fault ${fault.drop ? 'drop' : fault.malformed ?? fault.status ?? 'delay'}`);
    if (fault.drop) {
      ctx.req.socket?.destroy();
      return;
    }
    if (fault.malformed) {
      malformed(ctx, fault.malformed);
      return;
    }
    if (fault.status != null) {
      const headers = { ...fault.headers };
      if (fault.external) headers['token-external-error'] = 'true';
      if (fault.retryAfter != null) headers['retry-after'] = fault.retryAfter;
      if (fault.retryAfterMs != null) headers['retry-after-ms'] = String(fault.retryAfterMs);
      let body = fault.body;
      if (body === undefined) body = providerErrorBody(ctx.provider, fault.status);
      send(ctx.res, fault.status, body, { headers, contentType: fault.contentType ?? undefined });
      return;
    }
    normal(ctx);
  }

  function malformed(ctx, kind) {
    const { res, provider } = ctx;
    switch (kind) {
      case 'html':
        send(
          res,
          200,
          '<!DOCTYPE html><html><head><title>Service</title></head><body><h1>Welcome</h1><p>This is not JSON.</p></body></html>',
          { contentType: HTML_TYPE },
        );
        return;
      case 'truncated': {
        const sample =
          provider === 'truemed'
            ? { metadata: 'order-1234', payment_token: 'tm_pt_truncatedtruncated' }
            : provider === 'gr4vy'
              ? {
                  items: [
                    {
                      type: 'payment-service-token',
                      id: ctx.id ?? randomUUID(),
                      status: 'processing',
                      approval_url: null,
                      token: null,
                    },
                  ],
                }
              : { status: 'PROCESSED', tokenId: 'tt:truncated:5zKtXEAq', bankId: 'ob-modelo' };
        const text = JSON.stringify(sample);
        send(res, 200, text.slice(0, Math.floor(text.length / 2)));
        return;
      }
      case 'wrong_types':
        send(
          res,
          200,
          provider === 'truemed'
            ? { metadata: 12, payment_token: 7 }
            : provider === 'gr4vy'
              ? { items: {} }
              : { status: 42, tokenId: false },
        );
        return;
      case 'empty':
        send(res, 200, '');
        return;
      case 'huge':
        streamHuge(ctx, false);
        return;
      case 'huge_declared':
        streamHuge(ctx, true);
        return;
      case 'huge_gzip':
        sendHugeGzip(ctx);
        return;
      default: // not_json
        send(res, 200, 'OK: this response is plain text, not JSON', { contentType: TEXT_TYPE });
    }
  }

  function sendProviderError(ctx, status, message, headers) {
    send(ctx.res, status, providerErrorBody(ctx.provider, status, message), { headers });
    say(`${ctx.method} ${ctx.rawPath} -> ${status}`);
  }

  /** Checks credentials; returns null when fine, else the 401 message. */
  function authProblem(ctx) {
    const h = ctx.req.headers;
    if (ctx.provider === 'truemed') {
      const key = h['x-truemed-api-key'];
      if (key == null || key === '') return 'Missing API key: send the x-truemed-api-key header';
      return key === CREDENTIALS.truemed ? null : 'Invalid API key';
    }
    const auth = h.authorization;
    if (auth == null || auth.trim() === '') return 'Missing Authorization header';
    const m = /^\s*(\S+)\s+(.+?)\s*$/.exec(auth);
    const scheme = m ? m[1].toLowerCase() : '';
    const value = m ? m[2] : '';
    if (ctx.provider === 'gr4vy') {
      return scheme === 'bearer' && value === CREDENTIALS.gr4vy ? null : 'No valid API authentication found';
    }
    if (scheme === 'bearer' && value === CREDENTIALS.tokenioBearer) return null;
    if (scheme === 'basic' && value === CREDENTIALS.tokenioBasic) return null;
    return 'Unauthorized: invalid credentials';
  }

  function originOf(ctx) {
    if (fixedOrigin) return fixedOrigin;
    return `http://${ctx.req.headers.host || 'localhost'}`;
  }

  function normal(ctx) {
    if (ctx.tooLarge) return sendProviderError(ctx, 413, 'Request body too large');
    if (!ctx.route) return sendProviderError(ctx, 404, NOT_FOUND_MESSAGES[ctx.provider]);
    if (checkCredentials) {
      const problem = authProblem(ctx);
      if (problem) {
        if (ctx.provider === 'gr4vy') {
          send(ctx.res, 401, { type: 'error', code: 'unauthorized', status: 401, message: problem, details: [] });
        } else if (ctx.provider === 'truemed') {
          send(ctx.res, 401, { error: 'unauthorized', message: problem });
        } else {
          send(ctx.res, 401, { error: { message: problem, tokenTraceId: traceId() } });
        }
        say(`${ctx.method} ${ctx.rawPath} -> 401`);
        return;
      }
    }
    const allowed = ctx.provider === 'gr4vy' ? ['GET', 'POST'] : ['GET'];
    if (!allowed.includes(ctx.method)) {
      return sendProviderError(ctx, 405, `Method ${ctx.method} not allowed`, { allow: allowed.join(', ') });
    }
    const now = Date.now();
    if (ctx.provider === 'gr4vy') {
      if (ctx.method === 'POST') return gr4vyProvision(ctx, now);
      const tokens = gr4vyMethods.get(ctx.id);
      const items = [];
      if (tokens) {
        const origin = originOf(ctx);
        const svc = ctx.query.payment_service_id;
        for (const flow of tokens.values()) {
          if (svc != null && flow.paymentServiceId !== svc) continue;
          items.push(readFlow(flow, now, origin));
        }
      }
      send(ctx.res, 200, { items });
      say(`${ctx.method} ${ctx.rawPath} -> 200 (${items.length} items)`);
      return;
    }
    const flow = flows.get(ctx.id);
    if (!flow || flow.provider !== ctx.provider) return sendProviderError(ctx, 404, NOT_FOUND_MESSAGES[ctx.provider]);
    const body = readFlow(flow, now, originOf(ctx));
    send(ctx.res, 200, body);
    say(`${ctx.method} ${ctx.rawPath} -> 200 (${flow.steps[flow.step].status})`);
  }

  function gr4vyProvision(ctx, now) {
    const errors = [];
    let body;
    try {
      body = ctx.body == null ? undefined : JSON.parse(ctx.body);
    } catch (err) {
      errors.push({ loc: ['body'], msg: `Invalid JSON: ${err.message}`, type: 'value_error.jsondecode' });
    }
    if (!errors.length) {
      if (body === undefined) {
        errors.push({ loc: ['body'], msg: 'field required', type: 'value_error.missing' });
      } else if (!isObject(body)) {
        errors.push({ loc: ['body'], msg: 'value is not a valid dict', type: 'type_error.dict' });
      } else {
        for (const k of ['payment_service_id', 'redirect_url']) {
          if (!(k in body)) errors.push({ loc: ['body', k], msg: 'field required', type: 'value_error.missing' });
          else if (typeof body[k] !== 'string') {
            errors.push({ loc: ['body', k], msg: 'str type expected', type: 'type_error.str' });
          }
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
      }
    }
    if (errors.length) {
      send(ctx.res, 422, { detail: errors });
      say(`${ctx.method} ${ctx.rawPath} -> 422`);
      return;
    }
    const flow = createFlow({ provider: 'gr4vy', outcome: 'action_required', paymentMethodId: ctx.id });
    flow.paymentServiceId = body.payment_service_id;
    flow.redirectUrl = body.redirect_url;
    const merchant = ctx.req.headers['x-gr4vy-merchant-account-id'];
    if (merchant) flow.merchantAccountId = merchant;
    flow.createdAt = flow.updatedAt = flow.stepStartedAt = now;
    send(ctx.res, 201, renderFlow(flow, originOf(ctx)));
    say(`${ctx.method} ${ctx.rawPath} -> 201 (${flow.id})`);
  }

  // ---- control API -------------------------------------------------------------------------

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

  function control(ctx) {
    try {
      controlRoutes(ctx);
    } catch (err) {
      if (!(err instanceof SimError)) throw err;
      send(ctx.res, err.status, { error: err.message }, err.allow ? { headers: { allow: err.allow } } : undefined);
    }
  }

  function controlRoutes(ctx) {
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
      const flow = createFlow(parseJson(ctx));
      return send(res, 201, flowView(flow));
    }
    if (s.length === 2 && s[0] === 'flows') {
      need('GET');
      return send(res, 200, flowView(getFlow(idAt(1))));
    }
    if (s.length === 3 && s[0] === 'flows' && s[2] === 'advance') {
      need('POST');
      return send(res, 200, flowView(advance(idAt(1))));
    }
    if (s.length === 2 && s[0] === 'approve') {
      need('GET', 'POST');
      if (method === 'GET') {
        let status = 200;
        let text = 'Payment approved — you can close this tab';
        try {
          approve(idAt(1));
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
      return send(res, 200, flowView(approve(idAt(1))));
    }
    if (s.length === 1 && s[0] === 'reset') {
      need('POST');
      reset();
      return send(res, 204, null);
    }
    if (s.length === 1 && s[0] === 'faults') {
      need('GET', 'POST');
      if (method === 'GET') {
        return send(res, 200, {
          queued: faultQueue.length,
          faults: faultQueue.map((e) => ({ match: e.match, fault: e.fault, remaining: e.remaining })),
        });
      }
      return send(res, 201, { queued: addFaults(parseJson(ctx)) });
    }
    if (s.length === 1 && s[0] === 'fault-rates') {
      need('POST');
      return send(res, 200, setFaultRates(parseJson(ctx, {})));
    }
    if (s.length === 1 && s[0] === 'requests') {
      need('GET', 'DELETE');
      if (method === 'DELETE') {
        clearRequests();
        return send(res, 204, null);
      }
      const p = new URLSearchParams(ctx.rawQuery);
      return send(
        res,
        200,
        requests({ id: p.get('id'), provider: p.get('provider'), method: p.get('method') }),
      );
    }
    throw new SimError(404, 'not found');
  }

  return {
    handle,
    reset,
    close,
    flows,
    createFlow: (spec) => flowView(createFlow(spec)),
    getFlow: (id) => flowView(getFlow(id)),
    advance: (id) => flowView(advance(id)),
    approve: (id) => flowView(approve(id)),
    addFaults,
    setFaultRates,
    requests,
    clearRequests,
  };
}

function noop() {}

/**
 * Starts an HTTP server with the simulator. Resolves `{ url, server, sim, close }`;
 * `close()` resolves once the server is fully closed.
 */
export function startSimulator(options = {}) {
  const { port = 8787, host = '127.0.0.1', ...simOptions } = options;
  const sim = createSimulator(simOptions);
  const server = http.createServer((req, res) => {
    if (sim.handle(req, res)) return;
    req.on('error', noop);
    res.on('error', noop);
    if (req.method === 'OPTIONS') {
      send(res, 204, null, {
        headers: {
          'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
          'access-control-allow-headers': req.headers['access-control-request-headers'] || PREFLIGHT_ALLOW_HEADERS,
          'access-control-max-age': '600',
        },
      });
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

// ---------------------------------------------------------------------------------------------
// Command line

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const [key, inline] = eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    if (key === '--port' || key === '--host') {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new Error(`${key} needs a value`);
      out[key.slice(2)] = value;
    } else if (key === '--verbose' || key === '-v') {
      out.verbose = true;
    } else if (key === '--help' || key === '-h') {
      out.help = true;
    } else {
      throw new Error(`unknown argument: ${a}`);
    }
  }
  return out;
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`simulator: ${err.message}\nusage: node www/simulator.mjs [--port 8787] [--host 127.0.0.1] [--verbose]\n`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write('usage: node www/simulator.mjs [--port 8787] [--host 127.0.0.1] [--verbose]\n');
    return;
  }
  const port = Number(args.port ?? process.env.PORT ?? 8787);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`simulator: invalid port ${args.port ?? process.env.PORT}\n`);
    process.exit(2);
  }
  const host = args.host ?? '127.0.0.1';
  // Signal handlers go in before the URL is printed, so a supervisor may stop us right away.
  const whenStopped = exitOnSignals();
  const started = await startSimulator({
    port,
    host,
    log: args.verbose ? (line) => process.stderr.write(`simulator: ${line}\n`) : undefined,
  });
  whenStopped(started.close);
  process.stdout.write(`simulator listening on ${started.url}\n`);
}

/**
 * Exits with 0 on SIGINT or SIGTERM, first awaiting the close function registered through the
 * returned setter (at once when none is registered yet). For the command-line entry points.
 */
export function exitOnSignals() {
  let close = null;
  let stopping = false;
  const stop = () => {
    if (stopping || !close) process.exit(0);
    stopping = true;
    close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return (fn) => { close = fn; };
}

/** True when the module at `moduleUrl` (its `import.meta.url`) is the script Node was started with. */
export function isMain(moduleUrl) {
  const script = process.argv[1];
  if (!script) return false;
  if (moduleUrl === pathToFileURL(script).href) return true;
  try {
    return moduleUrl === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isMain(import.meta.url)) {
  main().catch((err) => {
    process.stderr.write(`simulator: ${err.message}\n`);
    process.exit(1);
  });
}
