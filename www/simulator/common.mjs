// What every part of the simulator shares: the response writer (JSON, CORS), the control API's
// error type, validators and random ids. No state lives here.

import http from 'node:http';
import { createHmac, randomBytes } from 'node:crypto';

export const PROVIDERS = ['truemed', 'gr4vy', 'tokenio'];

export const CORS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'retry-after, retry-after-ms, token-external-error, content-length',
};
const PREFLIGHT_ALLOW_HEADERS = 'authorization, content-type, x-truemed-api-key, x-gr4vy-merchant-account-id';

export const JSON_TYPE = 'application/json';
export const HTML_TYPE = 'text/html; charset=utf-8';
export const TEXT_TYPE = 'text/plain; charset=utf-8';

export const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** Unbiased random string from `alphabet` (rejection sampling on random bytes). */
export function randomString(alphabet, n) {
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

export const traceId = () => randomBytes(16).toString('hex');

export const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
export const isPosInt = (v) => Number.isInteger(v) && v >= 1;
export const isNonNegInt = (v) => Number.isInteger(v) && v >= 0;
export const isNonNegNum = (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
export const iso = (ms) => new Date(ms).toISOString();

export function noop() {}

/** A webhook secret: a non-empty string without control characters (it may travel in a header). */
export const isSecret = (v) => typeof v === 'string' && v !== '' && !/[\x00-\x1f\x7f]/.test(v);

/** Hex HMAC-SHA256 of `"{timestamp}.{body}"`: how Truemed and Gr4vy sign a webhook. */
export const webhookSignature = (secret, timestamp, body) =>
  createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');

export function decodeSegment(seg) {
  try {
    return decodeURIComponent(seg);
  } catch {
    return null;
  }
}

/**
 * The `Authorization` header as `{ scheme (lower-cased), value }`, or null when it is missing or
 * blank. A header that does not parse has an empty scheme and value (so it is refused, not missing).
 */
export function parseAuthorization(headers) {
  const auth = headers.authorization;
  if (auth == null || auth.trim() === '') return null;
  const m = /^\s*(\S+)\s+(.+?)\s*$/.exec(auth);
  return { scheme: m ? m[1].toLowerCase() : '', value: m ? m[2] : '' };
}

/** A refused credential, as a provider file's `authenticate` returns it. */
export const refused = (message, status = 401) => ({ status, message });

/** The default message of a simulated error status. */
export const statusMessage = (status) => `Simulated ${status} ${http.STATUS_CODES[status] ?? 'error'}`;

/** An error the control API turns into `{ "error": message }` with `status`. */
export class SimError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Sends a complete response (JSON unless `contentType` says otherwise) with the CORS headers. */
export function send(res, status, body, { headers, contentType } = {}) {
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

/** Answers a CORS preflight (`OPTIONS` on any path): 204 allowing what the page asked for. */
export function sendPreflight(req, res) {
  send(res, 204, null, {
    headers: {
      'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
      'access-control-allow-headers': req.headers['access-control-request-headers'] || PREFLIGHT_ALLOW_HEADERS,
      'access-control-max-age': '600',
    },
  });
}
