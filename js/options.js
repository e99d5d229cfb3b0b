// Checks every option a user passes, synchronously and before the WebAssembly core is involved,
// so that constructors throw at once even while the .wasm is still loading. What comes out is
// plain, already-valid data: the core only converts it (src/js.rs) and keeps every decision about
// requests, answers, retries and waits.
import { TokenStatusError } from './error.js';

/** Largest timeout or delay a JavaScript timer accepts (about 24.8 days). */
const MAX_TIMER_MS = 2147483647;

const COMMON = ['environment', 'baseUrl', 'timeoutMs', 'retry', 'headers', 'allowBrowserCredentials'];

/** Options only one client takes, after the common ones. */
const PROVIDER_OPTIONS = {
  truemed: ['apiKey', 'webhookSecret'],
  gr4vy: ['instanceId', 'bearerToken', 'privateKey', 'scopes', 'merchantAccountId', 'webhookSecrets'],
  tokenio: ['bearerToken', 'basicCredentials'],
};

const DISPLAY_NAME = { truemed: 'Truemed', gr4vy: 'Gr4vy', tokenio: 'Token.io' };

const CALL_OPTIONS = ['signal', 'timeoutMs'];
const WAIT_OPTIONS = ['signal', 'timeoutMs', 'deadlineMs', 'intervalMs', 'maxIntervalMs', 'onUpdate'];

/** Header names that carry a credential when a user sets them in `headers`. */
const CREDENTIAL_HEADERS = ['authorization', 'x-truemed-api-key'];

// RFC 9110 token characters.
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// C0 and C1 control characters (what Rust's char::is_control matches).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** An `invalid_argument` error of `provider`, thrown synchronously or used to reject. */
export const invalid = (provider, message) =>
  new TokenStatusError(message, { kind: 'invalid_argument', provider, retryable: false });

/** Cuts `text` to at most `max` UTF-16 units without splitting a pair, with `…` when cut. */
const truncate = (text, max) => {
  if (text.length <= max) return text;
  let end = max;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return text.slice(0, end) + '…';
};

const isPlainObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value);

const wellFormed = (text) =>
  typeof text.isWellFormed === 'function' ? text.isWellFormed() : !LONE_SURROGATE.test(text);

/**
 * One options object under check: unknown keys are refused up front, then fields are read one
 * by one, each failure naming the field and the rule.
 */
