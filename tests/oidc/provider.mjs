// A real OpenID provider for the tests: npm `oidc-provider` (a certified implementation) with
// its development login page. Started by `crates/testoidc`; everything it knows comes from the
// JSON file named by the first argument:
//   { issuer, port, clients: [{client_id, client_secret, redirect_uris}],
//     accounts: [{sub, email, email_verified}], jwks: {keys: [private JWKs]} }
// Any password is accepted on the login page: the login field names the account (`sub`). An
// unknown login fails the sign-in, as a disabled account would. Consent is given at once.
// When it listens it prints one line, `listening`, on stdout.
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const accounts = new Map(cfg.accounts.map((a) => [a.sub, a]));
const scope = 'openid email';

const provider = new Provider(cfg.issuer, {
  clients: cfg.clients.map((c) => ({
    ...c,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  })),
  jwks: cfg.jwks,
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  cookies: { keys: ['shotclock-test-provider-cookies'] },
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  async findAccount(_ctx, sub) {
    const account = accounts.get(sub);
    if (!account) return undefined;
    return {
      accountId: sub,
      async claims() {
        return { sub, email: account.email, email_verified: account.email_verified };
      },
    };
  },
  // First-party clients: no consent screen.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(scope);
    grant.addOIDCClaims(['email', 'email_verified']);
    await grant.save();
    return grant;
  },
  renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = `<!DOCTYPE html><title>error</title><pre id="error">${out.error}: ${out.error_description ?? ''}</pre>`;
  },
});

const server = provider.listen(cfg.port, '127.0.0.1', () => {
  process.stdout.write('listening\n');
});
server.on('error', (e) => {
  process.stderr.write(`cannot listen: ${e.message}\n`);
  process.exit(3);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
