import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { createServices } from '../src/services.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { Secret } from '../src/secret.js';
import { CSRF_HEADERS } from '../src/security/plugins.js';
import { UpstreamClient } from '../src/upstream/client.js';
import { run, spawnGateway, type Running } from './helpers/process.js';
import { startStack, TEST_API_KEY, type Stack } from './helpers/stack.js';

/**
 * HTTP-level protections over real servers: production defaults, CSRF, CORS, body limits, GET
 * only for queries, batching, persisted operations. Every refusal is checked for "not executed"
 * by the upstream calls the simulator saw.
 */

const TOKEN = 'http-suite-token-7c1e9a3f5b2d4e6a';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const UPSTREAM_QUERY = '{ batchCalls(first: 1) { edges { cursor } } }';
const PERSISTED_ID = 'op-batch-calls-first-1';
const ORIGIN = 'https://app.example.com';
const ORIGIN_2 = 'https://admin.example.com';
const EVIL = 'https://evil.example';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsx = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));

/** Every response body and header block this file received directly (besides `stack.responses`). */
const seen: string[] = [];
/** Log lines and output of gateways not started through startStack. */
const otherLogs: string[] = [];

interface Raw {
  status: number;
  headers: Headers;
  text: string;
  body: unknown;
}

interface GqlBody {
  data?: unknown;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

async function send(url: string, init: RequestInit = {}): Promise<Raw> {
  const response = await fetch(url, init);
  const text = await response.text();
  seen.push(text, JSON.stringify([...response.headers]));
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: body stays null.
  }
  return { status: response.status, headers: response.headers, text, body };
}

const gqlBody = (raw: Raw): GqlBody => (raw.body ?? {}) as GqlBody;
const firstCode = (raw: Raw): unknown => gqlBody(raw).errors?.[0]?.extensions?.['code'];

function postJson(stack: Stack | string, body: unknown, headers: Record<string, string> = {}): Promise<Raw> {
  const base = typeof stack === 'string' ? stack : stack.gateway.url;
  return send(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...AUTH, ...headers }, body: JSON.stringify(body) });
}

function getQuery(stack: Stack, query: string, headers: Record<string, string> = {}): Promise<Raw> {
  return send(`${stack.gateway.url}/graphql?query=${encodeURIComponent(query)}`, { headers: { ...AUTH, ...headers } });
}

function expectBatchCallsData(raw: Raw): void {
  expect(raw.status).toBe(200);
  expect(gqlBody(raw).errors).toBeUndefined();
  expect(gqlBody(raw).data).toEqual({ batchCalls: { edges: [{ cursor: expect.any(String) }] } });
}

/** Runs `act` and asserts the upstream saw no call during it. */
async function notExecuted<T>(stack: Stack, act: () => Promise<T>): Promise<T> {
  stack.resetCalls();
  const result = await act();
  expect(stack.calls()).toHaveLength(0);
  return result;
}

/** A gateway app (production or development) whose upstream fails with an error nobody mapped. */
interface StubbedApp {
  url: string;
  logs: string[];
  close(): Promise<void>;
}

const INTERNAL_DETAIL = 'internal detail at /srv/gateway/secret-path.ts:42';

async function startFailingApp(mode: 'production' | 'development'): Promise<StubbedApp> {
  const config = loadConfig({
    NODE_ENV: mode,
    ELEVENLABS_API_KEY: TEST_API_KEY,
    ELEVENLABS_BASE_URL: 'http://127.0.0.1:9',
    GATEWAY_API_TOKENS: TOKEN,
    LOG_LEVEL: 'debug',
  });
  const logs: string[] = [];
  const logger = createLogger({ level: config.logLevel, destination: { write: (line: string) => void logs.push(line) } });
  const upstream = new UpstreamClient({ ...config.upstream, apiKey: new Secret(TEST_API_KEY), logger });
  upstream.listBatches = async () => {
    throw new TypeError(INTERNAL_DETAIL);
  };
  const services = createServices({ config, upstream, logger, reportUnknownEnum: () => undefined });
  const server: Server = createServer(createApp({ config, upstream, logger, services }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    logs,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await upstream.close();
    },
  };
}

