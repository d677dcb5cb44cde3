import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeBatchCursor } from '../src/pagination/cursors.js';
import type { RecordedRequest } from '../src/simulator/server.js';
import { startStack, type GraphQLResponse, type Stack } from './helpers/stack.js';

/**
 * Property-based fuzzing of every id and cursor argument over real HTTP. Whatever the client
 * sends, (a) the gateway answers 200 or 400 with a well-formed GraphQL response and stays up, and
 * (b) every request reaching the upstream is one of the two documented shapes: the list path with
 * only limit/last_doc/agent_id, or the detail path with one [A-Za-z0-9_-] segment and no query.
 *
 * Runs are seeded: FUZZ_SEED=<n> replays a run; the seed is in every test name and failure.
 */

const SEED = process.env['FUZZ_SEED'] === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env['FUZZ_SEED']);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 300);
/** Per property: stop early rather than blow the file's time budget on a slow machine. */
const TIME_LIMIT_MS = Number(process.env['FUZZ_TIME_LIMIT_MS'] ?? 2_500);
/** Well under GATEWAY_MAX_BODY_BYTES (100 KiB), so every request reaches GraphQL. */
const MAX_VARIABLES_JSON = 80_000;

const LIST_PATH = '/v1/convai/batch-calling/workspace';
const DETAIL_PATH = /^\/v1\/convai\/batch-calling\/([A-Za-z0-9_-]+)$/;
const LIST_KEYS = new Set(['limit', 'last_doc', 'agent_id']);
/** What a client may be told about a hostile id: its own mistake, or that nothing is there. */
const EXPECTED_CODES = new Set(['BAD_USER_INPUT', 'NOT_FOUND', 'GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_PARSE_FAILED']);

let stack: Stack;
let batchIds: string[] = [];
let realNextDoc = '';

beforeAll(async () => {
  stack = await startStack({ env: { RATE_LIMIT_MAX: '0', UPSTREAM_MAX_RETRIES: '0' } });
  batchIds = stack.simulator.store.batchIds().slice(0, 5);
  realNextDoc = stack.simulator.store.listBatches({ limit: 3 }).next_doc ?? '';
  if (batchIds.length < 5 || realNextDoc === '') throw new Error('simulator dataset too small');
});
afterAll(async () => {
  await stack.close();
});
beforeEach(() => {
  stack.resetCalls();
});

// ---------------------------------------------------------------------------------------------
// Hostile values

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');

const PIECES = [
  '/', '\\', '.', '..', '../', '..\\', './', '/..', '%2e', '%2E', '%2e%2e', '%2e%2e%2f', '%2E%2E%2F', '..%2f', '%2f', '%2F',
  '%5c', '%252e%252e%252f', '%c0%ae', '%00', '%0a', '%0d%0a', '%', '%%', '%zz', '%u002e', '\u0000', '\u0001', '\u001f',
  '?', '&', '=', '#', '?limit=1000', '&agent_id=x', '&last_doc=', '#frag', ';', ';jsessionid=1', '@', ':', '+', ',', '*', '~', '!', '$',
  ' ', '\t', '\n', '\r', '\r\n', '\u000b', '\u000c', '\u007f', '\u0085', '\u00a0', '\u2028', '\u2029', '\u200b', '\u202e', '\ufeff',
  '\ud800', '\udfff', '\ud83d', '\ude00', '😀', '\u{10ffff}', 'é', 'e\u0301', 'ＡＢ', '\uff0f', '\u2215', '\u2024\u2024',
  'batch-calling', 'v1', 'convai', 'btcal_', 'agent_', '-', '_', '--', 'A', 'z', '0', '9', 'null', 'undefined',
  '__proto__', 'constructor', '{}', '[]', '"', "'", '`', '<script>', '${x}', '{{x}}', 'http://evil.example/', '//evil.example',
  '\\\\evil', 'last_doc', 'limit', 'agent_id', 'xi-api-key', 'BatchCall:', 'Recipient:', '=', '==',
];

/** Any UTF-16 code unit, lone surrogates included (fc's 'binary' unit never makes those). */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const upstreamAlphabet = fc.constantFrom(...'ABCXYZabcxyz0189_-'.split(''));

