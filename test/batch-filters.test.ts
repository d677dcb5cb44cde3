import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/simulator/clock.js';
import type { SimulatorStore } from '../src/simulator/store.js';
import type { WireBatchCallStatus } from '../src/upstream/types.js';
import { codes, startStack, type GraphQLResponse, type Stack } from './helpers/stack.js';

/**
 * Filters on `batchCalls` over real HTTP: the gateway scans upstream pages of 100 within
 * FILTER_PAGE_BUDGET and keeps the matches. Every expectation is computed here from the
 * simulator's own data, walked in upstream list order, and every page's upstream list calls are
 * counted at the simulator.
 */

const NOW = Date.UTC(2025, 2, 14, 12, 0, 0);
const DAY = 86_400_000;
const iso = (ms: number): string => new Date(ms).toISOString();
const unix = (ms: number): number => Math.floor(ms / 1000);

interface Filter {
  status?: string[];
  createdAfter?: string;
  createdBefore?: string;
  scheduledAfter?: string;
  scheduledBefore?: string;
  nameContains?: string;
}

interface Edge {
  cursor: string;
  node: { batchId: string; name: string; status: string };
}
interface Connection {
  edges: Edge[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  scan: { pagesRead: number; stoppedEarly: boolean };
}

const LIST = `query List($first: Int, $after: String, $agentId: String, $filter: BatchCallFilter) {
  batchCalls(first: $first, after: $after, agentId: $agentId, filter: $filter) {
    edges { cursor node { batchId name status } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    scan { pagesRead stoppedEarly }
  }
}`;

/** Case-insensitive "contains" as a person would expect it, written apart from the gateway's. */
const fold = (text: string): string => text.normalize('NFC').toUpperCase().toLowerCase();

/** The ids the filter should list: the simulator's batches in upstream list order, checked one by one. */
function expectedIds(store: SimulatorStore, filter: Filter, agentId?: string): string[] {
  const within = (ms: number, after?: string, before?: string): boolean =>
    (after === undefined || ms >= Date.parse(after)) && (before === undefined || ms < Date.parse(before));
  return store.batchIds(agentId).filter((id) => {
    const batch = store.getBatch(id);
    if (batch === undefined) throw new Error(`no batch ${id}`);
    return (filter.status === undefined || filter.status.includes(batch.status.toUpperCase())) &&
      within(batch.created_at_unix * 1000, filter.createdAfter, filter.createdBefore) &&
      within(batch.scheduled_time_unix * 1000, filter.scheduledAfter, filter.scheduledBefore) &&
      (filter.nameContains === undefined || fold(batch.name).includes(fold(filter.nameContains)));
  });
}

/** One page, with the upstream list calls it cost at the simulator. */
async function page(
  stack: Stack,
  variables: { first?: number; after?: string | null; agentId?: string; filter?: Filter | Record<string, unknown> | null },
): Promise<{ connection: Connection; listCalls: string[] }> {
  stack.resetCalls();
  const response = await stack.gql<{ batchCalls: Connection }>(LIST, variables);
  expect(response.body.errors, JSON.stringify(response.body.errors)).toBeUndefined();
  const connection = response.body.data?.batchCalls;
  if (connection === undefined) throw new Error('no data');
  expect(stack.calls('detail')).toHaveLength(0);
  return { connection, listCalls: stack.calls('list').map((c) => c.url) };
}

interface Walk {
  ids: string[];
  edges: Edge[];
  pages: Connection[];
}

/** Walks by endCursor to the end, checking on every page that the scan stayed within budget and reported its reads. */
async function walk(stack: Stack, budget: number, variables: { first: number; agentId?: string; filter: Filter }, from: string | null = null): Promise<Walk> {
  const out: Walk = { ids: [], edges: [], pages: [] };
  let after = from;
  for (let guard = 0; guard < 200; guard++) {
    const { connection, listCalls } = await page(stack, { ...variables, after });
    expect(listCalls.length).toBe(connection.scan.pagesRead);
    expect(connection.scan.pagesRead).toBeGreaterThanOrEqual(1);
    expect(connection.scan.pagesRead).toBeLessThanOrEqual(budget);
    for (const url of listCalls) expect(new URL(url, 'http://x').searchParams.get('limit')).toBe('100');
    expect(connection.edges.length).toBeLessThanOrEqual(variables.first);
    expect(connection.pageInfo.hasPreviousPage).toBe(after !== null);
    expect(connection.pageInfo.startCursor).toBe(connection.edges[0]?.cursor ?? null);
    out.pages.push(connection);
    out.edges.push(...connection.edges);
    out.ids.push(...connection.edges.map((e) => e.node.batchId));
    if (!connection.pageInfo.hasNextPage) return out;
    expect(connection.pageInfo.endCursor).not.toBeNull();
    after = connection.pageInfo.endCursor;
  }
  throw new Error('the walk did not end');
}

const NAMES = [
  'Café Crème relance',
  'Cafe\u0301 Cre\u0300me rappel', // the same words, decomposed
  'Straße Kampagne',
  'STRASSE kampagne Nord',
  'Ölkunden Umfrage',
  'Quarterly check-in',
];
const STATUSES: WireBatchCallStatus[] = ['completed', 'failed', 'cancelled', 'completed', 'in_progress', 'pending', 'completed'];
/** Created-time bounds that some added batches sit exactly on. */
const CREATED_FROM = NOW - 40 * DAY;
const CREATED_TO = NOW - 20 * DAY;
/** A scheduled window that some batches are moved into (and onto its bounds). */
const SCHEDULED_FROM = NOW + 2 * DAY;
const SCHEDULED_TO = NOW + 3 * DAY;

let stack: Stack; // FILTER_PAGE_BUDGET default (10); 400 batches = 4 upstream pages
let agentId: string;

beforeAll(async () => {
  stack = await startStack({ clock: new ManualClock(NOW) });
  const { store } = stack.simulator;
  const agents = store.agents().map((a) => a.id);
  agentId = agents[0] ?? '';
  for (let i = 0; i < 250; i++) {
    store.addBatch({
      id: `btcal_filter_${String(i).padStart(3, '0')}`,
      agentId: agents[i % agents.length],
      name: i % 3 === 0 ? `${NAMES[(i / 3) % NAMES.length] ?? ''} #${i}` : `Filler ${i}`,
      status: STATUSES[i % STATUSES.length],
      recipients: 1,
      createdAtUnix: unix(NOW - 3_600_000 - i * 40_000_000),
    });
  }
  // On the created bounds: the first is inside the range (inclusive), the second outside (exclusive).
  store.addBatch({ id: 'btcal_created_from', name: 'On createdAfter', recipients: 1, createdAtUnix: unix(CREATED_FROM) });
  store.addBatch({ id: 'btcal_created_to', name: 'On createdBefore', recipients: 1, createdAtUnix: unix(CREATED_TO) });
  store.addBatch({ id: 'btcal_oldest', name: 'Oldest of all', status: 'cancelled', recipients: 1, createdAtUnix: unix(NOW - 400 * DAY) });
  // Scheduled into the window, and onto its bounds.
  const ids = store.batchIds();
  ids.filter((_, i) => i % 13 === 5).forEach((id, k) => store.patchBatch(id, { scheduled_time_unix: unix(SCHEDULED_FROM) + k * 600 }));
  store.patchBatch(ids[7] ?? '', { scheduled_time_unix: unix(SCHEDULED_FROM) });
  store.patchBatch(ids[8] ?? '', { scheduled_time_unix: unix(SCHEDULED_TO) });
  expect(store.batchIds().length).toBe(403); // five upstream pages, the last one short
});
afterAll(async () => {
  await stack.close();
});
beforeEach(() => stack.resetCalls());

describe('a filtered walk by endCursor', () => {
  const cases: Array<{ name: string; filter: Filter; agent?: boolean; atLeast: number }> = [
    { name: 'status', filter: { status: ['CANCELLED', 'PENDING'] }, atLeast: 40 },
    { name: 'created range', filter: { createdAfter: iso(CREATED_FROM), createdBefore: iso(CREATED_TO) }, atLeast: 20 },
    { name: 'scheduled range', filter: { scheduledAfter: iso(SCHEDULED_FROM), scheduledBefore: iso(SCHEDULED_TO) }, atLeast: 25 },
    { name: 'nameContains, mixed case and decomposed accents', filter: { nameContains: 'CAFÉ crème' }, atLeast: 20 },
    { name: 'nameContains, ß against SS', filter: { nameContains: 'strasse KAMPAGNE' }, atLeast: 20 },
    { name: 'nameContains, non-ASCII', filter: { nameContains: 'ölKUNDEN' }, atLeast: 10 },
    {
      name: 'combined',
      filter: { status: ['COMPLETED', 'FAILED'], createdAfter: iso(NOW - 100 * DAY), createdBefore: iso(NOW - 5 * DAY), nameContains: 'e' },
      atLeast: 40,
    },
    { name: 'with agentId', filter: { status: ['COMPLETED'] }, agent: true, atLeast: 20 },
  ];

  it.each(cases)('$name: every match once, in upstream order, within the page budget', async ({ filter, agent, atLeast }) => {
    const expected = expectedIds(stack.simulator.store, filter, agent === true ? agentId : undefined);
    expect(expected.length).toBeGreaterThanOrEqual(atLeast);
    for (const first of [7, 100]) {
      const result = await walk(stack, 10, { first, filter, ...(agent === true ? { agentId } : {}) });
      expect(result.ids).toEqual(expected);
      expect(new Set(result.ids).size).toBe(result.ids.length);
    }
  });

  it('finds both spellings of the accented name and the ß name in their exact numbers', () => {
    const { store } = stack.simulator;
    expect(expectedIds(store, { nameContains: 'CAFÉ crème' }).filter((id) => id.startsWith('btcal_filter_'))).toHaveLength(28);
    expect(expectedIds(store, { nameContains: 'strasse KAMPAGNE' }).filter((id) => id.startsWith('btcal_filter_'))).toHaveLength(28);
  });

  it('honours the range bounds: `...After` inclusive, `...Before` exclusive', async () => {
    const created = await walk(stack, 10, { first: 100, filter: { createdAfter: iso(CREATED_FROM), createdBefore: iso(CREATED_TO) } });
    expect(created.ids).toContain('btcal_created_from');
    expect(created.ids).not.toContain('btcal_created_to');
    const ids = stack.simulator.store.batchIds();
    const scheduled = await walk(stack, 10, { first: 100, filter: { scheduledAfter: iso(SCHEDULED_FROM), scheduledBefore: iso(SCHEDULED_TO) } });
    expect(scheduled.ids).toContain(ids[7]);
    expect(scheduled.ids).not.toContain(ids[8]);
  });

  it('reads whole pages and says how many: a filter matching nothing reads the five pages and ends', async () => {
    const { connection, listCalls } = await page(stack, { first: 20, filter: { nameContains: 'no batch is called this' } });
    expect(connection.edges).toEqual([]);
    expect(connection.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null });
    expect(connection.scan).toEqual({ pagesRead: 5, stoppedEarly: false });
    expect(listCalls).toHaveLength(5);
  });

  it('says hasNextPage false once the scan has read the end of the list', async () => {
    const filter: Filter = { status: ['CANCELLED', 'PENDING'] };
    const expected = expectedIds(stack.simulator.store, filter);
    // The oldest batch of all is a match: the last match is the last item of the last page.
    expect(expected.at(-1)).toBe('btcal_oldest');
    const all = await page(stack, { first: expected.length, filter });
    expect(all.connection.edges.map((e) => e.node.batchId)).toEqual(expected);
    expect(all.connection.pageInfo.hasNextPage).toBe(false);
    expect(all.connection.pageInfo.endCursor).toBe(all.connection.edges.at(-1)?.cursor);
    expect(all.connection.scan).toEqual({ pagesRead: 5, stoppedEarly: false });
    const short = await page(stack, { first: expected.length - 1, filter });
    expect(short.connection.pageInfo.hasNextPage).toBe(true);
    const rest = await page(stack, { first: 5, filter, after: short.connection.pageInfo.endCursor });
    expect(rest.connection.edges.map((e) => e.node.batchId)).toEqual(['btcal_oldest']);
    expect(rest.connection.pageInfo.hasNextPage).toBe(false);
  });
});

