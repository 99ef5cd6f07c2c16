import { test, expect } from '@playwright/test';
import { collectErrors, ready, signIn, unique } from './session';

test.beforeEach(async ({ page }) => {
  await signIn(page);
});

test('a token is shown once, works, and stops working when revoked', async ({
  page,
  request,
  javaScriptEnabled,
}, info) => {
  const errors = collectErrors(page);
  const name = unique(`pipeline ${info.project.name}`);
  await page.goto('/tokens');
  await ready(page, javaScriptEnabled);
  const form = page.getByRole('form', { name: 'Create a token' });
  await form.getByLabel('Name').fill(name);
  await form.getByLabel('Scope').selectOption('vend');
  await form.getByRole('button', { name: 'Create token' }).click();

  const secretBox = page.getByLabel('New secret');
  await expect(secretBox).toHaveText(/^mvt_[A-Za-z0-9_-]+$/);
  const secret = (await secretBox.textContent())!.trim();
  await page.screenshot({ path: 'screenshots/tokens.png', fullPage: true });
  const row = page.getByRole('row').filter({ hasText: name });
  await expect(row.getByText('active')).toBeVisible();
  // The list never shows a secret.
  await expect(row).not.toContainText(secret);

  const call = () =>
    request.get('/api/v1/addresses?limit=1', { headers: { Authorization: `Bearer ${secret}` } });
  expect((await call()).status()).toBe(200);

  // Shown once: not on the next visit.
  await page.goto('/tokens');
  await ready(page, javaScriptEnabled);
  await expect(page.getByLabel('New secret')).toHaveCount(0);

  await row.getByText('Revoke…').click();
  await row.getByRole('button', { name: `Revoke ${name}` }).click();
  await expect(row.getByText('revoked')).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: `Revoked the token ${name}.` }).first()).toBeVisible();
  expect((await call()).status()).toBe(401);

  // The revocation is audited.
  await page.goto('/audit');
  await expect(page.getByRole('row').filter({ hasText: 'revoke_token' }).first()).toBeVisible();
  expect(errors).toEqual([]);
});

test('a token needs a name', async ({ page, javaScriptEnabled }) => {
  await page.goto('/tokens');
  await ready(page, javaScriptEnabled);
  const form = page.getByRole('form', { name: 'Create a token' });
  // Spaces pass the browser's `required` check; the server refuses them by name.
  await form.getByLabel('Name').fill('   ');
  await form.getByRole('button', { name: 'Create token' }).click();
  await expect(page.locator('#token-name-error')).toHaveText('1 to 100 printable characters');
  await expect(page.getByLabel('New secret')).toHaveCount(0);
});
