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

/** What `createFlow` takes (the body of `POST /_sim/flows`). */
export interface SimulatorFlowSpec {
  provider: SimulatorProvider;
  /** Generated when absent: Truemed `ptr_…`, Gr4vy a UUID, Token.io `rq:…:…`. */
  id?: string;
  outcome?: SimulatorOutcome;
  /** Status reads that stay pending before the next step (default 2). */
  pendingPolls?: number;
  /** Each non-final step lasts this many milliseconds instead (whichever comes first). */
  stepMs?: number | null;
  /** Overrides `outcome`. */
  steps?: SimulatorStep[];
  /** Truemed only (default "order-1234"). */
  metadata?: string | null;
  /** Gr4vy only (UUIDs generated when absent). */
  paymentMethodId?: string;
  paymentServiceId?: string;
  redirectUrl?: string;
  merchantAccountId?: string;
}

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
}

/** Drives a running simulator without HTTP; each method throws on bad input as its route answers 4xx. */
export interface SimulatorControl {
  createFlow(spec: SimulatorFlowSpec): SimulatorFlow;
  getFlow(id: string): SimulatorFlow;
  /** Moves the flow to its next step now. */
  advance(id: string): SimulatorFlow;
  /** Approves a Gr4vy `buyer_approval_required` token. */
  approve(id: string): SimulatorFlow;
  /** Queues faults; returns how many. */
  addFaults(spec: { match?: SimulatorFaultMatch; faults: SimulatorFault | SimulatorFault[] }): number;
  /** Sets random fault rates (`{}` turns them off); returns the settings in force. */
  setFaultRates(rates: SimulatorFaultRates): Required<Omit<SimulatorFaultRates, 'retryAfter'>> & { retryAfter: string | null };
  requests(filter?: { id?: string | null; provider?: SimulatorProvider | null; method?: string | null }): SimulatorRequest[];
  clearRequests(): void;
  /** Forgets flows, faults and the request log. */
  reset(): void;
}

export interface StartSimulatorOptions {
  /** Default 8787; 0 picks a free port (see `url`). */
  port?: number;
  /** Default "127.0.0.1". */
  host?: string;
  /** Check the providers' credentials (default true); false accepts any, like a credential-adding proxy. */
  credentials?: boolean;
  /** The origin of Gr4vy `approval_url`s (default `http://` + the request's Host header). */
  origin?: string;
  /** Receives one line per request and control action; never a credential. */
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
