import { describe, expect, it } from 'vitest';
import { decodeBatchCursor, encodeBatchCursor } from '../../src/pagination/cursors.js';
import { scanWindow, type ScanReport } from '../../src/pagination/filtered-scan.js';
import { UPSTREAM_MAX_LIMIT, readWindow, type Position, type UpstreamPage, type Window } from '../../src/pagination/upstream-window.js';

interface FakeOptions {
  /** Largest page the fake upstream returns, whatever the limit. */
  cap?: number;
  /** Return exactly `cap` items whatever the limit (an upstream that ignores `limit`). */
  ignoreLimit?: boolean;
  /** Send next_doc on the last page too (with has_more false). */
  nextDocOnLastPage?: boolean;
}

/** An in-memory upstream: `last_doc` is the token of the last item of the previous page. */
function fakeUpstream(n: number, options: FakeOptions = {}) {
  const items = Array.from({ length: n }, (_, i) => `item-${i}`);
  const calls: Array<{ lastDoc: string | null; limit: number }> = [];
  const fetchPage = async (lastDoc: string | null, limit: number): Promise<UpstreamPage<string>> => {
    calls.push({ lastDoc, limit });
    expect(limit).toBeGreaterThanOrEqual(1);
    expect(limit).toBeLessThanOrEqual(UPSTREAM_MAX_LIMIT);
    let start = 0;
    if (lastDoc !== null) {
      const match = /^tok-(\d+)$/.exec(lastDoc);
      if (match === null) throw new Error(`bad last_doc ${lastDoc}`);
      start = Number(match[1]) + 1;
    }
    const cap = options.cap ?? UPSTREAM_MAX_LIMIT;
    const size = options.ignoreLimit === true ? cap : Math.min(limit, cap);
    const page = items.slice(start, start + size);
    const end = start + page.length;
    const hasMore = end < n;
    const nextDoc = hasMore || (options.nextDocOnLastPage === true && page.length > 0) ? `tok-${end - 1}` : null;
    return { items: page, nextDoc, hasMore };
  };
  return { items, calls, fetchPage };
}

const encodeCursor = (position: Position): string => encodeBatchCursor({ ...position, agentId: null });
const decodePosition = (cursor: string): Position => {
  const { lastDoc, skip } = decodeBatchCursor(cursor);
  return { lastDoc, skip };
};
const START: Position = { lastDoc: null, skip: 0 };

async function walk(n: number, first: number, options: FakeOptions = {}) {
  const upstream = fakeUpstream(n, options);
  const seen: string[] = [];
  const windows: Array<Window<string>> = [];
  let start = START;
  for (let guard = 0; guard < n + 5; guard += 1) {
    const window = await readWindow({ start, first, fetchPage: upstream.fetchPage, encodeCursor });
    windows.push(window);
    seen.push(...window.edges.map((edge) => edge.node));
    if (!window.pageInfo.hasNextPage) break;
    expect(window.pageInfo.endCursor).not.toBeNull();
    start = decodePosition(window.pageInfo.endCursor as string);
  }
  return { upstream, seen, windows };
}

describe('readWindow: walking by endCursor', () => {
  it.each([10, 25, 100])('visits every item once, in order, one fetch per upstream page (first = page size = %i)', async (pageSize) => {
    const n = pageSize * 4 + Math.floor(pageSize / 2);
    const { upstream, seen, windows } = await walk(n, pageSize, { cap: pageSize });
    expect(seen).toEqual(upstream.items);
    const pages = Math.ceil(n / pageSize);
    expect(upstream.calls).toHaveLength(pages);
    expect(windows).toHaveLength(pages);
    // Every window after the first starts at a fresh upstream page.
    upstream.calls.forEach((call, index) => {
      expect(call.lastDoc).toBe(index === 0 ? null : `tok-${index * pageSize - 1}`);
      expect(call.limit).toBe(pageSize);
    });
  });

  it('one fetch per page when the list is an exact multiple of the page size', async () => {
    const { upstream, seen, windows } = await walk(30, 10, { cap: 10 });
    expect(seen).toEqual(upstream.items);
    expect(upstream.calls).toHaveLength(3);
    expect(windows.map((w) => w.pageInfo.hasNextPage)).toEqual([true, true, false]);
  });

  it.each([
    [1, {}], [3, {}], [7, { cap: 10 }], [13, { cap: 10 }], [50, { cap: 20 }], [100, {}],
    [4, { cap: 10, ignoreLimit: true }], [10, { cap: 10, nextDocOnLastPage: true }], [6, { cap: 5, nextDocOnLastPage: true }],
  ] as Array<[number, FakeOptions]>)('first=%i %j: no duplicate, no gap', async (first, options) => {
    const { upstream, seen, windows } = await walk(57, first, options);
    expect(seen).toEqual(upstream.items);
    for (const window of windows.slice(0, -1)) expect(window.edges).toHaveLength(first);
    expect(windows.at(-1)?.pageInfo.hasNextPage).toBe(false);
  });

  it('an empty upstream gives an empty window with null cursors', async () => {
    const upstream = fakeUpstream(0);
    const window = await readWindow({ start: START, first: 20, fetchPage: upstream.fetchPage, encodeCursor });
    expect(window.edges).toEqual([]);
    expect(window.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null });
  });
});

