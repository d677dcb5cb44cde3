import { describe, expect, it } from 'vitest';
import { InputError, PAGE_SIZE, isUpstreamId, pageSize, upstreamId } from '../../src/input.js';

describe('pageSize', () => {
  it('defaults to 20 for null and undefined', () => {
    expect(PAGE_SIZE).toEqual({ default: 20, min: 1, max: 100 });
    expect(pageSize(undefined)).toBe(20);
    expect(pageSize(null)).toBe(20);
  });

  it.each([1, 2, 20, 99, 100])('accepts %i unchanged', (value) => {
    expect(pageSize(value)).toBe(value);
  });

  it.each([0, -1, 101, 1000, 1.5, 0.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0.1])(
    'rejects %s (never clamps)',
    (value) => {
      expect(() => pageSize(value)).toThrow(InputError);
    },
  );

  it('names the argument and both bounds in the message', () => {
    expect(() => pageSize(101)).toThrow('`first` must be between 1 and 100 (got 101)');
    expect(() => pageSize(0, 'recipientsFirst')).toThrow('`recipientsFirst` must be between 1 and 100 (got 0)');
  });

  it('InputError is an Error named InputError', () => {
    const error = new InputError('x');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('InputError');
    expect(error.message).toBe('x');
  });
});

describe('upstreamId / isUpstreamId', () => {
  const valid = ['a', 'A', '0', 'btcal_abc123', 'abc-DEF_09', 'x'.repeat(128), '-', '_'];
  const invalid = [
    '', 'x'.repeat(129), '../etc', '..', '.', 'a.b', 'a/b', 'a?b=1', 'a#b', 'a b', ' a', 'a\n', '%2e%2e', 'a%20',
    'ünï', '🚀', 'a\u0000', '&agent_id=x', 'a:b', 'a+b', 'a=b', '\uD800',
  ];

  it.each(valid)('accepts %j', (value) => {
    expect(isUpstreamId(value)).toBe(true);
    expect(upstreamId(value, 'The id')).toBe(value);
  });

  it.each(invalid)('rejects %j', (value) => {
    expect(isUpstreamId(value)).toBe(false);
    expect(() => upstreamId(value, 'The BatchCall id')).toThrow(InputError);
  });

  it('names what was checked, without echoing the input', () => {
    const hostile = '<script>alert(1)</script>';
    let message = '';
    try {
      upstreamId(hostile, '`agentId`');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe('`agentId` must be 1 to 128 letters, digits, "_" or "-"');
    expect(message).not.toContain('script');
  });

  it('is not fooled by a trailing newline (regex $ pitfall)', () => {
    expect(isUpstreamId('abc\n')).toBe(false);
  });
});