class Fields {
  constructor(value, provider, name, allowed) {
    this.provider = provider;
    this.name = name;
    this.object = undefined;
    if (value === undefined || value === null) return;
    if (!isPlainObject(value)) throw invalid(provider, `${name} must be an object.`);
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) {
        throw invalid(provider, `Unknown option "${truncate(key, 64)}" in ${name} (known: ${allowed.join(', ')}).`);
      }
    }
    this.object = value;
  }

  get(field) {
    return this.object === undefined ? undefined : this.object[field];
  }

  invalid(field, rule) {
    return invalid(this.provider, `${this.name}.${field} must be ${rule}.`);
  }

  /** A non-empty, well-formed string without control characters, or undefined. */
  string(field) {
    const value = this.get(field);
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value.trim() === '' || CONTROL.test(value) || !wellFormed(value)) {
      throw this.invalid(field, 'a non-empty, well-formed string without control characters');
    }
    return value;
  }

  /** A number in `min..max` (an integer when `integer`), or undefined. */
  number(field, min, max, integer = false) {
    const value = this.get(field);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !(value >= min && value <= max) || (integer && !Number.isInteger(value))) {
      throw this.invalid(field, `${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
    }
    return value;
  }

  boolean(field) {
    const value = this.get(field);
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') throw this.invalid(field, 'true or false');
    return value;
  }
}

/** `baseUrl`: an absolute http(s) URL with a host, no user:password, query or fragment. */
function checkBaseUrl(provider, base) {
  const bad = (why) =>
    invalid(provider, `baseUrl must be an absolute http(s) URL${why} (for example "https://api.example.com/${provider}").`);
  const scheme = /^https?:\/\//i.exec(base);
  if (!scheme) throw bad('');
  const rest = base.slice(scheme[0].length);
  const authority = rest.split('/')[0];
  if (authority === '') throw bad(' with a host');
  if (authority.includes('@')) throw bad(' without user:password (pass credentials as options)');
  if (rest.includes('?') || rest.includes('#')) throw bad(' without a query or fragment');
  if (base.includes(' ')) throw bad(' without spaces or control characters');
}

/** `headers`: header names to string values without line breaks; names lower-cased. */
function checkHeaders(fields) {
  const headers = fields.get('headers');
  if (headers === undefined) return {};
  if (!isPlainObject(headers)) throw fields.invalid('headers', 'an object of header names to string values');
  const out = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(name) || typeof value !== 'string' || /[\r\n\0]/.test(value)) {
      throw fields.invalid('headers', 'an object of valid header names to string values without line breaks');
    }
    out[name.toLowerCase()] = value;
  }
  return out;
}

function checkRetry(fields) {
  const value = fields.get('retry');
  if (value === undefined || value === false) return value;
  if (!isPlainObject(value)) throw fields.invalid('retry', 'false or an object');
  let retry;
  try {
    retry = new Fields(value, fields.provider, 'retry', ['maxRetries', 'initialDelayMs', 'maxDelayMs']);
  } catch {
    throw fields.invalid('retry', 'false or an object with maxRetries, initialDelayMs or maxDelayMs');
  }
  return {
    maxRetries: retry.number('maxRetries', 0, 20, true),
    initialDelayMs: retry.number('initialDelayMs', 0, MAX_TIMER_MS),
    maxDelayMs: retry.number('maxDelayMs', 0, MAX_TIMER_MS),
  };
}

/** A `bearerToken`: a non-empty string, or a function called before every attempt. */
function checkBearer(fields) {
  const value = fields.get('bearerToken');
  if (value === undefined || typeof value === 'function') return value;
  try {
    return fields.string('bearerToken');
  } catch {
    throw fields.invalid('bearerToken', 'a non-empty string, or a function returning one (or a Promise of one)');
  }
}

/** A list of non-empty strings without control characters (one string counts as a list of one). */
function stringList(fields, field, rule) {
  const value = fields.get(field);
  if (value === undefined) return undefined;
  const list = Array.isArray(value) ? value : [value];
  const ok = list.length > 0 && list.every((item) => typeof item === 'string' && item.trim() !== '' && !CONTROL.test(item) && wellFormed(item));
  if (!ok) throw fields.invalid(field, rule);
  return list;
}

/**
 * True in a browser page or a browser worker; false in Node, Deno, Bun and edge workers (none
 * of which has a `document` or a `WorkerGlobalScope` global object).
 */
export function isBrowser() {
  const g = globalThis;
  if (g.navigator?.userAgent === 'Cloudflare-Workers' || g.Deno !== undefined || g.Bun !== undefined) return false;
  if (g.document !== undefined) return true;
  return typeof g.WorkerGlobalScope === 'function' && g instanceof g.WorkerGlobalScope;
}

/**
 * Checks a client's options and returns the settings the core takes. Throws `invalid_argument`
 * for a bad option and `insecure_credentials` for a credential in a browser.
 */
export function clientSettings(provider, options) {
  const fields = new Fields(options, provider, 'options', [...COMMON, ...PROVIDER_OPTIONS[provider]]);
  const environment = fields.string('environment');
  if (environment !== undefined && environment !== 'sandbox' && environment !== 'production') {
    throw fields.invalid('environment', '"sandbox" or "production"');
  }
  const settings = { environment: environment ?? 'sandbox' };
  if (provider === 'gr4vy') {
    const instanceId = fields.string('instanceId');
    if (instanceId !== undefined && !/^[A-Za-z0-9-]{1,63}$/.test(instanceId)) {
      throw invalid(provider, "instanceId must be your Gr4vy instance id (letters, digits and '-'), or set baseUrl.");
    }
    settings.instanceId = instanceId;
  }
  const baseUrl = fields.string('baseUrl');
  if (baseUrl !== undefined) checkBaseUrl(provider, baseUrl);
  else if (provider === 'gr4vy' && settings.instanceId === undefined) {
    throw invalid(provider, 'Gr4vyClient needs instanceId (your Gr4vy instance) or baseUrl.');
  }
  settings.baseUrl = baseUrl;
  settings.timeoutMs = fields.number('timeoutMs', 1, MAX_TIMER_MS);
  settings.retry = checkRetry(fields);
  settings.headers = checkHeaders(fields);
  const allowBrowser = fields.boolean('allowBrowserCredentials') ?? false;
  let credential = Object.keys(settings.headers).some((name) => CREDENTIAL_HEADERS.includes(name));
  const secretsOption = provider === 'truemed' ? 'webhookSecret' : provider === 'gr4vy' ? 'webhookSecrets' : undefined;
  if (secretsOption !== undefined) {
    settings.webhookSecrets = stringList(fields, secretsOption, 'a non-empty string or a non-empty list of them (the dashboard\'s webhook secrets)');
    credential ||= settings.webhookSecrets !== undefined;
  }
  if (provider === 'truemed') {
    settings.apiKey = fields.string('apiKey');
    credential ||= settings.apiKey !== undefined;
  } else {
    settings.bearerToken = checkBearer(fields);
    credential ||= settings.bearerToken !== undefined;
  }
  if (provider === 'gr4vy') {
    settings.merchantAccountId = fields.string('merchantAccountId');
    const privateKey = fields.get('privateKey');
    if (privateKey !== undefined && (typeof privateKey !== 'string' || privateKey.trim() === '')) {
      throw fields.invalid('privateKey', 'the PEM text of your Gr4vy API key');
    }
    if (privateKey !== undefined && settings.bearerToken !== undefined) {
      throw invalid(provider, 'Pass either bearerToken or privateKey, not both.');
    }
    settings.privateKey = privateKey;
    credential ||= privateKey !== undefined;
    settings.scopes = stringList(fields, 'scopes', 'a non-empty list of Gr4vy scopes, such as ["payment-methods.read"]');
    if (settings.scopes !== undefined && privateKey === undefined) {
      throw invalid(provider, 'scopes go with privateKey: they are claims of the tokens minted from it.');
    }
  }
  if (provider === 'tokenio') {
    const basic = fields.string('basicCredentials');
    if (basic !== undefined && settings.bearerToken !== undefined) {
      throw invalid(provider, 'Pass either bearerToken or basicCredentials, not both.');
    }
    settings.basicCredentials = basic?.trim();
    credential ||= basic !== undefined;
  }
  if (credential && !allowBrowser && isBrowser()) {
    throw new TokenStatusError(
      `A provider credential was given to ${DISPLAY_NAME[provider]}'s client in a browser, where any visitor can read it. Keep credentials on your server: point baseUrl at a backend route that adds them (see the README), or pass allowBrowserCredentials: true if you really mean it.`,
      { kind: 'insecure_credentials', provider, retryable: false },
    );
  }
  return settings;
}