describe('resuming a filtered list', () => {
  it('from every edge cursor of a walk gives the rest, with no duplicate and no gap', async () => {
    const filter: Filter = { status: ['FAILED', 'IN_PROGRESS'], createdBefore: iso(NOW) };
    const expected = expectedIds(stack.simulator.store, filter);
    expect(expected.length).toBeGreaterThanOrEqual(30);
    const { edges } = await walk(stack, 10, { first: 6, filter });
    expect(edges.map((e) => e.node.batchId)).toEqual(expected);
    for (const [index, edge] of edges.entries()) {
      const rest = await walk(stack, 10, { first: 100, filter }, edge.cursor);
      expect(rest.ids, `after edge ${index}`).toEqual(expected.slice(index + 1));
    }
  });

  it('from every endCursor of a walk, whatever the page size', async () => {
    const filter: Filter = { nameContains: 'café' };
    const expected = expectedIds(stack.simulator.store, filter);
    const { pages } = await walk(stack, 10, { first: 4, filter });
    let seen = 0;
    for (const connection of pages) {
      seen += connection.edges.length;
      if (!connection.pageInfo.hasNextPage) break;
      const rest = await walk(stack, 10, { first: 9, filter }, connection.pageInfo.endCursor);
      expect(rest.ids).toEqual(expected.slice(seen));
    }
  });
});

