import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, TEST_API_KEY, type Stack } from './helpers/stack.js';

/**
 * Client authentication and per-client rate limiting over real HTTP: static tokens, HS256 JWTs,
 * JWTs verified against a JWKS served by a local server. A refused request must never execute
 * (no upstream call at the simulator), and no token, secret or identity may leak.
 */

const TOKEN_A = 'client-token-A-5f0c9e1b7a3d4c2e';
const TOKEN_B = 'client-token-B-8d2a6f4e1c9b7a05';
const TOKEN_C = 'client-token-C-3e7b1d9f5a2c8e64';
const JWT_SECRET = 'jwt-shared-secret-0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const OTHER_SECRET = 'some-other-secret-aa11bb22cc33dd44ee55ff6677889900';
const ISSUER = 'https://auth.example.com/';
const AUDIENCE = 'batch-calling-gateway';
const SUBJECT = 'user-4b9e2c71a0d3';
const UPSTREAM_QUERY = '{ batchCalls(first: 1) { edges { cursor } } }';

/** Every response body and header block received by this file (besides `stack.responses`). */
const seen: string[] = [];
/** Every JWT this file sent: none may show up in a response or a log line. */
const issued: string[] = [];
/** Private key material of the JWKS keys. */
const privateParts: string[] = [];

