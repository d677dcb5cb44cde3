import { describe, expect, it } from 'vitest';
import { InputError, batchCallFilter } from '../../src/input.js';
import type { BatchCall } from '../../src/model/batch-call.js';
import { FINGERPRINT_LENGTH, batchMatcher, filterFingerprint, foldCase } from '../../src/pagination/batch-filter.js';
import {
  batchCursorKind, decodeBatchCursor, decodeFilteredBatchCursor, decodeRecipientCursor, encodeBatchCursor,
  encodeFilteredBatchCursor, encodeRecipientCursor, type BatchCursor, type FilteredBatchCursor, type RecipientCursor,
} from '../../src/pagination/cursors.js';

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

function expectInputError(run: () => unknown, argument = 'after'): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InputError);
  expect((caught as Error).message).toContain(`\`${argument}\``);
}

describe('batch cursors', () => {
  const samples: BatchCursor[] = [
    { lastDoc: null, skip: 0, agentId: null },
    { lastDoc: 'doc_123', skip: 7, agentId: null },
    { lastDoc: null, skip: 100, agentId: 'agent_abc-1' },
    { lastDoc: 'x'.repeat(512), skip: 100, agentId: 'a'.repeat(128) },
    { lastDoc: 'with "quotes" and \\ slashes', skip: 1, agentId: '' },
    { lastDoc: 'ünïcødé 🚀', skip: 3, agentId: 'agent' },
  ];

  it.each(samples)('round-trips %j', (cursor) => {
    const encoded = encodeBatchCursor(cursor);
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeBatchCursor(encoded)).toEqual(cursor);
  });

  it('is opaque: the encoding is not the raw JSON', () => {
    const encoded = encodeBatchCursor({ lastDoc: 'doc_1', skip: 2, agentId: null });
    expect(encoded).not.toContain('doc_1');
  });

  it('distinct positions give distinct cursors', () => {
    const a = encodeBatchCursor({ lastDoc: 'd', skip: 1, agentId: null });
    const b = encodeBatchCursor({ lastDoc: 'd', skip: 2, agentId: null });
    const c = encodeBatchCursor({ lastDoc: 'd', skip: 1, agentId: 'x' });
    expect(new Set([a, b, c]).size).toBe(3);
  });

  const invalid: Array<[string, string]> = [
    ['empty string', ''],
    ['not base64url', 'abc$def'],
    ['standard base64 with padding', Buffer.from('["b",null,0,null]').toString('base64')],
    ['base64 of non-JSON', Buffer.from('not json').toString('base64url')],
    ['JSON object, not array', b64({ kind: 'b', lastDoc: null, skip: 0, agentId: null })],
    ['JSON string', b64('b')],
    ['JSON null', b64(null)],
    ['wrong kind tag', b64(['x', null, 0, null])],
    ['recipient kind', b64(['r', null, 0, null])],
    ['too few parts', b64(['b', null, 0])],
    ['too many parts', b64(['b', null, 0, null, 'extra'])],
    ['empty lastDoc', b64(['b', '', 0, null])],
    ['lastDoc over 1024', b64(['b', 'x'.repeat(1025), 0, null])],
    ['numeric lastDoc', b64(['b', 5, 0, null])],
    ['negative skip', b64(['b', null, -1, null])],
    ['skip over 100', b64(['b', null, 101, null])],
    ['fractional skip', b64(['b', null, 1.5, null])],
    ['string skip', b64(['b', null, '1', null])],
    ['null skip', b64(['b', null, null, null])],
    ['agentId over 128', b64(['b', null, 0, 'a'.repeat(129)])],
    ['numeric agentId', b64(['b', null, 0, 1])],
    ['oversized (> 1024 chars)', 'A'.repeat(1025)],
  ];

  it.each(invalid)('rejects %s with an InputError', (_label, cursor) => {
    expectInputError(() => decodeBatchCursor(cursor));
  });

  it('rejects a recipient cursor (wrong kind)', () => {
    expectInputError(() => decodeBatchCursor(encodeRecipientCursor({ offset: 0, filter: '*' })));
  });

  it('names the argument in the error', () => {
    expectInputError(() => decodeBatchCursor('???', 'before'), 'before');
  });

  it('rejects an oversized cursor even if it is otherwise valid', () => {
    // Over 10 000 characters of valid base64url JSON: whitespace padding inside the array.
    const json = `["b",null,0,null${' '.repeat(7600)}]`;
    const cursor = Buffer.from(json).toString('base64url');
    expect(cursor.length).toBeGreaterThan(10_000);
    expectInputError(() => decodeBatchCursor(cursor));
  });

  it('decodes every cursor it encodes, even of a maximal last_doc of escaped characters', () => {
    for (const lastDoc of ['"'.repeat(1024), '\u0001'.repeat(1024), '\u{1F600}'.repeat(512)]) {
      const cursor = encodeBatchCursor({ lastDoc, skip: 100, agentId: 'a'.repeat(128) });
      expect(decodeBatchCursor(cursor)).toEqual({ lastDoc, skip: 100, agentId: 'a'.repeat(128) });
    }
  });

  it('every single-character tampering either throws InputError or decodes to a well-formed cursor', () => {
    const original = encodeBatchCursor({ lastDoc: 'doc_42', skip: 9, agentId: 'agent_7' });
    const alphabet = 'AZaz09-_!.=+/ ';
    let rejected = 0;
    for (let i = 0; i < original.length; i += 1) {
      for (const char of alphabet) {
        const tampered = original.slice(0, i) + char + original.slice(i + 1);
        if (tampered === original) continue;
        try {
          const decoded = decodeBatchCursor(tampered);
          expect(decoded.lastDoc === null || (typeof decoded.lastDoc === 'string' && decoded.lastDoc.length > 0)).toBe(true);
          expect(Number.isInteger(decoded.skip) && decoded.skip >= 0 && decoded.skip <= 100).toBe(true);
          expect(decoded.agentId === null || typeof decoded.agentId === 'string').toBe(true);
        } catch (error) {
          expect(error).toBeInstanceOf(InputError);
          rejected += 1;
        }
      }
    }
    expect(rejected).toBeGreaterThan(0);
  });

  it('rejects every proper truncation of a valid cursor', () => {
    const original = encodeBatchCursor({ lastDoc: 'doc_42', skip: 9, agentId: null });
    for (let length = 0; length < original.length; length += 1) {
      expect(() => decodeBatchCursor(original.slice(0, length))).toThrow(InputError);
    }
  });
});

