import { test, expect, type APIRequestContext } from '@playwright/test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { collectErrors, deliver, ready, signIn, unique } from './session';
import { cli, data, domain, root, serverEnv } from '../servers';

test.beforeEach(async ({ page }) => {
  await signIn(page);
});

/** An admin API token for setting up data, made with the CLI on the server's store. */
let token: string | undefined;
function adminToken(): string {
  token ??= cli(['token', 'create', '--name', unique('e2e messages'), '--scope', 'admin']).trim();
  return token;
}

async function vend(request: APIRequestContext, bu: string, owner = 'mail.owner@corp.example'): Promise<string> {
  const r = await request.post('/api/v1/addresses', {
    headers: { Authorization: `Bearer ${adminToken()}` },
    data: { owner, account_type: 'IT', business_unit: bu, application: 'inbox', environment: 'dev' },
  });
  expect(r.status()).toBe(201);
  return (await r.json()).address;
}

test('forwarded and dead-lettered mail appears in Messages, and replay sends it', async ({
  page,
  request,
  javaScriptEnabled,
}, info) => {
  const errors = collectErrors(page);
  const address = await vend(request, unique(`msgs ${info.project.name}`));
  const subjects = { ok: unique('Quarterly report'), dead: unique('Invoice <script>alert(1)</script>') };
  expect(deliver(address, subjects.ok).outcome).toBe('forwarded');
  // An outbox that cannot be written makes every send fail: the message becomes a dead letter.
  expect(deliver(address, subjects.dead, { ...serverEnv, MAILVEND_MAILER: 'outbox:///dev/null/outbox' }).outcome).toBe(
    'dead_letter',
  );

  await page.goto(`/messages?address=${encodeURIComponent(address)}`);
  await ready(page, javaScriptEnabled);
  const rows = page.getByRole('row');
  await expect(rows.filter({ hasText: subjects.ok }).getByText('forwarded')).toBeVisible();
  // The subject is a stranger's text: it is shown, not run.
  await expect(rows.filter({ hasText: subjects.dead }).getByText('dead letter')).toBeVisible();
  await page.screenshot({ path: 'screenshots/messages.png', fullPage: true });

  // The outcome filter, through the form.
  await page.getByLabel('Outcome').selectOption('dead_letter');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/outcome=dead_letter/);
  await expect(rows).toHaveCount(2);

  // Export CSV takes the filters in the URL: the dead letter, not the forwarded mail.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Export CSV' }).click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/^mailvend-messages-\d{4}-\d{2}-\d{2}\.csv$/);
  const csv = fs.readFileSync(await download.path(), 'utf8');
  expect(csv.split('\r\n')[0]).toMatch(/^received_at,recipient,sender,subject,outcome,/);
  expect(csv).toContain(subjects.dead);
  expect(csv).not.toContain(subjects.ok);

  // Its page: headers of the kept raw message, then the replay.
  await rows.filter({ hasText: subjects.dead }).getByRole('link').click();
  await expect(page.getByRole('heading', { level: 1, name: subjects.dead })).toBeVisible();
  await ready(page, javaScriptEnabled);
  await expect(page.getByLabel('Headers')).toContainText('From: "Pat Sender" <pat@sender.example>');
  await page.screenshot({ path: 'screenshots/message-detail.png', fullPage: true });
  await page.getByRole('button', { name: 'Replay' }).click();
  await expect(page.locator('header').getByText('forwarded')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Replay' })).toHaveCount(0);
  await expect(page.getByRole('status').filter({ hasText: 'Replayed: forwarded.' }).first()).toBeVisible();

  // The replayed copy really went out: the server's outbox has it, addressed to the owner.
  const sent = fs
    .readdirSync(path.join(data, 'outbox'))
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(fs.readFileSync(path.join(data, 'outbox', f), 'utf8')))
    .filter((m) => m.recipient === address);
  expect(sent).toHaveLength(2);
  expect(sent.every((m) => m.to.includes('mail.owner@corp.example'))).toBe(true);
  expect(errors).toEqual([]);
});