interface Raw {
  status: number;
  headers: Headers;
  text: string;
  body: { data?: unknown; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
}

async function send(url: string, init: RequestInit = {}): Promise<Raw> {
  const response = await fetch(url, init);
  const text = await response.text();
  seen.push(text, JSON.stringify([...response.headers]));
  let body: Raw['body'] = {};
  try {
    body = JSON.parse(text) as Raw['body'];
  } catch {
    // Not JSON (GraphiQL's page, an empty health answer): body stays empty.
  }
  return { status: response.status, headers: response.headers, text, body };
}

function post(stack: Stack, authorization: string | undefined, query = UPSTREAM_QUERY, path = '/graphql'): Promise<Raw> {
  return send(`${stack.gateway.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) },
    body: JSON.stringify({ query }),
  });
}

const bearer = (token: string): string => `Bearer ${token}`;

/** 401, the challenge header, UNAUTHENTICATED, and nothing executed. */
async function expectRejected(stack: Stack, authorization: string | undefined, message?: RegExp, path?: string): Promise<Raw> {
  stack.resetCalls();
  const response = await post(stack, authorization, UPSTREAM_QUERY, path);
  expect(response.status).toBe(401);
  expect(response.headers.get('www-authenticate')).toBe('Bearer');
  expect(response.body.data).toBeUndefined();
  expect(response.body.errors?.map((e) => e.extensions?.['code'])).toEqual(['UNAUTHENTICATED']);
  if (message !== undefined) expect(response.body.errors?.[0]?.message).toMatch(message);
  expect(stack.calls()).toHaveLength(0);
  return response;
}

async function expectServed(stack: Stack, authorization: string): Promise<void> {
  stack.resetCalls();
  const response = await post(stack, authorization);
  expect(response.status).toBe(200);
  expect(response.body.errors).toBeUndefined();
  expect(response.body.data).toEqual({ batchCalls: { edges: [{ cursor: expect.any(String) }] } });
  expect(stack.calls().length).toBeGreaterThan(0);
}

interface JwtOptions {
  subject?: string | null;
  issuer?: string;
  audience?: string;
  /** Seconds from now; negative = already expired. */
  expiresIn?: number;
}

function claims(jwt: SignJWT, options: JwtOptions): SignJWT {
  const now = Math.floor(Date.now() / 1000);
  const expiresIn = options.expiresIn ?? 300;
  jwt.setIssuer(options.issuer ?? ISSUER).setAudience(options.audience ?? AUDIENCE)
    .setIssuedAt(Math.min(now, now + expiresIn - 60)).setExpirationTime(now + expiresIn);
  if (options.subject !== null) jwt.setSubject(options.subject ?? SUBJECT);
  return jwt;
}

async function hs256(options: JwtOptions = {}, secret = JWT_SECRET, alg = 'HS256'): Promise<string> {
  const token = await claims(new SignJWT({ scope: 'read' }).setProtectedHeader({ alg, typ: 'JWT' }), options)
    .sign(new TextEncoder().encode(secret));
  issued.push(token);
  return token;
}

const stacks: Stack[] = [];
let tokens: Stack;
let jwks: Stack;
let limited: Stack;
let jwksServer: Server;
let jwksFetches = 0;
let signingKey: CryptoKey;
let otherKey: CryptoKey;
let publicJwk: JWK;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true });
  const other = await generateKeyPair('ES256', { extractable: true });
  signingKey = pair.privateKey;
  otherKey = other.privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'key-1', alg: 'ES256', use: 'sig' };
  for (const key of [pair.privateKey, other.privateKey]) {
    const d = (await exportJWK(key)).d;
    if (d !== undefined) privateParts.push(d);
  }
  jwksServer = createServer((req, res) => {
    if (req.url === '/.well-known/jwks.json') {
      jwksFetches++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [publicJwk] }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;

  [tokens, jwks, limited] = await Promise.all([
    startStack({
      env: {
        GATEWAY_API_TOKENS: `${TOKEN_A}, ${TOKEN_B}`,
        GATEWAY_JWT_SECRET: JWT_SECRET,
        GATEWAY_JWT_ISSUER: ISSUER,
        GATEWAY_JWT_AUDIENCE: AUDIENCE,
      },
    }),
    startStack({ env: { GATEWAY_JWKS_URL: jwksUrl, GATEWAY_JWT_ISSUER: ISSUER, GATEWAY_JWT_AUDIENCE: AUDIENCE } }),
    startStack({ env: { GATEWAY_API_TOKENS: [TOKEN_A, TOKEN_B, TOKEN_C].join(','), RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_MS: '1500' } }),
  ]);
  stacks.push(tokens, jwks, limited);
});

afterAll(async () => {
  await Promise.all(stacks.map((s) => s.close()));
  await new Promise<void>((resolve) => jwksServer.close(() => resolve()));
});

describe('static bearer tokens', () => {
  it('no Authorization header: 401 with a Bearer challenge, UNAUTHENTICATED, nothing executed', async () => {
    await expectRejected(tokens, undefined, /Authentication required/);
  });

  it('an unknown token: 401', async () => {
    await expectRejected(tokens, bearer('client-token-X-0000000000000000'), /Invalid token/);
    // A prefix or extension of a real token is not that token.
    await expectRejected(tokens, bearer(TOKEN_A.slice(0, -1)));
    await expectRejected(tokens, bearer(`${TOKEN_A}0`));
  });

  it.each([
    ['Basic', `Basic ${Buffer.from(`user:${TOKEN_A}`).toString('base64')}`],
    ['Basic x', 'Basic x'],
    ['Bearer alone', 'Bearer'],
    ['Bearer and a space', 'Bearer '],
    ['two tokens', `Bearer ${TOKEN_A} ${TOKEN_B}`],
    ['another scheme with a valid token', `Token ${TOKEN_A}`],
    ['a token with characters outside the token68 set', `Bearer ${TOKEN_A}"`],
  ])('a malformed Authorization header (%s): 401', async (_label, header) => {
    await expectRejected(tokens, header);
  });

  it('either configured token: 200 with data', async () => {
    await expectServed(tokens, bearer(TOKEN_A));
    await expectServed(tokens, bearer(TOKEN_B));
  });

  it.each(['/graphql/', '//graphql', '/x?/graphql', '/anything?next=/graphql'])(
    'the GraphQL endpoint under another spelling (%s) is not a way around authentication',
    async (path) => {
      // yoga serves GraphQL on these paths too; before the fix they executed without a token.
      await expectRejected(tokens, undefined, /Authentication required/, path);
    },
  );

  it('/health and /ready answer without a token', async () => {
    const health = await send(`${tokens.gateway.url}/health`);
    expect(health.status).toBe(200);
    const ready = await send(`${tokens.gateway.url}/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready' });
  });

  it("GraphiQL's page renders without a token; a GET query with that Accept header is still not executed", async () => {
    const page = await send(`${tokens.gateway.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.text).toMatch(/graphiql/i);

    tokens.resetCalls();
    const sneaky = await send(`${tokens.gateway.url}/graphql?query=${encodeURIComponent(UPSTREAM_QUERY)}`, {
      headers: { accept: 'text/html, application/json', 'x-graphql-csrf': '1' },
    });
    expect(sneaky.text).not.toContain('"batchCalls"');
    expect(tokens.calls()).toHaveLength(0);
  });
});

