import { test, expect, type APIRequestContext } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { collectErrors, ready, signIn, unique } from './session';
import { cli, domain, motoURL } from '../servers';

// The AWS accounts page against moto's Organizations: the server's real SDK client lists the
// accounts these tests create there.

/** One Organizations call to moto (JSON 1.1 protocol; moto routes by the credential scope). */
async function organizations(request: APIRequestContext, action: string, body: object) {
  const r = await request.post(`${motoURL}/`, {
    headers: {
      'Content-Type': 'application/x-amz-json-1.1',
      'X-Amz-Target': `AWSOrganizationsV20161128.${action}`,
      Authorization:
        'AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/organizations/aws4_request, SignedHeaders=host, Signature=0',
    },
    data: JSON.stringify(body),
  });
  return { status: r.status(), body: await r.json() };
}

async function createAccount(request: APIRequestContext, name: string, email: string) {
  const r = await organizations(request, 'CreateAccount', { AccountName: name, Email: email });
  expect(r.status).toBe(200);
  return r.body.CreateAccountStatus.AccountId as string;
}

test.beforeEach(async ({ page, request }) => {
  // The organization exists once per moto (either project may come first).
  const r = await organizations(request, 'CreateOrganization', { FeatureSet: 'ALL' });
  expect([200, 400]).toContain(r.status);
  await signIn(page);
});

test('a sync shows each account with its drift, and an unmapped one is adopted', async ({
  page,
  request,
  javaScriptEnabled,
}, info) => {
  const errors = collectErrors(page);
  const tag = unique(`org ${info.project.name}`).replace(/ /g, '-').toLowerCase();
  // A vended address that is an account's root email, an account on the domain without a
  // mapping, and one on another domain.
  const token = cli(['token', 'create', '--name', unique('org'), '--scope', 'admin']).trim();
  const vended = await request.post('/api/v1/addresses', {
    headers: { Authorization: `Bearer ${token}` },
    data: { owner: 'org.owner@corp.example', account_type: 'IT', business_unit: tag, application: 'app' },
  });
  expect(vended.status()).toBe(201);
  const mapped = (await vended.json()).address as string;
  const mappedName = `${tag} mapped`;
  const unmappedName = `${tag} unmapped`;
  await createAccount(request, mappedName, mapped);
  const unmapped = `${tag}-root@${domain}`;
  await createAccount(request, unmappedName, unmapped);
  await createAccount(request, `${tag} elsewhere`, `${tag}@corp.example`);

  await page.goto('/accounts');
  await ready(page, javaScriptEnabled);
  await page.getByRole('form', { name: 'Sync the organization now' }).getByRole('button', { name: 'Sync now' }).click();
  await expect(page.getByRole('status').filter({ hasText: /Synced \d+ accounts/ }).first()).toBeVisible();

  const row = (name: string) => page.getByRole('row').filter({ hasText: name });
  await expect(row(mappedName).getByText('In order')).toBeVisible();
  await expect(row(mappedName).getByRole('link', { name: mapped })).toHaveAttribute('href', `/addresses/${mapped}`);
  await expect(row(unmappedName).getByText('No mapping')).toBeVisible();
  await expect(row(`${tag} elsewhere`).getByText('Off the domain')).toBeVisible();
  await page.screenshot({ path: 'screenshots/accounts.png', fullPage: true });

  // The drift filter is a link: it works the same with and without JavaScript.
  await page.getByRole('navigation', { name: 'Filter by drift' }).getByRole('link', { name: 'No mapping' }).click();
  await expect(page).toHaveURL(/drift=unmapped/);
  await expect(row(unmappedName)).toBeVisible();
  await expect(row(mappedName)).toHaveCount(0);

  // Adopt: the account's address gets a mapping for the owner chosen here.
  const r = row(unmappedName);
  await r.getByText('Adopt…').click();
  const form = r.getByRole('form', { name: `Adopt ${unmapped}` });
  await form.getByLabel('Owner (gets its mail)').fill('heir.org@corp.example');
  await form.getByRole('button', { name: `Adopt ${unmapped}` }).click();
  await expect(page.getByRole('status').filter({ hasText: `Adopted ${unmapped}` }).first()).toBeVisible();
  await page.goto('/accounts?drift=unmapped');
  await ready(page, javaScriptEnabled);
  await expect(row(unmappedName)).toHaveCount(0);

  // The mapping knows its account now.
  await page.goto(`/addresses/${encodeURIComponent(unmapped)}`);
  await expect(page.getByText(`${unmappedName} (`)).toBeVisible();
  expect(errors).toEqual([]);
});

