// Types for token-status. Hand-written to be precise: no `any`, no @types/node needed.

/** Where a token's provisioning stands, the same for every provider. */
export type TokenState = 'pending' | 'action_required' | 'succeeded' | 'failed' | 'expired' | 'unknown';

/** The provider a status or error belongs to. */
export type ProviderName = 'truemed' | 'gr4vy' | 'tokenio';

/** Fields every status has. */
interface TokenStatusBase {
  /** The id that was looked up. */
  id: string;
  /** The normalized state. */
  state: TokenState;
  /** True for `succeeded`, `failed` and `expired`: polling can stop. */
  terminal: boolean;
  /** The provider's own status value, verbatim; null for Truemed (it has none). */
  providerStatus: string | null;
  /** Truemed `payment_token`, Gr4vy `token`, Token.io `tokenId`. */
  token: string | null;
  /** Where the buyer must go to act (Gr4vy `approval_url`). */
  actionUrl: string | null;
  /** Why it failed (Token.io `statusReasonInformation`). */
  reason: string | null;
  /** Truemed `metadata`. */
  metadata: string | null;
}

/** A Truemed provision token request's status. */
export interface TruemedTokenStatus extends TokenStatusBase {
  provider: 'truemed';
}

/** A Gr4vy payment service token's status. */
export interface Gr4vyTokenStatus extends TokenStatusBase {
  provider: 'gr4vy';
  /** The payment method the token belongs to. */
  paymentMethodId: string | null;
  /** The payment service (connection) holding the token. */
  paymentServiceId: string | null;
  /** ISO 8601, verbatim from Gr4vy. */
  createdAt: string | null;
  /** ISO 8601, verbatim from Gr4vy. */
  updatedAt: string | null;
}

/** Token.io's signature over a token request result. */
export interface TokenIoSignature {
  keyId: string | null;
  memberId: string | null;
  signature: string | null;
}

/** A Token.io token request result. */
export interface TokenIoTokenStatus extends TokenStatusBase {
  provider: 'tokenio';
  /** For payment token requests. */
  transferId: string | null;
  /** For standing order token requests. */
  standingOrderSubmissionId: string | null;
  /** The bank the user chose. */
  bankId: string | null;
  signature: TokenIoSignature | null;
}

/** One normalized status answer; `provider` tells which fields it has. Plain data. */
export type TokenStatus = TruemedTokenStatus | Gr4vyTokenStatus | TokenIoTokenStatus;

/** Retry settings for GET requests (the Gr4vy provision POST is never retried once sent). */
export interface RetryOptions {
  /** Retries after the first attempt; at most maxRetries + 1 requests. Default 2. */
  maxRetries?: number;
  /** Backoff before the first retry, before jitter. Default 250. */
  initialDelayMs?: number;
  /** Ceiling of any one delay, Retry-After included. Default 30000. */
  maxDelayMs?: number;
}

/** Options every client takes. */
export interface ClientOptions {
  /** Which default host to use. Default 'sandbox'. */
  environment?: 'sandbox' | 'production';
  /** Overrides `environment`: the simulator, or your own proxy route. */
  baseUrl?: string;
  /** Per HTTP attempt. Default 30000. */
  timeoutMs?: number;
  /** `false` disables retries. */
  retry?: false | RetryOptions;
  /** Extra headers on every request. `authorization` / `x-truemed-api-key` count as credentials. */
  headers?: Record<string, string>;
  /** Allow a credential in a browser (default false: the constructor throws `insecure_credentials`). */
  allowBrowserCredentials?: boolean;
}

/** Options of one call. */
export interface CallOptions {
  /** Aborts the call at once (kind `aborted`). */
  signal?: AbortSignal;
  /** Per HTTP attempt, for this call. */
  timeoutMs?: number;
}

/** Options of a `waitFor…` call. */
export interface WaitOptions<S extends TokenStatus = TokenStatus> extends CallOptions {
  /** The whole wait, in-flight requests and sleeps included. Default 600000 (10 min). */
  deadlineMs?: number;
  /** First delay between polls; grows with backoff and jitter. Default 1000. */
  intervalMs?: number;
  /** Longest delay between polls. Default 15000. */
  maxIntervalMs?: number;
  /** Called with the first status, then each time `state` or `providerStatus` changes. Exceptions it throws are ignored. */
  onUpdate?: (status: S) => void;
}

/** A Gr4vy bearer token: a string, or a function called before every request attempt. */
export type BearerToken = string | (() => string | PromiseLike<string>);

/** What kind of failure a `TokenStatusError` is; each tells the caller what to do next. */
export type TokenStatusErrorKind =
  | 'invalid_argument'
  | 'unauthorized'
  | 'not_found'
  | 'rate_limited'
  | 'bad_request'
  | 'provider_error'
  | 'network'
  | 'timeout'
  | 'aborted'
  | 'invalid_response'
  | 'insecure_credentials'
  | 'invalid_webhook';

