// The public classes: `TruemedClient`, `Gr4vyClient` and `TokenIoClient`. They check options and
// arguments here (js/options.js), then hand checked values to the WebAssembly core, which they
// wait for when a call comes before it has loaded. Each package entry supplies the core with
// `provideCore` (at once, or as a promise) and never awaits at top level.
import { TokenStatusError } from './error.js';
import { callArgs, checkId, clientSettings, invalid, listFilter, provisionArgs, webhookOptions } from './options.js';

// The calls the core's one `call` export starts (src/js.rs, `op`), with its arguments
// `(op, a, b, c, d, signal, timeoutMs, deadlineMs, intervalMs, maxIntervalMs, onUpdate)`: up
// to four strings, then the call's options; an absent number is `undefined`.
const READ = 0;
const WAIT = 1;
const PROVISION = 2;
const LIST = 3;
const PICK = 4;

/** A wait on `id` (and for Gr4vy `token`), `wait` the checked options from `callArgs`. */
const waitFor = (c, id, token, wait) => c.call(WAIT, id, token, undefined, undefined, ...wait);

/** The loaded core's exports, once ready. */
let core;
/** While the core is loading: a promise that settles when it is ready or has failed. */
let loading;
/** Why the core could not be loaded: `{ kind, message, cause }`. */
let failure;
/**
 * Reads a webhook delivery into the core's arguments (js/webhook-input.js): given by the server
 * entries only, so that the browser bundle, whose core cannot verify webhooks, leaves it out.
 */
let readWebhook;

function ready(exports) {
  exports.__setErrorClass(TokenStatusError);
  core = exports;
}

/**
 * Gives the shell its core: the wasm-bindgen exports, or a promise of them that rejects with
 * `{ kind, message, cause }` when loading failed; and, for a server build, the webhook reader.
 * Called once by each entry file.
 */
export function provideCore(source, webhookReader) {
  readWebhook = webhookReader;
  if (typeof source?.then !== 'function') return ready(source);
  loading = source.then(ready, (reason) => {
    failure = reason;
  });
}

/** Records that the core could not be loaded; every call rejects with this. */
export function coreFailed(kind, message, cause) {
  failure = { kind, message, cause };
}

/** The error every call rejects with when the core could not be loaded. */
const failureError = (provider) =>
  new TokenStatusError(failure.message, {
    kind: failure.kind,
    provider,
    retryable: false,
    cause: failure.cause,
  });

/**
 * The core's constructor arguments after the provider (src/js.rs, `Core::new`): the settings as
 * JSON (which leaves out a `bearerToken` function), that function, then the numbers.
 */
const coreArgs = (settings) => [
  JSON.stringify(settings),
  typeof settings.bearerToken === 'function' ? settings.bearerToken : undefined,
  settings.timeoutMs,
  settings.retry?.maxRetries,
  settings.retry?.initialDelayMs,
  settings.retry?.maxDelayMs,
];

/** One client's settings and, once the core has loaded, its core object. */
class Handle {
  constructor(provider, options) {
    this.provider = provider;
    this.settings = clientSettings(provider, options);
    this.core = undefined;
    // Where the core has loaded (on servers it loads at import), it judges what only it can —
    // a Gr4vy key — now, so that a bad one throws from the constructor.
    if (core !== undefined) this.client();
  }

  /**
   * Runs `call(coreClient)` now when the core has loaded, else once it has. `prepare` checks
   * the arguments first, synchronously; whatever it throws becomes the rejection.
   */
  run(prepare, call) {
    let args;
    try {
      args = prepare();
      if (core !== undefined) return call(this.client(), args);
    } catch (error) {
      return Promise.reject(error);
    }
    if (failure !== undefined) return Promise.reject(failureError(this.provider));
    return loading.then(() => {
      if (failure !== undefined) throw failureError(this.provider);
      return call(this.client(), args);
    });
  }

  client() {
    this.core ??= new core.Core(this.provider, ...coreArgs(this.settings));
    return this.core;
  }

