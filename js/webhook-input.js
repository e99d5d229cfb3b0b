// Reads a webhook delivery in any form a server framework hands it over — a Fetch `Request`, or
// `{ headers, body }` with `Headers`, a plain object or Node's `req.headers`, and a raw body as a
// string, Uint8Array/Buffer or ArrayBuffer — into header pairs and the body's bytes, reading at
// most 1 MiB. What the headers and bytes mean is the core's to judge (src/webhook.rs).
import { TokenStatusError } from './error.js';

/** Bodies past this are refused without being read further. */
export const MAX_WEBHOOK_BYTES = 1024 * 1024;

/** An `invalid_webhook` error with its `code`; the message never holds a secret or the body. */
export const webhookError = (provider, code, message) =>
  new TokenStatusError(message, { kind: 'invalid_webhook', provider, code, retryable: false });

const tooBig = (provider) =>
  webhookError(provider, 'invalid_body', 'The webhook body is larger than 1 MiB; it was not read further. No provider sends such a body: check the route.');

const notRaw = (provider) =>
  webhookError(provider, 'invalid_body',
    'Pass the raw request body (a string, Buffer, Uint8Array or ArrayBuffer), not parsed JSON: signatures are computed over the exact bytes sent. With Express use express.raw({ type: "application/json" }) on the webhook route.');

/** Header pairs, names lower-cased, one pair per value (Node gives arrays for repeated headers). */
function headerPairs(provider, headers) {
  const names = [];
  const values = [];
  const add = (name, value) => {
    names.push(String(name).toLowerCase());
    values.push(String(value));
  };
  if (headers !== null && typeof headers === 'object' && typeof headers.forEach === 'function' && typeof headers.get === 'function') {
    headers.forEach((value, name) => add(name, value));
  } else if (headers !== null && typeof headers === 'object' && !Array.isArray(headers)) {
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined || value === null) continue;
      if (Array.isArray(value)) value.forEach((v) => add(name, v));
      else add(name, value);
    }
  } else {
    throw webhookError(provider, 'missing_signature', 'The webhook request has no headers: pass the request as received, or { headers, body } with its headers.');
  }
  return [names, values];
}

/** Reads a stream, stopping (and cancelling it) once it passes the limit. */
async function readCapped(provider, stream) {
  const reader = stream.getReader();
  const chunks = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > MAX_WEBHOOK_BYTES) {
      reader.cancel().catch(() => {});
      throw tooBig(provider);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

function bodyBytes(provider, body) {
  let bytes;
  if (typeof body === 'string') {
    // A string can only be too big once encoded if it is at least a third of the limit long.
    if (body.length > MAX_WEBHOOK_BYTES) throw tooBig(provider);
    bytes = new TextEncoder().encode(body);
  } else if (body instanceof Uint8Array) bytes = body;
  else if (body instanceof ArrayBuffer) bytes = new Uint8Array(body);
  else if (ArrayBuffer.isView(body)) bytes = new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  else throw notRaw(provider);
  if (bytes.byteLength > MAX_WEBHOOK_BYTES) throw tooBig(provider);
  return bytes;
}

const isFetchRequest = (value) =>
  typeof value?.arrayBuffer === 'function' && typeof value?.headers?.get === 'function' && 'bodyUsed' in value;

/** `[headerNames, headerValues, body]` of a delivery; rejects with `invalid_webhook`. */
export async function readWebhook(provider, request) {
  if (isFetchRequest(request)) {
    if (request.bodyUsed) {
      throw webhookError(provider, 'invalid_body', 'The webhook request body was already read: pass the Request before reading it (or { headers, body } with the raw body you read).');
    }
    const [names, values] = headerPairs(provider, request.headers);
    const declared = Number(request.headers.get('content-length'));
    if (declared > MAX_WEBHOOK_BYTES) {
      request.body?.cancel().catch(() => {});
      throw tooBig(provider);
    }
    const body = request.body ? await readCapped(provider, request.body) : new Uint8Array(0);
    return [names, values, body];
  }
  if (request === null || typeof request !== 'object') {
    throw webhookError(provider, 'invalid_body', 'verifyWebhook takes a Fetch Request, or { headers, body } with the raw body.');
  }
  const [names, values] = headerPairs(provider, request.headers);
  return [names, values, bodyBytes(provider, request.body)];
}
