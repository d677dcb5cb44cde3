import { describe, expect, it, vi } from 'vitest';
import {
  BATCH_CALL_STATUSES, CONVERSATION_INITIATION_SOURCES, RECIPIENT_STATUSES, TELEPHONY_PROVIDERS,
  toBatchCallStatus, toConversationInitiationSource, toRecipientStatus, toTelephonyProvider, wireRecipientStatus,
  type UnknownEnumReporter,
} from '../../src/model/enums.js';

const mappers: Array<[string, (wire: string, report: UnknownEnumReporter) => string, readonly string[]]> = [
  ['BatchCallStatus', toBatchCallStatus, BATCH_CALL_STATUSES],
  ['BatchCallRecipientStatus', toRecipientStatus, RECIPIENT_STATUSES],
  ['TelephonyProvider', toTelephonyProvider, TELEPHONY_PROVIDERS],
];

describe.each(mappers)('%s', (enumName, map, values) => {
  it.each(values.filter((v) => v !== 'UNKNOWN'))('maps the wire spelling of %s without reporting', (value) => {
    const report = vi.fn<UnknownEnumReporter>();
    expect(map(value.toLowerCase(), report)).toBe(value);
    expect(report).not.toHaveBeenCalled();
  });

  it.each(['brand_new', '', 'unknown', 'UNKNOWN', 'COMPLETED', 'Completed', ' completed', 'completed ', '__proto__', 'constructor', 'toString'])(
    'maps unexpected %j to UNKNOWN and reports it',
    (wire) => {
      const report = vi.fn<UnknownEnumReporter>();
      expect(map(wire, report)).toBe('UNKNOWN');
      expect(report).toHaveBeenCalledTimes(1);
      expect(report).toHaveBeenCalledWith(enumName, wire);
    },
  );

  it('includes UNKNOWN as a value', () => {
    expect(values).toContain('UNKNOWN');
  });
});

describe('toConversationInitiationSource', () => {
  it('maps the upstream\'s own "unknown" to UNKNOWN without reporting', () => {
    const report = vi.fn<UnknownEnumReporter>();
    expect(toConversationInitiationSource('unknown', report)).toBe('UNKNOWN');
    expect(report).not.toHaveBeenCalled();
  });

  it.each(CONVERSATION_INITIATION_SOURCES.filter((v) => v !== 'UNKNOWN'))('maps %s', (value) => {
    const report = vi.fn<UnknownEnumReporter>();
    expect(toConversationInitiationSource(value.toLowerCase(), report)).toBe(value);
    expect(report).not.toHaveBeenCalled();
  });

  it('reports a new source', () => {
    const report = vi.fn<UnknownEnumReporter>();
    expect(toConversationInitiationSource('kotlin_sdk', report)).toBe('UNKNOWN');
    expect(report).toHaveBeenCalledWith('ConversationInitiationSource', 'kotlin_sdk');
  });
});

describe('wireRecipientStatus', () => {
  it.each(RECIPIENT_STATUSES.filter((v) => v !== 'UNKNOWN'))('%s round-trips through the wire spelling', (status) => {
    expect(toRecipientStatus(wireRecipientStatus(status), () => {
      throw new Error('should not report');
    })).toBe(status);
  });

  it('spells IN_PROGRESS as in_progress', () => {
    expect(wireRecipientStatus('IN_PROGRESS')).toBe('in_progress');
  });
});
