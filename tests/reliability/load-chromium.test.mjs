// Reliability under load in headless Chromium: the load scenario of load.test.mjs with 200
// concurrent waits, run by the browser build (pkg/index.js + pkg/web/*.wasm) in a real page.
// The simulator is a child process; a tiny static server (this process) serves pkg/ and the page.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mapLimit, mb, startSimulatorChild } from './support/harness.mjs';
import { launchChromium, startStaticServer } from './support/browser.mjs';
import { FAULT_RATES, checkWait, planFlows } from './scenarios/load-plan.mjs';

const WAITS = 200;
const WARMUP = 20;
/** Console errors Chromium prints for faulted or cut-off requests: expected network noise. */
const NETWORK_NOISE = /^Failed to load resource|net::ERR_|^Access to fetch .* has been blocked|^(GET|POST) http/;

describe('load: 200 concurrent waits in headless Chromium under 20 % transient faults', () => {
  let sim;
  let web;
  let browser;
  before(async () => {
    [sim, web, browser] = await Promise.all([startSimulatorChild(), startStaticServer(), launchChromium()]);
  }, { timeout: 30_000 });
  after(async () => {
    await browser?.close().catch(() => {});
    await web?.close();
    await sim?.stop();
  }, { timeout: 30_000 });

  test(`${WAITS} concurrent waits each resolve with exactly their own expected status`, { timeout: 60_000 }, async (t) => {
    const page = await browser.newPage();
    const pageErrors = [];
    const consoleErrors = [];
    let noise = 0;
    let requestsFailed = 0;
    page.on('pageerror', (e) => pageErrors.push(String(e?.stack ?? e)));
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      if (NETWORK_NOISE.test(m.text())) noise++;
      else consoleErrors.push(m.text());
    });
    page.on('requestfailed', () => { requestsFailed++; });
    await page.goto(`${web.url}/rel/browser/load.html`);
    await page.waitForFunction(() => window.__ready === true, null, { timeout: 15_000 });

    await sim.sim.faultRates(FAULT_RATES);
    const round = async (n, tag) => {
      const plan = planFlows(n, tag);
      const flows = await mapLimit(plan, 16, (item) => sim.sim.flow(item.spec));
      const before = (await sim.sim.requests()).at(-1)?.seq ?? 0;
      await page.evaluate(([url, items, fl]) => window.__run(url, items, fl), [sim.url, plan, flows]);
      await page.waitForFunction(() => window.__done === true, null, { timeout: 50_000, polling: 100 });
      const out = await page.evaluate(() => window.__results);
      const log = await sim.sim.requests();
      const requests = (log.at(-1)?.seq ?? before) - before;
      const views = await mapLimit(flows, 16, (f) => sim.sim.getFlow(f.id));
      const reads = views.reduce((s, v) => s + v.reads, 0);
      const problems = plan.flatMap((item, i) => checkWait(item, flows[i], out.results[i]));
      const states = {};
      for (const r of out.results) if (r.ok) states[r.status.state] = (states[r.status.state] ?? 0) + 1;
      return { ...out, n, problems, states, requests, reads, faultShare: requests ? (requests - reads) / requests : 0 };
    };

    const warm = await round(WARMUP, 'cwarm');
    assert.deepEqual(warm.problems, [], 'warm-up round');
    const load = await round(WAITS, 'cload');
    await sim.sim.faultRates({});

    assert.deepEqual(load.problems.slice(0, 20), [], `${load.problems.length} problem(s)`);
    assert.equal(load.results.length, WAITS);
    assert.equal(load.results.filter((r) => r.ok).length, WAITS, 'every wait resolves');
    assert.deepEqual(load.states, { succeeded: 134, failed: 44, expired: 22 });
    assert.equal(load.approvals.failed, 0, 'approvals through actionUrl worked');
    assert.ok(load.faultShare >= 0.10, `faults actually happened: ${(load.faultShare * 100).toFixed(1)} %`);
    assert.deepEqual(pageErrors, [], 'no page errors');
    assert.deepEqual(consoleErrors, [], 'no console errors other than network noise');
    const growth = load.memoryAfter - warm.memoryAfter;
    assert.ok(growth <= 4 * 1024 * 1024, `wasm memory grew ${mb(growth)} MB over its post-warm-up level`);

    t.diagnostic(`${WAITS} waits in ${Math.round(load.ms)} ms; ${load.requests} requests (${(load.requests / WAITS).toFixed(2)} per wait); ` +
      `fault share ${(load.faultShare * 100).toFixed(1)} % (${load.requests - load.reads} faulted); states ${JSON.stringify(load.states)}`);
    t.diagnostic(`client attempts (fetch calls): ${JSON.stringify(load.attempts)}`);
    t.diagnostic(`wasm memory: before warm-up ${mb(warm.memoryBefore)} MB, after warm-up ${mb(warm.memoryAfter)} MB, ` +
      `after load ${mb(load.memoryAfter)} MB`);
    t.diagnostic(`network noise: ${noise} console errors, ${requestsFailed} failed requests (drops, timeouts); page errors ${pageErrors.length}`);
    await page.close();
  });
});
