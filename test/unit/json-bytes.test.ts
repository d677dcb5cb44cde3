import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ELEMENTWISE_BYTES, decodeUtf8, parseJsonBytes, parseJsonDeferringLast } from '../../src/upstream/json-bytes.js';

const utf8 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));

/** What the client did before: undici's text() (UTF-8, BOM dropped), then JSON.parse. */
function reference(bytes: Uint8Array): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(Buffer.from(bytes).toString('utf8').replace(/^\uFEFF/, '')) as unknown };
  } catch {
    return { ok: false };
  }
}

function split(bytes: Uint8Array): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: parseJsonBytes(bytes, 'recipients') };
  } catch (error) {
    expect(error).toBeInstanceOf(SyntaxError);
    return { ok: false };
  }
}

function same(bytes: Uint8Array): void {
  const expected = reference(bytes);
  const actual = split(bytes);
  expect(actual.ok).toBe(expected.ok);
  if (actual.ok && expected.ok) {
    expect(actual.value).toStrictEqual(expected.value);
    expect(JSON.stringify(actual.value)).toBe(JSON.stringify(expected.value));
  }
}

describe('parseJsonBytes', () => {
  it('parses a detail body like JSON.parse, keys in order', () => {
    const body = '{"id":"b","recipients":[{"id":"r1","status":"completed","n":1.5e3,"x":[1,{"y":"}]\\"["}]} , {"id":"r–2"}],"z":null}';
    same(utf8(body));
    same(utf8(` \n${body}\t `));
    same(utf8(`\uFEFF${body}`));
    expect(Object.keys(parseJsonBytes(utf8(body), 'recipients') as object)).toEqual(['id', 'recipients', 'z']);
  });

  it('edge shapes: empty array, duplicates, escaped key, no key, not an object, non-array value', () => {
    for (const body of [
      '{"recipients":[]}', '{"recipients":[ ]}', '{}', '[]', '"x"', '3', 'null',
      '{"recipients":[1],"recipients":[2,3]}', '{"recipients":[{"a":1}],"recipients":"x"}',
      '{"recipi\\u0065nts":[1,2]}', '{"recipients":{"a":[1]}}', '{"recipients":[1,2],"__proto__":{"a":1}}',
      '{"a":{"recipients":[1]},"recipients":[true,false,null,-0.5,"\\ud800"]}',
    ]) same(utf8(body));
  });

  it('refuses what JSON.parse refuses', () => {
    for (const body of [
      '', ' ', '{', '{"recipients":[1,]}', '{"recipients":[1 2]}', '{"recipients":[{]}]}', '{"recipients":[1]]}',
      '{"recipients":[1]} x', '{"recipients":[1],}', '{"recipients":[01]}', '{"recipients":["a\u0001"]}',
      '{"recipients":[1],"recipients":[}', '{"recipients":[1],"recipients":[2,]}', '{"recipients":[tru]}',
      '{"recipients":["\\x"]}', "{'recipients':[1]}", '{"recipients":[1]', '{"recipients":[{"a":"}]}',
    ]) same(utf8(body));
  });

  it('invalid UTF-8 is replaced as text() does', () => {
    const bytes = new Uint8Array([...utf8('{"recipients":["a'), 0xe2, 0x80, ...utf8('","b'), 0xff, ...utf8('"],"c":"'), 0xc3, ...utf8('"}')]);
    same(bytes);
  });

  it('agrees with JSON.parse on generated documents', () => {
    const recipients = fc.array(fc.jsonValue(), { maxLength: 8 });
    const doc = fc.record({ recipients, rest: fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 4 }) })
      .map(({ recipients: list, rest }) => JSON.stringify({ ...rest, recipients: list, ...rest }, null, Math.random() < 0.5 ? 0 : 2));
    fc.assert(fc.property(doc, (text) => same(utf8(text))), { numRuns: 300 });
  });

  it('agrees with JSON.parse on damaged documents', () => {
    const base = JSON.stringify({ id: 'b', recipients: [{ id: 'r', s: 'a"b\\c', d: { x: [1, 2] } }, 2, 'z'], t: true });
    const damaged = fc.tuple(fc.nat({ max: base.length - 1 }), fc.nat({ max: 3 }), fc.constantFrom('', ',', ']', '}', '"', '[', '{', ' ', '\\', 'x', '1'))
      .map(([at, cut, insert]) => base.slice(0, at) + insert + base.slice(at + cut));
    fc.assert(fc.property(damaged, (text) => same(utf8(text))), { numRuns: 1000 });
  });

  it('decodeUtf8 drops a BOM', () => {
    expect(decodeUtf8(utf8('\uFEFFab'))).toBe('ab');
    expect(decodeUtf8(utf8('a\uFEFF'))).toBe('a\uFEFF');
  });
});

