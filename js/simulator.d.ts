// Types of `token-status/simulator` (Node): the provider simulator the package's tests use,
// started from your own tests. Its HTTP control API: simulator/README.md.

/** A provider the simulator serves. */
export type SimulatorProvider = 'truemed' | 'gr4vy' | 'tokenio';

/** How a scripted flow ends (README.md, "Outcome shorthands"). */
export type SimulatorOutcome = 'succeeded' | 'action_required' | 'failed' | 'rejected' | 'expired' | 'unknown' | 'pending';

/** One step of a flow: a provider-native status, held for `polls` status reads or `ms` milliseconds. */
export interface SimulatorStep {
  status: string;
  polls?: number | null;
  ms?: number | null;
  /** Merged into the status body while this step lasts. */
  fields?: Record<string, unknown>;
}

/** Fields every webhook destination has (README.md, "Webhooks"). */
interface SimulatorWebhookBase {
  /** Where deliveries are POSTed (http or https). */
  url: string;
  /** The wait before each retry; one attempt more than entries. Default [250, 500, 1000, 2000, 4000]. */
  retryDelaysMs?: number[];
  /** Per attempt; no answer by then is a failed attempt. Default 5000. */
  timeoutMs?: number;
}

/** A Truemed webhook destination: its one secret, and how deliveries are authenticated. */
export interface SimulatorTruemedWebhook extends SimulatorWebhookBase {
  secret: string;
  /** "signed" (default): `x-truemed-signature`; "unsigned": the secret as `x-truemed-api-key`. */
  method?: 'signed' | 'unsigned';
}

/** A Gr4vy webhook subscription: its active secrets (one signature each) and the event targets. */
export type SimulatorGr4vyWebhook = SimulatorWebhookBase & {
  /** Default both, the token event first. */
  targets?: ('payment-service-token' | 'payment-method')[];
} & ({ secrets: string | string[]; secret?: never } | { secret: string; secrets?: never });

/** Webhook destinations for every flow of a provider (the `webhooks` option). */
export interface SimulatorWebhooks {
  truemed?: SimulatorTruemedWebhook;
  gr4vy?: SimulatorGr4vyWebhook;
}

/** Fields of `SimulatorFlowSpec` shared by every provider. */
interface SimulatorFlowSpecBase {
  /** Generated when absent: Truemed `ptr_…`, Gr4vy a UUID, Token.io `rq:…:…`. */
  id?: string;
  outcome?: SimulatorOutcome;
  /** Status reads that stay pending before the next step (default 2). */
  pendingPolls?: number;
  /** Each non-final step lasts this many milliseconds instead (whichever comes first). */
  stepMs?: number | null;
  /** Overrides `outcome`. */
  steps?: SimulatorStep[];
  /**
   * Moves the flow to its outcome this many milliseconds after creation (stopping at a Gr4vy
   * buyer approval), polled or not. Its pending step then lasts until the timer unless
   * `pendingPolls` is given.
   */
  completeAfterMs?: number | null;
  /** Truemed only (default "order-1234"). */
  metadata?: string | null;
  /** Gr4vy only (UUIDs generated when absent). */
  paymentMethodId?: string;
  paymentServiceId?: string;
  redirectUrl?: string;
  merchantAccountId?: string;
}

/**
 * What `createFlow` takes (the body of `POST /_sim/flows`). `webhook` overrides the simulator's
 * `webhooks` destination for this flow; null sends none. Token.io has no token-request webhooks.
 */
export type SimulatorFlowSpec =
  | (SimulatorFlowSpecBase & { provider: 'truemed'; webhook?: SimulatorTruemedWebhook | null })
  | (SimulatorFlowSpecBase & { provider: 'gr4vy'; webhook?: SimulatorGr4vyWebhook | null })
  | (SimulatorFlowSpecBase & { provider: 'tokenio'; webhook?: null });

