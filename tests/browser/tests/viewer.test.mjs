// Issue 5: a Viewer sees the certificate but no Generate / Upload buttons, and the generate API
// answers 403 to a request made from the Viewer's own page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withPortal, TEST_TIMEOUT_MS } from '../support/fixture.mjs';
import { ADMIN_PASSWORD } from '../support/server.mjs';
import { newContext, screenshot } from '../support/browser.mjs';
import {
  logIn, openCertificatePage, activeThumbprint, waitForActiveState, apiSession, generateThroughApi,
} from '../support/portal.mjs';

const VIEWER = { username: 'val.viewer', password: 'viewer-password-31415' };

test('a Viewer sees no Generate or Upload buttons and gets 403 from the generate API', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withPortal('viewer', async ({ server, browser, page }) => {
    // The administrator creates the Viewer through the API and makes a certificate active.
    await logIn(page, server.base, 'admin', ADMIN_PASSWORD);
    const organization = await openCertificatePage(page);
    const admin = await apiSession(page, server.base);
    const created = await admin.post('/api/v1/users', { ...VIEWER, role: 'viewer' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body, { name: VIEWER.username, role: 'viewer', csrf_token: null });
    const active = await generateThroughApi(admin, server.sandbox, organization);
    // The administrator's own page has both buttons (so their absence below means something).
    await page.reload();
    await page.getByRole('button', { name: 'Generate a new certificate' }).waitFor();
    await page.getByRole('button', { name: 'Upload a custom certificate' }).waitFor();

    // The Viewer, in a browser context of their own.
    const viewerContext = await newContext(browser, server.base);
    const viewer = await viewerContext.newPage();
    await logIn(viewer, server.base, VIEWER.username, VIEWER.password);
    assert.equal((await viewer.locator('.account span').innerText()).trim(), `${VIEWER.username} (Viewer)`);
    assert.equal(await openCertificatePage(viewer), organization);
    await waitForActiveState(viewer, 'valid');
    assert.equal(await activeThumbprint(viewer), active, 'the Viewer sees the active certificate');
    assert.equal(await viewer.getByRole('button', { name: 'Generate a new certificate' }).count(), 0);
    assert.equal(await viewer.getByRole('button', { name: 'Upload a custom certificate' }).count(), 0);
    assert.equal(await viewer.getByRole('button').filter({ hasNotText: 'Sign out' }).count(), 0, 'no action buttons at all');
    await screenshot(viewer, 'certificate-viewer');

    // From the Viewer's page, with the Viewer's cookie and CSRF token: the server refuses.
    const refused = await viewer.evaluate(async (org) => {
      const me = await (await fetch('/api/v1/me')).json();
      const response = await fetch(`/api/v1/organizations/${org}/operations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrf_token },
        body: JSON.stringify({ kind: 'generate' }),
      });
      return { status: response.status, type: response.headers.get('content-type'), body: await response.json() };
    }, organization);
    assert.equal(refused.status, 403, JSON.stringify(refused));
    assert.equal(refused.type, 'application/problem+json');
    assert.equal(refused.body.type, '/problems/forbidden');

    // Nothing was started on the Viewer's behalf.
    const operations = await admin.get(`/api/v1/organizations/${organization}/operations`);
    assert.equal(operations.status, 200);
    assert.deepEqual(operations.body.map((o) => [o.kind, o.started_by, o.step]), [['generate', 'admin', 'succeeded']]);
    await viewer.reload();
    assert.equal(await activeThumbprint(viewer), active);
    await viewerContext.close();
  });
});
