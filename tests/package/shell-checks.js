// The JavaScript shell's checks, run from the packed package in Node and in a browser page (the
// same file is copied into a Node project and into the Vite app): constructors throw
// `invalid_argument` synchronously for bad options and `insecure_credentials` for a credential in
// a browser; methods reject (never throw) for bad arguments and call options, and send nothing.
// `shellChecks` returns how many checks ran and what failed, so the caller asserts both.

const CREDENTIALS = {
  truemed: { apiKey: 'sim-truemed-key' },
  gr4vy: { bearerToken: 'sim-gr4vy-token' },
  tokenio: { basicCredentials: 'c2ltOnRva2VuaW8=' },
};

const COMMON_BAD = [
  { nope: 1 }, { apikey: 'x' }, { environment: 'staging' }, { environment: '' },
  { baseUrl: 'ftp://x' }, { baseUrl: 'not a url' }, { baseUrl: 'http://' }, { baseUrl: 'https:///x' },
  { baseUrl: 'https://user:pw@example.com' }, { baseUrl: 'https://example.com/?q=1' },
  { baseUrl: 'https://example.com/#f' }, { baseUrl: 'https://h/a b' }, { baseUrl: 42 },
  { timeoutMs: -1 }, { timeoutMs: 0 }, { timeoutMs: '100' }, { timeoutMs: Number.NaN },
  { timeoutMs: 2147483648 },
  { retry: 'yes' }, { retry: true }, { retry: { maxRetries: -1 } }, { retry: { maxRetries: 1.5 } },
  { retry: { maxRetries: 21 } }, { retry: { tries: 3 } }, { retry: { initialDelayMs: -10 } },
  { headers: { 'x-a': 1 } }, { headers: { 'x-a': null } }, { headers: 'x-a: 1' }, { headers: ['x-a'] },
  { headers: { 'bad header': 'v' } }, { headers: { 'x-a': 'line\nbreak' } },
  { allowBrowserCredentials: 'yes' },
];

const SPECIFIC_BAD = [
  ['tokenio', { bearerToken: 'sim-tokenio-token' }], // with basicCredentials from the defaults
  ['tokenio', { basicCredentials: '' }],
  ['tokenio', { basicCredentials: 7 }],
  ['tokenio', { basicCredentials: undefined, bearerToken: '' }],
  ['tokenio', { basicCredentials: undefined, bearerToken: 'a\u0001b' }],
  ['truemed', { apiKey: 42 }],
  ['truemed', { apiKey: '' }],
  ['truemed', { apiKey: ' ' }],
  ['truemed', { apiKey: 'k\ud800' }],
  ['gr4vy', { baseUrl: undefined }],
  ['gr4vy', { bearerToken: false }],
  ['gr4vy', { merchantAccountId: 7 }],
  ['gr4vy', { privateKey: 42 }],
  ['gr4vy', { privateKey: ' ' }],
  ['gr4vy', { privateKey: '-----BEGIN PRIVATE KEY-----' }], // with bearerToken from the defaults
  ['gr4vy', { bearerToken: undefined, privateKey: 'pem', scopes: [] }],
  ['gr4vy', { bearerToken: undefined, privateKey: 'pem', scopes: [''] }],
  ['gr4vy', { bearerToken: undefined, privateKey: 'pem', scopes: 'payment-methods.read\n' }],
  ['gr4vy', { scopes: ['payment-methods.read'] }], // scopes without privateKey
  ['gr4vy', { webhookSecrets: [] }],
  ['gr4vy', { webhookSecrets: ['ok', 'trailing\n'] }],
  ['gr4vy', { webhookSecrets: 7 }],
  ['truemed', { webhookSecret: '' }],
  ['truemed', { webhookSecret: [1] }],
  ['tokenio', { webhookSecret: 's' }], // Token.io has no token-request webhook
];

/** Ids of the wrong type, or not well-formed Unicode: the shell rejects them. */
const BAD_ID_TYPES = [42, undefined, null, true, { id: 'x' }, ['x'], 'rq:x\ud800', '\udc00'];

