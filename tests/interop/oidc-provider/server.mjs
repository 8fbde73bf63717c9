// A third-party OpenID Provider (panva/oidc-provider) dressed like Entra ID for tenantlink's
// interoperability tests: Entra's paths (/{tenant}/oauth2/v2.0/token and /devicecode), a public
// client for the device flow, and a confidential client that authenticates with private_key_jwt
// using the test certificate's public key.
//
// Usage: node server.mjs   with env TENANT, CLIENT_ID, DEVICE_CLIENT_ID, CERT_PEM_FILE.
// Prints "LISTENING <port>" once ready. Test-only endpoints stand in for the person at the
// verification page: POST /test/approve?user_code=… and /test/decline?user_code=…

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { X509Certificate } from 'node:crypto';
import Provider from 'oidc-provider';

const { TENANT, CLIENT_ID, DEVICE_CLIENT_ID, CERT_PEM_FILE } = process.env;
for (const [name, value] of Object.entries({ TENANT, CLIENT_ID, DEVICE_CLIENT_ID, CERT_PEM_FILE })) {
  if (!value) {
    console.error(`missing environment variable ${name}`);
    process.exit(2);
  }
}

const certificate = new X509Certificate(readFileSync(CERT_PEM_FILE));
const jwk = certificate.publicKey.export({ format: 'jwk' });

const ACCOUNT = {
  sub: 'admin-subject',
  preferred_username: 'admin@contoso.onmicrosoft.com',
  oid: '0f0f0f0f-1111-2222-3333-444444444444',
  tid: TENANT,
};

const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const base = `http://127.0.0.1:${port}`;
  const provider = new Provider(`${base}/${TENANT}/v2.0`, {
    routes: {
      token: `/${TENANT}/oauth2/v2.0/token`,
      device_authorization: `/${TENANT}/oauth2/v2.0/devicecode`,
      authorization: `/${TENANT}/oauth2/v2.0/authorize`,
      jwks: `/${TENANT}/discovery/v2.0/keys`,
    },
    clients: [
      {
        client_id: DEVICE_CLIENT_ID,
        token_endpoint_auth_method: 'none',
        grant_types: ['urn:ietf:params:oauth:grant-type:device_code'],
        response_types: [],
        redirect_uris: [],
      },
      {
        client_id: CLIENT_ID,
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [jwk] },
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
      },
    ],
    clientAuthMethods: ['none', 'private_key_jwt'],
    clientAuthSigningAlgValues: ['RS256', 'PS256'],
    features: {
      deviceFlow: { enabled: true },
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
    },
    scopes: ['openid', 'profile', 'https://graph.microsoft.com/.default'],
    claims: { openid: ['sub'], profile: ['preferred_username', 'oid', 'tid'] },
    conformIdTokenClaims: false,
    findAccount: (ctx, sub) => ({ accountId: sub, claims: () => ({ ...ACCOUNT, sub }) }),
  });

  const providerCallback = provider.callback();
  server.on('request', async (req, res) => {
    const url = new URL(req.url, base);
    if (!url.pathname.startsWith('/test/')) {
      providerCallback(req, res);
      return;
    }
    try {
      const userCode = (url.searchParams.get('user_code') || '').replace(/[^A-Za-z0-9]/g, '').toUpperCase();
      const code = await provider.DeviceCode.findByUserCode(userCode);
      if (!code) {
        res.writeHead(404).end('no such user code');
        return;
      }
      if (url.pathname === '/test/approve') {
        const grant = new provider.Grant({ accountId: ACCOUNT.sub, clientId: code.clientId });
        grant.addOIDCScope('openid profile');
        grant.addOIDCClaims(['preferred_username', 'oid', 'tid']);
        const grantId = await grant.save();
        Object.assign(code, {
          accountId: ACCOUNT.sub,
          grantId,
          scope: 'openid profile',
          authTime: Math.floor(Date.now() / 1000),
        });
      } else if (url.pathname === '/test/decline') {
        // Entra's wording for a refusal at the verification page.
        Object.assign(code, { error: 'authorization_declined', errorDescription: 'the user declined the sign-in' });
      } else {
        res.writeHead(404).end('unknown test endpoint');
        return;
      }
      await code.save();
      res.writeHead(204).end();
    } catch (error) {
      res.writeHead(500).end(String(error));
    }
  });

  console.log(`LISTENING ${port}`);
});