describe('readWindow: resuming from every edge cursor', () => {
  it.each([
    [1, 10], [3, 10], [10, 10], [15, 10], [7, 100], [100, 100], [4, 3],
  ])('first=%i over pages of %i', async (first, cap) => {
    const n = 47;
    const upstream = fakeUpstream(n, { cap });
    // Collect every edge cursor of a full walk, then resume from each.
    const { windows } = await walk(n, first, { cap });
    const edges = windows.flatMap((w) => w.edges);
    expect(edges.map((e) => e.node)).toEqual(upstream.items);
    for (const [index, edge] of edges.entries()) {
      const resumed = await readWindow({ start: decodePosition(edge.cursor), first, fetchPage: upstream.fetchPage, encodeCursor });
      const expected = upstream.items.slice(index + 1, index + 1 + first);
      expect(resumed.edges.map((e) => e.node)).toEqual(expected);
      expect(resumed.pageInfo.hasNextPage).toBe(index + 1 + first < n);
      expect(resumed.pageInfo.hasPreviousPage).toBe(true);
      expect(resumed.pageInfo.startCursor).toBe(resumed.edges[0]?.cursor ?? null);
      expect(resumed.pageInfo.endCursor).toBe(resumed.edges.at(-1)?.cursor ?? null);
    }
  });

  it('a cursor at the end of an upstream page points at the next page start (skip 0)', async () => {
    const upstream = fakeUpstream(30, { cap: 10 });
    const window = await readWindow({ start: START, first: 15, fetchPage: upstream.fetchPage, encodeCursor });
    const positions = window.edges.map((e) => decodePosition(e.cursor));
    expect(positions[9]).toEqual({ lastDoc: 'tok-9', skip: 0 });
    expect(positions[3]).toEqual({ lastDoc: null, skip: 4 });
    // The second call asked for exactly the 5 items still needed, so the window ends a page too.
    expect(positions[14]).toEqual({ lastDoc: 'tok-14', skip: 0 });
    expect(upstream.calls).toEqual([{ lastDoc: null, limit: 15 }, { lastDoc: 'tok-9', limit: 5 }]);
  });

  it('a cursor in the middle of a longer-than-asked page is (page start, index + 1)', async () => {
    const upstream = fakeUpstream(30, { cap: 10, ignoreLimit: true });
    const window = await readWindow({ start: START, first: 15, fetchPage: upstream.fetchPage, encodeCursor });
    const positions = window.edges.map((e) => decodePosition(e.cursor));
    expect(positions[9]).toEqual({ lastDoc: 'tok-9', skip: 0 });
    expect(positions[14]).toEqual({ lastDoc: 'tok-9', skip: 5 });
    expect(window.pageInfo.hasNextPage).toBe(true);
  });

  it('resuming mid-page costs one call that asks for skip + first items', async () => {
    const upstream = fakeUpstream(50, { cap: 100 });
    const window = await readWindow({ start: { lastDoc: 'tok-9', skip: 4 }, first: 3, fetchPage: upstream.fetchPage, encodeCursor });
    expect(window.edges.map((e) => e.node)).toEqual(['item-14', 'item-15', 'item-16']);
    expect(upstream.calls).toEqual([{ lastDoc: 'tok-9', limit: 7 }]);
    expect(decodePosition(window.pageInfo.endCursor as string)).toEqual({ lastDoc: 'tok-16', skip: 0 });
    expect(window.pageInfo.hasNextPage).toBe(true);
  });

  it('never asks the upstream for more than 100 items', async () => {
    const upstream = fakeUpstream(400);
    const window = await readWindow({ start: { lastDoc: null, skip: 90 }, first: 100, fetchPage: upstream.fetchPage, encodeCursor });
    expect(window.edges.map((e) => e.node)).toEqual(upstream.items.slice(90, 190));
    for (const call of upstream.calls) expect(call.limit).toBeLessThanOrEqual(100);
  });
});

