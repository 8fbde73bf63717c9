// Starts the real `tenantlink serve` binary on a fresh data directory (SQLite, the sandbox tenant
// in-process) and stops it again. The same steps as crates/tenantlink/tests/serve_support.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ADMIN_PASSWORD = 'browser-admin-password-42';

const ANNOUNCEMENT = 'tenantlink is serving at ';
// Start-up on a loaded 2-core machine: Argon2id for the admin, the sandbox's CA and keys.
const START_TIMEOUT_MS = 120_000;

function binary() {
  const bin = process.env.TENANTLINK_BIN;
  if (!bin) {
    throw new Error(
      'TENANTLINK_BIN is not set: build the binary (cargo build -p tenantlink) and point ' +
        'TENANTLINK_BIN at it, e.g. TENANTLINK_BIN=$CARGO_TARGET_DIR/debug/tenantlink',
    );
  }
  return bin;
}

/**
 * A running `tenantlink serve`: `base` (no trailing slash), `dataDir`, `sandbox` (sandbox.json),
 * `logFile` (its stderr), and `stop()`.
 */
export async function startServer() {
  const root = await mkdtemp(join(tmpdir(), 'tenantlink-browser-'));
  const dataDir = join(root, 'data');
  const logFile = join(root, 'serve.log');
  const log = await open(logFile, 'a');
  const child = spawn(binary(), ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir], {
    env: { ...process.env, TENANTLINK_ADMIN_PASSWORD: ADMIN_PASSWORD, TENANTLINK_LOG: 'info', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', log.fd],
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

  let base;
  try {
    base = await announcedUrl(child, exited, logFile);
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    await log.close();
    throw err;
  }
  const sandbox = JSON.parse(await readFile(join(dataDir, 'sandbox', 'sandbox.json'), 'utf8'));

  return {
    base,
    dataDir,
    logFile,
    sandbox,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
      }
      await exited;
      await log.close();
      if (!process.env.TENANTLINK_KEEP_DATA) {
        await rm(root, { recursive: true, force: true });
      }
    },
  };
}

/** Reads stdout until the line announcing the URL; fails with the log if the process dies first. */
async function announcedUrl(child, exited, logFile) {
  const lines = createInterface({ input: child.stdout });
  const seen = [];
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`tenantlink serve did not announce its URL within ${START_TIMEOUT_MS} ms; stdout: ${JSON.stringify(seen)}`)),
      START_TIMEOUT_MS,
    );
  });
  const died = exited.then(async ({ code, signal }) => {
    const log = await readFile(logFile, 'utf8').catch(() => '');
    throw new Error(`tenantlink serve exited (code ${code}, signal ${signal}) before serving; stdout: ${JSON.stringify(seen)}; log: ${log}`);
  });
  const announced = (async () => {
    let url;
    for await (const line of lines) {
      seen.push(line);
      const at = line.trim();
      if (at.startsWith(ANNOUNCEMENT)) {
        url = at.slice(ANNOUNCEMENT.length).replace(/\/+$/, '');
        break;
      }
    }
    if (url === undefined) return new Promise(() => {}); // stdout closed: `died` says why
    // Leaving the loop closed the line reader; keep draining stdout so the child never blocks.
    child.stdout.resume();
    return url;
  })();
  try {
    return await Promise.race([announced, died, timeout]);
  } finally {
    clearTimeout(timer);
    died.catch(() => {});
  }
}
