// Debian's Chromium, headless, driven by playwright-core (which never downloads a browser).
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const CHROMIUM = process.env.TENANTLINK_CHROMIUM ?? '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// Generous: the machine is shared and a debug build answers slowly under load.
export const ACTION_TIMEOUT_MS = 60_000;
// The portal learns of a device sign-in from its own poll of the token endpoint (every 5 s) and
// the page from its poll of the API (every 3 s): allow for several rounds of both.
export const SIGN_IN_TIMEOUT_MS = 120_000;

/** A browser with a fresh temporary profile (Playwright's default), closed by `close()`. */
export async function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
}

/**
 * A new context (own cookies). The sandbox's sign-in page is served over HTTPS signed by the
 * sandbox's private test CA, which this throw-away profile does not know: accept it here only.
 */
export async function newContext(browser, base) {
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    viewport: { width: 1280, height: 860 },
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  // The copy button writes to the clipboard; let the portal's origin use it.
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(ACTION_TIMEOUT_MS);
  return context;
}

const SCREENSHOTS = fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url));

/**
 * Writes docs/screenshots/NAME.png only when TENANTLINK_SCREENSHOTS=1, so ordinary runs (CI)
 * leave the work tree clean. Returns the path written, or null.
 */
export async function screenshot(page, name) {
  if (process.env.TENANTLINK_SCREENSHOTS !== '1') return null;
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true, animations: 'disabled', caret: 'hide' });
  return path;
}