/** Why `verifyWebhook` refused a delivery (the `code` of an `invalid_webhook` error). */
export type WebhookFailureCode =
  | 'not_configured'
  | 'missing_signature'
  | 'signature_mismatch'
  | 'timestamp_out_of_range'
  | 'invalid_body';

/** Every rejection (and every constructor throw) of this package. */
export declare class TokenStatusError extends Error {
  readonly name: 'TokenStatusError';
  /** What went wrong. */
  readonly kind: TokenStatusErrorKind;
  /** Which client raised it. */
  readonly provider: ProviderName;
  /** HTTP status of the last answer, or null. */
  readonly status: number | null;
  /** The provider's own error code (Gr4vy `code`, Token.io `errorCode`, Truemed `error`), or null. */
  readonly code: string | null;
  /** Token.io `tokenTraceId`, or null. */
  readonly traceId: string | null;
  /** Whether trying again later may succeed. */
  readonly retryable: boolean;
  /** Token.io `token-external-error: true`: the failure came from the bank. */
  readonly external: boolean;
  /** HTTP requests sent for the call. */
  readonly attempts: number;
  /** For a wait that ran out: the last status obtained, or null. */
  readonly lastStatus: TokenStatus | null;
  /** For a wait that ran out: the last failure, if any. */
  readonly cause?: TokenStatusError;
  private constructor();
  /** Plain data for logs: every field, message included; never a credential. */
  toJSON(): {
    name: 'TokenStatusError';
    message: string;
    kind: TokenStatusErrorKind;
    provider: ProviderName;
    status: number | null;
    code: string | null;
    traceId: string | null;
    retryable: boolean;
    external: boolean;
    attempts: number;
    lastStatus: TokenStatus | null;
  };
}

/** A header value as Node's `req.headers` has it. */
type HeaderValue = string | string[] | undefined;

/** A webhook delivery: a Fetch `Request`, or its headers and its raw (unparsed) body. */
export type WebhookRequest =
  | Request
  | {
      headers: Headers | Record<string, HeaderValue>;
      body: string | Uint8Array | ArrayBuffer;
    };

/** Options of `verifyWebhook`. */
export interface VerifyWebhookOptions {
  /** How far the signed timestamp may lie from now, either way. Default 300. */
  toleranceSeconds?: number;
}

/** A verified webhook. */
export interface WebhookEvent<S extends TokenStatus = TokenStatus> {
  provider: 'truemed' | 'gr4vy';
  /** Gr4vy `X-Gr4vy-Webhook-ID`; Truemed `webhook_delivery_id` (signed deliveries), else null. */
  id: string | null;
  /** Gr4vy event `name`; Truemed `event_type` (or `payment_token_updated` for unsigned deliveries). */
  type: string;
  /** The token status the event tells, if any; it has already reached this client's waits. */
  status: S | null;
  /** The verified payload as plain JSON. */
  data: unknown;
}

/** Options of `TruemedClient`. */
export interface TruemedClientOptions extends ClientOptions {
  /** Sales channel API key, sent as `x-truemed-api-key`. Server-side only. */
  apiKey?: string;
  /** The webhook destination's secret (or several, while rotating), for `verifyWebhook`. Server-side only. */
  webhookSecret?: string | string[];
}

/** Truemed provision token requests. */
export declare class TruemedClient {
  constructor(options?: TruemedClientOptions);
  /** `GET /api/v1/payment_tokens/provision_request/{id}`. */
  getProvisionTokenRequest(provisionTokenRequestId: string, options?: CallOptions): Promise<TruemedTokenStatus>;
  /** Polls until provisioned; rejects with kind `timeout` (and `lastStatus`) at the deadline. */
  waitForProvisionTokenRequest(
    provisionTokenRequestId: string,
    options?: WaitOptions<TruemedTokenStatus>,
  ): Promise<TruemedTokenStatus>;
  /**
   * Verifies a webhook delivery with the client's webhook secret(s) and returns what it says; a
   * status it tells reaches this client's waits at once. Rejects with kind `invalid_webhook`.
   */
  verifyWebhook(request: WebhookRequest, options?: VerifyWebhookOptions): Promise<WebhookEvent<TruemedTokenStatus>>;
  /**
   * Hands a status learned elsewhere (a webhook your server received and pushed to this page,
   * say) to this client's in-flight waits on its id: a terminal status resolves them at once,
   * another reaches their `onUpdate`. Returns how many waits it reached (0 for another
   * provider's status).
   */
  notify(status: TokenStatus): number;
  /** Frees the client's memory now instead of at garbage collection. */
  free(): void;
}

