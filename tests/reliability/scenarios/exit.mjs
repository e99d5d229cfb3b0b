// Exit scenario, run as a child by poison.test.mjs: `node exit.mjs <simulatorUrl> <flowsJson>`.
// Finishes some waits, aborts others (in a sleep and in flight), lets one run out its deadline,
// then prints one JSON line with `lastAwaitAt` and returns: the process must exit by itself,
// promptly, with nothing of the package's (timer, listener, socket) keeping it alive.
import { PKG_NODE } from '../support/harness.mjs';

const [url, flowsJson] = process.argv.slice(2);
const flows = JSON.parse(flowsJson);
const { TruemedClient, Gr4vyClient, TokenIoClient } = await import(PKG_NODE);

const retry = { maxRetries: 2, initialDelayMs: 10, maxDelayMs: 50 };
const truemed = new TruemedClient({ baseUrl: `${url}/truemed`, apiKey: 'sim-truemed-key', retry });
const gr4vy = new Gr4vyClient({ baseUrl: `${url}/gr4vy`, bearerToken: 'sim-gr4vy-token', retry });
const tokenio = new TokenIoClient({ baseUrl: `${url}/tokenio`, basicCredentials: 'c2ltOnRva2VuaW8=', retry });
const opts = { intervalMs: 40, maxIntervalMs: 80, deadlineMs: 10_000 };

const outcome = (p) => p.then((s) => s.state, (e) => e.kind);
const abortAfter = (ms) => {
  const ac = new AbortController();
  setTimeout(() => ac.abort(), ms);
  return ac.signal;
};

const outcomes = {};
[outcomes.done, outcomes.failed, outcomes.abortedInSleep, outcomes.abortedInFlight, outcomes.deadline, outcomes.abortedCall] =
  await Promise.all([
    outcome(tokenio.waitForTokenRequestResult(flows.done.id, opts)),
    outcome(gr4vy.waitForPaymentServiceToken(flows.failed.paymentMethodId, flows.failed.id, opts)),
    outcome(truemed.waitForProvisionTokenRequest(flows.pending.id, { ...opts, signal: abortAfter(150) })),
    outcome(tokenio.waitForTokenRequestResult(flows.slow.id, { ...opts, signal: abortAfter(300) })),
    outcome(tokenio.waitForTokenRequestResult(flows.deadline.id, { ...opts, deadlineMs: 250 })),
    outcome(tokenio.getTokenRequestResult(flows.done.id, { signal: AbortSignal.abort() })),
  ]);
const lastAwaitAt = Date.now();
console.log(JSON.stringify({ outcomes, lastAwaitAt }));