  /** Verifies a webhook delivery; resolves with its `WebhookEvent`. */
  verifyWebhook(request, options) {
    return this.run(
      () => webhookOptions(this.provider, options),
      async (c, toleranceSeconds) => {
        if (typeof c.verifyWebhook !== 'function') {
          throw invalid(this.provider, 'verifyWebhook needs the server build of token-status (Node, Deno, Bun, Cloudflare Workers): the browser build does not verify webhooks, whose secrets belong on your server.');
        }
        return c.verifyWebhook(...(await readWebhook(this.provider, request)), toleranceSeconds);
      },
    );
  }

  /** Hands `status` to the client's waits in flight; how many it reached. */
  notify(status) {
    let text;
    try {
      text = typeof status === 'object' && status !== null && !Array.isArray(status) ? JSON.stringify(status) : undefined;
    } catch {
      // Not plain data (a cycle, a BigInt): not a status.
    }
    if (text === undefined) throw invalid(this.provider, 'notify(status) takes a TokenStatus object, as a status call returned it.');
    // Before the core has loaded, no wait has started.
    return core === undefined ? 0 : this.client().notify(text);
  }

  free() {
    this.core?.free();
    this.core = undefined;
  }
}

/** Client for Truemed provision token requests. */
export class TruemedClient {
  #handle;

  /** `new TruemedClient({ apiKey?, ...ClientOptions })`; throws `TokenStatusError` for bad options. */
  constructor(options) {
    this.#handle = new Handle('truemed', options);
  }

  /** Looks up one provision token request. */
  getProvisionTokenRequest(provisionTokenRequestId, options) {
    return this.#handle.run(
      () => [checkId('truemed', provisionTokenRequestId, 'provisionTokenRequestId'), ...callArgs('truemed', options, false)],
      (c, [id, signal, timeoutMs]) => c.call(READ, id, undefined, undefined, undefined, signal, timeoutMs),
    );
  }

  /** Polls a provision token request until it is provisioned (or the deadline passes). */
  waitForProvisionTokenRequest(provisionTokenRequestId, options) {
    return this.#handle.run(
      () => [checkId('truemed', provisionTokenRequestId, 'provisionTokenRequestId'), ...callArgs('truemed', options, true)],
      (c, [id, ...wait]) => waitFor(c, id, undefined, wait),
    );
  }

  /**
   * Verifies a webhook delivery with this client's webhook secret(s): a Fetch `Request`, or
   * `{ headers, body }` with the raw body. Resolves with the `WebhookEvent`; a status it tells
   * reaches this client's waits at once. Rejects with kind `invalid_webhook` and a `code`.
   */
  verifyWebhook(request, options) {
    return this.#handle.verifyWebhook(request, options);
  }

  /**
   * Hands a status learned elsewhere (a webhook your server received and pushed to this page,
   * say) to this client's waits on its id: a terminal status resolves them at once, another
   * reaches their `onUpdate`. Returns how many waits it reached.
   */
  notify(status) {
    return this.#handle.notify(status);
  }

  /** Frees the client's WebAssembly memory now instead of at garbage collection. */
  free() {
    this.#handle.free();
  }
}

/** Client for Gr4vy payment service tokens. */
export class Gr4vyClient {
  #handle;

  /** `new Gr4vyClient({ instanceId?, bearerToken?, merchantAccountId?, ...ClientOptions })`. */
  constructor(options) {
    this.#handle = new Handle('gr4vy', options);
  }

