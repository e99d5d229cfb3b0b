// What the simulator's test files share (not a test file itself): running a Node child
// process and reading its output.
import { spawn } from 'node:child_process';

/**
 * Runs `node ...args`; resolves `{ code, signal, out, err }` once it exits (rejects after
 * `timeoutMs`). `input` goes to its stdin; `onLine(firstLine, child)` hears its first stdout line.
 */
export function runNode(args, { input, timeoutMs = 5000, onLine, env } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child did not exit within ${timeoutMs} ms; stdout=${out} stderr=${err}`));
    }, timeoutMs);
    child.stdout.on('data', (d) => {
      const before = out;
      out += d;
      if (onLine && !before.includes('\n') && out.includes('\n')) onLine(out.split('\n')[0], child);
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, err });
    });
    if (input != null) child.stdin.end(input);
  });
}
