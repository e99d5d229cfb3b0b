// What a user's code does right after importing token-status, in a page or a worker, copied
// into every consumer project of tests/loading/ (`__BUNDLER__` is replaced by its name).
// Every constructor check and the first call run in the same tick as the import, before the
// .wasm can have arrived; each call is bounded, so a hang is reported rather than waited out.
import { TokenIoClient, TruemedClient, TokenStatusError } from 'token-status';

const BUNDLER = '__BUNDLER__';
const CREDENTIAL = 'sim-tokenio-token';
const BOUND_MS = 10000;
const inWorker = typeof document === 'undefined';

// Uncaught errors and unhandled rejections inside a worker (the page records its own).
const errors = [];
if (inWorker) {
  self.addEventListener('error', (e) => errors.push({ type: 'error', message: String(e.message) }));
  self.addEventListener('unhandledrejection', (e) => {
    errors.push({ type: 'unhandledrejection', message: String((e.reason && e.reason.stack) || e.reason) });
  });
}

const describeError = (err) => ({
  instanceOf: err instanceof TokenStatusError,
  isError: err instanceof Error,
  name: err && err.name,
  kind: err && err.kind,
  message: String(err && err.message),
});

const construct = (make) => {
  try {
    make();
    return { threw: false };
  } catch (err) {
    return { threw: true, ...describeError(err) };
  }
};

/** How `promise` settles within BOUND_MS, and after how many ms. */
const settle = (promise) => {
  const started = performance.now();
  let timer;
  const hang = new Promise((resolve) => { timer = setTimeout(() => resolve({ hung: true }), BOUND_MS); });
  const outcome = Promise.resolve(promise).then(
    (value) => ({ resolved: true, value }),
    (err) => ({ rejected: true, error: describeError(err) }),
  );
  return Promise.race([outcome, hang]).then((r) => {
    clearTimeout(timer);
    return { ...r, ms: Math.round(performance.now() - started) };
  });
};

/** The constructor checks a browser user relies on: all synchronous. */
const constructorChecks = (baseUrl) => ({
  unknownOption: construct(() => new TokenIoClient({ baseUrl, bogus: 1 })),
  credential: construct(() => new TokenIoClient({ baseUrl, bearerToken: CREDENTIAL })),
  truemedCredential: construct(() => new TruemedClient({ baseUrl, apiKey: 'sim-truemed-key' })),
});

const statusCall = (baseUrl, id) => {
  const client = new TokenIoClient({ baseUrl, bearerToken: CREDENTIAL, allowBrowserCredentials: true, retry: false });
  return client.getTokenRequestResult(id);
};

/** Runs the checks for `label` ('page', 'module-worker', ...); resolves what happened. */
export function probe(label) {
  const baseUrl = location.origin + '/tokenio';
  const id = 'rq:loading:' + BUNDLER + ':' + label;
  const out = { label, id, inWorker, atImport: constructorChecks(baseUrl) };
  let first;
  try {
    const call = statusCall(baseUrl, id);
    out.returnsPromise = call instanceof Promise;
    first = settle(call);
  } catch (err) {
    out.callThrew = describeError(err);
    first = Promise.resolve(null);
  }
  return first.then(async (result) => {
    out.first = result;
    // Once the module has loaded (or failed to): the same checks, and a second call.
    out.later = constructorChecks(baseUrl);
    try {
      out.second = await settle(statusCall(baseUrl, id));
    } catch (err) {
      out.second = { threw: true, error: describeError(err) };
    }
    return out;
  });
}

/** In a worker: posts the probe's result, with the errors the worker saw, to the page. */
export function report(probing) {
  probing.then(
    (out) => setTimeout(() => postMessage({ ...out, errors }), 50),
    (err) => postMessage({ fatal: String((err && err.stack) || err), errors }),
  );
}