describe('an unfiltered list', () => {
  it('reads as before: one upstream call of `first` items per page, pagesRead 1, never stopped early', async () => {
    const { connection, listCalls } = await page(stack, { first: 30 });
    expect(connection.edges.map((e) => e.node.batchId)).toEqual(stack.simulator.store.batchIds().slice(0, 30));
    expect(listCalls).toHaveLength(1);
    expect(new URL(listCalls[0] ?? '', 'http://x').searchParams.get('limit')).toBe('30');
    expect(connection.scan).toEqual({ pagesRead: 1, stoppedEarly: false });
  });

  it('reads two upstream pages when a cursor deep in one runs past it, and says so', async () => {
    const first = await page(stack, { first: 90 });
    const deep = first.connection.edges[59]?.cursor; // 60 items into the first upstream page
    const { connection, listCalls } = await page(stack, { first: 50, after: deep });
    expect(connection.edges.map((e) => e.node.batchId)).toEqual(stack.simulator.store.batchIds().slice(60, 110));
    expect(listCalls).toHaveLength(2);
    expect(connection.scan).toEqual({ pagesRead: 2, stoppedEarly: false });
  });

  it('is what a filter with no criterion gives, with the same cursors', async () => {
    const plain = await page(stack, { first: 12 });
    const empty = await page(stack, { first: 12, filter: {} });
    const nulls = await page(stack, { first: 12, filter: { status: null, nameContains: null, createdAfter: null } });
    expect(empty.connection).toEqual(plain.connection);
    expect(nulls.connection).toEqual(plain.connection);
    const next = await page(stack, { first: 12, filter: {}, after: plain.connection.pageInfo.endCursor });
    expect(next.connection.edges.map((e) => e.node.batchId)).toEqual(stack.simulator.store.batchIds().slice(12, 24));
  });
});

