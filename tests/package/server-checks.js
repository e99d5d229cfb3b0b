// What a merchant server does with the package, run inside each server runtime (Node ESM and
// CommonJS, Deno, Bun, workerd) from the installed tarball: Gr4vy API keys refused at
// construction, calls with minted tokens, the webhook security table in every form a server
// framework hands a delivery over, an oversized body stream, and waits ended by webhooks and by
// notify(). Uses only what every runtime has (fetch, Request, Headers, streams, timers).
// `serverChecks(mod, cfg)` takes the package's exports and the configuration from
// tests/support/server-fixtures.mjs, and returns a plain-JSON report that the test judges; the
// report carries every error's renderings so that the test can scan them for secrets.

const FORMS = {
  // Node's req.headers: names lower-cased, a repeated header joined with ', '; a string body.
  object: (headers, body) => ({ headers: joined(headers), body: text(body) }),
  // Arrays for repeated headers (Node's headersDistinct), a Uint8Array body.
  nodeArrays: (headers, body) => ({ headers: arrays(headers), body: bytes(body) }),
  // A Headers object, an ArrayBuffer body.
  headers: (headers, body) => ({ headers: toHeaders(headers), body: bytes(body).slice().buffer }),
  // A Fetch Request (its body is read by the package).
  request: (headers, body) => new Request('http://127.0.0.1/webhooks', { method: 'POST', headers: toHeaders(headers), body: text(body) }),
};

const bigBody = (n) => `{"pad":"${'x'.repeat(n - 10)}"}`;
const text = (body) => {
  if (typeof body === 'string') return body;
  if (body && 'big' in body) return bigBody(body.big);
  return body.json;
};
const bytes = (body) => {
  const value = text(body);
  return typeof value === 'string' ? new TextEncoder().encode(value) : value;
};
const joined = (pairs) => {
  const out = {};
  for (const [name, value] of pairs) {
    const key = name.toLowerCase();
    out[key] = key in out ? `${out[key]}, ${value}` : value;
  }
  return out;
};
const arrays = (pairs) => {
  const out = {};
  for (const [name, value] of pairs) (out[name] ??= []).push(value);
  return out;
};
const toHeaders = (pairs) => {
  const headers = new Headers();
  for (const [name, value] of pairs) headers.append(name, value);
  return headers;
};

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