function hostileText(): fc.Arbitrary<string> {
  const composed = fc
    .array(fc.oneof(fc.constantFrom(...PIECES), fc.string({ unit: 'binary', maxLength: 3 }), codeUnit), { minLength: 1, maxLength: 12 })
    .map((parts) => parts.join(''));
  const long = fc
    .tuple(fc.constantFrom(...PIECES, 'a', 'A-_', '%2e%2e%2f'), fc.integer({ min: 129, max: 10_000 }))
    .map(([piece, length]) => piece.repeat(Math.ceil(length / piece.length)).slice(0, length));
  return fc.oneof(
    { weight: 5, arbitrary: composed },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    { weight: 2, arbitrary: fc.string({ unit: codeUnit, maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
    { weight: 1, arbitrary: long },
    // Valid-looking upstream ids, some over the 128-character limit.
    { weight: 3, arbitrary: fc.string({ unit: upstreamAlphabet, minLength: 1, maxLength: 140 }) },
    { weight: 1, arbitrary: fc.constantFrom('', ' ', '.', '..', '...', '/', '%2e%2e', 'WORKSPACE', 'workspace?limit=1', 'workspace/') },
  );
}

/** base64url of JSON, global IDs and bytes built to look valid to the decoders. */
function craftedToken(real: { batchIds: string[]; nextDoc: string }): fc.Arbitrary<string> {
  const text = hostileText();
  const orNull = fc.option(fc.oneof(text, fc.constantFrom(real.nextDoc, ...real.batchIds)), { nil: null });
  const int = fc.oneof(fc.integer({ min: -5, max: 205 }), fc.constantFrom(0, 100, 101, 2 ** 53, -0, 1.5, Number.MAX_SAFE_INTEGER));
  const someJson = fc.jsonValue({ maxDepth: 2 });
  const realId = fc.constantFrom(...real.batchIds);
  return fc.oneof(
    fc.tuple(orNull, int, orNull).map(([lastDoc, skip, agentId]) => b64(JSON.stringify(['b', lastDoc, skip, agentId]))),
    fc.tuple(int, fc.oneof(text, someJson)).map(([offset, filter]) => b64(JSON.stringify(['r', offset, filter]))),
    fc.tuple(fc.constantFrom('b', 'r', 'x', ''), someJson, someJson, someJson).map((parts) => b64(JSON.stringify(parts))),
    someJson.map((value) => b64(JSON.stringify(value))),
    // Simulator-shaped next_doc tokens with hostile keys (only the upstream may judge them).
    fc.tuple(fc.nat(), text).map(([created, id]) => b64(JSON.stringify(['b', b64(`v1|${created}|${id}`), 0, null]))),
    text.map((id) => b64(`BatchCall:${id}`)),
    text.map((id) => b64(`Recipient:${id}`)),
    fc.tuple(realId, text).map(([batch, id]) => b64(`Recipient:${batch}:${id}`)),
    fc.tuple(text, text).map(([batch, id]) => b64(`Recipient:${batch}:${id}`)),
    fc.tuple(fc.constantFrom('Node', 'Query', 'BatchCallConnection', 'batchcall', 'X'), text).map(([type, id]) => b64(`${type}:${id}`)),
    fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes).toString('base64url')),
    // Standard base64 (+, /, = padding), which the decoders must not take for base64url.
    text.map((id) => Buffer.from(`BatchCall:${id}`, 'utf8').toString('base64')),
  );
}

/**
 * Cursors the gateway accepts (right shape, skip 0..100) carrying a hostile `last_doc`: these are
 * forwarded, so they test the query-string encoding. Paired with the agentId they were made for.
 */
function acceptedCursor(agentIds: string[]): fc.Arbitrary<{ after: string; agentId: string | undefined }> {
  const lastDoc = fc.oneof(hostileText().filter((t) => t.length > 0 && t.length <= 1_024), fc.constant(realNextDoc));
  const agent = fc.option(fc.oneof(fc.constantFrom(...agentIds), fc.string({ unit: upstreamAlphabet, minLength: 1, maxLength: 128 })), { nil: undefined });
  return fc.tuple(lastDoc, fc.integer({ min: 0, max: 100 }), agent).map(([doc, skip, agentId]) => ({
    after: b64(JSON.stringify(['b', doc, skip, agentId ?? null])),
    agentId,
  }));
}

/** Global IDs that decode to a real batch: the share of node/nodes inputs that reach the upstream. */
function realGlobalId(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(...batchIds.map((id) => b64(`BatchCall:${id}`))),
    fc.tuple(fc.constantFrom(...batchIds), hostileText()).map(([batch, id]) => b64(`Recipient:${batch}:${id}`)),
  );
}

