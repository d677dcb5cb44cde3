import { describe, expect, it } from 'vitest';
import { UpstreamError, errorForStatus, isUpstreamError } from '../../src/upstream/errors.js';

describe('errorForStatus', () => {
  it('404 is NOT_FOUND, not retryable', () => {
    const error = errorForStatus(404, { detail: { status: 'batch_not_found', message: 'secret internals' } }, undefined);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.code).toBe('UPSTREAM_NOT_FOUND');
    expect(error.status).toBe(404);
    expect(error.retryable).toBe(false);
    expect(error.message).toBe('Batch call not found');
    expect(error.message).not.toContain('internals');
  });

  it.each([401, 403])('%i is UNAUTHORIZED, not retryable, says the gateway is misconfigured', (status) => {
    const error = errorForStatus(status, { detail: { message: 'Invalid API key sk_abc' } }, undefined);
    expect(error.code).toBe('UPSTREAM_UNAUTHORIZED');
    expect(error.status).toBe(status);
    expect(error.retryable).toBe(false);
    expect(error.message).toContain(`HTTP ${status}`);
    expect(error.message).toContain('misconfigured');
    expect(error.message).not.toContain('sk_abc');
  });

  it.each([422, 400])('%i with a FastAPI validation body summarises loc and msg', (status) => {
    const body = {
      detail: [
        { loc: ['query', 'limit'], msg: 'Input should be less than or equal to 100', type: 'less_than_equal' },
        { loc: ['query', 'last_doc', 0], msg: 'bad', type: 'x' },
      ],
    };
    const error = errorForStatus(status, body, undefined);
    expect(error.code).toBe('UPSTREAM_INVALID_REQUEST');
    expect(error.status).toBe(status);
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(
      'The upstream API rejected the request: query.limit: Input should be less than or equal to 100; query.last_doc.0: bad',
    );
  });

  it('422 summary keeps at most three items, drops malformed ones, and handles missing loc', () => {
    const body = { detail: [{ msg: 'first' }, 'junk', { loc: 'not-array', msg: 'second' }, { loc: [{}], msg: 'third' }, { msg: 'fourth' }] };
    const error = errorForStatus(422, body, undefined);
    expect(error.message).toBe('The upstream API rejected the request: first; second');
  });

  it('422 summary replaces control characters and truncates to 200 characters', () => {
    const error = errorForStatus(422, { detail: [{ loc: ['a\nb'], msg: `x\u0000y${'z'.repeat(500)}` }] }, undefined);
    const summary = error.message.replace('The upstream API rejected the request: ', '');
    expect(summary).not.toMatch(/[\u0000-\u001f]/);
    expect(summary.startsWith('a b: x y')).toBe(true);
    expect(summary).toHaveLength(201);
    expect(summary.endsWith('…')).toBe(true);
  });

  it.each([
    ['no body', undefined],
    ['null', null],
    ['a string', 'Unprocessable'],
    ['object detail', { detail: { message: 'internal stack trace' } }],
    ['empty list', { detail: [] }],
    ['items without msg', { detail: [{ loc: ['query'] }] }],
  ])('422 with %s gives the generic message', (_label, body) => {
    const error = errorForStatus(422, body, undefined);
    expect(error.code).toBe('UPSTREAM_INVALID_REQUEST');
    expect(error.message).toBe('The upstream API rejected the request');
  });

  it('429 is RATE_LIMITED, retryable, carries Retry-After', () => {
    const error = errorForStatus(429, null, 5);
    expect(error.code).toBe('UPSTREAM_RATE_LIMITED');
    expect(error.status).toBe(429);
    expect(error.retryable).toBe(true);
    expect(error.retryAfterSeconds).toBe(5);
    expect(error.message).toBe('The upstream API is rate limiting requests; retry after 5 s');
  });

  it('429 without Retry-After says nothing about waiting', () => {
    const error = errorForStatus(429, null, undefined);
    expect(error.retryAfterSeconds).toBeUndefined();
    expect(error.message).toBe('The upstream API is rate limiting requests');
  });

  it.each([500, 502, 503, 504])('%i is UNAVAILABLE and retryable', (status) => {
    const error = errorForStatus(status, { detail: 'Traceback (most recent call last)' }, 3);
    expect(error.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(error.status).toBe(status);
    expect(error.retryable).toBe(true);
    expect(error.message).toBe(`The upstream API is unavailable (HTTP ${status})`);
    expect(error.retryAfterSeconds).toBeUndefined();
  });

  it('only UNAVAILABLE and RATE_LIMITED are retryable', () => {
    const codes = ['UPSTREAM_NOT_FOUND', 'UPSTREAM_INVALID_REQUEST', 'UPSTREAM_UNAUTHORIZED', 'UPSTREAM_RATE_LIMITED',
      'UPSTREAM_UNAVAILABLE', 'UPSTREAM_BAD_RESPONSE', 'UPSTREAM_TIMEOUT'] as const;
    const retryable = codes.filter((code) => new UpstreamError(code, 'm').retryable);
    expect(retryable).toEqual(['UPSTREAM_RATE_LIMITED', 'UPSTREAM_UNAVAILABLE']);
  });
});

describe('UpstreamError', () => {
  it('defaults to one attempt; withAttempts copies everything else', () => {
    const error = errorForStatus(429, null, 7);
    expect(error.attempts).toBe(1);
    const retried = error.withAttempts(3);
    expect(retried).not.toBe(error);
    expect(retried.attempts).toBe(3);
    expect(retried.code).toBe(error.code);
    expect(retried.message).toBe(error.message);
    expect(retried.status).toBe(429);
    expect(retried.retryAfterSeconds).toBe(7);
    expect(retried.name).toBe('UpstreamError');
    expect(error.attempts).toBe(1);
  });

  it('isUpstreamError distinguishes', () => {
    expect(isUpstreamError(new UpstreamError('UPSTREAM_TIMEOUT', 't'))).toBe(true);
    expect(isUpstreamError(new Error('x'))).toBe(false);
    expect(isUpstreamError({ code: 'UPSTREAM_TIMEOUT' })).toBe(false);
    expect(isUpstreamError(null)).toBe(false);
  });
});
