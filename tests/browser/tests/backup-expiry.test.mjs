// Issue 6 in the browser: a backup policy runs and backs up the sandbox's sample mail; the
// sandbox clock passes the certificate's end; the next run fails with AADSTS700027 "The key used
// is expired." and the thumbprint, the banner appears; the administrator generates a new
// certificate; Run now succeeds and reads only what changed since the last successful run
// (one message added and one edited through the sandbox's control API).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withPortal, TEST_TIMEOUT_MS } from '../support/fixture.mjs';
import { ADMIN_PASSWORD } from '../support/server.mjs';
import { screenshot } from '../support/browser.mjs';
import {
  ORGANIZATION, CERTIFICATE_SETTINGS_LINK, logIn, openCertificatePage, startOperation,
  signInInSecondTab, waitForSignedIn, waitForOutcome, activeThumbprint, waitForActiveState,
  apiSession, generateThroughApi, createRunNowPolicy, runNow, openPolicy,
} from '../support/portal.mjs';
import { control, sandboxAdministrator, delegatedGraphToken, firstMessage } from '../support/sandbox.mjs';

const DAY_SECONDS = 86_400;
// Documented sample data of the sandbox (docs/sandbox.md): 57 generated messages per user.
const SAMPLE_MESSAGES_PER_USER = 57;

test('a policy fails with AADSTS700027 after expiry, the banner appears, a new certificate makes Run now succeed', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withPortal('backup-expiry', async ({ server, page }) => {
    const { sandbox } = server;
    await logIn(page, server.base, 'admin', ADMIN_PASSWORD);
    const organization = await openCertificatePage(page);
    // Set-up: the first certificate (the Generate story itself is generate.test.mjs).
    const first = await generateThroughApi(await apiSession(page, server.base), sandbox, organization);

    // A policy, created with the form: all users, Run now only (no schedule racing the test).
    await page.getByRole('link', { name: 'Organizations' }).first().click();
    await page.getByRole('link', { name: ORGANIZATION }).click();
    await page.getByRole('heading', { name: ORGANIZATION, level: 1 }).waitFor();
    assert.equal(await page.locator('#certificate-banner').count(), 0, 'no banner while the certificate is valid');
    await createRunNowPolicy(page, 'Mailboxes');

    // 1. The first run backs up the sample mail of every user.
    const firstRun = await runNow(page);
    assert.equal(firstRun.status, 'success');
    assert.equal(firstRun.users, sandbox.users.length);
    assert.equal(firstRun.itemsNew, SAMPLE_MESSAGES_PER_USER * sandbox.users.length);

    // 2. Sandbox time (shared with the service) passes the certificate's end.
    await control(sandbox, '/clock', { advance_seconds: 366 * DAY_SECONDS });
    // A year later the portal session has long ended: sign in again, as a person would.
    await logIn(page, server.base, 'admin', ADMIN_PASSWORD);
    await page.getByRole('link', { name: ORGANIZATION }).click();
    await openPolicy(page, 'Mailboxes');
    const failed = await runNow(page);
    assert.equal(failed.status, 'failed');
    const jobLog = await page.locator('#job-log-text').innerText();
    assert.match(jobLog, /AADSTS700027/);
    assert.match(jobLog, /The key used is expired\./);
    assert.ok(jobLog.toUpperCase().includes(first), `the job log names the thumbprint ${first}:\n${jobLog}`);
    const remediation = page.locator('#remediation-link');
    assert.equal(await remediation.getAttribute('href'), `/organizations/${organization}/settings/system`);
    await screenshot(page, 'job-log-expired');

    // 3. The banner on the policy page and on the organization page.
    await page.getByRole('link', { name: 'Mailboxes' }).click();
    const policyBanner = page.locator('#certificate-banner[data-state="expired"]');
    await policyBanner.waitFor();
    assert.match(await policyBanner.innerText(), /Certificate: Expired\./);
    await page.getByRole('link', { name: ORGANIZATION }).click();
    const banner = page.locator('#certificate-banner[data-state="expired"]');
    await banner.waitFor();
    assert.match(await banner.innerText(), /Backup policies of this organization cannot sign in/);
    await page.locator('#connection[data-state="broken"]').waitFor();
    await screenshot(page, 'organization-expired');

    // 4. The administrator follows the banner and generates a new certificate.
    await banner.getByRole('link', { name: CERTIFICATE_SETTINGS_LINK }).click();
    await waitForActiveState(page, 'expired');
    assert.equal(await activeThumbprint(page), first);
    await startOperation(page, 'Generate a new certificate');
    const { tab, admin } = await signInInSecondTab(page, sandbox);
    await tab.close();
    await waitForSignedIn(page, admin.username);
    await page.getByRole('button', { name: 'Generate', exact: true }).click();
    assert.equal(await waitForOutcome(page), 'succeeded');
    await page.getByRole('link', { name: 'Back to SSL Certificate' }).click();
    await waitForActiveState(page, 'valid');
    const second = await activeThumbprint(page);
    assert.notEqual(second, first);

    // 5. Since the last successful run one message arrived and one was edited; Run now
    //    succeeds and reads exactly those two.
    const mailbox = sandboxAdministrator(sandbox).username;
    const mailToken = await delegatedGraphToken(sandbox, 'https://graph.microsoft.com/Mail.Read');
    const edited = await firstMessage(sandbox, mailToken, mailbox); // a sample message, backed up before
    await control(sandbox, `/mail/${encodeURIComponent(edited.id)}`, { subject: `${edited.subject} (edited)` });
    await control(sandbox, '/mail', {
      user: mailbox,
      subject: 'Arrived while the certificate was expired',
      sender: 'ops@contoso.example',
      body: 'One new message since the last successful run.',
    });
    await page.goto(`${server.base}/organizations/${organization}`);
    assert.equal(await page.locator('#certificate-banner').count(), 0, 'the banner is gone');
    await openPolicy(page, 'Mailboxes');
    const recovered = await runNow(page);
    assert.deepEqual(recovered, { status: 'success', users: sandbox.users.length, itemsNew: 1, itemsChanged: 1 });

    // The job log lists the three runs, newest first; the connection is connected again.
    await page.getByRole('link', { name: 'Mailboxes' }).click();
    const rows = page.locator('#job-log tbody tr');
    assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.status)), ['success', 'failed', 'success']);
    await screenshot(page, 'policy-job-log');
    await page.getByRole('link', { name: ORGANIZATION }).click();
    await page.locator('#connection[data-state="connected"]').waitFor();
  });
});