function anyValue(): fc.Arbitrary<string> {
  const real = { batchIds, nextDoc: realNextDoc };
  return fc.oneof(
    { weight: 4, arbitrary: hostileText() },
    { weight: 3, arbitrary: craftedToken(real) },
    { weight: 1, arbitrary: fc.constantFrom(...batchIds, ...batchIds.map((id) => b64(`BatchCall:${id}`)), realNextDoc) },
  );
}

// ---------------------------------------------------------------------------------------------
// What every answer and every upstream request must look like

function checkResponse(response: GraphQLResponse<unknown>): void {
  expect([200, 400]).toContain(response.status);
  const body = response.body as unknown;
  expect(typeof body === 'object' && body !== null && !Array.isArray(body)).toBe(true);
  const { data, errors } = response.body;
  expect(data !== undefined || errors !== undefined).toBe(true);
  if (data === undefined || data === null) expect(errors?.length ?? 0).toBeGreaterThan(0);
  for (const error of errors ?? []) {
    expect(typeof error.message).toBe('string');
    expect(error.message).not.toBe('Unexpected error.');
    const code = error.extensions?.['code'];
    if (!EXPECTED_CODES.has(String(code))) throw new Error(`unexpected error code ${String(code)}: ${error.message}`);
  }
}

function checkUpstreamRequest(request: RecordedRequest): void {
  const { url } = request;
  expect(request.method).toBe('GET');
  expect(url).not.toContain('#');
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (path === LIST_PATH) {
    // The gateway always sends `limit`: a bare list path would be a detail call gone astray.
    expect(q).toBeGreaterThan(-1);
    const pairs = url.slice(q + 1).split('&');
    const keys = pairs.map((pair) => pair.split('=')[0] ?? '');
    for (const key of keys) expect(LIST_KEYS.has(key)).toBe(true);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toContain('limit');
    for (const pair of pairs) expect(pair.split('=')).toHaveLength(2);
    const params = new URLSearchParams(url.slice(q + 1));
    expect(params.get('limit')).toMatch(/^(?:[1-9]|[1-9]\d|100)$/);
    const agentId = params.get('agent_id');
    if (agentId !== null) expect(agentId).toMatch(/^[A-Za-z0-9_-]{1,128}$/);
    const lastDoc = params.get('last_doc');
    if (lastDoc !== null) expect(lastDoc.length).toBeGreaterThan(0);
    return;
  }
  expect(q).toBe(-1);
  const match = DETAIL_PATH.exec(path);
  if (match === null) throw new Error(`upstream request outside the two documented shapes: ${JSON.stringify(url)}`);
  expect(match[1]?.length ?? 0).toBeLessThanOrEqual(128);
  expect(request.route).toBe('detail');
  expect(request.batchId).toBe(match[1]);
}

/** Upstream requests checked, by route, since the last fuzz() began: proof the check was not vacuous. */
const checked = { list: 0, detail: 0 };

async function probe(query: string, variables?: Record<string, unknown>): Promise<void> {
  stack.resetCalls();
  const response = await stack.gql(query, variables);
  checkResponse(response);
  for (const request of stack.calls()) {
    if (request.route === 'list') checked.list += 1;
    if (request.route === 'detail') checked.detail += 1;
    checkUpstreamRequest(request);
    // The simulator never failed on what it was sent.
    expect(request.status === 0 || request.status < 500).toBe(true);
  }
}

