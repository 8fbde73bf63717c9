// Issue 14: an administrator connects a new tenant from the portal with one device sign-in;
// tenantlink registers the backup application, its service principal and admin consent, gives
// it its first certificate, and the organization's backups run. The sandbox's Graph shows the
// application, its service principal and exactly the consented app roles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withPortal, TEST_TIMEOUT_MS } from '../support/fixture.mjs';
import { ADMIN_PASSWORD } from '../support/server.mjs';
import { screenshot, SIGN_IN_TIMEOUT_MS } from '../support/browser.mjs';
import {
  logIn, signInInSecondTab, waitForSignedIn, waitForOutcome, apiSession, createRunNowPolicy,
  runNow, certificateField,
} from '../support/portal.mjs';
import { control, controlGet, delegatedGraphToken, graphGet } from '../support/sandbox.mjs';

const TENANT = 'fabrikam.example';
const NAME = 'Fabrikam';
// Microsoft Graph's appId: every tenant has its service principal.
const MICROSOFT_GRAPH = '00000003-0000-0000-c000-000000000000';
// What Connect consents by default (docs/connect.md): mail backup and its own key management.
const DEFAULT_PERMISSIONS = ['Application.ReadWrite.OwnedBy', 'Mail.Read', 'User.Read.All'];

test('Connect an organization: device sign-in, the application registered and consented, first certificate, a backup run succeeds', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withPortal('connect', async ({ server, page }) => {
    const { sandbox, base } = server;
    // A new tenant whose only account holds the least roles the connect page asks for.
    const created = await control(sandbox, '/tenants', {
      domain: TENANT,
      display_name: NAME,
      users: [{ alias: 'setup', roles: ['Application Administrator', 'Privileged Role Administrator'] }],
    });
    const [setup] = created.users;
    const tenantId = created.tenant;

    await logIn(page, base, 'admin', ADMIN_PASSWORD);
    await page.getByRole('link', { name: 'Connect an organization' }).click();
    await page.getByRole('heading', { name: 'Connect an organization', level: 1 }).waitFor();
    const roles = await page.locator('#required-roles').innerText();
    for (const role of ['Application Administrator', 'Cloud Application Administrator', 'Privileged Role Administrator', 'Global Administrator']) {
      assert.ok(roles.includes(role), `the page names ${role}: ${roles}`);
    }
    await page.getByLabel('Tenant id or domain').fill(TENANT);
    await page.getByLabel('Cloud').selectOption({ label: 'Sandbox tenant' });
    await page.getByLabel('Display name (optional)').fill(NAME);
    await screenshot(page, 'connect-form');
    await page.getByRole('button', { name: 'Connect', exact: true }).click();

    // The device sign-in screen, as for Generate, with the browser sign-in beside it.
    await page.getByRole('heading', { name: 'Connect an organization', level: 1 }).waitFor();
    await page.locator('#operation[data-step="awaiting_sign_in"]').waitFor();
    await page.locator('#required-roles').waitFor();
    await page.getByRole('button', { name: 'Sign in with the browser instead' }).waitFor();
    const id = await page.locator('#operation').getAttribute('data-operation-id');
    await screenshot(page, 'connect-device-code');
    const { tab } = await signInInSecondTab(page, sandbox, { account: setup });
    await tab.close();
    await waitForSignedIn(page, setup.username);

    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    assert.equal(await waitForOutcome(page), 'succeeded', await page.locator('#operation').innerText());
    assert.match(await page.locator('p.success').innerText(), /^The organization is connected/);
    const steps = await page.locator('#connect-steps li').evaluateAll((items) => items.map((li) => [li.dataset.step, li.dataset.state]));
    assert.ok(steps.length >= 5, JSON.stringify(steps));
    assert.ok(steps.every(([, state]) => state === 'done'), `every step done: ${JSON.stringify(steps)}`);
    await screenshot(page, 'connect-succeeded');

    // The organization: listed, its first certificate active.
    const api = await apiSession(page, base);
    const operation = (await api.get(`/api/v1/operations/${id}`)).body;
    const organization = (await api.get(`/api/v1/organizations/${operation.organization}`)).body;
    assert.equal(organization.name, NAME);
    assert.equal(organization.tenant, TENANT);
    assert.match(organization.app_id, /^[0-9a-f-]{36}$/, JSON.stringify(organization));
    await page.getByRole('link', { name: 'Open the organization' }).click();
    await page.getByRole('heading', { name: NAME, level: 1 }).waitFor();
    assert.equal(await page.locator('#certificate-state').getAttribute('data-state'), 'valid');
    await page.getByRole('link', { name: 'Settings → System → SSL Certificate' }).last().click();
    await page.locator('#active-certificate[data-state="valid"]').waitFor();
    assert.equal(await certificateField(page, 'Source'), 'generated');
    await page.getByRole('link', { name: NAME }).first().click();
    await page.getByRole('heading', { name: NAME, level: 1 }).waitFor();

    // A backup policy of it runs (app-only, with the consented roles) and succeeds; the
    // connection turns connected.
    await createRunNowPolicy(page, 'Fabrikam mail');
    const run = await runNow(page);
    assert.equal(run.status, 'success');
    assert.equal(run.users, 1, 'the tenant has one user');
    assert.ok(run.itemsNew > 0, 'its sample mail was backed up');
    await page.getByRole('link', { name: NAME }).first().click();
    await page.locator('#connection[data-state="connected"]').waitFor({ timeout: SIGN_IN_TIMEOUT_MS });

    // The tenant's Graph, read as its administrator: the application, its service principal,
    // and exactly the consented app roles on Microsoft Graph.
    const token = await delegatedGraphToken(sandbox, undefined, { tenant: tenantId, username: setup.username });
    const app = await graphGet(sandbox, token, `/applications(appId='${organization.app_id}')`);
    const graphRoles = (app.requiredResourceAccess ?? []).find((r) => r.resourceAppId === MICROSOFT_GRAPH);
    assert.ok(graphRoles, `the application asks for Microsoft Graph: ${JSON.stringify(app.requiredResourceAccess)}`);
    const servicePrincipal = await graphGet(sandbox, token, `/servicePrincipals(appId='${organization.app_id}')`);
    const graphPrincipal = await graphGet(sandbox, token, `/servicePrincipals(appId='${MICROSOFT_GRAPH}')`);
    const roleName = new Map(graphPrincipal.appRoles.map((r) => [r.id, r.value]));
    const assignments = (await graphGet(sandbox, token, `/servicePrincipals/${servicePrincipal.id}/appRoleAssignments`)).value;
    const consented = assignments.map((a) => {
      assert.equal(a.resourceId, graphPrincipal.id, 'granted on Microsoft Graph');
      assert.equal(a.principalId, servicePrincipal.id);
      return roleName.get(a.appRoleId);
    }).sort();
    assert.deepEqual(consented, DEFAULT_PERMISSIONS);
    const requested = graphRoles.resourceAccess.filter((r) => r.type === 'Role').map((r) => roleName.get(r.id)).sort();
    assert.deepEqual(requested, consented, 'consented exactly what the application asks for');

    // Owned by its own service principal, so its app-only token rolls its own keys.
    const held = await controlGet(sandbox, `/applications/${organization.app_id}`);
    assert.ok(held.owners.includes(servicePrincipal.id), JSON.stringify(held.owners));
    assert.equal(held.key_count, 1, 'the first certificate is its only key');
  });
});