  /** Provisions a payment service token (POST, never retried once sent). */
  provisionPaymentServiceToken(paymentMethodId, params, options) {
    return this.#handle.run(
      () => [checkId('gr4vy', paymentMethodId, 'paymentMethodId'), ...provisionArgs(params), ...callArgs('gr4vy', options, false)],
      (c, args) => c.call(PROVISION, ...args),
    );
  }

  /** Lists a payment method's payment service tokens, optionally for one payment service. */
  listPaymentServiceTokens(paymentMethodId, params, options) {
    return this.#handle.run(
      () => [checkId('gr4vy', paymentMethodId, 'paymentMethodId'), listFilter(params), ...callArgs('gr4vy', options, false)],
      (c, [paymentMethodId, filter, signal, timeoutMs]) => c.call(LIST, paymentMethodId, filter, undefined, undefined, signal, timeoutMs),
    );
  }

  /** One payment service token's status (lists the payment method's tokens and picks it). */
  getPaymentServiceToken(paymentMethodId, paymentServiceTokenId, options) {
    return this.#handle.run(
      () => [
        checkId('gr4vy', paymentMethodId, 'paymentMethodId'),
        checkId('gr4vy', paymentServiceTokenId, 'paymentServiceTokenId'),
        ...callArgs('gr4vy', options, false),
      ],
      (c, [paymentMethodId, tokenId, signal, timeoutMs]) => c.call(PICK, paymentMethodId, tokenId, undefined, undefined, signal, timeoutMs),
    );
  }

  /**
   * Polls one payment service token until it succeeds or fails (`action_required` keeps
   * polling: the buyer may still approve), or the deadline passes.
   */
  waitForPaymentServiceToken(paymentMethodId, paymentServiceTokenId, options) {
    return this.#handle.run(
      () => [
        checkId('gr4vy', paymentMethodId, 'paymentMethodId'),
        checkId('gr4vy', paymentServiceTokenId, 'paymentServiceTokenId'),
        ...callArgs('gr4vy', options, true),
      ],
      (c, [paymentMethodId, tokenId, ...wait]) => waitFor(c, paymentMethodId, tokenId, wait),
    );
  }

  /**
   * Verifies a webhook delivery with this client's webhook secret(s): a Fetch `Request`, or
   * `{ headers, body }` with the raw body. Resolves with the `WebhookEvent`; a status it tells
   * reaches this client's waits at once. Rejects with kind `invalid_webhook` and a `code`.
   */
  verifyWebhook(request, options) {
    return this.#handle.verifyWebhook(request, options);
  }

  /**
   * Hands a status learned elsewhere (a webhook your server received and pushed to this page,
   * say) to this client's waits on its id: a terminal status resolves them at once, another
   * reaches their `onUpdate`. Returns how many waits it reached.
   */
  notify(status) {
    return this.#handle.notify(status);
  }

  /** Frees the client's WebAssembly memory now instead of at garbage collection. */
  free() {
    this.#handle.free();
  }
}

/** Client for Token.io token request results. */
export class TokenIoClient {
  #handle;

  /** `new TokenIoClient({ bearerToken?, basicCredentials?, ...ClientOptions })`. */
  constructor(options) {
    this.#handle = new Handle('tokenio', options);
  }

  /** Looks up one token request's result. */
  getTokenRequestResult(tokenRequestId, options) {
    return this.#handle.run(
      () => [checkId('tokenio', tokenRequestId, 'tokenRequestId'), ...callArgs('tokenio', options, false)],
      (c, [id, signal, timeoutMs]) => c.call(READ, id, undefined, undefined, undefined, signal, timeoutMs),
    );
  }

  /** Polls a token request until it is processed, rejected or expired (or the deadline passes). */
  waitForTokenRequestResult(tokenRequestId, options) {
    return this.#handle.run(
      () => [checkId('tokenio', tokenRequestId, 'tokenRequestId'), ...callArgs('tokenio', options, true)],
      (c, [id, ...wait]) => waitFor(c, id, undefined, wait),
    );
  }

  /**
   * Hands a status learned elsewhere (a webhook your server received and pushed to this page,
   * say) to this client's waits on its id: a terminal status resolves them at once, another
   * reaches their `onUpdate`. Returns how many waits it reached.
   */
  notify(status) {
    return this.#handle.notify(status);
  }

  /** Frees the client's WebAssembly memory now instead of at garbage collection. */
  free() {
    this.#handle.free();
  }
}

export { TokenStatusError };