describe('HS256 JWTs', () => {
  it('a valid token: 200 with data', async () => {
    await expectServed(tokens, bearer(await hs256()));
  });

  it('an expired token: 401 saying it expired', async () => {
    await expectRejected(tokens, bearer(await hs256({ expiresIn: -120 })), /expired/i);
  });

  it('the wrong audience: 401', async () => {
    await expectRejected(tokens, bearer(await hs256({ audience: 'another-service' })), /aud/);
  });

  it('the wrong issuer: 401', async () => {
    await expectRejected(tokens, bearer(await hs256({ issuer: 'https://evil.example/' })), /iss/);
  });

  it('signed with another secret: 401', async () => {
    await expectRejected(tokens, bearer(await hs256({}, OTHER_SECRET)), /Invalid token/);
  });

  it('another HMAC algorithm with the right secret: 401 (only HS256 is accepted)', async () => {
    await expectRejected(tokens, bearer(await hs256({}, JWT_SECRET, 'HS512')), /Invalid token/);
  });

  it('alg "none" (unsigned): 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    const unsigned = new UnsecuredJWT({ scope: 'read' }).setSubject(SUBJECT).setIssuer(ISSUER).setAudience(AUDIENCE)
      .setIssuedAt(now).setExpirationTime(now + 300).encode();
    issued.push(unsigned);
    expect(unsigned.endsWith('.')).toBe(true);
    await expectRejected(tokens, bearer(unsigned), /Invalid token/);
    // The same claims with a made-up signature segment.
    await expectRejected(tokens, bearer(`${unsigned}c2lnbmF0dXJl`), /Invalid token/);
  });

  it('a valid token with its payload swapped: 401', async () => {
    const [header, , signature] = (await hs256()).split('.');
    const payload = Buffer.from(JSON.stringify({ sub: 'admin', iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 300 }))
      .toString('base64url');
    await expectRejected(tokens, bearer(`${header}.${payload}.${signature}`), /Invalid token/);
  });

  it('no `sub` claim: 401', async () => {
    await expectRejected(tokens, bearer(await hs256({ subject: null })), /sub/);
  });
});

describe('JWTs verified against a JWKS', () => {
  const es256 = async (key: CryptoKey, kid: string, options: JwtOptions = {}): Promise<string> => {
    const token = await claims(new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid }), options).sign(key);
    issued.push(token);
    return token;
  };

  it('a token signed by the published key: 200 with data', async () => {
    await expectServed(jwks, bearer(await es256(signingKey, 'key-1')));
  });

  it('a token signed by another key (same kid, or an unknown kid): 401', async () => {
    await expectRejected(jwks, bearer(await es256(otherKey, 'key-1')), /Invalid token/);
    await expectRejected(jwks, bearer(await es256(otherKey, 'key-2')));
  });

  it('an expired token from the published key: 401 saying it expired', async () => {
    await expectRejected(jwks, bearer(await es256(signingKey, 'key-1', { expiresIn: -120 })), /expired/i);
  });

  it('algorithm confusion: an HS256 token keyed with the public JWK is refused', async () => {
    const token = await claims(new SignJWT({}).setProtectedHeader({ alg: 'HS256', kid: 'key-1' }), {})
      .sign(new TextEncoder().encode(JSON.stringify(publicJwk)));
    issued.push(token);
    await expectRejected(jwks, bearer(token), /Invalid token/);
  });

  it('static tokens are not accepted where only JWTs are configured', async () => {
    await expectRejected(jwks, bearer(TOKEN_A), /Invalid token/);
  });

  it('an unreachable key set: 503 AUTH_UNAVAILABLE (the token may be fine), nothing executed', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const down = await startStack({
      env: { GATEWAY_JWKS_URL: `http://127.0.0.1:${port}/jwks.json`, GATEWAY_JWT_ISSUER: ISSUER, GATEWAY_JWT_AUDIENCE: AUDIENCE },
    });
    try {
      const response = await post(down, bearer(await es256(signingKey, 'key-1')));
      expect(response.status).toBe(503);
      expect(response.body.errors?.map((e) => e.extensions?.['code'])).toEqual(['AUTH_UNAVAILABLE']);
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(down.calls()).toHaveLength(0);
    } finally {
      await down.close();
    }
  });

  it('the key set is fetched from the configured URL and cached, not fetched per request', async () => {
    await expectServed(jwks, bearer(await es256(signingKey, 'key-1')));
    expect(jwksFetches).toBeGreaterThanOrEqual(1);
    expect(jwksFetches).toBeLessThanOrEqual(2);
  });
});

