// The page of every consumer project of tests/loading/: probes the package in the page, starts
// the project's workers (the `// __WORKERS__` line is replaced by one `label: () => new
// Worker(...)` entry per worker, written as its bundler expects), collects every result and
// publishes them as `window.__results` (with the errors the page's prelude recorded).
import { probe } from './probe.js';

const probing = probe('page');

const WORKERS = {
  // __WORKERS__
};
const WORKER_BOUND_MS = 15000;

function fromWorker(label, start) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ label, hung: `no message from the worker in ${WORKER_BOUND_MS} ms` }), WORKER_BOUND_MS);
    let worker;
    try {
      worker = start();
    } catch (err) {
      clearTimeout(timer);
      resolve({ label, fatal: `new Worker threw: ${err}` });
      return;
    }
    worker.addEventListener('message', (e) => {
      clearTimeout(timer);
      resolve({ ...e.data, label });
      worker.terminate();
    });
    worker.addEventListener('error', (e) => {
      window.__errors.push({ where: label, type: 'worker error event', message: String(e.message) });
      clearTimeout(timer);
      resolve({ label, fatal: `the worker failed: ${e.message}` });
    });
    worker.addEventListener('messageerror', () => {
      window.__errors.push({ where: label, type: 'messageerror', message: 'a message could not be read' });
    });
  });
}

function finish(results) {
  // A moment for late unhandled rejections to be reported before the results are read.
  setTimeout(() => {
    results.errors = window.__errors;
    window.__results = results;
    document.getElementById('out').textContent = JSON.stringify(results, null, 2);
  }, 100);
}

Promise.all([probing, ...Object.entries(WORKERS).map(([label, start]) => fromWorker(label, start))]).then(
  (all) => finish({ contexts: Object.fromEntries(all.map((r) => [r.label, r])) }),
  (err) => finish({ fatal: String((err && err.stack) || err) }),
);
