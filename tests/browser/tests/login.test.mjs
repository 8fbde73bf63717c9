// Issue 5: the administrator signs in with the form (fields labelled Username and Password).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withPortal, TEST_TIMEOUT_MS } from '../support/fixture.mjs';
import { ADMIN_PASSWORD } from '../support/server.mjs';
import { screenshot } from '../support/browser.mjs';
import { ORGANIZATION } from '../support/portal.mjs';

test('the sign-in form refuses a wrong password and signs the administrator in', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withPortal('login', async ({ server, page }) => {
    // Any portal page sends a visitor without a session to the sign-in form.
    await page.goto(`${server.base}/organizations`);
    await page.getByRole('heading', { name: 'Sign in to tenantlink' }).waitFor();
    assert.match(page.url(), /\/login$/);
    await screenshot(page, 'sign-in');

    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const refused = page.getByRole('alert');
    await refused.waitFor();
    assert.equal((await refused.innerText()).trim(), 'The user name or password is wrong.');
    assert.equal(await page.getByRole('heading', { name: 'Organizations' }).count(), 0);

    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Organizations', level: 1 }).waitFor();
    assert.match(page.url(), /\/organizations$/);
    // Signed in as the administrator, with the sandbox's organization listed (by its tenant).
    assert.equal((await page.locator('.account span').innerText()).trim(), 'admin (Administrator)');
    const row = page.getByRole('row', { name: new RegExp(ORGANIZATION.replace(/[()]/g, '\\$&')) });
    await row.waitFor();
    assert.match(await row.innerText(), new RegExp(server.sandbox.tenant_id));
    await screenshot(page, 'organizations');
  });
});
