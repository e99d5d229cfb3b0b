// token-status for Cloudflare Workers (workerd), where a .wasm is imported as a compiled
// WebAssembly.Module rather than fetched: it is instantiated at import, synchronously.
import { initSync } from './web/token_status.js';
import * as wasm from './web/token_status.js';
import module from './web/token_status_bg.wasm';
import { coreFailed, provideCore } from './clients.js';
import { notOurModule } from './load-errors.js';

try {
  initSync({ module });
  provideCore(wasm);
} catch (error) {
  coreFailed('invalid_response', notOurModule('web/token_status_bg.wasm', error?.message || String(error)), error);
}

export { Gr4vyClient, TokenIoClient, TokenStatusError, TruemedClient } from './clients.js';
