import { defineConfig } from '@playwright/test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loginToken } from './constants';

// One server for the whole run, on its own port, with its own data directory.
const port = Number(process.env.E2E_PORT ?? 3457);
const baseURL = process.env.E2E_URL ?? `http://127.0.0.1:${port}`;
const root = path.resolve(__dirname, '..');
const data = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvend-e2e-'));
const bin = process.env.E2E_BIN ?? path.join(root, 'target/debug/mailvend');
// A second server signs in through a real OIDC provider (end2end/oidc/provider.mjs).
const ssoPort = port + 1;
const oidcPort = port + 2;
const ssoURL = `http://127.0.0.1:${ssoPort}`;
const ssoData = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvend-e2e-sso-'));


const chromium = {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  // Without the background-networking flags Chromium keeps calling hosts this machine
  // cannot reach.
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
};

export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  // One retry on CI only, so a rare timing flake on two busy cores cannot block a landing;
  // Playwright still reports any test that needed it as "flaky".
  retries: process.env.CI ? 1 : 0,
  workers: 2,
  reporter: [['list']],
  use: {
    baseURL,
    launchOptions: chromium,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    { name: 'js', use: { javaScriptEnabled: true } },
    { name: 'nojs', use: { javaScriptEnabled: false } },
  ],
  webServer: process.env.E2E_URL
    ? undefined
    : [
        {
          command: `${bin} serve`,
          cwd: root,
          url: `${baseURL}/healthz`,
          reuseExistingServer: false,
          timeout: 60_000,
          stdout: 'pipe',
          stderr: 'pipe',
          env: {
            LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
            LEPTOS_SITE_ROOT: path.join(root, 'target/site'),
            MAILVEND_STORE: `sqlite://${data}/mailvend.db`,
            MAILVEND_MAILER: `outbox://${data}/outbox`,
            MAILVEND_DOMAIN: 'mail.e2e.test',
            MAILVEND_PUBLIC_URL: baseURL,
            MAILVEND_LOCAL_LOGIN_TOKEN: loginToken,
            RUST_LOG: 'warn',
          },
        },
        {
          command: 'node end2end/oidc/provider.mjs',
          cwd: root,
          url: `http://127.0.0.1:${oidcPort}/.well-known/openid-configuration`,
          reuseExistingServer: false,
          timeout: 30_000,
          stdout: 'pipe',
          stderr: 'pipe',
          env: {
            OIDC_PORT: String(oidcPort),
            OIDC_REDIRECT_URIS: `${ssoURL}/auth/callback`,
            NODE_NO_WARNINGS: '1',
          },
        },
        {
          command: `${bin} serve`,
          cwd: root,
          url: `${ssoURL}/healthz`,
          reuseExistingServer: false,
          timeout: 60_000,
          stdout: 'pipe',
          stderr: 'pipe',
          env: {
            LEPTOS_SITE_ADDR: `127.0.0.1:${ssoPort}`,
            LEPTOS_SITE_ROOT: path.join(root, 'target/site'),
            MAILVEND_STORE: `sqlite://${ssoData}/mailvend.db`,
            MAILVEND_MAILER: `outbox://${ssoData}/outbox`,
            MAILVEND_DOMAIN: 'mail.e2e.test',
            MAILVEND_PUBLIC_URL: ssoURL,
            MAILVEND_OIDC_ISSUER: `http://127.0.0.1:${oidcPort}`,
            MAILVEND_OIDC_CLIENT_ID: 'mailvend',
            MAILVEND_OIDC_CLIENT_SECRET: 'mailvend-test-secret',
            MAILVEND_ADMIN_GROUPS: 'mailvend-admins',
            RUST_LOG: 'warn',
          },
        },
      ],
});
