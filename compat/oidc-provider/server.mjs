// A real OpenID Connect provider for Portico's sign-in tests: the `oidc-provider` package
// with one confidential client (authorization code flow, PKCE required), a few accounts with
// email claims, and its built-in login and consent pages.
//
//   node server.mjs --port 4010 --redirect-uri http://127.0.0.1:7007/api/auth/oidc/handler/frame
//
// Options (all but --redirect-uri have defaults):
//   --port <port>            0 (the default) picks a free one
//   --host <name>            the host in the issuer URL (default localhost; it listens on 127.0.0.1)
//   --client-id <id>         (default portico)
//   --client-secret <secret> (default portico-client-secret)
//   --alg RS256|ES256        how ID tokens are signed (default RS256)
//
// Accounts (any password): `jane`, `joe` and `mallory`, whose claims are in ACCOUNTS below.
//
// Test-only endpoints next to the provider's own:
//   POST /admin/rotate-keys    replaces the signing keys with new ones (new key ids); the JWKS
//                              then lists only the new keys. Sessions and grants are kept.
//   POST /admin/next-id-token  {"claims": {...}, "key": "current"|"foreign"} changes the ID
//                              token of the next token response: the claims are merged into
//                              it (null removes one), and it is signed again with the current
//                              key or with a key the JWKS does not list.
//   GET  /admin/requests       every request the provider answered ({method, path}), token
//                              requests with the grant type and PKCE verifier they carried,
//                              so a test can see what a client sent and how often.
//
// Once listening it prints one line, `listening <issuer>`, to stdout: the issuer names the
// port it listens on.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import { CompactSign, decodeJwt, decodeProtectedHeader, importJWK } from 'jose';
import Provider from 'oidc-provider';

const ACCOUNTS = {
  jane: { email: 'jane@example.com', email_verified: true, name: 'Jane Doe' },
  joe: { email: 'joe@example.org', email_verified: true, name: 'Joe Bloggs' },
  mallory: { email: 'mallory@example.net', email_verified: true, name: 'Mallory Outsider' },
};

function options(argv) {
  const parsed = {
    port: '0',
    host: 'localhost',
    clientId: 'portico',
    clientSecret: 'portico-client-secret',
    alg: 'RS256',
  };
  const names = {
    '--port': 'port',
    '--redirect-uri': 'redirectUri',
    '--host': 'host',
    '--client-id': 'clientId',
    '--client-secret': 'clientSecret',
    '--alg': 'alg',
  };
  for (let i = 0; i < argv.length; i += 2) {
    const name = names[argv[i]];
    if (!name || argv[i + 1] === undefined) {
      throw new Error(`unknown option or missing value: ${argv[i]}`);
    }
    parsed[name] = argv[i + 1];
  }
  if (!parsed.redirectUri) {
    throw new Error('usage: node server.mjs --redirect-uri <url> [--port <port>] [options]');
  }
  if (!['RS256', 'ES256'].includes(parsed.alg)) {
    throw new Error(`--alg must be RS256 or ES256, not ${parsed.alg}`);
  }
  return parsed;
}

/// A private JWK of a new key for `alg`, with a fresh key id.
function newKey(alg) {
  const pair = alg === 'RS256'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = pair.privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: `${alg.toLowerCase()}-${randomBytes(6).toString('hex')}`, alg, use: 'sig' };
}

function newKeySet() {
  return { RS256: newKey('RS256'), ES256: newKey('ES256') };
}

const settings = options(process.argv.slice(2));
// Known once the server listens.
let issuer;
// Signed cookies survive a key rotation: the provider is rebuilt with the same cookie keys.
const cookieKeys = [randomBytes(32).toString('hex')];
// Keys that sign nothing the JWKS lists: for ID tokens no client may accept.
const foreignKeys = newKeySet();
let keys = newKeySet();
let nextIdToken = null;
const requests = [];

function buildProvider() {
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: settings.clientId,
        client_secret: settings.clientSecret,
        redirect_uris: [settings.redirectUri],
        response_types: ['code'],
        grant_types: ['authorization_code', 'refresh_token'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: settings.alg,
      },
    ],
    jwks: { keys: [keys.RS256, keys.ES256] },
    cookies: { keys: cookieKeys },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
    },
    features: {
      devInteractions: { enabled: true },
      revocation: { enabled: true },
    },
    pkce: { required: () => true },
    // A refresh token for every code exchange, not only with `offline_access`.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    findAccount: async (_ctx, id) => {
      const claims = ACCOUNTS[id];
      if (!claims) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...claims }) };
    },
  });
  provider.use(async (ctx, next) => {
    const request = { method: ctx.method, path: ctx.path };
    if (ctx.path === '/token' && ctx.method === 'POST') {
      const body = await readForm(ctx.req);
      request.grant_type = body.get('grant_type');
      request.code_verifier = body.get('code_verifier');
    }
    requests.push(request);
    await next();
    if (ctx.path === '/token' && nextIdToken && ctx.body && ctx.body.id_token) {
      const change = nextIdToken;
      nextIdToken = null;
      ctx.body = { ...ctx.body, id_token: await resign(ctx.body.id_token, change) };
    }
  });
  return provider;
}

/// The form body of a request, read without consuming it for the provider.
function readForm(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      // The provider parses the body after this middleware; give it the same bytes.
      req.body = text;
      resolve(new URLSearchParams(text));
    });
  });
}

/// `token` with `change.claims` merged into its payload, signed again.
async function resign(token, change) {
  const header = decodeProtectedHeader(token);
  const claims = { ...decodeJwt(token), ...(change.claims || {}) };
  for (const [name, value] of Object.entries(claims)) {
    if (value === null) delete claims[name];
  }
  const jwk = (change.key === 'foreign' ? foreignKeys : keys)[header.alg];
  const key = await importJWK(jwk, header.alg);
  return new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: header.alg, kid: jwk.kid, typ: header.typ })
    .sign(key);
}

let provider;

async function admin(req, res) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString();
  const reply = (status, value) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(value));
  };
  if (req.method === 'POST' && req.url === '/admin/rotate-keys') {
    keys = newKeySet();
    provider = buildProvider();
    return reply(200, { kids: [keys.RS256.kid, keys.ES256.kid] });
  }
  if (req.method === 'POST' && req.url === '/admin/next-id-token') {
    nextIdToken = text ? JSON.parse(text) : {};
    return reply(200, {});
  }
  if (req.method === 'GET' && req.url === '/admin/requests') {
    return reply(200, requests);
  }
  return reply(404, { error: 'no such admin endpoint' });
}

const server = createServer((req, res) => {
  if (req.url.startsWith('/admin/')) {
    admin(req, res).catch((error) => {
      res.writeHead(500);
      res.end(String(error));
    });
    return;
  }
  provider.callback()(req, res);
});
server.listen(Number(settings.port), '127.0.0.1', () => {
  issuer = `http://${settings.host}:${server.address().port}`;
  provider = buildProvider();
  console.log(`listening ${issuer}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
