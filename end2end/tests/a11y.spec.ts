import { test, expect, type Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { deliver, ready, signIn, signInThroughProvider, unique } from './session';
import { cli, serverEnv, ssoEnv, ssoURL } from '../servers';

// axe-core on every page, as an admin and as an owner, on a desktop and a phone viewport:
// no serious or critical violation of WCAG 2.1 A/AA. axe reads the DOM, which is the same
// with and without JavaScript once rendered, so it runs in the JavaScript project only.
test.skip(({ javaScriptEnabled }) => javaScriptEnabled === false, 'axe runs in the js project');

const viewports = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
};

const results = path.join(__dirname, '..', 'test-results', 'axe');

/** The serious and critical violations on the current page, one line each. */
async function audit(page: Page, label: string): Promise<string[]> {
  const { violations, passes } = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'])
    .analyze();
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  // The per-page summary kept for the record (docs and closing notes cite it).
  fs.mkdirSync(results, { recursive: true });
  fs.appendFileSync(
    path.join(results, 'summary.txt'),
    `${label}\tserious/critical=${bad.length}\tminor/moderate=${violations.length - bad.length}\tpassed rules=${passes.length}\n`,
  );
  return bad.map(
    (v) => `${label}: ${v.id} (${v.impact}) on ${v.nodes.length} node(s): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
  );
}

/** An admin token, an address and a message to render the detail pages with. */
async function seed(page: Page, baseURL: string, env: Record<string, string>, owner: string) {
  const token = cli(['token', 'create', '--name', unique('a11y'), '--scope', 'admin'], env).trim();
  const r = await page.request.post(`${baseURL}/api/v1/addresses`, {
    headers: { Authorization: `Bearer ${token}` },
    data: { owner, account_type: 'IT', business_unit: unique('A11y'), application: 'app', environment: 'dev' },
  });
  expect(r.status()).toBe(201);
  const address = (await r.json()).address as string;
  return { address, id: deliver(address, 'accessibility check', env).message_id };
}

for (const [name, viewport] of Object.entries(viewports)) {
  test(`admin pages have no serious or critical axe violations (${name})`, async ({ page, baseURL }) => {
    await page.setViewportSize(viewport);
    const { address, id } = await seed(page, baseURL!, serverEnv, 'a11y.owner@corp.example');
    const paths = [
      '/',
      '/addresses',
      // The bulk panel open on its preview.
      '/addresses?owner=a11y.owner%40corp.example&bulk=reassign&to=heir.a11y%40corp.example',
      '/messages?delivery=bounced',
      `/addresses/${encodeURIComponent(address)}`,
      '/messages',
      '/held',
      `/messages/${id}`,
      '/settings',
      '/notifications',
      '/tokens',
      '/accounts',
      '/audit',
      '/me',
      '/no/such/page',
    ];
    const found: string[] = [];
    // Signed out first: the sign-in page.
    await page.goto('/login');
    await ready(page, true);
    found.push(...(await audit(page, `admin ${name} /login`)));
    await signIn(page);
    for (const p of paths) {
      await page.goto(p);
      await ready(page, true);
      found.push(...(await audit(page, `admin ${name} ${p}`)));
    }
    expect(found).toEqual([]);
  });

  test(`owner pages have no serious or critical axe violations (${name})`, async ({ page }) => {
    test.skip(!!process.env.E2E_URL, 'needs the SSO test server Playwright starts');
    await page.setViewportSize(viewport);
    const owner = `a11y.${name}@corp.example`;
    const { address } = await seed(page, ssoURL, ssoEnv, owner);
    await signInThroughProvider(page, owner);
    await expect(page).toHaveURL(`${ssoURL}/me`);
    await ready(page, true);
    await expect(page.getByRole('cell', { name: address }).first()).toBeVisible();
    const found = await audit(page, `owner ${name} /me`);
    // What an owner meets on an admin page (a plain answer, without the app).
    for (const p of [`/addresses/${encodeURIComponent(address)}`, '/messages']) {
      await page.goto(`${ssoURL}${p}`);
      await expect(page.getByRole('heading', { level: 1, name: 'This page is for admins' })).toBeVisible();
      found.push(...(await audit(page, `owner ${name} ${p}`)));
    }
    expect(found).toEqual([]);
  });
}

/** Whether the focused element shows where focus is (an outline or a focus ring). */
async function focusVisible(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el || el === document.body) return 'nothing focused';
    const s = getComputedStyle(el);
    const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
    const ring = s.boxShadow !== 'none' && s.boxShadow.includes('rgb');
    return outline || ring ? 'visible' : `no focus indicator on ${el.tagName} ${el.id}`;
  });
}

/** Presses Tab until `selector` has focus, checking every stop shows its focus. */
async function tabTo(page: Page, selector: string, limit = 60) {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    const at = await page.evaluate((sel) => document.activeElement?.matches(sel) ?? false, selector);
    const shown = await focusVisible(page);
    expect(shown, `tab stop ${i + 1}`).toBe('visible');
    if (at) return;
  }
  throw new Error(`${selector} was not reached with Tab`);
}

test('the vend form works from the keyboard alone, with focus always visible', async ({ page }) => {
  await signIn(page);
  await page.goto('/addresses');
  await ready(page, true);
  const bu = unique('Keys');
  await tabTo(page, '#vend-owner');
  await page.keyboard.type('keyboard.user@corp.example');
  await tabTo(page, '#vend-type');
  await page.keyboard.press('ArrowDown'); // the second account type
  await tabTo(page, '#vend-bu');
  await page.keyboard.type(bu);
  await tabTo(page, '#vend-app');
  await page.keyboard.type('Keys');
  await tabTo(page, 'form[aria-label="Vend an address"] button[type="submit"]');
  await page.keyboard.press('Enter');
  const slug = bu.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  await expect(page.getByRole('status').filter({ hasText: `Vended ${slug}-keys-eval-001@` }).first()).toBeVisible();
});