/** The deferred parse, put back together: the head plus the recipients, or the SyntaxError it gives. */
function deferred(bytes: Uint8Array): { split: boolean; ok: true; value: unknown } | { split: boolean; ok: false } {
  const parsed = parseJsonDeferringLast(bytes, 'recipients');
  if (parsed === undefined) return { split: false, ...reference(bytes) };
  try {
    return { split: true, ok: true, value: { ...parsed.head, recipients: parsed.rest() } };
  } catch (error) {
    expect(error).toBeInstanceOf(SyntaxError);
    return { split: true, ok: false };
  }
}

describe('parseJsonDeferringLast', () => {
  it('splits a body whose last member is the array, and parses the array only when asked', () => {
    const body = ' {"id":"b–1","n":{"recipients":"x"},"recipients" : [ {"id":"r1","s":"]}"} , 2 ] } \n';
    const parsed = parseJsonDeferringLast(utf8(body), 'recipients');
    expect(parsed?.head).toStrictEqual({ id: 'b–1', n: { recipients: 'x' } });
    expect(parsed?.rest()).toStrictEqual([{ id: 'r1', s: ']}' }, 2]);
    expect(parseJsonDeferringLast(utf8('\uFEFF{"recipients":[]}'), 'recipients')?.head).toStrictEqual({});
  });

  it('does not split when the array is not the last member, is nested, or the match is inside a string', () => {
    for (const body of [
      '{"recipients":[1],"z":null}', '{"a":{"recipients":[1]}}', '{"a":{"b":1,"recipients":[1]},"c":[2]}',
      '{"id":"b","recipients":[{"id":"r"}],"status":"completed","tags":["x"]}',
      '{"a":"say \\"recipients\\":[","b":[1]}', '{"recipients":{"a":[1]}}', '{"recipi\\u0065nts":[1]}', '[]', '',
    ]) {
      expect(parseJsonDeferringLast(utf8(body), 'recipients'), body).toBeUndefined();
      same(utf8(body));
    }
  });

  it('a broken array is found when read, with the SyntaxError JSON.parse gives', () => {
    const parsed = parseJsonDeferringLast(utf8('{"id":"b","recipients":[{"id":"r1"},{"id" "r2"}]}'), 'recipients');
    expect(parsed?.head).toStrictEqual({ id: 'b' });
    expect(() => parsed?.rest()).toThrow(SyntaxError);
  });

  it('with a duplicate key, splits at the last one, as JSON.parse keeps the last', () => {
    const body = utf8('{"recipients":[1],"recipients":[2,3]}');
    expect(parseJsonDeferringLast(body, 'recipients')?.rest()).toStrictEqual([2, 3]);
    expect(deferred(body)).toStrictEqual({ split: true, ok: true, value: { recipients: [2, 3] } });
  });

  it('keeps every member after the array when the body ends with another array (parsed whole instead)', () => {
    const body = utf8('{"id":"b","recipients":[{"id":"r","s":"],"}],"status":"completed","timezone":"Europe/Paris","tags":["x"]}');
    expect(parseJsonDeferringLast(body, 'recipients')).toBeUndefined();
    same(body);
  });

  it('parses an array over the element-wise threshold element by element, to the same value', () => {
    const items = Array.from({ length: 6_000 }, (_, i) => ({ id: `r${i}`, note: 'x'.repeat(200) }));
    const text = JSON.stringify({ id: 'b', recipients: items });
    expect(text.length).toBeGreaterThan(ELEMENTWISE_BYTES);
    expect(parseJsonDeferringLast(utf8(text), 'recipients')?.rest()).toStrictEqual(items);
  });

  it('agrees with JSON.parse on generated documents ending with the array', () => {
    const doc = fc.record({ recipients: fc.array(fc.jsonValue(), { maxLength: 8 }), head: fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 4 }) })
      .filter(({ head }) => !Object.hasOwn(head, 'recipients'))
      .map(({ recipients, head }) => JSON.stringify({ ...head, recipients }, null, Math.random() < 0.5 ? 0 : 2));
    fc.assert(fc.property(doc, (text) => {
      const actual = deferred(utf8(text));
      expect(actual.split).toBe(true);
      const expected = reference(utf8(text));
      expect(actual).toStrictEqual({ split: true, ...expected });
    }), { numRuns: 300 });
  });

  it('never accepts a damaged document JSON.parse refuses, and reads the valid ones alike', () => {
    const base = JSON.stringify({ id: 'b', n: { recipients: [0] }, recipients: [{ id: 'r', s: 'a"b\\c ]}', d: { x: [1, 2] } }, 2, 'z'] });
    const damaged = fc.tuple(fc.nat({ max: base.length - 1 }), fc.nat({ max: 3 }), fc.constantFrom('', ',', ']', '}', '"', '[', '{', ' ', '\\', 'x', '1'))
      .map(([at, cut, insert]) => base.slice(0, at) + insert + base.slice(at + cut));
    fc.assert(fc.property(damaged, (text) => {
      const expected = reference(utf8(text));
      const actual = deferred(utf8(text));
      expect(actual.ok).toBe(expected.ok);
      if (actual.ok && expected.ok && actual.split) {
        // A split body ends with its recipients: the reassembled object is JSON.parse's.
        expect(actual.value).toStrictEqual(expected.value);
      }
    }), { numRuns: 2000 });
  });
});
