/**
 * JSON.parse of a UTF-8 body without ever holding the body as one string.
 *
 * A 50 000-recipient detail is ~30 MB of UTF-8; as one JS string it takes 60 MB (a single
 * non-Latin-1 character, such as a dash in an agent's name, makes V8 store the whole string two
 * bytes per character), on top of the bytes and the parsed objects. Most of that is garbage a
 * moment later, but it is what the process's resident memory grows to and keeps. So the body's
 * top-level object is split at the byte level: the big array named `splitKey` is parsed element by
 * element (each element decoded and parsed on its own), everything else in one small JSON.parse.
 *
 * The scanner only finds boundaries; every byte is still checked by JSON.parse. Whenever the
 * scanner meets something it does not expect, it hands the whole body to JSON.parse, so the
 * result (or the SyntaxError) is always the one `JSON.parse(text)` gives, `text` decoded as
 * undici's `body.text()` decodes it (UTF-8, a leading BOM dropped, invalid bytes replaced).
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

class Unexpected extends Error {}

function isSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

function skipSpace(bytes: Uint8Array, position: number): number {
  let at = position;
  while (at < bytes.length && isSpace(bytes[at])) at += 1;
  return at;
}

/** The position after the string starting at `position` (a quote). UTF-8 continuation bytes are never ASCII. */
function skipString(bytes: Uint8Array, position: number): number {
  for (let at = position + 1; at < bytes.length; at += 1) {
    const byte = bytes[at];
    if (byte === BACKSLASH) at += 1;
    else if (byte === QUOTE) return at + 1;
  }
  throw new Unexpected();
}

/** The position after the value starting at `position`; the value's content is left to JSON.parse. */
function skipValue(bytes: Uint8Array, position: number): number {
  const first = bytes[position];
  if (first === QUOTE) return skipString(bytes, position);
  if (first === OPEN_OBJECT || first === OPEN_ARRAY) {
    let depth = 0;
    for (let at = position; at < bytes.length; at += 1) {
      const byte = bytes[at];
      if (byte === QUOTE) {
        at = skipString(bytes, at) - 1;
      } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
        depth += 1;
      } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
        depth -= 1;
        if (depth === 0) return at + 1;
      }
    }
    throw new Unexpected();
  }
  // A number or a literal: up to the next delimiter.
  let at = position;
  while (at < bytes.length) {
    const byte = bytes[at];
    if (byte === COMMA || byte === CLOSE_OBJECT || byte === CLOSE_ARRAY || isSpace(byte)) break;
    at += 1;
  }
  if (at === position) throw new Unexpected();
  return at;
}

interface Range {
  start: number;
  end: number;
}

function decodeRange(bytes: Uint8Array, start: number, end: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('utf8');
}

function bomLength(bytes: Uint8Array): number {
  return bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
}

/** The element ranges of the array at `range`. */
function elements(bytes: Uint8Array, range: Range): Range[] {
  const found: Range[] = [];
  let at = skipSpace(bytes, range.start + 1);
  if (bytes[at] === CLOSE_ARRAY) {
    if (at !== range.end - 1) throw new Unexpected();
    return found;
  }
  for (;;) {
    const end = skipValue(bytes, at);
    found.push({ start: at, end });
    at = skipSpace(bytes, end);
    if (bytes[at] === CLOSE_ARRAY) {
      if (at !== range.end - 1) throw new Unexpected();
      return found;
    }
    if (bytes[at] !== COMMA) throw new Unexpected();
    at = skipSpace(bytes, at + 1);
  }
}

/** The value ranges of `splitKey` at the top level of the body's object (several when the key repeats). */
function topLevelRanges(bytes: Uint8Array, start: number, splitKey: string): Range[] {
  const ranges: Range[] = [];
  let at = skipSpace(bytes, start);
  if (bytes[at] !== OPEN_OBJECT) throw new Unexpected();
  at = skipSpace(bytes, at + 1);
  if (bytes[at] === CLOSE_OBJECT) return ranges;
  for (;;) {
    if (bytes[at] !== QUOTE) throw new Unexpected();
    const keyEnd = skipString(bytes, at);
    const key: unknown = JSON.parse(decodeRange(bytes, at, keyEnd));
    at = skipSpace(bytes, keyEnd);
    if (bytes[at] !== COLON) throw new Unexpected();
    at = skipSpace(bytes, at + 1);
    const valueEnd = skipValue(bytes, at);
    if (key === splitKey) ranges.push({ start: at, end: valueEnd });
    at = skipSpace(bytes, valueEnd);
    if (bytes[at] === CLOSE_OBJECT) break;
    if (bytes[at] !== COMMA) throw new Unexpected();
    at = skipSpace(bytes, at + 1);
  }
  if (skipSpace(bytes, at + 1) !== bytes.length) throw new Unexpected();
  return ranges;
}

function parseElements(bytes: Uint8Array, range: Range): unknown[] {
  return elements(bytes, range).map((element): unknown => JSON.parse(decodeRange(bytes, element.start, element.end)));
}

function split(bytes: Uint8Array, splitKey: string): unknown {
  const start = bomLength(bytes);
  const ranges = topLevelRanges(bytes, start, splitKey);
  const last = ranges.at(-1);
  if (last === undefined || bytes[last.start] !== OPEN_ARRAY) throw new Unexpected();
  // The object without the big array(s): `[]` in their place.
  const parts: string[] = [];
  let from = start;
  for (const range of ranges) {
    // JSON.parse keeps the last duplicate, but an earlier one must still be valid JSON.
    if (range !== last) JSON.parse(decodeRange(bytes, range.start, range.end));
    parts.push(decodeRange(bytes, from, range.start), '[]');
    from = range.end;
  }
  parts.push(decodeRange(bytes, from, bytes.length));
  const top: unknown = JSON.parse(parts.join(''));
  if (typeof top !== 'object' || top === null || Array.isArray(top)) throw new Unexpected();
  const items = parseElements(bytes, last);
  Object.defineProperty(top, splitKey, { value: items, writable: true, enumerable: true, configurable: true });
  return top;
}