test('a bounce reported by SES shows on the message log and the message page', async ({
  page,
  request,
  javaScriptEnabled,
}, info) => {
  const errors = collectErrors(page);
  const address = await vend(request, unique(`bounce ${info.project.name}`));
  const subject = unique('Root password reset');
  const { outcome, message_id } = deliver(address, subject);
  expect(outcome).toBe('forwarded');
  const id = message_id; // the log id, `<SES message id>/<recipient>`
  const record = await request.get(`/api/v1/messages/${encodeURIComponent(id)}`, {
    headers: { Authorization: `Bearer ${adminToken()}` },
  });
  const sent = (await record.json()).mailer_message_id as string;
  // SES's bounce event for that send (AWS's example record), applied as /sns would apply it.
  const event = JSON.parse(
    fs.readFileSync(path.join(root, 'server/tests/fixtures/ses-events/event-bounce.json'), 'utf8'),
  );
  event.mail.messageId = sent;
  const file = path.join(data, `${unique('bounce').replace(/\W/g, '')}.json`);
  fs.writeFileSync(file, JSON.stringify(event));
  expect(JSON.parse(cli(['delivery-event', file])).status).toBe('updated');

  await page.goto(`/messages?address=${encodeURIComponent(address)}`);
  await ready(page, javaScriptEnabled);
  const row = page.getByRole('row').filter({ hasText: subject });
  await expect(row.getByText('forwarded')).toBeVisible();
  await expect(row.getByText('bounced')).toBeVisible();
  await row.getByRole('link').click();
  await expect(page.getByRole('heading', { level: 1, name: subject })).toBeVisible();
  await expect(page.getByText('permanent bounce (General)')).toBeVisible();
  await page.screenshot({ path: 'screenshots/message-delivery.png', fullPage: true });
  expect(errors).toEqual([]);
});

test('an owner whose mailbox bounced is marked unreachable until an admin marks it fixed', async ({
  page,
  request,
  javaScriptEnabled,
}, info) => {
  const errors = collectErrors(page);
  const owner = `${unique('leaver').replace(/\W/g, '')}@corp.example`;
  const address = await vend(request, unique(`gone ${info.project.name}`), owner);
  const { outcome, message_id } = deliver(address, unique('Root password reset'));
  expect(outcome).toBe('forwarded');
  const record = await request.get(`/api/v1/messages/${encodeURIComponent(message_id)}`, {
    headers: { Authorization: `Bearer ${adminToken()}` },
  });
  // SES's permanent bounce of that send, from the owner's mailbox.
  const event = JSON.parse(
    fs.readFileSync(path.join(root, 'server/tests/fixtures/ses-events/event-bounce.json'), 'utf8'),
  );
  event.mail.messageId = (await record.json()).mailer_message_id;
  event.bounce.bouncedRecipients[0].emailAddress = owner;
  const file = path.join(data, `${unique('leaver').replace(/\W/g, '')}.json`);
  fs.writeFileSync(file, JSON.stringify(event));
  expect(JSON.parse(cli(['delivery-event', file])).status).toBe('updated');

  // The Addresses filter finds it, with its badge.
  await page.goto(`/addresses?unreachable=true&q=${encodeURIComponent(address)}`);
  await ready(page, javaScriptEnabled);
  await expect(page.getByRole('checkbox', { name: 'Unreachable owners only' })).toBeChecked();
  const row = page.getByRole('row').filter({ hasText: address });
  await expect(row.getByText('unreachable')).toBeVisible();

  await row.getByRole('link', { name: address }).click();
  const warning = page.getByRole('heading', { name: `Owner unreachable: ${owner} bounced permanently` });
  await expect(warning).toBeVisible();
  await expect(page.getByText('Its mail from this address also goes to the fallback address')).toBeVisible();
  if (javaScriptEnabled) {
    await page.screenshot({ path: 'screenshots/address-unreachable.png', fullPage: true });
  }
  await page.getByRole('button', { name: 'Mark fixed' }).click();
  await expect(page.getByRole('status').filter({ hasText: `Marked ${owner} fixed` }).first()).toBeVisible();
  await expect(warning).toHaveCount(0);
  const marks = await request.get('/api/v1/unreachable', { headers: { Authorization: `Bearer ${adminToken()}` } });
  expect((await marks.json()).map((m: { recipient: string }) => m.recipient)).not.toContain(owner);
  expect(errors).toEqual([]);
});

