import { describe, expect, it, vi } from 'vitest';
import type { RecipientStatus, UnknownEnumReporter } from '../../src/model/enums.js';
import { RecipientList, statusFilterKey, type RecipientSource } from '../../src/model/recipient-list.js';
import type { WireRecipient } from '../../src/upstream/types.js';

function wire(id: string, status: string, extra: Partial<WireRecipient> = {}): WireRecipient {
  return { id, status, created_at_unix: 1_700_000_000, updated_at_unix: 1_700_000_060, conversation_id: null, ...extra };
}

const source = (recipients: WireRecipient[]): RecipientSource => ({ get: () => recipients });

const STATUSES = ['completed', 'failed', 'completed', 'pending', 'mystery', 'completed', 'voicemail', 'mystery', 'failed', 'in_progress'];
const list = (report: UnknownEnumReporter = () => undefined): RecipientList =>
  new RecipientList('btcal_1', source(STATUSES.map((status, i) => wire(`r${i}`, status))), report);

describe('statusFilterKey', () => {
  it('is * without a filter', () => {
    expect(statusFilterKey(null)).toBe('*');
  });

  it('is canonical: sorted and de-duplicated', () => {
    expect(statusFilterKey(['FAILED', 'COMPLETED', 'FAILED'])).toBe('COMPLETED,FAILED');
    expect(statusFilterKey(['COMPLETED', 'FAILED'])).toBe(statusFilterKey(['FAILED', 'COMPLETED']));
  });

  it('distinguishes the empty filter from no filter', () => {
    expect(statusFilterKey([])).toBe('');
    expect(statusFilterKey([])).not.toBe(statusFilterKey(null));
  });
});