let dir: string;
const stacks: Stack[] = [];
let prod: Stack;
let prodOn: Stack;
let local: Stack;
let cors: Stack;
let cors2: Stack;
let batching: Stack;
let persisted: Stack;
let persistedOpen: Stack;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gateway-security-http-'));
  const file = join(dir, 'operations.json');
  writeFileSync(file, JSON.stringify({ [PERSISTED_ID]: 'query { batchCalls(first: 1) { edges { cursor } } }' }));
  const withToken = (env: Record<string, string>): Promise<Stack> => startStack({ env: { GATEWAY_API_TOKENS: TOKEN, ...env } });
  [prod, prodOn, local, cors, cors2, batching, persisted, persistedOpen] = await Promise.all([
    withToken({ NODE_ENV: 'production' }),
    withToken({ NODE_ENV: 'production', GATEWAY_INTROSPECTION: 'true', GATEWAY_GRAPHIQL: 'true' }),
    withToken({ GATEWAY_MAX_BODY_BYTES: '2048' }),
    withToken({ GATEWAY_CORS_ORIGINS: ORIGIN }),
    withToken({ GATEWAY_CORS_ORIGINS: `${ORIGIN},${ORIGIN_2}` }),
    withToken({ GATEWAY_BATCHING_LIMIT: '2' }),
    withToken({ GATEWAY_PERSISTED_OPERATIONS_FILE: file }),
    withToken({ GATEWAY_PERSISTED_OPERATIONS_FILE: file, GATEWAY_ALLOW_ARBITRARY_OPERATIONS: 'true' }),
  ]);
  stacks.push(prod, prodOn, local, cors, cors2, batching, persisted, persistedOpen);
});

