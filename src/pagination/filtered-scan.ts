import type { Position, UpstreamPage, Window } from './upstream-window.js';

/**
 * A Relay window over an upstream list that the gateway filters itself: it reads whole upstream
 * pages in order and keeps the items that match, until it has `first` of them, reaches the end of
 * the list, or has read `pageBudget` pages.
 *
 * Positions are the same (page start, items to skip) as in upstream-window.ts: every edge's cursor
 * is the position just after it. `endCursor` is where the scan stopped, which may lie past the
 * last edge: after the non-matching items read beyond it, or, when the budget ends the scan, at
 * the start of the next unread page (even with no edge at all). Resuming there neither rereads
 * nor skips anything, and a page that ends early says `hasNextPage: true` truthfully.
 */

/** How much of the upstream one filtered window read. */
export interface ScanReport {
  /** Upstream list pages read for this window. */
  pagesRead: number;
  /** True when the page budget ended the scan before `first` matches and before the end of the list. */
  stoppedEarly: boolean;
}

/** What `scanWindow` needs: where to start, how many matches, and how to read and test the upstream's items. */
export interface ScanRequest<T> {
  start: Position;
  /** Matches wanted (at least 1). */
  first: number;
  /** Reads the full upstream page that starts at `lastDoc`. */
  fetchPage: (lastDoc: string | null) => Promise<UpstreamPage<T>>;
  matches: (item: T) => boolean;
  encodeCursor: (position: Position) => string;
  /** Most upstream pages to read (at least 1). */
  pageBudget: number;
}

/** Reads one filtered window (see the module comment). */
export async function scanWindow<T>({ start, first, fetchPage, matches, encodeCursor, pageBudget }: ScanRequest<T>): Promise<Window<T> & { scan: ScanReport }> {
  const edges: Window<T>['edges'] = [];
  let position = start;
  let pagesRead = 0;
  /** Where the scan stopped with more of the list left unread; null at the end of the list. */
  let stop: Position | null = null;
  let stoppedEarly = false;

  for (;;) {
    const page = await fetchPage(position.lastDoc);
    pagesRead += 1;
    const next = page.hasMore && page.nextDoc !== null ? page.nextDoc : null;
    const here = position.lastDoc;
    const after = (index: number): Position =>
      index + 1 >= page.items.length && next !== null ? { lastDoc: next, skip: 0 } : { lastDoc: here, skip: index + 1 };

    let lookAhead: number | null = null;
    for (let index = position.skip; index < page.items.length; index += 1) {
      const item = page.items[index];
      if (item === undefined || !matches(item)) continue;
      // One match past `first`, in a page already read: proof of a next page, at no cost.
      if (edges.length >= first) {
        lookAhead = index;
        break;
      }
      edges.push({ node: item, cursor: encodeCursor(after(index)) });
    }

    if (lookAhead !== null) {
      stop = { lastDoc: here, skip: lookAhead };
      break;
    }
    if (next === null) break;
    const onward = { lastDoc: next, skip: 0 };
    if (edges.length >= first) {
      stop = onward;
      break;
    }
    if (pagesRead >= pageBudget) {
      stop = onward;
      stoppedEarly = true;
      break;
    }
    position = onward;
  }

  return {
    edges,
    pageInfo: {
      hasNextPage: stop !== null,
      hasPreviousPage: start.lastDoc !== null || start.skip > 0,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: stop !== null ? encodeCursor(stop) : (edges.at(-1)?.cursor ?? null),
    },
    scan: { pagesRead, stoppedEarly },
  };
}
