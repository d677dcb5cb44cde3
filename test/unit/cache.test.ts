import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ResponseCache, detailTtl, type CacheTtls } from '../../src/upstream/cache.js';

const LONG = 60_000;

describe('ResponseCache', () => {
  it('returns what was stored, and counts hits and misses', () => {
    const cache = new ResponseCache(1_000);
    const value = { id: 'a' };
    expect(cache.get('a')).toBeUndefined();
    cache.set('a', value, 10, LONG);
    expect(cache.get('a')).toBe(value);
    expect(cache.get('a')).toBe(value);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.stats()).toEqual({ hits: 2, misses: 2, evictions: 0, coalesced: 0, entries: 1, bytes: 10 });
  });

  it('an answer to a call started earlier does not replace one to a call started later', () => {
    const cache = new ResponseCache(1_000);
    cache.set('a', 'fresh poll', 10, LONG, 200);
    cache.set('a', 'slow older read', 10, LONG, 100);
    expect(cache.get('a')).toBe('fresh poll');
    cache.set('a', 'newer still', 10, LONG, 300);
    expect(cache.get('a')).toBe('newer still');
  });

  it('drops an entry only while it still holds the given answer', () => {
    const cache = new ResponseCache(1_000);
    const broken = { id: 'old' };
    cache.set('a', broken, 10, LONG, 1);
    cache.set('a', { id: 'new' }, 10, LONG, 2);
    cache.delete('a', broken);
    expect(cache.get('a')).toEqual({ id: 'new' });
    cache.delete('a', cache.get('a'));
    expect(cache.get('a')).toBeUndefined();
  });

  it('bounds the bytes it holds: past the bound the oldest entries are evicted and counted', () => {
    const cache = new ResponseCache(100);
    cache.set('a', 'A', 40, LONG);
    cache.set('b', 'B', 40, LONG);
    expect(cache.stats()).toMatchObject({ entries: 2, bytes: 80, evictions: 0 });
    cache.set('c', 'C', 40, LONG);
    expect(cache.stats()).toMatchObject({ entries: 2, bytes: 80, evictions: 1 });
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toBe('B');
    expect(cache.get('c')).toBe('C');
    // One big entry pushes out as many as it needs.
    cache.set('d', 'D', 90, LONG);
    expect(cache.stats()).toMatchObject({ entries: 1, bytes: 90, evictions: 3 });
    expect(cache.get('d')).toBe('D');
  });

  it('never holds more than its bound, whatever the sequence of sizes', () => {
    const cache = new ResponseCache(1_000);
    let seed = 7;
    const next = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
    for (let i = 0; i < 2_000; i++) {
      cache.set(`k${next() % 300}`, i, 1 + (next() % 400), LONG);
      expect(cache.stats().bytes).toBeLessThanOrEqual(1_000);
    }
    expect(cache.stats().evictions).toBeGreaterThan(0);
  });

  it('evicts the least recently used entry: a read makes an entry recent', () => {
    const cache = new ResponseCache(30);
    cache.set('a', 'A', 10, LONG);
    cache.set('b', 'B', 10, LONG);
    cache.set('c', 'C', 10, LONG);
    expect(cache.get('a')).toBe('A');
    cache.set('d', 'D', 10, LONG);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe('A');
    expect(cache.get('c')).toBe('C');
    expect(cache.get('d')).toBe('D');
    // Order of use is now a, c, d: a new entry evicts a.
    cache.set('e', 'E', 10, LONG);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.stats().evictions).toBe(2);
  });

  it('replacing an entry takes its new size and is not an eviction', () => {
    const cache = new ResponseCache(100);
    cache.set('a', 'old', 40, LONG);
    cache.set('a', 'new', 70, LONG);
    expect(cache.get('a')).toBe('new');
    expect(cache.stats()).toMatchObject({ entries: 1, bytes: 70, evictions: 0 });
  });

  it('forgets an entry once its own TTL has passed, and an expiry is not an eviction', async () => {
    const cache = new ResponseCache(1_000);
    cache.set('short', 'S', 10, 40);
    cache.set('long', 'L', 10, LONG);
    expect(cache.get('short')).toBe('S');
    await sleep(200);
    expect(cache.get('short')).toBeUndefined();
    expect(cache.get('long')).toBe('L');
    expect(cache.stats()).toMatchObject({ entries: 1, bytes: 10, evictions: 0 });
  });

  it('a read does not extend the TTL', async () => {
    const cache = new ResponseCache(1_000);
    cache.set('a', 'A', 10, 600);
    await sleep(300);
    expect(cache.get('a')).toBe('A');
    // Past the TTL from the set, not from the read (which would keep it until ~900 ms).
    await sleep(400);
    expect(cache.get('a')).toBeUndefined();
  });

  it('setting an entry again restarts its TTL', async () => {
    const cache = new ResponseCache(1_000);
    cache.set('a', 'A1', 10, 400);
    await sleep(250);
    cache.set('a', 'A2', 10, 400);
    // Past the first TTL, within the second.
    await sleep(250);
    expect(cache.get('a')).toBe('A2');
  });

  it('does not keep an entry larger than the whole cache, nor evict anything for it', () => {
    const cache = new ResponseCache(100);
    cache.set('a', 'A', 40, LONG);
    cache.set('huge', 'H', 101, LONG);
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.get('a')).toBe('A');
    expect(cache.stats()).toMatchObject({ entries: 1, bytes: 40, evictions: 0 });
    // Exactly the bound fits (and takes the whole cache).
    cache.set('full', 'F', 100, LONG);
    expect(cache.get('full')).toBe('F');
    expect(cache.stats()).toMatchObject({ entries: 1, bytes: 100, evictions: 1 });
  });

  it('an oversize value for a key already cached drops the stale entry rather than keeping it', () => {
    const cache = new ResponseCache(100);
    cache.set('a', 'small', 40, LONG);
    cache.set('a', 'grown', 500, LONG);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.stats()).toMatchObject({ entries: 0, bytes: 0 });
  });

  it.each([0, -1])('does not store anything with a TTL of %i', (ttl) => {
    const cache = new ResponseCache(100);
    cache.set('a', 'A', 10, ttl);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.stats()).toMatchObject({ entries: 0, bytes: 0 });
  });

  it('counts an empty body as one byte', () => {
    const cache = new ResponseCache(100);
    cache.set('a', 'A', 0, LONG);
    expect(cache.get('a')).toBe('A');
    expect(cache.stats()).toMatchObject({ entries: 1, bytes: 1 });
  });

  it('counts coalesced reads, and its stats are a snapshot', () => {
    const cache = new ResponseCache(100);
    const snapshot = cache.stats();
    cache.countCoalesced();
    cache.countCoalesced();
    expect(cache.stats().coalesced).toBe(2);
    expect(snapshot.coalesced).toBe(0);
  });

  it('clear() empties it without counting evictions and keeps the counters', () => {
    const cache = new ResponseCache(100);
    cache.set('a', 'A', 10, LONG);
    cache.set('b', 'B', 10, LONG);
    cache.get('a');
    cache.clear();
    expect(cache.get('a')).toBeUndefined();
    expect(cache.stats()).toEqual({ hits: 1, misses: 1, evictions: 0, coalesced: 0, entries: 0, bytes: 0 });
  });

  it('keeps values as they are (no copy): the same object comes back', () => {
    const cache = new ResponseCache(100);
    const value = { nested: { list: [1, 2, 3] } };
    cache.set('a', value, 10, LONG);
    expect(cache.get<typeof value>('a')).toBe(value);
  });
});