test('an off-domain account is moved onto the domain, and a failed move is retried', async ({
  page,
  request,
  javaScriptEnabled,
}, info) => {
  const errors = collectErrors(page);
  const tag = unique(`move ${info.project.name}`).replace(/ /g, '-').toLowerCase();
  const movingName = `${tag} moving`;
  // The stand-in Account API says an address with "taken" in it is in use.
  const takenName = `${tag} taken`;
  const moving = await createAccount(request, movingName, `${tag}-moving@corp.example`);
  const taken = await createAccount(request, takenName, `${tag}-taken@corp.example`);

  await page.goto('/accounts?drift=off_domain');
  await ready(page, javaScriptEnabled);
  await page.getByRole('form', { name: 'Sync the organization now' }).getByRole('button', { name: 'Sync now' }).click();
  await expect(page.getByRole('status').filter({ hasText: /Synced \d+ accounts/ }).first()).toBeVisible();
  await page.goto('/accounts?drift=off_domain');
  await ready(page, javaScriptEnabled);

  // One account from its row.
  const row = (name: string) => page.getByRole('table', { name: 'AWS accounts' }).getByRole('row').filter({ hasText: name });
  await row(movingName).getByRole('form', { name: `Move ${movingName} onto the domain` }).getByRole('button').click();
  await expect(page.getByRole('status').filter({ hasText: 'Queued 1 root email change' }).first()).toBeVisible();

  // The other through the bulk form, trimmed to it.
  await page.goto('/accounts?drift=off_domain');
  await ready(page, javaScriptEnabled);
  const bulk = page.getByRole('form', { name: 'Move these accounts onto the domain' });
  await bulk.getByLabel('Account ids (one a line)').fill(taken);
  await bulk.getByRole('button', { name: 'Move these accounts' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Queued 1 root email change' }).first()).toBeVisible();

  // The jobs table shows each job's progress; the worker starts them at once (pace 0 here).
  const job = (name: string) => page.getByRole('table', { name: 'Root email change jobs' }).getByRole('row').filter({ hasText: name });
  // Named after the account (at most 30 characters of its name), then its id.
  const address = new RegExp(`^${tag.slice(0, 20)}.*-${moving}@${domain.replace(/\./g, '\\.')}$`);
  await expect
    .poll(async () => {
      await page.goto('/accounts');
      return (await job(movingName).textContent()) ?? '';
    })
    .toContain("Waiting for AWS's code");
  const link = job(movingName).getByRole('link', { name: address });
  await expect(link).toHaveAttribute('href', /^\/addresses\/.+/);
  await expect
    .poll(async () => {
      await page.goto('/accounts');
      return (await job(takenName).textContent()) ?? '';
    })
    .toContain('conflict');
  await expect(job(takenName).getByText('Failed')).toBeVisible();
  // A moving account is not offered for moving again.
  await expect(row(movingName).getByText('Moving…')).toBeVisible();
  await expect(row(movingName).getByRole('button')).toHaveCount(0);
  await ready(page, javaScriptEnabled);
  await page.screenshot({ path: 'screenshots/accounts-jobs.png', fullPage: true });
  // The jobs table, its progress and its forms pass axe as the rest of the page does (axe
  // runs as a script in the page, so in the JavaScript project).
  if (javaScriptEnabled) {
    const { violations } = await new AxeBuilder({ page })
      .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'])
      .analyze();
    expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id)).toEqual([]);
  }

  // A failed job is retried: queued again, attempt 2 (and it fails again: still taken).
  await job(takenName).getByRole('form', { name: `Retry moving ${taken}` }).getByRole('button', { name: 'Retry' }).click();
  await expect(page.getByRole('status').filter({ hasText: `Retrying the move of ${taken}` }).first()).toBeVisible();
  await expect
    .poll(async () => {
      await page.goto('/accounts');
      return (await job(takenName).textContent()) ?? '';
    })
    .toMatch(/attempt 2.*|conflict.*attempt 2/s);
  expect(errors).toEqual([]);
});
