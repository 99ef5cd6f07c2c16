import { test, expect } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { collectErrors, deliver, ready, unique } from './session';
import { cli, domain, heldData, heldEnv, heldURL } from '../servers';
import { loginToken } from '../constants';

// Class policies apply to all of a server's mail, so these specs have a server of their own
// (no restricted group configured); both projects set the same policy on it.

let token: string | undefined;
function adminToken(): string {
  token ??= cli(['token', 'create', '--name', unique('e2e held'), '--scope', 'admin'], heldEnv).trim();
  return token;
}

/** Every outbox message's metadata on the class-policy server: (subject line, to). */
function sent(): { subject: string; to: string[] }[] {
  const dir = path.join(heldData, 'outbox');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => {
      const meta = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
      const eml = fs.readFileSync(path.join(dir, f.replace(/\.json$/, '.eml')), 'utf8');
      return { subject: /^Subject: (.*)$/m.exec(eml)?.[1] ?? '', to: meta.to };
    });
}

test.beforeEach(async ({ page }) => {
  const r = await page.goto(`${heldURL}/auth/local?token=${loginToken}`);
  expect(r?.status()).toBe(200);
});

test('an admin holds a class of mail on Settings and releases it from Held mail', async ({
  page,
  request,
  javaScriptEnabled,
}, info) => {
  const errors = collectErrors(page);
  await page.goto(`${heldURL}/settings`);
  await ready(page, javaScriptEnabled);
  // No group configured: credential mail goes to owners, and the page says so.
  await expect(page.getByTestId('credential-warning')).toContainText('MAILVEND_RESTRICTED_TO');
  await expect(page.getByLabel('Credential').locator('option[value="restricted"]')).toBeDisabled();
  // Mail delivered by hand is `other` (nothing authenticated its sender): hold it.
  await page.getByLabel('Other', { exact: true }).selectOption('hold');
  await page.getByRole('button', { name: 'Save class policies' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Mail class policies saved.' }).first()).toBeVisible();
  await expect(page.getByLabel('Other', { exact: true })).toHaveValue('hold');
  await page.screenshot({ path: 'screenshots/class-policies.png', fullPage: true });

  const r = await request.post(`${heldURL}/api/v1/addresses`, {
    headers: { Authorization: `Bearer ${adminToken()}` },
    data: {
      owner: 'held.owner@corp.example',
      account_type: 'IT',
      business_unit: unique(`held ${info.project.name}`),
      application: 'inbox',
      environment: 'dev',
    },
  });
  expect(r.status()).toBe(201);
  const address = (await r.json()).address;
  const subjects = { owner: unique('Held for the owner'), me: unique('Held for me') };
  expect(deliver(address, subjects.owner, heldEnv).outcome).toBe('held');
  expect(deliver(address, subjects.me, heldEnv).outcome).toBe('held');
  expect(sent().filter((m) => m.subject.includes(subjects.owner) || m.subject.includes(subjects.me))).toEqual([]);

  // The Held mail page lists both, with their way out.
  await page.goto(`${heldURL}/held`);
  await ready(page, javaScriptEnabled);
  const rows = page.getByRole('row');
  await expect(rows.filter({ hasText: subjects.owner })).toBeVisible();
  await expect(rows.filter({ hasText: subjects.me })).toBeVisible();
  await page.screenshot({ path: 'screenshots/held.png', fullPage: true });
  if (javaScriptEnabled) {
    // With rows and their forms (the a11y spec sees the page empty).
    const { violations } = await new AxeBuilder({ page })
      .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'])
      .analyze();
    expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id)).toEqual([]);
  }
  await rows.filter({ hasText: subjects.owner }).getByRole('button', { name: 'Release to owner' }).click();
  await expect(
    page.getByRole('status').filter({ hasText: 'Released to held.owner@corp.example.' }).first(),
  ).toBeVisible();
  await expect(rows.filter({ hasText: subjects.owner })).toHaveCount(0);

  // From its own page (a view that is audited), to the admin's own mailbox.
  await rows.filter({ hasText: subjects.me }).getByRole('link').click();
  await expect(page.getByRole('heading', { level: 1, name: subjects.me })).toBeVisible();
  await ready(page, javaScriptEnabled);
  await expect(page.getByRole('heading', { name: "Held by its class's policy" })).toBeVisible();
  await expect(page.getByText('Hold for an admin')).toBeVisible();
  await page.getByRole('button', { name: 'Release to me' }).click();
  await expect(page.locator('header').getByText('forwarded')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Release to me' })).toHaveCount(0);

  // Each went out once, where it was released to.
  const out = sent();
  expect(out.filter((m) => m.subject.includes(subjects.owner)).map((m) => m.to)).toEqual([
    ['held.owner@corp.example'],
  ]);
  expect(out.filter((m) => m.subject.includes(subjects.me)).map((m) => m.to)).toEqual([['held.admin@corp.example']]);

  // The audit log has the view and both releases, on the address.
  await page.goto(`${heldURL}/audit`);
  await ready(page, javaScriptEnabled);
  const audit = page.getByRole('row').filter({ hasText: address });
  await expect(audit.filter({ hasText: 'view_held' }).first()).toBeVisible();
  await expect(audit.filter({ hasText: 'release_held' })).toHaveCount(2);
  expect(errors).toEqual([]);
});

test('a routing rule is previewed on the latest mail, added and deleted on Settings', async ({
  page,
  javaScriptEnabled,
}, info) => {
  const errors = collectErrors(page);
  const r = await page.request.post(`${heldURL}/api/v1/addresses`, {
    headers: { Authorization: `Bearer ${adminToken()}` },
    data: {
      owner: 'rules.owner@corp.example',
      account_type: 'IT',
      business_unit: unique(`rules ${info.project.name}`),
      application: 'inbox',
      environment: 'dev',
    },
  });
  expect(r.status()).toBe(201);
  const address = (await r.json()).address;
  // Two messages to preview against (held or not, the log has them).
  const word = unique('Invoice').replace(/\W/g, '');
  deliver(address, `${word} for November`, heldEnv);
  deliver(address, 'Lunch on Friday', heldEnv);

  await page.goto(`${heldURL}/settings`);
  await ready(page, javaScriptEnabled);
  const name = `bill ${info.project.name} ${word}`;
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Action').selectOption('tag_subject');
  await page.getByLabel('Address or tag').fill('[BILL]');
  await page.getByLabel('Subject match').selectOption('regex');
  await page.getByLabel('Subject', { exact: true }).fill(`^${word} for`);
  await page.getByRole('button', { name: 'Preview matches' }).click();
  await expect(page).toHaveURL(/rule_subject=/);
  const preview = page.getByRole('region', { name: 'Preview' });
  await expect(preview).toContainText('This rule would have matched 1 of the latest');
  await expect(preview.getByRole('row').filter({ hasText: `${word} for November` })).toBeVisible();
  await expect(preview.getByRole('row').filter({ hasText: 'Lunch on Friday' })).toHaveCount(0);
  // What a click would add is spelled out (a link can fill the form in, never submit it).
  await expect(page.getByTestId('rule-spelled')).toContainText(`When subject matches /^${word} for/: tag the subject [BILL].`);
  await page.screenshot({ path: 'screenshots/rules.png', fullPage: true });
  await preview.getByRole('button', { name: 'Add this rule' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Rule added' }).first()).toBeVisible();
  const list = page.getByRole('table', { name: 'Routing rules' });
  const row = list.getByRole('row').filter({ hasText: name });
  await expect(row).toContainText('tag the subject [BILL]');
  await expect(row).toContainText(`subject matches /^${word} for/`);

  // A bad rule is refused by name, and nothing is added.
  await page.goto(
    `${heldURL}/settings?rule_name=loop&rule_sender=x&rule_action=redirect&rule_target=root%40${domain}`,
  );
  await ready(page, javaScriptEnabled);
  await expect(page.getByText('served domain').first()).toBeVisible();

  // Deleted again (both projects share the server: each removes only its own rule).
  await page.goto(`${heldURL}/settings`);
  await ready(page, javaScriptEnabled);
  await list.getByRole('row').filter({ hasText: name }).getByRole('button', { name: /^Delete/ }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Routing rules saved.' }).first()).toBeVisible();
  await expect(list.getByRole('row').filter({ hasText: name })).toHaveCount(0);
  expect(errors).toEqual([]);
});
