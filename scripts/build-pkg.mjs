// Builds pkg/, the npm package, from two cargo release builds through wasm-pack (each with
// wasm-opt from npm binaryen; flags in Cargo.toml's [package.metadata.wasm-pack]):
//   browser: --no-default-features, --target web  -> web/     browsers and bundlers
//   server:  the `server` feature (Gr4vy keys, webhooks):
//            --target web                           -> server/  Cloudflare Workers (workerd)
//            --target nodejs                        -> node/    Node, Bun and Deno (CommonJS glue;
//                                                                shares server/'s .wasm)
// The browser build leaves out what only servers may use, so visitors download less.
// Then esbuild bundles the JavaScript shell (js/) into one entry file per runtime:
//   index.js          browsers/bundlers: fetches web/'s .wasm, no top-level await
//   index.workerd.js  Cloudflare Workers: imports server/'s .wasm as a module (condition workerd)
//   index.cjs         Node CommonJS;  index.mjs  Node ESM re-exporting index.cjs (one instance, so
//                     `instanceof TokenStatusError` holds across import and require)
// pkg/ is generated: never edit it by hand.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { addExtras } from './pkg-extras.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = join(root, 'pkg');
const stage = join(root, 'target', 'pkg-stage');
const crate = readFileSync(join(root, 'Cargo.toml'), 'utf8');
const version = crate.match(/^version = "([^"]+)"/m)[1];
const description = crate.match(/^description = "([^"]+)"/m)[1];

const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
const step = (text) => process.stderr.write(`build-pkg: ${text}\n`);

rmSync(stage, { recursive: true, force: true });
// --no-default-features: the package's modules are built without std (see Cargo.toml).
const server = ['--no-default-features', '--features', 'server'];
const builds = [
  ['browser-web', 'web', ['--no-default-features']],
  ['server-web', 'web', server],
  ['server-nodejs', 'nodejs', server],
];
for (const [name, target, cargoArgs] of builds) {
  step(`wasm-pack build --target ${target} (${name.split('-')[0]})`);
  // --mode no-install: a missing wasm-bindgen or wasm-opt fails at once instead of being
  // downloaded (scripts/setup.sh installs both).
  run('wasm-pack', ['--quiet', 'build', '--release', '--target', target, '--no-pack', '--no-typescript',
    '--mode', 'no-install', '--out-dir', join(stage, name), '--', ...cargoArgs]);
}

const staged = (name, file) => join(stage, name, file);
const hash = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');
if (hash(staged('server-web', 'token_status_bg.wasm')) !== hash(staged('server-nodejs', 'token_status_bg.wasm'))) {
  throw new Error('the web and nodejs server builds produced different .wasm files; the package ships one');
}

/** Replaces `from` (which must occur exactly once) in generated glue. */
const patch = (text, from, to, what) => {
  if (text.split(from).length !== 2) throw new Error(`build-pkg: could not ${what}: wasm-bindgen's glue changed`);
  return text.replace(from, to);
};
const glue = (name) => readFileSync(staged(name, 'token_status.js'), 'utf8').replace(/^\/\* @ts-self-types=.*\*\/\n/m, '');

// wasm-bindgen names every import and export it generates with a hash (`__wbg_resolve_dbf78ab4942478b0`),
// each written twice: in the .wasm and in the glue. wasm-opt gives them one- or two-letter names
// and prints the mapping, which is applied to both glues: 1.7 KB less gzip in the .wasm alone.
const wasmOptFeatures = crate.match(/^wasm-opt = \[(.*)\]$/m)[1].match(/--enable-[a-z-]+/g);
/**
 * Writes `wasm` with short names to `out` and returns the function that applies them to a glue
 * made for it: import keys and module names, and `wasm.<export>` uses.
 */
const shorten = (wasm, out) => {
  // The `producers` and `target_features` sections are metadata no runtime reads (0.2 KB gzip).
  const names = JSON.parse(execFileSync('wasm-opt', [wasm, ...wasmOptFeatures, '--minify-imports-and-exports-and-modules',
    '--strip-producers', '--strip-target-features', '-o', out], { cwd: root, encoding: 'utf8' }));
  // The mapping does not name the import module: all imports now come from one, read it back.
  const shortModules = new Set(WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(out))).map((i) => i.module));
  const longModules = new Set(names.imports.map(([module]) => module));
  if (shortModules.size !== 1 || longModules.size !== 1) throw new Error('build-pkg: expected the .wasm to import from one module');
  const exports = new Map(names.exports);
  return (glue, what) => {
    const [[module], [shortModule]] = [[...longModules], [...shortModules]];
    glue = patch(glue, `${JSON.stringify(module)}: import0`, `${JSON.stringify(shortModule)}: import0`, `rename the import module in the ${what} glue`);
    for (const [, name, short] of names.imports) {
      glue = patch(glue, `\n        ${name}: function`, `\n        ${short}: function`, `rename import ${name} in the ${what} glue`);
    }
    return glue.replace(/\bwasm\.([A-Za-z_$][\w$]*)/g, (use, name) => {
      if (!exports.has(name)) throw new Error(`build-pkg: the ${what} glue uses export ${name}, which the .wasm lacks`);
      return `wasm.${exports.get(name)}`;
    });
  };
};

