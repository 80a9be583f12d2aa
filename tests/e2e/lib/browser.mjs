// Headless Chromium for e2e tests: Debian's /usr/bin/chromium through playwright-core (never
// `npx playwright install`), with a fresh user-data dir that close() deletes.
//
//   const { context, newPage, close } = await launchBrowser();
//   const page = await newPage();             // pages of one context share cookies, like tabs
//   ...
//   await close();
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM = process.env.AUTHFLIGHT_CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // The production stack (AUTHFLIGHT_STACK=prod) has a self-signed certificate: trusted here only.
  ...(process.env.AUTHFLIGHT_STACK === 'prod' ? ['--ignore-certificate-errors'] : []),
];

/**
 * Launches Chromium with a persistent context in a fresh temporary profile.
 * Returns { context, browser, userDataDir, newPage(), close() }; `options` go to
 * launchPersistentContext (e.g. { viewport: { width: 1440, height: 900 } }).
 */
export async function launchBrowser(options = {}) {
  const userDataDir = mkdtempSync(join(tmpdir(), 'authflight-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1440, height: 900 },
      ...options,
    });
  } catch (e) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw e;
  }
  let closed = false;
  return {
    context,
    browser: context.browser(),
    userDataDir,
    /** A new tab in this context (same cookie jar, storage, BroadcastChannel and locks). */
    newPage: () => context.newPage(),
    async close() {
      if (closed) return;
      closed = true;
      await context.close().catch(() => {});
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