/** A flow as the control API shows it (`GET /_sim/flows/{id}`). */
export interface SimulatorFlow {
  provider: SimulatorProvider;
  id: string;
  /** Gr4vy only. */
  paymentMethodId?: string;
  paymentServiceId?: string;
  /** The outcome asked for, or "custom" for explicit steps. */
  outcome: SimulatorOutcome | 'custom';
  steps: { status: string; polls: number | null; ms: number | null; fields: Record<string, unknown> }[];
  /** Index of the current step. */
  step: number;
  /** The current step's provider-native status. */
  status: string;
  /** Status reads so far, in all and in the current step. */
  reads: number;
  stepReads: number;
  approved: boolean;
  /** The token the flow provisions (sent once it succeeds). */
  token: string | null;
  /** Where its webhooks go (never the secret), or null. */
  webhook: { url: string; method: 'signed' | 'unsigned' } | null;
  /** When `completeAfterMs` (or a complete call) moves it to its outcome, or null. */
  completeAt: string | null;
  /** Truemed only. */
  metadata?: string | null;
  /** Gr4vy only, when set. */
  redirectUrl?: string;
  merchantAccountId?: string;
  createdAt: string;
  updatedAt: string;
}

/** One injected fault (README.md, "Faults"). */
export interface SimulatorFault {
  /** How many matching requests it answers (default 1). */
  times?: number;
  status?: number;
  body?: string | Record<string, unknown> | unknown[];
  headers?: Record<string, string>;
  contentType?: string;
  /** Token.io: adds `token-external-error: true`. */
  external?: boolean;
  retryAfter?: string | number;
  retryAfterMs?: number;
  /** Destroys the socket without answering. */
  drop?: boolean;
  /** Waits, then answers normally (or with `status`). */
  delayMs?: number;
  malformed?: 'html' | 'truncated' | 'wrong_types' | 'empty' | 'huge' | 'huge_declared' | 'huge_gzip' | 'not_json';
}

/** Which provider requests a fault applies to (all given fields must hold). */
export interface SimulatorFaultMatch {
  provider?: SimulatorProvider;
  /** The path id, compared after percent-decoding. */
  id?: string;
  method?: string;
}

/** Random faults for every provider request (`POST /_sim/fault-rates`); rates are 0..1. */
export interface SimulatorFaultRates {
  seed?: number;
  rate429?: number;
  rate500?: number;
  rate503?: number;
  rateDrop?: number;
  rateSlow?: number;
  slowMs?: number;
  rateMalformed?: number;
  retryAfter?: string | number | null;
}

/** One provider request in the log (`GET /_sim/requests`). */
export interface SimulatorRequest {
  seq: number;
  time: string;
  provider: SimulatorProvider;
  method: string;
  /** The path exactly as received, before decoding. */
  rawPath: string;
  id: string | null;
  query: Record<string, string>;
  /** Lower-cased names; as sent, credentials included. */
  headers: Record<string, string | string[] | undefined>;
  body: string | null;
  /**
   * How the request authenticated: Truemed "api-key"; Gr4vy "sim-token" (the fixed test token)
   * or "jwt" (an API-key JWT checked against `gr4vyPublicKey`); Token.io "bearer" or "basic".
   * Null when refused or when credentials are not checked.
   */
  auth: 'api-key' | 'sim-token' | 'jwt' | 'bearer' | 'basic' | null;
  /** True once the client closed the connection before the whole answer was sent (it aborted). */
  abandoned: boolean;
}

/** One POST of a webhook delivery. */
export interface SimulatorWebhookAttempt {
  n: number;
  /** When it was sent. */
  at: string;
  /** The receiver's HTTP status, or null when there was none. */
  status: number | null;
  /** "timeout", a network error code such as "ECONNREFUSED", or null. */
  error: string | null;
  ms: number;
}

