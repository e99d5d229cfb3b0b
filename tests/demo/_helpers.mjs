// Shared helpers for the demo tests (not a test file itself).
import http from 'node:http';

/** One HTTP request with the path sent exactly as given (no URL normalization). */
export function rawRequest(base, { method = 'GET', path = '/', headers = {}, body } = {}) {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, method, path, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`timeout: ${method} ${path}`)));
    req.end(body);
  });
}

export async function postJson(base, path, body) {
  const res = await fetch(new URL(path, base), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** The simulator's request log, as the demo server mounts it. */
export async function simRequests(base, query = '') {
  const res = await fetch(new URL(`/_sim/requests${query}`, base));
  return res.json();
}

/** Reads Server-Sent Events from `path` until `until(records)` is true (or the timeout). */
export function readEvents(base, path, until, timeoutMs = 5000) {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const records = [];
    let buffer = '';
    const req = http.get({ hostname, port, path, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`SSE answered ${res.statusCode}`));
        res.resume();
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        buffer += chunk;
        let at;
        while ((at = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data: '))
            .map((l) => l.slice(6))
            .join('\n');
          if (data) records.push(JSON.parse(data));
        }
        if (until(records)) {
          clearTimeout(timer);
          req.destroy();
          resolve(records);
        }
      });
      res.on('error', () => {});
    });
    req.on('error', () => {});
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`SSE: condition not met in ${timeoutMs} ms; got ${JSON.stringify(records)}`));
    }, timeoutMs);
  });
}
