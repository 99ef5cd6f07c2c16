import { expect, type Page } from '@playwright/test';
import { loginToken } from '../constants';

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
