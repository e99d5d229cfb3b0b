// The simulator's command line, and the process helpers the command-line entry points share.
//
//   node www/simulator/serve.mjs [--port 8787] [--host 127.0.0.1] [--gr4vy-public-key FILE] [--verbose]
//
// Prints `simulator listening on <url>` once it serves; exits 0 on SIGINT or SIGTERM.

import { readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { startSimulator } from './index.mjs';

const USAGE = 'usage: node www/simulator/serve.mjs [--port 8787] [--host 127.0.0.1] [--gr4vy-public-key FILE] [--verbose]';

/**
 * Exits with 0 on SIGINT or SIGTERM, first awaiting the close function registered through the
 * returned setter (at once when none is registered yet). For the command-line entry points.
 */
export function exitOnSignals() {
  let close = null;
  let stopping = false;
  const stop = () => {
    if (stopping || !close) process.exit(0);
    stopping = true;
    close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return (fn) => { close = fn; };
}

/** True when the module at `moduleUrl` (its `import.meta.url`) is the script Node was started with. */
export function isMain(moduleUrl) {
  const script = process.argv[1];
  if (!script) return false;
  if (moduleUrl === pathToFileURL(script).href) return true;
  try {
    return moduleUrl === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

/**
 * Serves the simulator until SIGINT or SIGTERM, then exits 0. Prints `simulator listening on
 * <url>` on stdout once it serves; resolves what startSimulator() resolves. Options as
 * startSimulator's.
 */
export async function serve(options) {
  // Signal handlers go in before the URL is printed, so a supervisor may stop us right away.
  const whenStopped = exitOnSignals();
  const started = await startSimulator(options);
  whenStopped(started.close);
  process.stdout.write(`simulator listening on ${started.url}\n`);
  return started;
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const [key, inline] = eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    if (key === '--port' || key === '--host' || key === '--gr4vy-public-key') {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new Error(`${key} needs a value`);
      out[key.slice(2)] = value;
    } else if (key === '--verbose' || key === '-v') {
      out.verbose = true;
    } else if (key === '--help' || key === '-h') {
      out.help = true;
    } else {
      throw new Error(`unknown argument: ${a}`);
    }
  }
  return out;
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`simulator: ${err.message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const port = Number(args.port ?? process.env.PORT ?? 8787);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`simulator: invalid port ${args.port ?? process.env.PORT}\n`);
    process.exit(2);
  }
  let gr4vyPublicKey;
  if (args['gr4vy-public-key'] !== undefined) {
    try {
      gr4vyPublicKey = readFileSync(args['gr4vy-public-key'], 'utf8');
    } catch (err) {
      process.stderr.write(`simulator: cannot read --gr4vy-public-key ${args['gr4vy-public-key']} (${err.code ?? 'error'})\n`);
      process.exit(2);
    }
  }
  await serve({
    port,
    host: args.host ?? '127.0.0.1',
    gr4vyPublicKey,
    log: args.verbose ? (line) => process.stderr.write(`simulator: ${line}\n`) : undefined,
  });
}

if (isMain(import.meta.url)) {
  main().catch((err) => {
    process.stderr.write(`simulator: ${err.message}\n`);
    process.exit(1);
  });
}
