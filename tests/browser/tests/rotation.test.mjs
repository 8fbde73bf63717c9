// Issue 12: the Rotate now button is on the certificate page for an Administrator and absent for
// a Viewer; the renewal policy form on the organization page changes the policy (read back
// through the API).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withPortal, TEST_TIMEOUT_MS } from '../support/fixture.mjs';
import { ADMIN_PASSWORD } from '../support/server.mjs';
import { newContext } from '../support/browser.mjs';
import {
  logIn, openCertificatePage, waitForActiveState, apiSession, generateThroughApi, ORGANIZATION,
} from '../support/portal.mjs';

const VIEWER = { username: 'rita.viewer', password: 'viewer-password-16180' };

test('Rotate now is offered to an Administrator and not to a Viewer', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withPortal('rotate-button', async ({ server, browser, page }) => {
    await logIn(page, server.base, 'admin', ADMIN_PASSWORD);
    const organization = await openCertificatePage(page);
    // Nothing to rotate without an active certificate.
    assert.equal(await page.getByRole('button', { name: 'Rotate now' }).count(), 0);
    const admin = await apiSession(page, server.base);
    const created = await admin.post('/api/v1/users', { ...VIEWER, role: 'viewer' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await generateThroughApi(admin, server.sandbox, organization);

    await page.reload();
    await waitForActiveState(page, 'valid');
    await page.getByRole('button', { name: 'Rotate now' }).waitFor();
    await page.locator('#renewal-state[data-state="not_due"]').waitFor();

    const viewerContext = await newContext(browser, server.base);
    const viewer = await viewerContext.newPage();
    await logIn(viewer, server.base, VIEWER.username, VIEWER.password);
    assert.equal(await openCertificatePage(viewer), organization);
    await waitForActiveState(viewer, 'valid');
    await viewer.locator('#renewal-state[data-state="not_due"]').waitFor();
    assert.equal(await viewer.getByRole('button', { name: 'Rotate now' }).count(), 0);
    // The server refuses the Viewer too, whatever the page shows.
    const refused = await viewer.evaluate(async (org) => {
      const me = await (await fetch('/api/v1/me')).json();
      const response = await fetch(`/api/v1/organizations/${org}/rotate`, {
        method: 'POST',
        headers: { 'x-csrf-token': me.csrf_token },
      });
      return { status: response.status, body: await response.json() };
    }, organization);
    assert.equal(refused.status, 403, JSON.stringify(refused));
    assert.equal(refused.body.type, '/problems/forbidden');
    await viewerContext.close();
  });
});

test('the renewal policy form on the organization page changes the policy', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withPortal('renewal-policy', async ({ server, page }) => {
    await logIn(page, server.base, 'admin', ADMIN_PASSWORD);
    await page.getByRole('link', { name: ORGANIZATION }).click();
    await page.getByRole('heading', { name: 'Certificate renewal', level: 2 }).waitFor();
    const section = page.locator('#renewal-policy');
    assert.equal(await section.getAttribute('data-automatic'), 'true');

    await page.getByLabel('Renew automatically').uncheck();
    await page.getByLabel('Lifetime of new certificates in days (empty: the configured validity)').fill('90');
    await page.getByLabel('Renew when this share of the lifetime has passed').fill('3/4');
    await page.getByLabel('Uploaded (CA-issued) certificates').selectOption('rotate');
    await page.getByRole('button', { name: 'Save renewal policy' }).click();
    await page.locator('#renewal-policy[data-automatic="false"][data-uploaded="rotate"]').waitFor();

    const api = await apiSession(page, server.base);
    const organization = /\/organizations\/([^/#]+)/.exec(page.url())[1];
    const read = await api.get(`/api/v1/organizations/${organization}`);
    assert.equal(read.status, 200);
    assert.equal(read.body.renewal_policy.automatic, false);
    assert.equal(read.body.renewal_policy.lifetime_days, 90);
    assert.equal(read.body.renewal_policy.renew_at_fraction, '3/4');
    assert.equal(read.body.renewal_policy.uploaded, 'rotate');

    // A value that cannot work is refused naming the field, and changes nothing.
    await page.getByLabel('Renew when this share of the lifetime has passed').fill('3/2');
    await page.getByRole('button', { name: 'Save renewal policy' }).click();
    await page.getByRole('alert').filter({ hasText: 'renew_at' }).waitFor();
    const unchanged = await api.get(`/api/v1/organizations/${organization}`);
    assert.equal(unchanged.body.renewal_policy.renew_at_fraction, '3/4');

    // The change is audited by the service.
    const audit = await api.get('/api/v1/audit');
    assert.ok(audit.body.some((e) => e.action === 'renewal_policy_changed' && e.actor === 'admin'), JSON.stringify(audit.body));
  });
});
