import { expect, type Page } from '@playwright/test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loginToken } from '../constants';
import { cli, data, serverEnv, ssoURL } from '../servers';

/** Signs the page's browser context in as the admin through the local-mode link. */
export async function signIn(page: Page) {
  const response = await page.goto(`/auth/local?token=${loginToken}`);
  expect(response?.status()).toBe(200);
  await expect(page).toHaveURL(/\/$/);
}

/**
 * With JavaScript, wait until the app has hydrated, so clicks reach Leptos, not the browser.
 * The tests run the debug build, whose wasm is ~13 MB: on two busy cores compiling it has
 * taken more than the default 10 s, so hydration gets 30 s.
 */
export async function ready(page: Page, javaScriptEnabled: boolean | undefined) {
  if (javaScriptEnabled !== false) {
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
  }
}

/** Console errors (a CSP violation, a hydration panic) fail the test that caused them. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

/** A name no other test (or earlier run against the same server) has used. */
export function unique(prefix: string): string {
  return `${prefix} ${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/**
 * Signs the page in on the SSO test server through the identity provider's own login and
 * consent forms, as a person would.
 */
export async function signInThroughProvider(page: Page, login: string) {
  await page.goto(`${ssoURL}/`);
  await expect(page).toHaveURL(/\/login\?next=%2F$/);
  await page.getByRole('link', { name: 'Sign in with single sign-on' }).click();
  // The provider's own pages.
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any password');
  await page.locator('button[type="submit"]').click();
  await page.locator('button[type="submit"]').click(); // consent: "Continue"
}

/**
 * Runs a message through the pipeline of the server whose environment is `env` with
 * `mailvend deliver`; the report for its recipient.
 */
export function deliver(
  recipient: string,
  subject: string,
  env: Record<string, string> = serverEnv,
): { outcome: string; message_id: string } {
  const file = path.join(data, `${unique('msg').replace(/\W/g, '')}.eml`);
  fs.writeFileSync(
    file,
    [
      'From: "Pat Sender" <pat@sender.example>',
      `To: ${recipient}`,
      `Subject: ${subject}`,
      `Message-ID: <${unique('id').replace(/\W/g, '')}@sender.example>`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Hello from the browser tests.',
      '',
    ].join('\r\n'),
  );
  const out = cli(['deliver', '--recipient', recipient, file], env);
  return JSON.parse(out.trim().split('\n')[0]);
}
