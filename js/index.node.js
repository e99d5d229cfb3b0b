// token-status for Node and Bun (built as CommonJS, index.cjs; index.mjs re-exports it so that
// import and require share one instance). The .wasm is read and compiled at require time,
// synchronously; if that fails, requiring still succeeds and every call rejects saying why.
import { coreFailed, provideCore } from './clients.js';
import { readWebhook } from './webhook-input.js';
import { notOurModule, unreachable } from './load-errors.js';

try {
  provideCore(require('./node/token_status.cjs'), readWebhook);
} catch (error) {
  const why = error?.message || String(error);
  if (error?.code === 'ENOENT' || error?.code === 'EACCES') coreFailed('network', unreachable('the package folder', why), error);
  else coreFailed('invalid_response', notOurModule('server/token_status_bg.wasm', why), error);
}

export { Gr4vyClient, TokenIoClient, TokenStatusError, TruemedClient } from './clients.js';
