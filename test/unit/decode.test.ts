import { describe, expect, it, vi } from 'vitest';
import { DecodeError, decodeBatchDetail, decodeBatchList, type DecodedBatchDetail } from '../../src/upstream/decode.js';

function batch(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'btcal_1', name: 'Spring campaign', agent_id: 'agent_1', agent_name: 'Agent', status: 'completed',
    created_at_unix: 1_700_000_000, scheduled_time_unix: 1_700_000_100, last_updated_at_unix: 1_700_000_200,
    total_calls_dispatched: 3, total_calls_scheduled: 4, retry_count: 1,
    ...overrides,
  };
}

function recipient(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: 'rcp_1', status: 'completed', created_at_unix: 1_700_000_000, updated_at_unix: 1_700_000_050, conversation_id: null, ...overrides };
}

function decodeError(run: () => unknown): DecodeError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(DecodeError);
    return error as DecodeError;
  }
  throw new Error('expected a DecodeError');
}

describe('decodeBatchList', () => {
  it('accepts a valid page and returns it', () => {
    const body = { batch_calls: [batch(), batch({ id: 'btcal_2' })], next_doc: 'doc_9', has_more: true };
    const decoded = decodeBatchList(body);
    expect(decoded.batch_calls.map((b) => b.id)).toEqual(['btcal_1', 'btcal_2']);
    expect(decoded.next_doc).toBe('doc_9');
    expect(decoded.has_more).toBe(true);
  });

  it('accepts an empty page with null next_doc and no has_more', () => {
    expect(decodeBatchList({ batch_calls: [], next_doc: null }).batch_calls).toEqual([]);
    expect(decodeBatchList({ batch_calls: [] }).batch_calls).toEqual([]);
  });

  it('tolerates and keeps unknown fields and unknown enum values', () => {
    const decoded = decodeBatchList({ batch_calls: [batch({ status: 'paused_by_robot', brand_new: { x: 1 } })], extra: true });
    expect(decoded.batch_calls[0]?.status).toBe('paused_by_robot');
    expect((decoded.batch_calls[0] as unknown as Record<string, unknown>)['brand_new']).toEqual({ x: 1 });
  });

  it.each(['total_calls_dispatched', 'total_calls_scheduled', 'retry_count'])('defaults a missing or null %s to 0', (key) => {
    const missing = batch();
    delete missing[key];
    const decoded = decodeBatchList({ batch_calls: [missing, batch({ [key]: null })] });
    for (const item of decoded.batch_calls) expect((item as unknown as Record<string, unknown>)[key]).toBe(0);
  });

  it.each(['total_calls_dispatched', 'total_calls_scheduled', 'retry_count'])('rejects a non-number %s', (key) => {
    const error = decodeError(() => decodeBatchList({ batch_calls: [batch({ [key]: '3' })] }));
    expect(error.field).toBe(`batch_calls[0].${key}`);
  });

  it.each(['id', 'name', 'agent_id', 'agent_name', 'status'])('a missing %s names the field and index', (key) => {
    const broken = batch();
    delete broken[key];
    const error = decodeError(() => decodeBatchList({ batch_calls: [batch(), broken] }));
    expect(error.field).toBe(`batch_calls[1].${key}`);
    expect(error.message).toBe(`upstream field batch_calls[1].${key} is missing or not a string`);
    expect(error.name).toBe('DecodeError');
  });

  it.each(['created_at_unix', 'scheduled_time_unix', 'last_updated_at_unix'])('a non-numeric %s names the field', (key) => {
    for (const value of [undefined, null, '1700000000', Number.NaN, Number.POSITIVE_INFINITY]) {
      const error = decodeError(() => decodeBatchList({ batch_calls: [batch({ [key]: value })] }));
      expect(error.field).toBe(`batch_calls[0].${key}`);
      expect(error.message).toContain('a number');
    }
  });

  it.each([
    ['an array body', [], '(body)'],
    ['a null body', null, '(body)'],
    ['a string body', 'ok', '(body)'],
    ['missing batch_calls', {}, 'batch_calls'],
    ['object batch_calls', { batch_calls: {} }, 'batch_calls'],
    ['non-object item', { batch_calls: [null] }, 'batch_calls[0]'],
    ['array item', { batch_calls: [[]] }, 'batch_calls[0]'],
    ['numeric next_doc', { batch_calls: [], next_doc: 5 }, 'next_doc'],
    ['string has_more', { batch_calls: [], has_more: 'true' }, 'has_more'],
    ['null has_more', { batch_calls: [], has_more: null }, 'has_more'],
  ])('rejects %s', (_label, body, field) => {
    expect(decodeError(() => decodeBatchList(body)).field).toBe(field);
  });
});

