import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { loginToken } from './constants';

// The config and every worker import this module; the data directories are made once, by
// the runner, and handed to the workers through the environment they inherit.
export const root = path.resolve(__dirname, '..');
export const port = Number(process.env.E2E_PORT ?? 3457);
export const baseURL = process.env.E2E_URL ?? `http://127.0.0.1:${port}`;
export const bin = process.env.E2E_BIN ?? path.join(root, 'target/debug/mailvend');
export const data = (process.env.E2E_DATA ??= fs.mkdtempSync(path.join(os.tmpdir(), 'mailvend-e2e-')));
export const ssoPort = port + 1;
export const oidcPort = port + 2;
export const ssoURL = `http://127.0.0.1:${ssoPort}`;
export const ssoData = (process.env.E2E_SSO_DATA ??= fs.mkdtempSync(
  path.join(os.tmpdir(), 'mailvend-e2e-sso-'),
));
export const domain = 'mail.e2e.test';
/** A moto server standing in for AWS Organizations (the server's real SDK client calls it). */
export const motoPort = port + 3;
export const motoURL = `http://127.0.0.1:${motoPort}`;
/** A stand-in for AWS Account Management's primary-email calls, which moto lacks. */
export const accountApiPort = port + 4;
export const accountApiURL = `http://127.0.0.1:${accountApiPort}`;

/** A local-mode server of its own for class policies: a spec changes them for all its mail. */
export const heldPort = port + 5;
export const heldURL = `http://127.0.0.1:${heldPort}`;
export const heldData = (process.env.E2E_HELD_DATA ??= fs.mkdtempSync(
  path.join(os.tmpdir(), 'mailvend-e2e-held-'),
));

/** The local-mode server every dashboard spec uses. */
export const serverEnv: Record<string, string> = {
  LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
  LEPTOS_SITE_ROOT: path.join(root, 'target/site'),
  MAILVEND_STORE: `sqlite://${data}/mailvend.db`,
  MAILVEND_MAILER: `outbox://${data}/outbox`,
  MAILVEND_DOMAIN: domain,
  MAILVEND_PUBLIC_URL: baseURL,
  MAILVEND_LOCAL_LOGIN_TOKEN: loginToken,
  // Every spec signs in from 127.0.0.1: one client as far as the rate limit can tell.
  MAILVEND_RATE_LIMIT: '6000',
  // The AWS accounts page reads moto's organization; syncs only when asked.
  MAILVEND_ORGANIZATIONS: 'on',
  MAILVEND_ORGANIZATIONS_SYNC_EVERY: 'off',
  AWS_ENDPOINT_URL: motoURL,
  // Root email changes: their Start and Accept go to the stand-in, one after another.
  AWS_ENDPOINT_URL_ACCOUNT: accountApiURL,
  MAILVEND_ORGANIZATIONS_ROOT_EMAILS: 'on',
  MAILVEND_ORGANIZATIONS_MOVE_PACE: '0s',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  RUST_LOG: 'warn',
};

/** The class-policy server: local sign-in, no restricted group configured. */
export const heldEnv: Record<string, string> = {
  LEPTOS_SITE_ADDR: `127.0.0.1:${heldPort}`,
  LEPTOS_SITE_ROOT: path.join(root, 'target/site'),
  MAILVEND_STORE: `sqlite://${heldData}/mailvend.db`,
  MAILVEND_MAILER: `outbox://${heldData}/outbox`,
  MAILVEND_DOMAIN: domain,
  MAILVEND_PUBLIC_URL: heldURL,
  // The local admin's mailbox, off the served domain: held mail may be released to it.
  MAILVEND_ADMIN_ADDRESS: 'held.admin@corp.example',
  // The notifications spec's webhook receiver listens on plain http, on this machine.
  MAILVEND_NOTIFY_ALLOW_HTTP: 'on',
  MAILVEND_LOCAL_LOGIN_TOKEN: loginToken,
  MAILVEND_RATE_LIMIT: '6000',
  RUST_LOG: 'warn',
};

/** The server that signs in through the OIDC provider. */
export const ssoEnv: Record<string, string> = {
  LEPTOS_SITE_ADDR: `127.0.0.1:${ssoPort}`,
  LEPTOS_SITE_ROOT: path.join(root, 'target/site'),
  MAILVEND_STORE: `sqlite://${ssoData}/mailvend.db`,
  MAILVEND_MAILER: `outbox://${ssoData}/outbox`,
  MAILVEND_DOMAIN: domain,
  MAILVEND_PUBLIC_URL: ssoURL,
  MAILVEND_OIDC_ISSUER: `http://127.0.0.1:${oidcPort}`,
  MAILVEND_OIDC_CLIENT_ID: 'mailvend',
  MAILVEND_OIDC_CLIENT_SECRET: 'mailvend-test-secret',
  MAILVEND_RATE_LIMIT: '6000',
  MAILVEND_ADMIN_GROUPS: 'mailvend-admins',
  RUST_LOG: 'warn',
};

/**
 * Runs the `mailvend` binary against a test server's store (the same SQLite file), as an
 * operator would on that machine; returns its standard output.
 */
export function cli(args: string[], env: Record<string, string> = serverEnv): string {
  return execFileSync(bin, args, {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}
