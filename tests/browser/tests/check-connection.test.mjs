// Check connection: the certificate page asks Entra ID for one app-only token with the active
// certificate and shows the answer. Valid → a tenant administrator removes the key from the backup
// application in Entra ID (the sandbox's Graph) → "Not attached", explained, with what to do, and
// the active certificate unchanged → the same public part (downloaded from the page) is attached
// again → an Operator's Check connection shows it valid again. The API story is
// crates/tenantlink/tests/serve_connection.rs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { withPortal, TEST_TIMEOUT_MS } from '../support/fixture.mjs';
import { ADMIN_PASSWORD } from '../support/server.mjs';
import { newContext } from '../support/browser.mjs';
import {
  logIn, openCertificatePage, activeThumbprint, waitForActiveState, certificateField, apiSession,
  generateThroughApi,
} from '../support/portal.mjs';
import {
  delegatedGraphToken, backupAppKeys, keyThumbprints, removeCertificate, attachCertificate,
} from '../support/sandbox.mjs';

const OPERATOR = { username: 'otto.operator', password: 'operator-password-2718' };

/** The latest check on the page, once it is `outcome` and was made by `by` (its source's label). */
function lastCheck(page, outcome, by) {
  return page.locator(`#last-check[data-outcome="${outcome}"]`, { hasText: `by ${by}:` });
}

/**
 * Presses Check connection. The button posts a form and the answer comes back on a new load of
 * the same page, so the caller waits for a state the page did not show before the press.
 */
async function pressCheckConnection(page) {
  await page.getByRole('button', { name: 'Check connection' }).click();
  await page.waitForURL(/\/settings\/system\?checked=1$/);
}

/** The answer's page puts the focus on the result, so a screen reader reads it first. */
async function assertResultFocused(page) {
  await page.waitForFunction(() => document.activeElement?.id === 'last-check');
}

test('Check connection: valid, then not attached once the key is removed in Entra ID, valid again once it is back', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withPortal('check-connection', async ({ server, browser, page }) => {
    const { sandbox } = server;
    await logIn(page, server.base, 'admin', ADMIN_PASSWORD);
    const organization = await openCertificatePage(page);
    // Nothing to check before a certificate is active: no button.
    await page.locator('#certificate-state[data-state="none"]').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Check connection' }).count(), 0);

    const admin = await apiSession(page, server.base);
    const created = await admin.post('/api/v1/users', { ...OPERATOR, role: 'operator' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const active = await generateThroughApi(admin, sandbox, organization);
    await page.reload();
    await waitForActiveState(page, 'valid');
    assert.equal(await activeThumbprint(page), active);
    // The activation's own token request is the first recorded answer.
    await lastCheck(page, 'accepted', 'its activation').waitFor();

    // 1. Attached: Check connection gets a token and says so, with nothing to do.
    await pressCheckConnection(page);
    const accepted = lastCheck(page, 'accepted', 'Check connection');
    await accepted.waitFor();
    await assertResultFocused(page);
    assert.match(await accepted.innerText(), /Entra ID issued an app-only token signed with this certificate\./);
    assert.equal(await accepted.getByText('What to do:').count(), 0);
    await waitForActiveState(page, 'valid');
    assert.equal(await certificateField(page, 'State'), 'Valid');

    // The public part as the page offers it; its SHA-1 is the active thumbprint.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download .cer (public part)' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), `${active}.cer`);
    const der = await readFile(await download.path());
    assert.equal(createHash('sha1').update(der).digest('hex').toUpperCase(), active);

    // 2. A tenant administrator deletes the key from the backup application in Entra ID.
    const token = await delegatedGraphToken(sandbox);
    const removal = await removeCertificate(sandbox, token, active);
    assert.deepEqual(removal.before, [active]);
    assert.deepEqual(removal.after, [], 'the application lists no key any more');

    await pressCheckConnection(page);
    await waitForActiveState(page, 'not_attached');
    const refused = lastCheck(page, 'key_not_registered', 'Check connection');
    await refused.waitFor();
    assert.equal(await certificateField(page, 'State'), 'Not attached');
    const explanation = await refused.locator('p').first().innerText();
    assert.match(explanation, /Not attached: tenantlink holds this certificate/);
    assert.match(explanation, new RegExp(`SHA-1 ${active}`));
    assert.match(explanation, new RegExp(`application id ${sandbox.backup_app.app_id}`));
    assert.match(explanation, /AADSTS700027, key not registered on the application/);
    const remediation = await refused.getByText('What to do:').locator('xpath=..').innerText();
    assert.match(remediation, /Generate a new certificate/);
    assert.match(remediation, /Upload a custom certificate/);
    assert.match(remediation, /If someone re-attached this certificate in Entra ID, press Check connection again\./);
    // Entra ID's own message, folded away under its summary.
    await refused.getByText("Entra ID's message").click();
    const detail = refused.locator('details pre');
    await detail.waitFor();
    const said = await detail.innerText();
    assert.match(said, /AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application\./);
    assert.match(said, /Reason - The key was not found\./);
    assert.match(said, new RegExp(`Thumbprint of key used by client: '${active}'`, 'i'));
    // The active certificate did not change, and nothing was replaced.
    assert.equal(await activeThumbprint(page), active);
    assert.equal(await certificateField(page, 'Source'), 'generated');
    assert.equal(await page.getByRole('heading', { name: 'Previous certificates' }).count(), 0);
    await page.getByRole('button', { name: 'Generate a new certificate' }).waitFor();
    await page.getByRole('button', { name: 'Upload a custom certificate' }).waitFor();

    // 3. The same public part is attached again; the page keeps the recorded answer until an
    // Operator (in a browser context of their own) presses Check connection.
    const putBack = await attachCertificate(sandbox, token, der.toString('base64'), 'tenantlink re-attached');
    assert.deepEqual(putBack.after, [active]);
    const operatorContext = await newContext(browser, server.base);
    const operator = await operatorContext.newPage();
    await logIn(operator, server.base, OPERATOR.username, OPERATOR.password);
    assert.equal((await operator.locator('.account span').innerText()).trim(), `${OPERATOR.username} (Operator)`);
    assert.equal(await openCertificatePage(operator), organization);
    await waitForActiveState(operator, 'not_attached');
    // An Operator may check but not replace the certificate.
    assert.equal(await operator.getByRole('button', { name: 'Generate a new certificate' }).count(), 0);
    await pressCheckConnection(operator);
    await waitForActiveState(operator, 'valid');
    await lastCheck(operator, 'accepted', 'Check connection').waitFor();
    assert.equal(await activeThumbprint(operator), active);

    // The administrator's page shows the same answer on its next load.
    await page.reload();
    await waitForActiveState(page, 'valid');
    await lastCheck(page, 'accepted', 'Check connection').waitFor();
    assert.equal(await activeThumbprint(page), active);
    assert.deepEqual(keyThumbprints(await backupAppKeys(sandbox, token)), [active]);
  });
});