/** Decodes a detail body and reads its recipients (checked on first read), as the schema does. */
function detail(body: unknown): DecodedBatchDetail {
  const decoded = decodeBatchDetail(body, (error) => error);
  decoded.recipients.get();
  return decoded;
}

describe('decodeBatchDetail', () => {
  it('accepts a batch with recipients', () => {
    const decoded = detail({ ...batch(), recipients: [recipient(), recipient({ id: 'rcp_2', status: 'brand_new_status' })] });
    expect(decoded.recipients.get().map((r) => r.id)).toEqual(['rcp_1', 'rcp_2']);
    expect(decoded.recipients.get()[1]?.status).toBe('brand_new_status');
  });

  it('defaults updated_at_unix to created_at_unix when missing or not a number', () => {
    const decoded = detail({
      ...batch(),
      recipients: [recipient({ updated_at_unix: undefined }), recipient({ updated_at_unix: 'x', created_at_unix: 5 })],
    });
    expect(decoded.recipients.get()[0]?.updated_at_unix).toBe(1_700_000_000);
    expect(decoded.recipients.get()[1]?.updated_at_unix).toBe(5);
  });

  it('defaults missing counts on the detail too', () => {
    const body = { ...batch(), recipients: [] };
    delete (body as Record<string, unknown>)['total_calls_dispatched'];
    expect(detail(body).batch.total_calls_dispatched).toBe(0);
  });

  it('missing recipients is an error naming the field', () => {
    expect(decodeError(() => detail(batch())).field).toBe('recipients');
    expect(decodeError(() => detail({ ...batch(), recipients: null })).field).toBe('recipients');
  });

  it('a missing batch field on the detail is named under (body)', () => {
    const broken = { ...batch(), recipients: [] } as Record<string, unknown>;
    delete broken['agent_id'];
    expect(decodeError(() => detail(broken)).field).toBe('(body).agent_id');
  });

  it.each([
    ['id', { id: undefined }, 'recipients[2].id'],
    ['status', { status: 3 }, 'recipients[2].status'],
    ['created_at_unix', { created_at_unix: '1' }, 'recipients[2].created_at_unix'],
  ])('a bad recipient %s names its index', (_label, override, field) => {
    const body = { ...batch(), recipients: [recipient(), recipient(), recipient(override)] };
    expect(decodeError(() => detail(body)).field).toBe(field);
  });

  it('a non-object recipient is named', () => {
    expect(decodeError(() => detail({ ...batch(), recipients: ['x'] })).field).toBe('recipients[0]');
  });

  it('a non-object body is named', () => {
    expect(decodeError(() => detail('nope')).field).toBe('(body)');
  });

  it('checks the recipients on first read only, maps a failure once and gives it to every reader', () => {
    const fail = vi.fn((error: SyntaxError | DecodeError) => new Error(`unreadable: ${error.message}`));
    const load = vi.fn(() => [recipient(), 'x']);
    const decoded = decodeBatchDetail(batch(), fail, load);
    expect(decoded.batch.id).toBe(batch().id);
    expect(load).not.toHaveBeenCalled();
    expect(() => decoded.recipients.get()).toThrow(/unreadable: .*recipients\[1\]/);
    expect(() => decoded.recipients.get()).toThrow(/unreadable/);
    expect(load).toHaveBeenCalledTimes(1);
    expect(fail).toHaveBeenCalledTimes(1);
  });

  it('a body that is not JSON where the recipients are is mapped the same way', () => {
    const fail = vi.fn((error: SyntaxError | DecodeError) => error);
    const decoded = decodeBatchDetail(batch(), fail, () => JSON.parse('[{'));
    expect(() => decoded.recipients.get()).toThrow(SyntaxError);
    expect(fail).toHaveBeenCalledTimes(1);
  });
});