/** Runs a seeded property, time-bounded; checks that it did run a useful number of times. */
async function fuzz<T>(arbitrary: fc.Arbitrary<T>, predicate: (value: T) => Promise<void>): Promise<{ runs: number; list: number; detail: number }> {
  let runs = 0;
  checked.list = 0;
  checked.detail = 0;
  await fc.assert(
    fc.asyncProperty(arbitrary, async (value) => {
      runs += 1;
      await predicate(value);
    }),
    { seed: SEED, numRuns: RUNS, plugins: [fc.interruptAfterTimeLimit(TIME_LIMIT_MS)] },
  );
  expect(runs).toBeGreaterThanOrEqual(Math.min(RUNS, 50));
  if (process.env['FUZZ_VERBOSE'] !== undefined) console.log({ runs, ...checked });
  return { runs, ...checked };
}

const QUERIES = {
  batchCall: 'query($id: ID!) { batchCall(id: $id) { id batchId recipients(first: 1) { totalCount } } }',
  node: 'query($id: ID!) { node(id: $id) { id ... on BatchCall { name } ... on Recipient { status recipientId } } }',
  nodes: 'query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Recipient { status } } }',
  after: 'query($after: String, $agentId: String) { batchCalls(first: 2, after: $after, agentId: $agentId) { edges { cursor } pageInfo { endCursor } } }',
  agentId: 'query($agentId: String) { batchCalls(first: 2, agentId: $agentId) { edges { cursor node { agentId } } } }',
  recipientsAfter: 'query($id: ID!, $after: String) { batchCall(id: $id) { recipients(first: 2, after: $after) { totalCount edges { cursor } } } }',
} as const;

const small = <T>(value: T): boolean => JSON.stringify(value).length <= MAX_VARIABLES_JSON;