describe('readWindow: hasNextPage and hasPreviousPage', () => {
  it('is false when the window ends exactly at the last item', async () => {
    const upstream = fakeUpstream(20, { cap: 100 });
    const window = await readWindow({ start: START, first: 20, fetchPage: upstream.fetchPage, encodeCursor });
    expect(window.edges).toHaveLength(20);
    expect(window.pageInfo.hasNextPage).toBe(false);
  });

  it('is true when one more item exists', async () => {
    const upstream = fakeUpstream(21, { cap: 100 });
    const window = await readWindow({ start: START, first: 20, fetchPage: upstream.fetchPage, encodeCursor });
    expect(window.pageInfo.hasNextPage).toBe(true);
  });

  it('is false for a short last window', async () => {
    const upstream = fakeUpstream(5);
    const window = await readWindow({ start: START, first: 20, fetchPage: upstream.fetchPage, encodeCursor });
    expect(window.edges).toHaveLength(5);
    expect(window.pageInfo.hasNextPage).toBe(false);
  });

  it('ignores next_doc when has_more is false', async () => {
    const upstream = fakeUpstream(5, { nextDocOnLastPage: true });
    const window = await readWindow({ start: START, first: 5, fetchPage: upstream.fetchPage, encodeCursor });
    expect(window.pageInfo.hasNextPage).toBe(false);
    expect(upstream.calls).toHaveLength(1);
  });

  it('hasPreviousPage reflects the start position', async () => {
    const upstream = fakeUpstream(50, { cap: 10 });
    const fromStart = await readWindow({ start: START, first: 3, fetchPage: upstream.fetchPage, encodeCursor });
    const skipped = await readWindow({ start: { lastDoc: null, skip: 1 }, first: 3, fetchPage: upstream.fetchPage, encodeCursor });
    const paged = await readWindow({ start: { lastDoc: 'tok-9', skip: 0 }, first: 3, fetchPage: upstream.fetchPage, encodeCursor });
    expect(fromStart.pageInfo.hasPreviousPage).toBe(false);
    expect(skipped.pageInfo.hasPreviousPage).toBe(true);
    expect(paged.pageInfo.hasPreviousPage).toBe(true);
    expect(paged.edges.map((e) => e.node)).toEqual(['item-10', 'item-11', 'item-12']);
  });
});

describe('readWindow: maxFetches', () => {
  it('stops after maxFetches upstream calls and reports hasNextPage', async () => {
    const upstream = fakeUpstream(100, { cap: 5 });
    const window = await readWindow({ start: START, first: 50, fetchPage: upstream.fetchPage, encodeCursor, maxFetches: 3 });
    expect(upstream.calls).toHaveLength(3);
    expect(window.edges.map((e) => e.node)).toEqual(upstream.items.slice(0, 15));
    expect(window.pageInfo.hasNextPage).toBe(true);
    // Resuming from the partial window's end continues without a gap.
    const rest = await readWindow({ start: decodePosition(window.pageInfo.endCursor as string), first: 5, fetchPage: upstream.fetchPage, encodeCursor });
    expect(rest.edges.map((e) => e.node)).toEqual(upstream.items.slice(15, 20));
  });

  it('defaults to 3 fetches against an upstream that answers has_more with empty pages', async () => {
    let calls = 0;
    const fetchPage = async (): Promise<UpstreamPage<string>> => {
      calls += 1;
      return { items: [], nextDoc: `tok-${calls}`, hasMore: true };
    };
    const window = await readWindow({ start: START, first: 10, fetchPage, encodeCursor });
    expect(calls).toBe(3);
    expect(window.edges).toEqual([]);
    expect(window.pageInfo.hasNextPage).toBe(true);
  });

  it('maxFetches: 1 makes a single call', async () => {
    const upstream = fakeUpstream(100, { cap: 10 });
    const window = await readWindow({ start: START, first: 30, fetchPage: upstream.fetchPage, encodeCursor, maxFetches: 1 });
    expect(upstream.calls).toHaveLength(1);
    expect(window.edges).toHaveLength(10);
    expect(window.pageInfo.hasNextPage).toBe(true);
    expect(decodePosition(window.pageInfo.endCursor as string)).toEqual({ lastDoc: 'tok-9', skip: 0 });
  });

  it('propagates a fetch failure', async () => {
    const fetchPage = async (): Promise<UpstreamPage<string>> => {
      throw new Error('boom');
    };
    await expect(readWindow({ start: START, first: 1, fetchPage, encodeCursor })).rejects.toThrow('boom');
  });
});

