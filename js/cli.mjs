#!/usr/bin/env node
// The `token-status` command (the package's "bin"): check or wait on a payment token's
// provisioning status from a terminal, or serve the provider simulator. Runs when loaded.
//
//   token-status check <truemed|gr4vy|tokenio> <id> [<tokenId>] [options]
//   token-status wait  <truemed|gr4vy|tokenio> <id> [<tokenId>] [options]
//   token-status simulate [--port 8787]
//
// The result goes to stdout; progress, usage and errors to stderr. Credentials come from the
// environment only, and no output ever holds one (each is replaced by [redacted]).
// Exit codes: 0 succeeded; 3 failed or expired; 4 not terminal (a check of a pending,
// action_required or unknown status, or a wait that reached its deadline); 1 any other error;
// 2 usage error. Ctrl-C (SIGINT) or SIGTERM during check or wait: 130 or 143; `simulate`
// stops on either with 0.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const EXIT = { succeeded: 0, error: 1, usage: 2, failed: 3, notTerminal: 4 };
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 };
const PROVIDERS = ['truemed', 'gr4vy', 'tokenio'];
const ID_NAMES = {
  truemed: ['provision token request id'],
  gr4vy: ['payment method id', 'payment service token id'],
  tokenio: ['token request id'],
};

const USAGE = `usage: token-status check <truemed|gr4vy|tokenio> <id> [<tokenId>] [options]
       token-status wait  <truemed|gr4vy|tokenio> <id> [<tokenId>] [options]
       token-status simulate [--port 8787]

  check     read the status once
  wait      poll until the status is final (succeeded, failed, expired) or the deadline passes
  simulate  serve the provider simulator on 127.0.0.1 until Ctrl-C (control API: simulator/README.md)

  ids:      truemed <provision token request id>
            gr4vy   <payment method id> <payment service token id>
            tokenio <token request id>

options (after the ids):
  --base-url URL       the client's baseUrl, e.g. http://127.0.0.1:8787/tokenio (the simulator)
  --environment ENV    sandbox (the default) or production: which provider hosts
  --timeout MS         each HTTP attempt (default 30000)
  --deadline MS        wait only: the whole wait (default 600000)
  --interval MS        wait only: the first delay between polls (default 1000)
  --json               the final status as one JSON line; errors as JSON on stderr
  --port PORT          simulate only (default 8787; 0 picks a free port)
  --help, --version

credentials (from the environment only; never printed):
  truemed   TRUEMED_API_KEY
  gr4vy     GR4VY_INSTANCE_ID with GR4VY_PRIVATE_KEY (PEM text), GR4VY_PRIVATE_KEY_FILE or
            GR4VY_BEARER_TOKEN; optional GR4VY_MERCHANT_ACCOUNT_ID
  tokenio   TOKENIO_BEARER_TOKEN or TOKENIO_BASIC_CREDENTIALS

exit codes: 0 succeeded, 3 failed or expired, 4 not final yet (or the wait's deadline passed),
            1 any other error (kind and message printed), 2 usage error`;

const OPTIONS = {
  'base-url': { type: 'string' },
  environment: { type: 'string' },
  timeout: { type: 'string' },
  deadline: { type: 'string' },
  interval: { type: 'string' },
  json: { type: 'boolean' },
  port: { type: 'string' },
  help: { type: 'boolean' },
  version: { type: 'boolean' },
};
/** Which command each option belongs to (the rest belong to check and wait). */
const ONLY = { deadline: ['wait'], interval: ['wait'], port: ['simulate'] };
const NOT_FOR_SIMULATE = ['base-url', 'environment', 'timeout', 'json'];

/** A bad command line: exit 2 with the usage on stderr. */
class UsageError extends Error {}

// ---------------------------------------------------------------------------------------------
// Output: every byte goes through `out` / `err`, which redact credentials.

let secrets = [];

/** Replaces every credential (longest first) by [redacted]. */
function redact(text) {
  let s = String(text);
  for (const secret of secrets) s = s.split(secret).join('[redacted]');
  return s;
}
const out = (text) => process.stdout.write(redact(text));
const err = (text) => process.stderr.write(redact(text));

/** Colour only on a terminal, and never with NO_COLOR set (https://no-color.org) or TERM=dumb. */
const colourFor = (stream) => stream.isTTY === true && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
const SGR = { green: 32, red: 31, yellow: 33, cyan: 36, dim: 2, bold: 1 };
const paint = (on) => (style, text) => (on ? `\x1b[${SGR[style]}m${text}\x1b[0m` : text);
const STATE_STYLE = { succeeded: 'green', failed: 'red', expired: 'red', pending: 'yellow', action_required: 'yellow' };