describe(`fuzzing every id and cursor argument (seed ${SEED}, FUZZ_SEED to replay)`, () => {
  it('batchCall(id)', async () => {
    const stats = await fuzz(anyValue(), (id) => probe(QUERIES.batchCall, { id }));
    expect(stats.detail).toBeGreaterThan(0);
  });

  it('node(id)', async () => {
    const id = fc.oneof({ weight: 4, arbitrary: anyValue() }, { weight: 1, arbitrary: realGlobalId() });
    const stats = await fuzz(id, (value) => probe(QUERIES.node, { id: value }));
    expect(stats.detail).toBeGreaterThan(0);
  });

  it('nodes(ids)', async () => {
    const id = fc.oneof({ weight: 4, arbitrary: anyValue() }, { weight: 1, arbitrary: realGlobalId() });
    const ids = fc.array(id, { minLength: 1, maxLength: 4 }).filter(small);
    const stats = await fuzz(ids, (value) => probe(QUERIES.nodes, { ids: value }));
    expect(stats.detail).toBeGreaterThan(0);
  });

  it('batchCalls(after), alone and with an agentId', async () => {
    const agentIds = stack.simulator.store.agents().map((a) => a.id);
    const agent = fc.option(fc.oneof(hostileText(), fc.constantFrom(...agentIds)), { nil: undefined });
    const input = fc.oneof(
      fc.tuple(anyValue(), agent).map(([after, agentId]) => ({ after, agentId })),
      acceptedCursor(agentIds),
    ).filter(small);
    const stats = await fuzz(input, async ({ after, agentId }) => {
      await probe(QUERIES.after, agentId === undefined ? { after } : { after, agentId });
      // What reached the upstream as last_doc is exactly what the cursor carried, nothing more.
      const [first] = stack.calls();
      if (first === undefined) return;
      const { lastDoc } = decodeBatchCursor(after);
      const params = new URLSearchParams(first.url.slice(first.url.indexOf('?') + 1));
      expect(params.get('last_doc')).toBe(lastDoc);
      expect(params.get('agent_id')).toBe(agentId ?? null);
    });
    expect(stats.list).toBeGreaterThan(0);
  });

  it('batchCalls(agentId)', async () => {
    const stats = await fuzz(anyValue(), (agentId) => probe(QUERIES.agentId, { agentId }));
    expect(stats.list).toBeGreaterThan(0);
  });

  it('BatchCall.recipients(after)', async () => {
    const stats = await fuzz(fc.tuple(fc.constantFrom(...batchIds), anyValue()), ([id, after]) => probe(QUERIES.recipientsAfter, { id, after }));
    expect(stats.detail).toBeGreaterThan(0);
  });

  it('Recipient and BatchCall global ids with hostile parts, through node and nodes', async () => {
    const text = hostileText();
    const globalId = fc.oneof(
      text.map((id) => b64(`Recipient:${id}`)),
      text.map((id) => b64(`BatchCall:${id}`)),
      fc.tuple(fc.constantFrom(...batchIds), text).map(([batch, id]) => b64(`Recipient:${batch}:${id}`)),
      fc.tuple(text, fc.constantFrom(...batchIds)).map(([batch, id]) => b64(`Recipient:${batch}:${id}`)),
    );
    const stats = await fuzz(fc.tuple(globalId, fc.array(globalId, { minLength: 1, maxLength: 3 })).filter(small), async ([id, ids]) => {
      await probe(QUERIES.node, { id });
      await probe(QUERIES.nodes, { ids });
    });
    expect(stats.detail).toBeGreaterThan(0);
  });

  it('the same values written inline in the document instead of as variables', async () => {
    // JSON string syntax is GraphQL string syntax, except escapes GraphQL refuses (a syntax error, 400).
    const literal = (value: string): string => JSON.stringify(value);
    const [first = ''] = batchIds;
    // Up to three copies of the value, JSON-escaped twice (GraphQL literal, then the request body).
    const fits = (value: string): boolean => 3 * JSON.stringify(JSON.stringify(value)).length <= MAX_VARIABLES_JSON;
    const stats = await fuzz(anyValue().filter(fits), async (value) => {
      await probe(`{ batchCall(id: ${literal(value)}) { id } node(id: ${literal(value)}) { id } nodes(ids: [${literal(value)}]) { id } }`);
      await probe(`{ batchCalls(first: 1, after: ${literal(value)}) { edges { cursor } } }`);
      await probe(`{ batchCalls(first: 1, agentId: ${literal(value)}) { edges { cursor } } }`);
      await probe(`{ batchCall(id: "${first}") { recipients(first: 1, after: ${literal(value)}) { totalCount } } }`);
    });
    expect(stats.detail).toBeGreaterThan(0);
    expect(stats.list).toBeGreaterThan(0);
  });
});

