// Issue 5: Upload a custom certificate made with openssl, attached to the backup application
// through Graph by the test (keeping the keys already there), with its password → active.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { withPortal, TEST_TIMEOUT_MS } from '../support/fixture.mjs';
import { ADMIN_PASSWORD } from '../support/server.mjs';
import { screenshot } from '../support/browser.mjs';
import {
  logIn, openCertificatePage, startOperation, signInInSecondTab, waitForSignedIn, waitForOutcome,
  activeThumbprint, waitForActiveState, certificateField, normalizeThumbprint, apiSession,
  generateThroughApi,
} from '../support/portal.mjs';
import { delegatedGraphToken, attachCertificate, backupAppKeys, keyThumbprints } from '../support/sandbox.mjs';
import { makePfx } from '../support/openssl.mjs';

test('Upload a custom certificate: openssl PFX attached through Graph, imported with its password', { timeout: TEST_TIMEOUT_MS }, async () => {
  const pfx = makePfx('upload-pfx-pass-2718');
  try {
    await withPortal('upload', async ({ server, page }) => {
      await logIn(page, server.base, 'admin', ADMIN_PASSWORD);
      const organization = await openCertificatePage(page);
      // An earlier certificate is active and attached: the upload must replace it in the portal
      // while the test's own Graph write keeps it on the application.
      const earlier = await generateThroughApi(await apiSession(page, server.base), server.sandbox, organization);

      const token = await delegatedGraphToken(server.sandbox);
      const { before, after } = await attachCertificate(server.sandbox, token, pfx.derBase64, 'browser test upload');
      assert.deepEqual(before, [earlier]);
      assert.deepEqual([...after].sort(), [earlier, pfx.thumbprint].sort(), 'merged: the earlier key is kept');

      await page.reload();
      await waitForActiveState(page, 'valid');
      assert.equal(await activeThumbprint(page), earlier);

      await startOperation(page, 'Upload a custom certificate');
      const { tab, admin } = await signInInSecondTab(page, server.sandbox);
      await tab.close();
      await waitForSignedIn(page, admin.username);

      await page.getByLabel('Select Certificate file (.pfx)').setInputFiles(pfx.pfxPath);
      await page.getByLabel('Password (Optional)').fill(pfx.password);
      await screenshot(page, 'upload-form');
      await page.getByRole('button', { name: 'Import' }).click();

      assert.equal(await waitForOutcome(page), 'succeeded');
      assert.equal((await page.locator('p.success').innerText()).trim(), 'The new certificate is active.');
      assert.equal(normalizeThumbprint(await page.locator('#operation code.thumbprint').innerText()), pfx.thumbprint);

      await page.getByRole('link', { name: 'Back to SSL Certificate' }).click();
      await waitForActiveState(page, 'valid');
      assert.equal(await activeThumbprint(page), pfx.thumbprint);
      assert.equal(await certificateField(page, 'Source'), 'uploaded');
      assert.match(await certificateField(page, 'Subject'), /tenantlink browser upload/);
      // The earlier certificate is now listed among the previous ones.
      const previous = page.getByRole('region', { name: 'Previous certificates' });
      assert.match(normalizeThumbprint(await previous.locator('code.thumbprint').first().innerText()), new RegExp(earlier));

      // Graph still lists both keys: nothing was removed by the upload.
      assert.deepEqual(keyThumbprints(await backupAppKeys(server.sandbox, token)).sort(), [earlier, pfx.thumbprint].sort());
    });
  } finally {
    rmSync(pfx.dir, { recursive: true, force: true });
  }
});
