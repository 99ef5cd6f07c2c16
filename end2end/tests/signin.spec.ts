import { test, expect } from '@playwright/test';
import { loginToken } from '../constants';
import { ready } from './session';

test('a signed-out visitor is sent to the sign-in page, then back where they were going', async ({
  page,
  javaScriptEnabled,
}) => {
  const response = await page.goto('/messages');
  expect(response?.url()).toMatch(/\/login\?next=%2Fmessages$/);
  await ready(page, javaScriptEnabled);
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in to mailvend' })).toBeVisible();
  await expect(page.getByText('local mode')).toBeVisible();
  await page.screenshot({ path: 'screenshots/login-local.png', fullPage: true });
});

test('the local link signs in once as the admin, and signing out ends the session', async ({
  page,
  javaScriptEnabled,
}) => {
  const wrong = await page.goto('/auth/local?token=not-the-token');
  expect(wrong?.status()).toBe(403);
  await page.goto(`/auth/local?token=${loginToken}`);
  await expect(page).toHaveURL(/\/$/);
  await ready(page, javaScriptEnabled);
  await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
  await expect(page.getByText('admin@mail.e2e.test').first()).toBeVisible();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  const after = await page.goto('/');
  expect(after?.url()).toMatch(/\/login\?next=%2F$/);
});