describe('hand-picked hostile values', () => {
  const HOSTILE = [
    'workspace', 'submit', b64('BatchCall:workspace'), b64('Recipient:workspace:x'), b64('Node:A'), b64('Query:A'), b64('PageInfo:x'),
    '..', '.', '../workspace', '..%2fworkspace', '%2e%2e', '%2e%2e%2fworkspace', '%2E%2E%2F%2E%2E%2F', '....//', '..;/',
    'workspace?limit=100', 'workspace#', 'x/../../workspace', 'a/b', 'a\\b', '/etc/passwd', '\\\\server\\share',
    'btcal_1?agent_id=evil', 'btcal_1&limit=1000', 'btcal_1#fragment', 'btcal_1%23', 'btcal_1%3Flimit%3D1', 'btcal_1%00', 'btcal_1\u0000',
    'btcal_1\n', 'btcal_1 ', ' btcal_1', '\tbtcal_1', 'btcal_1\r\nX-Injected: 1', 'btcal_\u202e1', 'btcal_\ufeff1', 'bt\u0430l_1',
    '\ud800', 'btcal_\udfff', '😀', 'ＷＯＲＫＳＰＡＣＥ', 'http://evil.example/', '//evil.example/x', '@evil.example',
    'a'.repeat(129), 'a'.repeat(10_000), '%2e'.repeat(3_000), '../'.repeat(3_000), '\u0000'.repeat(1_000), '\ud83d'.repeat(2_000),
    '', ' ', '=', '==', 'YQ', 'YQ==', 'YQ%3D%3D',
  ];
  const crafted = (): string[] => [
    b64('BatchCall:..'), b64('BatchCall:../workspace'), b64('BatchCall:%2e%2e'), b64('BatchCall:workspace?limit=1'), b64('BatchCall:a/b'),
    b64('BatchCall:'), b64('BatchCall'), b64('Recipient:'), b64('Recipient:..:x'), b64('Recipient:../workspace:x'),
    b64(`Recipient:${batchIds[0] ?? ''}:../../x`), b64(`Recipient:${batchIds[0] ?? ''}:`), b64(`Recipient:${batchIds[0] ?? ''}:${'x'.repeat(300)}`),
    b64(`Recipient:${batchIds[0] ?? ''}?limit=1:x`), b64('Recipient:\ud800:x'), b64(`BatchCall:${'a'.repeat(400)}`),
    b64(JSON.stringify(['b', '../../workspace', 0, null])), b64(JSON.stringify(['b', '&limit=1000&agent_id=x', 0, null])),
    b64(JSON.stringify(['b', '#x', 0, null])), b64(JSON.stringify(['b', '\ud800', 0, null])), b64(JSON.stringify(['b', 'x'.repeat(1_024), 0, null])),
    b64(JSON.stringify(['b', 'x'.repeat(1_025), 0, null])), b64(JSON.stringify(['b', null, 0, '../x'])), b64(JSON.stringify(['b', null, 101, null])),
    b64(JSON.stringify(['b', null, -1, null])), b64(JSON.stringify(['b', null, 1.5, null])), b64(JSON.stringify(['b', realNextDoc, 0, null])),
    b64(JSON.stringify(['b', realNextDoc, 0, 'agent_x'])), b64(JSON.stringify(['r', 0, '../x'])), b64(JSON.stringify(['r', -1, ''])),
    b64(JSON.stringify(['r', 2 ** 60, ''])), b64(JSON.stringify(['r', 0, 'x'.repeat(300)])), b64(JSON.stringify({ kind: 'b' })),
    b64(JSON.stringify(['b', { toString: 1 }, 0, null])), b64('{"__proto__":{"polluted":1}}'), b64('['.repeat(5_000)),
  ];
  const args: Array<[string, (value: string) => [string, Record<string, unknown>]]> = [
    ['batchCall(id)', (id) => [QUERIES.batchCall, { id }]],
    ['node(id)', (id) => [QUERIES.node, { id }]],
    ['nodes(ids)', (id) => [QUERIES.nodes, { ids: [id, id] }]],
    ['batchCalls(after)', (after) => [QUERIES.after, { after }]],
    ['batchCalls(agentId)', (agentId) => [QUERIES.agentId, { agentId }]],
    ['recipients(after)', (after) => [QUERIES.recipientsAfter, { id: batchIds[0] ?? '', after }]],
  ];

  it.each(args)('%s', async (_name, build) => {
    for (const value of [...HOSTILE, ...crafted()]) {
      const [query, variables] = build(value);
      try {
        await probe(query, variables);
      } catch (error) {
        throw new Error(`value ${JSON.stringify(value.slice(0, 200))}: ${(error as Error).message}`);
      }
    }
  });

  it('dot segments and separators never reach the upstream, while plain ids do', async () => {
    for (const id of ['..', '.', '%2e%2e', 'a/b', 'a?b', 'a#b', 'a b', '\ud800']) {
      stack.resetCalls();
      const response = await stack.gql(QUERIES.batchCall, { id });
      expect(response.body.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
      expect(stack.calls()).toEqual([]);
    }
    stack.resetCalls();
    const [id = ''] = batchIds;
    const response = await stack.gql<{ batchCall: { batchId: string } }>(QUERIES.batchCall, { id: b64(`BatchCall:${id}`) });
    expect(response.body.data?.batchCall.batchId).toBe(id);
    expect(stack.calls().map((c) => c.url)).toEqual([`/v1/convai/batch-calling/${id}`]);
  });

  it('ids naming another endpoint or a non-node type are BAD_USER_INPUT, with no upstream call', async () => {
    for (const id of ['workspace', 'submit', b64('BatchCall:workspace'), b64('Recipient:workspace:x')]) {
      stack.resetCalls();
      const byId = await stack.gql(QUERIES.batchCall, { id });
      const byNode = await stack.gql(QUERIES.node, { id });
      for (const response of [byId, byNode]) expect(response.body.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
      expect(stack.calls()).toEqual([]);
    }
    // Known and unknown type names get the same answer: no way to enumerate types through node().
    const messages = new Set<string>();
    for (const id of [b64('Node:A'), b64('Query:A'), b64('PageInfo:x'), b64('Nope:x')]) {
      const response = await stack.gql(QUERIES.nodes, { ids: [id] });
      expect(response.body.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
      messages.add(response.body.errors?.[0]?.message ?? '');
    }
    expect([...messages]).toEqual(['`id` is not a valid global ID']);
  });

  it('list parameters arrive encoded, one of each', async () => {
    const [agent] = stack.simulator.store.agents();
    const after = b64(JSON.stringify(['b', realNextDoc, 1, agent?.id ?? null]));
    stack.resetCalls();
    const response = await stack.gql(QUERIES.after, { after, agentId: agent?.id });
    checkResponse(response);
    const [call] = stack.calls();
    expect(stack.calls()).toHaveLength(1);
    expect(call?.url).toBe(`${LIST_PATH}?limit=3&last_doc=${encodeURIComponent(realNextDoc)}&agent_id=${agent?.id ?? ''}`);
  });
});

describe('the oracle', () => {
  const request = (url: string): RecordedRequest => {
    const detail = DETAIL_PATH.exec(url);
    return { method: 'GET', url, route: url.startsWith(`${LIST_PATH}?`) ? 'list' : detail === null ? 'other' : 'detail',
      ...(detail?.[1] === undefined ? {} : { batchId: detail[1] }), headers: {}, status: 200 };
  };

  it('accepts the two documented shapes', () => {
    for (const url of [
      `${LIST_PATH}?limit=2`,
      `${LIST_PATH}?limit=100&last_doc=a%26b%3Dc%23&agent_id=agent_1`,
      '/v1/convai/batch-calling/btcal_AZaz09-_',
    ]) expect(() => checkUpstreamRequest(request(url))).not.toThrow();
  });

  it('refuses every other shape', () => {
    for (const url of [
      '/v1/convai/batch-calling/..', '/v1/convai/batch-calling/%2E%2E', '/v1/convai/batch-calling/a/b', '/v1/convai/batch-calling/a%2Fb',
      '/v1/convai/batch-calling/a?limit=1', '/v1/convai/batch-calling/a#x', '/v1/convai/batch-calling/', '//v1/convai/batch-calling/a',
      '/v1/convai/batch-calling/a.b', `/v1/convai/batch-calling/${'a'.repeat(129)}`, LIST_PATH, `${LIST_PATH}?`, `${LIST_PATH}?limit=1&limit=2`,
      `${LIST_PATH}?limit=1&foo=1`, `${LIST_PATH}?limit=1#x`, `${LIST_PATH}?limit=1&last_doc=a=b`, `${LIST_PATH}?last_doc=x`,
      `${LIST_PATH}?limit=0`, `${LIST_PATH}?limit=101`, `${LIST_PATH}?limit=1&agent_id=a%2Fb`, `${LIST_PATH}/?limit=1`, '/v1/convai/conversations',
    ]) expect(() => checkUpstreamRequest(request(url)), url).toThrow();
  });
});

describe('after the fuzzing', () => {
  it('the gateway is still up and serving, and logged no unexpected error', async () => {
    const health = await fetch(`${stack.gateway.url}/health`);
    expect(health.status).toBe(200);
    stack.resetCalls();
    const response = await stack.gql<{ batchCalls: { edges: unknown[] } }>('{ batchCalls(first: 3) { edges { node { name } } } }');
    expect(response.status).toBe(200);
    expect(response.body.data?.batchCalls.edges).toHaveLength(3);
    const errors = stack.logs.filter((line) => /"level":(?:50|60)/.test(line));
    expect(errors).toEqual([]);
    expect(stack.logs.some((line) => line.includes('unexpected error in resolver'))).toBe(false);
  });
});
