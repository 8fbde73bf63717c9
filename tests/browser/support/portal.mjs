// What an administrator does in the portal and on the sandbox's sign-in page, step by step,
// finding everything by its visible label or role (the labels of crates/web/src/pages and
// crates/sandbox/src/pages.rs).
import assert from 'node:assert/strict';
import { SIGN_IN_TIMEOUT_MS } from './browser.mjs';
import { control, sandboxAdministrator } from './sandbox.mjs';

export const ORGANIZATION = 'Sandbox (sandbox.onmicrosoft.com)';

/** Upper-case hex without separators, as Entra ID shows a thumbprint. */
export function normalizeThumbprint(text) {
  return text.replace(/[^0-9a-fA-F]/g, '').toUpperCase();
}

export async function logIn(page, base, username, password) {
  await page.goto(`${base}/login`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Organizations', level: 1 }).waitFor();
}

export const CERTIFICATE_SETTINGS_LINK = 'Settings → System → SSL Certificate';

/**
 * From the organizations list to Settings → System → SSL Certificate; returns the organization
 * id. The organization's name leads to its page (which links the certificate settings); in
 * builds without that page it leads to the certificate settings directly.
 */
export async function openCertificatePage(page) {
  await page.getByRole('link', { name: ORGANIZATION }).click();
  await page.waitForURL(/\/organizations\/[^/]+(\/settings\/system)?$/);
  if (!page.url().endsWith('/settings/system')) {
    await page.getByRole('link', { name: CERTIFICATE_SETTINGS_LINK }).last().click();
  }
  await page.getByRole('heading', { name: 'SSL Certificate', level: 2 }).waitFor();
  const match = /\/organizations\/([^/]+)\/settings\/system/.exec(page.url());
  assert.ok(match, `the certificate page's URL names the organization: ${page.url()}`);
  return match[1];
}

/** The SHA-1 thumbprint of the active certificate shown on the certificate page. */
export async function activeThumbprint(page) {
  return normalizeThumbprint(await page.locator('#sha1-thumbprint').innerText());
}

/** Waits until the certificate page shows an active certificate in `state` (valid, expired…). */
export async function waitForActiveState(page, state) {
  await page.locator(`#active-certificate[data-state="${state}"]`).waitFor();
}

/**
 * On the operation page: reads the user code, opens the verification link in a second tab and
 * signs in there as the sandbox administrator, or `account` ({ username, password }) (code →
 * username and password → Continue). Returns { code, tab, admin } with the sandbox's
 * confirmation visible in `tab`.
 */
export async function signInInSecondTab(page, sandbox, { beforeSubmit, account } = {}) {
  const code = (await page.locator('#user-code').innerText()).trim();
  assert.match(code, /^[A-Z2-9]{9}$/, 'a nine-character device code is shown');
  const link = page.locator('#verification-link');
  const href = await link.getAttribute('href');
  assert.equal(href, `${sandbox.authority}/devicelogin`, "the link is the sandbox's sign-in page");

  const [tab] = await Promise.all([page.context().waitForEvent('page'), link.click()]);
  await tab.waitForLoadState();
  assert.equal(tab.url(), href);
  await tab.getByRole('heading', { name: 'Enter code' }).waitFor();
  // By their visible labels (crates/sandbox/src/pages.rs), so these steps fail if a label is lost.
  await tab.getByLabel('Code', { exact: true }).fill(code);
  if (beforeSubmit) await beforeSubmit(tab, code);
  await tab.getByRole('button', { name: 'Next' }).click();

  const admin = account ?? sandboxAdministrator(sandbox);
  await tab.getByRole('heading', { name: 'Sign in' }).waitFor();
  await tab.getByLabel('Email or phone', { exact: true }).fill(admin.username);
  await tab.getByLabel('Password', { exact: true }).fill(admin.password);
  await tab.getByRole('button', { name: 'Sign in' }).click();

  await tab.getByRole('heading', { name: /^Are you trying to sign in to / }).waitFor();
  await tab.getByRole('button', { name: 'Continue' }).click();
  await tab.getByRole('heading', { name: "You're signed in" }).waitFor();
  return { code, tab, admin };
}

/** Back on the operation page: the live status turns to "Signed in as …" without a manual reload. */
export async function waitForSignedIn(page, username) {
  const status = page.locator('#sign-in-status', { hasText: 'Signed in as' });
  await status.waitFor({ timeout: SIGN_IN_TIMEOUT_MS });
  assert.match(await status.innerText(), new RegExp(`Signed in as ${escapeRegExp(username)}`));
}

/** Starts an operation from the certificate page with one of its two buttons. */
export async function startOperation(page, button) {
  await page.getByRole('button', { name: button }).click();
  await page.getByRole('heading', { name: button, level: 1 }).waitFor();
  await page.locator('#operation[data-step="awaiting_sign_in"]').waitFor();
}

/** The operation page's outcome after Generate or Import: succeeded or failed. */
export async function waitForOutcome(page) {
  await page.locator('#operation[data-step="succeeded"], #operation[data-step="failed"]').waitFor({
    timeout: SIGN_IN_TIMEOUT_MS,
  });
  return page.locator('#operation').getAttribute('data-step');
}

/**
 * The API with the browser's own session (page.request shares the context's cookies) and the
 * CSRF token from /api/v1/me, as the portal's scripts would send it.
 */
export async function apiSession(page, base) {
  const me = await page.request.get(`${base}/api/v1/me`);
  assert.equal(me.status(), 200, 'signed in');
  const { csrf_token: csrf } = await me.json();
  return {
    async get(path) {
      const response = await page.request.get(`${base}${path}`);
      return { status: response.status(), body: await response.json().catch(() => null) };
    },
    async post(path, body) {
      const response = await page.request.post(`${base}${path}`, {
        data: body,
        headers: { 'x-csrf-token': csrf },
      });
      return { status: response.status(), body: await response.json().catch(() => null) };
    },
  };
}

/**
 * Set-up only (not the thing under test): an active generated certificate through the API, the
 * device sign-in approved through the sandbox's control API. Returns its SHA-1 thumbprint.
 */
export async function generateThroughApi(api, sandbox, organization) {
  const started = await api.post(`/api/v1/organizations/${organization}/operations`, { kind: 'generate' });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const id = started.body.id;
  await control(sandbox, '/device/approve', {
    user_code: started.body.sign_in.user_code,
    username: sandboxAdministrator(sandbox).username,
  });
  await eventually(async () => {
    const { body } = await api.get(`/api/v1/operations/${id}`);
    assert.equal(body.step, 'signed_in', 'the service noticed the sign-in');
  }, SIGN_IN_TIMEOUT_MS);
  // Generate answers 202 at once and runs in the service's background: follow the operation.
  const pressed = await api.post(`/api/v1/operations/${id}/generate`, {});
  assert.equal(pressed.status, 202, JSON.stringify(pressed.body));
  const done = await eventually(async () => {
    const { body } = await api.get(`/api/v1/operations/${id}`);
    assert.ok(['succeeded', 'failed', 'cancelled'].includes(body.step), 'the operation ended');
    return body;
  }, SIGN_IN_TIMEOUT_MS);
  assert.equal(done.step, 'succeeded', JSON.stringify(done));
  return normalizeThumbprint(done.sha1_thumbprint);
}

/**
 * Retries `check` until it stops throwing or `timeoutMs` passes (then rethrows its last error):
 * for state that only an outside party changes, like a locator's auto-wait for the API.
 */
export async function eventually(check, timeoutMs, intervalMs = 250) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The value next to a label in the active certificate's description list (State, Source…). */
export async function certificateField(page, label) {
  const value = page.locator('#active-certificate dt', { hasText: new RegExp(`^${escapeRegExp(label)}$`) }).locator('xpath=following-sibling::dd[1]');
  return (await value.innerText()).trim();
}

/**
 * On an operation waiting for its sign-in: "Sign in with the browser instead" takes this tab to
 * the sandbox's `/authorize` sign-in page (PKCE S256, state and nonce in the URL), where the
 * sandbox administrator signs in and presses `button` (Accept or Cancel). Resolves once the
 * browser is back on tenantlink's `/oauth/callback`, with { authorizeUrl, callbackUrl, admin }.
 */
export async function signInWithTheBrowser(page, sandbox, { button = 'Accept' } = {}) {
  await page.getByRole('button', { name: 'Sign in with the browser instead' }).click();
  await page.waitForURL((url) => url.href.startsWith(`${sandbox.authority}/`) && url.pathname.endsWith('/oauth2/v2.0/authorize'));
  const authorizeUrl = new URL(page.url());
  await page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
  const admin = sandboxAdministrator(sandbox);
  if (button === 'Accept') {
    await page.getByLabel('Email or phone', { exact: true }).fill(admin.username);
    await page.getByLabel('Password', { exact: true }).fill(admin.password);
  }
  // The callback answers with a redirect to the operation: catch its URL on the way.
  const callback = page.waitForRequest((request) => new URL(request.url()).pathname === '/oauth/callback');
  await page.getByRole('button', { name: button, exact: true }).click();
  const callbackUrl = (await callback).url();
  return { authorizeUrl, callbackUrl, admin };
}

/**
 * On an organization's page: New backup policy → a policy of all users with no schedule (Run
 * now only, so no scheduled run races the test) → its page.
 */
export async function createRunNowPolicy(page, name) {
  await page.getByRole('link', { name: 'New backup policy' }).click();
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByRole('textbox', { name: 'Schedule' }).fill('');
  await page.getByLabel('All users').check();
  await page.getByRole('button', { name: 'Create policy' }).click();
  await page.getByRole('heading', { name, level: 1 }).waitFor();
}

/** On the policy page: Run now, then the run's page until the run has ended. Returns its figures. */
export async function runNow(page) {
  await page.getByRole('button', { name: 'Run now' }).click();
  await page.getByRole('heading', { name: /^Run of / }).waitFor();
  // The run page reloads itself (script poll) when the run ends.
  await page.locator('#run:not([data-status="running"])').waitFor({ timeout: SIGN_IN_TIMEOUT_MS });
  const number = async (id) => Number((await page.locator(id).innerText()).trim());
  return {
    status: await page.locator('#run').getAttribute('data-status'),
    users: await number('#run-users'),
    itemsNew: await number('#items-new'),
    itemsChanged: await number('#items-changed'),
  };
}

/** From a page listing the policy: its page. */
export async function openPolicy(page, name) {
  await page.getByRole('link', { name, exact: true }).click();
  await page.getByRole('heading', { name, level: 1 }).waitFor();
}
