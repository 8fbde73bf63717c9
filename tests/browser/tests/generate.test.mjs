// Issue 5: Generate a new certificate through a device sign-in approved on the sandbox's sign-in
// page in a second tab, as a person would; the new certificate is active and attached.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withPortal, TEST_TIMEOUT_MS } from '../support/fixture.mjs';
import { ADMIN_PASSWORD } from '../support/server.mjs';
import { screenshot } from '../support/browser.mjs';
import {
  logIn, openCertificatePage, startOperation, signInInSecondTab, waitForSignedIn, waitForOutcome,
  activeThumbprint, waitForActiveState, certificateField, normalizeThumbprint,
} from '../support/portal.mjs';
import { delegatedGraphToken, backupAppKeys, keyThumbprints } from '../support/sandbox.mjs';

test('Generate a new certificate: device sign-in in a second tab, Generate, active and attached', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withPortal('generate', async ({ server, page }) => {
    await logIn(page, server.base, 'admin', ADMIN_PASSWORD);
    await openCertificatePage(page);
    await page.locator('#certificate-state[data-state="none"]').waitFor();

    await startOperation(page, 'Generate a new certificate');
    const shownCode = (await page.locator('#user-code').innerText()).trim();
    // The copy button (shown by the page's script) puts exactly the code on the clipboard.
    const copy = page.getByRole('button', { name: 'Copy code' });
    await copy.click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), shownCode);
    assert.match(await page.locator('#countdown').innerText(), /^\d+ min \d+ s$/);
    await page.locator('#sign-in-status', { hasText: 'Waiting for the sign-in' }).waitFor();
    await screenshot(page, 'device-code');

    const { code, tab, admin } = await signInInSecondTab(page, server.sandbox, {
      // The administrator pastes the copied code into the sandbox's sign-in page.
      beforeSubmit: async (tab) => {
        const input = tab.getByLabel('Code', { exact: true });
        await input.fill('');
        await input.focus();
        await tab.keyboard.press('Control+V');
        assert.equal(await input.inputValue(), shownCode, 'the pasted code');
        await screenshot(tab, 'sandbox-device-sign-in');
      },
    });
    assert.equal(code, shownCode);
    await tab.close();

    // Back in the first tab, without reloading it by hand: the live status turns signed-in.
    await waitForSignedIn(page, admin.username);
    await page.getByRole('button', { name: 'Generate', exact: true }).click();
    assert.equal(await waitForOutcome(page), 'succeeded');
    const success = page.locator('p.success');
    assert.equal((await success.innerText()).trim(), 'The new certificate is active.');
    const generated = normalizeThumbprint(await page.locator('#operation code.thumbprint').innerText());
    assert.match(generated, /^[0-9A-F]{40}$/);

    await page.getByRole('link', { name: 'Back to SSL Certificate' }).click();
    await waitForActiveState(page, 'valid');
    assert.equal(await activeThumbprint(page), generated, 'the certificate page shows the new thumbprint');
    assert.equal(await certificateField(page, 'State'), 'Valid');
    assert.equal(await certificateField(page, 'Source'), 'generated');
    assert.equal(await certificateField(page, 'Days left'), '364');
    await screenshot(page, 'certificate-active');

    // Attached: the sandbox's Graph lists a key whose certificate has this SHA-1 thumbprint.
    const token = await delegatedGraphToken(server.sandbox);
    const attached = keyThumbprints(await backupAppKeys(server.sandbox, token));
    assert.deepEqual(attached, [generated]);
  });
});
