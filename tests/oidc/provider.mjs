// A real OpenID Connect provider (panva's oidc-provider, from the npm registry) for
// Helpline's single sign-on tests.  Started by tests/oidc_provider.py with:
//   OP_PORT, OP_ISSUER, OP_CLIENT (JSON: client_id, client_secret, redirect_uris,
//   post_logout_redirect_uris), OP_ACCOUNTS (JSON: login -> claims).
// An account whose claims hold "_misbehave" gets its ID token altered on the way out
// of the token endpoint, to test the relying party's checks with real tokens:
//   "tamper"  - a claim of the signed payload changed, signature kept (now invalid);
//   "issuer"  - signed again with the provider's own key, with another "iss";
//   "expired" - signed again with the provider's own key, "exp" an hour ago.
// An account with "_amr" gets that "amr" in its ID token (signed by the provider's key).
import Provider from 'oidc-provider';
import * as jose from 'jose';

const port = Number(process.env.OP_PORT);
const issuer = process.env.OP_ISSUER;
const client = JSON.parse(process.env.OP_CLIENT);
const accounts = JSON.parse(process.env.OP_ACCOUNTS);

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await jose.exportJWK(privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };

const configuration = {
  clients: [{
    ...client,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [jwk] },
  cookies: { keys: ['helpline-tests-cookie-key'] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  async findAccount(ctx, id) {
    const claims = accounts[id];
    if (!claims) return undefined;
    return {
      accountId: id,
      async claims() {
        const { _misbehave, _amr, ...rest } = claims;
        return { sub: id, preferred_username: id, ...rest };
      },
    };
  },
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile groups');
    grant.addOIDCClaims(['email', 'email_verified', 'name', 'preferred_username', 'groups']);
    await grant.save();
    return grant;
  },
};

const provider = new Provider(issuer, configuration);

async function resign(payload) {
  return new jose.SignJWT(payload)
    .setProtectedHeader({ alg: 'RS256', kid: 'test-key', typ: 'JWT' })
    .sign(privateKey);
}

provider.use(async (ctx, next) => {
  await next();
  if (ctx.path !== '/token' || ctx.status !== 200 || !ctx.body || !ctx.body.id_token) return;
  const [header, body, signature] = ctx.body.id_token.split('.');
  const payload = JSON.parse(Buffer.from(body, 'base64url').toString());
  const account = accounts[payload.sub] || {};
  const how = account._misbehave;
  if (how === 'tamper') {
    payload.groups = ['helpline-admins'];
    const altered = Buffer.from(JSON.stringify(payload)).toString('base64url');
    ctx.body = { ...ctx.body, id_token: `${header}.${altered}.${signature}` };
  } else if (how === 'issuer') {
    ctx.body = { ...ctx.body, id_token: await resign({ ...payload, iss: 'http://127.0.0.1:1/other' }) };
  } else if (how === 'expired') {
    const now = Math.floor(Date.now() / 1000);
    ctx.body = { ...ctx.body, id_token: await resign({ ...payload, iat: now - 7200, exp: now - 3600 }) };
  } else if (account._amr) {
    // Stands for a provider whose own sign-in asked for a second factor.
    ctx.body = { ...ctx.body, id_token: await resign({ ...payload, amr: account._amr }) };
  }
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
