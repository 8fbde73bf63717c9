// Issue 13: the organizations page is a fleet view — organizations in different states, made
// through the API and the sandbox clock, are shown in risk order with the right counts; the
// count links filter, the search box finds by name or tenant, and the API says the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withPortal, TEST_TIMEOUT_MS } from '../support/fixture.mjs';
import { ADMIN_PASSWORD } from '../support/server.mjs';
import { logIn, apiSession, generateThroughApi } from '../support/portal.mjs';
import { control } from '../support/sandbox.mjs';

const HOUR_SECONDS = 3600;
const DAY_SECONDS = 24 * HOUR_SECONDS;

/** PATCH with the session's CSRF token (apiSession has GET and POST only). */
async function patch(page, base, path, body) {
  const me = await (await page.request.get(`${base}/api/v1/me`)).json();
  const response = await page.request.patch(`${base}${path}`, {
    data: body,
    headers: { 'x-csrf-token': me.csrf_token },
  });
  assert.equal(response.status(), 200, await response.text());
}

/** Adds an organization on the sandbox tenant for `appId` with automatic renewal off. */
async function addOrganization(page, base, api, tenant, name, appId) {
  const created = await api.post('/api/v1/organizations', { name, tenant, cloud: 'sandbox', app_id: appId });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  // Off, so moving the clock leaves the certificate to expire instead of rotating it.
  await patch(page, base, `/api/v1/organizations/${created.body.id}`, { renewal_policy: { automatic: false } });
  return created.body.id;
}

/** The rows of the page's fleet table: [name, state]. */
async function shownRows(page) {
  return page.locator('#fleet tbody tr[data-state]').evaluateAll((rows) =>
    rows.map((row) => [row.querySelector('td a').textContent.trim(), row.dataset.state]));
}

async function shownCounts(page) {
  return page.locator('#fleet-counts a').evaluateAll((links) =>
    Object.fromEntries(links.map((a) => [a.dataset.state, Number(a.dataset.count)])));
}

test('the organizations page lists the fleet in risk order with counts per state', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withPortal('fleet', async ({ server, page }) => {
    const { sandbox, base } = server;
    await logIn(page, base, 'admin', ADMIN_PASSWORD);
    let api = await apiSession(page, base);
    const listed = await api.get('/api/v1/organizations');
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    assert.equal(listed.body.total, 1);
    const first = listed.body.rows[0];
    const tenant = first.tenant;
    const registered = await control(sandbox, '/applications', {
      applications: ['Backup Bravo', 'Backup Charlie', 'Backup Delta'].map((display_name) => ({
        display_name,
        application_permissions: ['Application.ReadWrite.All', 'User.Read.All', 'Mail.Read'],
      })),
    });
    const [bravoApp, charlieApp, deltaApp] = registered.applications.map((a) => a.app_id);

    // The configured organization: a certificate now, renewal off (expired by the end).
    await patch(page, base, `/api/v1/organizations/${first.id}`, { renewal_policy: { automatic: false } });
    await generateThroughApi(api, sandbox, first.id);
    // Bravo: its certificate ten days younger (expiring by the end).
    const bravo = await addOrganization(page, base, api, tenant, 'Bravo', bravoApp);
    await control(sandbox, '/clock', { advance_seconds: 10 * DAY_SECONDS });
    await logIn(page, base, 'admin', ADMIN_PASSWORD);
    api = await apiSession(page, base);
    await generateThroughApi(api, sandbox, bravo);
    // Charlie: never gets a certificate (needs an administrator).
    await addOrganization(page, base, api, tenant, 'Charlie', charlieApp);

    // Past the first certificate's end, by an hour.
    const { body: certificate } = await api.get(`/api/v1/organizations/${first.id}/certificate`);
    const end = Date.parse(certificate.active.valid_to);
    await control(sandbox, '/clock', { now: new Date(end + HOUR_SECONDS * 1000).toISOString() });
    await logIn(page, base, 'admin', ADMIN_PASSWORD);
    api = await apiSession(page, base);
    // Delta: a fresh certificate (healthy).
    const delta = await addOrganization(page, base, api, tenant, 'Delta', deltaApp);
    await generateThroughApi(api, sandbox, delta);

    await page.goto(`${base}/organizations`);
    assert.deepEqual(await shownRows(page), [
      [first.name, 'expired'],
      ['Charlie', 'needs_administrator'],
      ['Bravo', 'expiring'],
      ['Delta', 'healthy'],
    ]);
    assert.deepEqual(await shownCounts(page), {
      all: 4, expired: 1, not_attached: 0, needs_administrator: 1, rotation_failing: 0, expiring: 1, healthy: 1,
    });
    assert.match(await page.locator('#fleet-pager').innerText(), /Page 1 of 1 · 4 organizations/);
    // Bravo's certificate ends about nine days after the first one's did, an hour ago.
    const bravoRow = page.locator('#fleet tbody tr[data-state="expiring"]');
    assert.match(await bravoRow.innerText(), /9 days left/);

    // A count is a filter link; the counts stay those of the whole fleet.
    await page.locator('#fleet-counts a[data-state="expiring"]').click();
    await page.waitForURL(/state=expiring/);
    assert.deepEqual(await shownRows(page), [['Bravo', 'expiring']]);
    assert.equal((await shownCounts(page)).all, 4);

    // The search box (with the state filter back on All) finds by name, ignoring case…
    await page.getByLabel('State', { exact: true }).selectOption('');
    await page.getByLabel('Search', { exact: true }).fill('dELT');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForURL(/q=dELT/);
    assert.deepEqual(await shownRows(page), [['Delta', 'healthy']]);
    // …and by tenant.
    await page.getByLabel('Search', { exact: true }).fill(tenant.toUpperCase());
    await page.getByRole('button', { name: 'Show' }).click();
    assert.equal((await shownRows(page)).length, 4);

    // The API agrees, row for row.
    const { body: fleet } = await api.get('/api/v1/organizations?per_page=2');
    assert.deepEqual(fleet.rows.map((r) => [r.name, r.state]), [[first.name, 'expired'], ['Charlie', 'needs_administrator']]);
    assert.equal(fleet.total, 4);
    assert.equal(fleet.pages, 2);
    assert.deepEqual(fleet.counts, {
      expired: 1, not_attached: 0, needs_administrator: 1, rotation_failing: 0, expiring: 1, healthy: 1, all: 4,
    });
    assert.equal(fleet.rows[1].renewal.reason, 'no_active_certificate');
    const refused = await api.get('/api/v1/organizations?state=broken');
    assert.equal(refused.status, 422, JSON.stringify(refused.body));
  });
});
