// The demo page in headless Chromium (playwright-core): simulated flows per provider, the Gr4vy
// approval link, an unknown id, a retry, a cancel, the poll timeline with its webhook rows, a
// lookup that a webhook ends before its next poll, keyboard use, small screens.
// Saves build/demo/screenshot.png (and, with UPDATE_SCREENSHOT=1, the README's docs/demo.png).
// Run: node --test tests/demo/
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, copyFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startDemo } from '../../www/server.mjs';
import { postJson, simRequests } from './_helpers.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const SCREENSHOT = fileURLToPath(new URL('../../build/demo/screenshot.png', import.meta.url));
const DOCS_PNG = fileURLToPath(new URL('../../docs/demo.png', import.meta.url));
const UNKNOWN_ID = 'rq:unknownRequest:x1';
const T = 15_000;

describe('demo page (Chromium)', () => {
  let demo;
  let browser;
  let page;
  const pageErrors = [];
  const consoleErrors = [];
  /** Ids whose polls are expected to answer an HTTP error (Chromium logs those as console errors). */
  const expectedHttpErrors = [];

  before(async () => {
    demo = await startDemo({ port: 0, env: {} });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const where = msg.location()?.url ?? '';
      const expected =
        /^Failed to load resource: the server responded with a status of (404|503)/.test(msg.text()) &&
        where.includes('/proxy/') &&
        expectedHttpErrors.some((id) => where.includes(id));
      if (!expected) consoleErrors.push(`${msg.text()} (${where})`);
    });
    await page.goto(demo.url);
    await page.waitForSelector('html[data-ready="true"]', { timeout: T });
  });

  after(async () => {
    await browser?.close();
    await demo?.close();
  });

  /** Picks a provider (clicking its tab, as a user does). */
  async function pickProvider(provider) {
    await page.click(`label[for="provider-${provider}"]`);
    assert.equal(await page.isChecked(`#provider-${provider}`), true);
  }

  /** Submits the form and returns the new card's lookup key. */
  async function submit(how = 'click') {
    const before = await page.locator('.card').count();
    if (how === 'enter') await page.keyboard.press('Enter');
    else await page.click('#submit');
    await page.waitForFunction((n) => document.querySelectorAll('.card').length > n, before, { timeout: T });
    return page.locator('.card').first().getAttribute('data-lookup');
  }

  async function startFlow(provider, outcome) {
    await pickProvider(provider);
    await page.check('#mode-simulate');
    await page.selectOption('#outcome', outcome);
    return submit();
  }

  const card = (key) => page.locator(`.card[data-lookup="${key}"]`);
  const waitState = (key, state) =>
    page.waitForSelector(`.card[data-lookup="${key}"][data-state="${state}"]`, { timeout: T });

  it('shows each provider as simulated in the header', async () => {
    for (const p of ['truemed', 'gr4vy', 'tokenio']) {
      assert.equal(await page.textContent(`.mode-badge[data-provider="${p}"] .mode-badge__mode`), 'simulated');
    }
    assert.equal(await page.isVisible('#empty'), true);
  });

  it('is usable from the keyboard: Tab reaches the controls in order, arrows switch provider', async () => {
    await page.evaluate(() => document.activeElement?.blur());
    const seen = [];
    for (let i = 0; i < 12 && !seen.includes('submit'); i++) {
      await page.keyboard.press('Tab');
      seen.push(await page.evaluate(() => document.activeElement?.id || document.activeElement?.className || ''));
    }
    const at = (id) => seen.indexOf(id);
    assert.ok(at('provider-truemed') >= 0, `provider tabs reachable: ${seen}`);
    assert.ok(at('mode-simulate') > at('provider-truemed'), `mode after provider: ${seen}`);
    assert.ok(at('outcome') > at('mode-simulate'), `outcome after mode: ${seen}`);
    assert.ok(at('submit') > at('outcome'), `submit reached last: ${seen}`);
    // A visible focus indicator on the focused submit button.
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(outline, 'none');

    // Arrow keys move between the provider tabs (a native radio group).
    await page.focus('#provider-truemed');
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.isChecked('#provider-gr4vy'), true);
    assert.deepEqual(
      await page.$$eval('#outcome option', (o) => o.map((x) => x.value)),
      ['succeeded', 'action_required', 'failed', 'pending'],
    );
    // Every form control has an accessible label.
    const unlabelled = await page.$$eval('form input, form select, form button', (els) =>
      els.filter((e) => !e.labels?.length && !e.getAttribute('aria-label') && !e.textContent.trim()).map((e) => e.id),
    );
    assert.deepEqual(unlabelled, []);
  });

  let truemedKey;
  let gr4vyKey;
  let rejectedKey;
  let expiredKey;

  it('runs a simulated flow per provider to its terminal state (Gr4vy through the approval link)', async () => {
    truemedKey = await startFlow('truemed', 'succeeded');
    gr4vyKey = await startFlow('gr4vy', 'action_required');
    rejectedKey = await startFlow('tokenio', 'rejected');
    expiredKey = await startFlow('tokenio', 'expired');

    // Gr4vy: buyer approval needed; the link approves the token in the simulator.
    await waitState(gr4vyKey, 'action_required');
    const link = card(gr4vyKey).locator('.action a');
    await link.waitFor({ state: 'visible', timeout: T });
    assert.equal(await link.getAttribute('target'), '_blank');
    assert.match(await link.getAttribute('rel'), /noopener/);
    assert.match(await link.getAttribute('href'), new RegExp(`^${demo.url}/_sim/approve/`));
    const [popup] = await Promise.all([page.waitForEvent('popup', { timeout: T }), link.click()]);
    await popup.waitForLoadState();
    assert.match(await popup.textContent('body'), /Payment approved/);
    await popup.close();
    await waitState(gr4vyKey, 'succeeded');
    assert.match(await card(gr4vyKey).locator('.fact--token').textContent(), /^gr4vy_pst_/);
    assert.equal(await card(gr4vyKey).locator('.action').isVisible(), false);

    await waitState(truemedKey, 'succeeded');
    assert.match(await card(truemedKey).locator('.fact--token').textContent(), /^tm_pt_/);
    assert.equal(await card(truemedKey).locator('.state__text').textContent(), 'succeeded');

    await waitState(rejectedKey, 'failed');
    assert.equal(await card(rejectedKey).locator('.fact--provider-status').textContent(), 'REJECTED');
    assert.equal(await card(rejectedKey).locator('.fact--reason').textContent(), 'Consent rejected by the user');

    await waitState(expiredKey, 'expired');
    assert.equal(await card(expiredKey).locator('.fact--provider-status').textContent(), 'EXPIRED');

    // Finished cards offer Remove instead of Cancel.
    assert.equal(await card(truemedKey).locator('.card__cancel').isVisible(), false);
    assert.equal(await card(truemedKey).locator('.card__remove').isVisible(), true);
  });

  it('shows every poll in the timeline with latency and status, each raw response expandable', async () => {
    const rows = card(truemedKey).locator('.poll[data-kind="poll"]');
    await page.waitForFunction(
      (key) => document.querySelectorAll(`.card[data-lookup="${key}"] .poll`).length >= 2,
      truemedKey,
      { timeout: T },
    );
    const latencies = await rows.locator('.poll__latency').allTextContents();
    assert.ok(latencies.length >= 2);
    for (const l of latencies) assert.match(l, /^\d+ ms$/);
    const statuses = await rows.locator('.poll__status').allTextContents();
    assert.equal(statuses[0], 'token: null');
    assert.match(await rows.first().locator('.poll__http').textContent(), /200/);
    // Its webhook is a row too, and the timeline ends with the token set (by webhook or poll).
    const hook = card(truemedKey).locator('.poll--webhook');
    await hook.first().waitFor({ timeout: T });
    assert.equal(await hook.count(), 1);
    assert.equal(await hook.locator('.poll__kind').textContent(), 'webhook');
    assert.match(await hook.locator('.poll__http').textContent(), /204/);
    assert.equal(await hook.locator('.poll__status').textContent(), 'token: set');
    const everything = await card(truemedKey).locator('.timeline__list > li .poll__status').allTextContents();
    assert.equal(everything.at(-1), 'token: set');
    const endedBy = await card(truemedKey).getAttribute('data-ended-by');
    assert.ok(['webhook', 'poll'].includes(endedBy), endedBy);
    if (endedBy === 'webhook') assert.equal(await hook.getAttribute('data-ended'), 'true');

    const first = rows.first();
    assert.equal(await first.locator('pre').isVisible(), false);
    await first.locator('summary').click();
    assert.equal(await first.locator('details').getAttribute('open'), '');
    const raw = await first.locator('pre').textContent();
    assert.equal(JSON.parse(raw).payment_token, null);
    assert.ok('metadata' in JSON.parse(raw));

    // Gr4vy: polls and webhooks (token and payment method events) side by side.
    const gr4vyStatuses = await card(gr4vyKey).locator('.poll__status').allTextContents();
    assert.ok(gr4vyStatuses.includes('processing'), gr4vyStatuses.join());
    assert.ok(gr4vyStatuses.includes('buyer_approval_required'), gr4vyStatuses.join());
    assert.ok(gr4vyStatuses.includes('payment method: succeeded'), gr4vyStatuses.join());
    const gr4vyHooks = await card(gr4vyKey).locator('.poll--webhook .poll__status').allTextContents();
    assert.ok(gr4vyHooks.includes('succeeded'), gr4vyHooks.join());
  });

  it('ends a lookup the moment its webhook lands, before the next poll', async () => {
    const key = await startFlow('truemed', 'succeeded');
    const c = card(key);
    const id = await c.locator('.card__id').textContent();
    await c.locator('.poll[data-kind="poll"]').first().waitFor({ timeout: T });
    // From now on every poll of this id hangs: only the webhook can end the wait.
    await postJson(demo.url, '/_sim/faults', { match: { provider: 'truemed', id }, faults: [{ delayMs: 20_000, times: 50 }] });
    await waitState(key, 'succeeded');
    assert.equal(await c.getAttribute('data-ended-by'), 'webhook');
    assert.equal(await c.locator('.fact--ended-by').textContent(), 'webhook · payment_token.updated');
    assert.match(await c.locator('.fact--token').textContent(), /^tm_pt_/);

    const hook = c.locator('.poll--webhook');
    assert.equal(await hook.count(), 1);
    assert.equal(await hook.getAttribute('data-ended'), 'true');
    assert.equal(await hook.locator('.poll__tag').textContent(), 'ended the wait');
    // The webhook row is the last one; no poll ever saw the token.
    assert.equal(await c.locator('.timeline__list > li').last().getAttribute('data-kind'), 'webhook');
    const polled = await c.locator('.poll[data-kind="poll"] .poll__status').allTextContents();
    assert.ok(polled.length >= 1);
    assert.deepEqual(new Set(polled), new Set(['token: null']));
    await hook.locator('summary').click();
    const payload = JSON.parse(await hook.locator('pre').textContent());
    assert.equal(payload.data.provision_token_request_id, id);
    assert.match(await hook.locator('.poll__request').textContent(), /POST \/webhooks\/truemed · payment_token\.updated · wd_/);

    // The simulator delivered it once, with 204; a poll was still in flight (hung) when it did.
    const deliveries = await (await fetch(`${demo.url}/_sim/webhooks?flow=${encodeURIComponent(id)}`)).json();
    assert.deepEqual(deliveries.map((d) => [d.state, d.attempts.map((a) => a.status)]), [['delivered', [204]]]);
    const sent = await simRequests(demo.url, `?id=${encodeURIComponent(id)}`);
    assert.ok(sent.length > polled.length, `${sent.length} polls sent, ${polled.length} answered`);
    // The wait is over: nothing more is polled.
    await page.waitForTimeout(1500);
    assert.equal((await simRequests(demo.url, `?id=${encodeURIComponent(id)}`)).length, sent.length);
  });

  it('marks a retry after a failed poll and still finishes', async () => {
    const flow = (await postJson(demo.url, '/_sim/flows', { provider: 'tokenio', outcome: 'succeeded', pendingPolls: 1 })).body;
    await postJson(demo.url, '/_sim/faults', { match: { provider: 'tokenio', id: flow.id }, faults: [{ status: 503, retryAfterMs: 100 }] });
    expectedHttpErrors.push(encodeURIComponent(flow.id).replaceAll('%3A', ':'), flow.id);
    await pickProvider('tokenio');
    await page.check('#mode-lookup');
    await page.fill('#tokenio-id', flow.id);
    const key = await submit();
    await waitState(key, 'succeeded');
    await page.waitForFunction(
      (k) => document.querySelector(`.card[data-lookup="${k}"] .poll__retry`) !== null,
      key,
      { timeout: T },
    );
    const https = await card(key).locator('.poll__http').allTextContents();
    assert.match(https[0], /503/);
    assert.match(https[1], /200/);
    assert.equal(await card(key).locator('.poll').nth(1).locator('.poll__retry').textContent(), 'retry');
    assert.equal(await card(key).locator('.poll').first().locator('.poll__retry').count(), 0);
  });

  it('shows a readable error panel for an unknown id (submitted with Enter)', async () => {
    expectedHttpErrors.push(encodeURIComponent(UNKNOWN_ID).replaceAll('%3A', ':'), UNKNOWN_ID);
    await pickProvider('tokenio');
    await page.check('#mode-lookup');
    await page.fill('#tokenio-id', UNKNOWN_ID);
    await page.focus('#tokenio-id');
    const key = await submit('enter');
    await waitState(key, 'error');
    const panel = card(key).locator('.outcome--error');
    await panel.waitFor({ state: 'visible', timeout: T });
    assert.equal(await panel.getAttribute('role'), 'alert');
    const field = (name) => panel.locator(`[data-field="${name}"] dd`).textContent();
    assert.equal(await field('kind'), 'not_found');
    assert.equal(await field('http-status'), '404');
    assert.equal(await field('provider-code'), 'NOT_FOUND');
    assert.match(await field('trace-id'), /^[0-9a-f]{32}$/);
    assert.equal(await field('retryable'), 'no');
    assert.match(await panel.locator('.outcome__message').textContent(), /Check the id/);
  });

  it('cancels a wait that stays pending', async () => {
    const key = await startFlow('tokenio', 'pending');
    const c = card(key);
    await c.locator('.poll').first().waitFor({ timeout: T });
    await waitState(key, 'pending');
    await c.locator('.card__cancel').click();
    await waitState(key, 'cancelled');
    assert.equal(await c.locator('.outcome__title').textContent(), 'Cancelled');
    assert.equal(await c.locator('.state__text').textContent(), 'cancelled');
    assert.equal(await c.locator('.card__cancel').isVisible(), false);
    // Nothing more is polled after the cancel.
    const id = await c.locator('.card__id').textContent();
    const count = async () => (await simRequests(demo.url, `?id=${encodeURIComponent(id)}`)).length;
    const n = await count();
    await page.waitForTimeout(1200);
    assert.equal(await count(), n);
  });

  it('fits a 360 px phone screen without horizontal scrolling', async () => {
    await page.setViewportSize({ width: 360, height: 800 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`);
    await page.setViewportSize({ width: 1200, height: 900 });
  });

  it('saves a screenshot with the finished cards', async () => {
    // The first raw response of the Truemed card is open (from the timeline test).
    await pickProvider('gr4vy');
    await page.check('#mode-simulate');
    await page.selectOption('#outcome', 'action_required');
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.evaluate(() => document.activeElement?.blur());
    await mkdir(fileURLToPath(new URL('.', `file://${SCREENSHOT}`)), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true, animations: 'disabled' });
    if (process.env.UPDATE_SCREENSHOT === '1') await copyFile(SCREENSHOT, DOCS_PNG);
  });

  it('raised no page errors and no unexpected console errors', () => {
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(consoleErrors, []);
  });
});
