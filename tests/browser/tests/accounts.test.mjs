// Issue 11 point 5: an Administrator adds a user on the Users page, disables it (its open
// session ends at once), and issues an API token on the API tokens page (the secret is shown
// once) and revokes it (401 from then on). Every form posts with the session's CSRF token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withPortal, TEST_TIMEOUT_MS } from '../support/fixture.mjs';
import { ADMIN_PASSWORD } from '../support/server.mjs';
import { newContext, screenshot } from '../support/browser.mjs';
import { logIn } from '../support/portal.mjs';

const OLGA = { username: 'olga.operator', password: 'operator-password-2718' };

async function withToken(base, token, path) {
  const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return response.status;
}

test('Users and API tokens pages: add, disable, issue once, revoke', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withPortal('accounts', async ({ server, browser, page }) => {
    await logIn(page, server.base, 'admin', ADMIN_PASSWORD);
    await page.getByRole('link', { name: 'Users', exact: true }).click();
    await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();

    const add = page.locator('#add-user');
    await add.getByLabel('User name').fill(OLGA.username);
    await add.getByLabel(/^Password/).fill(OLGA.password);
    await add.getByLabel('Role').selectOption('operator');
    await add.getByRole('button', { name: 'Add user' }).click();
    const row = page.locator(`#users tr[data-username="${OLGA.username}"]`);
    await row.waitFor();
    assert.equal(await row.getAttribute('data-disabled'), 'false');
    await screenshot(page, 'users');

    // Olga signs in elsewhere; disabling her ends that session at once.
    const olgaContext = await newContext(browser, server.base);
    const olga = await olgaContext.newPage();
    await logIn(olga, server.base, OLGA.username, OLGA.password);
    assert.equal(await olga.getByRole('link', { name: 'Users', exact: true }).count(), 0, 'not for Operators');
    await row.getByRole('button', { name: 'Disable' }).click();
    await page.locator(`#users tr[data-username="${OLGA.username}"][data-disabled="true"]`).waitFor();
    await olga.reload();
    await olga.getByRole('heading', { name: 'Sign in to tenantlink' }).waitFor();
    await olgaContext.close();

    // A token from the API tokens page: shown once, works, then revoked.
    await page.getByRole('link', { name: 'API tokens', exact: true }).click();
    await page.getByRole('heading', { name: 'API tokens', level: 1 }).waitFor();
    const issue = page.locator('#issue-token');
    await issue.getByLabel('Name').fill('nightly-export');
    await issue.getByLabel('Expires in (days)').fill('30');
    await issue.getByRole('button', { name: 'Issue token' }).click();
    const secret = (await page.locator('#new-token-secret').innerText()).trim();
    assert.ok(secret.length >= 40, 'a full-entropy secret is shown');
    assert.equal(await withToken(server.base, secret, '/api/v1/me'), 200);
    // Not reload(): that would send the form again.
    await page.goto(`${server.base}/tokens`);
    await page.getByRole('heading', { name: 'API tokens', level: 1 }).waitFor();
    assert.ok(!(await page.content()).includes(secret), 'shown only once');
    const tokenRow = page.locator('#tokens tr[data-name="nightly-export"]');
    assert.equal(await tokenRow.getAttribute('data-live'), 'true');
    await tokenRow.getByRole('button', { name: 'Revoke' }).click();
    await page.locator('#tokens tr[data-name="nightly-export"][data-live="false"]').waitFor();
    assert.equal(await withToken(server.base, secret, '/api/v1/me'), 401);
    await screenshot(page, 'api-tokens');
  });
});