afterAll(async () => {
  await Promise.all(stacks.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

describe('production defaults: configuration', () => {
  const base = { NODE_ENV: 'production', ELEVENLABS_API_KEY: TEST_API_KEY };

  it('production without client authentication is refused, naming GATEWAY_API_TOKENS', () => {
    let error: unknown;
    try {
      loadConfig(base);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('GATEWAY_API_TOKENS');
    expect((error as ConfigError).message).toContain('GATEWAY_ALLOW_ANONYMOUS');
    expect((error as ConfigError).message).not.toContain(TEST_API_KEY);
    // Explicitly disallowing anonymous access is the same refusal.
    expect(() => loadConfig({ ...base, GATEWAY_ALLOW_ANONYMOUS: 'false' })).toThrow(/GATEWAY_API_TOKENS/);
  });

  it('GATEWAY_ALLOW_ANONYMOUS=true is the explicit opt-out; production still turns GraphiQL, introspection and suggestions off', () => {
    const config = loadConfig({ ...base, GATEWAY_ALLOW_ANONYMOUS: 'true' });
    expect(config.security.allowAnonymous).toBe(true);
    expect(config.graphiql).toBe(false);
    expect(config.security.introspection).toBe(false);
    expect(config.security.blockFieldSuggestions).toBe(true);
  });

  it('with tokens or a JWT secret production starts, anonymous off; the two switches turn tools back on', () => {
    const withTokens = loadConfig({ ...base, GATEWAY_API_TOKENS: TOKEN });
    expect(withTokens.security.allowAnonymous).toBe(false);
    const withJwt = loadConfig({ ...base, GATEWAY_JWT_SECRET: 'x'.repeat(32), GATEWAY_JWT_ISSUER: 'i', GATEWAY_JWT_AUDIENCE: 'a' });
    expect(withJwt.security.allowAnonymous).toBe(false);
    const tools = loadConfig({ ...base, GATEWAY_API_TOKENS: TOKEN, GATEWAY_INTROSPECTION: 'true', GATEWAY_GRAPHIQL: 'true' });
    expect(tools.security.introspection).toBe(true);
    expect(tools.graphiql).toBe(true);
    // Outside production: anonymous only while no authentication is configured.
    expect(loadConfig({}).security.allowAnonymous).toBe(true);
    expect(loadConfig({ GATEWAY_API_TOKENS: TOKEN }).security.allowAnonymous).toBe(false);
    expect(loadConfig({}).security.blockFieldSuggestions).toBe(false);
  });

  it('weak or incomplete credentials are refused', () => {
    expect(() => loadConfig({ GATEWAY_API_TOKENS: 'short-token' })).toThrow(/at least 16 characters/);
    expect(() => loadConfig({ GATEWAY_JWT_SECRET: 'x'.repeat(31), GATEWAY_JWT_ISSUER: 'i', GATEWAY_JWT_AUDIENCE: 'a' })).toThrow(/32 bytes/);
    expect(() => loadConfig({ GATEWAY_JWT_SECRET: 'x'.repeat(32) })).toThrow(/GATEWAY_JWT_ISSUER[\s\S]*GATEWAY_JWT_AUDIENCE/);
    expect(() => loadConfig({ ...base, GATEWAY_JWKS_URL: 'http://auth.example.com/jwks.json', GATEWAY_JWT_ISSUER: 'i', GATEWAY_JWT_AUDIENCE: 'a' }))
      .toThrow(/GATEWAY_JWKS_URL must be an https URL/);
  });

  it('an unreadable or malformed persisted-operations file is refused, naming GATEWAY_PERSISTED_OPERATIONS_FILE', () => {
    const cases: Array<[string, string | undefined]> = [
      ['missing.json', undefined],
      ['not-json.json', '{ "op": "query { x }", sk_live_do_not_echo'],
      ['array.json', '["query { x }"]'],
      ['number-value.json', '{ "op": 42 }'],
    ];
    for (const [name, content] of cases) {
      const file = join(dir, name);
      if (content !== undefined) writeFileSync(file, content);
      let error: unknown;
      try {
        loadConfig({ GATEWAY_PERSISTED_OPERATIONS_FILE: file });
      } catch (e) {
        error = e;
      }
      expect(error, name).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message, name).toContain('GATEWAY_PERSISTED_OPERATIONS_FILE');
      expect((error as ConfigError).message, name).not.toContain('sk_live_do_not_echo');
    }
  });
});

describe('production defaults: process', () => {
  it('the process refuses to start in production without client authentication (exit 1, names GATEWAY_API_TOKENS, no key echoed)', async () => {
    const error = await run(tsx, ['src/main.ts'], {
      cwd: root,
      env: {
        NODE_ENV: 'production', ELEVENLABS_API_KEY: TEST_API_KEY, PORT: '0', HOST: '127.0.0.1',
        GATEWAY_API_TOKENS: '', GATEWAY_JWT_SECRET: '', GATEWAY_JWKS_URL: '', GATEWAY_ALLOW_ANONYMOUS: '',
      },
    }).then(() => null, (e: unknown) => e as Error);
    expect(error?.message).toMatch(/exited 1/);
    expect(error?.message).toContain('GATEWAY_API_TOKENS');
    otherLogs.push(error?.message ?? '');
  });

  it('with GATEWAY_ALLOW_ANONYMOUS=true it serves anonymously, with introspection and GraphiQL off', async () => {
    let gateway: Running | undefined;
    try {
      gateway = await spawnGateway(tsx, ['src/main.ts'], {
        cwd: root,
        env: {
          NODE_ENV: 'production', GATEWAY_ALLOW_ANONYMOUS: 'true', PORT: '0', HOST: '127.0.0.1',
          ELEVENLABS_API_KEY: TEST_API_KEY, ELEVENLABS_BASE_URL: prod.simulator.url,
        },
      });
      const served = await send(`${gateway.url}/graphql`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: UPSTREAM_QUERY }),
      });
      expectBatchCallsData(served);
      const introspection = await send(`${gateway.url}/graphql`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __schema { types { name } } }' }),
      });
      expect(gqlBody(introspection).data ?? null).toBeNull();
      expect(gqlBody(introspection).errors?.[0]?.message).toMatch(/introspection/i);
      const page = await send(`${gateway.url}/graphql`, { headers: { accept: 'text/html' } });
      expect(page.text).not.toMatch(/graphiql/i);
    } finally {
      if (gateway !== undefined) {
        gateway.child.kill('SIGTERM');
        await gateway.exited;
        otherLogs.push(...gateway.stdout, ...gateway.stderr);
      }
    }
  });
});

