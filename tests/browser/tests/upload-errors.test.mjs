// Issue 5: a wrong PFX password and a certificate not attached to the application each show
// their explained error on the page, and the active certificate stays the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { withPortal, TEST_TIMEOUT_MS } from '../support/fixture.mjs';
import { ADMIN_PASSWORD } from '../support/server.mjs';
import { screenshot } from '../support/browser.mjs';
import {
  logIn, openCertificatePage, startOperation, signInInSecondTab, waitForSignedIn, waitForOutcome,
  activeThumbprint, waitForActiveState, apiSession, generateThroughApi,
} from '../support/portal.mjs';
import { delegatedGraphToken, backupAppKeys, keyThumbprints } from '../support/sandbox.mjs';
import { makePfx } from '../support/openssl.mjs';

/** Upload → second-tab sign-in → file and password → Import; returns the failure box. */
async function uploadAndFail(page, sandbox, pfxPath, password) {
  await startOperation(page, 'Upload a custom certificate');
  const { tab, admin } = await signInInSecondTab(page, sandbox);
  await tab.close();
  await waitForSignedIn(page, admin.username);
  await page.getByLabel('Select Certificate file (.pfx)').setInputFiles(pfxPath);
  await page.getByLabel('Password (Optional)').fill(password);
  await page.getByRole('button', { name: 'Import' }).click();
  assert.equal(await waitForOutcome(page), 'failed');
  await page.getByText('The previous certificate is still the active one.').waitFor();
  return page.getByRole('alert');
}

test('a wrong password and a certificate not attached are explained and change nothing', { timeout: TEST_TIMEOUT_MS }, async () => {
  const pfx = makePfx('right-password-1618');
  try {
    await withPortal('upload-errors', async ({ server, page }) => {
      await logIn(page, server.base, 'admin', ADMIN_PASSWORD);
      const organization = await openCertificatePage(page);
      const active = await generateThroughApi(await apiSession(page, server.base), server.sandbox, organization);
      await page.reload();
      await waitForActiveState(page, 'valid');
      assert.equal(await activeThumbprint(page), active);

      // 1. The right file with the wrong password.
      let alert = await uploadAndFail(page, server.sandbox, pfx.pfxPath, 'not-the-password');
      assert.match(await alert.locator('.message').innerText(), /wrong password for this PKCS#12 file; check the password the file was exported with/);
      assert.match(await alert.locator('.remediation').innerText(), /^What to do: Choose the \.pfx file .* type its password/);
      assert.equal((await alert.locator('.code code').innerText()).trim(), 'bad_file:wrong_password');
      await screenshot(page, 'upload-error-wrong-password');
      await page.getByRole('link', { name: 'Back to SSL Certificate' }).click();
      await waitForActiveState(page, 'valid');
      assert.equal(await activeThumbprint(page), active, 'still the generated certificate');

      // 2. The right password, but Entra ID does not know this certificate.
      alert = await uploadAndFail(page, server.sandbox, pfx.pfxPath, pfx.password);
      const message = await alert.locator('.message').innerText();
      assert.match(message, new RegExp(`The certificate with thumbprint ${pfx.thumbprint} is not attached to the application`));
      assert.match(message, new RegExp(`application id ${server.sandbox.backup_app.app_id}`));
      assert.match(await alert.locator('.remediation').innerText(), /App registrations → .* → Certificates & secrets → Certificates, upload this certificate's public part \(\.cer\)/);
      assert.equal((await alert.locator('.code code').innerText()).trim(), 'not_attached');
      await screenshot(page, 'upload-error-not-attached');
      await page.getByRole('link', { name: 'Back to SSL Certificate' }).click();
      await waitForActiveState(page, 'valid');
      assert.equal(await activeThumbprint(page), active, 'still the generated certificate');

      // Both failures are listed as operations, and the application's keys are untouched.
      const operations = page.getByRole('region', { name: 'Recent operations' }).getByRole('listitem');
      assert.equal(await operations.count(), 3);
      assert.match(await operations.nth(0).innerText(), /^upload by admin at .*: failed$/);
      assert.match(await operations.nth(1).innerText(), /^upload by admin at .*: failed$/);
      const token = await delegatedGraphToken(server.sandbox);
      assert.deepEqual(keyThumbprints(await backupAppKeys(server.sandbox, token)), [active]);
    });
  } finally {
    rmSync(pfx.dir, { recursive: true, force: true });
  }
});
