import { Writable } from 'node:stream';
import { format, inspect } from 'node:util';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Secret } from '../../src/secret.js';

const KEY = 'sk_live_SuperSecretKeyValue_XYZ';

describe('Secret', () => {
  const secret = new Secret(KEY);

  it('reveal() gives the value', () => {
    expect(secret.reveal()).toBe(KEY);
  });

  it.each([
    ['String()', () => String(secret)],
    ['template literal', () => `${secret}`],
    ['concatenation', () => 'key=' + secret],
    ['JSON.stringify', () => JSON.stringify(secret)],
    ['JSON.stringify nested', () => JSON.stringify({ config: { upstream: { apiKey: secret } }, list: [secret] })],
    ['util.inspect', () => inspect(secret)],
    ['util.inspect nested deep', () => inspect({ a: { b: { c: secret } } }, { depth: 10, showHidden: true })],
    ['util.format %s', () => format('%s', secret)],
    ['util.format %o', () => format('%o', secret)],
    ['util.format %O', () => format('%O', { secret })],
    ['util.format %j', () => format('%j', { secret })],
    ['Object.entries', () => JSON.stringify(Object.entries(secret))],
    ['structuredClone', () => JSON.stringify(structuredClone({ ...secret }))],
  ])('never reveals the value through %s', (_label, render) => {
    const text = render();
    expect(text).not.toContain(KEY);
    expect(text).not.toContain('SuperSecret');
  });

  it('renders as [redacted]', () => {
    expect(String(secret)).toBe('[redacted]');
    expect(`${secret}`).toBe('[redacted]');
    expect(JSON.stringify(secret)).toBe('"[redacted]"');
    expect(inspect(secret)).toBe('[redacted]');
  });

  it('has no enumerable own properties', () => {
    expect(Object.keys(secret)).toEqual([]);
    expect(Object.getOwnPropertyNames(secret)).toEqual([]);
  });

  it('is redacted in pino log lines', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(chunk.toString('utf8'));
        callback();
      },
    });
    const logger = pino({ level: 'info' }, sink);
    logger.info({ apiKey: secret, nested: { secret } }, `using ${secret}`);
    logger.flush();
    const text = lines.join('');
    expect(text).toContain('[redacted]');
    expect(text).not.toContain(KEY);
  });

  describe('fingerprint', () => {
    it('is 16 lowercase hex characters', () => {
      expect(secret.fingerprint()).toMatch(/^[0-9a-f]{16}$/);
    });

    it('is stable across calls and instances', () => {
      expect(secret.fingerprint()).toBe(secret.fingerprint());
      expect(new Secret(KEY).fingerprint()).toBe(secret.fingerprint());
    });

    it('differs for different keys', () => {
      expect(new Secret(`${KEY}2`).fingerprint()).not.toBe(secret.fingerprint());
      expect(new Secret('').fingerprint()).not.toBe(secret.fingerprint());
    });

    it('does not contain the key', () => {
      const hexKey = 'abcdef0123';
      expect(secret.fingerprint()).not.toContain(KEY);
      expect(new Secret(hexKey).fingerprint()).not.toContain(hexKey);
    });
  });
});