/** A filtered scan over the fake upstream: each fetch asks for a full page of 100. */
async function scan(upstream: ReturnType<typeof fakeUpstream>, start: Position, first: number, matches: (item: string) => boolean, pageBudget: number) {
  const before = upstream.calls.length;
  const window = await scanWindow({
    start,
    first,
    fetchPage: (lastDoc) => upstream.fetchPage(lastDoc, UPSTREAM_MAX_LIMIT),
    matches,
    encodeCursor,
    pageBudget,
  });
  return { window, fetches: upstream.calls.length - before };
}

const index = (item: string): number => Number(item.slice('item-'.length));

/** Walks a filtered list by endCursor; checks each window's report against what it fetched. */
async function scanWalk(n: number, first: number, matches: (item: string) => boolean, pageBudget: number, from: Position = START) {
  const upstream = fakeUpstream(n);
  const seen: string[] = [];
  const windows: Array<Window<string> & { scan: ScanReport }> = [];
  let start = from;
  for (let guard = 0; guard < 2 * n + 10; guard += 1) {
    const { window, fetches } = await scan(upstream, start, first, matches, pageBudget);
    expect(window.scan.pagesRead).toBe(fetches);
    expect(fetches).toBeGreaterThanOrEqual(1);
    expect(fetches).toBeLessThanOrEqual(pageBudget);
    expect(window.edges.length).toBeLessThanOrEqual(first);
    for (const edge of window.edges) expect(matches(edge.node)).toBe(true);
    // Stopped early = the budget ended it short of `first`, with the list going on.
    expect(window.scan.stoppedEarly).toBe(window.pageInfo.hasNextPage && window.edges.length < first);
    if (window.scan.stoppedEarly) expect(fetches).toBe(pageBudget);
    windows.push(window);
    seen.push(...window.edges.map((edge) => edge.node));
    if (!window.pageInfo.hasNextPage) break;
    expect(window.pageInfo.endCursor).not.toBeNull();
    start = decodePosition(window.pageInfo.endCursor as string);
  }
  return { upstream, seen, windows };
}

const PREDICATES: Array<[string, (item: string) => boolean]> = [
  ['every item', () => true],
  ['none', () => false],
  ['every 7th', (item) => index(item) % 7 === 0],
  ['a sparse few', (item) => [5, 6, 240, 499].includes(index(item))],
  ['only the last page', (item) => index(item) >= 400],
];

describe('scanWindow: walking a filtered list by endCursor', () => {
  for (const [name, matches] of PREDICATES) {
    it.each([
      [0, 5, 10], [1, 1, 1], [100, 3, 1], [250, 4, 2], [500, 1, 2], [500, 7, 1], [537, 100, 10], [537, 20, 3],
    ])(`${name}: n=%i first=%i budget=%i sees every match once, in order`, async (n, first, budget) => {
      const expected = fakeUpstream(n).items.filter(matches);
      const { seen, windows, upstream } = await scanWalk(n, first, matches, budget);
      expect(seen).toEqual(expected);
      expect(windows.at(-1)?.pageInfo.hasNextPage).toBe(false);
      // Every upstream page is read at least once; a window rereads at most the page it stopped in.
      const pages = Math.max(1, Math.ceil(n / UPSTREAM_MAX_LIMIT));
      expect(upstream.calls.length).toBeGreaterThanOrEqual(pages);
      expect(upstream.calls.length).toBeLessThanOrEqual(pages + windows.length);
      for (const call of upstream.calls) expect(call.limit).toBe(UPSTREAM_MAX_LIMIT);
    });
  }
});

describe('scanWindow: resuming from every edge cursor', () => {
  it.each([[250, 3, 2], [537, 10, 10], [120, 1, 1]])('n=%i first=%i budget=%i', async (n, first, budget) => {
    const matches = (item: string): boolean => index(item) % 5 === 2;
    const expected = fakeUpstream(n).items.filter(matches);
    const { windows } = await scanWalk(n, first, matches, budget);
    const edges = windows.flatMap((w) => w.edges);
    expect(edges.map((e) => e.node)).toEqual(expected);
    for (const [i, edge] of edges.entries()) {
      const { seen } = await scanWalk(n, first, matches, budget, decodePosition(edge.cursor));
      expect(seen, `after ${edge.node}`).toEqual(expected.slice(i + 1));
    }
  });
});