/** The human form of a status: one `name  value` line per field that is set. */
function formatStatus(status, colour) {
  const c = paint(colour);
  const lines = [];
  const keys = ['state', 'provider', 'id', 'providerStatus', 'token', 'actionUrl', 'reason', 'metadata'];
  for (const k of Object.keys(status)) if (!keys.includes(k) && k !== 'terminal') keys.push(k);
  for (const key of keys) {
    const value = status[key];
    if (value === null || value === undefined) continue;
    let text;
    if (key === 'state') text = c(STATE_STYLE[value] ?? 'bold', value);
    else if (typeof value === 'object') {
      // Token.io's signature: who signed, not the signature bytes (--json has everything).
      text = Object.entries(value).filter(([k]) => k !== 'signature').map(([k, v]) => `${k} ${v}`).join(', ');
    } else text = String(value);
    lines.push(`${key.padEnd(16)}${text}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The human form of an error: `token-status: kind: message`, then what a support ticket needs. */
function formatError(e) {
  if (!e || typeof e.kind !== 'string') return `token-status: ${e?.message ?? e}\n`;
  const details = [];
  if (e.status !== null) details.push(`HTTP ${e.status}`);
  if (e.code !== null) details.push(`code ${e.code}`);
  if (e.traceId !== null) details.push(`trace ${e.traceId}`);
  if (e.attempts > 0) details.push(`${e.attempts} ${e.attempts === 1 ? 'request' : 'requests'}`);
  if (e.retryable) details.push('retryable');
  return `token-status: ${e.kind}: ${e.message}\n${details.length ? `  ${details.join(' · ')}\n` : ''}`;
}

const errorJson = (e) => (e && typeof e.toJSON === 'function' ? e.toJSON() : { name: e?.name ?? 'Error', message: String(e?.message ?? e) });

function elapsed(ms) {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/**
 * Progress of a wait on stderr. On a terminal: one live line (spinner, state, provider status,
 * polls, elapsed) redrawn in place; otherwise one line per update (none with --json, so stderr
 * holds only the error there). `polls()` counts the status requests sent so far.
 */
function progress({ json, polls, provider }) {
  const stream = process.stderr;
  const live = stream.isTTY === true;
  const c = paint(colourFor(stream));
  const started = Date.now();
  const frames = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
  let frame = 0;
  let status = null;
  let timer = null;

  const describe = () => {
    const n = polls();
    const state = status ? status.state + (status.providerStatus ? ` (${status.providerStatus})` : '') : `asking ${provider}`;
    return [state, `${n} ${n === 1 ? 'poll' : 'polls'} · ${elapsed(Date.now() - started)}`];
  };
  const draw = (mark) => {
    const [state, rest] = describe();
    const room = Math.max(20, (stream.columns || 80) - 1);
    let tail = ` · ${rest}`;
    const used = 2 + state.length;
    if (used + tail.length > room) tail = tail.slice(0, Math.max(0, room - used - 1)) + '…';
    const styled = c(STATE_STYLE[status?.state] ?? 'bold', state);
    err(`\r\x1b[2K${c('cyan', mark ?? frames[frame++ % frames.length])} ${styled}${c('dim', tail)}`);
  };

  return {
    start() {
      if (!live) return;
      draw();
      timer = setInterval(draw, 80);
    },
    update(next) {
      status = next;
      if (live) draw();
      else if (!json) {
        const [state, rest] = describe();
        err(`wait: ${state} · ${rest}\n`);
      }
    },
    /** Ends the live line: a summary line (human output) or nothing (--json). */
    stop(outcome) {
      clearInterval(timer);
      if (!live) return;
      if (json || !outcome) err('\r\x1b[2K');
      else {
        draw(outcome === 'succeeded' ? '✔' : outcome === 'failed' ? '✖' : '•');
        err('\n');
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Command line

function parseCommandLine(argv) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(e.message);
  }
  const { values, positionals } = parsed;
  if (values.help || values.version) return { values, positionals };
  const [command, ...rest] = positionals;
  if (command === undefined) throw new UsageError('missing command: check, wait or simulate');
  if (!['check', 'wait', 'simulate'].includes(command)) throw new UsageError(`unknown command "${command}"`);
  for (const name of Object.keys(values)) {
    const only = ONLY[name];
    if (only && !only.includes(command)) throw new UsageError(`--${name} is for ${only.join(', ')} only`);
    if (command === 'simulate' && NOT_FOR_SIMULATE.includes(name)) throw new UsageError(`--${name} is for check and wait only`);
  }
  if (command === 'simulate') {
    if (rest.length) throw new UsageError(`simulate takes no arguments (got "${rest[0]}")`);
    return { command, port: port(values.port) };
  }
  const [provider, ...ids] = rest;
  if (provider === undefined) throw new UsageError(`${command} needs a provider: truemed, gr4vy or tokenio`);
  if (!PROVIDERS.includes(provider)) throw new UsageError(`unknown provider "${provider}": truemed, gr4vy or tokenio`);
  const names = ID_NAMES[provider];
  if (ids.length !== names.length) {
    throw new UsageError(`${provider} takes ${names.length === 1 ? 'one id' : 'two ids'}: ${names.map((n) => `<${n}>`).join(' ')}`);
  }
  const env = values.environment;
  if (env !== undefined && env !== 'sandbox' && env !== 'production') {
    throw new UsageError(`--environment must be sandbox or production (got "${env}")`);
  }
  return {
    command,
    provider,
    ids,
    json: values.json === true,
    baseUrl: values['base-url'],
    environment: env,
    timeoutMs: ms('timeout', values.timeout),
    deadlineMs: ms('deadline', values.deadline),
    intervalMs: ms('interval', values.interval),
  };
}

/** A number of milliseconds; the library checks its range. */
function ms(name, text) {
  if (text === undefined) return undefined;
  const n = text.trim() === '' ? NaN : Number(text);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${name} must be a number of milliseconds (got "${text}")`);
  return n;
}

function port(text) {
  if (text === undefined) return 8787;
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= 0 && n <= 65535)) throw new UsageError(`--port must be a port number from 0 to 65535 (got "${text}")`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Credentials: from the environment only.

/** A variable's value, or undefined when it is unset or blank. */
function env(name) {
  const v = process.env[name];
  return v !== undefined && v.trim() !== '' ? v.trim() : undefined;
}

const CREDENTIAL_VARS = ['TRUEMED_API_KEY', 'GR4VY_PRIVATE_KEY', 'GR4VY_BEARER_TOKEN', 'TOKENIO_BEARER_TOKEN', 'TOKENIO_BASIC_CREDENTIALS'];

/** Every credential in the environment (and each line of a PEM key), for redact(). */
function collectSecrets(privateKeyFromFile) {
  const found = CREDENTIAL_VARS.map(env).filter(Boolean);
  if (privateKeyFromFile) found.push(privateKeyFromFile.trim());
  for (const pem of found.filter((s) => s.includes('-----BEGIN'))) {
    for (const line of pem.split(/\r?\n/)) if (line.trim().length >= 16 && !line.startsWith('-----')) found.push(line.trim());
  }
  return [...new Set(found)].sort((a, b) => b.length - a.length);
}

/** The Gr4vy private key: GR4VY_PRIVATE_KEY (PEM text) or the file GR4VY_PRIVATE_KEY_FILE names. */
function gr4vyPrivateKey(TokenStatusError) {
  const text = env('GR4VY_PRIVATE_KEY');
  const file = env('GR4VY_PRIVATE_KEY_FILE');
  if (text && file) {
    throw new TokenStatusError('Set GR4VY_PRIVATE_KEY or GR4VY_PRIVATE_KEY_FILE, not both.', { kind: 'invalid_argument', provider: 'gr4vy' });
  }
  if (!file) return text;
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new TokenStatusError(`Could not read GR4VY_PRIVATE_KEY_FILE (${file}): ${e.code ?? e.message}.`, {
      kind: 'invalid_argument',
      provider: 'gr4vy',
    });
  }
}

/** The provider's credential options from the environment (only those that are set). */
function credentials(provider, privateKey) {
  const set = (entries) => Object.fromEntries(entries.filter(([, v]) => v !== undefined));
  if (provider === 'truemed') return set([['apiKey', env('TRUEMED_API_KEY')]]);
  if (provider === 'gr4vy') {
    return set([
      ['instanceId', env('GR4VY_INSTANCE_ID')],
      ['privateKey', privateKey],
      ['bearerToken', env('GR4VY_BEARER_TOKEN')],
      ['merchantAccountId', env('GR4VY_MERCHANT_ACCOUNT_ID')],
    ]);
  }
  return set([['bearerToken', env('TOKENIO_BEARER_TOKEN')], ['basicCredentials', env('TOKENIO_BASIC_CREDENTIALS')]]);
}

/**
 * Counts the requests this process sends: the library calls the global `fetch` once per HTTP
 * attempt, and the command sends nothing else. Every request passes through unchanged.
 */
function countRequests() {
  const original = globalThis.fetch;
  let count = 0;
  globalThis.fetch = function fetch(...args) {
    count++;
    return original.apply(this, args);
  };
  return () => count;
}

// ---------------------------------------------------------------------------------------------
// Commands

async function status(args) {
  const api = await import('./index.mjs');
  const { TokenStatusError } = api;
  let privateKey;
  let client;
  const controller = new AbortController();
  let signalled = null;
  const onSignal = (signal) => {
    if (signalled) process.exit(SIGNAL_EXIT[signalled]);
    signalled = signal;
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const polls = countRequests();
  const wait = args.command === 'wait';
  const report = wait ? progress({ json: args.json, polls, provider: args.provider }) : null;
  let code;
  try {
    if (args.provider === 'gr4vy') privateKey = gr4vyPrivateKey(TokenStatusError);
    if (privateKey && !env('GR4VY_PRIVATE_KEY')) secrets = collectSecrets(privateKey);
    const options = credentials(args.provider, privateKey);
    if (args.baseUrl !== undefined) options.baseUrl = args.baseUrl;
    if (args.environment !== undefined) options.environment = args.environment;
    if (args.timeoutMs !== undefined) options.timeoutMs = args.timeoutMs;
    const Client = { truemed: api.TruemedClient, gr4vy: api.Gr4vyClient, tokenio: api.TokenIoClient }[args.provider];
    client = new Client(options);
    const call = { signal: controller.signal };
    if (wait) {
      if (args.deadlineMs !== undefined) call.deadlineMs = args.deadlineMs;
      if (args.intervalMs !== undefined) call.intervalMs = args.intervalMs;
      call.onUpdate = (s) => report.update(s);
      report.start();
    }
    const [a, b] = args.ids;
    const result = await {
      truemed: () => (wait ? client.waitForProvisionTokenRequest(a, call) : client.getProvisionTokenRequest(a, call)),
      gr4vy: () => (wait ? client.waitForPaymentServiceToken(a, b, call) : client.getPaymentServiceToken(a, b, call)),
      tokenio: () => (wait ? client.waitForTokenRequestResult(a, call) : client.getTokenRequestResult(a, call)),
    }[args.provider]();
    report?.stop(result.state === 'succeeded' ? 'succeeded' : result.terminal ? 'failed' : 'other');
    printStatus(result, args.json);
    code = result.state === 'succeeded' ? EXIT.succeeded : result.terminal ? EXIT.failed : EXIT.notTerminal;
    if (code === EXIT.notTerminal && !args.json) {
      err(`token-status: ${result.state} is not final yet; \`token-status wait\` polls until it is\n`);
    }
  } catch (e) {
    const deadline = wait && e instanceof TokenStatusError && e.kind === 'timeout';
    report?.stop(deadline ? 'other' : null);
    if (deadline && e.lastStatus) printStatus(e.lastStatus, args.json);
    err(args.json ? `${JSON.stringify(errorJson(e))}\n` : formatError(e));
    code = deadline ? EXIT.notTerminal : EXIT.error;
  } finally {
    client?.free();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return signalled ? SIGNAL_EXIT[signalled] : code;
}

function printStatus(result, json) {
  out(json ? `${JSON.stringify(result)}\n` : formatStatus(result, colourFor(process.stdout)));
}

async function simulate(args) {
  const { serve } = await import('./simulator/serve.mjs');
  const { url } = await serve({ port: args.port, host: '127.0.0.1' });
  err(`  truemed  --base-url ${url}/truemed  with TRUEMED_API_KEY=sim-truemed-key
  gr4vy    --base-url ${url}/gr4vy    with GR4VY_BEARER_TOKEN=sim-gr4vy-token
  tokenio  --base-url ${url}/tokenio  with TOKENIO_BEARER_TOKEN=sim-tokenio-token
  a flow:  curl -s -X POST ${url}/_sim/flows -d '{"provider":"tokenio","outcome":"succeeded"}'
  (control API: simulator/README.md in the package; Ctrl-C stops)
`);
  return null; // serves until a signal ends the process
}

async function main(argv) {
  secrets = collectSecrets();
  let args;
  try {
    args = parseCommandLine(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err(`token-status: ${e.message}\n\n${USAGE}\n`);
    return EXIT.usage;
  }
  if (args.values?.help) {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.succeeded;
  }
  if (args.values?.version) {
    process.stdout.write(`${JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')).version}\n`);
    return EXIT.succeeded;
  }
  if (args.command === 'simulate') return simulate(args);
  return status(args);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== null) process.exitCode = code;
  },
  (e) => {
    err(formatError(e));
    process.exitCode = EXIT.error;
  },
);
