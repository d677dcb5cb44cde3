import { describe, expect, it } from 'vitest';
import { acceptsStream } from '../../src/live/stream-accept.js';

describe('acceptsStream', () => {
  it('accepts Server-Sent Events, multipart, anything, or no header', () => {
    for (const accept of [null, '', 'text/event-stream', 'application/json, text/event-stream', 'multipart/mixed;boundary="-"', '*/*', 'Text/Event-Stream;q=0.9']) {
      expect(acceptsStream(accept), String(accept)).toBe(true);
    }
  });

  it('refuses media types that cannot carry a stream', () => {
    for (const accept of ['application/json', 'application/graphql-response+json', 'text/html', 'application/json;q=1, text/plain']) {
      expect(acceptsStream(accept), accept).toBe(false);
    }
  });
});