describe('bad filters and mismatched cursors', () => {
  /** Refused with BAD_USER_INPUT and a message naming the field, before any upstream call. */
  function expectBadInput(response: GraphQLResponse<unknown>, message: RegExp): void {
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.body.errors?.[0]?.message).toMatch(message);
    expect(stack.calls()).toEqual([]);
  }
  const bad = (filter: Record<string, unknown>, after?: string): Promise<GraphQLResponse<unknown>> => {
    stack.resetCalls();
    return stack.gql(LIST, { first: 5, filter, after });
  };

  it('refuses an empty status list', async () => {
    expectBadInput(await bad({ status: [] }), /`filter\.status` must list at least one status/);
  });

  it('refuses a range whose start is not before its end', async () => {
    const at = iso(NOW);
    expectBadInput(await bad({ createdAfter: at, createdBefore: at }), /`filter\.createdAfter` must be earlier than `filter\.createdBefore`/);
    expectBadInput(await bad({ scheduledAfter: iso(NOW + 1000), scheduledBefore: at }), /`filter\.scheduledAfter` must be earlier than `filter\.scheduledBefore`/);
  });

  it('refuses a name outside 1 to 200 characters, counting characters rather than UTF-16 units', async () => {
    expectBadInput(await bad({ nameContains: '' }), /`filter\.nameContains` must be 1 to 200 characters \(got 0\)/);
    expectBadInput(await bad({ nameContains: 'x'.repeat(201) }), /`filter\.nameContains` must be 1 to 200 characters \(got 201\)/);
    const { connection } = await page(stack, { first: 5, filter: { nameContains: '☎'.repeat(100) + '😀'.repeat(100) } });
    expect(connection.edges).toEqual([]);
  });

  it('refuses a status that is not a BatchCallStatus (GraphQL validation), with no upstream call', async () => {
    const response = await bad({ status: ['RUNNING'] });
    expect(response.body.errors?.length).toBeGreaterThan(0);
    expect(stack.calls()).toEqual([]);
  });

  it('refuses a cursor of another filter, another agent, or the other kind of list', async () => {
    const filtered = await page(stack, { first: 3, filter: { status: ['COMPLETED'] } });
    const cursor = filtered.connection.pageInfo.endCursor ?? '';
    const plain = await page(stack, { first: 3 });
    const plainCursor = plain.connection.pageInfo.endCursor ?? '';
    expectBadInput(await bad({ status: ['FAILED'] }, cursor), /`after` is a cursor of a list with a different `filter` or agent/);
    expectBadInput(await bad({ status: ['COMPLETED'], nameContains: 'a' }, cursor), /different `filter` or agent/);
    stack.resetCalls();
    expectBadInput(await stack.gql(LIST, { first: 5, filter: { status: ['COMPLETED'] }, after: cursor, agentId }), /different `filter` or agent/);
    stack.resetCalls();
    expectBadInput(await stack.gql(LIST, { first: 5, after: cursor }), /`after` is a cursor of a filtered list/);
    expectBadInput(await bad({ status: ['COMPLETED'] }, plainCursor), /`after` is a cursor of an unfiltered list/);
    expectBadInput(await bad({ status: ['COMPLETED'] }, 'bm90IGEgY3Vyc29y'), /`after` is not a valid cursor/);
  });

  it('accepts the same filter however its statuses are ordered, repeated or its name is cased', async () => {
    const first = await page(stack, { first: 3, filter: { status: ['COMPLETED', 'FAILED'], nameContains: 'Filler' } });
    const next = await page(stack, {
      first: 3,
      filter: { status: ['FAILED', 'COMPLETED', 'FAILED'], nameContains: 'fILLER' },
      after: first.connection.pageInfo.endCursor,
    });
    const expected = expectedIds(stack.simulator.store, { status: ['COMPLETED', 'FAILED'], nameContains: 'filler' });
    expect([...first.connection.edges, ...next.connection.edges].map((e) => e.node.batchId)).toEqual(expected.slice(0, 6));
  });
});

