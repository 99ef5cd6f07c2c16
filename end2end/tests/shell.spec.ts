import { test, expect } from '@playwright/test';
import { collectErrors, ready, signIn } from './session';

const pages = [
  { link: 'Overview', path: '/', heading: 'Overview' },
  { link: 'Addresses', path: '/addresses', heading: 'Addresses' },
  { link: 'Messages', path: '/messages', heading: 'Messages' },
  { link: 'Settings', path: '/settings', heading: 'Settings' },
  { link: 'API tokens', path: '/tokens', heading: 'API tokens' },
  { link: 'Audit log', path: '/audit', heading: 'Audit log' },
  { link: 'My addresses', path: '/me', heading: 'My addresses' },
];

test.beforeEach(async ({ page }) => {
  await signIn(page);
});

test('the navigation reaches every page', async ({ page, javaScriptEnabled }) => {
  const errors = collectErrors(page);
  await page.goto('/');
  await ready(page, javaScriptEnabled);
  const nav = page.getByRole('navigation', { name: 'Main' });
  for (const p of pages) {
    await nav.getByRole('link', { name: p.link, exact: true }).click();
    await expect(page).toHaveURL(p.path);
    await expect(page.getByRole('heading', { level: 1, name: p.heading })).toBeVisible();
    await expect(nav.getByRole('link', { name: p.link, exact: true })).toHaveAttribute(
      'aria-current',
      'page',
    );
    await expect(page).toHaveTitle(`${p.heading} · mailvend`);
  }
  expect(errors).toEqual([]);
});

test('each page loads its own wasm chunk, and navigating loads the next page\'s', async ({
  page,
  javaScriptEnabled,
}) => {
  test.skip(javaScriptEnabled === false, 'the wasm is what is measured');
  // A page of its own (signed in, same context), so no chunk of the sign-in's landing page
  // still arriving is counted.
  page = await page.context().newPage();
  const errors = collectErrors(page);
  const wasm: string[] = [];
  page.on('response', (r) => {
    const name = new URL(r.url()).pathname.split('/').pop()!;
    if (name.endsWith('.wasm')) {
      expect(r.status(), name).toBe(200);
      wasm.push(name);
    }
  });
  const routeChunks = () => wasm.filter((n) => n.startsWith('split_'));
  await page.goto('/addresses');
  await ready(page, javaScriptEnabled);
  // The main bundle, then this page's view; no other page's.
  expect(wasm).toContain('mailvend.wasm');
  expect(routeChunks()).toEqual([expect.stringMatching(/^split___addresses_route_view_\w+\.wasm$/)]);
  // A client-side navigation fetches the next page's chunk, which then renders and works.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Audit log' })).toBeVisible();
  expect(routeChunks()).toEqual([
    expect.stringMatching(/^split___addresses_route_view_/),
    expect.stringMatching(/^split___audit_route_view_/),
  ]);
  expect(errors).toEqual([]);
});

test('an unknown page is a 404 with a way back', async ({ page, javaScriptEnabled }) => {
  const response = await page.goto('/no/such/page');
  expect(response?.status()).toBe(404);
  await ready(page, javaScriptEnabled);
  await expect(page.getByRole('heading', { level: 1, name: 'Page not found' })).toBeVisible();
  await page.getByRole('link', { name: 'Go to the overview' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
});

test('the overview shows this instance', async ({ page }) => {
  await page.goto('/');
  const stats = page.getByRole('definition');
  await expect(page.getByText('mail.e2e.test', { exact: true })).toBeVisible();
  await expect(stats.filter({ hasText: 'SQLite' })).toBeVisible();
  await expect(stats.filter({ hasText: 'outbox' })).toBeVisible();
  await expect(page.getByText(/answered in \d/)).toBeVisible();
  await page.screenshot({ path: 'screenshots/overview.png', fullPage: true });
});

test('HTML responses carry a nonce-based CSP and the security headers', async ({ page }) => {
  const response = await page.goto('/');
  const headers = response!.headers();
  const csp = headers['content-security-policy'];
  const nonce = /'nonce-([A-Za-z0-9_-]+)'/.exec(csp)?.[1];
  expect(nonce, csp).toBeTruthy();
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toContain('unsafe-inline');
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['x-frame-options']).toBe('DENY');
  expect(headers['referrer-policy']).toBe('same-origin');
  // Every inline script is the server's own, carrying this response's nonce.
  const html = await response!.text();
  const inline = [...html.matchAll(/<script(?![^>]*\bsrc=)([^>]*)>/g)].map((m) => m[1]);
  expect(inline.length).toBeGreaterThan(0);
  for (const attrs of inline) expect(attrs).toContain(`nonce="${nonce}"`);
  // And no page loads anything from another origin.
  expect(html).not.toMatch(/(src|href)="https?:\/\//);
});

test.describe('with JavaScript', () => {
  test.skip(({ javaScriptEnabled }) => javaScriptEnabled === false, 'needs JavaScript');

  test('the store check updates in place, without a page load', async ({ page }) => {
    const errors = collectErrors(page);
    await page.goto('/');
    await ready(page, true);
    await page.evaluate(() => ((window as any).__samePage = true));
    // The live region is present but empty (and hidden) until a check completes.
    const status = page.getByRole('status', { includeHidden: true });
    await expect(status).toHaveText('');
    await page.getByRole('button', { name: 'Check now' }).click();
    await expect(status).toContainText(/Store answered in \d+(\.\d)? (µs|ms) at \d\d:\d\d:\d\d UTC\./);
    expect(await page.evaluate(() => (window as any).__samePage)).toBe(true);
    await page.screenshot({ path: 'screenshots/overview-after-check.png', fullPage: true });
    expect(errors).toEqual([]);
  });

  test('navigation between pages happens without a page load', async ({ page }) => {
    await page.goto('/');
    await ready(page, true);
    await page.evaluate(() => ((window as any).__samePage = true));
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Messages' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Messages' })).toBeVisible();
    expect(await page.evaluate(() => (window as any).__samePage)).toBe(true);
  });
});

test.describe('without JavaScript', () => {
  test.skip(({ javaScriptEnabled }) => javaScriptEnabled !== false, 'checks the plain-HTML path');

  test('the store check posts the form and comes back to the overview', async ({ page }) => {
    await page.goto('/');
    const posted = page.waitForResponse(
      (r) => r.url().endsWith('/fn/check_store') && r.request().method() === 'POST',
    );
    await page.getByRole('button', { name: 'Check now' }).click();
    const response = await posted;
    expect([302, 303]).toContain(response.status());
    // Leptos redirects back to the Referer, appending an (empty) error query.
    await expect(page).toHaveURL(/\/\??$/);
    await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
    await expect(page.getByText(/answered in \d/)).toBeVisible();
  });
});
