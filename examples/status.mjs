#!/usr/bin/env node
// Check, or wait for, a payment token's provisioning status from the command line.
//
//   node examples/status.mjs truemed <provision token request id> [--wait]
//   node examples/status.mjs gr4vy   <payment method id> <payment service token id> [--wait]
//   node examples/status.mjs tokenio <token request id> [--wait]
//
// By default it talks to the provider simulator (SIMULATOR_URL, default http://127.0.0.1:8787;
// start one with `node www/simulator.mjs`) using the simulator's own credentials. Set a
// provider's credentials to talk to the real provider instead (the demo server's variables):
//   TRUEMED_API_KEY [TRUEMED_ENVIRONMENT=sandbox|production]
//   GR4VY_INSTANCE_ID + GR4VY_BEARER_TOKEN [GR4VY_MERCHANT_ACCOUNT_ID] [GR4VY_ENVIRONMENT]
//   TOKENIO_BEARER_TOKEN or TOKENIO_BASIC_CREDENTIALS [TOKENIO_ENVIRONMENT]
//
// Output: one JSON line per update ({"update": status}), then {"final": status}; on failure
// {"error": {...}} and a readable line on stderr. Exit code: 0 on a terminal status (succeeded,
// failed, expired), 1 on an error or a status that is not terminal yet, 2 on bad usage.

// In your project: import { TruemedClient, Gr4vyClient, TokenIoClient, TokenStatusError } from 'token-status';
import { TruemedClient, Gr4vyClient, TokenIoClient, TokenStatusError } from '../pkg/index.mjs';

const USAGE = `usage: node examples/status.mjs <truemed|gr4vy|tokenio> <id> [<token id for gr4vy>] [--wait]
  truemed <provision token request id>
  gr4vy   <payment method id> <payment service token id>
  tokenio <token request id>
  --wait  poll until the status is final (up to 10 minutes; Ctrl-C stops)`;

function usage(message) {
  if (message) process.stderr.write(`status: ${message}\n`);
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}

const env = (name) => {
  const v = process.env[name];
  return v && v.trim() !== '' ? v.trim() : undefined;
};
const environment = (name) => (env(name)?.toLowerCase() === 'production' ? 'production' : 'sandbox');

/** The simulator's credentials (docs/SIMULATOR.md): used only when no real ones are set. */
const SIMULATOR = {
  url: (env('SIMULATOR_URL') ?? 'http://127.0.0.1:8787').replace(/\/+$/, ''),
  truemed: 'sim-truemed-key',
  gr4vy: 'sim-gr4vy-token',
  tokenio: 'c2ltOnRva2VuaW8=',
};

function makeClient(provider) {
  if (provider === 'truemed') {
    const apiKey = env('TRUEMED_API_KEY');
    return apiKey
      ? new TruemedClient({ apiKey, environment: environment('TRUEMED_ENVIRONMENT') })
      : new TruemedClient({ apiKey: SIMULATOR.truemed, baseUrl: `${SIMULATOR.url}/truemed` });
  }
  if (provider === 'gr4vy') {
    const bearerToken = env('GR4VY_BEARER_TOKEN');
    return bearerToken
      ? new Gr4vyClient({
          instanceId: env('GR4VY_INSTANCE_ID'),
          bearerToken,
          merchantAccountId: env('GR4VY_MERCHANT_ACCOUNT_ID'),
          environment: environment('GR4VY_ENVIRONMENT'),
        })
      : new Gr4vyClient({ bearerToken: SIMULATOR.gr4vy, baseUrl: `${SIMULATOR.url}/gr4vy` });
  }
  const bearerToken = env('TOKENIO_BEARER_TOKEN');
  const basicCredentials = env('TOKENIO_BASIC_CREDENTIALS');
  if (bearerToken || basicCredentials) {
    return new TokenIoClient({
      ...(bearerToken ? { bearerToken } : { basicCredentials }),
      environment: environment('TOKENIO_ENVIRONMENT'),
    });
  }
  return new TokenIoClient({ basicCredentials: SIMULATOR.tokenio, baseUrl: `${SIMULATOR.url}/tokenio` });
}

const print = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);

async function main() {
  const args = process.argv.slice(2);
  const wait = args.includes('--wait');
  const positional = args.filter((a) => a !== '--wait');
  if (positional.some((a) => a.startsWith('--'))) usage(`unknown option ${positional.find((a) => a.startsWith('--'))}`);
  const [provider, ...ids] = positional;
  if (!['truemed', 'gr4vy', 'tokenio'].includes(provider)) usage(provider ? `unknown provider "${provider}"` : null);
  if (ids.length !== (provider === 'gr4vy' ? 2 : 1)) usage(`${provider} takes ${provider === 'gr4vy' ? 'two ids' : 'one id'}`);

  // Ctrl-C ends a wait cleanly (the wait rejects with kind "aborted").
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  const waitOptions = { signal: controller.signal, onUpdate: (status) => print({ update: status }) };
  const callOptions = { signal: controller.signal };

  let client;
  try {
    client = makeClient(provider);
    let status;
    if (provider === 'truemed') {
      status = wait
        ? await client.waitForProvisionTokenRequest(ids[0], waitOptions)
        : await client.getProvisionTokenRequest(ids[0], callOptions);
    } else if (provider === 'gr4vy') {
      status = wait
        ? await client.waitForPaymentServiceToken(ids[0], ids[1], waitOptions)
        : await client.getPaymentServiceToken(ids[0], ids[1], callOptions);
    } else {
      status = wait
        ? await client.waitForTokenRequestResult(ids[0], waitOptions)
        : await client.getTokenRequestResult(ids[0], callOptions);
    }
    print({ final: status });
    if (!status.terminal) {
      process.stderr.write(`status: ${status.state} is not final yet; run again, or add --wait\n`);
      process.exitCode = 1;
    }
  } catch (err) {
    if (err instanceof TokenStatusError) {
      print({ error: err.toJSON() });
      process.stderr.write(`status: ${err.kind}: ${err.message}\n`);
    } else {
      process.stderr.write(`status: ${err?.message ?? err}\n`);
    }
    process.exitCode = 1;
  } finally {
    client?.free();
    process.removeAllListeners('SIGINT');
  }
}

await main();