test('the catch-all toggle changes what the pipeline does', async ({ page, browser, javaScriptEnabled }) => {
  // Catch-all is one setting for the whole server, so one test drives it both ways (the
  // plain form in a second, script-less browser) rather than two projects racing.
  test.skip(javaScriptEnabled === false, 'covers the plain form itself, in a second browser context');
  const stranger = () => `${unique('nobody').replace(/\W/g, '')}@${domain}`;
  await page.goto('/settings');
  await ready(page, true);
  const state = page.getByTestId('catch-all-state');
  await expect(state).toHaveText('Off');
  expect(deliver(stranger(), 'to nobody, catch-all off').outcome).toBe('undeliverable');

  await page.getByRole('button', { name: 'Turn catch-all on' }).click();
  await expect(state).toHaveText('On');
  await expect(page.getByRole('status').filter({ hasText: 'Catch-all is on.' }).first()).toBeVisible();
  await page.screenshot({ path: 'screenshots/settings.png', fullPage: true });
  const to = stranger();
  expect(deliver(to, 'to nobody, catch-all on').outcome).toBe('forwarded');
  await page.goto(`/messages?address=${encodeURIComponent(to)}`);
  await page.getByRole('row').filter({ hasText: 'catch-all on' }).getByRole('link').click();
  await expect(page.getByRole('main').getByText(`admin@${domain}`)).toBeVisible(); // delivered to the admin

  const plain = await browser.newContext({ javaScriptEnabled: false });
  const nojs = await plain.newPage();
  await signIn(nojs);
  await nojs.goto('/settings');
  await nojs.getByRole('button', { name: 'Turn catch-all off' }).click();
  await expect(nojs.getByTestId('catch-all-state')).toHaveText('Off');
  await expect(nojs.getByRole('status').filter({ hasText: 'Catch-all is off.' })).toBeVisible();
  await plain.close();
  expect(deliver(stranger(), 'to nobody, catch-all off again').outcome).toBe('undeliverable');
});

test('the spam and DMARC policies are saved', async ({ page, javaScriptEnabled }) => {
  test.skip(javaScriptEnabled === false, 'one server-wide setting; the catch-all test covers the plain form');
  await page.goto('/settings');
  await ready(page, true);
  // Two policy forms with the same choices: each is reached through its own form's name.
  for (const [formName, button, saved] of [
    ['Spam policy', 'Save spam policy', 'Spam policy saved.'],
    ['DMARC failures', 'Save DMARC policy', 'DMARC policy saved.'],
  ]) {
    const form = () => page.getByRole('form', { name: formName });
    await form().getByLabel('Do not forward').check();
    await form().getByRole('button', { name: button }).click();
    await expect(page.getByRole('status').filter({ hasText: saved }).first()).toBeVisible();
    await page.reload();
    await expect(form().getByLabel('Do not forward')).toBeChecked();
    await form().getByLabel('Forward with a tag').check();
    await form().getByRole('button', { name: button }).click();
    await expect(page.getByRole('status').filter({ hasText: saved }).first()).toBeVisible();
    await page.reload();
    await expect(form().getByLabel('Forward with a tag')).toBeChecked();
  }
  // Every change is in the audit log.
  await page.goto('/audit');
  await expect(page.getByRole('row').filter({ hasText: 'setting:spam_policy' }).first()).toContainText('reject → tag');
  await expect(page.getByRole('row').filter({ hasText: 'setting:dmarc_policy' }).first()).toContainText('reject → tag');
  await page.screenshot({ path: 'screenshots/audit.png', fullPage: true });
});

test('the Kind filter lists one class of mail', async ({ page, request, javaScriptEnabled }, info) => {
  const errors = collectErrors(page);
  const address = await vend(request, unique(`kind ${info.project.name}`));
  const subject = unique('Team lunch');
  // Delivered by hand: nothing authenticated its sender, so it is `other`.
  expect(deliver(address, subject).outcome).toBe('forwarded');

  await page.goto(`/messages?address=${encodeURIComponent(address)}`);
  await ready(page, javaScriptEnabled);
  await page.getByLabel('Kind').selectOption('credential');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/class=credential/);
  await expect(page.getByText('No messages match.')).toBeVisible();

  await page.getByLabel('Kind').selectOption('other');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/class=other/);
  await expect(page.getByRole('row').filter({ hasText: subject })).toBeVisible();
  const r = await request.get(`/api/v1/messages?class=other&address=${encodeURIComponent(address)}`, {
    headers: { Authorization: `Bearer ${adminToken()}` },
  });
  expect(r.status()).toBe(200);
  const items = (await r.json()).items;
  expect(items.length).toBe(1);
  expect(items[0].class).toBe('other');
  expect(errors).toEqual([]);
});