describe('recipient cursors', () => {
  const samples: RecipientCursor[] = [
    { offset: 0, filter: '*' },
    { offset: 49_999, filter: 'COMPLETED,FAILED' },
    { offset: Number.MAX_SAFE_INTEGER, filter: '' },
    { offset: 3, filter: 'f'.repeat(256) },
  ];

  it.each(samples)('round-trips %j', (cursor) => {
    const encoded = encodeRecipientCursor(cursor);
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeRecipientCursor(encoded)).toEqual(cursor);
  });

  const invalid: Array<[string, string]> = [
    ['empty string', ''],
    ['garbage', '%%%'],
    ['batch kind', encodeBatchCursor({ lastDoc: null, skip: 0, agentId: null })],
    ['wrong tag', b64(['b', 0, '*'])],
    ['too few parts', b64(['r', 0])],
    ['too many parts', b64(['r', 0, '*', 1])],
    ['negative offset', b64(['r', -1, '*'])],
    ['fractional offset', b64(['r', 0.5, '*'])],
    ['unsafe offset', b64(['r', 2 ** 53, '*'])],
    ['string offset', b64(['r', '3', '*'])],
    ['non-string filter', b64(['r', 0, null])],
    ['filter over 256', b64(['r', 0, 'f'.repeat(257)])],
    ['object', b64({ r: 0 })],
    ['oversized', 'A'.repeat(2000)],
  ];

  it.each(invalid)('rejects %s with an InputError', (_label, cursor) => {
    expectInputError(() => decodeRecipientCursor(cursor));
  });

  it('names a custom argument', () => {
    expectInputError(() => decodeRecipientCursor('', 'recipientsAfter'), 'recipientsAfter');
  });
});

