import { test, expect } from '@playwright/test';
import { collectErrors, deliver, ready, signIn, unique } from './session';
import { cli, domain } from '../servers';

test.beforeEach(async ({ page }) => {
  await signIn(page);
});

test('vend → appears in the list → edit → delete', async ({ page, javaScriptEnabled }, info) => {
  const errors = collectErrors(page);
  const bu = unique(`Flow ${info.project.name}`);
  const slug = bu.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const address = `${slug}-cube-prod-001@${domain}`;

  await page.goto('/addresses');
  await ready(page, javaScriptEnabled);
  const form = page.getByRole('form', { name: 'Vend an address' });
  await form.getByLabel("Owner's email").fill('flow.owner@corp.example');
  await form.getByLabel('Account type').selectOption('Research');
  await form.getByLabel('Business unit').fill(bu);
  await form.getByLabel('Application').fill('Cube');
  await form.getByLabel('Environment').selectOption('PRODUCTION');
  await form.getByLabel('Tags').fill('CostCentre=42');
  if (javaScriptEnabled !== false) {
    // The preview follows the typing, with the counter left open.
    await expect(page.getByTestId('vend-preview')).toHaveText(`${slug}-cube-prod-NNN@${domain}`);
  }
  await form.getByRole('button', { name: 'Vend address' }).click();

  // It is in the list, and the notice says so (a toast, or the notice after the redirect).
  const row = page.getByRole('row').filter({ hasText: address });
  await expect(row).toBeVisible();
  await expect(row.getByRole('cell', { name: 'Research' })).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: `Vended ${address}` }).first()).toBeVisible();
  await page.screenshot({ path: 'screenshots/addresses.png', fullPage: true });

  // Search finds it by a piece of its name.
  await page.getByRole('searchbox', { name: 'Search' }).fill(slug.slice(5));
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/q=/);
  await expect(page.getByRole('row').filter({ hasText: address })).toBeVisible();
  await expect(page.getByRole('row')).toHaveCount(2); // the header and ours

  // Its page: edit the status and notes. Notes are someone's text: shown as text.
  await page.getByRole('table').getByRole('link', { name: address }).click();
  await expect(page.getByRole('heading', { level: 1, name: address })).toBeVisible();
  await ready(page, javaScriptEnabled);
  const edit = page.getByRole('form', { name: 'Edit mapping' });
  await edit.getByLabel('Status').selectOption('suspended');
  await edit.getByLabel('Notes').fill('<b>not bold</b> & fine');
  await edit.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.getByRole('definition').filter({ hasText: '<b>not bold</b> & fine' })).toBeVisible();
  await expect(page.locator('b', { hasText: 'not bold' })).toHaveCount(0);
  await expect(page.locator('header').getByText('suspended')).toBeVisible();
  const history = page.getByRole('list', { name: 'History' });
  await expect(history.getByRole('listitem').first()).toContainText('update by user:admin@');
  await expect(history).toContainText('status: active → suspended');
  await page.screenshot({ path: 'screenshots/address-detail.png', fullPage: true });

  // Delete, after the confirmation opens.
  await page.getByText('Delete this address…').click();
  await page.getByRole('button', { name: `Delete ${address}` }).click();
  await expect(page).toHaveURL(/\/addresses$/);
  await expect(page.getByRole('status').filter({ hasText: `Deleted ${address}` }).first()).toBeVisible();
  await expect(page.getByRole('row').filter({ hasText: address })).toHaveCount(0);
  await page.goto(`/addresses?status=deleted&q=${slug.slice(5)}`);
  await expect(page.getByRole('row').filter({ hasText: address })).toBeVisible();
  expect(errors).toEqual([]);
});

test('the vend form names what is wrong beside the field', async ({ page, javaScriptEnabled }) => {
  await page.goto('/addresses');
  await ready(page, javaScriptEnabled);
  const form = page.getByRole('form', { name: 'Vend an address' });
  await form.getByLabel("Owner's email").fill('someone@corp.example');
  await form.getByLabel('Business unit').fill('Blue');
  await form.getByLabel('Application').fill('Cube');
  await form.getByText('Overrides (optional)').click();
  await form.getByLabel('Address').fill('stolen@elsewhere.example');
  await form.getByRole('button', { name: 'Vend address' }).click();
  const field = form.getByLabel('Address');
  await expect(field).toHaveAttribute('aria-invalid', 'true');
  await expect(page.locator('#vend-address-error')).toContainText(domain);
  // Nothing was vended.
  await page.goto('/addresses?q=stolen');
  await expect(page.getByText('No addresses match')).toBeVisible();
});

test('the overview counts addresses and draws the daily volume', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Mail in the last 24 hours' })).toBeVisible();
  await expect(page.getByRole('img', { name: /Daily volume: \d+ messages in 14 days/ })).toBeVisible();
  // 14 days in the table behind the chart, today last.
  const today = new Date().toISOString().slice(0, 10);
  await expect(page.getByRole('rowheader', { name: today, includeHidden: true })).toHaveCount(1);
  await page.screenshot({ path: 'screenshots/overview.png', fullPage: true });
});