test('Connect as a plain user: the step and Graph\'s refusal are explained, nothing is registered; Reconnect from the organization page as a Global Administrator connects it', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withPortal('connect-refused', async ({ server, page }) => {
    const { sandbox, base } = server;
    const created = await control(sandbox, '/tenants', {
      domain: 'northwind.example',
      users: [{ alias: 'plain' }, { alias: 'ga', roles: ['Global Administrator'] }],
    });
    const [plain, ga] = created.users;

    await logIn(page, base, 'admin', ADMIN_PASSWORD);
    await page.getByRole('link', { name: 'Connect an organization' }).click();
    await page.getByLabel('Tenant id or domain').fill('northwind.example');
    await page.getByLabel('Cloud').selectOption({ label: 'Sandbox tenant' });
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await page.locator('#operation[data-step="awaiting_sign_in"]').waitFor();
    const first = await signInInSecondTab(page, sandbox, { account: plain });
    await first.tab.close();
    await waitForSignedIn(page, plain.username);
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    assert.equal(await waitForOutcome(page), 'failed');

    // Which step, in Graph's words, and what to do.
    await page.locator('#connect-steps li[data-step="application_created"][data-state="failed"]').waitFor();
    const error = page.locator('div.error[role="alert"]');
    assert.match(await error.locator('.message').innerText(), /Insufficient privileges/);
    assert.match(await error.locator('.remediation').innerText(), /Global Administrator/);
    assert.match(await error.locator('.code code').innerText(), /^create_application:insufficient_privileges:Authorization_RequestDenied$/);
    await screenshot(page, 'connect-refused');

    // Nothing registered: the organization has no application, the tenant's Graph none tagged.
    const api = await apiSession(page, base);
    const id = await page.locator('#operation').getAttribute('data-operation-id');
    const organization = (await api.get(`/api/v1/operations/${id}`)).body.organization;
    assert.equal((await api.get(`/api/v1/organizations/${organization}`)).body.app_id, '');
    const token = await delegatedGraphToken(sandbox, undefined, { tenant: created.tenant, username: ga.username });
    const marker = encodeURIComponent(`tags/any(t:t eq 'tenantlink:${organization}')`);
    assert.deepEqual((await graphGet(sandbox, token, `/applications?$filter=${marker}`)).value, []);

    // Reconnect from the organization's page, signed in as a Global Administrator.
    await page.getByRole('link', { name: 'Back to the organization' }).click();
    await page.getByRole('heading', { name: 'Reconnect', level: 2 }).waitFor();
    await page.getByRole('button', { name: 'Reconnect' }).click();
    await page.locator('#operation[data-step="awaiting_sign_in"]').waitFor();
    await page.locator('#required-roles').waitFor();
    const second = await signInInSecondTab(page, sandbox, { account: ga });
    await second.tab.close();
    await waitForSignedIn(page, ga.username);
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    assert.equal(await waitForOutcome(page), 'succeeded', await page.locator('#operation').innerText());
    const registered = (await graphGet(sandbox, token, `/applications?$filter=${marker}`)).value;
    assert.equal(registered.length, 1, JSON.stringify(registered));
    const stored = (await api.get(`/api/v1/organizations/${organization}`)).body;
    assert.equal(stored.app_id, registered[0].appId);
  });
});