describe('RecipientList', () => {
  it('reports each unknown status and maps it to UNKNOWN', () => {
    const report = vi.fn<UnknownEnumReporter>();
    const recipients = list(report);
    // Nothing is read before a query asks.
    expect(report).not.toHaveBeenCalled();
    expect(recipients.size).toBe(10);
    expect(report).toHaveBeenCalledTimes(2);
    expect(report).toHaveBeenCalledWith('BatchCallRecipientStatus', 'mystery');
    expect(recipients.slice(['UNKNOWN'], 0, 10).map((r) => r.recipientId)).toEqual(['r4', 'r7']);
    expect(recipients.find('r4')?.status).toBe('UNKNOWN');
  });

  it('size and unfiltered count', () => {
    const recipients = list();
    expect(recipients.size).toBe(10);
    expect(recipients.count(null)).toBe(10);
    expect(recipients.batchId).toBe('btcal_1');
  });

  it('counts by filter', () => {
    const recipients = list();
    expect(recipients.count(['COMPLETED'])).toBe(3);
    expect(recipients.count(['COMPLETED', 'FAILED'])).toBe(5);
    expect(recipients.count(['FAILED', 'COMPLETED', 'COMPLETED'])).toBe(5);
    expect(recipients.count(['CANCELLED'])).toBe(0);
    expect(recipients.count([])).toBe(0);
  });

  it('slices without a filter in upstream order', () => {
    const recipients = list();
    expect(recipients.slice(null, 0, 3).map((r) => r.recipientId)).toEqual(['r0', 'r1', 'r2']);
    expect(recipients.slice(null, 8, 5).map((r) => r.recipientId)).toEqual(['r8', 'r9']);
    expect(recipients.slice(null, 10, 5)).toEqual([]);
    expect(recipients.slice(null, 1000, 5)).toEqual([]);
  });

  it('slices within the filtered order; offsets count filtered items', () => {
    const recipients = list();
    const filter: RecipientStatus[] = ['COMPLETED', 'FAILED'];
    expect(recipients.slice(filter, 0, 2).map((r) => r.recipientId)).toEqual(['r0', 'r1']);
    expect(recipients.slice(filter, 2, 2).map((r) => r.recipientId)).toEqual(['r2', 'r5']);
    expect(recipients.slice(filter, 4, 2).map((r) => r.recipientId)).toEqual(['r8']);
    expect(recipients.slice(filter, 5, 2)).toEqual([]);
  });

  it('paging a filter by offset visits each match once', () => {
    const recipients = list();
    const filter: RecipientStatus[] = ['FAILED', 'COMPLETED', 'UNKNOWN'];
    const seen: string[] = [];
    for (let offset = 0; offset < recipients.count(filter); offset += 3) {
      seen.push(...recipients.slice(filter, offset, 3).map((r) => r.recipientId));
    }
    expect(seen).toEqual(['r0', 'r1', 'r2', 'r4', 'r5', 'r7', 'r8']);
  });

  it('equivalent filters (order, duplicates) give the same results', () => {
    const recipients = list();
    expect(recipients.slice(['FAILED', 'COMPLETED'], 0, 10)).toEqual(recipients.slice(['COMPLETED', 'FAILED', 'FAILED'], 0, 10));
  });

  it('find by id, null when absent', () => {
    const recipients = list();
    expect(recipients.find('r6')?.status).toBe('VOICEMAIL');
    expect(recipients.find('nope')).toBeNull();
    expect(recipients.find('')).toBeNull();
  });

  it('maps a recipient\'s fields', () => {
    const report = vi.fn<UnknownEnumReporter>();
    const recipients = new RecipientList('btcal_9', source([
      wire('rcp_1', 'completed', {
        phone_number: '+15550001',
        conversation_id: 'conv_1',
        created_at_unix: 1_700_000_000,
        updated_at_unix: 1_700_000_123,
        conversation_initiation_client_data: {
          dynamic_variables: { name: 'Ada', n: 3 },
          source_info: { source: 'martian_sdk', version: '1' },
          user_id: 'u1',
        },
      }),
      wire('rcp_2', 'pending', { phone_number: null, whatsapp_user_id: 'wa_1', conversation_initiation_client_data: null }),
    ]), report);
    const [first, second] = recipients.slice(null, 0, 2);
    expect(first).toMatchObject({
      batchId: 'btcal_9', recipientId: 'rcp_1', phoneNumber: '+15550001', whatsappUserId: null, status: 'COMPLETED',
      conversationId: 'conv_1', dynamicVariables: { name: 'Ada', n: 3 },
    });
    expect(first?.createdAt.toISOString()).toBe('2023-11-14T22:13:20.000Z');
    expect(first?.updatedAt.getTime()).toBe(1_700_000_123_000);
    expect(first?.conversationInitiationClientData?.userId).toBe('u1');
    expect(first?.conversationInitiationClientData?.sourceInfo).toEqual({ source: 'UNKNOWN', version: '1' });
    expect(report).toHaveBeenCalledWith('ConversationInitiationSource', 'martian_sdk');
    expect(second).toMatchObject({
      recipientId: 'rcp_2', phoneNumber: null, whatsappUserId: 'wa_1', status: 'PENDING',
      conversationId: null, conversationInitiationClientData: null, dynamicVariables: null,
    });
  });

  it('an empty list is empty for every filter', () => {
    const recipients = new RecipientList('b', source([]), () => undefined);
    expect(recipients.size).toBe(0);
    expect(recipients.count(null)).toBe(0);
    expect(recipients.count(['COMPLETED'])).toBe(0);
    expect(recipients.slice(null, 0, 20)).toEqual([]);
    expect(recipients.slice(['COMPLETED'], 0, 20)).toEqual([]);
  });

  it('reads its source once, on first use, and passes its failure on to every reader', () => {
    const get = vi.fn(() => [wire('r1', 'completed')]);
    const recipients = new RecipientList('b', { get }, () => undefined);
    expect(get).not.toHaveBeenCalled();
    expect(recipients.count(['COMPLETED'])).toBe(1);
    expect(recipients.slice(null, 0, 5)).toHaveLength(1);
    expect(get).toHaveBeenCalledTimes(1);

    const broken = new RecipientList('b', { get: () => { throw new RangeError('unreadable'); } }, () => undefined);
    expect(() => broken.size).toThrow('unreadable');
    expect(() => broken.find('r1')).toThrow('unreadable');
  });
});
