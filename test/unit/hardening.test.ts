import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { readWindow, type UpstreamPage } from '../../src/pagination/upstream-window.js';
import { DecodeError, decodeBatchList } from '../../src/upstream/decode.js';
import { errorForStatus } from '../../src/upstream/errors.js';

describe('configuration edge cases', () => {
  it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty'])('ELEVENLABS_REGION=%s is refused', (region) => {
    expect(() => loadConfig({ ELEVENLABS_REGION: region })).toThrow(ConfigError);
  });

  it.each(['http://127.evil.example', 'http://127.0.0.1.evil.example', 'http://localhost.evil.example'])(
    'production refuses plain http to %s (not loopback)',
    (url) => {
      expect(() => loadConfig({ NODE_ENV: 'production', GATEWAY_ALLOW_ANONYMOUS: 'true', ELEVENLABS_API_KEY: 'k', ELEVENLABS_BASE_URL: url })).toThrow(/https/);
    },
  );

  it.each(['http://127.0.0.1:4010', 'http://localhost:4010', 'http://[::1]:4010'])('production allows plain http to loopback %s', (url) => {
    expect(loadConfig({ NODE_ENV: 'production', GATEWAY_ALLOW_ANONYMOUS: 'true', ELEVENLABS_API_KEY: 'k', ELEVENLABS_BASE_URL: url }).upstream.baseUrl).toBe(url);
  });
});

describe('unexpected upstream statuses', () => {
  it.each([405, 409, 410, 413, 415])('%i is not retried (a retry cannot fix it)', (status) => {
    const error = errorForStatus(status, undefined, undefined);
    expect(error.retryable).toBe(false);
    expect(error.code).toBe('UPSTREAM_BAD_RESPONSE');
  });

  it.each([408, 500, 502, 503, 504])('%i is retried', (status) => {
    expect(errorForStatus(status, undefined, undefined).retryable).toBe(true);
  });
});

describe('next_doc tokens', () => {
  const page = (next_doc: unknown): unknown => ({ batch_calls: [], next_doc, has_more: true });

  it('an empty next_doc means no next page', () => {
    expect(decodeBatchList(page('')).next_doc).toBeNull();
  });

  it('a next_doc too long to fit a cursor is a bad response', () => {
    expect(() => decodeBatchList(page('x'.repeat(1025)))).toThrow(DecodeError);
    expect(decodeBatchList(page('x'.repeat(1024))).next_doc).toHaveLength(1024);
  });
});

describe('readWindow over an upstream that keeps sending empty pages', () => {
  it('stops at its budget with an endCursor that resumes where it stopped', async () => {
    const fetched: Array<string | null> = [];
    const fetchPage = async (lastDoc: string | null): Promise<UpstreamPage<string>> => {
      fetched.push(lastDoc);
      const n = lastDoc === null ? 0 : Number(lastDoc);
      return n < 5 ? { items: [], nextDoc: String(n + 1), hasMore: true } : { items: ['found'], nextDoc: null, hasMore: false };
    };
    const encodeCursor = (p: { lastDoc: string | null; skip: number }): string => JSON.stringify(p);
    const first = await readWindow({ start: { lastDoc: null, skip: 0 }, first: 3, fetchPage, encodeCursor, maxFetches: 3 });
    expect(first.edges).toEqual([]);
    expect(first.pageInfo.hasNextPage).toBe(true);
    expect(first.pageInfo.endCursor).toBe(JSON.stringify({ lastDoc: '3', skip: 0 }));
    const second = await readWindow({ start: { lastDoc: '3', skip: 0 }, first: 3, fetchPage, encodeCursor, maxFetches: 3 });
    expect(second.edges.map((e) => e.node)).toEqual(['found']);
    expect(second.pageInfo.hasNextPage).toBe(false);
    expect(fetched).toEqual([null, '1', '2', '3', '4', '5']);
  });
});