describe('filtered batch cursors', () => {
  const fingerprint = 'A'.repeat(FINGERPRINT_LENGTH);
  const samples: FilteredBatchCursor[] = [
    { lastDoc: null, skip: 0, fingerprint },
    { lastDoc: 'doc_123', skip: 100, fingerprint: 'abc_-9' },
    { lastDoc: 'ünïcødé 🚀', skip: 42, fingerprint },
  ];

  it.each(samples)('round-trips %j', (cursor) => {
    const encoded = encodeFilteredBatchCursor(cursor);
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeFilteredBatchCursor(encoded)).toEqual(cursor);
    expect(batchCursorKind(encoded)).toBe('filtered');
  });

  it('tells the two kinds of batch cursor apart, and neither is the other', () => {
    const plain = encodeBatchCursor({ lastDoc: null, skip: 3, agentId: null });
    const filtered = encodeFilteredBatchCursor({ lastDoc: null, skip: 3, fingerprint });
    expect(batchCursorKind(plain)).toBe('unfiltered');
    expect(batchCursorKind(filtered)).toBe('filtered');
    expect(batchCursorKind(encodeRecipientCursor({ offset: 1, filter: '' }))).toBeNull();
    expect(batchCursorKind('%%%')).toBeNull();
    expectInputError(() => decodeBatchCursor(filtered));
    expectInputError(() => decodeFilteredBatchCursor(plain));
  });

  it.each([
    ['wrong kind', ['b', null, 0, fingerprint]],
    ['skip past a page', ['f', null, 101, fingerprint]],
    ['negative skip', ['f', null, -1, fingerprint]],
    ['fractional skip', ['f', null, 1.5, fingerprint]],
    ['empty last_doc', ['f', '', 0, fingerprint]],
    ['over-long last_doc', ['f', 'x'.repeat(1025), 0, fingerprint]],
    ['empty fingerprint', ['f', null, 0, '']],
    ['fingerprint with odd characters', ['f', null, 0, 'abc/def']],
    ['over-long fingerprint', ['f', null, 0, 'a'.repeat(65)]],
    ['missing fingerprint', ['f', null, 0]],
    ['extra part', ['f', null, 0, fingerprint, 1]],
  ])('refuses a forged cursor: %s', (_name, parts) => {
    expectInputError(() => decodeFilteredBatchCursor(b64(parts)));
  });
});

