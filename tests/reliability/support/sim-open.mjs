// The simulator with its credential check OFF (`createSimulator({ credentials: false })`), as a
// child process: stands in for a provider that accepts any credential, so that the secrets suite
// can send its own distinctive credentials and still reach every code path.
//   node tests/reliability/support/sim-open.mjs --port 0   -> prints "simulator listening on <url>"
import { startSimulator } from '../../../www/simulator/index.mjs';

const i = process.argv.indexOf('--port');
const port = i >= 0 ? Number(process.argv[i + 1]) : 0;
const { url, close } = await startSimulator({ port, host: '127.0.0.1', credentials: false });
const stop = () => close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdout.write(`simulator listening on ${url}\n`);
