// A real OpenID Connect provider for tests (oidc-provider, npm). One confidential client,
// PKCE required, its built-in login and consent forms (devInteractions), and three people:
// an admin (by group), an owner, and one whose email is not verified. Any other login name
// signs in as that address, verified, in no group.
//
//   node end2end/oidc/provider.mjs            # env: OIDC_PORT, OIDC_REDIRECT_URIS (comma-separated)
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT ?? 4444);
const issuer = `http://127.0.0.1:${port}`;
const redirectUris = (process.env.OIDC_REDIRECT_URIS ?? 'http://127.0.0.1:3000/auth/callback')
  .split(',')
  .filter(Boolean);

const people = {
  'admin@corp.example': { name: 'Ada Admin', groups: ['mailvend-admins', 'staff'], verified: true },
  'owner@corp.example': { name: 'Olly Owner', groups: ['staff'], verified: true },
  'unverified@corp.example': { name: 'Una Verified', groups: ['mailvend-admins'], verified: false },
};

// A signing key of its own each start, under a new key id: restarting the provider is how
// the tests rotate its keys.
const signingKey = {
  ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
  kid: randomUUID(),
  use: 'sig',
  alg: 'RS256',
};

const provider = new Provider(issuer, {
  jwks: { keys: [signingKey] },
  clients: [
    {
      client_id: 'mailvend',
      client_secret: 'mailvend-test-secret',
      redirect_uris: redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'groups'],
  },
  // Put the requested claims into the id token itself (the relying party reads them there).
  conformIdTokenClaims: false,
  cookies: { keys: ['mailvend-test-cookie-key'] },
  async findAccount(_ctx, id) {
    const login = String(id).trim().toLowerCase();
    const p = people[login] ?? { name: login, groups: [], verified: true };
    return {
      accountId: login,
      async claims() {
        return { sub: login, email: login, email_verified: p.verified, name: p.name, groups: p.groups };
      },
    };
  },
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider ready at ${issuer}`);
});
