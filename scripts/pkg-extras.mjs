// What build-pkg.mjs adds to pkg/ besides the library: the `token-status` command and the
// provider simulator (`token-status/simulator`, Node only).
//   js/cli.mjs            -> pkg/cli.mjs               the "bin" (runs when loaded)
//   www/simulator/*.mjs   -> pkg/simulator/            the simulator, one file per provider
//   www/simulator/README.md -> pkg/simulator/README.md its control API
//   js/simulator.d.ts     -> pkg/simulator/index.d.ts  types of startSimulator
// The command imports the package's own Node entry (./index.mjs) and ./simulator/serve.mjs.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Copies the command and the simulator into `pkg` and declares them in `manifest` (mutated). */
export function addExtras({ root, pkg, manifest }) {
  copyFileSync(join(root, 'js', 'cli.mjs'), join(pkg, 'cli.mjs'));
  const from = join(root, 'www', 'simulator');
  const to = join(pkg, 'simulator');
  mkdirSync(to, { recursive: true });
  const sources = readdirSync(from).filter((f) => f.endsWith('.mjs') && !f.includes('.test.'));
  for (const file of sources) copyFileSync(join(from, file), join(to, file));
  if (!sources.includes('index.mjs') || !sources.includes('serve.mjs')) throw new Error('www/simulator/ lacks index.mjs or serve.mjs');
  copyFileSync(join(from, 'README.md'), join(to, 'README.md'));
  copyFileSync(join(root, 'js', 'simulator.d.ts'), join(to, 'index.d.ts'));

  manifest.bin = { 'token-status': './cli.mjs' };
  manifest.exports['./simulator'] = { types: './simulator/index.d.ts', default: './simulator/index.mjs' };
  manifest.files.push('cli.mjs', 'simulator/');
  manifest.sideEffects.push('./cli.mjs');
}
