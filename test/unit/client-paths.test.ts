import { describe, expect, it } from 'vitest';
import { UpstreamError } from '../../src/upstream/errors.js';
import { detailPath, encodePathSegment, listPath } from '../../src/upstream/client.js';
import { UPSTREAM_PATHS } from '../../src/upstream/types.js';

const PREFIX = '/v1/convai/batch-calling/';

/**
 * Hostile ids. `.`, `..` and their percent-encoded spellings are deliberately absent here: see the
 * report (WHATWG URL treats `%2E%2E` as a dot segment), and the gateway rejects them before the client.
 */
const HOSTILE = [
  '../', '../../v1/user', '/', '//', '/workspace', 'workspace/', '?x=1', '#', '#frag', 'a/b', 'a\\b', '\\..\\',
  '%', '%2F', '%2e', '%2f..%2f', '%252e%252e', '&agent_id=x', 'a b', ' ', '+', '=', ';x', '@', ':', 'a:b',
  'ünïcødé', '🚀', '日本語', '\u0000', '\n', '\r\n', '\t', '\u202e', 'x'.repeat(10_000), '..a', 'a..', '...', '.a.',
  'btcal_abc123', "'\"<>`{}|^[]", '\u00a0', '\ufeff',
];

describe('encodePathSegment / detailPath', () => {
  it.each(HOSTILE.map((s) => [JSON.stringify(s).slice(0, 40), s]))('%s stays one segment under the detail prefix', (_label, id) => {
    const path = detailPath(id);
    expect(path.startsWith(PREFIX)).toBe(true);
    const url = new URL(path, 'http://h');
    expect(url.host).toBe('h');
    expect(url.search).toBe('');
    expect(url.hash).toBe('');
    expect(url.pathname.startsWith(PREFIX)).toBe(true);
    const rest = url.pathname.slice(PREFIX.length);
    expect(rest).not.toBe('');
    expect(rest).not.toContain('/');
    expect(decodeURIComponent(rest)).toBe(id);
    // The raw path sent on the wire (undici does not normalise) is the same single segment.
    expect(path.slice(PREFIX.length)).toBe(rest);
  });

  it.each(['workspace', 'submit'])('refuses %s: that segment is another endpoint, not a batch', (id) => {
    expect(() => detailPath(id)).toThrow(UpstreamError);
  });

  it('encodes every dot', () => {
    expect(encodePathSegment('a.b.c')).toBe('a%2Eb%2Ec');
    expect(encodePathSegment('...')).toBe('%2E%2E%2E');
  });

  it('leaves ordinary upstream ids unchanged', () => {
    expect(detailPath('btcal_AbC-123')).toBe(`${UPSTREAM_PATHS.detailPrefix}btcal_AbC-123`);
  });

  it('only ever emits unreserved characters and percent escapes', () => {
    for (const id of HOSTILE) expect(encodePathSegment(id)).toMatch(/^(?:[A-Za-z0-9_~!*'()-]|%[0-9A-F]{2})+$/);
  });

  it.each(['', '.', '..'])('refuses %j: no dot segment can walk the path, even percent-encoded', (id) => {
    expect(() => encodePathSegment(id)).toThrow(UpstreamError);
    expect(() => detailPath(id)).toThrow('This id cannot be looked up');
  });

  it('refuses a lone surrogate with an UpstreamError, not a URIError', () => {
    expect(() => detailPath('a\uD800')).toThrow(UpstreamError);
    expect(() => listPath({ limit: 1, lastDoc: 'x\uDC00' })).toThrow(UpstreamError);
  });

  it('property: random printable strings round-trip as one segment', () => {
    let seed = 7;
    const next = (): number => {
      seed = (seed * 48_271) % 2_147_483_647;
      return seed;
    };
    const pool = 'ab./%?#&=+:;@ \\-_~!*()\'"<>é日🚀\u0000';
    const chars = Array.from(pool);
    for (let i = 0; i < 500; i += 1) {
      const length = 1 + (next() % 12);
      const id = Array.from({ length }, () => chars[next() % chars.length] as string).join('');
      if (id === '.' || id === '..') continue;
      const url = new URL(detailPath(id), 'http://h');
      expect(url.pathname.startsWith(PREFIX)).toBe(true);
      const rest = url.pathname.slice(PREFIX.length);
      expect(rest).not.toContain('/');
      expect(url.search).toBe('');
      expect(decodeURIComponent(rest)).toBe(id);
    }
  });
});

describe('listPath', () => {
  const values = [...HOSTILE, 'doc_123', 'eyJhIjoxfQ==', '100&limit=1', 'limit=5'];

  it('uses only the list endpoint and the limit when nothing else is set', () => {
    const url = new URL(listPath({ limit: 20 }), 'http://h');
    expect(url.pathname).toBe(UPSTREAM_PATHS.list);
    expect([...url.searchParams]).toEqual([['limit', '20']]);
  });

  it.each(values.map((s) => [JSON.stringify(s).slice(0, 40), s]))('last_doc and agent_id %s round-trip exactly', (_label, value) => {
    const url = new URL(listPath({ limit: 100, lastDoc: value, agentId: value }), 'http://h');
    expect(url.pathname).toBe('/v1/convai/batch-calling/workspace');
    expect(url.hash).toBe('');
    expect([...url.searchParams]).toEqual([['limit', '100'], ['last_doc', value], ['agent_id', value]]);
  });

  it('keeps last_doc and agent_id independent', () => {
    const onlyAgent = new URL(listPath({ limit: 5, agentId: 'agent_1' }), 'http://h');
    expect([...onlyAgent.searchParams]).toEqual([['limit', '5'], ['agent_id', 'agent_1']]);
    const onlyDoc = new URL(listPath({ limit: 5, lastDoc: 'x&agent_id=evil' }), 'http://h');
    expect([...onlyDoc.searchParams]).toEqual([['limit', '5'], ['last_doc', 'x&agent_id=evil']]);
    expect(onlyDoc.searchParams.has('agent_id')).toBe(false);
  });

  it('an empty-string last_doc is still sent as a value, not dropped or merged', () => {
    const url = new URL(listPath({ limit: 1, lastDoc: '' }), 'http://h');
    expect([...url.searchParams]).toEqual([['limit', '1'], ['last_doc', '']]);
  });
});