describe('production defaults: served behaviour', () => {
  it('introspection is off (__schema and __type), and GATEWAY_INTROSPECTION=true turns it back on', async () => {
    for (const query of ['{ __schema { types { name } } }', '{ __type(name: "Query") { name } }']) {
      const refused = await postJson(prod, { query });
      expect(gqlBody(refused).data ?? null).toBeNull();
      expect(gqlBody(refused).errors?.[0]?.message).toMatch(/introspection has been disabled/);
      const allowed = await postJson(prodOn, { query });
      expect(gqlBody(allowed).errors).toBeUndefined();
      expect(JSON.stringify(gqlBody(allowed).data)).toContain('"name":"Query"');
    }
  });

  it('GraphiQL is off (no page, with or without a token), and GATEWAY_GRAPHIQL=true turns it back on', async () => {
    for (const headers of [{ accept: 'text/html' }, { accept: 'text/html', ...AUTH }]) {
      const page = await send(`${prod.gateway.url}/graphql`, { headers });
      expect(page.headers.get('content-type') ?? '').not.toMatch(/text\/html/);
      expect(page.text).not.toMatch(/graphiql/i);
    }
    const page = await send(`${prodOn.gateway.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/graphiql/i);
  });

  it('field suggestions are blocked in production and present in local mode', async () => {
    const typo = { query: '{ batchCals(first: 1) { edges { cursor } } }' };
    for (const stack of [prod, prodOn]) {
      const response = await notExecuted(stack, () => postJson(stack, typo));
      expect(gqlBody(response).errors?.[0]?.message).toMatch(/Cannot query field "batchCals"/);
      expect(response.text).not.toMatch(/Did you mean/);
      expect(response.text).not.toContain('"batchCalls"');
    }
    const response = await postJson(local, typo);
    expect(gqlBody(response).errors?.[0]?.message).toMatch(/Did you mean .*"batchCalls"/);
  });

  it('an unexpected resolver error is masked in production (logged server-side), shown only in development', async () => {
    const production = await startFailingApp('production');
    const development = await startFailingApp('development');
    try {
      const masked = await postJson(production.url, { query: UPSTREAM_QUERY });
      expect(gqlBody(masked).errors?.map((e) => [e.message, e.extensions?.['code']])).toEqual([['Unexpected error.', 'INTERNAL_SERVER_ERROR']]);
      expect(masked.text).not.toContain('internal detail');
      expect(masked.text).not.toContain('TypeError');
      expect(masked.text).not.toMatch(/\.ts:\d+/);
      expect(production.logs.some((l) => l.includes('unexpected error in resolver') && l.includes(INTERNAL_DETAIL))).toBe(true);

      const shown = await postJson(development.url, { query: UPSTREAM_QUERY });
      expect(shown.text).toContain(INTERNAL_DETAIL);
    } finally {
      otherLogs.push(...production.logs, ...development.logs);
      await production.close();
      await development.close();
    }
  });
});

describe('CSRF', () => {
  it('a GET query without a CSRF header: 403, not executed', async () => {
    const refused = await notExecuted(local, () => getQuery(local, UPSTREAM_QUERY));
    expect(refused.status).toBe(403);
    expect(gqlBody(refused).data).toBeUndefined();
  });

  it.each(CSRF_HEADERS)('a GET query with %s: 200 with data', async (header) => {
    expectBatchCallsData(await getQuery(local, UPSTREAM_QUERY, { [header]: '1' }));
  });

  it('a POST with application/json needs no CSRF header', async () => {
    expectBatchCallsData(await postJson(local, { query: UPSTREAM_QUERY }));
  });

  it.each([
    ['text/plain', JSON.stringify({ query: UPSTREAM_QUERY })],
    ['application/x-www-form-urlencoded', `query=${encodeURIComponent(UPSTREAM_QUERY)}`],
  ])('a "simple" POST (%s, no preflight in a browser): refused, not executed', async (contentType, body) => {
    const refused = await notExecuted(local, () =>
      send(`${local.gateway.url}/graphql`, { method: 'POST', headers: { ...AUTH, 'content-type': contentType }, body }));
    expect(refused.status).toBe(403);
    expect(refused.text).not.toContain('"batchCalls"');
  });

  it('a multipart/form-data POST: refused, not executed', async () => {
    const form = new FormData();
    form.set('operations', JSON.stringify({ query: UPSTREAM_QUERY }));
    form.set('map', '{}');
    const refused = await notExecuted(local, () => send(`${local.gateway.url}/graphql`, { method: 'POST', headers: AUTH, body: form }));
    expect(refused.status).toBe(403);
  });
});

describe('CORS', () => {
  const preflight = (stack: Stack, origin: string): Promise<Raw> =>
    send(`${stack.gateway.url}/graphql`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });

  it('without GATEWAY_CORS_ORIGINS: no CORS headers on a preflight nor on a request with an Origin', async () => {
    const pre = await preflight(local, ORIGIN);
    const actual = await postJson(local, { query: '{ __typename }' }, { origin: ORIGIN });
    expect(actual.status).toBe(200);
    for (const response of [pre, actual]) {
      expect([...response.headers.keys()].filter((h) => h.startsWith('access-control-'))).toEqual([]);
    }
  });

  it('a configured origin: preflight allowed with credentials, authorization and content-type; the request is allowed too', async () => {
    for (const stack of [cors, cors2]) {
      const pre = await preflight(stack, ORIGIN);
      expect(pre.status).toBeGreaterThanOrEqual(200);
      expect(pre.status).toBeLessThan(300);
      expect(pre.headers.get('access-control-allow-origin')).toBe(ORIGIN);
      expect(pre.headers.get('access-control-allow-credentials')).toBe('true');
      const allowHeaders = (pre.headers.get('access-control-allow-headers') ?? '').split(',').map((h) => h.trim().toLowerCase());
      expect(allowHeaders).toEqual(expect.arrayContaining(['authorization', 'content-type', 'x-graphql-csrf']));
      expect(pre.headers.get('access-control-allow-methods')).toMatch(/POST/);
      const actual = await postJson(stack, { query: '{ __typename }' }, { origin: ORIGIN });
      expect(actual.status).toBe(200);
      expect(actual.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    }
    // With several origins, each is answered with its own (and the answer varies by Origin).
    const second = await preflight(cors2, ORIGIN_2);
    expect(second.headers.get('access-control-allow-origin')).toBe(ORIGIN_2);
    expect(second.headers.get('vary') ?? '').toMatch(/origin/i);
  });

  it('another origin is never allowed (neither echoed nor "*")', async () => {
    for (const stack of [cors, cors2]) {
      for (const response of [await preflight(stack, EVIL), await postJson(stack, { query: '{ __typename }' }, { origin: EVIL })]) {
        const allowed = response.headers.get('access-control-allow-origin');
        expect(allowed).not.toBe(EVIL);
        expect(allowed).not.toBe('*');
      }
    }
    // With several origins configured, an unknown one gets none of them.
    const evil = await preflight(cors2, EVIL);
    expect([null, 'null']).toContain(evil.headers.get('access-control-allow-origin'));
  });
});

describe('request bodies', () => {
  it('a body within GATEWAY_MAX_BODY_BYTES is served', async () => {
    const body = JSON.stringify({ query: UPSTREAM_QUERY, variables: { pad: 'x'.repeat(1_800) } });
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(2048);
    expectBatchCallsData(await send(`${local.gateway.url}/graphql`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body }));
  });

  it('a body over GATEWAY_MAX_BODY_BYTES: 413 PAYLOAD_TOO_LARGE, not executed', async () => {
    const body = JSON.stringify({ query: UPSTREAM_QUERY, variables: { pad: 'x'.repeat(2_100) } });
    const refused = await notExecuted(local, () =>
      send(`${local.gateway.url}/graphql`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body }));
    expect(refused.status).toBe(413);
    expect(firstCode(refused)).toBe('PAYLOAD_TOO_LARGE');
  });

  it('a chunked body (no Content-Length): 411, not executed', async () => {
    local.resetCalls();
    async function* chunks(): AsyncGenerator<Buffer> {
      yield Buffer.from(JSON.stringify({ query: UPSTREAM_QUERY }));
    }
    const response = await request(`${local.gateway.url}/graphql`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: Readable.from(chunks()),
    });
    const text = await response.body.text();
    seen.push(text, JSON.stringify(response.headers));
    expect(response.statusCode).toBe(411);
    expect(response.headers['content-length']).toBeUndefined();
    expect((JSON.parse(text) as GqlBody).errors?.[0]?.extensions?.['code']).toBe('LENGTH_REQUIRED');
    expect(local.calls()).toHaveLength(0);
  });
});

describe('operations over GET', () => {
  it('a mutation over GET is refused and not executed', async () => {
    const refused = await notExecuted(local, () => getQuery(local, 'mutation { batchCalls(first: 1) { edges { cursor } } }', { 'x-graphql-csrf': '1' }));
    expect(refused.status).toBe(405);
    expect(refused.headers.get('allow')).toBe('POST');
    expect(gqlBody(refused).errors?.[0]?.message).toMatch(/mutation/i);
    expect(gqlBody(refused).data).toBeUndefined();
  });

  it('a mutation over POST is an error too (the schema has no mutation type), not executed', async () => {
    const refused = await notExecuted(local, () => postJson(local, { query: 'mutation { batchCalls(first: 1) { edges { cursor } } }' }));
    expect(gqlBody(refused).errors?.length).toBeGreaterThan(0);
    expect(gqlBody(refused).data ?? null).toBeNull();
  });
});

describe('batching', () => {
  const operations = (n: number): unknown[] => Array.from({ length: n }, () => ({ query: UPSTREAM_QUERY }));

  it('off by default: a JSON array body is refused, not executed', async () => {
    const refused = await notExecuted(local, () => postJson(local, operations(1)));
    expect(refused.status).toBe(400);
    expect(gqlBody(refused).errors?.[0]?.message).toMatch(/Batching is not supported/);
  });

  it('GATEWAY_BATCHING_LIMIT=2: two operations are served, three are refused and not executed', async () => {
    const two = await postJson(batching, operations(2));
    expect(two.status).toBe(200);
    expect(Array.isArray(two.body)).toBe(true);
    const results = two.body as GqlBody[];
    expect(results).toHaveLength(2);
    for (const result of results) expect(result.data).toEqual({ batchCalls: { edges: [{ cursor: expect.any(String) }] } });

    const three = await notExecuted(batching, () => postJson(batching, operations(3)));
    expect(three.status).toBeGreaterThanOrEqual(400);
    expect(gqlBody(three).errors?.[0]?.message).toMatch(/limited to 2/);
  });
});

describe('persisted operations', () => {
  it('an allow-listed operation by documentId is served', async () => {
    persisted.resetCalls();
    expectBatchCallsData(await postJson(persisted, { documentId: PERSISTED_ID }));
    expect(persisted.calls().length).toBeGreaterThan(0);
  });

  it("an allow-listed operation by Apollo's extensions.persistedQuery.sha256Hash is served", async () => {
    expectBatchCallsData(await postJson(persisted, { extensions: { persistedQuery: { version: 1, sha256Hash: PERSISTED_ID } } }));
  });

  it('an unknown id fails, not executed', async () => {
    for (const body of [{ documentId: 'op-unknown' }, { extensions: { persistedQuery: { version: 1, sha256Hash: 'f'.repeat(64) } } }]) {
      const refused = await notExecuted(persisted, () => postJson(persisted, body));
      expect(gqlBody(refused).data ?? null).toBeNull();
      expect(firstCode(refused)).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    }
  });

  it('an arbitrary query is refused, not executed (POST and GET)', async () => {
    const post = await notExecuted(persisted, () => postJson(persisted, { query: UPSTREAM_QUERY }));
    expect(gqlBody(post).data ?? null).toBeNull();
    expect(gqlBody(post).errors?.length).toBeGreaterThan(0);
    const get = await notExecuted(persisted, () => getQuery(persisted, UPSTREAM_QUERY, { 'x-graphql-csrf': '1' }));
    expect(gqlBody(get).data ?? null).toBeNull();
    expect(get.text).not.toContain('"batchCalls"');
  });

  it('a known id does not smuggle in a different query sent alongside it', async () => {
    const response = await notExecuted(persisted, () => postJson(persisted, { documentId: PERSISTED_ID, query: '{ __schema { types { name } } }' }));
    expect(gqlBody(response).data ?? null).toBeNull();
    expect(gqlBody(response).errors?.length).toBeGreaterThan(0);
    expect(response.text).not.toContain('"types"');
  });

  it('GATEWAY_ALLOW_ARBITRARY_OPERATIONS=true: arbitrary queries are served alongside persisted ones', async () => {
    expectBatchCallsData(await postJson(persistedOpen, { query: UPSTREAM_QUERY }));
    expectBatchCallsData(await postJson(persistedOpen, { documentId: PERSISTED_ID }));
  });
});

describe('key hygiene across all of the above', () => {
  it('no response body or header and no log line holds the upstream key or the client token', () => {
    const texts = [...seen, ...stacks.flatMap((s) => [...s.responses, ...s.logs]), ...otherLogs];
    for (const text of texts) {
      expect(text).not.toContain(TEST_API_KEY);
      expect(text).not.toContain(TEST_API_KEY.slice(8, 24));
      expect(text).not.toContain(TOKEN);
    }
    // The search covered real traffic from every stack, the spawned process and the failing apps.
    expect(seen.length).toBeGreaterThan(80);
    expect(stacks.every((s) => s.logs.length > 3)).toBe(true);
    expect(otherLogs.some((l) => l.includes('gateway listening'))).toBe(true);
    expect(otherLogs.some((l) => l.includes('unexpected error in resolver'))).toBe(true);
    expect(texts.reduce((n, t) => n + t.length, 0)).toBeGreaterThan(25_000);
  });
});
