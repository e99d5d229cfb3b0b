// token-status for Cloudflare Workers (workerd), where a .wasm is imported as a compiled
// WebAssembly.Module rather than fetched: it is instantiated at import, synchronously.
import { initSync } from './server/token_status.js';
import * as wasm from './server/token_status.js';
import module from './server/token_status_bg.wasm';
import { coreFailed, provideCore } from './clients.js';
import { readWebhook } from './webhook-input.js';
import { notOurModule } from './load-errors.js';

try {
  initSync({ module });
  // Each incoming request's I/O is its own here: the core keeps every call's timers and
  // fetches with the request that made them.
  wasm.__isolateRequests();
  provideCore(wasm, readWebhook);
} catch (error) {
  coreFailed('invalid_response', notOurModule('server/token_status_bg.wasm', error?.message || String(error)), error);
}

export { Gr4vyClient, TokenIoClient, TokenStatusError, TruemedClient } from './clients.js';