describe('scanWindow: pageInfo', () => {
  it('stops at the budget with no edge, and endCursor points at the next unread page', async () => {
    const upstream = fakeUpstream(500);
    const { window } = await scan(upstream, START, 5, (item) => index(item) === 450, 2);
    expect(window.edges).toEqual([]);
    expect(window.scan).toEqual({ pagesRead: 2, stoppedEarly: true });
    expect(window.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false, startCursor: null });
    expect(decodePosition(window.pageInfo.endCursor as string)).toEqual({ lastDoc: 'tok-199', skip: 0 });
  });

  it('with `first` matches and a further one in the page read, endCursor is that match\'s position', async () => {
    const upstream = fakeUpstream(300);
    const { window } = await scan(upstream, START, 2, (item) => [10, 20, 80].includes(index(item)), 5);
    expect(window.edges.map((e) => e.node)).toEqual(['item-10', 'item-20']);
    expect(decodePosition(window.edges[1]?.cursor as string)).toEqual({ lastDoc: null, skip: 21 });
    expect(decodePosition(window.pageInfo.endCursor as string)).toEqual({ lastDoc: null, skip: 80 });
    expect(window.pageInfo.hasNextPage).toBe(true);
    expect(window.scan).toEqual({ pagesRead: 1, stoppedEarly: false });
  });

  it('with `first` matches and none further in the page, endCursor is the next page and hasNextPage says the list goes on', async () => {
    const upstream = fakeUpstream(300);
    const { window } = await scan(upstream, START, 2, (item) => [10, 20].includes(index(item)), 5);
    expect(decodePosition(window.pageInfo.endCursor as string)).toEqual({ lastDoc: 'tok-99', skip: 0 });
    expect(window.pageInfo.hasNextPage).toBe(true);
    expect(window.scan).toEqual({ pagesRead: 1, stoppedEarly: false });
  });

  it('in the last page, with no further match, hasNextPage is false and endCursor is the last edge\'s', async () => {
    const upstream = fakeUpstream(150);
    const { window } = await scan(upstream, START, 2, (item) => [110, 120].includes(index(item)), 5);
    expect(window.edges.map((e) => e.node)).toEqual(['item-110', 'item-120']);
    expect(window.pageInfo.hasNextPage).toBe(false);
    expect(window.pageInfo.endCursor).toBe(window.edges[1]?.cursor);
    expect(window.scan).toEqual({ pagesRead: 2, stoppedEarly: false });
  });

  it('the budget does not count as stopping early when it is spent on the last page', async () => {
    const upstream = fakeUpstream(200);
    const { window } = await scan(upstream, START, 5, () => false, 2);
    expect(window.scan).toEqual({ pagesRead: 2, stoppedEarly: false });
    expect(window.pageInfo.hasNextPage).toBe(false);
    expect(window.pageInfo.endCursor).toBeNull();
  });

  it('an edge at the end of a page resumes at the next page (skip 0)', async () => {
    const upstream = fakeUpstream(300);
    const { window } = await scan(upstream, START, 1, (item) => index(item) === 99, 5);
    expect(decodePosition(window.edges[0]?.cursor as string)).toEqual({ lastDoc: 'tok-99', skip: 0 });
  });

  it('resumes mid-page from a cursor, reading that page from its start', async () => {
    const upstream = fakeUpstream(300);
    const { window } = await scan(upstream, { lastDoc: 'tok-99', skip: 50 }, 3, () => true, 5);
    expect(window.edges.map((e) => e.node)).toEqual(['item-150', 'item-151', 'item-152']);
    expect(upstream.calls).toEqual([{ lastDoc: 'tok-99', limit: UPSTREAM_MAX_LIMIT }]);
    expect(window.pageInfo.hasPreviousPage).toBe(true);
  });

  it('is bounded by the budget against an upstream that answers has_more with empty pages', async () => {
    let calls = 0;
    const window = await scanWindow({
      start: START,
      first: 5,
      fetchPage: async () => {
        calls += 1;
        return { items: [], nextDoc: 'tok-0', hasMore: true };
      },
      matches: () => true,
      encodeCursor,
      pageBudget: 4,
    });
    expect(calls).toBe(4);
    expect(window.scan).toEqual({ pagesRead: 4, stoppedEarly: true });
  });

  it('propagates a fetch failure', async () => {
    const fetchPage = async (): Promise<UpstreamPage<string>> => {
      throw new Error('boom');
    };
    await expect(scanWindow({ start: START, first: 1, fetchPage, matches: () => true, encodeCursor, pageBudget: 3 })).rejects.toThrow('boom');
  });
});