/** Options of `Gr4vyClient`. */
export interface Gr4vyClientOptions extends ClientOptions {
  /** Your Gr4vy instance id; picks the host `api[.sandbox].{instanceId}.gr4vy.app`. Required without `baseUrl`. */
  instanceId?: string;
  /** The merchant's signed JWT (or a function returning a fresh one). */
  bearerToken?: BearerToken;
  /** Sent as `x-gr4vy-merchant-account-id`. */
  merchantAccountId?: string;
  /**
   * The PEM text of your Gr4vy API key (ECDSA P-521, PKCS#8 or SEC1, as the dashboard issues
   * it): each request carries a short-lived ES512 token minted from it. Not with `bearerToken`.
   * Server-side only.
   */
  privateKey?: string;
  /** The minted tokens' scopes. Default `["payment-methods.read", "payment-methods.write"]`. */
  scopes?: string[];
  /** One secret per active webhook subscription secret, for `verifyWebhook`. Server-side only. */
  webhookSecrets?: string | string[];
}

/** What the Gr4vy provision call sends. */
export interface ProvisionPaymentServiceTokenParams {
  paymentServiceId: string;
  redirectUrl: string;
  /** 3 or 4 digits; omitted from the request when absent. */
  securityCode?: string;
}

/** Gr4vy payment service tokens. */
export declare class Gr4vyClient {
  constructor(options: Gr4vyClientOptions);
  /** `POST /payment-methods/{id}/payment-service-tokens` (never retried once sent). */
  provisionPaymentServiceToken(
    paymentMethodId: string,
    params: ProvisionPaymentServiceTokenParams,
    options?: CallOptions,
  ): Promise<Gr4vyTokenStatus>;
  /** `GET /payment-methods/{id}/payment-service-tokens[?payment_service_id=]`. */
  listPaymentServiceTokens(
    paymentMethodId: string,
    params?: { paymentServiceId?: string },
    options?: CallOptions,
  ): Promise<Gr4vyTokenStatus[]>;
  /** One token's status: lists the payment method's tokens and picks `paymentServiceTokenId` (`not_found` if absent). */
  getPaymentServiceToken(
    paymentMethodId: string,
    paymentServiceTokenId: string,
    options?: CallOptions,
  ): Promise<Gr4vyTokenStatus>;
  /** Polls until `succeeded` or `failed` (`action_required` keeps polling: the buyer may still approve). */
  waitForPaymentServiceToken(
    paymentMethodId: string,
    paymentServiceTokenId: string,
    options?: WaitOptions<Gr4vyTokenStatus>,
  ): Promise<Gr4vyTokenStatus>;
  /**
   * Verifies a webhook delivery with the client's webhook secret(s) and returns what it says; a
   * status it tells reaches this client's waits at once. Rejects with kind `invalid_webhook`.
   */
  verifyWebhook(request: WebhookRequest, options?: VerifyWebhookOptions): Promise<WebhookEvent<Gr4vyTokenStatus>>;
  /**
   * Hands a status learned elsewhere (a webhook your server received and pushed to this page,
   * say) to this client's in-flight waits on its id: a terminal status resolves them at once,
   * another reaches their `onUpdate`. Returns how many waits it reached (0 for another
   * provider's status).
   */
  notify(status: TokenStatus): number;
  /** Frees the client's memory now instead of at garbage collection. */
  free(): void;
}

/** Options of `TokenIoClient`: a bearer token or (sandbox) Basic credentials, not both. */
export interface TokenIoClientOptions extends ClientOptions {
  /** Detached JWS (or a function returning a fresh one), sent as `Authorization: Bearer …`. */
  bearerToken?: BearerToken;
  /** The base64 value the Token.io dashboard issues, sent as `Authorization: Basic …`. */
  basicCredentials?: string;
}

/** Token.io token request results. */
export declare class TokenIoClient {
  constructor(options?: TokenIoClientOptions);
  /** `GET /token-requests/{tokenRequestId}/result`. */
  getTokenRequestResult(tokenRequestId: string, options?: CallOptions): Promise<TokenIoTokenStatus>;
  /** Polls until `PROCESSED`, `REJECTED` or `EXPIRED` (each resolves); rejects only on errors and the deadline. */
  waitForTokenRequestResult(tokenRequestId: string, options?: WaitOptions<TokenIoTokenStatus>): Promise<TokenIoTokenStatus>;
  /**
   * Hands a status learned elsewhere (a webhook your server received and pushed to this page,
   * say) to this client's in-flight waits on its id: a terminal status resolves them at once,
   * another reaches their `onUpdate`. Returns how many waits it reached (0 for another
   * provider's status).
   */
  notify(status: TokenStatus): number;
  /** Frees the client's memory now instead of at garbage collection. */
  free(): void;
}