describe('detailTtl', () => {
  const ttls: CacheTtls = { terminalMs: 300_000, activeMs: 2_000, listMs: 5_000 };

  it.each(['completed', 'failed', 'cancelled'])('%s is terminal: the long TTL', (status) => {
    expect(detailTtl(status, ttls)).toBe(300_000);
  });

  it.each(['pending', 'in_progress'])('%s is active: the short TTL', (status) => {
    expect(detailTtl(status, ttls)).toBe(2_000);
  });

  it.each(['', 'paused', 'COMPLETED', 'Completed', ' completed', 'undefined', 'null'])('unknown status %j counts as active', (status) => {
    expect(detailTtl(status, ttls)).toBe(2_000);
  });

  it('never answers the list TTL', () => {
    const distinct: CacheTtls = { terminalMs: 1, activeMs: 2, listMs: 3 };
    for (const status of ['completed', 'failed', 'cancelled', 'pending', 'in_progress', 'x']) {
      expect(detailTtl(status, distinct)).not.toBe(3);
    }
  });

  it('a TTL of 0 for a kind turns its caching off (set() stores nothing)', () => {
    const cache = new ResponseCache(1_000);
    const off: CacheTtls = { terminalMs: 60_000, activeMs: 0, listMs: 0 };
    cache.set('running', 'R', 10, detailTtl('in_progress', off));
    cache.set('done', 'D', 10, detailTtl('completed', off));
    expect(cache.get('running')).toBeUndefined();
    expect(cache.get('done')).toBe('D');
  });
});