test('everything of an owner who leaves moves to someone else, after a preview', async ({
  page,
  request,
  javaScriptEnabled,
}, info) => {
  const errors = collectErrors(page);
  const token = cli(['token', 'create', '--name', unique('e2e bulk'), '--scope', 'admin']).trim();
  const leaver = `${unique('leaver').replace(/\W/g, '')}@corp.example`;
  const heir = `${unique('heir').replace(/\W/g, '')}@corp.example`;
  const bu = unique(`bulk ${info.project.name}`);
  for (const app of ['one', 'two', 'three']) {
    const r = await request.post('/api/v1/addresses', {
      headers: { Authorization: `Bearer ${token}` },
      data: { owner: leaver, account_type: 'IT', business_unit: bu, application: app, environment: 'dev' },
    });
    expect(r.status()).toBe(201);
  }

  await page.goto(`/addresses?owner=${encodeURIComponent(leaver)}`);
  await ready(page, javaScriptEnabled);
  await expect(page.getByRole('row').filter({ hasText: leaver })).toHaveCount(3);
  await page.getByText(`Every mapping of ${leaver}…`).click();
  const ask = page.getByRole('form', { name: 'Preview a bulk change' });
  await ask.getByLabel('Action').selectOption('reassign');
  await ask.getByLabel('New owner (to reassign)').fill(heir);
  await ask.getByRole('button', { name: 'Preview' }).click();
  const preview = page.getByRole('region', { name: 'Bulk change preview' });
  await expect(preview).toContainText(`3 mappings of ${leaver} would move to ${heir}:`);
  await expect(preview.getByRole('listitem')).toHaveCount(3);
  // Nothing has changed yet.
  await expect(page.getByRole('row').filter({ hasText: leaver })).toHaveCount(3);
  if (javaScriptEnabled) {
    await page.screenshot({ path: 'screenshots/bulk-reassign.png', fullPage: true });
  }
  await preview.getByRole('button', { name: 'Move 3 mappings' }).click();
  await expect(page.getByRole('status').filter({ hasText: `Moved 3 mappings from ${leaver} to ${heir}.` }).first()).toBeVisible();
  await expect(page).toHaveURL(new RegExp(`owner=${encodeURIComponent(heir)}`));
  await expect(page.getByRole('row').filter({ hasText: heir })).toHaveCount(3);
  await expect(page.getByRole('textbox', { name: 'Owner', exact: true })).toHaveValue(heir);

  // Then suspend them all.
  await ready(page, javaScriptEnabled);
  await page.getByText(`Every mapping of ${heir}…`).click();
  await ask.getByLabel('Action').selectOption('suspend');
  await ask.getByRole('button', { name: 'Preview' }).click();
  await expect(preview).toContainText(`3 active mappings of ${heir} would be suspended:`);
  await preview.getByRole('button', { name: 'Suspend 3 mappings' }).click();
  await expect(page.getByRole('status').filter({ hasText: `Suspended 3 mappings of ${heir}.` }).first()).toBeVisible();
  await expect(page.getByRole('row').filter({ hasText: 'suspended' })).toHaveCount(3);
  expect(errors).toEqual([]);
});

test('an address sends to its other recipients, each with its own record', async ({ page, javaScriptEnabled }, info) => {
  const errors = collectErrors(page);
  const bu = unique(`Team ${info.project.name}`);
  const slug = bu.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const address = `${slug}-inbox-dev-001@${domain}`;
  const list = `${unique('list').replace(/\W/g, '')}@corp.example`;
  const backup = `${unique('backup').replace(/\W/g, '')}@corp.example`;

  await page.goto('/addresses');
  await ready(page, javaScriptEnabled);
  const form = page.getByRole('form', { name: 'Vend an address' });
  // Without JavaScript a refused form comes back empty, so each try fills it all.
  const vend = async (recipients: string[]) => {
    await form.getByLabel("Owner's email").fill('team.owner@corp.example');
    await form.getByLabel('Business unit').fill(bu);
    await form.getByLabel('Application').fill('inbox');
    await form.getByLabel('Environment').selectOption('DEVELOPMENT');
    await form.getByLabel('Also send to').fill(recipients.join('\n'));
    await form.getByRole('button', { name: 'Vend address' }).click();
  };
  // Five is one too many: the error is beside the field, and nothing is vended.
  await vend(['a', 'b', 'c', 'd', 'e'].map((x) => `${x}@corp.example`));
  await expect(form.getByLabel('Also send to')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.locator('#vend-recipients-error')).toContainText('at most 4');
  await ready(page, javaScriptEnabled);
  await vend([list, backup]);
  await expect(page.getByRole('status').filter({ hasText: `Vended ${address}` }).first()).toBeVisible();
  const row = page.getByRole('row').filter({ hasText: address });
  await expect(row.getByText('+2')).toBeVisible();

  await row.getByRole('link', { name: address }).click();
  await expect(page.getByRole('definition').filter({ hasText: `${list}, ${backup}` })).toBeVisible();
  await ready(page, javaScriptEnabled);
  // Take the backup off the list.
  const edit = page.getByRole('form', { name: 'Edit mapping' });
  await edit.getByLabel('Also send to').fill(list);
  await edit.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.getByRole('definition').filter({ hasText: list })).toBeVisible();
  await expect(page.getByRole('definition').filter({ hasText: backup })).toHaveCount(0);
  await expect(page.getByRole('list', { name: 'History' })).toContainText('recipients');

  // Mail to the address: the owner and the one recipient each get their own record.
  deliver(address, unique('Quarterly'));
  await page.goto(`/messages?address=${encodeURIComponent(address)}`);
  await expect(page.getByRole('row').filter({ hasText: 'forwarded' })).toHaveCount(2);
  if (javaScriptEnabled) {
    await page.goto(`/addresses/${encodeURIComponent(address)}`);
    await page.screenshot({ path: 'screenshots/address-recipients.png', fullPage: true });
  }
  // The refused vend answered 422 on purpose; nothing else may fail.
  expect(errors.filter((e) => !e.includes('status of 422'))).toEqual([]);
});