export async function shellChecks({ TruemedClient, Gr4vyClient, TokenIoClient, TokenStatusError }, { sim, browser }) {
  const classes = { truemed: TruemedClient, gr4vy: Gr4vyClient, tokenio: TokenIoClient };
  const failures = [];
  let checks = 0;
  const describe = (v) => (typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v, (_, x) => (x === undefined ? '<undefined>' : typeof x === 'function' ? '<function>' : x)) ?? String(v));
  const options = (provider, extra = {}) => {
    const out = { baseUrl: `${sim}/${provider}`, ...CREDENTIALS[provider], allowBrowserCredentials: true, ...extra };
    for (const [k, v] of Object.entries(extra)) if (v === undefined) delete out[k];
    return out;
  };
  /** `make()` must throw synchronously a TokenStatusError of `kind`. */
  const throws = (what, provider, kind, make, secret) => {
    checks += 1;
    try {
      make();
      failures.push(`${what}: constructed`);
    } catch (error) {
      if (!(error instanceof TokenStatusError)) failures.push(`${what}: threw ${error} (not a TokenStatusError)`);
      else if (error.kind !== kind || error.provider !== provider) failures.push(`${what}: ${error.kind}/${error.provider}: ${error.message}`);
      else if (error.retryable !== false || error.attempts !== 0 || error.status !== null) failures.push(`${what}: fields ${JSON.stringify(error)}`);
      else if (secret && JSON.stringify(error).includes(secret)) failures.push(`${what}: the error holds the credential`);
    }
  };
  /** `call()` must return a Promise (never throw) that rejects with invalid_argument. */
  const rejects = async (what, provider, call) => {
    checks += 1;
    let promise;
    try {
      promise = call();
    } catch (error) {
      failures.push(`${what}: threw synchronously: ${error}`);
      return;
    }
    if (!(promise instanceof Promise)) {
      failures.push(`${what}: returned ${describe(promise)}`);
      return;
    }
    try {
      await promise;
      failures.push(`${what}: resolved`);
    } catch (error) {
      if (!(error instanceof TokenStatusError) || error.kind !== 'invalid_argument' || error.provider !== provider || error.attempts !== 0) {
        failures.push(`${what}: rejected with ${error?.kind}/${error?.provider}/${error?.attempts}: ${error?.message}`);
      }
    }
  };

  for (const provider of Object.keys(classes)) {
    const Client = classes[provider];
    for (const extra of COMMON_BAD) {
      throws(`${provider} ${describe(extra)}`, provider, 'invalid_argument', () => new Client(options(provider, extra)));
    }
    for (const value of ['options', 1, [], () => ({})]) {
      throws(`${provider} options ${describe(value)}`, provider, 'invalid_argument', () => new Client(value));
    }
  }
  for (const [provider, extra] of SPECIFIC_BAD) {
    throws(`${provider} ${describe(extra)}`, provider, 'invalid_argument', () => new classes[provider](options(provider, extra)));
  }
  throws('gr4vy instanceId "bad id!"', 'gr4vy', 'invalid_argument', () => new Gr4vyClient({ instanceId: 'bad id!' }));
  throws('gr4vy instanceId ""', 'gr4vy', 'invalid_argument', () => new Gr4vyClient({ instanceId: '' }));
  throws('gr4vy without instanceId or baseUrl', 'gr4vy', 'invalid_argument', () => new Gr4vyClient({ bearerToken: 't', allowBrowserCredentials: true }));
  throws('tokenio bearer function and basicCredentials', 'tokenio', 'invalid_argument',
    () => new TokenIoClient(options('tokenio', { bearerToken: () => 't' })));

  // An unknown option names the known ones.
  checks += 1;
  try {
    new TokenIoClient({ nope: true });
    failures.push('unknown option: constructed');
  } catch (error) {
    if (!/Unknown option "nope" in options \(known: .*basicCredentials.*\)\./.test(error.message)) failures.push(`unknown option message: ${error.message}`);
  }

  // Good options construct everywhere, credential or not.
  for (const [provider, value] of [['truemed', undefined], ['truemed', { environment: 'production' }], ['tokenio', {}],
    ['gr4vy', { instanceId: 'acme-1', environment: 'production' }], ['gr4vy', { baseUrl: 'https://proxy.example/gr4vy/' }],
    ['tokenio', options('tokenio', { timeoutMs: 2147483647, retry: false, headers: { 'X-Request-Id': 'r' } })]]) {
    checks += 1;
    try {
      new classes[provider](value);
    } catch (error) {
      failures.push(`${provider} ${describe(value)}: ${error.message}`);
    }
  }

  // The credential guard: a credential in a browser throws insecure_credentials unless allowed;
  // on a server it constructs.
  const guarded = [
    ['truemed', { apiKey: 'tm-key-guard-1' }, 'tm-key-guard-1'],
    ['gr4vy', { bearerToken: 'gr-token-guard-2' }, 'gr-token-guard-2'],
    ['gr4vy', { bearerToken: () => 'fn-token' }, 'fn-token'],
    ['tokenio', { basicCredentials: 'dGlvLWd1YXJkLTM=' }, 'dGlvLWd1YXJkLTM='],
    ['tokenio', { bearerToken: 'tio-bearer-guard-4' }, 'tio-bearer-guard-4'],
    ['tokenio', { headers: { Authorization: 'Bearer hdr-guard-5' }, allowBrowserCredentials: false }, 'hdr-guard-5'],
    ['truemed', { headers: { 'X-Truemed-Api-Key': 'hdr-guard-6' } }, 'hdr-guard-6'],
    ['truemed', { webhookSecret: 'whsec-guard-7' }, 'whsec-guard-7'],
    ['gr4vy', { webhookSecrets: ['whsec-guard-8', 'whsec-guard-9'] }, 'whsec-guard-8'],
  ];
  for (const [provider, extra, secret] of guarded) {
    const value = { baseUrl: `${sim}/${provider}`, ...extra };
    const what = `${provider} credential ${describe(extra)}`;
    if (browser) throws(what, provider, 'insecure_credentials', () => new classes[provider](value), secret);
    else {
      checks += 1;
      try {
        new classes[provider](value);
      } catch (error) {
        failures.push(`${what} on a server: ${error.message}`);
      }
    }
    checks += 1;
    try {
      new classes[provider]({ ...value, allowBrowserCredentials: true });
    } catch (error) {
      failures.push(`${what} with allowBrowserCredentials: ${error.message}`);
    }
  }

  // Methods reject, never throw, and send nothing: a marker header lets the simulator's log
  // tell whether anything was sent.
  const marker = `marker-${Math.random().toString(36).slice(2)}`;
  const client = {};
  for (const provider of Object.keys(classes)) {
    client[provider] = new classes[provider](options(provider, { headers: { 'x-test-marker': marker } }));
  }
  const { truemed, gr4vy, tokenio } = client;
  const provision = { paymentServiceId: 'svc', redirectUrl: 'https://x.example' };
  for (const id of BAD_ID_TYPES) {
    const what = `id ${describe(id)}`;
    await rejects(`${what} truemed get`, 'truemed', () => truemed.getProvisionTokenRequest(id));
    await rejects(`${what} truemed wait`, 'truemed', () => truemed.waitForProvisionTokenRequest(id));
    await rejects(`${what} tokenio get`, 'tokenio', () => tokenio.getTokenRequestResult(id));
    await rejects(`${what} tokenio wait`, 'tokenio', () => tokenio.waitForTokenRequestResult(id));
    await rejects(`${what} gr4vy get token`, 'gr4vy', () => gr4vy.getPaymentServiceToken('pm-good', id));
    await rejects(`${what} gr4vy get pm`, 'gr4vy', () => gr4vy.getPaymentServiceToken(id, 'pst'));
    await rejects(`${what} gr4vy wait`, 'gr4vy', () => gr4vy.waitForPaymentServiceToken('pm-good', id));
    await rejects(`${what} gr4vy list`, 'gr4vy', () => gr4vy.listPaymentServiceTokens(id));
    await rejects(`${what} gr4vy provision`, 'gr4vy', () => gr4vy.provisionPaymentServiceToken(id, provision));
  }
  await rejects('no arguments', 'tokenio', () => tokenio.getTokenRequestResult());
  await rejects('no arguments', 'gr4vy', () => gr4vy.provisionPaymentServiceToken());
  for (const params of [
    'svc', 1, [], { paymentServiceId: 'svc' }, { redirectUrl: 'https://x.example' },
    { paymentServiceId: '', redirectUrl: 'https://x.example' }, { ...provision, extra: 1 },
    { ...provision, securityCode: 123 }, { ...provision, paymentServiceId: 7 },
  ]) {
    await rejects(`provision params ${describe(params)}`, 'gr4vy', () => gr4vy.provisionPaymentServiceToken('pm-good', params));
  }
  for (const params of ['svc', 1, { paymentServiceId: '' }, { paymentServiceId: 7 }, { service: 'x' }]) {
    await rejects(`list params ${describe(params)}`, 'gr4vy', () => gr4vy.listPaymentServiceTokens('pm-good', params));
  }
  const badCallOptions = [
    { foo: 1 }, { signal: 'x' }, { signal: {} }, { signal: { aborted: false } }, { timeoutMs: 0 },
    { timeoutMs: -5 }, { timeoutMs: '100' }, { deadlineMs: 100 }, { onUpdate: () => {} }, 'options', 3,
  ];
  for (const value of badCallOptions) {
    const what = `call options ${describe(value)}`;
    await rejects(`${what} truemed`, 'truemed', () => truemed.getProvisionTokenRequest('ptr-ok', value));
    await rejects(`${what} tokenio`, 'tokenio', () => tokenio.getTokenRequestResult('rq:ok', value));
    await rejects(`${what} gr4vy get`, 'gr4vy', () => gr4vy.getPaymentServiceToken('pm-good', 'pst', value));
    await rejects(`${what} gr4vy list`, 'gr4vy', () => gr4vy.listPaymentServiceTokens('pm-good', undefined, value));
  }
  for (const value of [{ foo: 1 }, { pollMs: 10 }, { deadlineMs: -1 }, { intervalMs: 'fast' }, { maxIntervalMs: -2 }, { onUpdate: 'f' }, { signal: {} }]) {
    const what = `wait options ${describe(value)}`;
    await rejects(`${what} tokenio`, 'tokenio', () => tokenio.waitForTokenRequestResult('rq:ok', value));
    await rejects(`${what} gr4vy`, 'gr4vy', () => gr4vy.waitForPaymentServiceToken('pm-good', 'pst', value));
  }
  for (const provider of Object.keys(classes)) {
    checks += 1;
    const log = await (await fetch(`${sim}/_sim/requests?provider=${provider}`)).json();
    const sent = log.filter((entry) => entry.headers?.['x-test-marker'] === marker);
    if (sent.length > 0) failures.push(`${provider}: ${sent.length} requests were sent for invalid arguments: ${sent.map((e) => e.rawPath).join(', ')}`);
  }
  return { checks, failures };
}
