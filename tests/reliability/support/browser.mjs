// Chromium helpers of the reliability suites: a static server for pkg/ and the test pages, and
// the shared headless Chromium launcher (tests/support/browser.mjs).
import { join } from 'node:path';
import { serveStatic } from '../../support/browser.mjs';
import { RELIABILITY, ROOT } from './harness.mjs';

export { launchChromium } from '../../support/browser.mjs';

/** Serves `/pkg/*` from pkg/ and `/rel/*` from tests/reliability/; resolves `{ url, close }`. */
export const startStaticServer = () => serveStatic({ roots: { '/pkg/': join(ROOT, 'pkg'), '/rel/': RELIABILITY } });