describe('a sparse filter with FILTER_PAGE_BUDGET=2', () => {
  let sparse: Stack;
  const RARE = 'Rare ☂ batch';
  /** List positions of the matches: two in the first page, one in the fifth. */
  const POSITIONS = [3, 40, 430];

  beforeAll(async () => {
    sparse = await startStack({ clock: new ManualClock(NOW), env: { FILTER_PAGE_BUDGET: '2' } });
    const { store } = sparse.simulator;
    for (let i = 0; i < 350; i++) {
      store.addBatch({ id: `btcal_sparse_${i}`, name: `Routine ${i}`, recipients: 1, createdAtUnix: unix(NOW - 1000 - i * 30_000_000) });
    }
    const ids = store.batchIds();
    expect(ids.length).toBe(500);
    for (const position of POSITIONS) store.patchBatch(ids[position] ?? '', { name: `${RARE} ${position}` });
  });
  afterAll(async () => {
    await sparse.close();
  });

  it('stops at the budget with truthful pageInfo, and endCursor continues where the scan stopped', async () => {
    const ids = sparse.simulator.store.batchIds();
    const expected = expectedIds(sparse.simulator.store, { nameContains: 'rare ☂' });
    expect(expected).toEqual(POSITIONS.map((p) => ids[p]));
    const filter = { nameContains: 'RARE ☂' };

    // Pages 1 and 2: the two matches of page 1, then the budget ends the scan.
    const one = await page(sparse, { first: 5, filter });
    expect(one.connection.edges.map((e) => e.node.batchId)).toEqual(expected.slice(0, 2));
    expect(one.connection.scan).toEqual({ pagesRead: 2, stoppedEarly: true });
    expect(one.listCalls).toHaveLength(2);
    expect(one.connection.pageInfo.hasNextPage).toBe(true);
    // Past the last edge: at the start of page 3, not right after position 40.
    expect(one.connection.pageInfo.endCursor).not.toBe(one.connection.edges.at(-1)?.cursor);

    // Pages 3 and 4: no match at all, and still a cursor to go on with.
    const two = await page(sparse, { first: 5, filter, after: one.connection.pageInfo.endCursor });
    expect(two.connection.edges).toEqual([]);
    expect(two.connection.scan).toEqual({ pagesRead: 2, stoppedEarly: true });
    expect(two.connection.pageInfo.hasNextPage).toBe(true);
    expect(two.connection.pageInfo.endCursor).not.toBeNull();
    // No rereading: page 3 starts where page 1's scan stopped.
    expect(two.listCalls.some((url) => one.listCalls.includes(url))).toBe(false);

    // Page 5, the last: the third match, and the end.
    const three = await page(sparse, { first: 5, filter, after: two.connection.pageInfo.endCursor });
    expect(three.connection.edges.map((e) => e.node.batchId)).toEqual(expected.slice(2));
    expect(three.connection.scan).toEqual({ pagesRead: 1, stoppedEarly: false });
    expect(three.connection.pageInfo.hasNextPage).toBe(false);
  });

  it.each([1, 2, 5, 100])('a walk of budget-limited pages still finds every match (first=%i)', async (first) => {
    const expected = expectedIds(sparse.simulator.store, { nameContains: RARE });
    const result = await walk(sparse, 2, { first, filter: { nameContains: RARE } });
    expect(result.ids).toEqual(expected);
    expect(result.pages.some((p) => p.scan.stoppedEarly)).toBe(true);
    // Five upstream pages in all: no page is read twice over the walk unless a page ended on `first` matches.
    const reads = result.pages.reduce((sum, p) => sum + p.scan.pagesRead, 0);
    expect(reads).toBeGreaterThanOrEqual(5);
    expect(reads).toBeLessThanOrEqual(5 + result.pages.length);
  });

  it('looks ahead in the page it has read: a further match there makes hasNextPage certain, and endCursor skips to it', async () => {
    const ids = sparse.simulator.store.batchIds();
    const one = await page(sparse, { first: 1, filter: { nameContains: RARE } });
    expect(one.connection.edges.map((e) => e.node.batchId)).toEqual([ids[3]]);
    expect(one.connection.scan).toEqual({ pagesRead: 1, stoppedEarly: false });
    expect(one.connection.pageInfo.hasNextPage).toBe(true);
    // Not the edge's cursor (right after position 3) but the position of the next match.
    expect(one.connection.pageInfo.endCursor).not.toBe(one.connection.edges[0]?.cursor);
    const two = await page(sparse, { first: 1, filter: { nameContains: RARE }, after: one.connection.pageInfo.endCursor });
    expect(two.connection.edges.map((e) => e.node.batchId)).toEqual([ids[40]]);
    expect(two.listCalls).toEqual(one.listCalls); // the same first page, from the same place
    const fromEdge = await page(sparse, { first: 1, filter: { nameContains: RARE }, after: one.connection.edges[0]?.cursor });
    expect(fromEdge.connection.edges.map((e) => e.node.batchId)).toEqual([ids[40]]);
  });

  it('resuming from the last edge instead of endCursor rereads but still has no gap and no duplicate', async () => {
    const expected = expectedIds(sparse.simulator.store, { nameContains: RARE });
    const one = await page(sparse, { first: 5, filter: { nameContains: RARE } });
    const rest = await walk(sparse, 2, { first: 5, filter: { nameContains: RARE } }, one.connection.edges.at(-1)?.cursor ?? null);
    expect([...one.connection.edges.map((e) => e.node.batchId), ...rest.ids]).toEqual(expected);
  });
});
