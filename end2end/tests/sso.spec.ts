import { test, expect } from '@playwright/test';
import { ready, signInThroughProvider, unique } from './session';
import { cli, ssoEnv, ssoURL } from '../servers';

// The second test server signs in through a real OIDC provider (oidc-provider); its
// built-in login and consent forms are what a person would see at their identity provider.

test.skip(!!process.env.E2E_URL, 'needs the SSO test server Playwright starts');

test('an admin signs in through the identity provider and lands on the overview', async ({
  page,
  javaScriptEnabled,
}) => {
  await signInThroughProvider(page, 'admin@corp.example');
  await expect(page).toHaveURL(`${ssoURL}/`);
  await ready(page, javaScriptEnabled);
  await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
  await expect(page.getByText('admin@corp.example').first()).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' })).toBeVisible();
  if (javaScriptEnabled !== false) {
    await page.screenshot({ path: 'screenshots/sso-admin-overview.png', fullPage: true });
  }
});

test('an owner signs in and sees only "My addresses"; admin pages are closed to them', async ({
  page,
  javaScriptEnabled,
}) => {
  // One address for this owner and one for someone else, vended through the API.
  const token = cli(['token', 'create', '--name', unique('sso setup'), '--scope', 'vend'], ssoEnv).trim();
  const vend = async (owner: string) => {
    const r = await page.request.post(`${ssoURL}/api/v1/addresses`, {
      headers: { Authorization: `Bearer ${token}` },
      data: { owner, account_type: 'IT', business_unit: unique('Owned'), application: 'app', environment: 'dev' },
    });
    expect(r.status()).toBe(201);
    return (await r.json()).address as string;
  };
  const mine = await vend('owner@corp.example');
  const theirs = await vend('someone.else@corp.example');

  await signInThroughProvider(page, 'owner@corp.example');
  await expect(page).toHaveURL(`${ssoURL}/me`);
  await ready(page, javaScriptEnabled);
  await expect(page.getByRole('heading', { level: 1, name: 'My addresses' })).toBeVisible();
  await expect(page.getByRole('cell', { name: mine })).toBeVisible();
  await expect(page.getByText(theirs)).toHaveCount(0);
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('link', { name: 'Settings' })).toHaveCount(0);
  if (javaScriptEnabled !== false) {
    await page.screenshot({ path: 'screenshots/sso-owner-me.png', fullPage: true });
  }
  const admin = await page.goto(`${ssoURL}/settings`);
  expect(admin?.status()).toBe(403);
});