/** One webhook delivery and its attempts (`GET /_sim/webhooks`). */
export interface SimulatorWebhookDelivery {
  seq: number;
  provider: 'truemed' | 'gr4vy';
  flowId: string;
  /** Truemed `event_type` (or "payment_token_updated" unsigned); Gr4vy event `name`. */
  type: string;
  /** Truemed `webhook_delivery_id` (signed; null unsigned); Gr4vy `X-Gr4vy-Webhook-ID`. */
  webhookId: string | null;
  url: string;
  method: 'signed' | 'unsigned';
  state: 'queued' | 'sending' | 'retrying' | 'delivered' | 'failed' | 'cancelled';
  createdAt: string;
  deliveredAt: string | null;
  /** While retrying: when the next attempt goes. */
  nextAttemptAt: string | null;
  /** The raw JSON body sent (the same on every attempt). */
  body: string;
  attempts: SimulatorWebhookAttempt[];
}

/** Drives a running simulator without HTTP; each method throws on bad input as its route answers 4xx. */
export interface SimulatorControl {
  createFlow(spec: SimulatorFlowSpec): SimulatorFlow;
  getFlow(id: string): SimulatorFlow;
  /** Moves the flow to its next step now. */
  advance(id: string): SimulatorFlow;
  /** Approves a Gr4vy `buyer_approval_required` token. */
  approve(id: string): SimulatorFlow;
  /** Moves the flow to its outcome now (stopping at a Gr4vy buyer approval). */
  complete(id: string): SimulatorFlow;
  /** Webhook deliveries, oldest first (the last 1,000). */
  webhooks(filter?: { flow?: string | null; provider?: 'truemed' | 'gr4vy' | null; state?: SimulatorWebhookDelivery['state'] | null }): SimulatorWebhookDelivery[];
  /** Queues faults; returns how many. */
  addFaults(spec: { match?: SimulatorFaultMatch; faults: SimulatorFault | SimulatorFault[] }): number;
  /** Sets random fault rates (`{}` turns them off); returns the settings in force. */
  setFaultRates(rates: SimulatorFaultRates): Required<Omit<SimulatorFaultRates, 'retryAfter'>> & { retryAfter: string | null };
  requests(filter?: { id?: string | null; provider?: SimulatorProvider | null; method?: string | null }): SimulatorRequest[];
  clearRequests(): void;
  /** Forgets flows, faults, the request log and webhook deliveries (pending ones are cancelled). */
  reset(): void;
}

/** A Node `KeyObject` (from `node:crypto`), as far as these types need it (no @types/node). */
export interface SimulatorKeyObject {
  readonly type: 'public' | 'private' | 'secret';
  readonly asymmetricKeyType?: string;
}

export interface StartSimulatorOptions {
  /** Default 8787; 0 picks a free port (see `url`). */
  port?: number;
  /** Default "127.0.0.1". */
  host?: string;
  /** Check the providers' credentials (default true); false accepts any, like a credential-adding proxy. */
  credentials?: boolean;
  /**
   * The public half of a Gr4vy API key (SPKI PEM, the private key's PEM, or a KeyObject):
   * Gr4vy routes then also accept ES512 JWTs signed by it, checked as Gr4vy does.
   */
  gr4vyPublicKey?: string | Uint8Array | SimulatorKeyObject;
  /** Webhook destinations for every flow of a provider (a flow's own `webhook` wins). */
  webhooks?: SimulatorWebhooks;
  /** The origin of Gr4vy `approval_url`s (default `http://` + the request's Host header). */
  origin?: string;
  /** Receives one line per request, control action and webhook attempt; never a credential or secret. */
  log?: (line: string) => void;
}

export interface RunningSimulator {
  /** E.g. "http://127.0.0.1:8787"; clients take `${url}/truemed`, `${url}/gr4vy`, `${url}/tokenio`. */
  url: string;
  sim: SimulatorControl;
  /** Stops serving; resolves once every connection is closed. */
  close(): Promise<void>;
}

/** Starts the simulator's HTTP server; resolves once it listens. */
export function startSimulator(options?: StartSimulatorOptions): Promise<RunningSimulator>;