/**
 * The package logs nothing: the web glue's console warnings go (the fallback after a wrong MIME
 * type stays; the deprecated call forms they warn about are never used by the entries).
 */
const quiet = (glue) => [
  'console.warn("`WebAssembly.instantiateStreaming` failed because your server does not serve Wasm with `application/wasm` MIME type. Falling back to `WebAssembly.instantiate` which is slower. Original error:\\n", e);',
  "console.warn('using deprecated parameters for `initSync()`; pass a single object instead')",
  "console.warn('using deprecated parameters for the initialization function; pass a single object instead')",
].reduce((text, warning) => patch(text, warning, '', 'drop a console warning'), glue);

rmSync(pkg, { recursive: true, force: true });
for (const dir of ['web', 'server', 'node']) mkdirSync(join(pkg, dir), { recursive: true });
const browserNames = shorten(staged('browser-web', 'token_status_bg.wasm'), join(pkg, 'web', 'token_status_bg.wasm'));
const serverNames = shorten(staged('server-web', 'token_status_bg.wasm'), join(pkg, 'server', 'token_status_bg.wasm'));
// The browser entry (js/index.browser.js) owns the .wasm's URL, so that bundlers see one
// reference and a failed fetch becomes a clear TokenStatusError: the glue's default is unused.
let webGlue = patch(browserNames(glue('browser-web'), 'web'),
  "module_or_path = new URL('token_status_bg.wasm', import.meta.url);",
  "throw new Error('token-status: the entry passes the .wasm');", 'drop the default .wasm URL');
writeFileSync(join(pkg, 'web', 'token_status.js'), quiet(webGlue));
writeFileSync(join(pkg, 'server', 'token_status.js'), quiet(serverNames(glue('server-web'), 'server web')));
writeFileSync(join(pkg, 'node', 'token_status.cjs'), patch(serverNames(glue('server-nodejs'), 'Node'),
  '`${__dirname}/token_status_bg.wasm`', '`${__dirname}/../server/token_status_bg.wasm`',
  'point the Node glue at the server .wasm'));

// The glue files stay separate modules, next to the .wasm they load.
const glueIsExternal = {
  name: 'glue-is-external',
  setup(b) {
    b.onResolve({ filter: /^\.\/(web|server|node)\// }, (args) => ({ path: args.path, external: true }));
  },
};
const bundle = (entry, outfile, format) => build({
  entryPoints: [join(root, 'js', entry)],
  outfile: join(pkg, outfile),
  bundle: true,
  format,
  platform: format === 'cjs' ? 'node' : 'neutral',
  target: 'es2022',
  plugins: [glueIsExternal],
  banner: { js: `// token-status ${version}. Generated by scripts/build-pkg.mjs from js/${entry}.` },
  logLevel: 'warning',
});
step('esbuild: the JavaScript shell, one entry per runtime');
await Promise.all([
  bundle('index.browser.js', 'index.js', 'esm'),
  bundle('index.workerd.js', 'index.workerd.js', 'esm'),
  bundle('index.node.js', 'index.cjs', 'cjs'),
]);
const publicNames = ['TokenStatusError', 'TruemedClient', 'Gr4vyClient', 'TokenIoClient'];
writeFileSync(join(pkg, 'index.mjs'), `// token-status for Node (ESM): the CommonJS build, so import and require share one instance.
import cjs from './index.cjs';

export const { ${publicNames.join(', ')} } = cjs;
`);
const types = readFileSync(join(root, 'js', 'index.d.ts'), 'utf8');
writeFileSync(join(pkg, 'index.d.ts'), types);
writeFileSync(join(pkg, 'index.d.cts'), types);
copyFileSync(join(root, 'README.md'), join(pkg, 'README.md'));
copyFileSync(join(root, 'LICENSE'), join(pkg, 'LICENSE'));

const manifest = {
  name: 'token-status',
  version,
  description,
  license: 'MIT OR Apache-2.0',
  keywords: ['payments', 'tokens', 'truemed', 'gr4vy', 'token.io', 'wasm'],
  type: 'module',
  main: './index.cjs',
  module: './index.js',
  types: './index.d.ts',
  exports: {
    '.': {
      import: { types: './index.d.ts', workerd: './index.workerd.js', node: './index.mjs', default: './index.js' },
      require: { types: './index.d.cts', default: './index.cjs' },
    },
    './package.json': './package.json',
  },
  files: ['index.js', 'index.workerd.js', 'index.cjs', 'index.mjs', 'index.d.ts', 'index.d.cts', 'web/', 'server/', 'node/', 'README.md', 'LICENSE'],
  sideEffects: ['./index.js', './index.workerd.js', './index.cjs', './index.mjs'],
  engines: { node: '>=18' },
};
addExtras({ root, pkg, manifest });
writeFileSync(join(pkg, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');

const size = (path) => `${path} ${readFileSync(join(pkg, path)).length} B`;
step(`done: pkg/ (${['web/token_status_bg.wasm', 'server/token_status_bg.wasm', 'index.js'].map(size).join(', ')})`);
