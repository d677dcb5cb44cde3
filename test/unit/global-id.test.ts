import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/input.js';
import { decodeGlobalId, encodeGlobalId, parseRecipientKey, recipientKey, tryDecodeGlobalId } from '../../src/schema/global-id.js';

describe('global IDs', () => {
  it.each([
    ['BatchCall', 'btcal_123'],
    ['Recipient', 'btcal_1:rcp_2'],
    ['BatchCall', 'id with spaces and ünïcødé 🚀'],
    ['Recipient', '::'],
    ['BatchCall', 'x'.repeat(300)],
  ])('round-trips %s / %s', (typename, id) => {
    const globalId = encodeGlobalId(typename, id);
    expect(globalId).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeGlobalId(globalId)).toEqual({ typename, id });
    expect(tryDecodeGlobalId(globalId)).toEqual({ typename, id });
  });

  it('encodes numbers and bigints as their decimal text', () => {
    expect(decodeGlobalId(encodeGlobalId('BatchCall', 42))).toEqual({ typename: 'BatchCall', id: '42' });
    expect(decodeGlobalId(encodeGlobalId('BatchCall', 2n ** 70n))).toEqual({ typename: 'BatchCall', id: String(2n ** 70n) });
  });

  it.each(['Node', 'Query', 'Unknown', 'PageInfo', 'BatchCallConnection'])(
    'refuses a global ID of %s the same way (node and nodes resolve only BatchCall and Recipient)',
    (typename) => {
      expect(() => decodeGlobalId(encodeGlobalId(typename, 'A'))).toThrow(new InputError('`id` is not a valid global ID'));
      expect(tryDecodeGlobalId(encodeGlobalId(typename, 'A'))).toEqual({ typename, id: 'A' });
    },
  );

  it('splits at the first colon only', () => {
    expect(decodeGlobalId(Buffer.from('Recipient:a:b:c').toString('base64url')).id).toBe('a:b:c');
  });

  it('accepts standard base64 padding', () => {
    const padded = Buffer.from('BatchCall:a').toString('base64');
    expect(padded.endsWith('=')).toBe(true);
    expect(decodeGlobalId(padded)).toEqual({ typename: 'BatchCall', id: 'a' });
  });

  const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');

  it.each([
    ['empty', ''],
    ['too long', 'A'.repeat(513)],
    ['invalid characters', 'QmF0Y2hDYWxsOjE$'],
    ['slashes and plus (standard base64 alphabet)', 'a+b/c'],
    ['too much padding', `${b64('BatchCall:1')}===`],
    ['no colon', b64('BatchCall')],
    ['empty id', b64('BatchCall:')],
    ['empty typename', b64(':123')],
    ['lowercase typename', b64('batchCall:1')],
    ['typename with digits', b64('Batch1:1')],
    ['typename with space', b64('Batch Call:1')],
    ['typename over 64 characters', b64(`B${'a'.repeat(64)}:1`)],
    ['a raw upstream id', 'btcal_123'],
  ])('rejects %s', (_label, value) => {
    expect(tryDecodeGlobalId(value)).toBeNull();
    expect(() => decodeGlobalId(value)).toThrow(InputError);
    expect(() => decodeGlobalId(value)).toThrow('`id` is not a valid global ID');
  });

  it('accepts a 64-character typename', () => {
    const typename = `B${'a'.repeat(63)}`;
    expect(tryDecodeGlobalId(b64(`${typename}:1`))).toEqual({ typename, id: '1' });
  });
});

describe('recipient keys', () => {
  it('round-trips', () => {
    expect(parseRecipientKey(recipientKey('btcal_1', 'rcp_2'))).toEqual({ batchId: 'btcal_1', recipientId: 'rcp_2' });
  });

  it('keeps colons in the recipient id', () => {
    expect(parseRecipientKey('btcal_1:a:b')).toEqual({ batchId: 'btcal_1', recipientId: 'a:b' });
  });

  it('allows any recipient id up to 256 characters (it never reaches the upstream)', () => {
    expect(parseRecipientKey(`b:${'r'.repeat(256)}`).recipientId).toHaveLength(256);
    expect(parseRecipientKey('b:../x?y').recipientId).toBe('../x?y');
  });

  it.each([
    ['no colon', 'btcal_1'],
    ['empty batch id', ':rcp'],
    ['empty recipient id', 'btcal_1:'],
    ['path traversal in batch id', '..:rcp'],
    ['slash in batch id', 'a/b:rcp'],
    ['query in batch id', 'a?x=1:rcp'],
    ['batch id over 128', `${'b'.repeat(129)}:rcp`],
    ['recipient id over 256', `b:${'r'.repeat(257)}`],
  ])('rejects %s', (_label, key) => {
    expect(() => parseRecipientKey(key)).toThrow(InputError);
    expect(() => parseRecipientKey(key)).toThrow('`id` is not a valid Recipient ID');
  });
});
