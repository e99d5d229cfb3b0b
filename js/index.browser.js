// token-status for browsers, bundlers and Deno. Importing starts fetching the .wasm and returns
// at once (no top-level await); calls made before it has loaded wait for it.
// Named imports only, so that a bundler leaves out the glue's exports the shell never uses.
import init, { Core, __setErrorClass } from './web/token_status.js';
import { provideCore } from './clients.js';
import { notOurModule, unreachable } from './load-errors.js';

async function load() {
  // Bundlers (Vite, webpack) see this pattern and ship the .wasm as an asset.
  const url = new URL('./web/token_status_bg.wasm', import.meta.url);
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw { kind: 'network', message: unreachable(url.href, error?.message || String(error)), cause: error };
  }
  if (!response.ok) {
    throw { kind: 'network', message: unreachable(url.href, `HTTP ${response.status}`) };
  }
  try {
    await init({ module_or_path: response });
  } catch (error) {
    throw { kind: 'invalid_response', message: notOurModule(url.href, error?.message || String(error)), cause: error };
  }
  return { Core, __setErrorClass };
}

provideCore(load());

export { Gr4vyClient, TokenIoClient, TokenStatusError, TruemedClient } from './clients.js';
