// Issue 13 point 6: the Notices page in a real browser. An Administrator adds a webhook (the
// secret is shown once), sends a test event that a local receiver verifies with the Standard
// Webhooks reference algorithm (HMAC-SHA256 of "id.timestamp.body", keyed with the base64 after
// `whsec_`), reads the delivery log, disables and deletes the endpoint; a plain-HTTP endpoint
// elsewhere than this machine is refused with its reason; the e-mail settings and an
// organization's own recipients are saved; every change is in the audit log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { withPortal, TEST_TIMEOUT_MS } from '../support/fixture.mjs';
import { ADMIN_PASSWORD } from '../support/server.mjs';
import { logIn, ORGANIZATION, eventually } from '../support/portal.mjs';

/** A webhook receiver on loopback that keeps every request it gets. */
async function startReceiver() {
  const received = [];
  const server = createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(204).end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}/hook`, received, close: () => server.close() };
}

/** The Standard Webhooks check, written from the specification (not from our sender). */
function signatureVerifies(secret, { headers, body }) {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key)
    .update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`)
    .digest();
  return (headers['webhook-signature'] ?? '').split(' ').some((entry) => {
    const [version, signature] = entry.split(',');
    const given = Buffer.from(signature ?? '', 'base64');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

test('Notices page: webhook shown once, signed test event, delivery log, settings, recipients', { timeout: TEST_TIMEOUT_MS }, async () => {
  const receiver = await startReceiver();
  try {
    await withPortal('notices', async ({ server, page }) => {
      await logIn(page, server.base, 'admin', ADMIN_PASSWORD);
      await page.getByRole('link', { name: 'Notices', exact: true }).click();
      await page.getByRole('heading', { name: 'Notices', level: 1 }).waitFor();

      // Plain HTTP to another host is refused, and nothing is added.
      const add = page.locator('#add-webhook');
      await add.getByLabel(/^URL/).fill('http://example.com/hook');
      await add.getByRole('button', { name: 'Add webhook' }).click();
      assert.match(await page.getByRole('alert').innerText(), /HTTPS/i);
      await page.goto(`${server.base}/notices`);
      await page.locator('#no-webhooks').waitFor();

      // Added to the local receiver, for expiry warnings only; the secret is shown this once.
      await add.getByLabel(/^URL/).fill(receiver.url);
      await add.getByLabel('Description').fill('on-call bridge');
      for (const box of await add.locator('input[type=checkbox]').all()) {
        if ((await box.getAttribute('value')) !== 'certificate.expiring') await box.uncheck();
      }
      await add.getByRole('button', { name: 'Add webhook' }).click();
      const secret = (await page.locator('#new-webhook-secret').innerText()).trim();
      assert.match(secret, /^whsec_[A-Za-z0-9+/]+=*$/);
      await page.goto(`${server.base}/notices`);
      assert.ok(!(await page.content()).includes(secret), 'the secret is never shown again');
      const row = page.locator(`#webhooks tr[data-url="${receiver.url}"]`);
      assert.equal(await row.getAttribute('data-state'), 'enabled');
      assert.match(await row.innerText(), /certificate\.expiring/);

      // A test event arrives signed; the delivery log shows it delivered.
      await row.getByRole('button', { name: 'Send a test event' }).click();
      await page.getByRole('heading', { name: 'Delivery log' }).waitFor();
      await eventually(() => assert.equal(receiver.received.length, 1), 30_000);
      const delivery = receiver.received[0];
      assert.equal(JSON.parse(delivery.body).type, 'tenantlink.test');
      assert.ok(signatureVerifies(secret, delivery), 'the receiver verifies the signature');
      assert.ok(!signatureVerifies(`whsec_${Buffer.alloc(32, 7).toString('base64')}`, delivery), 'a wrong secret does not');
      const logged = page.locator('#deliveries tr[data-event="tenantlink.test"]');
      assert.equal(await logged.getAttribute('data-status'), 'delivered');
      assert.match(await logged.innerText(), /HTTP 204/);

      // Disable, then delete.
      await page.goto(`${server.base}/notices`);
      await row.getByRole('button', { name: 'Disable' }).click();
      await page.locator(`#webhooks tr[data-url="${receiver.url}"][data-state="disabled"]`).waitFor();
      await row.getByRole('button', { name: 'Delete' }).click();
      await page.locator('#no-webhooks').waitFor();

      // E-mail settings.
      const settings = page.locator('#notice-settings');
      await settings.getByLabel(/^Warn this many days/).fill('21, 3');
      await settings.getByLabel(/^Default e-mail recipients/).fill('ops@example.com\nsecurity@example.com');
      await settings.getByLabel('E-mail', { exact: true }).selectOption('daily_digest');
      await settings.getByLabel(/^Digest hour/).fill('6');
      await settings.getByRole('button', { name: 'Save notice settings' }).click();
      const saved = page.locator('#notice-settings-section');
      await page.locator('#notice-settings-section[data-email-mode="daily_digest"]').waitFor();
      assert.equal(await saved.getAttribute('data-thresholds'), '21, 3');
      assert.match(await saved.innerText(), /daily digest at 06:00 UTC/);

      // An organization's own recipients.
      await page.getByRole('link', { name: 'Organizations', exact: true }).click();
      await page.getByRole('link', { name: ORGANIZATION }).click();
      const recipients = page.locator('#notice-recipients');
      assert.match(await recipients.innerText(), /default recipients/);
      await recipients.getByLabel(/^Recipients/).fill('customer-it@example.com');
      await recipients.getByRole('button', { name: 'Save recipients' }).click();
      await page.locator('#notice-recipients[data-recipients="customer-it@example.com"]').waitFor();

      // Every change is audited.
      await page.getByRole('link', { name: 'Audit log', exact: true }).click();
      const audit = await page.locator('main').innerText();
      for (const action of ['webhook_created', 'webhook_disabled', 'webhook_deleted', 'notice_settings_changed', 'notice_recipients_changed']) {
        assert.ok(audit.includes(action), `audit log shows ${action}`);
      }
    });
  } finally {
    receiver.close();
  }
});