describe('per-client rate limit (3 per 1.5 s)', () => {
  it('the 4th request in a burst: 429 with Retry-After and RATE_LIMITED, not executed; another token is unaffected; then recovery', async () => {
    for (let i = 0; i < 3; i++) expect((await post(limited, bearer(TOKEN_A))).status).toBe(200);
    limited.resetCalls();
    const refused = await post(limited, bearer(TOKEN_A));
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(2);
    expect(refused.body.data).toBeUndefined();
    expect(refused.body.errors?.[0]?.extensions).toEqual({ code: 'RATE_LIMITED', retryAfter });
    expect(limited.calls()).toHaveLength(0);
    // The same client on another spelling of the endpoint is limited too (same bucket).
    expect((await post(limited, bearer(TOKEN_A), UPSTREAM_QUERY, '/graphql/')).status).toBe(429);
    expect(limited.calls()).toHaveLength(0);

    // Keyed by identity: the other client still has its whole allowance.
    for (let i = 0; i < 3; i++) await expectServed(limited, bearer(TOKEN_B));

    // After Retry-After, the first client is served again.
    await sleep(retryAfter * 1000 + 50);
    await expectServed(limited, bearer(TOKEN_A));

    // The log names the client by its identity (a hash prefix), never by the token.
    const identity = `token:${createHash('sha256').update(TOKEN_A).digest('hex').slice(0, 12)}`;
    expect(limited.logs.some((l) => l.includes('client rate limited') && l.includes(identity))).toBe(true);
  });

  it("failed attempts are limited per address, and do not spend a valid client's allowance", async () => {
    const wrong = bearer(`${TOKEN_C.slice(0, -4)}zzzz`);
    // Guessing is throttled: the allowance of failures from this address is the same 3.
    for (let i = 0; i < 3; i++) await expectRejected(limited, wrong);
    limited.resetCalls();
    const throttled = await post(limited, wrong, UPSTREAM_QUERY);
    expect(throttled.status).toBe(429);
    expect(throttled.body.errors?.map((e) => e.extensions?.['code'])).toEqual(['RATE_LIMITED']);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.calls()).toHaveLength(0);
    // The holder of a valid token, from the same address, still gets its own 3.
    for (let i = 0; i < 3; i++) await expectServed(limited, bearer(TOKEN_C));
  });

  it('accepts the Bearer scheme in any case (RFC 9110)', async () => {
    await expectServed(tokens, `bearer ${TOKEN_A}`);
    await expectServed(tokens, `BEARER ${TOKEN_A}`);
  });
});

describe('secret and identity hygiene across all of the above', () => {
  it('no response or log line holds the upstream key, a client token, the JWT secret, a JWT or key material; no response names the client', async () => {
    const responses = [...seen, ...stacks.flatMap((s) => s.responses)];
    const logs = stacks.flatMap((s) => s.logs);
    const texts = [...responses, ...logs];
    const secrets = [TEST_API_KEY, TEST_API_KEY.slice(8, 24), TOKEN_A, TOKEN_B, TOKEN_C, JWT_SECRET, OTHER_SECRET, ...issued, ...privateParts];
    for (const text of texts) {
      for (const secret of secrets) expect(text).not.toContain(secret);
    }
    const identities = [SUBJECT, ...[TOKEN_A, TOKEN_B, TOKEN_C].map((t) => createHash('sha256').update(t).digest('hex').slice(0, 12))];
    for (const text of responses) {
      for (const identity of identities) expect(text).not.toContain(identity);
    }
    // The search covered real traffic: many responses, rejections and their log lines.
    expect(issued.length).toBeGreaterThanOrEqual(12);
    expect(responses.length).toBeGreaterThan(60);
    expect(texts.reduce((n, t) => n + t.length, 0)).toBeGreaterThan(30_000);
    expect(logs.filter((l) => l.includes('request not authenticated')).length).toBeGreaterThan(20);
  });
});