/** An id argument: a well-formed string (its content is the core's to judge). */
export function checkId(provider, value, name) {
  if (typeof value !== 'string') throw invalid(provider, `${name} must be a string.`);
  if (!wellFormed(value)) throw invalid(provider, `${name} must be well-formed Unicode (it holds a lone surrogate).`);
  return value;
}

const isSignal = (value) =>
  typeof value === 'object' && typeof value.aborted === 'boolean' && typeof value.addEventListener === 'function';

/**
 * Checks the options of one call (`waiting`: of a `waitFor…` call) and returns them as the
 * core's positional arguments: `[signal, timeoutMs]`, plus for waits
 * `[deadlineMs, intervalMs, maxIntervalMs, onUpdate]`. Absent values stay undefined.
 */
export function callArgs(provider, options, waiting) {
  const fields = new Fields(options, provider, 'options', waiting ? WAIT_OPTIONS : CALL_OPTIONS);
  let signal = fields.get('signal');
  if (signal === null) signal = undefined;
  if (signal !== undefined && !isSignal(signal)) throw fields.invalid('signal', 'an AbortSignal');
  const timeoutMs = fields.number('timeoutMs', 1, MAX_TIMER_MS);
  if (!waiting) return [signal, timeoutMs];
  const onUpdate = fields.get('onUpdate');
  if (onUpdate !== undefined && typeof onUpdate !== 'function') throw fields.invalid('onUpdate', 'a function');
  return [
    signal,
    timeoutMs,
    fields.number('deadlineMs', 0, MAX_TIMER_MS),
    fields.number('intervalMs', 0, MAX_TIMER_MS),
    fields.number('maxIntervalMs', 0, MAX_TIMER_MS),
    onUpdate,
  ];
}

/** The provision call's params: `[paymentServiceId, redirectUrl, securityCode]`. */
export function provisionArgs(params) {
  const fields = new Fields(params, 'gr4vy', 'params', ['paymentServiceId', 'redirectUrl', 'securityCode']);
  if (fields.object === undefined) {
    throw invalid('gr4vy', 'provisionPaymentServiceToken needs { paymentServiceId, redirectUrl }.');
  }
  const required = (field) => {
    const value = fields.string(field);
    if (value === undefined) throw fields.invalid(field, 'a non-empty string');
    return value;
  };
  const securityCode = fields.get('securityCode') ?? undefined;
  if (securityCode !== undefined && typeof securityCode !== 'string') {
    throw fields.invalid('securityCode', 'a string of 3 or 4 digits');
  }
  return [required('paymentServiceId'), required('redirectUrl'), securityCode];
}

/** The list call's params: the `paymentServiceId` filter, or undefined. */
export function listFilter(params) {
  return new Fields(params, 'gr4vy', 'params', ['paymentServiceId']).string('paymentServiceId');
}
