import { defineConfig } from '@playwright/test';
import {
  accountApiPort,
  accountApiURL,
  baseURL,
  bin,
  heldEnv,
  heldURL,
  motoPort,
  motoURL,
  oidcPort,
  root,
  serverEnv,
  ssoEnv,
  ssoURL,
} from './servers';

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
  // No retries: a page that loses its CSP (issue 15) or any other flake must fail the run.
  // 20 consecutive runs with retries off passed before the CI retry was removed.
  retries: 0,
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
          command: `.venv-moto/bin/moto_server -H 127.0.0.1 -p ${motoPort}`,
          cwd: root,
          url: `${motoURL}/moto-api/`,
          reuseExistingServer: false,
          timeout: 30_000,
          stdout: 'ignore',
          stderr: 'ignore',
        },
        {
          command: 'node end2end/account-api.mjs',
          cwd: root,
          url: `${accountApiURL}/healthz`,
          reuseExistingServer: false,
          timeout: 30_000,
          stdout: 'ignore',
          stderr: 'pipe',
          env: { ACCOUNT_API_PORT: String(accountApiPort) },
        },
        {
          command: `${bin} serve`,
          cwd: root,
          url: `${baseURL}/healthz`,
          reuseExistingServer: false,
          timeout: 60_000,
          stdout: 'pipe',
          stderr: 'pipe',
          env: serverEnv,
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
          env: ssoEnv,
        },
        {
          command: `${bin} serve`,
          cwd: root,
          url: `${heldURL}/healthz`,
          reuseExistingServer: false,
          timeout: 60_000,
          stdout: 'pipe',
          stderr: 'pipe',
          env: heldEnv,
        },
      ],
});