/**
 * `JSON.parse` of the UTF-8 `bytes`, with the top-level array `splitKey` parsed element by
 * element. Throws a SyntaxError exactly when JSON.parse of the decoded text would.
 */
export function parseJsonBytes(bytes: Uint8Array, splitKey: string): unknown {
  try {
    return split(bytes, splitKey);
  } catch (error) {
    if (!(error instanceof Unexpected) && !(error instanceof SyntaxError)) throw error;
  }
  // Anything unusual (or invalid): the plain way, which also gives the right SyntaxError.
  return JSON.parse(decodeRange(bytes, bomLength(bytes), bytes.length)) as unknown;
}

/** Above this size an array is parsed element by element (never as one string). */
export const ELEMENTWISE_BYTES = 1024 * 1024;

function parseArray(bytes: Uint8Array, range: Range): unknown {
  if (range.end - range.start <= ELEMENTWISE_BYTES) return JSON.parse(decodeRange(bytes, range.start, range.end)) as unknown;
  return parseElements(bytes, range);
}

function lastNonSpace(bytes: Uint8Array, before: number): number {
  let at = before - 1;
  while (at >= 0 && isSpace(bytes[at])) at -= 1;
  return at;
}

/** A body parsed except for its last top-level array, which is parsed when asked for. */
export interface DeferredBody {
  /** The top-level object without the deferred key. */
  head: Record<string, unknown>;
  /** The deferred array as `JSON.parse(text)[key]` gives it; throws a SyntaxError when the body is not JSON. */
  rest: () => unknown;
}

/**
 * Parses everything but the array `key` when that array is the last member of the body's
 * top-level object (as the upstream sends a detail's recipients): that array is most of the body
 * and most queries never read it. The key is found by a native byte search: a `"key"` followed
 * by `: [`, with `] }` ending the body. The bytes before the key must then parse as an object on
 * their own (plus its closing brace), which they cannot when the match sits inside a string or a
 * nested value; and the array that starts after the key must end exactly before that `] }` (a
 * bracket scan, no decoding), so no member follows it. Anything else returns undefined: parse the
 * whole body instead.
 *
 * The array's content is checked by JSON.parse only when `rest` is called. When it does not parse
 * on its own (a broken body), `rest` parses the whole body and returns its `key`, or throws the
 * SyntaxError JSON.parse gives.
 */
export function parseJsonDeferringLast(bytes: Uint8Array, key: string): DeferredBody | undefined {
  const start = bomLength(bytes);
  const closeObject = lastNonSpace(bytes, bytes.length);
  const closeArray = lastNonSpace(bytes, closeObject);
  if (bytes[closeObject] !== CLOSE_OBJECT || bytes[closeArray] !== CLOSE_ARRAY) return undefined;
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const needle = Buffer.from(JSON.stringify(key), 'utf8');
  // The same key may come first in a nested value; a few matches are tried, then the whole body is parsed.
  let keyAt = buffer.indexOf(needle, start);
  for (let tries = 0; keyAt >= 0 && tries < MAX_KEY_MATCHES; tries += 1) {
    const head = headBefore(buffer, start, keyAt, needle.length, closeArray);
    if (head !== undefined) {
      const range: Range = { start: head.arrayStart, end: closeArray + 1 };
      const rest = (): unknown => {
        try {
          return parseArray(bytes, range);
        } catch (error) {
          if (!(error instanceof Unexpected) && !(error instanceof SyntaxError)) throw error;
        }
        const whole = parseJsonBytes(bytes, key);
        return typeof whole === 'object' && whole !== null ? (whole as Record<string, unknown>)[key] : undefined;
      };
      return { head: head.value, rest };
    }
    keyAt = buffer.indexOf(needle, keyAt + 1);
  }
  return undefined;
}

const MAX_KEY_MATCHES = 4;

/** The object before the key at `keyAt`, when the key is followed by `: [` and what precedes it parses as an object. */
function headBefore(
  bytes: Buffer, start: number, keyAt: number, keyLength: number, closeArray: number,
): { value: Record<string, unknown>; arrayStart: number } | undefined {
  let at = skipSpace(bytes, keyAt + keyLength);
  if (bytes[at] !== COLON) return undefined;
  at = skipSpace(bytes, at + 1);
  if (bytes[at] !== OPEN_ARRAY || at >= closeArray) return undefined;
  // The array must be the last member: it ends at the body's final `]`, not before it. With no
  // `]` byte in between (a native search) no other can close it; else a bracket scan decides.
  if (bytes.indexOf(CLOSE_ARRAY, at + 1) !== closeArray) {
    try {
      if (skipValue(bytes, at) !== closeArray + 1) return undefined;
    } catch (error) {
      if (!(error instanceof Unexpected)) throw error;
      return undefined;
    }
  }
  const beforeKey = lastNonSpace(bytes, keyAt);
  let headEnd: number;
  if (bytes[beforeKey] === COMMA) headEnd = beforeKey;
  else if (bytes[beforeKey] === OPEN_OBJECT) headEnd = beforeKey + 1;
  else return undefined;
  let value: unknown;
  try {
    value = JSON.parse(`${decodeRange(bytes, start, headEnd)}}`);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return { value: value as Record<string, unknown>, arrayStart: at };
}

/** The body as undici's `body.text()` decodes it. */
export function decodeUtf8(bytes: Uint8Array): string {
  return decodeRange(bytes, bomLength(bytes), bytes.length);
}
