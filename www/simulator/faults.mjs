// Faults: queued ones (`POST /_sim/faults`) and random ones (`POST /_sim/fault-rates`), and how
// each is answered — an error status, a dropped socket, a delay, or a malformed or oversized
// body (5 MiB streamed, declared, or gzip-compressed).

import { gzipSync } from 'node:zlib';
import { CORS, HTML_TYPE, JSON_TYPE, PROVIDERS, SimError, TEXT_TYPE, isNonNegNum, isObject, isPosInt, send } from './common.mjs';

const MALFORMED = ['html', 'truncated', 'wrong_types', 'empty', 'huge', 'huge_declared', 'huge_gzip', 'not_json'];
/** Malformed kinds drawn by `rateMalformed` (the 5 MiB ones are left to explicit faults). */
const RANDOM_MALFORMED = ['html', 'truncated', 'wrong_types', 'empty', 'not_json'];

const HUGE_SIZE = 5 * 1024 * 1024;
const HUGE_CHUNK = 64 * 1024;

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

/** The fault queue and the random fault rates of one simulator. `say` logs one line. */
export function createFaults({ say }) {
  /** Queued faults: { match, fault, remaining }. */
  let queue = [];
  /** Random fault settings, or null when off. */
  let rates = null;

  /** Queues faults (`POST /_sim/faults` JSON); returns how many were queued. */
  function add(spec) {
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
    queue.push(...entries);
    say(`faults queued: ${entries.length}`);
    return entries.length;
  }

  /** Takes the first queued fault matching the request, or null. */
  function takeQueued(ctx) {
    if (queue.length === 0) return null;
    for (let i = 0; i < queue.length; i++) {
      const e = queue[i];
      const m = e.match;
      if (m.provider != null && m.provider !== ctx.provider) continue;
      if (m.id != null && m.id !== ctx.id) continue;
      if (m.method != null && m.method !== ctx.method) continue;
      e.remaining--;
      if (e.remaining <= 0) queue.splice(i, 1);
      return e.fault;
    }
    return null;
  }

  /** Sets random fault rates (`POST /_sim/fault-rates` JSON); `{}` turns them off. */
  function setRates(spec) {
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
  function draw(ctx) {
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

  return {
    add,
    setRates,
    /** The fault for a provider request: the first matching queued one, else a random one, or null. */
    take: (ctx) => takeQueued(ctx) ?? draw(ctx),
    list: () => ({
      queued: queue.length,
      faults: queue.map((e) => ({ match: e.match, fault: e.fault, remaining: e.remaining })),
    }),
    clear() {
      queue = [];
      rates = null;
    },
  };
}

/**
 * Answers a provider request with `fault`. `kit`: `say(line)`, `later(ctx, ms, fn)` (a timer
 * the simulator's close() clears) and `normal(ctx)` (the request's normal answer).
 */
export function applyFault(ctx, fault, kit) {
  if (fault.delayMs != null && fault.delayMs > 0) {
    const rest = { ...fault, delayMs: null };
    kit.later(ctx, fault.delayMs, () => applyFault(ctx, rest, kit));
    return;
  }
  kit.say(`${ctx.method} ${ctx.rawPath} -> fault ${fault.drop ? 'drop' : fault.malformed ?? fault.status ?? 'delay'}`);
  if (fault.drop) {
    ctx.dropped = true;
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
    if (body === undefined) body = ctx.impl.errorBody(fault.status);
    send(ctx.res, fault.status, body, { headers, contentType: fault.contentType ?? undefined });
    return;
  }
  kit.normal(ctx);
}

function malformed(ctx, kind) {
  const { res } = ctx;
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
      const text = JSON.stringify(ctx.impl.truncatedSample(ctx));
      send(res, 200, text.slice(0, Math.floor(text.length / 2)));
      return;
    }
    case 'wrong_types':
      send(res, 200, ctx.impl.wrongTypes());
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

/** Streams the 5 MiB body in chunks, honouring backpressure; stops when the client goes away. */
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
