// What to tell a user whose WebAssembly module did not load: one message per way it fails,
// each saying what to check. Shared by the entry files.

/** The .wasm could not be fetched or read (HTTP error, offline, missing file). */
export const unreachable = (where, why) =>
  `token-status could not load its WebAssembly module from ${where} (${why}). Check that the package's web/token_status_bg.wasm is served at that address: Vite and webpack emit it as an asset by themselves; with esbuild, copy it into a web/ folder beside your bundle; with an import map and no bundler, serve the package's folder as installed (see the README, "Loading").`;

/** The bytes are not the package's module (an HTML page, a truncated or different file). */
export const notOurModule = (where, why) =>
  `token-status loaded ${where}, but it is not the package's WebAssembly module (${why}). Check that the file is the package's web/token_status_bg.wasm, unchanged and from the same version, and that your server does not answer that address with a page of its own.`;