export async function serverChecks(mod, cfg) {
  const { TruemedClient, Gr4vyClient, TokenStatusError } = mod;
  const out = { keys: [], options: {}, mint: {}, webhooks: [], waits: {}, errors: [], errorRenderings: 0 };
  /** Every property of an error a user could print, for the report and the leak scan. */
  const render = (error) => {
    const r = {
      threw: true,
      instanceOf: error instanceof TokenStatusError,
      name: error?.name,
      kind: error?.kind,
      code: error?.code ?? null,
      provider: error?.provider,
      status: error?.status,
      retryable: error?.retryable,
      message: String(error?.message),
    };
    out.errors.push({
      message: r.message,
      string: String(error),
      stack: String(error?.stack),
      json: JSON.stringify(error),
      cause: error?.cause === undefined ? null : String(error.cause?.stack ?? error.cause),
    });
    out.errorRenderings += 1;
    return r;
  };
  const sim = cfg.sim;
  const gr4vyBase = `${sim}/gr4vy`;
  const truemedBase = `${sim}/truemed`;
  try {
    // Keys that are not ECDSA P-521 PEM: the constructor throws, naming what is wrong.
    for (const { pem } of cfg.badKeys) {
      try {
        new Gr4vyClient({ baseUrl: gr4vyBase, privateKey: pem });
        out.keys.push({ threw: false });
      } catch (error) {
        out.keys.push(render(error));
      }
    }
    const option = (label, make) => {
      try {
        make();
        out.options[label] = { threw: false };
      } catch (error) {
        out.options[label] = render(error);
      }
    };
    option('privateKey and bearerToken', () => new Gr4vyClient({ baseUrl: gr4vyBase, privateKey: cfg.keys.pkcs8, bearerToken: 't' }));
    option('scopes without privateKey', () => new Gr4vyClient({ baseUrl: gr4vyBase, scopes: ['payment-methods.read'] }));
    option('empty scopes', () => new Gr4vyClient({ baseUrl: gr4vyBase, privateKey: cfg.keys.pkcs8, scopes: [] }));
    option('a webhook secret with a trailing newline', () => new TruemedClient({ webhookSecret: `${cfg.secrets.truemed[0]}\n` }));
    option('an empty list of webhook secrets', () => new Gr4vyClient({ baseUrl: gr4vyBase, webhookSecrets: [] }));

    // Mint and call: the PKCS#8 key as issued, three calls in a row; the SEC1 form of the same
    // key with \r\n line ends and whitespace around it, and scopes of its own.
    const { mintPkcs8, mintSec1 } = cfg.flows;
    const minting = new Gr4vyClient({ baseUrl: gr4vyBase, privateKey: cfg.keys.pkcs8 });
    out.mint.pkcs8 = [
      await minting.getPaymentServiceToken(mintPkcs8.paymentMethodId, mintPkcs8.id),
      await minting.getPaymentServiceToken(mintPkcs8.paymentMethodId, mintPkcs8.id),
      (await minting.listPaymentServiceTokens(mintPkcs8.paymentMethodId))[0],
    ];
    const sec1 = new Gr4vyClient({ baseUrl: gr4vyBase, privateKey: cfg.keys.sec1Messy, scopes: ['payment-methods.read'] });
    out.mint.sec1 = await sec1.getPaymentServiceToken(mintSec1.paymentMethodId, mintSec1.id);

    // The security table, each case in each form.
    const clients = {
      truemed: new TruemedClient({ baseUrl: truemedBase, webhookSecret: cfg.secrets.truemed }),
      truemedNone: new TruemedClient({ baseUrl: truemedBase }),
      gr4vy: new Gr4vyClient({ baseUrl: gr4vyBase, webhookSecrets: cfg.secrets.gr4vy }),
      gr4vyNone: new Gr4vyClient({ baseUrl: gr4vyBase, privateKey: cfg.keys.pkcs8 }),
    };
    for (const c of cfg.cases) {
      const results = {};
      for (const form of c.forms ?? Object.keys(FORMS)) {
        try {
          const event = await clients[c.client].verifyWebhook(FORMS[form](c.headers, c.body), c.options);
          results[form] = { ok: true, event };
        } catch (error) {
          results[form] = render(error);
        }
      }
      out.webhooks.push(results);
    }
    const first = cfg.cases[0];
    out.tolerance = await clients.truemed.verifyWebhook(FORMS.object(first.headers, first.body), { toleranceSeconds: -1 }).then(() => ({ ok: true }), render);
    const used = FORMS.request(first.headers, first.body);
    await used.text();
    out.usedBody = await clients.truemed.verifyWebhook(used).then(() => ({ ok: true }), render);

    // A Request whose body stream is far larger than 1 MiB: refused, and not read further.
    const stream = { pulled: 0, cancelled: false };
    const chunk = new Uint8Array(64 * 1024).fill(0x78);
    const body = new ReadableStream({
      pull(controller) {
        if (stream.pulled >= cfg.deliveries.stream.size) return controller.close();
        stream.pulled += chunk.byteLength;
        controller.enqueue(chunk.slice());
      },
      cancel() { stream.cancelled = true; },
    }, { highWaterMark: 0 });
    const big = new Request('http://127.0.0.1/webhooks', { method: 'POST', headers: toHeaders(cfg.deliveries.stream.headers), body, duplex: 'half' });
    Object.assign(stream, await clients.truemed.verifyWebhook(big).then(() => ({ ok: true }), render));
    await sleep(50);
    out.stream = stream;

    // Waits that poll every 60 s, ended by a verified webhook: a Truemed signed delivery, a
    // Gr4vy payment-service-token event; a Gr4vy payment-method event makes the wait poll now.
    const endedBy = async (client, start, delivery) => {
      const updates = [];
      let firstPoll;
      const polled = new Promise((done) => { firstPoll = done; });
      const wait = start({ intervalMs: 60_000, maxIntervalMs: 60_000, deadlineMs: 120_000, onUpdate: (s) => { updates.push(s.state); firstPoll(); } });
      const settled = wait.then((status) => ({ status }), (error) => ({ error: render(error) }));
      await Promise.race([polled, settled]);
      const began = Date.now();
      const event = await client.verifyWebhook(FORMS.request(delivery.headers, delivery.body));
      const outcome = await Promise.race([settled, sleep(2000).then(() => 'still waiting')]);
      const ms = Date.now() - began;
      if (outcome === 'still waiting') return { resolved: false, updates, eventState: event.status?.state ?? null };
      return { resolved: !outcome.error, ms, updates, ...outcome, eventState: event.status?.state ?? null, eventStatus: event.status };
    };
    const { truemedWait, tokenEvent, methodEvent, nonTerminal } = cfg.flows;
    const d = cfg.deliveries;
    const truemed = new TruemedClient({ baseUrl: truemedBase, apiKey: 'sim-truemed-key', webhookSecret: cfg.secrets.truemed[0] });
    const gr4vy = new Gr4vyClient({ baseUrl: gr4vyBase, privateKey: cfg.keys.pkcs8, webhookSecrets: cfg.secrets.gr4vy });
    out.waits.truemed = await endedBy(truemed, (o) => truemed.waitForProvisionTokenRequest(truemedWait.id, o), d.truemed);
    out.waits.gr4vyToken = await endedBy(gr4vy, (o) => gr4vy.waitForPaymentServiceToken(tokenEvent.paymentMethodId, tokenEvent.id, o), d.gr4vyToken);
    out.waits.gr4vyMethod = await endedBy(gr4vy, (o) => gr4vy.waitForPaymentServiceToken(methodEvent.paymentMethodId, methodEvent.id, o), d.gr4vyMethod);

    // A non-terminal status from a webhook reaches onUpdate and the wait goes on; the same token
    // id on another payment method reaches nothing; notify() ends the wait and counts.
    const updates = [];
    let actionUrl = null;
    let resolved = false;
    let firstPoll;
    const polled = new Promise((done) => { firstPoll = done; });
    const wait = gr4vy.waitForPaymentServiceToken(nonTerminal.paymentMethodId, nonTerminal.id, {
      intervalMs: 60_000, maxIntervalMs: 60_000, deadlineMs: 120_000,
      onUpdate: (s) => { updates.push(s.state); actionUrl = s.actionUrl ?? actionUrl; firstPoll(); },
    });
    wait.then(() => { resolved = true; }, () => { resolved = true; });
    await Promise.race([polled, wait]);
    await gr4vy.verifyWebhook(FORMS.object(d.gr4vyApproval.headers, d.gr4vyApproval.body));
    await sleep(200);
    const stillWaiting = !resolved;
    await gr4vy.verifyWebhook(FORMS.headers(d.gr4vyOtherMethod.headers, d.gr4vyOtherMethod.body));
    await sleep(200);
    const afterOtherMethod = !resolved;
    const done = {
      provider: 'gr4vy', id: nonTerminal.id, state: 'succeeded', terminal: true, providerStatus: 'succeeded', token: 'gr_tok_notified',
      actionUrl: null, reason: null, metadata: null, paymentMethodId: nonTerminal.paymentMethodId, paymentServiceId: null, createdAt: null, updatedAt: null,
    };
    const notified = {
      other: gr4vy.notify({ ...done, id: 'pst-nobody-waits-for' }),
      otherProvider: gr4vy.notify({ ...done, provider: 'truemed' }),
      own: gr4vy.notify(done),
    };
    const status = await Promise.race([wait, sleep(2000).then(() => null)]);
    out.waits.nonTerminal = { updates, actionUrl, stillWaiting, afterOtherMethod, notified, status };
  } catch (error) {
    out.fatal = String(error?.stack ?? error);
  }
  return out;
}
