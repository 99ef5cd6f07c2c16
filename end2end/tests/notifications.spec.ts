import { test, expect } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import { collectErrors, ready } from './session';
import { heldURL } from '../servers';
import { loginToken } from '../constants';

// On the class-policy server, which allows plain-http receivers (MAILVEND_NOTIFY_ALLOW_HTTP):
// the receiver is a real HTTP server started here, answering 500 first and then 200.

type Got = { headers: http.IncomingHttpHeaders; body: string };

function receiver(): Promise<{ url: string; got: Got[]; close: () => void }> {
  const got: Got[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.statusCode = got.length === 1 ? 500 : 200;
      res.end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      resolve({ url: `http://127.0.0.1:${port}/hook`, got, close: () => server.close() });
    }),
  );
}

/** What a receiver does with the channel's secret (docs/api.md, Notifications). */
function verified(secret: string, g: Got): boolean {
  const ts = String(g.headers['x-mailvend-timestamp']);
  const sig = String(g.headers['x-mailvend-signature']);
  const want = crypto.createHmac('sha256', secret).update(`${ts}.${g.body}`).digest('hex');
  return sig === `v1=${want}` && Math.abs(Date.now() / 1000 - Number(ts)) < 300;
}

test.beforeEach(async ({ page }) => {
  const r = await page.goto(`${heldURL}/auth/local?token=${loginToken}`);
  expect(r?.status()).toBe(200);
});

test('an admin adds a signed webhook, tests it through a 500, reads the log and removes it', async ({
  page,
  javaScriptEnabled,
}, info) => {
  const errors = collectErrors(page);
  const hook = await receiver();
  const target = `${hook.url}/${info.project.name}`;
  // Listed by origin only: a webhook URL often carries its token (the receiver's port is this
  // test's own).
  const shown = `${new URL(target).origin}/…`;
  try {
    await page.goto(`${heldURL}/notifications`);
    await ready(page, javaScriptEnabled);
    await expect(page.getByRole('heading', { level: 1, name: 'Notifications' })).toBeVisible();
    // A target the server refuses is named, and nothing is added.
    await page.getByLabel('Kind').selectOption('webhook');
    await page.getByLabel('Target').fill('https://169.254.169.254/latest/meta-data/');
    await page.getByRole('button', { name: 'Add channel' }).click();
    await expect(page.getByText('link-local and instance-metadata hosts are refused').first()).toBeVisible();

    // Only the event nothing here raises, so the other specs' held mail does not reach it.
    await page.goto(`${heldURL}/notifications`);
    await ready(page, javaScriptEnabled);
    await page.getByLabel('Kind').selectOption('webhook');
    await page.getByLabel('Target').fill(target);
    for (const label of ['Dead letter', 'Owner unreachable', 'Held mail waiting', 'Organization drift found']) {
      await page.getByLabel(label).uncheck();
    }
    await page.getByRole('button', { name: 'Add channel' }).click();
    const secretBox = page.getByLabel('New secret');
    await expect(secretBox).toHaveText(/^whsec_[0-9a-f]{64}$/);
    const secret = (await secretBox.textContent())!.trim();

    await page.goto(`${heldURL}/notifications`);
    await ready(page, javaScriptEnabled);
    await expect(page.getByLabel('New secret')).toHaveCount(0);
    const row = page.getByRole('row').filter({ hasText: shown });
    await expect(row).toContainText('sync_failed');
    await expect(row).not.toContainText(secret);
    await expect(row).not.toContainText(info.project.name);
    const channelId = (await row.getByTestId('channel-id').textContent())!.trim();

    // The first test meets the receiver's 500: said so, and tried again later.
    await row.getByRole('button', { name: `Send a test to ${shown}` }).click();
    await expect(page.getByText('The test was not delivered: the receiver answered 500.').first()).toBeVisible();
    await row.getByRole('button', { name: `Send a test to ${shown}` }).click();
    await expect(page.getByText('The test was delivered (the receiver answered 200).').first()).toBeVisible();
    expect(hook.got).toHaveLength(2);
    for (const g of hook.got) {
      expect(verified(secret, g)).toBe(true);
      expect(JSON.parse(g.body).event).toBe('test');
    }
    expect(verified('whsec_wrong', hook.got[1])).toBe(false);

    // The delivery log: the failed attempt waiting for its retry, and the delivered one.
    await page.goto(`${heldURL}/notifications`);
    await ready(page, javaScriptEnabled);
    const log = page.getByRole('table', { name: 'Notification deliveries, newest first' });
    const mine = log.getByRole('row').filter({ hasText: channelId });
    await expect(mine).toHaveCount(2);
    await expect(mine.filter({ hasText: 'HTTP 200' }).filter({ hasText: '1 attempt' })).toContainText('delivered');
    // The server tries the failed one again 30 s on; until then it waits, saying why.
    const failed = mine.filter({ hasText: 'the receiver answered 500 (HTTP 500)' });
    if ((await failed.count()) > 0) await expect(failed).toContainText('next at');
    await page.screenshot({ path: 'screenshots/notifications.png', fullPage: true });
    if (javaScriptEnabled) {
      const { violations } = await new AxeBuilder({ page })
        .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'])
        .analyze();
      expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id)).toEqual([]);
    }

    await row.getByText('Remove…').click();
    await row.getByRole('button', { name: `Remove ${shown}` }).click();
    await expect(page.getByRole('status').filter({ hasText: `Removed the channel ${shown}.` }).first()).toBeVisible();
    const channels = page.getByRole('table', { name: 'Notification channels' });
    await expect(channels.getByRole('row').filter({ hasText: channelId })).toHaveCount(0);
    // The refused target answered 422 on purpose; nothing else may fail.
    expect(errors.filter((e) => !e.includes('status of 422'))).toEqual([]);
  } finally {
    hook.close();
  }
});