describe('batch filters and their fingerprints', () => {
  const at = (iso: string): Date => new Date(iso);
  const batch = (over: Partial<BatchCall>): BatchCall => ({
    batchId: 'b1', name: 'Relance Été', agentId: 'agent_1', agentName: 'Agent', status: 'COMPLETED',
    phoneNumberId: null, phoneProvider: null, whatsappParams: null,
    createdAt: at('2025-03-01T10:00:00Z'), scheduledAt: at('2025-03-02T10:00:00Z'), lastUpdatedAt: at('2025-03-02T11:00:00Z'),
    totalCallsDispatched: 0, totalCallsScheduled: 0, totalCallsFinished: null, retryCount: 0, branchId: null, branchName: null,
    environment: null, timezone: null, telephonyCallConfig: null, targetConcurrencyLimit: null, recipients: null, ...over,
  });
  const filter = (input: Parameters<typeof batchCallFilter>[0]) => {
    const result = batchCallFilter(input);
    if (result === null) throw new Error('expected a filter');
    return result;
  };

  it('folds case the Unicode way', () => {
    expect(foldCase('Straße')).toBe(foldCase('STRASSE'));
    expect(foldCase('Cafe\u0301')).toBe(foldCase('CAFÉ'));
    expect(foldCase('ΟΔΟΣ')).toBe(foldCase('οδοσ'));
    expect(foldCase('İstanbul')).toBe(foldCase('istanbul'));
    expect(foldCase('ﬁle')).toBe('file');
    expect(foldCase('Été')).not.toBe(foldCase('Ete'));
  });

  it('matches every criterion together, ranges with an inclusive start and an exclusive end', () => {
    const matches = batchMatcher(filter({
      status: ['COMPLETED', 'FAILED'],
      createdAfter: at('2025-03-01T10:00:00Z'),
      createdBefore: at('2025-03-01T10:00:01Z'),
      scheduledBefore: at('2025-03-03T00:00:00Z'),
      nameContains: 'ÉTÉ',
    }));
    expect(matches(batch({}))).toBe(true);
    expect(matches(batch({ status: 'CANCELLED' }))).toBe(false);
    expect(matches(batch({ createdAt: at('2025-03-01T10:00:01Z') }))).toBe(false);
    expect(matches(batch({ createdAt: at('2025-03-01T09:59:59Z') }))).toBe(false);
    expect(matches(batch({ scheduledAt: at('2025-03-03T00:00:00Z') }))).toBe(false);
    expect(matches(batch({ name: 'Relance ete' }))).toBe(false);
  });

  it('is null when no criterion is set, so the list stays unfiltered', () => {
    expect(batchCallFilter(null)).toBeNull();
    expect(batchCallFilter(undefined)).toBeNull();
    expect(batchCallFilter({})).toBeNull();
    expect(batchCallFilter({ status: null, createdAfter: null, nameContains: null })).toBeNull();
  });

  it.each([
    [{ status: [] }, /`filter\.status` must list at least one status/],
    [{ createdAfter: at('2025-01-02T00:00:00Z'), createdBefore: at('2025-01-01T00:00:00Z') }, /`filter\.createdAfter` must be earlier than `filter\.createdBefore`/],
    [{ scheduledAfter: at('2025-01-01T00:00:00Z'), scheduledBefore: at('2025-01-01T00:00:00Z') }, /`filter\.scheduledAfter` must be earlier/],
    [{ nameContains: '' }, /`filter\.nameContains` must be 1 to 200 characters \(got 0\)/],
    [{ nameContains: 'é'.repeat(201) }, /\(got 201\)/],
  ] as const)('refuses %j', (input, message) => {
    expect(() => batchCallFilter(input)).toThrow(InputError);
    expect(() => batchCallFilter(input)).toThrow(message);
  });

  it('accepts 200 characters however many UTF-16 units they take', () => {
    expect(filter({ nameContains: '😀'.repeat(200) }).nameContains).toBe('😀'.repeat(200));
  });

  it('gives equal filters one fingerprint, and any difference (agent included) another', () => {
    const base = filterFingerprint(filter({ status: ['FAILED', 'COMPLETED'], nameContains: 'Straße' }), 'agent_1');
    expect(base).toHaveLength(FINGERPRINT_LENGTH);
    expect(filterFingerprint(filter({ status: ['COMPLETED', 'FAILED', 'FAILED'], nameContains: 'STRASSE' }), 'agent_1')).toBe(base);
    expect(filterFingerprint(filter({ status: ['COMPLETED', 'FAILED'], nameContains: 'Straße' }), null)).not.toBe(base);
    expect(filterFingerprint(filter({ status: ['COMPLETED'], nameContains: 'Straße' }), 'agent_1')).not.toBe(base);
    expect(filterFingerprint(filter({ status: ['COMPLETED', 'FAILED'], nameContains: 'Strass' }), 'agent_1')).not.toBe(base);
    const created = filterFingerprint(filter({ createdAfter: at('2025-01-01T00:00:00Z') }), null);
    expect(filterFingerprint(filter({ scheduledAfter: at('2025-01-01T00:00:00Z') }), null)).not.toBe(created);
    expect(filterFingerprint(filter({ createdBefore: at('2025-01-01T00:00:00Z') }), null)).not.toBe(created);
  });
});
