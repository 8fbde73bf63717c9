// One test = one `tenantlink serve` on its own data directory + one fresh browser.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { startServer } from './server.mjs';
import { launchBrowser, newContext } from './browser.mjs';

// Per test: start-up, two device sign-ins and key generation on a loaded debug build.
export const TEST_TIMEOUT_MS = 480_000;

/**
 * Runs `body({ server, browser, context, page })` and tears everything down. On failure the
 * open pages are captured under the temp dir and the server log is appended to the error, so
 * a red run explains itself.
 */
export async function withPortal(name, body) {
  const server = await startServer();
  let browser;
  try {
    browser = await launchBrowser();
    const context = await newContext(browser, server.base);
    const page = await context.newPage();
    try {
      await body({ server, browser, context, page });
    } catch (err) {
      const shots = [];
      for (const [i, open] of context.pages().entries()) {
        const path = join(tmpdir(), `tenantlink-browser-failure-${name}-${i}.png`);
        await open.screenshot({ path, fullPage: true }).then(() => shots.push(`${path} (${open.url()})`), () => {});
      }
      const log = (await readFile(server.logFile, 'utf8').catch(() => '')).replace(/\x1b\[[0-9;]*m/g, '');
      const diagnosis = `\n-- pages at failure: ${shots.join(', ') || 'none'}\n-- serve log (last 4000 chars):\n${log.slice(-4000)}`;
      // The reporter prints the stack (captured with the original message): extend both.
      if (err instanceof Error) {
        err.message += diagnosis;
        err.stack = `${err.stack ?? ''}${diagnosis}`;
      }
      throw err;
    }
  } finally {
    await browser?.close();
    await server.stop();
  }
}
